"""course_lib.diagnostics: hook-based statistics, checked against hand computation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib.lab import diagnostics as D
from course_lib.lab import monitors
from course_lib.lab.models import mlp
from course_lib.lab.saturation import saturated_fraction
from course_lib.lab.train import fit, set_seed
from course_lib.reference.dead_relu import dead_unit_fraction


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def no_hooks_left(model: nn.Module) -> bool:
    return all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
               for m in model.modules())


def tiny_net(activation: str = "relu", norm: str | None = None) -> nn.Sequential:
    set_seed(0)
    return mlp(3, 4, 2, depth=2, activation=activation, norm=norm)


def hidden_outputs(model: nn.Sequential, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Each activation's output, computed layer by layer without hooks."""
    outputs, h = {}, x
    with torch.no_grad():
        for name, layer in model.named_children():
            h = layer(h)
            if name.startswith("act"):
                outputs[name] = h.double().numpy()
    return outputs


# ------------------------------------------------------------------- choosing modules


def test_select_modules_by_default_type_and_name():
    model = tiny_net()
    assert [n for n, _ in D.select_modules(model)] == ["act1", "act2"]
    assert [n for n, _ in D.select_modules(model, nn.Linear)] == ["fc1", "fc2", "out"]
    assert [n for n, _ in D.select_modules(model, ["out", "act1"])] == ["out", "act1"]
    assert [n for n, _ in D.select_modules(model, default=D.WEIGHT_TYPES)] == ["fc1", "fc2", "out"]


def test_select_modules_errors():
    model = tiny_net()
    with pytest.raises(ValueError, match=r"modules: no layer named 'act9'; the model has "
                                         r"flatten, fc1, act1"):
        D.select_modules(model, ["act9"])
    with pytest.raises(ValueError, match=r"modules: the model has no Conv2d layer"):
        D.select_modules(model, nn.Conv2d)
    with pytest.raises(TypeError, match=r"modules: expected None, a module type"):
        D.select_modules(model, "act1")
    with pytest.raises(TypeError, match=r"model: expected a torch.nn.Module"):
        D.select_modules([model])


# -------------------------------------------------------------- activation statistics


def test_activation_statistics_equal_hand_computation():
    model = tiny_net("relu")
    x = torch.randn(37, 3, generator=torch.Generator().manual_seed(1))
    stats = D.activation_statistics(model, x, batch_size=10, bins=8, device="cpu")  # 4 batches
    for name, acts in hidden_outputs(model, x).items():
        s = stats[name]
        assert (s.samples, s.units) == (37, 4)
        assert s.mean == pytest.approx(acts.mean())
        assert s.std == pytest.approx(acts.std())
        assert s.dead == dead_unit_fraction(acts)
        assert s.saturated is None
        np.testing.assert_allclose(s.bin_edges, np.linspace(0, 5, 9))
        expected, _ = np.histogram(np.clip(acts, 0, 5), bins=8, range=(0, 5))
        np.testing.assert_array_equal(s.histogram, expected)


def test_dead_units_are_found_across_batches():
    model = tiny_net("relu")
    with torch.no_grad():
        model.fc1.bias[:2] = -100.0  # units 0 and 1 of act1 never fire
    x = torch.rand(20, 3)
    assert D.activation_statistics(model, x, batch_size=3, device="cpu")["act1"].dead == 0.5


def test_saturation_and_loader_input():
    model = tiny_net("tanh")
    with torch.no_grad():
        model.fc1.weight.mul_(20)
    x = torch.randn(64, 3)
    data = DataLoader(TensorDataset(x, torch.zeros(64, dtype=torch.long)), batch_size=16)
    stats = D.activation_statistics(model, data, modules=[nn.Tanh][0], device="cpu")
    acts = hidden_outputs(model, x)
    for name in ("act1", "act2"):
        assert stats[name].saturated == pytest.approx(
            saturated_fraction(acts[name].astype(np.float32), "tanh"))
        assert stats[name].bin_edges[0] == -1.0
    assert stats["act1"].saturated > 0.5
    limited = D.activation_statistics(model, data, max_batches=1, device="cpu")
    assert limited["act1"].samples == 16


