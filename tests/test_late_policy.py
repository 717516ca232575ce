"""PercentPerDayLate: the arithmetic, its traits, and nbgrader loading it from a config file
and applying it to a real gradebook, as autograde does."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.preprocessors import AssignLatePenalties
from traitlets import TraitError
from traitlets.config import Configurable
from traitlets.config.loader import PyFileConfigLoader

from course_lib.grading.late_policy import LatePolicyError, PercentPerDayLate, days_late

HOUR = 3600
DAY = 24 * HOUR
DUE = datetime(2024, 2, 1, 17, 0)


@pytest.mark.parametrize(("seconds", "days"), [
    (0, 0), (-5, 0), (1, 1), (DAY - 1, 1), (DAY, 1), (DAY + 1, 2), (10 * DAY, 10),
])
def test_days_late_counts_started_days(seconds, days):
    assert days_late(seconds) == days


@pytest.mark.parametrize(("seconds", "score", "expected"), [
    (0, 8.0, 0.0),                 # on time
    (1, 8.0, 1.0),                 # one second late: a started day, 10% of 10 points
    (DAY + HOUR, 8.0, 2.0),        # two started days
    (4 * DAY, 8.0, 4.0),
    (9 * DAY, 8.0, 5.0),           # capped at 50% of the max score
    (30 * DAY, 10.0, 5.0),         # the cap holds however late
    (3 * DAY, 2.0, 2.0),           # never more than the score: the score stays at 0, not -1
    (3 * DAY, 0.0, 0.0),
])
def test_penalty_is_percent_of_max_score_per_started_day_capped(seconds, score, expected):
    plugin = PercentPerDayLate(penalty_per_day=10, max_penalty=50)
    penalty = plugin.penalty_for(score, 10.0, seconds)
    assert penalty == pytest.approx(expected)
    assert score - penalty >= 0


def test_defaults_are_ten_percent_a_day_up_to_half():
    plugin = PercentPerDayLate()
    assert (plugin.penalty_per_day, plugin.max_penalty) == (10.0, 50.0)
    assert plugin.penalty_for(20.0, 20.0, 2 * DAY) == pytest.approx(4.0)


@pytest.mark.parametrize(("trait", "value"), [
    ("penalty_per_day", -1.0), ("max_penalty", 150.0), ("penalty_per_day", float("nan")),
])
def test_traits_refuse_values_that_are_not_percentages(trait, value):
    with pytest.raises(TraitError, match=rf"PercentPerDayLate\.{trait}: expected a percentage "
                                         rf"from 0 to 100, got {value!r}"):
        PercentPerDayLate(**{trait: value})


class NotebookAtHand(Configurable):
    """Stands in for AssignLatePenalties: what the plugin reads from its parent."""

    def __init__(self, max_score: float, **kwargs):
        super().__init__(**kwargs)
        self.notebook_id, self.assignment_id = "lab", "ps1"
        notebook = SimpleNamespace(max_score=max_score)
        self.gradebook = SimpleNamespace(find_submission_notebook=lambda nb, a, s: notebook)


def test_late_submission_penalty_called_directly():
    plugin = PercentPerDayLate(parent=NotebookAtHand(max_score=20.0), penalty_per_day=15)
    assert plugin.late_submission_penalty("s1", 18.0, 2 * DAY + 1) == pytest.approx(9.0)
    assert plugin.late_submission_penalty("s1", 18.0, 0) == 0.0


def test_late_submission_penalty_without_a_gradebook_says_what_to_do():
    with pytest.raises(LatePolicyError, match=r"expected to run inside nbgrader's "
                                              r"AssignLatePenalties .* call penalty_for"):
        PercentPerDayLate().late_submission_penalty("s1", 5.0, DAY)


# -- through nbgrader ------------------------------------------------------------------


CONFIG = """\
c = get_config()
c.AssignLatePenalties.plugin_class = "course_lib.grading.late_policy.PercentPerDayLate"
c.PercentPerDayLate.penalty_per_day = 10
c.PercentPerDayLate.max_penalty = 30
"""


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("config")
    (folder / "nbgrader_config.py").write_text(CONFIG)
    return PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()


@pytest.fixture(scope="module")
def gradebook_url(tmp_path_factory):
    """A gradebook with one 10-point notebook (6 + 4) and five graded submissions.

    Shared by the tests (making it takes seconds): each one penalises its own student.
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('late') / 'gradebook.db'}"
    submissions = {  # student: (seconds after the due date, points on q1, points on q2)
        "ontime": (-HOUR, 6, 4), "day1": (HOUR, 6, 3), "day3": (2 * DAY + 1, 5, 4),
        "weeks": (20 * DAY, 6, 4), "weak": (5 * DAY, 1, 0.5),
    }
    with Gradebook(url) as gb:
        gb.add_assignment("ps1", duedate=DUE)
        gb.add_notebook("lab", "ps1")
        gb.add_grade_cell("q1", "lab", "ps1", max_score=6, cell_type="code")
        gb.add_grade_cell("q2", "lab", "ps1", max_score=4, cell_type="code")
        for student, (offset, q1, q2) in submissions.items():
            gb.add_student(student)
            gb.add_submission("ps1", student, timestamp=DUE + timedelta(seconds=offset))
            gb.find_grade("q1", "lab", "ps1", student).auto_score = q1
            gb.find_grade("q2", "lab", "ps1", student).auto_score = q2
        gb.db.commit()
    return url


def assign_penalties(config, url: str, student: str) -> float:
    """Run nbgrader's own preprocessor, configured from the file, on one notebook."""
    preprocessor = AssignLatePenalties(config=config)
    resources = {"nbgrader": {"notebook": "lab", "assignment": "ps1", "student": student,
                              "db_url": url}}
    preprocessor.preprocess(nbformat.v4.new_notebook(), resources)
    assert isinstance(preprocessor.plugin_inst, PercentPerDayLate)
    with Gradebook(url) as gb:
        return gb.find_submission_notebook("lab", "ps1", student).late_submission_penalty or 0.0


def test_config_file_selects_and_configures_the_plugin(config):
    preprocessor = AssignLatePenalties(config=config)
    preprocessor.init_plugin()
    plugin = preprocessor.plugin_inst
    assert type(plugin) is PercentPerDayLate
    assert (plugin.penalty_per_day, plugin.max_penalty) == (10.0, 30.0)


# nbgrader's own add_submission trips SQLAlchemy's autoflush warning; not ours to fix.
@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")
@pytest.mark.parametrize(("student", "penalty"), [
    ("ontime", 0.0),   # not late: nbgrader does not even ask the plugin
    ("day1", 1.0),     # 10% of 10 points
    ("day3", 3.0),     # 2 days and 1 second: three started days
    ("weeks", 3.0),    # capped at 30% by the config file
    ("weak", 1.5),     # 30% would be 3 points; the score is 1.5 and stays at 0, not below
])
def test_autograde_preprocessor_applies_the_configured_penalty(config, gradebook_url,
                                                               student, penalty):
    assert assign_penalties(config, gradebook_url, student) == pytest.approx(penalty)
    with Gradebook(gradebook_url) as gb:
        submission = gb.find_submission("ps1", student)
        assert submission.score - submission.late_submission_penalty >= 0
