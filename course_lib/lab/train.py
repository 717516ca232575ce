"""The training loop every experiment uses: :func:`fit`, :func:`evaluate`, :func:`predict`.

:func:`fit` is the textbook loop (forward, loss, ``zero_grad``, ``backward``,
``step``) plus bookkeeping that costs almost nothing: per-batch losses and
correct counts stay on the device as tensors and are read once per epoch, so
a GPU is never made to wait after every batch. Callbacks (see :class:`Callback`)
let :mod:`course_lib.lab.diagnostics` look inside without changing the loop.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from course_lib._validate import describe, non_negative_int, positive_int, positive_number
from course_lib.lab.device import best_device, grading

#: Learning rate used when ``lr`` is not given, per optimizer name.
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3}


def set_seed(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and every GPU).

    Args:
        seed: an int >= 0.
        deterministic: also ask cuDNN and, when a GPU is in use, PyTorch for
            deterministic algorithms (``torch.use_deterministic_algorithms(True,
            warn_only=True)``): the same seed then gives the same numbers on the
            same machine. Some GPU kernels get slower. On the CPU the kernels we
            use are deterministic already, and that call is skipped because it
            imports the compiler stack (seconds, which a graded cell cannot spare).
    """
    seed = non_negative_int(seed, "seed")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (old code and libraries use the global RNG)
    torch.manual_seed(seed)  # also seeds every CUDA device
    if deterministic:
        # cuBLAS needs this before its first use to be deterministic; harmless on CPU.
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        if best_device().type != "cpu":
            torch.use_deterministic_algorithms(True, warn_only=True)


# ----------------------------------------------------------------------- history


@dataclass
class History:
    """What :func:`fit` measured. Lists have one entry per epoch unless named ``batch_*``.

    Accuracies are fractions in [0, 1]; they are ``nan`` when the task is not
    classification (targets are not class indices). ``val_*`` stay empty
    without a validation loader. ``epoch_time`` is wall-clock seconds per
    epoch, training and validation together.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    batch_loss: list[float] = field(default_factory=list)
    batch_accuracy: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of epochs recorded."""
        return len(self.loss)

    @property
    def train_loss(self) -> list[float]:
        """Another name for :attr:`loss` (the training loss per epoch)."""
        return self.loss

    @property
    def train_accuracy(self) -> list[float]:
        """Another name for :attr:`accuracy` (the training accuracy per epoch)."""
        return self.accuracy

    def as_dict(self) -> dict[str, list[float]]:
        return asdict(self)

    def __str__(self) -> str:
        header = f"{'epoch':>5}  {'loss':>8}  {'acc':>6}  {'val_loss':>8}  {'val_acc':>7}  {'s':>6}"
        rows = [header]
        for i in range(self.epochs):
            val_loss = self.val_loss[i] if i < len(self.val_loss) else math.nan
            val_acc = self.val_accuracy[i] if i < len(self.val_accuracy) else math.nan
            rows.append(f"{i + 1:>5}  {self.loss[i]:>8.4f}  {self.accuracy[i]:>6.2%}  "
                        f"{val_loss:>8.4f}  {val_acc:>7.2%}  {self.epoch_time[i]:>6.2f}")
        return "\n".join(rows)


# --------------------------------------------------------------------- callbacks


class Callback:
    """Base class of objects that :func:`fit` calls at fixed points of the loop.

    Override any of the methods; each gets the live :class:`TrainState`.
    ``after_backward`` runs when gradients exist and the step has not happened
    yet (gradient norms, a copy of the weights); ``on_batch_end`` after the step.
    """

    def on_fit_start(self, state: TrainState) -> None: ...
    def after_backward(self, state: TrainState) -> None: ...
    def on_batch_end(self, state: TrainState) -> None: ...
    def on_epoch_end(self, state: TrainState) -> None: ...
    def on_fit_end(self, state: TrainState) -> None: ...


