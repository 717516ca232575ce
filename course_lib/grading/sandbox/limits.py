"""Resource limits and privileges of the sandbox's processes.

What bounds what, as measured on Linux 6.18 (see ``tests/test_sandbox.py``):

* memory: ``RLIMIT_AS`` (address space), inherited by every child, so a 30 GB NumPy
  array raises ``MemoryError``. ``RLIMIT_DATA`` would be kinder to thread-heavy
  programs (it skips ``PROT_NONE`` reservations) but misses ``MAP_SHARED`` anonymous
  memory, so the address space it is. What no rlimit bounds: memory a process holds
  without mapping it: ``memfd`` written with ``write()`` (measured: 2 GiB held under a
  1 GiB ``RLIMIT_AS``), System V shared memory attached and detached in turns, a tmpfs
  mounted in a nested user namespace. For those the sandbox's processes are made the
  OOM killer's first choice, and a memory cgroup around the grading worker (systemd's
  ``MemoryMax``, Slurm's or Kubernetes' own limits) is the complete answer; the
  sandbox creates none itself, as it would have to sit inside whatever cgroup its
  caller already is in.
* processes: ``RLIMIT_NPROC`` counts the tasks of the sandbox's uid *in its own user
  namespace* (the kernel's ucounts, Linux 5.14+), so two sandboxes never share a
  budget. The kernel does not enforce it for a task whose real uid is the host's
  root, which is why root callers run the sandbox under an unprivileged uid
  (:data:`~course_lib.grading.sandbox.namespaces.SANDBOX_UID`).
* files: ``RLIMIT_FSIZE`` (Python ignores ``SIGXFSZ``, so a write past it raises
  ``OSError(EFBIG)``); ``RLIMIT_CORE`` 0, so that a crash writes no core file.
* privileges: ``PR_SET_NO_NEW_PRIVS`` (no set-uid or file-capability gains through
  ``execve``), and every capability dropped, bounding set included. The capabilities
  a process holds in its own user namespace are harmless to the host, but they would
  let student code remount a read-only bind read-write: the remount that made it
  read-only happened inside the namespace, so the kernel does not lock it.
"""

from __future__ import annotations

import resource

from . import _libc as c
from .spec import Spec


def first_on_oom() -> None:
    """Make this process (and its children) the OOM killer's first choice.

    Raising one's own ``oom_score_adj`` needs no privilege.
    """
    try:
        with open("/proc/self/oom_score_adj", "wb") as handle:
            handle.write(b"1000")
    except OSError as error:
        raise RuntimeError(f"sandbox: raising oom_score_adj failed: {error.strerror}") from None


def restrict(spec: Spec) -> None:
    """Apply :class:`Spec`'s limits to this process (and so to all it will start)."""
    limits = ((resource.RLIMIT_AS, spec.memory_bytes, "RLIMIT_AS (memory_bytes)"),
              (resource.RLIMIT_NPROC, spec.max_processes, "RLIMIT_NPROC (max_processes)"),
              (resource.RLIMIT_FSIZE, spec.max_file_bytes, "RLIMIT_FSIZE (max_file_bytes)"),
              (resource.RLIMIT_CORE, 0, "RLIMIT_CORE"))
    for which, value, name in limits:
        _, hard = resource.getrlimit(which)
        # Never above the hard limit we were given: only the host's root could raise it.
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (OSError, ValueError) as error:
            raise RuntimeError(f"sandbox: setting {name} to {value} failed: {error}") from None
    c.prctl(c.PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS")
    with open("/proc/sys/kernel/cap_last_cap", "rb") as handle:
        last_cap = int(handle.read())
    c.drop_capabilities(last_cap)
