from __future__ import annotations

import numpy as np
import pytest

from app.data import load_dataset


@pytest.fixture(scope="session")
def mnist_images() -> tuple[np.ndarray, np.ndarray]:
    """The first 1,000 training images of the shipped MNIST (float32 in [0, 1]) and their labels."""
    ds = load_dataset("mnist")
    return ds.x_train[:1000], ds.t_train[:1000].astype(np.intp)
