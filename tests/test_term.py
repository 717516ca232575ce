"""The instructor's term end to end, on a small class of the tiny course: a Canvas export
collected, a due date and an extension set, the class graded, scores exported for Canvas
and Moodle, the class report written; and the guard rails around ``course grade``."""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import zipfile
from pathlib import Path

import grading_fixture as fixture
import nbformat
import pytest

from course_lib.cli import main
from course_lib.grading import gradebook
from course_lib.grading.course import repo_root
from course_lib.grading.lms.canvas import name_key
from course_lib.grading.samples import answered_notebook, apply_edits

SLUG = fixture.SLUG
NB = f"{SLUG}.ipynb"
# (login, last, first, canvas id)
PEOPLE = [("ada", "Lovelace", "Ada", "1001"), ("alan", "Turing", "Alan", "1002"),
          ("grace", "Hopper", "Grace", "1003"), ("zoe", "Çelik", "Zoë", "1004"),
          ("jose", "Núñez", "José", "1005"), ("lukasz", "Żółw", "Łukasz", "1006"),
          ("soren", "Kierkegaard", "Søren", "1007"), ("mei", "Li", "Mei", "1008"),
          ("wei", "Wang", "Wei", "1009")]

LONG_DOUBLE = '''\
def double(x):
    """Twice x, element by element, in x's dtype."""
    result = np.empty_like(x)
    flat_in, flat_out = x.reshape(-1), result.reshape(-1)
    for index in range(flat_in.size):
        value = flat_in[index]
        flat_out[index] = value + value
    return result
'''
RENAMED_DOUBLE = LONG_DOUBLE.replace("result", "out").replace("flat_in", "src").replace(
    "flat_out", "dst").replace("index", "i").replace("value", "v").replace(
    '"""Twice x, element by element, in x\'s dtype."""', "# my own loop")


def _canvas_name(login: str, filename: str, attachment: int, late: bool = False) -> str:
    _, last, first, cid = next(p for p in PEOPLE if p[0] == login)
    return f"{name_key(f'{last}, {first}')}_{'LATE_' if late else ''}{cid}_{attachment}_{filename}"


def _notebook(root: Path, edits: list[dict]) -> bytes:
    released = nbformat.read(root / "notebooks" / SLUG / NB, as_version=4)
    return nbformat.writes(apply_edits(answered_notebook(root, SLUG), released, edits)).encode()


