"""MNIST-format datasets by name: the book's ``load_mnist`` plus a fast ``Dataset``.

The first load verifies and decodes the IDX files and caches the arrays as
``.npy``; later loads memory-map that cache, so they take milliseconds and
processes share the pages instead of each holding ~200 MB.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypedDict

import numpy as np
import numpy.typing as npt

from app.data.idx import DatasetError, read_sums, read_verified

log = logging.getLogger(__name__)

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
StrPath = str | os.PathLike[str]

STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "t_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "t_test": "t10k-labels-idx1-ubyte",
}
# Bump when what is cached changes, so caches written by older code are ignored.
CACHE_VERSION = 1
_CACHED = ("x_train", "t_train", "x_test", "t_test", "xf_train", "xf_test")
DIGITS = tuple(str(i) for i in range(10))
FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
KNOWN: dict[str, tuple[str, Path, tuple[str, ...], str]] = {
    # name: (title, directory, class names, how to get it when missing)
    "mnist": ("MNIST handwritten digits", Path(__file__).with_name("mnist"), DIGITS,
              "it ships inside the backprop-lab package: reinstall the package"),
    "fashion-mnist": ("Fashion-MNIST (Zalando)", Path("/usr/share/datasets/fashion-mnist"),
                      FASHION, "install it with: apt-get install dataset-fashion-mnist"),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """Arrays are read-only (memory-mapped from the cache when it could be written)."""

    name: str
    path: Path
    classes: tuple[str, ...]
    image_shape: tuple[int, int]  # (rows, cols); x_* rows are these flattened
    x_train: F32  # (60000, 784) float32 in [0, 1] for MNIST
    t_train: U8  # (60000,) uint8 class indices
    x_test: F32
    t_test: U8


class DatasetInfo(TypedDict):
    name: str
    title: str
    available: bool
    path: str


class SampleBatch(TypedDict):
    dataset: str
    split: str
    shape: list[int]  # [rows, cols] of each image
    classes: list[str]
    indices: list[int]
    labels: list[int]
    images: list[list[float]]  # rows*cols floats in [0, 1] each, as the net sees them


def data_dir() -> Path:
    env = os.environ.get("BACKPROP_LAB_DATA_DIR")
    return Path(env or "~/.local/share/backprop-lab").expanduser()


def _file(directory: Path, stem: str) -> Path | None:
    return next((p for p in (directory / f"{stem}.gz", directory / stem) if p.is_file()), None)


def available_datasets() -> list[DatasetInfo]:
    return [
        DatasetInfo(name=name, title=title, path=str(path),
                    available=all(_file(path, s) for s in STEMS.values()))
        for name, (title, path, _, _) in KNOWN.items()
    ]


def resolve_dataset(name: StrPath) -> Path:
    """Directory of a named dataset, or ``name`` itself if it is a directory."""
    if isinstance(name, str) and name in KNOWN:
        title, path, _, hint = KNOWN[name]
        if not all(_file(path, s) for s in STEMS.values()):
            raise DatasetError(f"dataset {name!r} ({title}) is not in {path}: {hint}")
        return path
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    raise DatasetError(
        f"unknown dataset {str(name)!r}: use one of {', '.join(KNOWN)} "
        "or the path of a directory holding the four MNIST-format IDX files"
    )


def _load_arrays(name: StrPath, cache_dir: StrPath | None) -> tuple[Path, dict[str, np.ndarray]]:
    src = resolve_dataset(name)
    files: dict[str, Path] = {}
    for key, stem in STEMS.items():
        found = _file(src, stem)
        if found is None:
            raise DatasetError(f"{src}: missing {stem}.gz (or uncompressed {stem})")
        files[key] = found
    # Keyed on size+mtime, not content, so a hit costs a few stat()s, not hashing 10+ MB.
    h = hashlib.sha256(f"v{CACHE_VERSION}\n{src.resolve()}\n".encode())
    for p in (*files.values(), src / "SHA256SUMS"):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    # One folder per source, holding one entry per version of its files.
    where = hashlib.sha256(str(src.resolve()).encode()).hexdigest()[:8]
    label = name if isinstance(name, str) and name in KNOWN else f"{src.name}-{where}"
    root = Path(cache_dir) if cache_dir is not None else data_dir() / "cache"
    cache = root / label / h.hexdigest()[:16]
    if (cached := _read_cache(cache)) is not None:
        return src, cached
    arrays = _decode(src, files)
    try:
        _write_cache(cache, arrays)
    except OSError as e:  # read-only home, full disk...: still usable, just slower
        log.warning("cannot cache dataset in %s (%s); decoding in memory", cache, e)
        return src, arrays
    return src, _read_cache(cache) or arrays


def _decode(src: Path, files: dict[str, Path]) -> dict[str, np.ndarray]:
    sums = read_sums(src)
    out = {k: read_verified(p, sums, images=k.startswith("x")) for k, p in files.items()}
    for split in ("train", "test"):
        (n, xs), (m, ts) = ((len(out[k]), files[k]) for k in (f"x_{split}", f"t_{split}"))
        if n != m:
            raise DatasetError(f"{xs}: {n} images but {ts} has {m} labels")
    if out["x_train"].shape[1:] != out["x_test"].shape[1:]:
        raise DatasetError(f"{src}: train and test images differ in size")
    for split in ("train", "test"):
        x = out[f"x_{split}"]
        xf = out[f"xf_{split}"] = x.reshape(len(x), -1).astype(np.float32)
        xf /= 255  # as the book does it, so values match its load_mnist bit for bit
        xf.flags.writeable = False
    return out


def _read_cache(cache: Path) -> dict[str, np.ndarray] | None:
    try:
        # Plain ndarray views: np.memmap's subclass leaks into every slice and result.
        return {k: np.load(cache / f"{k}.npy", mmap_mode="r").view(np.ndarray) for k in _CACHED}
    except (OSError, ValueError):  # not there yet, or pruned by another process meanwhile
        return None


def _write_cache(cache: Path, arrays: dict[str, np.ndarray]) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    for k in _CACHED:
        # Temp file + rename: a concurrent reader sees the whole file or none.
        fd, tmp = tempfile.mkstemp(dir=cache, prefix=f".{k}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, arrays[k])
            os.replace(tmp, cache / f"{k}.npy")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    for old in cache.parent.iterdir():  # caches of earlier versions of these files
        if old != cache and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _open(name: StrPath, cache_dir: StrPath | None) -> tuple[Dataset, dict[str, np.ndarray]]:
    src, a = _load_arrays(name, cache_dir)
    known = isinstance(name, str) and name in KNOWN
    top = max(a["t_train"].max(initial=0), a["t_test"].max(initial=0))
    classes = KNOWN[str(name)][2] if known else tuple(str(i) for i in range(int(top) + 1))
    if top >= len(classes):  # would break one-hot encoding and the net's output size
        raise DatasetError(f"{src}: label {top} but the dataset has {len(classes)} classes")
    rows, cols = a["x_train"].shape[1:]
    ds = Dataset(str(name) if known else str(src), src, classes, (rows, cols),
                 a["xf_train"], a["t_train"], a["xf_test"], a["t_test"])
    return ds, a


def load_dataset(name: StrPath = "mnist", *, cache_dir: StrPath | None = None) -> Dataset:
    """``cache_dir`` is the cache root (default ``$BACKPROP_LAB_DATA_DIR/cache``)."""
    return _open(name, cache_dir)[0]


def load_mnist(
    normalize: bool = True, flatten: bool = True, one_hot_label: bool = False,
    *, name: StrPath = "mnist", cache_dir: StrPath | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The book's ``load_mnist``: ((x_train, t_train), (x_test, t_test)).

    normalize: float32 in [0, 1], else uint8 0..255. flatten: (N, rows*cols),
    else (N, 1, rows, cols). one_hot_label: (N, classes) float32, else uint8.
    """
    ds, a = _open(name, cache_dir)

    def split(s: str) -> tuple[np.ndarray, np.ndarray]:
        x, t = (a[f"xf_{s}"] if normalize else a[f"x_{s}"]), a[f"t_{s}"]
        x = x.reshape(len(x), -1) if flatten else x.reshape(len(x), 1, *ds.image_shape)
        return x, (np.eye(len(ds.classes), dtype=np.float32)[t] if one_hot_label else t)

    return split("train"), split("test")


def sample_images(
    name: StrPath = "mnist", split: Literal["train", "test"] = "test", n: int = 16,
    offset: int = 0, seed: int | None = None, *, cache_dir: StrPath | None = None,
) -> SampleBatch:
    """``n`` images from ``offset`` on, or ``n`` random ones when ``seed`` is given."""
    if split not in ("train", "test"):
        raise DatasetError(f"unknown split {split!r}: use 'train' or 'test'")
    ds = load_dataset(name, cache_dir=cache_dir)
    x, t = (ds.x_train, ds.t_train) if split == "train" else (ds.x_test, ds.t_test)
    if n < 0 or not 0 <= offset <= len(x):
        raise DatasetError(f"need n >= 0 and 0 <= offset <= {len(x)}, got n={n}, offset={offset}")
    if seed is None:
        idx = np.arange(offset, min(offset + n, len(x)))
    else:
        idx = np.random.default_rng(seed).choice(len(x), size=min(n, len(x)), replace=False)
    return SampleBatch(
        dataset=ds.name, split=split, shape=list(ds.image_shape), classes=list(ds.classes),
        indices=idx.tolist(), labels=t[idx].tolist(), images=x[idx].tolist(),
    )
