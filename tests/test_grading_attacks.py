"""Hostile submissions against ``course grade``, each graded among honest ones.

Every attack below worked against the first round's grader (forged verdicts, files read
and written beside the kernel, signals to the grader, a host out of memory) or is a
classic (network, fork bomb, a process that outlives its notebook). Each is a
submission of the tiny course that leaves both exercises unanswered and tries to get
points or to harm the run anyway. The test grades the honest students alone, then again
with every attack among them, and requires:

* each attack scores no more than a blank submission (0 of 3);
* every honest student's scores, feedback, submitted files and gradebook rows are exactly
  those of the run without attacks;
* no process of the run is left (checked by PID);
* a second run (resume) changes nothing;
* what each attack saw from inside (printed into its notebook) shows the sandbox held.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import textwrap
import threading
import uuid
from pathlib import Path

import grading_fixture as fixture
import nbformat
import pytest

from course_lib.grading import gradebook, sandbox
from course_lib.grading.grade import grade
from course_lib.grading.samples import Sample, materialise

pytestmark = pytest.mark.slow

HONEST = ("correct", "bug_square_abs")
MARKER = f"attack-{uuid.uuid4().hex[:8]}"  # names this run's attack processes


def _stubbed(source: str, *, after: bool = False) -> list[dict]:
    """Edits: both exercises unanswered (as released), ``source`` in double's cell, before
    the stub, or ``after`` it (to replace it with a wrong ``double``)."""
    place = "append" if after else "prepend"
    return [{"stub": "double"}, {"stub": "square"},
            {place: "double", "source": textwrap.dedent(source)}]


def _report(name: str, expression: str) -> str:
    """One line printing what an attack saw (one line: the source is dedented after)."""
    return f"print('ATTACK {name}', __import__('json').dumps({expression}))"


ATTACKS = {
    # -- forged verdicts from inside the kernel ------------------------------------
    "forge_exception_hooks": _stubbed("""\
        import sys
        ip = get_ipython()
        ip.set_custom_exc((BaseException,), lambda *args, **kwargs: None)
        ip.showtraceback = lambda *args, **kwargs: None
        sys.excepthook = lambda *args: None
        """),
    "patch_numpy_and_restore": _stubbed("""\
        import numpy as np
        _allclose, _assert = np.allclose, np.testing.assert_allclose
        def double(x):  # wrong, with the comparisons made blind while it is checked
            np.allclose = lambda *args, **kwargs: True
            np.testing.assert_allclose = lambda *args, **kwargs: None
            return x
        """, after=True),
    "delegate_in_a_thread": _stubbed("""\
        import threading
        import torch
        def double(x):  # torch, from a thread the first round's profiler did not watch
            out = {}
            worker = threading.Thread(target=lambda: out.setdefault(
                "y", (torch.from_numpy(x) * 2).numpy()))
            worker.start()
            worker.join()
            return out["y"]
        """, after=True),
    "forge_the_recorder": _stubbed("""\
        import numpy as np
        def double(x):  # tries to make the grader's calls report success
            import course_lib.checks.core as core
            core._changed = lambda before, after: False
            core.within_tolerance = lambda *args, **kwargs: True
            return np.zeros_like(x)
        """, after=True),
    # -- reading and writing what is beside the kernel -----------------------------
    "read_secrets": _stubbed(f"""\
        import os, sys
        found = []
        for top in ("/tmp", "/root", "/home", "/work", "/srv", "/var"):
            for folder, dirs, files in os.walk(top):
                if folder.startswith((sys.prefix, os.getcwd())):  # its own, and Python's
                    continue
                for name in files:
                    if (name in ("gradebook.db", "template.db", "nbgrader_config.py",
                                 "grades.csv") or name.endswith(".json") and "job" in name
                            or name.endswith(".ipynb") and "BEGIN SOLUTION" in open(
                                os.path.join(folder, name), errors="ignore").read()):
                        found.append(os.path.join(folder, name))
        secrets = [k for k in os.environ if any(s in k for s in ("PG", "DATABASE", "TOKEN"))]
        import course_lib
        has_reference = os.path.isdir(os.path.join(os.path.dirname(course_lib.__file__),
                                                   "reference"))
        {_report("read_secrets", '{"found": found, "env": secrets, "reference": has_reference}')}
        """),
    "write_outside": _stubbed(f"""\
        import os, course_lib
        package = os.path.dirname(course_lib.__file__)
        work = os.path.dirname(os.path.dirname(os.path.dirname(os.getcwd())))
        targets = [os.path.join(package, "__pycache__", "evil.cpython-311.pyc"),
                   os.path.join(package, "checks", "core.py"),
                   *(os.path.join(work, name) for name in ("nbgrader_config.py", "gradebook.db",
                                                           "grades.csv", "template.db")),
                   os.path.join(work, "submitted", "correct", "00_tiny", "00_tiny.ipynb"),
                   "/tmp/{MARKER}"]
        results = {{}}
        for target in targets:
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "a") as handle:
                    handle.write("# written by an attack\\n")
                results[target] = "written"
            except OSError as error:
                results[target] = type(error).__name__
        {_report("write_outside", "results")}
        """),
    # -- hurting the run -----------------------------------------------------------
    "signal_everything": _stubbed(f"""\
        import os, signal
        visible = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        for pid in visible:
            if pid != os.getpid():
                for signum in (signal.SIGSTOP, signal.SIGKILL):
                    try:
                        os.kill(pid, signum)
                    except OSError:
                        pass
        {_report("signal_everything", '{"visible": visible, "ppid": os.getppid()}')}
        """),
    "outlive_the_notebook": _stubbed(f"""\
        import os, subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)  # {MARKER}"],
                         start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c",
                                          "import time; time.sleep(900)  # {MARKER}"])
            os._exit(0)
        """),
    "allocate_30_gb": _stubbed(f"""\
        import numpy as np
        try:
            block = np.ones(30 * 2**30, dtype=np.uint8)
            outcome = "allocated"
        except MemoryError:
            outcome = "MemoryError"
        {_report("allocate_30_gb", "outcome")}
        """),
    "reach_the_network": _stubbed(f"""\
        import socket
        def reach(address):
            try:
                socket.create_connection(address, timeout=3).close()
                return "connected"
            except OSError as error:
                return type(error).__name__
        tcp = reach(("127.0.0.1", PORT))
        try:
            socket.getaddrinfo("pypi.org", 443)
            dns = "resolved"
        except OSError as error:
            dns = type(error).__name__
        {_report("reach_the_network", '{"tcp": tcp, "dns": dns}')}
        """),
    "fork_bomb": _stubbed(f"""\
        import os, time
        children = []
        try:
            for _ in range(5000):
                pid = os.fork()
                if pid == 0:
                    time.sleep(60)
                    os._exit(0)
                children.append(pid)
        except OSError:
            pass
        for pid in children:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        {_report("fork_bomb", "len(children)")}
        """),
}


def _attack_samples(port: int) -> list[Sample]:
    return [Sample(name, f"attack: {name}",
                   [{**e, "source": e["source"].replace("PORT", str(port))} if "source" in e
                    else e for e in edits], ["test_double", "test_square"])
            for name, edits in ATTACKS.items()]


def _honest_samples(root: Path) -> list[Sample]:
    from course_lib.grading.samples import samples_for

    return [s for s in samples_for(root, fixture.SLUG, fixture.SAMPLES) if s.student in HONEST]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "absent"


def _rows(root: Path, students) -> list[tuple]:
    """The gradebook rows of ``students``: every grade, comment and late penalty."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(gradebook.sqlite_url(root / "gradebook.db")) as book:
        for student in students:
            for notebook in book.find_submission(fixture.SLUG, student).notebooks:
                rows.append((student, notebook.name, notebook.late_submission_penalty))
                rows += [(student, g.name, g.auto_score, g.manual_score, g.extra_credit,
                          g.needs_manual_grade) for g in notebook.grades]
                rows += [(student, c.name, c.auto_comment, c.manual_comment)
                         for c in notebook.comments]
    return sorted(rows, key=repr)


