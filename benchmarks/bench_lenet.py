"""How long does LeNet-5 take to reach 99 % test accuracy on full MNIST, on this CPU?

Trains on all 60,000 training digits with the recipe of notebook 06
(:func:`course_lib.lab.lenet_training.train_lenet`: Adam, a one-cycle learning rate stepped every
batch, batches sliced from pre-loaded tensors) and evaluates on the 10,000 test
digits after every epoch. Reports the first epoch at or above the target accuracy,
the training seconds up to it (evaluation not counted; also shown), images per
second, the final accuracy, and the machine's load average, which on a shared
machine explains most of the spread.

    python benchmarks/bench_lenet.py                     # the classic LeNet-5 (tanh, avg)
    python benchmarks/bench_lenet.py --preset modern     # ReLU + batch norm + max pooling
    python benchmarks/bench_lenet.py --epochs 10 --max-lr 5e-3 --batch-size 128

Exit code 1 if the target accuracy is not reached, or reached after more than
``--budget`` wall-clock seconds of training (60 by default). The process's CPU seconds
are printed too: on a busy machine they show what the run would cost on an idle one.
Needs MNIST in the cache (``course data mnist``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from course_lib.lab.lenet_training import TensorBatches, mnist_tensors, train_lenet
from course_lib.lab.train import Callback, evaluate, set_seed
from course_lib.reference.lenet import LeNet5, count_parameters

#: name -> (LeNet5 arguments, epochs, peak learning rate)
PRESETS = {
    "classic": (dict(activation="tanh", norm="none", pooling="avg"), 10, 5e-3),
    "modern": (dict(activation="relu", norm="batch", pooling="max"), 3, 5e-3),
}


class TestEveryEpoch(Callback):
    """Test accuracy after every epoch, timed apart from the training."""

    def __init__(self, test: TensorBatches) -> None:
        self.test = test
        self.accuracy: list[float] = []
        self.eval_seconds: list[float] = []
        self.train_cpu_seconds: list[float] = []
        self._cpu = 0.0

    def on_fit_start(self, state) -> None:
        self._cpu = time.process_time()

    def on_epoch_end(self, state) -> None:
        self.train_cpu_seconds.append(time.process_time() - self._cpu)
        start = time.perf_counter()
        _, accuracy = evaluate(state.model, self.test, device="cpu")
        self.eval_seconds.append(time.perf_counter() - start)
        self.accuracy.append(accuracy)
        print(f"  epoch {state.epoch + 1}: train {state.history.epoch_time[-1]:5.1f} s "
              f"({self.train_cpu_seconds[-1]:.1f} CPU s), test accuracy {accuracy:.2%}",
              flush=True)
        self._cpu = time.process_time()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="classic")
    parser.add_argument("--epochs", type=int, help="default: the preset's")
    parser.add_argument("--max-lr", type=float, help="peak learning rate; default: the preset's")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--target", type=float, default=0.99, help="test accuracy to reach")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds allowed")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options, epochs, max_lr = PRESETS[args.preset]
    epochs = args.epochs or epochs
    max_lr = args.max_lr or max_lr
    torch.set_num_threads(args.threads)
    (x_train, y_train), (x_test, y_test) = mnist_tensors()
    set_seed(args.seed)
    model = LeNet5(**options)
    train = TensorBatches(x_train, y_train, args.batch_size, seed=args.seed)
    test = TensorBatches(x_test, y_test, 1000, shuffle=False)
    print(f"LeNet5({', '.join(f'{k}={v!r}' for k, v in options.items())}): "
          f"{count_parameters(model):,} parameters; {epochs} epochs, batch {args.batch_size}, "
          f"Adam one-cycle max_lr {max_lr:g}, {torch.get_num_threads()} threads")
    load_before = os.getloadavg()
    tester = TestEveryEpoch(test)
    history = train_lenet(model, train, epochs=epochs, max_lr=max_lr, progress=False,
                          callbacks=[tester])
    load_after = os.getloadavg()
    reached = next((i for i, acc in enumerate(tester.accuracy) if acc >= args.target), None)
    print(f"load average (1, 5, 15 min): before {_loads(load_before)}, after "
          f"{_loads(load_after)}, on {os.cpu_count()} CPUs")
    if reached is None:
        print(f"FAIL: test accuracy {tester.accuracy[-1]:.2%} after {epochs} epochs, below "
              f"the target {args.target:.2%}")
        return 1
    train_seconds = sum(history.epoch_time[:reached + 1])
    images = (reached + 1) * len(x_train)
    with_eval = train_seconds + sum(tester.eval_seconds[:reached + 1])
    print(f"reached {tester.accuracy[reached]:.2%} >= {args.target:.2%} after {reached + 1} "
          f"epoch(s): {train_seconds:.1f} s of training ({with_eval:.1f} s "
          f"with the test evaluations; {sum(tester.train_cpu_seconds[:reached + 1]):.1f} CPU s "
          f"over {torch.get_num_threads()} threads), {images / train_seconds:,.0f} images/s; "
          f"final accuracy {tester.accuracy[-1]:.2%}")
    if train_seconds > args.budget:
        print(f"FAIL: {train_seconds:.1f} s is over the budget of {args.budget:.0f} s")
        return 1
    return 0


def _loads(loads: tuple[float, float, float]) -> str:
    return ", ".join(f"{load:.2f}" for load in loads)


if __name__ == "__main__":
    sys.exit(main())
