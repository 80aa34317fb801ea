"""Datasets in the MNIST IDX format: the shipped MNIST, Fashion-MNIST, any directory."""

from app.data.idx import DatasetError
from app.data.mnist import (
    Dataset,
    DatasetInfo,
    SampleBatch,
    available_datasets,
    load_dataset,
    load_mnist,
    resolve_dataset,
    sample_images,
)

__all__ = [
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "SampleBatch",
    "available_datasets",
    "load_dataset",
    "load_mnist",
    "resolve_dataset",
    "sample_images",
]
