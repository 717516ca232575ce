"""The real MNIST files in the cache match the known facts about MNIST.

These tests need the data: run ``course data mnist`` first (the README's test
command does). Without it they fail, and say so; they never skip.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import data
from course_lib.fetch import DataUnavailableError

pytestmark = pytest.mark.mnist


def load(split: str, **kwargs):
    try:
        return data.load_mnist(split, download=False, **kwargs)
    except DataUnavailableError as error:
        problem = str(error)
    pytest.fail(
        f"MNIST is not in the cache {data.mnist_dir()}: run `course data mnist` first.\n{problem}",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def train():
    return load("train")


@pytest.fixture(scope="module")
def test():
    return load("test")


def test_shapes_and_dtypes(train, test):
    for (images, labels), count in ((train, 60_000), (test, 10_000)):
        assert images.shape == (count, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (count,) and labels.dtype == np.int64


def test_first_labels(train, test):
    assert train[1][:5].tolist() == [5, 0, 4, 1, 9]
    assert test[1][:5].tolist() == [7, 2, 1, 0, 4]


def test_label_counts(train, test):
    assert np.bincount(train[1]).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(test[1]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_pixel_mean_and_std(train):
    # exact integer sums of the 47 million uint8 pixels, then scaled to [0, 1]
    pixels = train[0]
    total = float(pixels.sum(dtype=np.uint64))
    squares = float((pixels.astype(np.uint16) ** 2).sum(dtype=np.uint64))
    mean = total / pixels.size / 255.0
    std = np.sqrt(squares / pixels.size / 255.0**2 - mean**2)
    assert (round(mean, 4), round(std, 4)) == (0.1307, 0.3081)
    assert mean == pytest.approx(data.MNIST_MEAN, abs=5e-5)
    assert std == pytest.approx(data.MNIST_STD, abs=5e-5)


def test_standardized_training_pixels_have_mean_0_and_std_1():
    images, _ = load("train", normalize="standard")
    assert images.dtype == np.float32
    assert abs(float(images.mean(dtype=np.float64))) < 1e-3
    assert abs(float(images.std(dtype=np.float64)) - 1) < 1e-3


def test_torch_dataset_and_loaders():
    dataset = load("test", as_="torch", normalize="unit")
    images, labels = dataset[0]
    assert tuple(images.shape) == (1, 28, 28) and int(labels) == 7
    train_loader, test_loader = data.mnist_loaders(64, train_size=256, test_size=128, seed=0,
                                                   download=False)
    batch, batch_labels = next(iter(train_loader))
    assert tuple(batch.shape) == (64, 1, 28, 28) and tuple(batch_labels.shape) == (64,)
    assert sum(len(y) for _, y in test_loader) == 128
