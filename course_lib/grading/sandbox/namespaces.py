"""Entering the sandbox: namespaces, the reaper outside, the probe.

:func:`enter` runs in the caller's (single-threaded) process ``P``, which forks the
sandbox's first process ``G``, PID 1 of a new PID namespace. ``P`` never returns: it
becomes the *reaper*, relaying SIGINT, SIGTERM, SIGHUP and SIGQUIT to ``G`` and
leaving with ``G``'s exit status; ``G`` asks for SIGKILL when ``P`` dies
(``PR_SET_PDEATHSIG``), and when ``G`` exits the kernel kills everything else in its
namespace. A failure in ``G`` before it returns is raised in ``P`` instead.

The user namespace comes at a different moment for root and for other callers:

* an ordinary user (uid ``u``) can only create namespaces from inside a new user
  namespace, mapping ``u`` to itself: ``P`` does that, then forks ``G``, which builds
  the file system with the capabilities it holds in that namespace and finally drops
  them (see :mod:`.limits` for why that matters);
* root must not stay root (the kernel does not enforce ``RLIMIT_NPROC`` for the
  host's root), but becoming :data:`SANDBOX_UID` first would lose the right to read
  paths below ``0700`` folders (a Python under ``/root``). So ``G`` builds the file
  system, network and hostname as the host's root in namespaces owned by the host,
  then creates its user namespace, has ``P`` (still root outside) map
  :data:`SANDBOX_UID` into it, and switches to that uid. Its mounts then belong to a
  namespace it has no capability over: it cannot change them at all.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import resource
import select
import signal
import socket
import struct
import sys
from typing import NoReturn

from . import _libc as c
from . import filesystem, limits
from .spec import Spec

# Nothing here may import a module once the new root is in place (the sandbox need not
# show Python's library): files are read and written as bytes, never through a codec.

#: Host uid (and gid) a sandbox runs as when its caller is root. ``RLIMIT_NPROC`` is
#: not enforced for tasks whose real uid is the host's root, so root callers give it up.
#: Sandboxes may share it: they cannot see each other's processes or files.
SANDBOX_UID = 2_000_000_000
#: Signals the reaper passes on to the sandbox.
RELAYED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_INSIDE_FLAGS = (c.CLONE_NEWNS | c.CLONE_NEWNET | c.CLONE_NEWIPC | c.CLONE_NEWUTS
                 | c.CLONE_NEWCGROUP)


def _close_fds_except(keep: set[int]) -> None:
    """Close every descriptor but 0, 1, 2 and ``keep``.

    An inherited descriptor of a host folder (``openat(fd, "..")``) or of a gradebook
    would undo the whole sandbox.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = max(soft, hard) if hard != resource.RLIM_INFINITY else 1 << 20
    low = 3
    for fd in sorted(fd for fd in keep if fd >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, top)


def _chown_tree(top: str, uid: int) -> None:
    """``chown -R`` without following symbolic links."""
    try:
        os.chown(top, uid, uid, follow_symlinks=False)
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                os.chown(os.path.join(folder, name), uid, uid, follow_symlinks=False)
    except OSError as error:
        raise RuntimeError(f"sandbox: chown of writable path {top} to uid {uid} failed: "
                           f"{error.strerror}") from None


def _map_ids(pid: str, uid: int, gid: int) -> None:
    """Map ``uid`` and ``gid`` (one id each, to themselves) in ``pid``'s user namespace."""
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1\n"),
                       ("gid_map", f"{gid} {gid} 1\n")):
        try:
            with open(f"/proc/{pid}/{name}", "wb") as handle:
                handle.write(text.encode())
        except OSError as error:
            raise RuntimeError(f"sandbox: writing /proc/{pid}/{name} of the new user "
                               f"namespace failed: {error.strerror}") from None


