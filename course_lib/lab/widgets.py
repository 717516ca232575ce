"""Interactive figures that degrade to a static figure where widgets cannot render.

:func:`interactive_figure` draws a figure for the default settings and, in a live
Jupyter kernel with ipywidgets, puts controls above it that redraw it. The output
carries both the widget and a PNG of the default figure, so a viewer without a
widget manager (nbconvert's HTML, GitHub, a notebook opened after its kernel
died) shows the PNG instead of an error. While nbgrader runs the notebook
(``NBGRADER_EXECUTION`` set) no widget is made at all: only the static figure.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from course_lib._validate import describe
from course_lib.lab.device import grading

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _png(fig: Any) -> str:
    """The figure as a base64 PNG, the form a notebook's image/png output takes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _validated(controls: object, defaults: object) -> tuple[dict[str, list], dict[str, Any]]:
    if not isinstance(controls, Mapping) or not controls:
        raise TypeError(f"controls: expected a dict of name -> list of choices, got "
                        f"{describe(controls)}")
    choices = {}
    for name, options in controls.items():
        if isinstance(options, str) or not isinstance(options, Sequence) or not options:
            raise TypeError(f"controls[{name!r}]: expected a non-empty list of choices, got "
                            f"{describe(options)}")
        choices[name] = list(options)
    chosen = {name: options[0] for name, options in choices.items()}
    if defaults is not None:
        if not isinstance(defaults, Mapping):
            raise TypeError(f"defaults: expected a dict or None, got {describe(defaults)}")
        for name, value in defaults.items():
            if name not in choices:
                raise ValueError(f"defaults: {name!r} is not one of the controls "
                                 f"{sorted(choices)}")
            if value not in choices[name]:
                raise ValueError(f"defaults[{name!r}]: expected one of {choices[name]}, got "
                                 f"{value!r}")
            chosen[name] = value
    return choices, chosen


def _control(name: str, options: list, value: Any) -> Any:
    """A dropdown for words, a selection slider for numbers."""
    import ipywidgets as widgets

    label = name.replace("_", " ")
    style = {"description_width": "initial"}
    if all(isinstance(option, (int, float)) for option in options):
        return widgets.SelectionSlider(options=options, value=value, description=label,
                                       continuous_update=False, style=style)
    return widgets.Dropdown(options=options, value=value, description=label, style=style)


def _widgets_available() -> bool:
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def interactive_figure(
    draw: Callable[..., Any],
    controls: Mapping[str, Sequence[Any]],
    *,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Show ``draw(**settings)`` with a control per setting, or statically where that fails.

    Args:
        draw: makes and returns a ``matplotlib`` figure for one setting of every
            control, e.g. ``draw(hidden_units=8, activation="relu")``.
        controls: setting name -> the choices offered (numbers get a slider,
            anything else a dropdown); the first choice is the default.
        defaults: optional setting name -> default choice, overriding the first.

    Under nbgrader, or without ipywidgets and a live kernel, only the default
    figure is shown, with a line saying so.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    if not callable(draw):
        raise TypeError(f"draw: expected a function returning a figure, got {describe(draw)}")
    choices, chosen = _validated(controls, defaults)
    fig = draw(**chosen)
    if grading() or not _widgets_available():
        display(fig)
        plt.close(fig)
        settings = ", ".join(f"{k} = {v}" for k, v in chosen.items())
        print(f"Static figure for {settings}. In JupyterLab, controls appear here to change "
              "the settings.")
        return

    import ipywidgets as widgets

    png = _png(fig)
    output = widgets.Output()
    output.append_display_data(fig)
    plt.close(fig)
    boxes = {name: _control(name, options, chosen[name]) for name, options in choices.items()}

    def redraw(_change: object = None) -> None:
        with output:
            output.clear_output(wait=True)
            new = draw(**{name: box.value for name, box in boxes.items()})
            display(new)
            plt.close(new)

    for box in boxes.values():
        box.observe(redraw, names="value")
    panel = widgets.VBox([widgets.HBox(list(boxes.values())), output])
    display({
        WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": panel.model_id},
        "image/png": png,
        "text/plain": "Interactive figure (controls need a live Jupyter kernel with ipywidgets)",
    }, raw=True)
