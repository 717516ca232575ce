"""Attacks on the kernel sandbox (:mod:`course_lib.grading.sandbox`), each one failing
without the defence it checks.

Every scenario runs in a fresh Python (a *driver*) that builds a :class:`Spec`, calls
``enter()`` and then runs the attacking code inside, once as the test's own user
(root in CI) and once as uid 65534 ("nobody", started with ``setpriv``), so that both
ways into the sandbox are covered. A driver prints its findings as one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import course_lib
from course_lib.grading import sandbox

REASON = sandbox.available()
# CI (.ci/run sets COURSE_REQUIRE_SANDBOX) must not skip for want of namespaces: it fails.
pytestmark = pytest.mark.skipif(REASON is not None
                                and not os.environ.get("COURSE_REQUIRE_SANDBOX"),
                                reason=f"cannot sandbox here: {REASON}")

NOBODY = 65534
USERS = ["caller", "nobody"]
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
REPO = str(Path(course_lib.__file__).resolve().parents[1])


# ------------------------------------------------------------------------- helpers


@pytest.fixture(scope="session")
def nobody_python() -> Iterator[tuple[str, dict[str, str]]]:
    """A Python uid 65534 can run, and the environment that finds this venv's packages.

    This machine's own Python may live under ``/root`` (``0700``); the system's Python
    of the same version loads the same site-packages.
    """
    if os.geteuid() != 0:
        pytest.skip("switching to uid 65534 needs root")
    # The package through a symlink, so that the checkout itself is not on sys.path (a
    # folder on sys.path is visible inside in full).
    shim = Path(tempfile.mkdtemp(prefix="sbx-path-", dir="/tmp"))
    shim.chmod(0o755)
    (shim / "course_lib").symlink_to(Path(REPO) / "course_lib")
    paths = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], str(shim)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for python in (f"/usr/bin/python{version}", sys.executable):
        probe = subprocess.run([*SETPRIV, python, "-c", "import os, numpy, course_lib.grading."
                                "sandbox; print(os.readlink('/proc/self/exe'))"],
                               env=env, capture_output=True, text=True, cwd="/")
        if probe.returncode == 0:
            yield probe.stdout.strip(), env  # the binary itself, not a venv's symlink
            shutil.rmtree(shim)
            return
    shutil.rmtree(shim)
    pytest.skip(f"no Python {version} that uid {NOBODY} may run (this one is {sys.executable})")


@pytest.fixture
def area():
    """A world-readable folder: ``course`` (read-only inside), ``private`` and ``sock``
    (writable), ``secret`` (not shown). Not under pytest's ``0700`` temporary folders,
    which uid 65534 could not enter."""
    top = Path(tempfile.mkdtemp(prefix="sbx-", dir="/tmp"))
    top.chmod(0o755)
    for name in ("course", "private", "sock", "secret"):
        (top / name).mkdir(mode=0o755)
    (top / "course" / "grading_code.py").write_text("ANSWER = 42\n")
    (top / "secret" / "secret.txt").write_text("the answer key\n")
    yield top
    shutil.rmtree(top, ignore_errors=True)


def _command(user: str, nobody_python, area: Path) -> tuple[list[str], dict[str, str]]:
    """The command prefix running Python as ``user``, and its environment."""
    if user == "caller":
        return [sys.executable], dict(os.environ)
    python, env = nobody_python
    for name in ("private", "sock"):
        os.chown(area / name, NOBODY, NOBODY)
    return [*SETPRIV, python], env


def _script(area: Path, body: str, prelude: str, spec: dict) -> str:
    settings = {"writable": [[str(area / "private")] * 2, [str(area / "sock")] * 2],
                "cwd": str(area / "private"), **spec}
    extra = settings.pop("readonly", [str(area / "course")])
    head = f"""
import json, os, sys, time
from course_lib.grading import sandbox
{textwrap.dedent(prelude)}
spec = sandbox.Spec(readonly=sandbox.python_paths() + tuple({extra!r}), **{settings!r})
try:
    sandbox.enter(spec)
except RuntimeError as error:
    print(json.dumps({{"error": str(error)}}), flush=True)
    sys.exit(3)