def _loopback_up() -> None:
    """``ip link set lo up``: the new network namespace's only interface."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            request = fcntl.ioctl(sock, siocgifflags, struct.pack("16s24x", b"lo"))
            flags = struct.unpack_from("H", request, 16)[0] | iff_up
            fcntl.ioctl(sock, siocsifflags, struct.pack("16sH22x", b"lo", flags))
        except OSError as error:
            raise RuntimeError(f"sandbox: bringing up lo failed: {error.strerror}") from None


def _die_with_parent(alive: int) -> None:
    """SIGKILL when ``P`` dies; if it already has (EOF on ``alive``), exit now."""
    c.prctl(c.PR_SET_PDEATHSIG, signal.SIGKILL, "PR_SET_PDEATHSIG")
    if select.select([alive], [], [], 0)[0] and not os.read(alive, 1):
        os._exit(1)


def _inside(spec: Spec, root: bool, status: int, alive: int) -> None:
    """In ``G``: everything up to handing control back to the caller."""
    _die_with_parent(alive)
    # A session of its own: no controlling terminal, into which TIOCSTI could type
    # commands for the shell of whoever started the grading.
    os.setsid()
    c.unshare(_INSIDE_FLAGS, "unshare of the mount, network, IPC, UTS and cgroup namespaces")
    uid, gid = (SANDBOX_UID, SANDBOX_UID) if root else (os.geteuid(), os.getegid())
    filesystem.build_root(spec, uid, gid)
    _loopback_up()
    c.sethostname("sandbox")
    limits.first_on_oom()  # before the uid changes: /proc/self then belongs to root
    if root:
        os.setgroups([])  # host groups (root's gid 0) would otherwise stay with us
        c.unshare(c.CLONE_NEWUSER, "unshare of the user namespace")
        os.write(status, b"M")  # P maps SANDBOX_UID into it, then writes one byte back
        if os.read(alive, 1) != b"1":
            os._exit(1)
        try:
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
        except OSError as error:
            raise RuntimeError(f"sandbox: switching to uid {uid} failed: {error.strerror}"
                               ) from None
        c.prctl(c.PR_SET_DUMPABLE, 1, "PR_SET_DUMPABLE")  # as after any execve
        _die_with_parent(alive)  # a uid change clears the parent-death signal
    os.close(alive)
    limits.restrict(spec)


def _handles(pid: int, signum: int) -> bool:
    """Whether ``pid`` catches or ignores ``signum`` (PID 1 never gets a default action)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as handle:
            masks = dict(line.split(b":\t", 1) for line in handle if line.startswith(b"Sig"))
    except OSError:
        return True
    bit = 1 << (signum - 1)
    return bool((int(masks[b"SigCgt"], 16) | int(masks[b"SigIgn"], 16)) & bit)


def _reap(child: int, alive: int) -> NoReturn:
    """In ``P``: relay signals to ``G``, wait for it, leave as it left."""
    emulated: list[int] = []

    def relay(signum: int, _frame) -> None:
        # A PID 1 without a handler ignores even SIGTERM from outside: do what the
        # default action would have done.
        if not _handles(child, signum):
            emulated.append(signum)
            signum = signal.SIGKILL
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in RELAYED:
        signal.signal(signum, relay)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, RELAYED)
    _close_fds_except({alive})
    # No core file for P's own re-raised SIGQUIT, and nothing of P to ptrace.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    c.prctl(c.PR_SET_DUMPABLE, 0, "PR_SET_DUMPABLE")
    _, status = os.waitpid(child, 0)
    if os.WIFEXITED(status):
        os._exit(os.WEXITSTATUS(status))
    signum = os.WTERMSIG(status)
    if signum == signal.SIGKILL and emulated:
        signum = emulated[-1]
    signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signum])
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)


