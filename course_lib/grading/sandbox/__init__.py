"""A Linux process sandbox for hostile code: one per submission's kernel.

Pure Python and the standard library, for root and for ordinary users (it needs
unprivileged user namespaces, Linux 5.14+ for per-namespace process limits). Inside:

* new user, mount, PID, network, IPC, UTS and cgroup namespaces: no network but ``lo``,
  no other process visible, everything inside killed when its PID 1 or the reaper
  outside dies;
* a fresh root holding read-only ``/usr``, ``/lib*``, ``/bin``, ``/sbin``, a minimal
  ``/etc``, the :class:`Spec`'s read-only and writable paths, a new ``/proc``, a minimal
  ``/dev`` and small private ``/tmp`` and ``/dev/shm``; nothing else of the host;
* ``RLIMIT_AS``, ``RLIMIT_NPROC``, ``RLIMIT_FSIZE``, no core files, ``NO_NEW_PRIVS``
  and no capabilities at all.

Use::

    from course_lib.grading import sandbox

    spec = sandbox.Spec(readonly=sandbox.python_paths(),
                        writable=((private, private), (sockets, sockets)), cwd=private)
    reason = sandbox.available()          # None, or why this machine cannot
    code = sandbox.run(spec, [sys.executable, "-c", "print(1)"])    # one-shot
    # a kernelspec's argv (cold kernels): python -m course_lib.grading.sandbox
    #   --spec spec.json -- python -m ipykernel_launcher -f {connection_file}
    # a zygote's forked child (warm kernels): sandbox.enter(spec), then run IPKernelApp.

Modules: :mod:`.spec` (what a sandbox holds), :mod:`.namespaces` (entering it, the
reaper, the probe), :mod:`.filesystem` (its root), :mod:`.limits` (rlimits and
privileges), :mod:`._libc` (the system calls Python lacks).
"""

from __future__ import annotations

import os
import sys

from .namespaces import SANDBOX_UID, available, enter
from .spec import Spec, python_paths

__all__ = ["SANDBOX_UID", "Spec", "available", "enter", "main", "python_paths", "run"]


def run(spec: Spec, argv: list[str], env: dict[str, str] | None = None) -> int:
    """Run ``argv`` in a new sandbox and return its exit code.

    Args:
        spec: what the sandbox shows and allows.
        argv: the command; ``argv[0]`` is looked up on ``PATH`` inside.
        env: the caller's environment to start from (default: this process's); a spec
            with an ``environment`` replaces it (see :meth:`Spec.env_for`).

    Returns:
        The exit code as :func:`os.waitstatus_to_exitcode` gives it: ``-N`` if
        killed by signal ``N``, 126 if the sandbox could not be set up, 127 if
        ``argv[0]`` could not be run (either way with the reason on stderr).
    """
    pid = os.fork()
    if pid == 0:
        _exec_inside(spec, argv, env)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _exec_inside(spec: Spec, argv: list[str], env: dict[str, str] | None) -> None:
    """Enter the sandbox and ``exec`` ``argv``; never returns."""
    try:
        enter(spec)
    except RuntimeError as error:
        # os.write, not print: after a fork in a threaded caller, stderr's lock may be held.
        os.write(2, f"{error}\n".encode(errors="replace"))
        os._exit(126)
    try:
        os.execvpe(argv[0], argv, spec.env_for(dict(os.environ) if env is None else env))
    except OSError as error:
        os.write(2, f"sandbox: cannot run {argv[0]}: {error.strerror}\n".encode())
    os._exit(127)


def main(argv: list[str] | None = None) -> int:
    """``python -m course_lib.grading.sandbox --spec FILE.json -- COMMAND...``.

    Runs COMMAND in the sandbox that FILE.json (:meth:`Spec.to_json`) describes. This
    process stays outside as the reaper, so a kernelspec may use it as the kernel's
    argv: jupyter_client's signals and kills reach the kernel through it.
    """
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 4 or args[0] != "--spec" or args[2] != "--":
        print("usage: python -m course_lib.grading.sandbox --spec FILE.json -- COMMAND...",
              file=sys.stderr)
        return 2
    try:
        with open(args[1], encoding="utf-8") as handle:
            spec = Spec.from_json(handle.read())
    except (OSError, ValueError, TypeError) as error:
        print(f"sandbox: cannot read the spec {args[1]}: {error}", file=sys.stderr)
        return 2
    _exec_inside(spec, args[3:], None)
    return 127  # not reached