"""
    return head + textwrap.dedent(body)


def start(user, nobody_python, area, body, *, prelude="", **spec) -> subprocess.Popen:
    """Start a driver that enters a sandbox and runs ``body``; its stdout is a pipe."""
    prefix, env = _command(user, nobody_python, area)
    # SIGINT as a terminal gives it (a shell that starts CI in the background leaves it
    # ignored, inherited by every child, and the relay test would see it ignored).
    return subprocess.Popen([*prefix, "-c", _script(area, body, prelude, spec)], env=env,
                            cwd="/", stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def inside(user, nobody_python, area, body, *, prelude="", timeout=60, **spec) -> dict:
    """Run ``body`` in a sandbox; return the JSON it printed last."""
    process = start(user, nobody_python, area, body, prelude=prelude, **spec)
    out, _ = process.communicate(timeout=timeout)
    lines = out.strip().splitlines()
    assert lines, f"no output (exit code {process.returncode})"
    return json.loads(lines[-1])


def sandbox_pids(reaper: int) -> set[int]:
    """Host pids of every process in the PID namespace of ``reaper``'s child."""
    children = Path(f"/proc/{reaper}/task/{reaper}/children").read_text().split()
    namespace = os.readlink(f"/proc/{children[0]}/ns/pid")
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.readlink(entry / "ns" / "pid") == namespace:
                    found.add(int(entry.name))
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies count as gone)."""
    running = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                running.add(pid)
    return running


def wait_until_gone(pids: set[int], seconds: float = 5.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive(pids)


# ------------------------------------------------------------------- the probe


def test_available_probes_for_real(monkeypatch):
    assert sandbox.available() is None
    # In a fresh interpreter too: enter() must not need Python's library once inside.
    fresh = subprocess.run([sys.executable, "-c", "from course_lib.grading import sandbox; "
                            "print(sandbox.available())"], capture_output=True, text=True)
    assert fresh.stdout == "None\n", fresh.stderr
    monkeypatch.setattr(sys, "platform", "darwin")
    reason = sandbox.available()
    assert reason.startswith("sandbox: needs Linux") and "\n" not in reason


# ------------------------------------------------------------- 1. namespaces


@pytest.mark.parametrize("user", USERS)
def test_every_namespace_is_new(user, nobody_python, area):
    kinds = ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup"]
    found = inside(user, nobody_python, area, f"""
        print(json.dumps({{kind: os.readlink(f"/proc/self/ns/{{kind}}") for kind in {kinds}}}))
    """)
    for kind in kinds:
        assert found[kind] != os.readlink(f"/proc/self/ns/{kind}"), kind


@pytest.mark.parametrize("user", USERS)
def test_no_network(user, nobody_python, area):
    # The warm kernels' zygote listens on an abstract Unix socket: per network namespace.
    abstract = f"\0course-sandbox-test-{os.getpid()}-{user}"
    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.socket(socket.AF_UNIX) as zygote:
        zygote.bind(abstract)
        zygote.listen()
        port = server.getsockname()[1]
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # works from here
        found = inside(user, nobody_python, area, f"""
            import socket
            def reach(family, address):
                try:
                    with socket.socket(family) as sock:
                        sock.settimeout(2)
                        sock.connect(address)
                    return True
                except OSError:
                    return False
            names = [name for _, name in socket.if_nameindex()]
            print(json.dumps({{"tcp": reach(socket.AF_INET, ("127.0.0.1", {port})),
                              "unix": reach(socket.AF_UNIX, {abstract!r}),
                              "interfaces": names}}))
        """)
    assert found == {"tcp": False, "unix": False, "interfaces": ["lo"]}


# ------------------------------------------------------------- 2. the file system


@pytest.mark.parametrize("user", USERS)
def test_only_listed_paths_exist(user, nobody_python, area):
    found = inside(user, nobody_python, area, f"""
        print(json.dumps({{
            "root": os.listdir("/"), "readonly": spec.readonly,
            "etc": os.listdir("/etc"), "dev": os.listdir("/dev"),
            "area": os.listdir({str(area)!r}),
            "mounts": [line.split()[4:10] for line in open("/proc/self/mountinfo")],
            "gone": [path for path in ({REPO + "/README.md"!r}, {REPO + "/tests"!r},
                                       "/home", "/root/.bash_history",
                                       "/etc/shadow", "/sys", {str(area / "secret")!r})
                     if os.path.lexists(path)],
        }}))
    """)
    tops = {p.split("/")[1] for p in found["readonly"]}
    assert set(found["root"]) <= tops | {"usr", "bin", "sbin", "lib", "lib64", "lib32",
                                         "libx32", "etc", "dev", "proc", "tmp"}
    assert found["gone"] == []
    # The root is the new tmpfs (read-only); no mount of the host's root remains.
    mounts = {fields[0]: fields for fields in found["mounts"]}
    root = mounts["/"]
    assert root[1].startswith("ro,") and root[root.index("-") + 1] == "tmpfs"
    assert sorted(found["area"]) == ["course", "private", "sock"]
    assert "shadow" not in found["etc"] and "passwd" in found["etc"]
    assert set(found["dev"]) <= {"null", "zero", "full", "random", "urandom", "tty", "shm",
                                 "fd", "stdin", "stdout", "stderr"}


@pytest.mark.parametrize("user", USERS)
def test_writes_only_where_allowed(user, nobody_python, area):
    found = inside(user, nobody_python, area, f"""
        import ctypes, errno
        def attempt(path):
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as handle:
                    handle.write("x")
                return "written"
            except OSError as error:
                return errno.errorcode[error.errno]
        course = {str(area / "course")!r}
        paths = [course + "/__pycache__/grading_code.cpython-311.pyc", course + "/x.py",
                 "/usr/x", "/etc/x", "/x", spec.readonly[0] + "/x",
                 {str(area / "private" / "out.txt")!r}, "/tmp/x", "/dev/shm/x"]
        libc = ctypes.CDLL(None, use_errno=True)
        MS_REMOUNT, MS_BIND = 32, 4096
        remount = libc.mount(None, course.encode(), None, MS_REMOUNT | MS_BIND, None)
        remount_error = errno.errorcode[ctypes.get_errno()] if remount else "remounted"
        # A nested user namespace gets capabilities back, over a copy of the mounts.
        read, write = os.pipe()
        if os.fork() == 0:
            nested = "unshare failed"
            if libc.unshare(0x10000000 | 0x00020000) == 0:
                result = libc.mount(None, course.encode(), None, MS_REMOUNT | MS_BIND, None)
                nested = errno.errorcode[ctypes.get_errno()] if result else "remounted"
            os.write(write, nested.encode())
            os._exit(0)
        os.close(write)
        nested = os.read(read, 100).decode()
        print(json.dumps({{"writes": {{p: attempt(p) for p in paths}},
                          "remount": remount_error, "nested": nested}}))
    """)
    writes = found["writes"]
    allowed = {str(area / "private" / "out.txt"), "/tmp/x", "/dev/shm/x"}
    for path, outcome in writes.items():
        assert (outcome == "written") == (path in allowed), (path, outcome)
    assert found["remount"] == "EPERM"
    assert found["nested"] in ("EPERM", "unshare failed")
    assert not (area / "course" / "__pycache__").exists()
    assert (area / "private" / "out.txt").read_text() == "x"


@pytest.mark.parametrize("user", USERS)
def test_masked_folders_are_empty_and_masked_packages_do_not_import(user, nobody_python, area):
    package = area / "course" / "answers"
    package.mkdir()
    (package / "__init__.py").write_text("KEY = 42\n")
    (area / "course" / "notes").mkdir()
    (area / "course" / "notes" / "solution.txt").write_text("the answer\n")
    for path in (package, area / "course" / "notes"):
        path.chmod(0o755)
    found = inside(user, nobody_python, area, f"""
        sys.path.insert(0, {str(area / "course")!r})
        try:
            import answers
            outcome = "imported"
        except ModuleNotFoundError as error:
            outcome = f"ModuleNotFoundError {{error.name}}"
        print(json.dumps({{"import": outcome,
                          "notes": os.listdir({str(area / "course" / "notes")!r}),
                          "course": sorted(os.listdir({str(area / "course")!r}))}}))
    """, masked=[str(package), str(area / "course" / "notes")])
    assert found == {"import": "ModuleNotFoundError answers", "notes": [],
                     "course": ["answers", "grading_code.py", "notes"]}


@pytest.mark.parametrize("user", USERS)
def test_a_copied_folder_is_a_private_writable_copy(user, nobody_python, area):
    source = area / "course" / "submission"
    (source / "data").mkdir(parents=True)
    (source / "notebook.ipynb").write_text("{}")
    (source / "data" / "table.csv").write_text("a,b\n")
    for path in (source, source / "data"):
        path.chmod(0o755)
    target = "/work/submission"
    found = inside(user, nobody_python, area, f"""
        os.chdir({target!r})
        with open("notebook.ipynb", "a") as handle:
            handle.write("changed")
        with open("new.txt", "w") as handle:
            handle.write("x")
        try:
            with open("big", "wb") as handle:
                handle.write(bytes(2 * 2**20))
            big = "written"
        except OSError as error:
            big = type(error).__name__
        print(json.dumps({{"files": sorted(os.listdir(".")), "table": open("data/table.csv").read(),
                          "big": big}}))
    """, copied=[[str(source), target]], tmp_bytes=2**20)
    assert found == {"files": ["big", "data", "new.txt", "notebook.ipynb"],
                     "table": "a,b\n", "big": "OSError"}  # 1 MiB of tmpfs: ENOSPC
    assert (source / "notebook.ipynb").read_text() == "{}"  # the host's copy is untouched
    assert sorted(p.name for p in source.iterdir()) == ["data", "notebook.ipynb"]


def test_the_spec_environment_replaces_the_callers(area):
    out = area / "private" / "env.json"
    spec = sandbox.Spec(readonly=sandbox.python_paths(), cwd="/",
                        writable=((str(area / "private"),) * 2,),
                        environment=(("PATH", "/usr/bin:/bin"), ("ONLY", "this")))
    code = sandbox.run(spec, [sys.executable, "-c", "import json, os; open(" + repr(str(out))
                              + ", 'w').write(json.dumps(dict(os.environ)))"],
                       env={"SECRET_TOKEN": "x", "JPY_PARENT_PID": "7", "PATH": "/nowhere"})
    assert code == 0
    env = json.loads(out.read_text())
    env.pop("LC_CTYPE", None)  # Python may set it when it coerces the C locale
    assert env == {"PATH": "/usr/bin:/bin", "ONLY": "this", "JPY_PARENT_PID": "7"}


@pytest.mark.parametrize("user", USERS)
def test_inherited_descriptors_are_closed(user, nobody_python, area):
    secret = area / "secret"
    found = inside(user, nobody_python, area, """
        try:
            with open(os.open("secret.txt", os.O_RDONLY, dir_fd=leak)) as handle:
                stolen = handle.read()
        except OSError as error:
            stolen = error.strerror
        print(json.dumps({"stolen": stolen, "fds": sorted(os.listdir("/proc/self/fd"))}))
    """, prelude=f"leak = os.open({str(secret)!r}, os.O_RDONLY)")
    assert found["stolen"] == "Bad file descriptor"
    assert set(found["fds"]) - {"0", "1", "2"} <= {"3"}  # 3: listdir's own


@pytest.mark.parametrize("user", USERS)
def test_no_typing_into_the_callers_terminal(user, nobody_python, area):
    # Started from a TA's shell, stdin is a terminal: TIOCSTI would type commands into it.
    found = inside(user, nobody_python, area, """
        try:
            fcntl.ioctl(0, termios.TIOCSTI, b"x")
            outcome = "typed"
        except OSError as error:
            outcome = error.strerror
        print(json.dumps({"outcome": outcome}))
    """, prelude="""
        import fcntl, pty, termios
        terminal, own = pty.openpty()
        driver = os.getpid()
        if os.fork() == 0:  # the terminal emulator: holds the other end while we live
            while os.getppid() == driver:
                time.sleep(0.05)
            os._exit(0)
        os.close(terminal)
        os.setsid()
        fcntl.ioctl(own, termios.TIOCSCTTY, 0)
        os.dup2(own, 0)
    """)
    assert found["outcome"] == "Operation not permitted"


# ---------------------------------------------------------------- 4. processes


@pytest.mark.parametrize("user", USERS)
def test_other_processes_are_invisible(user, nobody_python, area):
    found = inside(user, nobody_python, area, """
        import subprocess
        ps = subprocess.run(["ps", "-e", "-o", "pid=,comm="], capture_output=True, text=True)
        print(json.dumps({"pid": os.getpid(), "ps": ps.stdout.split("\\n")[:-1],
                          "proc": sorted(p for p in os.listdir("/proc") if p.isdigit())}))
    """)
    assert found["pid"] == 1
    assert found["proc"] == ["1"]
    assert len(found["ps"]) == 2  # this Python and ps itself


ORPHAN = """
    import signal
    if os.fork() == 0:  # a daemon: new session, double fork, parent gone
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    os.wait()
    print("ready", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("user", USERS)
def test_daemons_die_with_pid_1(user, nobody_python, area):
    process = start(user, nobody_python, area, ORPHAN)
    assert process.stdout.readline() == "ready\n"
    pids = sandbox_pids(process.pid)
    assert len(alive(pids)) == 2  # PID 1 and the daemon
    process.stdin.write("go\n")
    process.stdin.close()
    assert process.wait(10) == 0
    assert wait_until_gone(pids) == set()


@pytest.mark.parametrize("user", USERS)
def test_killing_the_reaper_kills_everything(user, nobody_python, area):
    process = start(user, nobody_python, area, ORPHAN)
    assert process.stdout.readline() == "ready\n"
    pids = sandbox_pids(process.pid)
    assert len(alive(pids)) == 2
    process.kill()
    process.wait(10)
    assert wait_until_gone(pids) == set()


@pytest.mark.parametrize(("signum", "expected"), [(signal.SIGINT, 3),
                                                  (signal.SIGTERM, -signal.SIGTERM)])
def test_signals_are_relayed(signum, expected, nobody_python, area):
    # A PID 1 ignores SIGTERM unless it has a handler: the reaper must stand in.
    process = start("caller", nobody_python, area, """
        try:  # "ready" inside the try: the signal may come before the sleep starts
            print("ready", flush=True)
            time.sleep(30)
        except KeyboardInterrupt:
            sys.exit(3)
    """)
    assert process.stdout.readline() == "ready\n"
    process.send_signal(signum)
    assert process.wait(60) == expected  # a loaded CI machine may take a while to exit


# ------------------------------------------------------------------- 5. limits


@pytest.mark.parametrize("user", USERS)
def test_memory_is_limited(user, nobody_python, area):
    found = inside(user, nobody_python, area, """
        import numpy as np
        def allocate(gib, make):
            try:
                make(int(gib * 2**30), dtype=np.uint8)
                return "allocated"
            except MemoryError:
                return "MemoryError"
        print(json.dumps({"30 GiB": allocate(30, np.ones), "6 GiB": allocate(6, np.empty),
                          "256 MiB": allocate(0.25, np.ones)}))
    """)
    # 6 GiB of untouched pages would be granted on this host (24 GiB of memory).
    assert found == {"30 GiB": "MemoryError", "6 GiB": "MemoryError", "256 MiB": "allocated"}


@pytest.mark.parametrize("user", USERS)
def test_fork_bomb_is_bounded(user, nobody_python, area):
    found = inside(user, nobody_python, area, """
        children = 0
        for _ in range(300):
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
            except BlockingIOError:
                break
            children += 1
        print(json.dumps({"children": children}))
    """, max_processes=32)
    assert 5 < found["children"] < 32


@pytest.mark.parametrize("user", USERS)
def test_file_size_is_limited(user, nobody_python, area):
    found = inside(user, nobody_python, area, """
        try:
            with open("/tmp/big", "wb") as handle:
                handle.write(bytes(2 << 20))
            outcome = "written"
        except OSError as error:
            outcome = error.strerror
        print(json.dumps({"outcome": outcome}))
    """, max_file_bytes=1 << 20)
    assert found["outcome"] == "File too large"


# --------------------------------------------------------------- 6. privileges


@pytest.mark.parametrize("user", USERS)
def test_no_privileges_left(user, nobody_python, area):
    found = inside(user, nobody_python, area, """
        import subprocess
        def status(text):
            return {k: v.strip() for k, v in (line.split(":", 1) for line in text.splitlines())
                    if k.startswith("Cap") or k == "NoNewPrivs"}
        with open("/proc/self/status") as handle:
            own = status(handle.read())
        child = status(subprocess.run(["cat", "/proc/self/status"], capture_output=True,
                                      text=True).stdout)
        try:
            os.setuid(0)
            setuid = "root"
        except OSError as error:
            setuid = error.strerror
        print(json.dumps({"own": own, "child": child, "uid": os.getuid(), "setuid": setuid}))
    """)
    for fields in (found["own"], found["child"]):
        assert fields.pop("NoNewPrivs") == "1"
        assert set(fields.values()) == {"0000000000000000"}, fields
    assert found["uid"] == (sandbox.SANDBOX_UID if user == "caller" and os.geteuid() == 0
                            else os.geteuid() if user == "caller" else NOBODY)
    # EINVAL where uid 0 is not even mapped (root callers), EPERM where it is.
    assert found["setuid"] in ("Operation not permitted", "Invalid argument")


# ----------------------------------------------------- 7. warm kernels (forked)


@pytest.mark.parametrize("user", USERS)
def test_forked_from_a_process_that_imported_torch(user, nobody_python, area):
    found = inside(user, nobody_python, area, """
        print(json.dumps({"sum": torch.ones(3).sum().item(), "pid": os.getpid(),
                          "threads_before_fork": threads}))
    """, prelude="""
        import torch
        torch.ones(256, 256) @ torch.ones(256, 256)
        threads = len(os.listdir("/proc/self/task"))
        child = os.fork()  # the zygote's fork: enter() runs in the single-threaded child
        if child:
            sys.exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
    """)
    assert found["sum"] == 3.0 and found["pid"] == 1
    assert found["threads_before_fork"] > 1


# ------------------------------------------------------- 8. a real kernel


@pytest.mark.parametrize("user", USERS)
def test_kernel_round_trip_over_ipc(user, nobody_python, area):
    from jupyter_client.blocking import BlockingKernelClient
    from jupyter_client.connect import write_connection_file

    prefix, env = _command(user, nobody_python, area)
    sock, private = area / "sock", area / "private"
    paths = subprocess.run([*prefix, "-c", "import json; from course_lib.grading import "
                            "sandbox; print(json.dumps(sandbox.python_paths()))"],
                           env=env, cwd="/", capture_output=True, text=True, check=True)
    spec = sandbox.Spec(readonly=(*json.loads(paths.stdout), str(area / "course")),
                        writable=((str(sock), str(sock)), (str(private), str(private))),
                        cwd=str(private))
    (area / "spec.json").write_text(spec.to_json())
    connection, _ = write_connection_file(str(sock / "kernel.json"), transport="ipc",
                                          ip=str(sock / "k"))
    if user == "nobody":
        os.chown(connection, NOBODY, NOBODY)
    env = {**env, "HOME": str(private), "MPLCONFIGDIR": str(private / ".mpl")}
    with open(area / "kernel.log", "wb") as log:  # read it when the kernel does not answer
        kernel = subprocess.Popen([*prefix, "-m", "course_lib.grading.sandbox", "--spec",
                                   str(area / "spec.json"), "--", prefix[-1], "-m",
                                   "ipykernel_launcher", "-f", connection], env=env, cwd="/",
                                  stdout=subprocess.DEVNULL, stderr=log)
    client = BlockingKernelClient()
    client.load_connection_file(connection)
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)  # generous: CI machines are loaded
        results = []

        def keep(message):
            if message["msg_type"] == "execute_result":
                results.append(message["content"]["data"]["text/plain"])

        reply = client.execute_interactive("1 + 1", output_hook=keep, timeout=20)
        assert reply["content"]["status"] == "ok" and results == ["2"]
        reply = client.execute_interactive(f"open({str(area / 'secret' / 'secret.txt')!r})",
                                           output_hook=keep, timeout=20)
        assert reply["content"]["ename"] == "FileNotFoundError"
        reply = client.execute_interactive(f"open({REPO + '/README.md'!r})",
                                           output_hook=keep, timeout=20)
        assert reply["content"]["ename"] == "FileNotFoundError"
        client.shutdown()
        assert kernel.wait(20) == 0
    finally:
        client.stop_channels()
        if kernel.poll() is None:
            kernel.kill()
            kernel.wait()