@dataclass
class TrainState:
    """The loop's current state, as callbacks see it.

    ``loss`` is the batch's loss tensor (detached after the step); ``step``
    counts optimizer steps from 0 across epochs.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    history: History
    epoch: int = 0
    batch: int = 0
    step: int = 0
    inputs: torch.Tensor | None = None
    targets: torch.Tensor | None = None
    outputs: torch.Tensor | None = None
    loss: torch.Tensor | None = None


class _BatchEndFunction(Callback):
    """Adapter: a plain function ``fn(state)`` called after every step."""

    def __init__(self, fn: Callable[[TrainState], Any]) -> None:
        self.fn = fn

    def on_batch_end(self, state: TrainState) -> None:
        self.fn(state)


def _callbacks_with(callbacks: Sequence[Any] | None, on_batch_end: Callable | None,
                    method: str) -> list[Callable[[TrainState], Any]]:
    """Bound methods named ``method`` of every callback that defines it."""
    everything = list(callbacks or [])
    if on_batch_end is not None:
        if not callable(on_batch_end):
            raise TypeError(f"on_batch_end: expected a function of the TrainState, got "
                            f"{describe(on_batch_end)}")
        everything.append(_BatchEndFunction(on_batch_end))
    return [getattr(cb, method) for cb in everything if callable(getattr(cb, method, None))]


# ------------------------------------------------------------------ the progress bar


class _Progress:
    """One bar for the whole run (tqdm.auto: a widget in Jupyter, text elsewhere).

    Disabled when ``enabled`` is False. Under nbgrader (``NBGRADER_EXECUTION``)
    there is no bar: nbgrader scores a cell 0 if anything reaches stderr, so
    only one line per epoch is printed, to stdout.
    """

    def __init__(self, enabled: bool, total: int | None, epochs: int) -> None:
        self.epochs = epochs
        self.print_lines = enabled and grading()
        self.bar = None
        if enabled and not grading():
            with warnings.catch_warnings():  # "IProgress not found" would go to stderr
                warnings.simplefilter("ignore")
                from tqdm.auto import tqdm

                self.bar = tqdm(total=total, unit="batch", file=sys.stdout, dynamic_ncols=True,
                                desc=f"epoch 1/{epochs}")

    def update(self) -> None:
        if self.bar is not None:
            self.bar.update()

    def epoch_done(self, history: History) -> None:
        epoch = history.epochs
        summary = {"loss": f"{history.loss[-1]:.4f}"}
        if not math.isnan(history.accuracy[-1]):
            summary["acc"] = f"{history.accuracy[-1]:.2%}"
        if history.val_loss:
            summary["val_loss"] = f"{history.val_loss[-1]:.4f}"
            if not math.isnan(history.val_accuracy[-1]):
                summary["val_acc"] = f"{history.val_accuracy[-1]:.2%}"
        if self.bar is not None:
            self.bar.set_postfix(summary, refresh=False)
            self.bar.set_description(f"epoch {min(epoch + 1, self.epochs)}/{self.epochs}")
        if self.print_lines:
            text = "  ".join(f"{k} {v}" for k, v in summary.items())
            print(f"epoch {epoch}/{self.epochs}  {text}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ------------------------------------------------------------------------ helpers


def _optimizer(model: nn.Module, optimizer: object, lr: float | None) -> torch.optim.Optimizer:
    """The optimizer to use: an instance as given, or one built from its name."""
    if isinstance(optimizer, torch.optim.Optimizer):
        if lr is not None:
            raise ValueError("lr: the optimizer you passed already has its learning rate; "
                             "leave lr=None or pass optimizer='sgd' / 'adam'")
        return optimizer
    name = "sgd" if optimizer is None else optimizer
    if not isinstance(name, str) or name.lower() not in DEFAULT_LR:
        raise ValueError(f"optimizer: expected None, 'sgd', 'adam' or a torch.optim.Optimizer, "
                         f"got {describe(optimizer)}")
    name = name.lower()
    lr = DEFAULT_LR[name] if lr is None else positive_number(lr, "lr")
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr)
    return torch.optim.Adam(model.parameters(), lr=lr)


def _batches_in(loader: Iterable, max_batches: int | None) -> int | None:
    """Number of batches an epoch will see, if the loader knows its length."""
    try:
        total = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return max_batches
    return total if max_batches is None else min(total, max_batches)


def _check_loader(loader: object, name: str) -> None:
    if isinstance(loader, (torch.Tensor, np.ndarray)) or not isinstance(loader, Iterable):
        raise TypeError(f"{name}: expected a DataLoader (or any iterable of (inputs, targets) "
                        f"batches), got {describe(loader)}")


def _split(batch: object, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"{name}: expected each batch to be a pair (inputs, targets), got "
                        f"{describe(batch)}")
    return batch[0], batch[1]


def _is_classification(outputs: torch.Tensor, targets: torch.Tensor) -> bool:
    """Do ``(N, classes)`` outputs meet ``(N,)`` integer class targets (so accuracy makes sense)?"""
    return outputs.ndim == 2 and targets.ndim == 1 and not targets.dtype.is_floating_point


def _correct(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor | None:
    """Number of correct predictions as a 0-d tensor on the device, or None if not classifying."""
    if not _is_classification(outputs, targets):
        return None
    return (outputs.argmax(dim=1) == targets).sum()


def _module_device(model: nn.Module, device: torch.device | str | None) -> torch.device:
    device = best_device() if device is None else torch.device(device)
    model.to(device)
    return device


# ---------------------------------------------------------------------- the loops


def fit(
    model: nn.Module,
    train_loader: Iterable,
    *,
    epochs: int = 1,
    optimizer: str | torch.optim.Optimizer | None = None,
    lr: float | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    val_loader: Iterable | None = None,
    device: torch.device | str | None = None,
    seed: int | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] | None = None,
    on_batch_end: Callable[[TrainState], Any] | None = None,
    max_batches: int | None = None,
    scheduler: Any = None,
) -> History:
    """Train ``model`` on ``train_loader`` for ``epochs`` epochs and return the :class:`History`.

    Each batch runs the textbook step::

        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    Args:
        model: the network; moved to ``device``.
        train_loader: a ``DataLoader``, or any iterable of ``(inputs, targets)``.
        epochs: passes over ``train_loader``.
        optimizer: ``None`` or ``"sgd"`` (plain SGD, no momentum: it shows the
            effect of activations and normalization most clearly), ``"adam"``,
            or a ``torch.optim.Optimizer`` you built yourself.
        lr: learning rate for a named optimizer; default 0.1 for SGD, 1e-3 for Adam.
        loss_fn: default ``nn.CrossEntropyLoss()`` (mean over the batch).
        val_loader: if given, evaluated after every epoch.
        device: default :func:`course_lib.lab.device.best_device`.
        seed: if given, :func:`set_seed` runs first (build the model after
            ``set_seed`` too, for identical initial weights).
        progress: show a progress bar (one line per epoch under nbgrader).
        callbacks: :class:`Callback` objects (see :mod:`course_lib.lab.monitors`).
        on_batch_end: a function of the :class:`TrainState`, called after each step.
        max_batches: stop each epoch (and each validation) after this many
            batches, for fast runs under grading.
        scheduler: a ``torch.optim.lr_scheduler`` stepped once per epoch.

    Returns:
        The :class:`History`: loss and accuracy per epoch and per batch,
        validation metrics, learning rate and time per epoch.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {describe(model)}")
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    epochs = positive_int(epochs, "epochs")
    max_batches = None if max_batches is None else positive_int(max_batches, "max_batches")
    if seed is not None:
        set_seed(seed)
    device = _module_device(model, device)
    optimizer = _optimizer(model, optimizer, lr)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    history = History()
    state = TrainState(model=model, optimizer=optimizer, history=history)
    hooks = {name: _callbacks_with(callbacks, on_batch_end, name) for name in (
        "on_fit_start", "after_backward", "on_batch_end", "on_epoch_end", "on_fit_end")}
    per_epoch = _batches_in(train_loader, max_batches)
    bar = _Progress(progress, None if per_epoch is None else per_epoch * epochs, epochs)
    for hook in hooks["on_fit_start"]:
        hook(state)
    try:
        for epoch in range(epochs):
            state.epoch = epoch
            start = time.perf_counter()
            _train_epoch(state, train_loader, loss_fn, device, max_batches, hooks, bar)
            if scheduler is not None:
                scheduler.step()
            if val_loader is not None:
                val_loss, val_accuracy = evaluate(model, val_loader, device=device,
                                                  loss_fn=loss_fn, max_batches=max_batches)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_accuracy)
            history.epoch_time.append(time.perf_counter() - start)
            bar.epoch_done(history)
            for hook in hooks["on_epoch_end"]:
                hook(state)
    finally:
        bar.close()
    for hook in hooks["on_fit_end"]:
        hook(state)
    return history


