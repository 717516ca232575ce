"""The sandbox's file system: a fresh root holding only what the :class:`Spec` lists.

:func:`build_root` runs in the sandbox's first process, in its new mount namespace
(as the host's root when the caller is root, else in its new user namespace):

1. every host path the sandbox will see is opened with ``O_PATH``, so that the tmpfs
   about to cover ``/tmp`` cannot hide a source that lives there (binds are made from
   ``/proc/self/fd/N``);
2. a tmpfs mounted on ``/tmp`` becomes the new root; it receives the binds, a fresh
   ``/proc``, a minimal ``/dev`` and ``/etc``, private ``/tmp`` and ``/dev/shm``;
3. read-only binds are remounted read-only, submounts included (keeping the flags a
   user namespace may not clear);
4. ``pivot_root`` moves into it, the host's root is detached, and the new root itself
   is made read-only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

from . import _libc as c
from .spec import Spec

#: System folders bound read-only (or re-created as symlinks, as on merged-/usr systems).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")
#: Host files of ``/etc`` bound read-only: the dynamic loader, time zone, name service.
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "nsswitch.conf",
       "alternatives", "mime.types", "os-release", "protocols", "services")
#: Device nodes bound from the host's ``/dev``.
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
#: Where the new root is assembled (an existing folder on any Linux; hidden only from us).
STAGE = "/tmp"


@dataclasses.dataclass
class Mount:
    """One thing to put at ``target`` inside: a bind, a tmpfs, ``/proc``, a symlink, a file."""

    target: str
    kind: str  # "bind" | "tmpfs" | "proc" | "symlink" | "file"
    fd: int = -1  # bind: O_PATH descriptor of the source
    readonly: bool = True
    is_dir: bool = True
    data: str = ""  # tmpfs: options; symlink: where it points; file: its text
    files: list[tuple[str, bytes, int]] = dataclasses.field(default_factory=list)
    # tmpfs: (relative path, content, mode) written into it (a copied folder)
    owner: tuple[int, int] | None = None  # tmpfs: chown it and its files (uid, gid)


def _bind(path: str, target: str, readonly: bool, what: str) -> Mount:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError as error:
        raise RuntimeError(f"sandbox: cannot open {what} {path}: {error.strerror}") from None
    is_dir = os.path.isdir(f"/proc/self/fd/{fd}")
    return Mount(target, "bind", fd=fd, readonly=readonly, is_dir=is_dir)


def open_sources(spec: Spec, uid: int, gid: int) -> list[Mount]:
    """Everything the new root will hold for a sandbox running as ``uid:gid``."""
    mounts: list[Mount] = []
    try:
        for path in SYSTEM:
            if os.path.islink(path):
                mounts.append(Mount(path, "symlink", data=os.readlink(path)))
            elif os.path.isdir(path):
                mounts.append(_bind(path, path, True, "system folder"))
        mounts += [_bind(f"/etc/{name}", f"/etc/{name}", True, "system file")
                   for name in ETC if os.path.exists(f"/etc/{name}")]
        mounts += _generated_etc(uid, gid, spec.cwd)
        mounts += [Mount("/dev", "tmpfs", readonly=False, data="size=64k,mode=755"),
                   *(_bind(f"/dev/{name}", f"/dev/{name}", False, "device")
                     for name in DEVICES if os.path.exists(f"/dev/{name}")),
                   *(Mount(f"/dev/{name}", "symlink", data=f"/proc/self/fd/{number}")
                     for number, name in enumerate(("stdin", "stdout", "stderr"))),
                   Mount("/dev/fd", "symlink", data="/proc/self/fd"),
                   Mount("/dev/shm", "tmpfs", readonly=False,
                         data=f"size={spec.tmp_bytes},mode=1777"),
                   Mount("/tmp", "tmpfs", readonly=False, data=f"size={spec.tmp_bytes},mode=1777"),
                   Mount("/proc", "proc", readonly=False)]
        mounts += [_bind(path, path, True, "readonly path") for path in spec.readonly]
        mounts += [_bind(host, inside, False, "writable path") for host, inside in spec.writable]
        mounts += [Mount(path, "tmpfs", readonly=True, data="size=4k,mode=755",
                         files=_import_blocker(path)) for path in spec.masked]
        mounts += [Mount(inside, "tmpfs", readonly=False, data=f"size={spec.tmp_bytes},mode=755",
                         files=_read_folder(host, spec.tmp_bytes), owner=(uid, gid))
                   for host, inside in spec.copied]
    except BaseException:
        close(mounts)
        raise
    return mounts


def _import_blocker(path: str) -> list[tuple[str, bytes, int]]:
    """For a masked Python package: an ``__init__.py`` that fails as a missing module
    would (an empty folder would import as a namespace package)."""
    if not os.path.isfile(os.path.join(path, "__init__.py")):
        return []
    name = os.path.basename(path.rstrip("/"))
    message = f"No module named {name!r}"
    stub = f"raise ModuleNotFoundError({message!r}, name={name!r})\n"
    return [("__init__.py", stub.encode(), 0o644)]


def _read_folder(host: str, limit: int) -> list[tuple[str, bytes, int]]:
    """The regular files under ``host`` (symbolic links skipped), read now: the tmpfs
    about to cover ``/tmp`` would hide a folder that lives there."""
    files, total = [], 0
    try:
        for folder, dirs, names in os.walk(host):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in names:
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                with open(path, "rb") as handle:
                    content = handle.read(limit - total + 1)
                total += len(content)
                if total > limit:
                    raise RuntimeError(f"sandbox: copied folder {host} holds more than "
                                       f"{limit} bytes")
                files.append((os.path.relpath(path, host), content,
                              os.stat(path).st_mode & 0o755))
    except OSError as error:
        raise RuntimeError(f"sandbox: cannot read copied folder {host}: {error.strerror}"
                           ) from None
    return files


def _generated_etc(uid: int, gid: int, home: str) -> list[Mount]:
    """``passwd``, ``group``, ``hosts``, ``hostname``: only the sandbox's own names."""
    nobody = 65534  # what unmapped host ids look like inside
    return [Mount("/etc/passwd", "file", data=f"sandbox:x:{uid}:{gid}:sandbox:{home}:/bin/sh\n"
                                             f"nobody:x:{nobody}:{nobody}::/nonexistent:/bin/false\n"),
            Mount("/etc/group", "file", data=f"sandbox:x:{gid}:\nnogroup:x:{nobody}:\n"),
            Mount("/etc/hosts", "file", data="127.0.0.1 localhost sandbox\n::1 localhost\n"),
            Mount("/etc/hostname", "file", data="sandbox\n")]


