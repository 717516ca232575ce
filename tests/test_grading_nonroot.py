"""``course grade`` run by an ordinary user, not root: the sandbox, the verdicts and the
feedback all work without privileges (root and non-root set up the sandbox differently,
see course_lib/grading/sandbox/namespaces.py).

Run as root, the test switches to uid 65534 with ``setpriv``; this machine's Python may
live under ``/root`` (``0700``), so it gets a throw-away venv of the system's Python of
the same version that sees this venv's packages and the checkout through a ``.pth``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import grading_fixture as fixture
import pytest

import course_lib
from course_lib.grading import gradebook
from course_lib.grading.samples import materialise, samples_for

NOBODY = 65534
REPO = Path(course_lib.__file__).resolve().parents[1]


def _nobodys_python(top: Path) -> Path:
    """A venv of the system's Python that ``nobody`` can run, seeing our packages."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    system = Path(f"/usr/bin/python{version}")
    if not system.is_file():
        pytest.skip(f"no system Python {version} that uid {NOBODY} may run")
    venv = top / "venv"
    subprocess.run([str(system), "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{version}" / "site-packages"
    (site / "outer.pth").write_text(f"{sysconfig.get_paths()['purelib']}\n{REPO}\n")
    # nbgrader creates gradebooks by running alembic's command from PATH
    alembic = venv / "bin" / "alembic"
    alembic.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\n"
                       "from alembic.config import main\nsys.exit(main())\n")
    alembic.chmod(0o755)
    return venv


@pytest.mark.slow
def test_an_ordinary_user_grades_in_sandboxes(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the suite itself runs as an ordinary user: every grading test is this one")
    top = Path(tempfile.mkdtemp(prefix="nonroot-grade-", dir="/tmp"))
    try:
        root = fixture.make_course(top / "course", timeout=20)
        chosen = [s for s in samples_for(root, fixture.SLUG, fixture.SAMPLES)
                  if s.student in ("correct", "bug_square_abs", "torch_double")]
        materialise(root, fixture.SLUG, chosen, root)
        venv = _nobodys_python(top)
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(top)], check=True)
        top.chmod(0o755)
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(top), "TMPDIR": str(top),
               "MPLBACKEND": "Agg", "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}
        done = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             str(venv / "bin" / "python"), "-m", "course_lib.cli", "grade", "--course-dir",
             str(root), "--no-progress", "--jobs", "1"],
            env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        assert gradebook.scores(root, fixture.SLUG) == {
            "correct": {"test_double": 1.0, "test_square": 2.0},
            "bug_square_abs": {"test_double": 1.0, "test_square": 0.0},
            "torch_double": {"test_double": 0.0, "test_square": 2.0}}
        for student in ("correct", "bug_square_abs", "torch_double"):
            assert (root / "feedback" / student / fixture.SLUG / f"{fixture.SLUG}.html"
                    ).is_file()
    finally:
        shutil.rmtree(top, ignore_errors=True)