def _honest_state(root: Path) -> dict:
    """What an attack must not change: honest students' scores, feedback, files, rows."""
    state = {"rows": _rows(root, HONEST)}
    for student in HONEST:
        state[f"{student} submitted"] = _digest(
            root / "submitted" / student / fixture.SLUG / f"{fixture.SLUG}.ipynb")
        feedback = root / "feedback" / student / fixture.SLUG / f"{fixture.SLUG}.html"
        # the page carries a timestamp: compare it without
        html = feedback.read_text(encoding="utf-8")
        state[f"{student} feedback"] = hashlib.sha256(
            "\n".join(line for line in html.splitlines() if "timestamp" not in line.lower())
            .encode()).hexdigest()
    return state


def _processes() -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(
                    b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
    return found


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])  # the name in brackets may hold spaces


def _started_by_this_test(pid: int, before: dict[int, str]) -> bool:
    """Whether ``pid`` descends from this test rather than from a test running beside it.

    Under pytest-xdist another worker may be grading at the same moment. Its processes
    descend from that worker, which was alive before this test began and is not one of
    ours; an orphan of this test's run is re-parented to an ancestor we share (init).
    """
    ours = {os.getpid()}
    ancestor = os.getppid()
    while ancestor > 0:
        ours.add(ancestor)
        ancestor = _parent(ancestor)
    while pid > 0 and pid not in before:
        pid = _parent(pid)
    return pid in ours  # 0: it has ended since, so it is not left over


