"""course_lib.lab.device: the device a cell runs on, and why grading ignores the GPU."""

from __future__ import annotations

import pytest
import torch

from course_lib.lab import device


@pytest.fixture
def gpu_everywhere(monkeypatch):
    """A machine that claims CUDA (no real GPU is needed to test the rule)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda _device: "Test GPU")


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("", False),
                                                   ("autograde", True), ("validate", True)])
def test_grading_follows_nbgraders_variable(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    else:
        monkeypatch.setenv("NBGRADER_EXECUTION", value)
    assert device.grading() is expected


def test_best_device_prefers_cuda_then_mps_then_cpu(monkeypatch, gpu_everywhere):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert device.best_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: True)
    assert device.best_device().type == "mps"
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    assert device.best_device().type == "cpu"


def test_under_grading_the_cpu_is_used_whatever_the_hardware(monkeypatch, gpu_everywhere, capsys):
    """Grades must not depend on the grader's hardware: a GPU changes float results."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert device.best_device() == torch.device("cpu")
    assert device.gpu_or_skip("the GPU timing") is None
    assert capsys.readouterr().out == ("Skipping the GPU timing: grading runs on CPU. Everything "
                                       "else in this notebook runs on the CPU.\n")


def test_gpu_or_skip_says_why_it_skips_or_where_it_runs(monkeypatch, capsys, gpu_everywhere):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert device.gpu_or_skip("the demo") == torch.device("cuda")
    assert capsys.readouterr().out == "Running the demo on cuda (Test GPU).\n"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    assert device.gpu_or_skip("the demo") is None
    assert "no CUDA or MPS device found" in capsys.readouterr().out


def test_describe_and_synchronize_on_the_cpu():
    assert device.describe(torch.device("cpu")) == f"cpu ({torch.get_num_threads()} threads)"
    assert device.describe(torch.device("mps")) == "mps (Apple GPU)"
    device.synchronize(torch.device("cpu"))  # nothing to wait for, and no error