def test_model_is_left_untouched():
    model = tiny_net("relu", norm="batch").eval()
    model(torch.randn(8, 3)).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.randn(16, 3), torch.randint(0, 2, (16,))
    D.activation_statistics(model, x, train_mode=True, device="cpu")
    D.gradient_norms(model, x, y)
    D.gradient_norms(model, x, y, of="activation")
    assert not model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key  # BatchNorm's running stats too
    for p, g in zip(model.parameters(), grads):
        assert torch.equal(p.grad, g)
    assert no_hooks_left(model)


def test_train_mode_uses_batch_statistics():
    model = tiny_net("relu", norm="batch")
    x = 5 + 3 * torch.randn(64, 3)
    model.eval()
    eval_stats = D.activation_statistics(model, x, modules=["norm1"], device="cpu")
    train_stats = D.activation_statistics(model, x, modules=["norm1"], device="cpu",
                                          train_mode=True, batch_size=64)
    assert train_stats["norm1"].mean == pytest.approx(0.0, abs=1e-6)
    assert train_stats["norm1"].std == pytest.approx(1.0, abs=1e-3)
    assert abs(eval_stats["norm1"].mean) > 0.1 or abs(eval_stats["norm1"].std - 1) > 0.1


def test_activation_statistics_bad_input():
    model = tiny_net()
    with pytest.raises(ValueError, match=r"bins: expected an int >= 1, got 0"):
        D.activation_statistics(model, torch.zeros(2, 3), bins=0)
    with pytest.raises(TypeError, match=r"data: expected an input tensor or a loader"):
        D.activation_statistics(model, 3.0)
    with pytest.raises(ValueError, match=r"act1: saw no data"):
        D.activation_statistics(model, [])


def test_format_table():
    model = tiny_net("tanh")
    table = D.format_table(D.activation_statistics(model, torch.randn(10, 3), device="cpu"))
    lines = table.splitlines()
    assert lines[0].split() == ["layer", "mean", "std", "dead", "%", "saturated", "%"]
    assert [line.split()[0] for line in lines[1:]] == ["act1", "act2"]


# ------------------------------------------------------------------------ gradients


def test_weight_gradient_norms_equal_hand_computation():
    model = tiny_net("sigmoid")
    x, y = torch.randn(12, 3), torch.randint(0, 2, (12,))
    norms = D.gradient_norms(model, x, y)
    assert list(norms) == ["fc1", "fc2", "out"]
    twin = tiny_net("sigmoid")
    nn.functional.cross_entropy(twin(x), y).backward()
    for name in norms:
        assert norms[name] == pytest.approx(getattr(twin, name).weight.grad.norm().item())
    assert D.gradient_norms_at_init(model, x, y) == norms


def test_activation_gradient_norms_equal_hand_computation():
    model = tiny_net("tanh")
    x, y = torch.randn(12, 3), torch.randint(0, 2, (12,))
    norms = D.gradient_norms(model, x, y, of="activation")
    h1 = model.act1(model.fc1(x))
    h2 = model.act2(model.fc2(h1))
    loss = nn.functional.cross_entropy(model.out(h2), y)
    g1, g2 = torch.autograd.grad(loss, [h1, h2])
    assert norms == pytest.approx({"act1": g1.norm().item(), "act2": g2.norm().item()})


def test_vanishing_gradients_in_a_deep_sigmoid_net():
    set_seed(0)
    deep = mlp(20, 32, 10, depth=10, activation="sigmoid")
    x, y = torch.randn(64, 20), torch.randint(0, 10, (64,))
    norms = list(D.gradient_norms_at_init(deep, x, y).values())
    assert len(norms) == 11
    assert norms[0] < 1e-3 * norms[-1]  # the first layer barely gets a gradient