def _attack_reports(root: Path, student: str) -> dict:
    notebook = nbformat.read(root / "autograded" / student / fixture.SLUG /
                             f"{fixture.SLUG}.ipynb", as_version=4)
    reports = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith("ATTACK "):
                    _, name, payload = line.split(" ", 2)
                    reports[name] = json.loads(payload)
    return reports


@pytest.fixture(scope="module")
def listener():
    """A TCP server on the host's loopback that no submission may reach."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


@pytest.mark.skipif(sandbox.available() is not None and not os.environ.get(
    "COURSE_REQUIRE_SANDBOX"), reason=f"cannot sandbox here: {sandbox.available()}")
def test_no_attack_scores_or_harms_anyone(tmp_path, listener):
    port, accepted = listener
    before = _processes()
    baseline = fixture.make_course(tmp_path / "baseline", timeout=30)
    honest = _honest_samples(baseline)
    materialise(baseline, fixture.SLUG, honest, baseline)
    attacked = tmp_path / "attacked"
    shutil.copytree(baseline, attacked)
    grade(baseline, jobs=2, timeout=300, progress=False)

    attacks = _attack_samples(port)
    materialise(attacked, fixture.SLUG, attacks, attacked)
    first = grade(attacked, jobs=2, timeout=300, progress=False)
    scores = gradebook.scores(attacked, fixture.SLUG)
    blank = {"test_double": 0.0, "test_square": 0.0}
    assert {s.student: scores[s.student] for s in attacks} == {
        s.student: blank for s in attacks}, [o.error for o in first.outcomes]
    assert _honest_state(attacked) == _honest_state(baseline)
    assert not any(o.retry for o in first.outcomes)

    reports = {name: report for s in attacks
               for name, report in _attack_reports(attacked, s.student).items()}
    assert reports["read_secrets"] == {"found": [], "env": [], "reference": False}
    written = [t for t, outcome in reports["write_outside"].items() if outcome == "written"]
    assert written == [f"/tmp/{MARKER}"]  # its private /tmp only
    assert not Path(f"/tmp/{MARKER}").exists()
    assert reports["signal_everything"] == {"visible": [1], "ppid": 0}
    assert reports["allocate_30_gb"] == "MemoryError"
    assert reports["reach_the_network"]["tcp"] != "connected" and not accepted
    assert reports["reach_the_network"]["dns"] != "resolved"
    assert 50 < reports["fork_bomb"] < 300

    left = {pid: cmd for pid, cmd in _processes().items() if pid not in before and (
        MARKER in cmd or "ipykernel" in cmd or "course_lib.checks.recorder" in cmd
        or "course_lib.grading" in cmd) and _started_by_this_test(pid, before)}
    assert left == {}

    again = grade(attacked, jobs=2, timeout=300, progress=False)
    assert all(o.resumed for o in again.outcomes)
    assert gradebook.scores(attacked, fixture.SLUG) == scores
    assert _honest_state(attacked) == _honest_state(baseline)
