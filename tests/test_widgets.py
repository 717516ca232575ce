"""interactive_figure (course_lib.lab.widgets): widget with a PNG fallback, or a static figure."""

from __future__ import annotations

import base64

import ipywidgets
import matplotlib
import matplotlib.pyplot as plt
import pytest

from course_lib.lab import widgets


@pytest.fixture
def shown(monkeypatch):
    """Everything passed to IPython's display, instead of showing it."""
    calls = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: calls.append((obj, kw)))
    return calls


def recorder():
    drawn = []

    def draw(units, activation):
        drawn.append((units, activation))
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.set_title(f"{units} {activation}")
        return fig

    return draw, drawn


CONTROLS = {"units": [1, 2, 8], "activation": ["relu", "tanh"]}


def test_grading_shows_only_the_default_figure(monkeypatch, shown, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setattr(widgets, "_widgets_available", lambda: True)
    draw, drawn = recorder()
    assert widgets.interactive_figure(draw, CONTROLS, defaults={"units": 8}) is None
    assert drawn == [(8, "relu")]
    assert len(shown) == 1 and isinstance(shown[0][0], matplotlib.figure.Figure)
    out, err = capsys.readouterr()
    assert "Static figure for units = 8, activation = relu" in out and err == ""


def test_without_a_kernel_the_figure_is_static(monkeypatch, shown, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    draw, drawn = recorder()
    widgets.interactive_figure(draw, CONTROLS)  # pytest runs no IPython kernel
    assert drawn == [(1, "relu")]
    assert "Static figure" in capsys.readouterr().out


def test_with_widgets_the_output_carries_a_png_fallback_and_controls_redraw(monkeypatch, shown):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setattr(widgets, "_widgets_available", lambda: True)
    panels = []

    class RecordedVBox(ipywidgets.VBox):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            panels.append(self)

    monkeypatch.setattr(ipywidgets, "VBox", RecordedVBox)
    draw, drawn = recorder()
    widgets.interactive_figure(draw, CONTROLS)
    bundle, options = shown[-1]
    assert options == {"raw": True}
    assert set(bundle) == {widgets.WIDGET_VIEW, "image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    (panel,) = panels
    assert bundle[widgets.WIDGET_VIEW]["model_id"] == panel.model_id
    controls, _output = panel.children
    slider, dropdown = controls.children
    assert isinstance(slider, ipywidgets.SelectionSlider) and slider.value == 1
    assert isinstance(dropdown, ipywidgets.Dropdown) and dropdown.options == ("relu", "tanh")
    dropdown.value = "tanh"
    slider.value = 8
    assert drawn == [(1, "relu"), (1, "tanh"), (8, "tanh")]


@pytest.mark.parametrize(
    ("controls", "defaults", "error", "match"),
    [
        ([1, 2], None, TypeError, "controls: expected a dict of name -> list of choices"),
        ({"units": []}, None, TypeError, r"controls\['units'\]: expected a non-empty list"),
        ({"units": "relu"}, None, TypeError, r"controls\['units'\]: expected a non-empty list"),
        ({"units": [1, 2]}, {"depth": 1}, ValueError, "defaults: 'depth' is not one of"),
        ({"units": [1, 2]}, {"units": 3}, ValueError,
         r"defaults\['units'\]: expected one of \[1, 2\], got 3"),
    ],
)
def test_bad_controls_are_named(controls, defaults, error, match):
    with pytest.raises(error, match=match):
        widgets.interactive_figure(lambda **kw: None, controls, defaults=defaults)