def _train_epoch(state: TrainState, loader: Iterable, loss_fn: Callable, device: torch.device,
                 max_batches: int | None, hooks: dict[str, list], bar: _Progress) -> None:
    """One pass of the textbook step over ``loader``; the epoch's numbers go to the history."""
    model, optimizer = state.model, state.optimizer
    model.train()
    record = _EpochRecord()
    for batch, pair in enumerate(loader):
        if max_batches is not None and batch >= max_batches:
            break
        inputs, targets = _split(pair, "train_loader")
        inputs = inputs.to(device, non_blocking=True)
        targets = targets.to(device, non_blocking=True)

        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        state.batch, state.inputs, state.targets = batch, inputs, targets
        state.outputs, state.loss = outputs, loss
        for hook in hooks["after_backward"]:
            hook(state)
        optimizer.step()

        state.loss = record.add(loss, outputs, targets)
        for hook in hooks["on_batch_end"]:
            hook(state)
        state.step += 1
        bar.update()
    record.finish(state.history, optimizer)


class _EpochRecord:
    """One epoch's per-batch losses and outputs, kept on the device until the epoch ends.

    Adding a batch costs two ``detach`` calls: no ``.item()`` (which would make a
    GPU wait after every batch) and no ``argmax`` per batch. At the end of the
    epoch the accuracy of all batches is computed at once and copied to the host
    in one go. The outputs of an epoch are held meanwhile: for 60,000 MNIST
    samples and 10 classes that is 2.4 MB.
    """

    def __init__(self) -> None:
        self.losses: list[torch.Tensor] = []
        self.outputs: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []
        self.sizes: list[int] = []
        self.classifying: bool | None = None  # decided on the first batch

    def add(self, loss: torch.Tensor, outputs: torch.Tensor, targets: torch.Tensor
            ) -> torch.Tensor:
        """Keep one batch's numbers; returns the detached loss."""
        detached = loss.detach()
        self.losses.append(detached)
        self.sizes.append(len(targets))
        if self.classifying is None:
            self.classifying = _is_classification(outputs, targets)
        if self.classifying:
            self.outputs.append(outputs.detach())
            self.targets.append(targets)
        return detached

    def finish(self, history: History, optimizer: torch.optim.Optimizer) -> None:
        """Append this epoch's numbers to ``history`` (the one host sync of the epoch)."""
        if not self.losses:
            raise ValueError("train_loader: produced no batches; is the data set empty?")
        batch_loss = torch.stack(self.losses).float().cpu().numpy().astype(np.float64)
        sizes = np.asarray(self.sizes, dtype=np.int64)
        history.batch_loss += batch_loss.tolist()
        history.loss.append(float(np.sum(batch_loss * sizes) / np.sum(sizes)))
        if self.classifying:
            hits = (torch.cat(self.outputs).argmax(dim=1) == torch.cat(self.targets))
            hits = hits.cpu().numpy()
            per_batch = np.add.reduceat(hits, np.cumsum(sizes) - sizes) / sizes
            history.batch_accuracy += per_batch.astype(np.float64).tolist()
            history.accuracy.append(float(hits.mean()))
        else:
            history.batch_accuracy += [math.nan] * len(self.losses)
            history.accuracy.append(math.nan)
        history.lr.append(float(optimizer.param_groups[0]["lr"]))


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    max_batches: int | None = None,
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader``, in eval mode and without gradients.

    The model's train/eval mode is restored afterwards.

    Args:
        model: the network; moved to ``device``.
        loader: iterable of ``(inputs, targets)`` batches.
        device: default :func:`course_lib.lab.device.best_device`.
        loss_fn: default ``nn.CrossEntropyLoss()``; its batch mean is weighted
            by batch size, so the result is the mean over samples.
        max_batches: look at this many batches only.

    Returns:
        ``(loss, accuracy)`` as Python floats; accuracy in [0, 1], ``nan``
        if the targets are not class indices.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {describe(model)}")
    _check_loader(loader, "loader")
    max_batches = None if max_batches is None else positive_int(max_batches, "max_batches")
    device = _module_device(model, device)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    total_correct = torch.zeros((), dtype=torch.int64, device=device)
    count, classifying = 0, True
    try:
        for batch, pair in enumerate(loader):
            if max_batches is not None and batch >= max_batches:
                break
            inputs, targets = _split(pair, "loader")
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total_loss += loss_fn(outputs, targets).double() * len(targets)
            correct = _correct(outputs, targets)
            classifying = classifying and correct is not None
            if correct is not None:
                total_correct += correct
            count += len(targets)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("loader: produced no batches; is the data set empty?")
    accuracy = total_correct.item() / count if classifying else math.nan
    return total_loss.item() / count, accuracy


