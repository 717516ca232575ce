"""The few Linux system calls the sandbox needs that Python 3.11's :mod:`os` lacks.

Each wrapper raises :class:`RuntimeError` naming the step that failed, e.g.
``sandbox: mount of /usr read-only failed: EPERM (Operation not permitted)``: the
sandbox's callers want to know what broke, not a bare ``OSError``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

# glibc has no pivot_root(); its number differs between architectures.
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203,
                   "s390x": 217, "i686": 217, "armv7l": 218}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.syscall.argtypes = [ctypes.c_long, ctypes.c_char_p, ctypes.c_char_p]


def failure(step: str, code: int) -> RuntimeError:
    """The sandbox's one error: ``sandbox: STEP failed: ENAME (message)``."""
    name = errno.errorcode.get(code, str(code))
    return RuntimeError(f"sandbox: {step} failed: {name} ({os.strerror(code)})")


def _check(result: int, step: str) -> None:
    if result != 0:
        raise failure(step, ctypes.get_errno())


def unshare(flags: int, step: str) -> None:
    _check(_libc.unshare(flags), step)


def _encode(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def mount(source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None, *, step: str) -> None:
    _check(_libc.mount(_encode(source), _encode(target), _encode(fstype), flags, _encode(data)),
           step)


def umount(target: str, flags: int, step: str) -> None:
    _check(_libc.umount2(os.fsencode(target), flags), step)


def pivot_root(new_root: str, put_old: str) -> None:
    number = _SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise RuntimeError(f"sandbox: pivot_root is not known on {platform.machine()}")
    _check(_libc.syscall(number, os.fsencode(new_root), os.fsencode(put_old)), "pivot_root")


def prctl(option: int, value: int, step: str) -> None:
    _check(_libc.prctl(option, value, 0, 0, 0), step)


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities(last_cap: int) -> None:
    """Empty the bounding, ambient, effective, permitted and inheritable sets.

    The bounding set goes first (dropping from it needs CAP_SETPCAP), so that no later
    ``execve`` can hand a capability back, whatever the uid.
    """
    for cap in range(last_cap + 1):
        prctl(PR_CAPBSET_DROP, cap, f"dropping capability {cap} from the bounding set")
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
           "clearing the ambient capabilities")
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset (dropping all capabilities)")
