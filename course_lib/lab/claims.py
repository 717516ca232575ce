"""What a notebook says about its experiments, checked on the numbers the run measured.

No measured number is typed into a notebook's prose. A cell that concludes something
either states it as a :func:`claim`, which prints whether it held, with the numbers
that decide it, or writes its "What we saw" text with :func:`say`, which puts the run's
own values into the Markdown::

    seed = experiment_seed()                  # 0, or the seed `course claims` runs with
    ...
    claim("batch norm tolerates a 10x larger learning rate", bn_acc > 0.9 > plain_acc,
          bn_accuracy=bn_acc, plain_accuracy=plain_acc)
    say("Without normalization the best accuracy was {plain:.1%}; with it {bn:.1%}.",
        plain=plain_acc, bn=bn_acc)

``course claims`` runs the notebooks on several seeds and tabulates which claims held
(:mod:`course_lib.commands.claims`); each claim is also written, as one JSON line, to
the file ``$COURSE_CLAIMS_LOG`` names. Claims about full-size runs only
(``at_full_size=True``) are reported but not judged while a notebook runs at grading
size (``NBGRADER_EXECUTION`` set: fewer epochs, less data).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from course_lib.lab.device import grading

#: Environment variable with the seed every experiment cell starts from.
SEED_ENV = "COURSE_SEED"
#: Environment variable naming the file claims are appended to (JSON lines).
LOG_ENV = "COURSE_CLAIMS_LOG"


def experiment_seed(default: int = 0) -> int:
    """The seed an experiment cell starts from: ``$COURSE_SEED`` if set, else ``default``.

    Cells seed their own data order and weights from it (never a generator another
    cell created), so a cell prints the same numbers however often and in whatever
    order cells run.
    """
    value = os.environ.get(SEED_ENV, "").strip()
    if not value:
        return default
    try:
        seed = int(value)
    except ValueError:
        raise ValueError(f"{SEED_ENV}: expected an int >= 0, got {value!r}") from None
    if seed < 0:
        raise ValueError(f"{SEED_ENV}: expected an int >= 0, got {seed}")
    return seed


def _shown(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it (NumPy and torch scalars as Python numbers)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


@dataclass
class Claim:
    """A statement about the run, whether it held (None: not judged here), and the
    numbers it was judged on."""

    text: str
    held: bool | None
    measured: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        mark = {True: "✔ holds", False: "✘ DOES NOT HOLD in this run",
                None: "· not judged at grading size"}[self.held]
        numbers = ", ".join(f"{k} = {_shown(v)}" for k, v in self.measured.items())
        return f"{mark}: {self.text}" + (f"  ({numbers})" if numbers else "")


def claim(text: str, holds: bool, *, at_full_size: bool = False, **measured: Any) -> Claim:
    """State ``text`` about this run, judged by ``holds``; print the verdict and the
    measured values it rests on.

    Args:
        text: the statement, in the notebook's words, without numbers from the run.
        holds: whether the run bears it out (a condition on the measured values).
        at_full_size: the statement is about full-size runs; at grading size it is
            printed but not judged.
        **measured: the numbers it was judged on, printed beside it.

    Returns:
        The :class:`Claim`.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text: expected the claim as a non-empty str, got {text!r}")
    held = None if at_full_size and grading() else bool(holds)
    result = Claim(text, held, {k: _plain(v) for k, v in measured.items()})
    print(result.line())
    log = os.environ.get(LOG_ENV)
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"text": text, "held": held, "measured": result.measured,
                                     "seed": experiment_seed()}) + "\n")
    return result


def say(markdown: str, **values: Any) -> str:
    """Show ``markdown`` with the run's ``values`` filled in (``str.format`` fields).

    In a Jupyter kernel it renders as Markdown; elsewhere it is printed. Returns the text.
    """
    try:
        text = markdown.format(**values)
    except (KeyError, IndexError) as error:
        raise ValueError(f"say: the text names {error} but no such value was given "
                         f"(given: {', '.join(values) or 'none'})") from None
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        print(text)
        return text
    # Only a kernel renders Markdown; a terminal IPython would show the object's repr.
    shell = get_ipython()
    if getattr(shell, "kernel", None) is None:
        print(text)
    else:
        display(Markdown(text))
    return text
