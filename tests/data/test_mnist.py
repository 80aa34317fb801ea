import gzip
import hashlib
import json
import os
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.data import (
    Dataset,
    DatasetError,
    available_datasets,
    load_dataset,
    load_mnist,
    resolve_dataset,
    sample_images,
)
from app.data import mnist as mnist_module

STEMS = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
]


def idx_images(images: np.ndarray) -> bytes:
    n, rows, cols = images.shape
    return struct.pack(">IIII", 0x803, n, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 0x801, len(labels)) + labels.astype(np.uint8).tobytes()


def make_dataset(directory: Path, *, gz: bool = True, sums: bool = False, seed: int = 0) -> Path:
    """A tiny 5-train/3-test dataset of 4x3 images with labels 0..3."""
    rng = np.random.default_rng(seed)
    blobs = [
        idx_images(rng.integers(0, 256, (5, 4, 3))),
        idx_labels(np.array([3, 0, 1, 2, 1])),
        idx_images(rng.integers(0, 256, (3, 4, 3))),
        idx_labels(np.array([2, 0, 1])),
    ]
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for stem, blob in zip(STEMS, blobs, strict=True):
        name, data = (f"{stem}.gz", gzip.compress(blob)) if gz else (stem, blob)
        (directory / name).write_bytes(data)
        lines.append(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
    if sums:
        (directory / "SHA256SUMS").write_text("".join(lines))
    return directory


# --- the real, shipped MNIST ---------------------------------------------------------


def test_real_mnist_shapes_dtypes_ranges(mnist: Dataset) -> None:
    assert mnist.name == "mnist"
    assert mnist.classes == tuple("0123456789")
    assert mnist.image_shape == (28, 28)
    assert mnist.x_train.shape == (60000, 784) and mnist.x_train.dtype == np.float32
    assert mnist.x_test.shape == (10000, 784) and mnist.x_test.dtype == np.float32
    assert mnist.t_train.shape == (60000,) and mnist.t_train.dtype == np.uint8
    assert mnist.t_test.shape == (10000,) and mnist.t_test.dtype == np.uint8
    assert float(mnist.x_train.min()) == 0.0 and float(mnist.x_train.max()) == 1.0
    assert list(mnist.t_train[:5]) == [5, 0, 4, 1, 9]
    assert list(mnist.t_test[:3]) == [7, 2, 1]
    assert np.array_equal(
        np.bincount(mnist.t_test), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    assert not mnist.x_train.flags.writeable  # shared cache pages must not be scribbled on


def test_book_forms(mnist: Dataset, mnist_cache: Path) -> None:
    (x, t), (xt, tt) = load_mnist(cache_dir=mnist_cache)
    assert x.shape == (60000, 784) and x.dtype == np.float32 and t.dtype == np.uint8
    assert np.array_equal(x, mnist.x_train) and np.array_equal(tt, mnist.t_test)

    (x8, _), (xt8, _) = load_mnist(normalize=False, cache_dir=mnist_cache)
    assert x8.dtype == np.uint8 and x8.shape == (60000, 784) and int(x8.max()) == 255
    # The book's normalisation exactly: x.astype(float32) / 255.
    assert np.array_equal(xt8.astype(np.float32) / np.float32(255), xt)

    (x4, _), (xt4, _) = load_mnist(flatten=False, cache_dir=mnist_cache)
    assert x4.shape == (60000, 1, 28, 28) and xt4.shape == (10000, 1, 28, 28)
    assert np.array_equal(x4[7, 0], mnist.x_train[7].reshape(28, 28))

    (_, oh), (_, oht) = load_mnist(one_hot_label=True, cache_dir=mnist_cache)
    assert oh.shape == (60000, 10) and oht.shape == (10000, 10) and oh.dtype == np.float32
    assert np.array_equal(oh.argmax(axis=1), mnist.t_train) and np.all(oh.sum(axis=1) == 1)
    assert list(oht[0]) == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]


def test_second_load_is_fast_and_memory_mapped(mnist: Dataset, mnist_cache: Path) -> None:
    start = time.perf_counter()
    again = load_dataset("mnist", cache_dir=mnist_cache)
    assert time.perf_counter() - start < 0.5
    for array in (again.x_train, again.t_train, again.x_test, again.t_test):
        assert isinstance(array.base, np.memmap)
    assert np.array_equal(again.x_test, mnist.x_test)
    files = sorted(p.name for p in mnist_cache.rglob("*") if p.is_file())
    assert files == sorted(
        ["t_test.npy", "t_train.npy", "x_test.npy", "x_train.npy", "xf_test.npy", "xf_train.npy"]
    )


def test_default_cache_goes_under_env_dir(tmp_path: Path, _data_dir: Path) -> None:
    ds = load_dataset(make_dataset(tmp_path / "tiny"))
    assert isinstance(ds.x_train.base, np.memmap)
    assert len(list((_data_dir / "cache").rglob("x_train.npy"))) == 1


def test_shipped_files_match_their_checksums_and_keep_attribution() -> None:
    path = resolve_dataset("mnist")
    assert "Creative Commons" in (path / "README.md").read_text()
    for line in (path / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((path / name).read_bytes()).hexdigest() == digest


# --- named datasets ---------------------------------------------------------------------


def test_unknown_name_lists_the_allowed_names() -> None:
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'.*mnist, fashion-mnist"):
        load_dataset("cifar")


def test_missing_fashion_mnist_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    title, _, classes, hint = mnist_module.KNOWN["fashion-mnist"]
    monkeypatch.setitem(
        mnist_module.KNOWN, "fashion-mnist", (title, tmp_path / "nope", classes, hint)
    )
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        resolve_dataset("fashion-mnist")
    info = {d["name"]: d for d in available_datasets()}
    assert info["fashion-mnist"]["available"] is False
    assert info["mnist"]["available"] is True and info["mnist"]["title"]


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist").is_dir(),
    reason="dataset-fashion-mnist not installed",
)
def test_fashion_mnist_from_debian(tmp_path: Path) -> None:
    ds = load_dataset("fashion-mnist", cache_dir=tmp_path)
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert ds.classes[9] == "Ankle boot" and ds.t_train[0] == 9 and ds.t_test[0] == 9


# --- any directory in the same format ---------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_custom_directory_dataset(tmp_path: Path, gz: bool) -> None:
    src = make_dataset(tmp_path / "tiny", gz=gz, sums=True)
    ds = load_dataset(str(src), cache_dir=tmp_path / "cache")
    assert ds.name == str(src.resolve()) and ds.image_shape == (4, 3)
    assert ds.classes == ("0", "1", "2", "3")
    assert ds.x_train.shape == (5, 12) and ds.x_train.dtype == np.float32
    assert list(ds.t_train) == [3, 0, 1, 2, 1] and list(ds.t_test) == [2, 0, 1]
    raw = np.random.default_rng(0).integers(0, 256, (5, 4, 3))
    assert np.array_equal(ds.x_train, raw.reshape(5, 12).astype(np.float32) / np.float32(255))
    (x, t), _ = load_mnist(
        normalize=False, flatten=False, one_hot_label=True, name=src, cache_dir=tmp_path / "cache"
    )
    assert np.array_equal(x[:, 0], raw) and t.shape == (5, 4) and list(t[0]) == [0, 0, 0, 1]


def test_cache_invalidated_when_source_changes(tmp_path: Path) -> None:
    src, cache = make_dataset(tmp_path / "tiny", seed=1), tmp_path / "cache"
    first = load_dataset(src, cache_dir=cache).x_train.copy()
    make_dataset(src, seed=2)  # same sizes, new pixels
    target = src / "train-images-idx3-ubyte.gz"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # beat coarse clocks
    second = load_dataset(src, cache_dir=cache).x_train
    assert not np.array_equal(first, second)
    assert len(list(cache.rglob("x_train.npy"))) == 1  # the stale entry was dropped


def test_unwritable_cache_falls_back_to_memory(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "tiny")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    ds = load_dataset(src, cache_dir=blocker)  # mkdir under a file fails even for root
    assert list(ds.t_train) == [3, 0, 1, 2, 1] and ds.x_train.shape == (5, 12)


def test_concurrent_first_loads_agree(tmp_path: Path) -> None:
    src, cache = make_dataset(tmp_path / "tiny"), tmp_path / "cache"
    results: list[np.ndarray] = []
    threads = [
        threading.Thread(target=lambda: results.append(load_dataset(src, cache_dir=cache).x_test))
        for _ in range(4)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 4 and all(np.array_equal(r, results[0]) for r in results)
    assert not [p for p in cache.rglob("*.tmp")]


# --- corrupt files ----------------------------------------------------------------------


def corrupt(path: Path, how: str) -> None:
    data = gzip.decompress(path.read_bytes())
    if how == "truncated":
        path.write_bytes(gzip.compress(data[:-5]))
    elif how == "trailing":
        path.write_bytes(gzip.compress(data + b"\0"))
    elif how == "magic":
        path.write_bytes(gzip.compress(struct.pack(">I", 0x801) + data[4:]))
    elif how == "short-header":
        path.write_bytes(gzip.compress(data[:6]))
    elif how == "bad-gzip":
        path.write_bytes(path.read_bytes()[:20])  # gzip cut mid-stream
    elif how == "flipped":
        blob = bytearray(path.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        path.write_bytes(bytes(blob))


@pytest.mark.parametrize(
    ("how", "sums", "message"),
    [
        ("truncated", False, "truncated: header says 5x4x3 = 60 bytes of data, file has 55"),
        ("trailing", False, "trailing bytes"),
        ("magic", False, "wrong magic number 0x00000801, expected 0x00000803"),
        ("short-header", False, "too short for an IDX images header"),
        ("bad-gzip", False, "bad gzip data"),
        ("flipped", True, "SHA-256 does not match SHA256SUMS"),
        ("truncated", True, "SHA-256 does not match SHA256SUMS"),
    ],
)
def test_corrupt_file_names_the_file(tmp_path: Path, how: str, sums: bool, message: str) -> None:
    src = make_dataset(tmp_path / "tiny", sums=sums)
    corrupt(src / "train-images-idx3-ubyte.gz", how)
    with pytest.raises(DatasetError) as err:
        load_dataset(src, cache_dir=tmp_path / "cache")
    assert "train-images-idx3-ubyte.gz" in str(err.value) and message in str(err.value)


def test_label_count_mismatch_and_missing_file(tmp_path: Path) -> None:
    src = make_dataset(tmp_path / "tiny")
    (src / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_labels(np.array([1, 2]))))
    with pytest.raises(DatasetError, match="3 images but .*t10k-labels-idx1-ubyte.gz has 2 labels"):
        load_dataset(src, cache_dir=tmp_path / "cache")
    (src / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="missing t10k-labels-idx1-ubyte.gz"):
        load_dataset(src, cache_dir=tmp_path / "cache")


# --- samples for the browser -------------------------------------------------------------


def test_sample_images(mnist: Dataset, mnist_cache: Path) -> None:
    batch = sample_images("mnist", n=4, cache_dir=mnist_cache)
    assert batch["labels"] == [7, 2, 1, 0] and batch["indices"] == [0, 1, 2, 3]
    assert batch["shape"] == [28, 28] and batch["classes"][7] == "7"
    assert len(batch["images"]) == 4 and all(len(im) == 784 for im in batch["images"])
    assert batch["images"][0] == mnist.x_test[0].tolist()
    json.dumps(batch)  # goes straight into an API response

    tail = sample_images("mnist", split="train", n=10, offset=59995, cache_dir=mnist_cache)
    assert tail["indices"] == [59995, 59996, 59997, 59998, 59999]

    a = sample_images("mnist", n=8, seed=3, cache_dir=mnist_cache)
    assert a == sample_images("mnist", n=8, seed=3, cache_dir=mnist_cache)
    assert len(set(a["indices"])) == 8 and a["labels"] == [
        int(mnist.t_test[i]) for i in a["indices"]
    ]

    with pytest.raises(DatasetError, match="unknown split"):
        sample_images("mnist", split="val", cache_dir=mnist_cache)  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="offset"):
        sample_images("mnist", offset=10001, cache_dir=mnist_cache)


def test_labels_beyond_the_class_names_are_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_dataset(tmp_path / "tiny")  # labels go up to 3
    monkeypatch.setitem(mnist_module.KNOWN, "two-class", ("Two", src, ("a", "b"), "make it"))
    with pytest.raises(DatasetError, match="label 3 but the dataset has 2 classes"):
        load_dataset("two-class", cache_dir=tmp_path / "cache")