class Spare(nn.Module):
    """A net with a layer its forward never uses."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.spare = nn.Tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def test_gradient_norms_bad_input():
    model = tiny_net()
    x, y = torch.randn(4, 3), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"of: expected 'weight' or 'activation', got str 'bias'"):
        D.gradient_norms(model, x, y, of="bias")
    with pytest.raises(ValueError, match=r"modules: layer 'act1' has no weight"):
        D.gradient_norms(model, x, y, modules=["act1"])
    unused = Spare()
    with pytest.raises(ValueError, match=r"modules: layer 'spare' was not used"):
        D.gradient_norms(unused, x, y, of="activation", modules=["spare"])
    assert no_hooks_left(unused)


# ------------------------------------------------------------------ during training


def training_data(n: int = 96) -> DataLoader:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(n, 3, generator=g)
    return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=16)


def test_activation_monitor_records_every_k_training_batches():
    model = tiny_net("sigmoid")
    seen: list[np.ndarray] = []
    with monitors.ActivationMonitor(model, every=2, bins=10) as monitor:
        assert not no_hooks_left(model)
        keep = model.act1.register_forward_hook(
            lambda m, i, out: seen.append(out.detach().double().numpy()) if m.training else None)
        fit(model, training_data(), epochs=2, lr=0.5, val_loader=training_data(32),
            device="cpu", progress=False)
        keep.remove()
    assert no_hooks_left(model)
    history = monitor.history()
    act1 = history["act1"]
    assert act1.steps.tolist() == [0, 2, 4, 6, 8, 10]  # 12 training batches; eval ignored
    assert act1.counts.shape == (6, 10)
    assert act1.counts.sum(axis=1).tolist() == [16 * 4] * 6
    for row, step in enumerate(act1.steps):
        acts = seen[step]
        assert act1.mean[row] == pytest.approx(acts.mean(), rel=1e-5)
        assert act1.std[row] == pytest.approx(acts.std(), rel=1e-4)
        assert act1.dead[row] == dead_unit_fraction(acts)
        assert act1.saturated[row] == pytest.approx(
            saturated_fraction(acts.astype(np.float32), "sigmoid"))
        expected, _ = np.histogram(acts, bins=10, range=(0, 1))
        np.testing.assert_array_equal(act1.counts[row], expected)


def test_activation_monitor_removes_hooks_on_error_and_needs_data():
    model = tiny_net()
    with pytest.raises(RuntimeError, match="boom"), monitors.ActivationMonitor(model):
        raise RuntimeError("boom")
    assert no_hooks_left(model)
    with monitors.ActivationMonitor(model) as monitor:
        pass
    with pytest.raises(ValueError, match=r"act1: nothing recorded yet"):
        monitor.history()
    with pytest.raises(ValueError, match=r"every: expected an int >= 1, got 0"):
        monitors.ActivationMonitor(model, every=0)


class Probe:
    """A fit callback computing the expected numbers by hand, before the step."""

    def __init__(self, lr: float) -> None:
        self.lr = lr
        self.grad_norms: list[list[float]] = []
        self.karpathy: list[dict[str, float]] = []

    def after_backward(self, state):
        model = state.model
        self.grad_norms.append([layer.weight.grad.norm().item()
                                for layer in (model.fc1, model.fc2, model.out)])
        # Karpathy's ratio for a plain SGD step, |lr * grad| / |W|, per weight matrix
        self.karpathy.append({name: float(self.lr * p.grad.norm() / p.detach().norm())
                              for name, p in model.named_parameters() if p.ndim >= 2})


def test_recorders_match_hand_computation_for_plain_sgd():
    model = tiny_net("tanh")
    lr = 0.3
    probe = Probe(lr)
    grads = monitors.GradientNormRecorder(model, every=1)
    updates = monitors.UpdateRatioRecorder(model, every=3)
    fit(model, training_data(), epochs=2, lr=lr, device="cpu", progress=False,
        callbacks=[probe, grads, updates])
    norms = grads.norms()
    assert list(norms) == ["fc1", "fc2", "out"] and grads.steps == list(range(12))
    np.testing.assert_allclose(np.stack(list(norms.values()), axis=1), probe.grad_norms,
                               rtol=1e-6)
    ratios = updates.ratios()
    assert updates.steps == [0, 3, 6, 9]
    for row, step in enumerate(updates.steps):  # SGD: |w_new - w_old| = lr |grad|
        for name, value in probe.karpathy[step].items():
            assert ratios[name][row] == pytest.approx(value, rel=1e-4)


def test_recorders_need_training():
    model = tiny_net()
    with pytest.raises(ValueError, match=r"nothing recorded yet; pass this recorder to fit"):
        monitors.GradientNormRecorder(model).norms()
    with pytest.raises(ValueError, match=r"nothing recorded yet"):
        monitors.UpdateRatioRecorder(model).ratios()
    with pytest.raises(ValueError, match=r"model: has no weight matrices"):
        monitors.UpdateRatioRecorder(nn.ReLU())