class Predictions(NamedTuple):
    """What :func:`predict` returns; all on the CPU, in the loader's order."""

    logits: torch.Tensor  # (N, classes)
    labels: torch.Tensor  # (N,) predicted class, argmax of the logits
    targets: torch.Tensor | None  # (N,) true classes, or None for a bare tensor


@torch.no_grad()
@torch.no_grad()
def predict(
    model: nn.Module,
    data: torch.Tensor | Iterable,
    device: torch.device | str | None = None,
    *,
    batch_size: int = 512,
) -> Predictions:
    """Run ``model`` in eval mode, without gradients, over ``data``: logits and classes.

    Args:
        model: the network; moved to ``device``; its mode is restored afterwards.
        data: an input tensor ``(N, ...)`` (split into batches of ``batch_size``)
            or a loader of ``(inputs, targets)`` batches (targets are kept, so
            a shuffled loader still pairs each prediction with its label).
        device: default :func:`course_lib.lab.device.best_device`.
        batch_size: batch size for a tensor input.

    Returns:
        :class:`Predictions` ``(logits, labels, targets)``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {describe(model)}")
    batch_size = positive_int(batch_size, "batch_size")
    if isinstance(data, torch.Tensor):
        batches: Iterable = ((chunk, None) for chunk in data.split(batch_size))
    else:
        _check_loader(data, "data")
        batches = (_split(pair, "data") for pair in data)
    device = _module_device(model, device)
    was_training = model.training
    model.eval()
    logits, targets = [], []
    try:
        for inputs, target in batches:
            logits.append(model(inputs.to(device)).cpu())
            if target is not None:
                targets.append(target.cpu())
    finally:
        model.train(was_training)
    if not logits:
        raise ValueError("data: no samples to predict")
    all_logits = torch.cat(logits)
    return Predictions(all_logits, all_logits.argmax(dim=1),
                       torch.cat(targets) if targets else None)