def enter(spec: Spec, keep_fds: tuple[int, ...] = ()) -> None:
    """Move the calling process into a new sandbox described by ``spec``.

    Call it in a single-threaded process, e.g. a freshly forked child. On return the
    caller runs as PID 1 of a new PID namespace, in new user, mount, network, IPC, UTS
    and cgroup namespaces, with the file system, limits and privileges described in
    this package; the original process stays outside as the reaper and never returns
    (it exits with the sandbox's exit status). The sandbox runs in a session of its own
    (do not call ``os.setsid()`` after this). Every file descriptor but 0, 1, 2 and
    ``keep_fds`` is closed: close Python objects holding others before calling.

    Args:
        spec: what the sandbox shows and allows.
        keep_fds: descriptors to keep open inside (e.g. a pipe to the caller).

    Raises:
        RuntimeError: ``sandbox: <step> failed: <reason>`` if any step fails; the
            process is then still outside the sandbox's file system, but may already
            have changed its uid and user namespace: let it exit.
    """
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        raise RuntimeError(f"sandbox: enter() needs a single-threaded process; this one has "
                           f"{threads} threads (call it in a freshly forked child)")
    root = os.geteuid() == 0
    if root:
        for host, _ in spec.writable:
            _chown_tree(host, SANDBOX_UID)
        c.unshare(c.CLONE_NEWPID, "unshare of the PID namespace")
    else:
        c.unshare(c.CLONE_NEWUSER | c.CLONE_NEWPID, "unshare of the user and PID namespaces")
        _map_ids("self", os.geteuid(), os.getegid())
    # status: G to P ("M": map my user namespace; "E...": failed; EOF: ready).
    # alive: P to G (one byte: mapped; EOF: P is gone).
    status_read, status_write = os.pipe2(os.O_CLOEXEC)
    alive_read, alive_write = os.pipe2(os.O_CLOEXEC)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, RELAYED)  # held until relayed
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(status_read)
            os.close(alive_write)
            _inside(spec, root, status_write, alive_read)
            _close_fds_except({*keep_fds, status_write})
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        except BaseException as error:
            message = (str(error) if isinstance(error, RuntimeError)
                       else f"sandbox: {type(error).__name__}: {error}")
            os.write(status_write, b"E" + message.encode(errors="replace"))
            os._exit(127)
        os.close(status_write)
        return
    os.close(status_write)
    os.close(alive_read)
    message = _serve_setup(pid, status_read, alive_write)
    if message:
        os.close(alive_write)
        os.waitpid(pid, 0)
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        raise RuntimeError(message)
    _reap(pid, alive_write)


def _serve_setup(pid: int, status: int, alive: int) -> str:
    """In ``P``: answer ``G``'s requests until it is ready (``""``) or failed (why)."""
    with os.fdopen(status, "rb") as pipe:
        while True:
            kind = pipe.read(1)
            if kind == b"M":
                try:
                    _map_ids(str(pid), SANDBOX_UID, SANDBOX_UID)
                except RuntimeError as error:
                    os.kill(pid, signal.SIGKILL)
                    return str(error)
                os.write(alive, b"1")
            elif kind == b"E":
                return pipe.read().decode(errors="replace")
            else:
                return ""


def available() -> str | None:
    """``None`` if this machine can run sandboxes, else a one-line reason.

    Probes for real: a forked child enters an empty sandbox (a few milliseconds).
    """
    if not sys.platform.startswith("linux"):
        return f"sandbox: needs Linux namespaces; this is {sys.platform}"
    for path, meaning in (("/proc/sys/kernel/unprivileged_userns_clone",
                           "unprivileged user namespaces are disabled"),
                          ("/proc/sys/user/max_user_namespaces", "user namespaces are disabled")):
        with contextlib.suppress(OSError), open(path, "rb") as handle:
            if handle.read().strip() == b"0":
                return f"sandbox: {meaning} ({path} is 0)"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read)
            enter(Spec(readonly=(), writable=(), cwd="/"))
        except BaseException as error:
            os.write(write, str(error).encode(errors="replace"))
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        reason = pipe.read().decode(errors="replace").strip()
    _, status = os.waitpid(pid, 0)
    if reason:
        return reason.splitlines()[0]
    if status != 0:
        return f"sandbox: the probe ended with status {os.waitstatus_to_exitcode(status)}"
    return None
