"""How much does ``course_lib.lab.train.fit`` cost over a bare PyTorch loop?

Both train the same model class from the same initial weights on the same
pre-materialised batches (synthetic 28x28 "digits", so no data loading is
timed), with plain SGD. Runs are interleaved (bare, fit, fit with a progress
bar, then the reverse order, ...), many short repeats rather than a few long
ones, and the overhead is the median over repeats of fit's time divided by the
bare loop's time in the same repeat: load from other processes changes slowly,
so the two runs of a repeat see nearly the same machine. Also checks that fit's
per-batch losses equal the bare loop's bit for bit: the bookkeeping must not
change the training.

    python benchmarks/bench_fit.py                 # small CNN, 21 repeats
    python benchmarks/bench_fit.py --model mlp     # a 3-layer MLP (less work per batch)

Exit code 1 if fit's overhead (either variant) exceeds ``--threshold`` (5 %).

By default the clock is this process's CPU time (``--clock cpu``): on a shared
machine wall-clock time mostly measures the neighbours. ``--clock wall`` times
what a user waits for; use it on an idle machine (or a GPU, where waiting for the
device is part of the cost).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

from course_lib.lab.models import mlp
from course_lib.lab.train import fit, set_seed


def small_cnn() -> nn.Sequential:
    """A LeNet-sized CNN for (N, 1, 28, 28) inputs."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 10),
    )


def small_mlp() -> nn.Sequential:
    return mlp(28 * 28, 128, 10, depth=3, activation="relu")


MODELS: dict[str, Callable[[], nn.Module]] = {"cnn": small_cnn, "mlp": small_mlp}


def make_batches(count: int, batch_size: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Synthetic images whose labels a random linear "teacher" assigns (learnable)."""
    generator = torch.Generator().manual_seed(seed)
    teacher = torch.randn(28 * 28, 10, generator=generator)
    batches = []
    for _ in range(count):
        images = torch.rand(batch_size, 1, 28, 28, generator=generator)
        batches.append((images, (images.flatten(1) @ teacher).argmax(dim=1)))
    return batches


def bare_loop(model: nn.Module, batches: Sequence, epochs: int, lr: float) -> list[float]:
    """The loop a PyTorch tutorial writes, recording each batch's loss."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    losses = []
    for _ in range(epochs):
        for inputs, targets in batches:
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


def fit_loop(model: nn.Module, batches: Sequence, epochs: int, lr: float,
             progress: bool) -> list[float]:
    sink = io.StringIO()  # the bar is drawn (and timed) but not shown
    with contextlib.redirect_stdout(sink):
        history = fit(model, batches, epochs=epochs, optimizer="sgd", lr=lr, device="cpu",
                      progress=progress)
    return history.batch_loss


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="cnn")
    parser.add_argument("--batches", type=int, default=40, help="batches per epoch")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=21, help="timed runs of each variant")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--threshold", type=float, default=0.05,
                        help="largest allowed overhead (0.05 = 5%%)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                        help="cpu: process CPU time (robust to other load); wall: elapsed time")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    batches = make_batches(args.batches, args.batch_size, args.seed)
    set_seed(args.seed)
    initial = MODELS[args.model]().state_dict()
    lr = 0.05

    def fresh() -> nn.Module:
        model = MODELS[args.model]()
        model.load_state_dict(copy.deepcopy(initial))
        return model

    variants: dict[str, Callable[[nn.Module], list[float]]] = {
        "bare loop": lambda m: bare_loop(m, batches, args.epochs, lr),
        "fit (progress=False)": lambda m: fit_loop(m, batches, args.epochs, lr, False),
        "fit (progress bar)": lambda m: fit_loop(m, batches, args.epochs, lr, True),
    }
    reference_losses = None
    for name, run in variants.items():  # warm-up, and the bit-for-bit comparison
        losses = run(fresh())
        reference_losses = losses if reference_losses is None else reference_losses
        if losses != reference_losses:
            print(f"{name}: per-batch losses differ from the bare loop's")
            return 1
    print(f"model {args.model}, {args.batches} batches x {args.batch_size} x {args.epochs} "
          f"epochs, {args.threads} thread(s), {args.clock} time")
    print("per-batch losses: identical (bit for bit) in all variants")

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for repeat in range(args.repeats):
        order = list(variants.items())
        for name, run in order if repeat % 2 == 0 else order[::-1]:  # ABC CBA: no order bias
            model = fresh()
            start = clock()
            run(model)
            seconds[name].append(clock() - start)
        print(f"repeat {repeat + 1:>2}: " + "  ".join(
            f"{name} {times[-1]:.3f}s" for name, times in seconds.items()), flush=True)

    bare = seconds["bare loop"]
    status = 0
    print(f"bare loop: median {statistics.median(bare):.3f}s, best {min(bare):.3f}s")
    for name in list(variants)[1:]:
        # Each repeat ran the variants back to back, so a repeat's ratio compares runs
        # under the same background load; the median ratio ignores the noisiest repeats.
        overhead = statistics.median(t / b for t, b in zip(seconds[name], bare)) - 1
        best = min(seconds[name]) / min(bare) - 1
        verdict = "ok" if overhead <= args.threshold else "TOO SLOW"
        print(f"{name}: median {statistics.median(seconds[name]):.3f}s, overhead "
              f"{overhead:+.1%} (median of paired ratios; limit {args.threshold:.0%}) {verdict}; "
              f"best vs best {best:+.1%}")
        status = status or int(overhead > args.threshold)
    return status

if __name__ == "__main__":
    sys.exit(main())