# ---------------------------------------------------------- 10. clear errors


def test_errors_name_the_failing_step(nobody_python, area):
    missing = inside("caller", nobody_python, area, "", readonly=["/nonexistent/data"])
    assert missing["error"] == ("sandbox: cannot open readonly path /nonexistent/data: "
                                "No such file or directory")
    cwd = inside("caller", nobody_python, area, "", cwd="/nowhere")
    assert cwd["error"] == ("sandbox: cannot enter the working directory /nowhere: "
                            "No such file or directory")
    threaded = inside("caller", nobody_python, area, "", prelude="""
        import threading
        threading.Thread(target=time.sleep, args=(5,), daemon=True).start()
    """)
    assert threaded["error"].startswith("sandbox: enter() needs a single-threaded process")


def test_run_returns_the_exit_code_and_reports_a_missing_command(area):
    spec = sandbox.Spec(readonly=(), writable=(), cwd="/")
    assert sandbox.run(spec, ["sh", "-c", "exit 7"]) == 7
    done = subprocess.run([sys.executable, "-c", "from course_lib.grading import sandbox; "
                           "import sys; sys.exit(sandbox.run(sandbox.Spec((), (), '/'), "
                           "['no-such-command']))"], capture_output=True, text=True)
    assert done.returncode == 127
    assert done.stderr == "sandbox: cannot run no-such-command: No such file or directory\n"