def _class_zip(root: Path, path: Path) -> Path:
    square_bug = [{"replace": "square", "source": "def square(x):\n    return np.abs(x) * 2"}]
    other = (repo_root() / "notebooks" / "01_why_nonlinearity" /
             "01_why_nonlinearity.ipynb").read_bytes()
    files = {
        _canvas_name("ada", NB, 501): _notebook(root, []),
        _canvas_name("alan", NB, 502, late=True): _notebook(root, []),
        _canvas_name("grace", NB, 503): _notebook(root, []),
        _canvas_name("grace", f"{SLUG}-1.ipynb", 540): _notebook(root, square_bug),
        _canvas_name("zoe", NB, 504): _notebook(root, square_bug),
        _canvas_name("jose", NB, 506): other,  # another assignment's notebook
        _canvas_name("lukasz", NB, 507, late=True): _notebook(
            root, [{"replace": "double", "source": LONG_DOUBLE}]),
        _canvas_name("soren", NB, 508): _notebook(
            root, [{"replace": "double", "source": RENAMED_DOUBLE}]),
        _canvas_name("mei", NB, 509): _notebook(
            root, [{"prepend": "square", "source": "import os\nos._exit(1)\n"}]),
        _canvas_name("wei", NB, 510): _notebook(
            root, [{"prepend": "double", "source": "while True:\n    pass\n"}]),
        "smithbob_2001_511_" + NB: _notebook(root, []),  # not on the roster
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _roster(path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", SLUG])
        writer.writerow(["    Points Possible", "", "", "", "", "3"])
        for login, last, first, cid in PEOPLE:
            writer.writerow([f"{last}, {first}", cid, f"S{cid}", login, "A", ""])
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _ta_grades(root: Path, student: str, score: float) -> None:
    with gradebook.opened(gradebook.db_url(root), gradebook.course_id(root)) as gb:
        grade = gb.find_grade(fixture.WRITTEN, SLUG, SLUG, student)
        grade.manual_score = score
        grade.needs_manual_grade = False  # as Formgrader's grade handler does
        gb.db.commit()


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    """A class of nine taken through the term; what each step printed."""
    work = tmp_path_factory.mktemp("term")
    root = fixture.make_course(work / "course", timeout=10, written=True)
    with open(root / "nbgrader_config.py", "a", encoding="utf-8") as handle:
        handle.write('c.AssignLatePenalties.plugin_class = '
                     '"course_lib.grading.late_policy.PercentPerDayLate"\n'
                     "c.PercentPerDayLate.penalty_per_day = 10\n")
    printed, codes = {}, {}

    def run(name: str, *argv: str) -> None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            codes[name] = main([*argv, "--course-dir", str(root)])
        printed[name] = out.getvalue()

    run("deadline", "deadline", SLUG, "2024-02-01 17:00", "--timezone", "UTC")
    archive = _class_zip(root, work / "submissions.zip")
    run("collect", "collect", SLUG, str(archive), "--lms", "canvas",
        "--roster", str(_roster(work / "roster.csv")))
    run("extend", "extend", "alan", SLUG, "2d")
    run("grade", "grade", SLUG, "--no-progress", "--jobs", "2")
    _ta_grades(root, "ada", 1.0)  # as a TA does in Formgrader; the others wait
    run("canvas", "export", SLUG, "--lms", "canvas", "--out", str(work / "canvas.csv"),
        "--column", "Tiny (77)")
    run("moodle", "export", SLUG, "--lms", "moodle", "--out", str(work / "moodle.csv"))
    run("report", "report", SLUG, "--out", str(work / "report"))
    return root, work, printed, codes


@pytest.mark.slow
def test_collect_lays_out_the_class_and_says_what_did_not_fit(term):
    root, _, printed, codes = term
    assert codes["deadline"] == 0 and "due 2024-02-01 17:00 UTC" in printed["deadline"]
    assert codes["collect"] == 1  # a file of a student not on the roster
    assert "1 files unmatched" in printed["collect"] and "smithbob" in printed["collect"]
    submitted = sorted(p.name for p in (root / "submitted").iterdir())
    assert submitted == sorted(p[0] for p in PEOPLE)
    # Grace's newest upload (renamed -1 by Canvas) is the one collected.
    grace = nbformat.read(root / "submitted" / "grace" / SLUG / NB, as_version=4)
    assert any("np.abs(x) * 2" in cell.source for cell in grace.cells)


@pytest.mark.slow
def test_the_summary_marks_late_extended_wrong_crashed_and_looping_work(term):
    root, _, printed, codes = term
    assert codes["grade"] == 0
    table = {line.split()[0]: line for line in printed["grade"].splitlines()
             if line.split() and line.split()[0] in {p[0] for p in PEOPLE}
             and SLUG in line}
    assert "extended 2 d" in table["alan"] and "late" not in table["alan"]
    assert "1 point awaits a TA (written answers)" in table["ada"]  # graded by hand later
    assert "late under a minute (-0.4 points)" in table["lukasz"]  # 10 % of 4 points
    assert "is not a notebook of 00_tiny" in table["jose"]
    assert "the kernel died" in table["mei"]
    assert "double: interrupted after the per-cell limit of 10 s" in table["wei"]
    scores = gradebook.scores(root, SLUG)
    assert scores["ada"] == {"test_double": 1.0, "test_square": 2.0, fixture.WRITTEN: 1.0}
    # only its own cell; the written answer waits for a TA
    assert scores["wei"] == {"test_double": 0.0, "test_square": 2.0, fixture.WRITTEN: 0.0}
    assert scores["grace"]["test_square"] == 0.0
    for student, cause in (("jose", "is not a notebook of 00_tiny"),
                           ("mei", "the kernel died")):
        page = root / "feedback" / student / SLUG / f"{SLUG}.html"
        text = page.read_text(encoding="utf-8")
        assert cause in text and str(root / "submitted" / student / SLUG) in text
        assert "course-grade-" not in text  # no temporary folder that no longer exists
    log = (root / "grade_logs" / SLUG / "ada.log").read_text(encoding="utf-8")
    assert "checksum" not in log and "test cells restored from the course's source" in log
    detailed = (root / "feedback" / "zoe" / SLUG / f"{SLUG}.html").read_text(encoding="utf-8")
    assert "this is a known mistake: square returns 2|x|" in detailed


@pytest.mark.slow
def test_grades_and_exports_carry_names_ids_and_penalties(term):
    root, work, printed, codes = term
    rows = {row["student_id"]: row for row in _read(root / "grades.csv")}
    assert rows["zoe"]["first_name"] == "Zoë" and rows["zoe"]["last_name"] == "Çelik"
    assert {row["assignment"] for row in rows.values()} == {SLUG}
    assert codes["canvas"] == 0 and "Canvas: Grades > Import" in printed["canvas"]
    canvas = {row["SIS Login ID"]: row for row in _read(work / "canvas.csv")
              if row["Student"].strip() != "Points Possible"}
    assert canvas["lukasz"]["ID"] == "1006" and float(canvas["lukasz"]["Tiny (77)"]) == 2.6
    assert float(canvas["ada"]["Tiny (77)"]) == 4.0  # 3 automatic + 1 from the TA
    assert float(canvas["zoe"]["Tiny (77)"]) == 1.0  # the TA has not graded hers yet
    assert codes["moodle"] == 0 and len(_read(work / "moodle.csv")) == len(PEOPLE)


@pytest.mark.slow
def test_the_class_report_names_mistakes_problems_and_similar_pairs(term):
    _, work, printed, codes = term
    assert codes["report"] == 0
    page = (work / "report" / f"{SLUG}-report.html").read_text(encoding="utf-8")
    assert "square returns 2|x|" in page and "grace, zoe" in page
    assert "lukasz and soren" in page
    for note in ("is not a notebook of 00_tiny", "the kernel died", "extended 2 d"):
        assert note in page
    assert page.count("data:image/png;base64,") == 1
    assert f"zoe</td><td>awaiting a TA: {fixture.WRITTEN}" in page
    assert "ada</td><td>awaiting a TA" not in page  # graded by the TA
    table = {row["student"]: row for row in _read(work / "report" / f"{SLUG}-report.csv")}
    assert table["zoe"]["mistakes"] == "test_square: square returns 2|x|"
    assert "similar pairs" in printed["report"]


@pytest.mark.slow
def test_grading_refuses_tests_edited_after_the_release(tmp_path, capsys):
    root = fixture.make_course(tmp_path / "course")
    shutil.copytree(tmp_path / "course" / "notebooks" / SLUG,
                    root / "submitted" / "ada" / SLUG)
    path = root / "solutions" / SLUG / NB
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_double":
            cell.source = cell.source.replace("seed=11", "seed=99")
    nbformat.write(notebook, path)
    assert main(["grade", "--course-dir", str(root), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "test_double changed in the source after the last `course release`" in err
    assert f"run `course release {SLUG}`" in err
    assert main(["release", SLUG, "--course-dir", str(root)]) == 0
    assert main(["grade", "--course-dir", str(root), "--no-progress"]) == 0


def test_a_short_timeout_is_warned_about(tmp_path, capsys, monkeypatch):
    from course_lib.grading import grade as grade_module

    root = fixture.make_course(tmp_path / "course", timeout=120)
    monkeypatch.setattr(grade_module, "grade", lambda *a, **k: grade_module.BatchReport(
        [], root / "grades.csv", 0.0, []))
    main(["grade", "--course-dir", str(root), "--no-progress", "--timeout", "60"])
    assert "less than twice the per-cell limit (Execute.timeout = 120 s)" in \
        capsys.readouterr().err


@pytest.mark.parametrize(("text", "message"), [
    ("tomorrow", "expected ISO 8601"), ("2026-13-01", "expected ISO 8601")])
def test_a_bad_deadline_is_a_one_line_error(tmp_path, capsys, text, message):
    root = fixture.make_course(tmp_path / "course")
    assert main(["deadline", SLUG, text, "--course-dir", str(root)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(("text", "seconds"), [("2d", 172800), ("1d12h", 129600),
                                               ("90m", 5400), ("1w", 604800)])
def test_durations(text, seconds):
    from course_lib.grading.deadlines import parse_duration

    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["2", "2 days", "-1d", "0h", "d"])
def test_bad_durations_say_what_is_expected(text):
    from course_lib.errors import CourseError
    from course_lib.grading.deadlines import parse_duration

    with pytest.raises(CourseError, match="DURATION: expected"):
        parse_duration(text)


def test_an_export_before_grading_or_for_an_unknown_lms_is_refused(tmp_path):
    root = fixture.make_course(tmp_path / "course")
    with pytest.raises(SystemExit):
        main(["export", SLUG, "--lms", "sakai", "--out", str(tmp_path / "x.csv")])
    assert main(["export", SLUG, "--lms", "canvas", "--out", str(tmp_path / "x.csv"),
                 "--course-dir", str(root)]) == 2  # nothing graded yet


@pytest.mark.slow
def test_the_report_page_renders_in_a_browser(term, capsys):
    """Chromium shows the report with its plot (a screenshot for the record)."""
    import os

    import browser

    _, work, _, _ = term
    if browser.chromium_path() is None:
        if os.environ.get("COURSE_REQUIRE_BROWSER"):
            pytest.fail(browser.MISSING_CHROMIUM)
        pytest.skip(browser.MISSING_CHROMIUM)
    page_file = work / "report" / f"{SLUG}-report.html"
    with browser.browser_page(work / "screenshots") as page:
        page.goto(page_file.as_uri())
        page.wait_for_selector("img")
        assert page.evaluate("document.querySelector('img').naturalWidth") > 200
        assert "lukasz and soren" in page.inner_text("body")
        page.set_viewport_size({"width": 1280, "height": 2000})
        shot = browser.screenshot(page, "class-report")
    with capsys.disabled():
        print(f"\nclass report screenshot: {shot}")
