from collections.abc import Iterator
from pathlib import Path

import pytest

from app.data import Dataset, load_dataset


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Keep every test's default cache out of the user's home."""
    monkeypatch.setenv("BACKPROP_LAB_DATA_DIR", str(tmp_path / "data-home"))
    yield tmp_path / "data-home"


@pytest.fixture(scope="module")
def mnist_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mnist-cache")


@pytest.fixture(scope="module")
def mnist(mnist_cache: Path) -> Dataset:
    """The real shipped MNIST, decoded once per module into a temporary cache."""
    return load_dataset("mnist", cache_dir=mnist_cache)
