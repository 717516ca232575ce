"""Where a submission's code runs under ``course grade``: one sandbox per kernel, one per
batch of the grader's calls of its functions.

Both see the same things (:meth:`Isolation.shown`), read-only: the system, this Python
with its packages, the *grading edition* of course_lib (the student edition's code: no
references, no grading code, no stored answers but the references' constants) and the
MNIST cache. They never see the course directory, the grader's scratch folders (jobs,
gradebooks, other submissions), the full course_lib or the repository's solutions: a
folder of those inside a shown one (a venv inside the course, an editable install's
checkout on ``sys.path``) is covered up (:attr:`~course_lib.grading.sandbox.Spec.masked`).

A kernel's working directory is a private in-memory copy of the submission's folder; it
writes only there, into its ZeroMQ socket folder and into its hand-in folder. A
recorder (:mod:`course_lib.checks.recorder`) reads the hand-ins and the grader's
requests and writes only its answers; for a NumPy exercise, PyTorch, SciPy, JAX and
TensorFlow are covered up as well, so its calls cannot reach them.

With ``sandboxed=False`` (``course grade --no-sandbox``) the same processes run
without any of this, in the same environment variables.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import course_lib
from course_lib.checks.handin import HANDIN_ENV
from course_lib.grading import sandbox
from course_lib.grading.processes import kill_all, process_tree

#: Where a kernel's hand-in folder appears inside its sandbox.
HANDIN_INSIDE = "/course-handin"
#: Environment variables a sandbox keeps from the grader's (nothing secret: no database
#: URLs, tokens or home folders).
KEPT_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES",
            "PYDEVD_DISABLE_FILE_VALIDATION", "PYTHONHASHSEED", "MPLBACKEND")
#: Time a recorder may take for one batch of calls, in seconds.
RECORD_TIMEOUT = 300.0


class MachineFailure(RuntimeError):
    """The grading machine failed (a sandbox could not start), not the submission."""


def full_package() -> Path:
    """The folder of the full course_lib this grader runs."""
    return Path(course_lib.__file__).resolve().parent


def write_grading_edition(out: Path) -> Path:
    """Write the grading edition of course_lib under ``out`` and return ``out``.

    The student edition's code with only the references' constants and parameter names
    as stored answers (kernels under ``course grade`` hand functions in; they never
    check), byte-compiled here, since the sandboxes cannot write ``__pycache__``.
    """
    from course_lib.checks.stored import AnswerStore
    from course_lib.grading.student_edition import record_reference_names, write_package

    store = AnswerStore()
    record_reference_names(store)
    package = write_package(out, store, released={})
    compileall.compile_dir(package, quiet=1, workers=1)
    return out


def _forbidden_dirs(packages: set[str]) -> list[str]:
    """Folders of the installed ``packages`` (found without importing them)."""
    found = []
    for name in sorted(packages - {"course_lib"}):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            found += [str(Path(p).resolve()) for p in spec.submodule_search_locations]
    return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


@dataclass
class Isolation:
    """How this grading run confines a submission's code.

    Args:
        edition: the folder holding the grading edition's ``course_lib``.
        sandboxed: use sandboxes (False: ``--no-sandbox``).
        secrets: folders never to show (the course, the scratch folder).
        data_dir: the MNIST cache, shown read-only, if there is one.
    """

    edition: Path
    sandboxed: bool = True
    secrets: tuple[Path, ...] = ()
    data_dir: Path | None = None
    memory_bytes: int = sandbox.Spec.__dataclass_fields__["memory_bytes"].default

    def shown(self, hidden_packages: set[str] = frozenset()) -> tuple[list[str], list[str]]:
        """``(read-only paths, masked paths)`` of a sandbox (see the module's docstring)."""
        full = str(full_package())
        secret = [full, *(str(Path(s).resolve()) for s in self.secrets)]
        solutions = Path(full).parent / "solutions"
        if solutions.is_dir():
            secret.append(str(solutions))
        secret += _forbidden_dirs(set(hidden_packages))
        # Python's folders, but none inside a secret one (a PYTHONPATH entry in the course)
        readonly = [p for p in sandbox.python_paths()
                    if not any(_inside(p, s) for s in secret)]
        masked = sorted({s for s in secret for r in readonly if _inside(s, r)})
        readonly.append(str(self.edition))  # inside the scratch folder, on purpose
        if self.data_dir is not None and self.data_dir.is_dir():
            readonly.append(str(self.data_dir.resolve()))
        return readonly, masked

    def environment(self, handins: str) -> dict[str, str]:
        """The environment of a kernel or recorder (its whole environment in a sandbox)."""
        env = {name: os.environ[name] for name in KEPT_ENV if name in os.environ}
        if not self.sandboxed:
            env = dict(os.environ)
        env.update(PYTHONPATH=str(self.edition), PYTHONDONTWRITEBYTECODE="1",
                   NBGRADER_EXECUTION="autograde", **{HANDIN_ENV: handins})
        if self.sandboxed:
            env.update(HOME="/tmp", MPLCONFIGDIR="/tmp/matplotlib", IPYTHONDIR="/tmp/ipython")
        if self.data_dir is not None:
            env["COURSE_DATA_DIR"] = str(self.data_dir)
        return env

    def kernel_spec(self, cwd: Path, sockets: Path, handins: Path) -> sandbox.Spec:
        """The sandbox of one kernel: ``cwd`` (the submission's folder, where nbgrader
        runs the notebook) as a private copy, ``sockets`` and ``handins`` writable."""
        readonly, masked = self.shown()
        return sandbox.Spec(
            readonly=tuple(readonly), masked=tuple(masked),
            writable=((str(sockets), str(sockets)), (str(handins), HANDIN_INSIDE)),
            copied=((str(cwd), str(cwd)),), cwd=str(cwd), memory_bytes=self.memory_bytes,
            environment=tuple(self.environment(HANDIN_INSIDE).items()))

    def record(self, requests_file: Path, handins: Path, out: Path, *, needs_torch: bool,
               forbidden: set[str], timeout: float = RECORD_TIMEOUT) -> str | None:
        """Run the recorder on ``requests_file``; None if it finished, else how it stopped
        (in words for the student).

        Raises:
            MachineFailure: the sandbox could not be set up.
        """
        argv = [sys.executable, "-m", "course_lib.checks.recorder", str(requests_file),
                str(handins), str(out)]
        env = self.environment(str(handins))
        if self.sandboxed:
            readonly, masked = self.shown(set() if needs_torch else forbidden)
            spec = sandbox.Spec(readonly=(*readonly, str(handins), str(requests_file.parent)),
                                masked=tuple(masked), writable=((str(out), str(out)),),
                                cwd=str(out), memory_bytes=self.memory_bytes,
                                environment=tuple(env.items()))
            spec_file = out.parent / f"{out.name}.spec.json"
            spec_file.write_text(spec.to_json(), encoding="utf-8")
            argv = [sys.executable, "-m", "course_lib.grading.sandbox", "--spec",
                    str(spec_file), "--", *argv]
            env = dict(os.environ)
        return _run_recorder(argv, env, out, timeout)


def _run_recorder(argv: list[str], env: dict, out: Path, timeout: float) -> str | None:
    with open(out.parent / f"{out.name}.log", "wb") as log:
        process = subprocess.Popen(argv, env=env, cwd=out, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=log, start_new_session=True)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_all([process.pid, *process_tree(process.pid)])
            process.wait()
            return f"your code did not finish within {timeout:g} s"
    if code == 126:
        tail = (out.parent / f"{out.name}.log").read_bytes()[-500:].decode(errors="replace")
        raise MachineFailure(f"the grading sandbox could not start: {tail.strip()}")
    if code != 0:
        tail = (out.parent / f"{out.name}.log").read_bytes()[-2000:].decode(errors="replace")
        last = tail.strip().splitlines()[-1:] or ["no message"]
        return f"your code ended the grader's run of it (exit code {code}: {last[0][:300]})"
    return None


def new_folder(parent: Path, prefix: str) -> Path:
    """A fresh folder others may enter (a sandbox's user must read what is in it)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    folder.chmod(0o755)
    return folder


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
