"""course_lib.lab.train: fit, evaluate, predict, set_seed; and the fit-overhead benchmark runs."""

from __future__ import annotations

import importlib.util
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib.lab.models import mlp
from course_lib.lab.train import Callback, History, evaluate, fit, predict, set_seed

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine lose a lot to them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def blobs(n: int = 256, seed: int = 0) -> TensorDataset:
    """Three well separated Gaussian clusters in 8-D: learnable in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    centers = 3.0 * torch.eye(3, 8)
    return TensorDataset(centers[labels] + torch.randn(n, 8, generator=g), labels)


def loader(n: int = 256, batch_size: int = 32, shuffle: bool = True, seed: int = 0) -> DataLoader:
    return DataLoader(blobs(n, seed), batch_size=batch_size, shuffle=shuffle)


def small_net() -> nn.Module:
    return mlp(8, 16, 3, depth=1, activation="relu")


# ----------------------------------------------------------------------------- set_seed


def test_set_seed_makes_every_generator_repeat():
    set_seed(123)
    first = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    set_seed(123)
    second = (random.random(), np.random.rand(), torch.rand(3))  # noqa: NPY002
    assert first[:2] == second[:2] and torch.equal(first[2], second[2])
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark


def test_set_seed_bad_input():
    with pytest.raises(ValueError, match=r"seed: expected an int >= 0, got -1"):
        set_seed(-1)
    with pytest.raises(TypeError, match=r"seed: expected an int >= 0, got float"):
        set_seed(1.5)


# ---------------------------------------------------------------------------------- fit


def test_fit_learns_a_learnable_task():
    set_seed(0)
    model = small_net()
    history = fit(model, loader(), epochs=6, lr=0.1, device="cpu", progress=False,
                  val_loader=loader(shuffle=False, seed=1))
    assert history.loss[-1] < 0.5 * history.loss[0]
    assert history.accuracy[-1] > 0.9 and history.val_accuracy[-1] > 0.9
    assert history.epochs == 6
    assert len(history.batch_loss) == len(history.batch_accuracy) == 6 * 8
    assert len(history.val_loss) == len(history.lr) == len(history.epoch_time) == 6
    assert history.lr == [0.1] * 6
    assert history.train_loss is history.loss and history.train_accuracy is history.accuracy
    assert all(t > 0 for t in history.epoch_time)


def run(seed: int) -> History:
    set_seed(seed)
    model = mlp(8, 16, 3, depth=2, activation="rrelu")  # random slopes: RNG use while training
    return fit(model, loader(), epochs=3, seed=seed, device="cpu", progress=False,
               optimizer="adam", lr=0.01)


def test_same_seed_same_history_bit_for_bit():
    first, second = run(7), run(7)
    for key, values in first.as_dict().items():
        if key != "epoch_time":
            assert values == second.as_dict()[key], key
    assert run(8).batch_loss != first.batch_loss


def test_fit_is_the_textbook_loop():
    """Same initial weights and batches: fit's per-batch losses equal a bare loop's exactly."""
    batches = [(x, y) for x, y in loader(shuffle=False)]
    set_seed(3)
    model = small_net()
    twin = small_net()
    twin.load_state_dict(model.state_dict())
    history = fit(model, batches, epochs=2, lr=0.05, device="cpu", progress=False)
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.05)
    bare = []
    for _ in range(2):
        for x, y in batches:
            loss = nn.functional.cross_entropy(twin(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            bare.append(loss.item())
    assert history.batch_loss == bare
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)


def test_epoch_numbers_are_sample_weighted_means_of_the_batches():
    """With a frozen model (lr = 0) the epoch's numbers equal evaluate's on the same data."""
    set_seed(1)
    model = small_net()
    frozen = torch.optim.SGD(model.parameters(), lr=0.0)
    data = loader(n=100, batch_size=32, shuffle=False)  # batches of 32, 32, 32, 4
    history = fit(model, data, epochs=1, optimizer=frozen, device="cpu", progress=False)
    loss, accuracy = evaluate(model, data, device="cpu")
    assert history.loss[0] == pytest.approx(loss, rel=1e-6)
    assert history.accuracy[0] == pytest.approx(accuracy)
    sizes = np.array([32, 32, 32, 4])
    assert np.sum(np.array(history.batch_accuracy) * sizes) / 100 == pytest.approx(accuracy)
    x, y = data.dataset.tensors
    with torch.no_grad():
        first = nn.functional.cross_entropy(model(x[:32]), y[:32]).item()
        last_acc = (model(x[96:]).argmax(1) == y[96:]).float().mean().item()
    assert history.batch_loss[0] == pytest.approx(first, rel=1e-6)
    assert history.batch_accuracy[-1] == pytest.approx(last_acc)


def test_max_batches_limits_each_epoch():
    history = fit(small_net(), loader(), epochs=3, max_batches=2, device="cpu", progress=False)
    assert len(history.batch_loss) == 6


def test_regression_has_no_accuracy():
    x = torch.randn(64, 4)
    data = DataLoader(TensorDataset(x, x.sum(dim=1, keepdim=True)), batch_size=16)
    model = nn.Linear(4, 1)
    history = fit(model, data, epochs=2, loss_fn=nn.MSELoss(), lr=0.05, val_loader=data,
                  device="cpu", progress=False)
    assert all(math.isnan(a) for a in history.accuracy + history.batch_accuracy)
    assert all(math.isnan(a) for a in history.val_accuracy)
    assert history.loss[1] < history.loss[0]
    assert "nan" in str(history)


def test_scheduler_and_optimizer_choices():
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(model, loader(), epochs=3, optimizer=optimizer, scheduler=scheduler,
                  device="cpu", progress=False)
    assert history.lr == [0.2, 0.1, 0.05]
    adam = small_net()
    fit(adam, loader(), epochs=1, optimizer="Adam", device="cpu", progress=False, max_batches=1)


class Recorder(Callback):
    def __init__(self) -> None:
        self.events: list[str] = []
        self.grad_seen_before_step = []

    def on_fit_start(self, state):
        self.events.append("start")

    def after_backward(self, state):
        self.events.append("backward")
        weight = state.model.fc1.weight
        self.before = weight.detach().clone()
        self.grad_seen_before_step.append(weight.grad is not None and bool(weight.grad.any()))

    def on_batch_end(self, state):
        self.events.append(f"batch {state.epoch}.{state.batch} step {state.step}")
        assert not torch.equal(self.before, state.model.fc1.weight)  # the step happened
        assert not state.loss.requires_grad

    def on_epoch_end(self, state):
        self.events.append(f"epoch {state.epoch} ({state.history.epochs} recorded)")

    def on_fit_end(self, state):
        self.events.append("end")


def test_callbacks_are_called_at_the_right_points():
    recorder, seen = Recorder(), []
    fit(small_net(), loader(n=64), epochs=2, device="cpu", progress=False,
        callbacks=[recorder], on_batch_end=lambda state: seen.append(state.step))
    assert recorder.events == [
        "start",
        "backward", "batch 0.0 step 0", "backward", "batch 0.1 step 1", "epoch 0 (1 recorded)",
        "backward", "batch 1.0 step 2", "backward", "batch 1.1 step 3", "epoch 1 (2 recorded)",
        "end",
    ]
    assert all(recorder.grad_seen_before_step)
    assert seen == [0, 1, 2, 3]


# ------------------------------------------------------------------- evaluate, predict


def hand_made_model() -> nn.Module:
    """logits = [x0, x1]: predicts class 0 when x0 > x1."""
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    return model


def test_evaluate_on_a_hand_made_model():
    x = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0], [0.0, 0.0], [1.0, 2.0]])
    y = torch.tensor([0, 1, 1, 0, 0])  # right, right, wrong, tie -> argmax 0 right, wrong
    data = DataLoader(TensorDataset(x, y), batch_size=2)
    model = hand_made_model().train()
    loss, accuracy = evaluate(model, data, device="cpu")
    expected = np.mean([math.log(1 + math.exp(a[1 - c] - a[c]))
                        for a, c in zip(x.tolist(), y.tolist())])
    assert loss == pytest.approx(expected, rel=1e-6)
    assert accuracy == pytest.approx(3 / 5)
    assert model.training  # mode restored
    loss2, _ = evaluate(model, data, "cpu", max_batches=1)
    assert loss2 == pytest.approx(np.mean([math.log(1 + math.exp(-2)), math.log(1 + math.exp(-1))]))


def test_predict_keeps_pairs_together_under_shuffling():
    x = torch.randn(50, 2)
    y = (x[:, 1] > x[:, 0]).long()
    model = hand_made_model()
    shuffled = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
    result = predict(model, shuffled, device="cpu")
    assert result.logits.shape == (50, 2)
    assert torch.equal(result.labels, result.logits.argmax(1))
    assert torch.equal(result.labels, result.targets)  # the model is perfect on this data
    bare = predict(model, x, device="cpu", batch_size=7)
    torch.testing.assert_close(bare.logits, x)
    assert bare.targets is None


@pytest.mark.parametrize("training", [True, False])
def test_predict_restores_the_mode_and_records_no_graph(training):
    """Like evaluate: eval mode while predicting (dropout off), then the mode it had."""
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.9)).train(training)
    result = predict(model, torch.randn(20, 2), device="cpu")
    assert model.training is training
    assert not result.logits.requires_grad  # no autograd graph kept for 20 samples
    again = predict(model, torch.randn(20, 2).repeat(2, 1)[:20], device="cpu")
    assert again.logits.shape == (20, 2)


# -------------------------------------------------------------------------- output


def test_no_output_at_all_when_quiet(capfd):
    fit(small_net(), loader(), epochs=2, device="cpu", progress=False)
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_never_writes_to_stderr(capfd):
    fit(small_net(), loader(), epochs=2, device="cpu", progress=True)
    captured = capfd.readouterr()
    assert captured.err == ""
    assert "epoch 2/2" in captured.out and "loss=" in captured.out


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_under_nbgrader_one_stdout_line_per_epoch(capfd, monkeypatch, mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    fit(small_net(), loader(), epochs=2, progress=True, val_loader=loader(seed=1))
    captured = capfd.readouterr()
    assert captured.err == ""
    lines = captured.out.strip().splitlines()
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    assert "val_acc" in lines[-1]


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("args", "kwargs", "error", "match"), [
    (("model", None), {}, TypeError, r"model: expected a torch.nn.Module, got str"),
    ((None, torch.zeros(3)), {}, TypeError,
     r"train_loader: expected a DataLoader \(or any iterable of \(inputs, targets\) batches\)"),
    ((None, None), {"epochs": 0}, ValueError, r"epochs: expected an int >= 1, got 0"),
    ((None, None), {"optimizer": "rmsprop"}, ValueError,
     r"optimizer: expected None, 'sgd', 'adam' or a torch.optim.Optimizer, got str 'rmsprop'"),
    ((None, None), {"lr": -0.1}, ValueError, r"lr: expected a finite number > 0, got -0.1"),
    ((None, None), {"max_batches": 0}, ValueError, r"max_batches: expected an int >= 1"),
    ((None, None), {"val_loader": 5}, TypeError, r"val_loader: expected a DataLoader"),
    ((None, None), {"on_batch_end": "print"}, TypeError, r"on_batch_end: expected a function"),
    ((None, []), {}, ValueError, r"train_loader: produced no batches"),
    ((None, [torch.zeros(2, 8)]), {}, TypeError,
     r"train_loader: expected each batch to be a pair \(inputs, targets\), got Tensor"),
])
def test_fit_bad_input(args, kwargs, error, match):
    model = small_net() if args[0] is None else args[0]
    data = loader() if args[1] is None else args[1]
    with pytest.raises(error, match=match):
        fit(model, data, device="cpu", progress=False, **kwargs)


def test_lr_with_an_optimizer_instance_is_an_error():
    model = small_net()
    with pytest.raises(ValueError, match=r"lr: the optimizer you passed already has its"):
        fit(model, loader(), optimizer=torch.optim.SGD(model.parameters(), lr=0.1), lr=0.1,
            progress=False)


def test_evaluate_and_predict_bad_input():
    with pytest.raises(TypeError, match=r"model: expected a torch.nn.Module"):
        evaluate(lambda x: x, loader())
    with pytest.raises(ValueError, match=r"loader: produced no batches"):
        evaluate(small_net(), [], device="cpu")
    with pytest.raises(TypeError, match=r"data: expected a DataLoader"):
        predict(small_net(), 3)
    with pytest.raises(ValueError, match=r"batch_size: expected an int >= 1, got 0"):
        predict(small_net(), torch.zeros(2, 8), batch_size=0)


# --------------------------------------------------------------------------- benchmark


def test_fit_benchmark_runs_in_a_tiny_configuration(capsys):
    spec = importlib.util.spec_from_file_location("bench_fit", ROOT / "benchmarks" / "bench_fit.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    status = bench.main(["--model", "mlp", "--batches", "3", "--batch-size", "8",
                         "--epochs", "1", "--repeats", "1", "--threshold", "1000"])
    out = capsys.readouterr().out
    assert status == 0
    assert "per-batch losses: identical" in out
    assert out.count("overhead") == 2 and "bare loop: median" in out
    impossible = bench.main(["--model", "mlp", "--batches", "2", "--batch-size", "4",
                             "--repeats", "1", "--threshold", "-0.99"])
    assert impossible == 1 and "TOO SLOW" in capsys.readouterr().out