def close(mounts: list[Mount]) -> None:
    for mount in mounts:
        if mount.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(mount.fd)


def _place(mount: Mount, path: str) -> None:
    """Create ``path`` (in the new root) and put ``mount`` there."""
    if mount.kind == "symlink":
        os.symlink(mount.data, path)
        return
    if mount.kind == "file" or (mount.kind == "bind" and not mount.is_dir):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(mount.data.encode())
        if mount.kind == "file":
            return
    else:
        os.makedirs(path, exist_ok=True)
    if mount.kind == "bind":
        c.mount(f"/proc/self/fd/{mount.fd}", path, None, c.MS_BIND | c.MS_REC,
                step=f"bind mount of {mount.target}")
    elif mount.kind == "tmpfs":
        c.mount("tmpfs", path, "tmpfs", c.MS_NOSUID | c.MS_NODEV, mount.data,
                step=f"mount of a tmpfs on {mount.target}")
        for relative, content, mode in mount.files:
            target = os.path.join(path, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as handle:
                handle.write(content)
            os.chmod(target, mode | 0o644)
        if mount.owner is not None:  # the sandbox's user writes there, not whoever built it
            for folder, dirs, names in os.walk(path):
                for name in [*dirs, *names]:
                    os.chown(os.path.join(folder, name), *mount.owner, follow_symlinks=False)
            os.chown(path, *mount.owner)
    else:
        c.mount("proc", path, "proc", c.MS_NOSUID | c.MS_NODEV | c.MS_NOEXEC,
                step="mount of /proc")


def _unescape(field: str) -> str:
    """Undo mountinfo's octal escapes (``\\040`` for a space)."""
    parts = field.split("\\")
    return parts[0] + "".join(chr(int(p[:3], 8)) + p[3:] for p in parts[1:])


def _remount_readonly(mounts: list[Mount]) -> None:
    """Make every mount under a read-only target read-only, submounts included.

    The deepest target containing a mount point decides, so a writable bind inside a
    read-only one stays writable. In a user namespace the host's nosuid, nodev, noexec
    and atime flags are locked: a remount that drops one fails with EPERM, so each is
    read back with ``statvfs`` and passed again.
    """
    targets = sorted(((m.target, m.readonly) for m in mounts if m.kind != "symlink"),
                     key=lambda item: len(item[0]), reverse=True)
    with open("/proc/self/mountinfo", "rb") as handle:
        points = [_unescape(os.fsdecode(line.split()[4])) for line in handle]
    for point in points:
        if not point.startswith(STAGE + "/"):
            continue
        inside = point[len(STAGE):]
        owner = next((ro for target, ro in targets
                      if inside == target or inside.startswith(target + "/")), False)
        if not owner:
            continue
        kept = os.statvfs(point).f_flag
        flags = c.MS_REMOUNT | c.MS_BIND | c.MS_RDONLY | c.MS_NOSUID | c.MS_NODEV
        for st_flag, ms_flag in ((os.ST_NOEXEC, c.MS_NOEXEC), (os.ST_NOATIME, c.MS_NOATIME),
                                 (os.ST_NODIRATIME, c.MS_NODIRATIME),
                                 (os.ST_RELATIME, c.MS_RELATIME)):
            if kept & st_flag:
                flags |= ms_flag
        if not kept & (os.ST_NOATIME | os.ST_RELATIME):
            flags |= c.MS_STRICTATIME
        c.mount(None, point, None, flags, step=f"mount of {inside} read-only")


def build_root(spec: Spec, uid: int, gid: int) -> None:
    """Assemble the new root, move into it, detach the host's, ``chdir(spec.cwd)``."""
    c.mount(None, "/", None, c.MS_REC | c.MS_PRIVATE,
            step="making mounts private (nothing propagates back to the host)")
    mounts = open_sources(spec, uid, gid)
    try:
        _assemble(mounts)
    finally:
        close(mounts)
    try:
        os.chdir(spec.cwd)
    except OSError as error:
        raise RuntimeError(f"sandbox: cannot enter the working directory {spec.cwd}: "
                           f"{error.strerror}") from None


def _assemble(mounts: list[Mount]) -> None:
    c.mount("tmpfs", STAGE, "tmpfs", c.MS_NOSUID | c.MS_NODEV, "size=1m,mode=755",
            step="mount of the new root (a tmpfs)")
    # Sorted by target, a folder comes before whatever is mounted inside it.
    for mount in sorted(mounts, key=lambda m: m.target):
        try:
            _place(mount, STAGE + mount.target)
        except OSError as error:
            raise RuntimeError(f"sandbox: creating {mount.target} in the new root failed: "
                               f"{error.strerror}") from None
    _remount_readonly(mounts)
    os.chdir(STAGE)
    # pivot_root(".", "."): the old root ends up stacked on the new one; detach it.
    c.pivot_root(".", ".")
    c.umount(".", c.MNT_DETACH, "detaching the host's root")
    os.chdir("/")
    c.mount(None, "/", None, c.MS_REMOUNT | c.MS_BIND | c.MS_RDONLY | c.MS_NOSUID | c.MS_NODEV,
            step="mount of the new root read-only")
