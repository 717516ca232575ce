"""What a sandbox shows and allows: :class:`Spec`, and the paths a Python needs."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

GiB = 1 << 30
MiB = 1 << 20
#: Variables passed on from the caller even when a :class:`Spec` sets the environment:
#: jupyter_client tells a kernel its parent's pid through it.
PASSED_ON = ("JPY_PARENT_PID", "JPY_SESSION_NAME")


@dataclasses.dataclass(frozen=True)
class Spec:
    r"""What one sandbox sees and how much it may use.

    Args:
        readonly: host paths shown read-only at the same path inside, e.g.
            :func:`python_paths` (``sys.prefix``, ``sys.base_prefix``, site-packages,
            the course package folder) and a data cache. The system folders ``/usr``,
            ``/lib*``, ``/bin``, ``/sbin`` and a minimal ``/etc`` are always there.
            As root, each must be readable by "others" (the sandbox runs as
            :data:`~course_lib.grading.sandbox.namespaces.SANDBOX_UID`); its parent
            folders need not be.
        writable: ``(host path, path inside)`` pairs bound read-write: the private
            folder, the ZeroMQ ``ipc`` socket folder (bind it at its host path so that
            both ends name the sockets alike). As root they are chowned, with what they
            hold, to the sandbox's uid before it starts.
        cwd: working directory inside.
        memory_bytes: ``RLIMIT_AS`` of every process inside. Default 4 GiB: importing
            torch, numpy, matplotlib and ipykernel reaches a peak of 0.77 GiB of address
            space, a 1000x1000 matrix product on 4 torch threads 0.93 GiB
            (``benchmarks/bench_sandbox.py``); each extra thread reserves ~50-70 MiB
            more (its stack and malloc arena), so keep ``OMP_NUM_THREADS`` small.
        max_processes: ``RLIMIT_NPROC``: processes *and threads* of the sandbox's user,
            counted in its own user namespace. Default 256: a fork bomb stops there.
        max_file_bytes: ``RLIMIT_FSIZE``: largest file a process may write. Default
            256 MiB.
        tmp_bytes: size of each of the private ``/tmp`` and ``/dev/shm`` (tmpfs, in
            memory), and of each ``copied`` folder. Default 256 MiB.
        masked: paths inside read-only ones that the sandbox must not see (e.g. the
            full course package inside site-packages): each is covered by an empty,
            read-only folder; a Python package's gets an ``__init__.py`` that raises
            ``ModuleNotFoundError``, so that importing it fails as if it were absent.
        copied: ``(host folder, path inside)`` pairs: a private tmpfs at the path
            inside holding a copy of the host folder's files, made as the sandbox
            starts. Writes there never reach the host (a kernel's working directory).
        environment: ``(name, value)`` pairs: the whole environment of the command
            inside, but for :data:`PASSED_ON` taken from the caller's; empty (the
            default) keeps the caller's environment.

    Example::

        >>> spec = Spec(readonly=python_paths(), writable=(("/srv/s1", "/srv/s1"),),
        ...             cwd="/srv/s1")
        >>> Spec.from_json(spec.to_json()) == spec
        True
    """

    readonly: tuple[str, ...]
    writable: tuple[tuple[str, str], ...]
    cwd: str
    memory_bytes: int = 4 * GiB
    max_processes: int = 256
    max_file_bytes: int = 256 * MiB
    tmp_bytes: int = 256 * MiB
    masked: tuple[str, ...] = ()
    copied: tuple[tuple[str, str], ...] = ()
    environment: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # Lists from JSON (or a caller) become tuples, so that a Spec stays hashable.
        def pairs(items) -> tuple[tuple[str, str], ...]:
            return tuple((os.fspath(a), os.fspath(b)) for a, b in items)

        object.__setattr__(self, "readonly", tuple(os.fspath(p) for p in self.readonly))
        object.__setattr__(self, "masked", tuple(os.fspath(p) for p in self.masked))
        object.__setattr__(self, "writable", pairs(self.writable))
        object.__setattr__(self, "copied", pairs(self.copied))
        object.__setattr__(self, "environment", tuple((str(k), str(v))
                                                      for k, v in self.environment))
        for path in (*self.readonly, *self.masked, *(inside for _, inside in self.writable),
                     *(inside for _, inside in self.copied), self.cwd):
            if not os.path.isabs(path):
                raise ValueError(f"sandbox: paths must be absolute, got {path!r}")

    def env_for(self, inherited: dict[str, str]) -> dict[str, str]:
        """The environment of the command inside, given the caller's."""
        if not self.environment:
            return dict(inherited)
        return {**dict(self.environment),
                **{name: inherited[name] for name in PASSED_ON if name in inherited}}

    def to_json(self) -> str:
        """The spec as JSON (what ``python -m course_lib.grading.sandbox --spec`` reads)."""
        return json.dumps(dataclasses.asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Spec:
        return cls(**json.loads(text))


def python_paths() -> tuple[str, ...]:
    """Host folders this Python needs to run and import inside a sandbox.

    ``sys.prefix``, ``sys.base_prefix``, ``sys.exec_prefix``, every absolute folder on
    ``sys.path`` but its first entry (the script's folder or the current directory,
    unless ``python -P``), e.g. ``PYTHONPATH``'s, and the folder
    of the ``course_lib`` package (an editable install imports it from its checkout),
    without folders already inside another one. Check what ``sys.path`` holds before
    you trust it: a folder there is visible in full to the sandboxed code.
    """
    # sys.path[0] is the script's folder or the current directory, not an installation.
    entries = sys.path if sys.flags.safe_path else sys.path[1:]
    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix,
                  *(entry for entry in entries if os.path.isabs(entry)),
                  str(Path(__file__).resolve().parents[2])]
    folders = sorted({os.path.normpath(p) for p in candidates if os.path.isdir(p)})
    kept: list[str] = []
    for folder in folders:  # sorted: a parent comes right before its children
        if not any(folder == k or folder.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(folder)
    return tuple(kept)
