"""The IDX file format of MNIST: parse and verify, with errors that name the file.

Every way a file can be bad (bad gzip, wrong magic, short data, checksum
mismatch) becomes a DatasetError here, so callers never see a numpy or zlib
traceback for what is really a broken download.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dims: count, rows, cols
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dim: count


class DatasetError(ValueError):
    """A dataset is unknown, missing, or one of its files is corrupt."""


def parse_idx(data: bytes, path: Path, *, images: bool) -> npt.NDArray[np.uint8]:
    """Decode one IDX file (gzipped or raw) to a read-only uint8 array.

    ``path`` is only used in error messages. Images come out as (N, rows, cols),
    labels as (N,).
    """
    # Sniff the gzip magic rather than trusting the extension: people gunzip files
    # in place and keep the name, or the other way round.
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
            raise DatasetError(f"{path}: bad gzip data ({e})") from None
    magic, ndim, what = (IMAGES_MAGIC, 3, "images") if images else (LABELS_MAGIC, 1, "labels")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: {len(data)} bytes is too short for an IDX {what} header")
    got, *dims = struct.unpack(f">{1 + ndim}I", data[:header])
    if got != magic:
        raise DatasetError(
            f"{path}: wrong magic number 0x{got:08x}, expected 0x{magic:08x} (IDX {what})"
        )
    need, have = math.prod(dims), len(data) - header
    if have != need:
        problem = "truncated" if have < need else "trailing bytes"
        raise DatasetError(
            f"{path}: {problem}: header says {'x'.join(map(str, dims))} = {need} bytes "
            f"of data, file has {have}"
        )
    array = np.frombuffer(data, np.uint8, need, header).reshape(dims)
    array.flags.writeable = False
    return array


def read_sums(directory: Path) -> dict[str, str]:
    """Map file name -> sha256 hex from ``directory/SHA256SUMS`` ({} if absent)."""
    path = directory / "SHA256SUMS"
    if not path.is_file():
        return {}
    sums: dict[str, str] = {}
    for line in path.read_text().splitlines():
        digest, _, name = line.strip().partition(" ")
        if digest and name:
            sums[name.strip().lstrip("*")] = digest.lower()  # "*" marks binary mode
    return sums


def read_verified(path: Path, sums: dict[str, str], *, images: bool) -> npt.NDArray[np.uint8]:
    """Read, checksum (when ``sums`` lists the file) and parse one IDX file."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e.strerror or e})") from None
    expected = sums.get(path.name)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise DatasetError(
            f"{path}: SHA-256 does not match SHA256SUMS (corrupt or truncated copy; "
            "restore the original file)"
        )
    return parse_idx(data, path, images=images)
