"""A fast recipe to train LeNet-5 on MNIST on a CPU (notebook 06), and the short run the
LeNet5 check uses.

* :class:`TensorBatches`: mini-batches sliced from in-memory tensors (several times
  faster than a ``DataLoader`` for a net this small), reshuffled from a seeded
  generator;
* :class:`ShiftedBatches`: the same batches with every image moved by a random whole
  number of pixels (a light version of the 1998 paper's distorted training digits);
* :func:`train_lenet`: Adam with a one-cycle learning rate (Smith, 2018);
* :func:`mnist_tensors`: standardized MNIST as tensors;
* :func:`quick_train_accuracy`: a few seconds of training on an MNIST subset, for
  checking that a student's network learns at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch import nn

from course_lib._validate import non_negative_int, positive_int, positive_number


class TensorBatches:
    """Mini-batches of in-memory tensors, reshuffled every epoch from a seeded generator.

    A ``DataLoader`` over a ``TensorDataset`` indexes and collates one example at a
    time; slicing whole tensors is several times faster for a net as small as LeNet-5.

    Args:
        images: ``(N, ...)`` inputs.
        labels: ``(N,)`` targets.
        batch_size: examples per batch (the last batch may be smaller).
        shuffle: draw a new order every epoch.
        seed: seeds the shuffling; the same seed gives the same batches.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 128,
                 *, shuffle: bool = True, seed: int = 0) -> None:
        if len(images) != len(labels):
            raise ValueError(f"labels: expected {len(images)} labels (one per image), got "
                             f"{len(labels)}")
        self.images, self.labels = images, labels
        self.batch_size = positive_int(batch_size, "batch_size")
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(non_negative_int(seed, "seed"))

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.images)
        order = torch.randperm(count, generator=self.generator) if self.shuffle else None
        for start in range(0, count, self.batch_size):
            if order is None:
                yield (self.images[start:start + self.batch_size],
                       self.labels[start:start + self.batch_size])
            else:
                index = order[start:start + self.batch_size]
                yield self.images[index], self.labels[index]


class ShiftedBatches:
    """The batches of ``batches`` with each image translated by a random whole number of
    pixels in ``[-shift, shift]`` along each axis, a new draw every epoch.

    The image is padded with ``background`` by ``shift`` pixels on every side and a window
    of the original size is cut at a random offset, so a digit moves but is never wrapped
    around or cut off (MNIST digits sit inside a blank frame). The offsets come from a
    generator seeded with ``seed``: the same seed gives the same batches.

    Args:
        batches: yields ``(images (N, C, H, W), labels)``, e.g. :class:`TensorBatches`.
        shift: the largest move in pixels, >= 0 (0 gives the batches unchanged).
        seed: seeds the offsets.
        background: the value of a blank pixel (for standardized MNIST, the training
            set's smallest value, not 0).
    """

    def __init__(self, batches: TensorBatches, shift: int = 1, *, seed: int = 0,
                 background: float = 0.0) -> None:
        self.batches = batches
        self.shift = non_negative_int(shift, "shift")
        self.background = float(background)
        self.generator = torch.Generator().manual_seed(non_negative_int(seed, "seed"))

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        s = self.shift
        for images, labels in self.batches:
            if s == 0:
                yield images, labels
                continue
            n, _, height, width = images.shape
            padded = nn.functional.pad(images, (s, s, s, s), value=self.background)
            dy, dx = torch.randint(0, 2 * s + 1, (2, n), generator=self.generator)
            rows = (dy[:, None] + torch.arange(height))[:, None, :, None]  # (n, 1, H, 1)
            cols = (dx[:, None] + torch.arange(width))[:, None, None, :]   # (n, 1, 1, W)
            channels = torch.arange(images.shape[1])[None, :, None, None]
            yield padded[torch.arange(n)[:, None, None, None], channels, rows, cols], labels


def train_lenet(model: nn.Module, batches: TensorBatches, *, epochs: int, max_lr: float = 3e-3,
                val_batches: TensorBatches | None = None, device: torch.device | str = "cpu",
                progress: bool = True, callbacks=None):
    """Train with Adam and a one-cycle learning rate (Smith, 2018), stepped every batch.

    Args:
        model: the network.
        batches: the training batches, e.g. :class:`TensorBatches`.
        epochs: passes over ``batches``.
        max_lr: the peak learning rate of the cycle.
        val_batches: evaluated after every epoch if given.
        device: where to train.
        progress, callbacks: as in :func:`course_lib.lab.train.fit`.

    Returns:
        The :class:`course_lib.lab.train.History`.
    """
    from course_lib.lab.train import fit

    epochs = positive_int(epochs, "epochs")
    optimizer = torch.optim.Adam(model.parameters(), lr=positive_number(max_lr, "max_lr"))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=max_lr, total_steps=epochs * len(batches))
    return fit(model, batches, epochs=epochs, optimizer=optimizer, val_loader=val_batches,
               device=device, progress=progress, callbacks=callbacks,
               on_batch_end=lambda state: schedule.step())


def mnist_tensors(train_size: int | None = None, test_size: int | None = None, *,
                  seed: int = 0) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """Standardized MNIST as tensors ``((x_train, y_train), (x_test, y_test))``.

    Images are ``(N, 1, 28, 28)`` float32, labels ``(N,)`` int64; ``train_size`` and
    ``test_size`` keep seeded random subsets (see :func:`course_lib.data.mnist_loaders`).
    """
    from course_lib.data import mnist_loaders

    train, test = mnist_loaders(train_size=train_size, test_size=test_size, seed=seed)
    return tuple(loader.dataset.tensors for loader in (train, test))


#: The short training run of the LeNet5 check: examples, epochs and the accuracy to beat.
QUICK_TRAIN_SIZE, QUICK_TEST_SIZE, QUICK_TRAIN_EPOCHS = 2000, 1000, 4


def quick_train_accuracy(model: nn.Module, *, seed: int = 0) -> float:
    """Train ``model`` briefly on an MNIST subset and return its held-out test accuracy.

    :data:`QUICK_TRAIN_EPOCHS` epochs of :func:`train_lenet` (batch 32, peak learning
    rate 5e-3) on :data:`QUICK_TRAIN_SIZE` training digits, then accuracy on
    :data:`QUICK_TEST_SIZE` test digits. The classic LeNet-5 reaches about 94 %, a
    linear model about 89 %. A few seconds on one CPU core.
    """
    from course_lib.lab.train import evaluate

    (x_train, y_train), (x_test, y_test) = mnist_tensors(QUICK_TRAIN_SIZE, QUICK_TEST_SIZE,
                                                         seed=seed)
    torch.manual_seed(seed)
    train_lenet(model, TensorBatches(x_train, y_train, 32, seed=seed),
                epochs=QUICK_TRAIN_EPOCHS, max_lr=5e-3, progress=False)
    _, accuracy = evaluate(model, TensorBatches(x_test, y_test, 500, shuffle=False),
                           device="cpu")
    return accuracy
