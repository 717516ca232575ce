"""Warm kernels: every submission's kernel forked from one that has done its imports.

Measured on the course's notebooks, each submission spent about 0.8 s starting a
Python kernel and 2 s (5 s on a cold cache) importing torch, numpy, matplotlib and
IPython in its first cell: a quarter of its time. A grading worker therefore starts
one *zygote* process that imports all of that once, and nbgrader's kernels become
``os.fork()`` copies of it:

* the kernelspec ``course-warm-python3`` runs a tiny *launcher* (``launch``) in place
  of ``python -m ipykernel_launcher``; jupyter_client starts, signals and kills it as
  it would a kernel;
* the launcher hands its stdin/stdout/stderr, working directory, environment and
  command line to the zygote over a Unix socket; the zygote forks, and the child
  takes them over and runs ipykernel's ``IPKernelApp`` exactly as
  ``ipykernel_launcher`` does, in a session of its own;
* the launcher forwards interrupts to the child and exits with its exit code; if the
  launcher dies (jupyter_client's kill), a pipe closes and the child exits at once;
* once ipykernel has shut down (every reply sent), the child leaves with ``os._exit``,
  skipping the interpreter's teardown, which for a kernel that imported torch took
  about a second (see the benchmark in ``docs/instructors.md``).

Isolation is that of a fresh process: the zygote never runs a notebook, each kernel
is a new fork, the environment and working directory are the launcher's, NumPy's
global random state is reseeded from the OS (Python's ``random`` reseeds itself
after a fork), and the zygote sets ``MPLBACKEND`` before importing matplotlib exactly
as ipykernel would. It accepts only connections from its own user. Wherever any of
this is unavailable (no zygote, not Linux), the launcher becomes a plain
``ipykernel_launcher``, so grading never depends on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import sys

#: Name of the kernelspec the workers use.
KERNEL_NAME = "course-warm-python3"
#: Environment variable naming the zygote's (abstract) socket.
ZYGOTE_ENV = "COURSE_KERNEL_ZYGOTE"
#: What ipykernel sets ``MPLBACKEND`` to when it is unset.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Imported once by the zygote: the kernel itself and what course notebooks import first.
PRELOAD = ("ipykernel.kernelapp", "numpy", "torch", "torch.nn", "torch.nn.functional",
           "matplotlib", "matplotlib.pyplot", "tqdm.auto", "nbformat")

_HEADER = struct.Struct("!I")


def supported() -> bool:
    """Warm kernels need fork, fd passing and abstract Unix sockets (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "send_fds")


def launcher_argv(sandbox_spec: str | None = None) -> list[str]:
    """The kernelspec argv of a warm kernel (in the sandbox ``sandbox_spec`` names)."""
    argv = [sys.executable, "-m", "course_lib.grading.scale.warm_kernels", "launch"]
    if sandbox_spec:
        argv += ["--spec", sandbox_spec]
    return [*argv, "-f", "{connection_file}"]


def kernelspec(folder: os.PathLike | str, sandbox_spec: str | None = None) -> str:
    """Write the warm kernelspec under ``folder/kernels/`` and return its name.

    Put ``folder`` first on ``JUPYTER_PATH`` for jupyter_client to find it.
    """
    spec = os.path.join(os.fspath(folder), "kernels", KERNEL_NAME)
    os.makedirs(spec, exist_ok=True)
    with open(os.path.join(spec, "kernel.json"), "w", encoding="utf-8") as handle:
        json.dump({"argv": launcher_argv(sandbox_spec),
                   "display_name": "Python 3 (ipykernel, pre-imported)", "language": "python",
                   "metadata": {"debugger": True}}, handle)
    return KERNEL_NAME


# ------------------------------------------------------------------- the launcher


def _plain_kernel(argv: list[str], sandbox_spec: str | None) -> None:
    command = [sys.executable, "-m", "ipykernel_launcher", *argv]
    if sandbox_spec:  # a cold kernel, in the same sandbox
        command = [sys.executable, "-m", "course_lib.grading.sandbox", "--spec", sandbox_spec,
                   "--", *command]
    os.execv(sys.executable, command)


def _read_message(reader) -> dict | None:
    """One JSON line from the zygote (None when it hung up)."""
    line = reader.readline()
    return json.loads(line) if line.endswith(b"\n") else None


def launch(argv: list[str]) -> int:
    """Stand in for ``ipykernel_launcher``: have the zygote fork a kernel for us."""
    import signal

    sandbox_spec = None
    if argv[:1] == ["--spec"]:
        sandbox_spec, argv = argv[1], argv[2:]
    address = os.environ.get(ZYGOTE_ENV)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if not address or not supported():
            raise OSError("no zygote")
        connection.connect("\0" + address)
    except OSError:
        _plain_kernel(argv, sandbox_spec)
    # Signals that arrive before the kernel exists are held, then passed on.
    child, pending = 0, []

    def forward(signum, _frame) -> None:
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signum)
        else:
            pending.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, forward)
    # The write end stays open for as long as this launcher lives, whoever kills it.
    death_read, _death_write = os.pipe()
    request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ),
                          "sandbox": sandbox_spec}).encode()
    socket.send_fds(connection, [_HEADER.pack(len(request))], [0, 1, 2, death_read])
    connection.sendall(request)
    os.close(death_read)
    reader = connection.makefile("rb")
    started = _read_message(reader)
    if not started:
        return 1
    child = started["pid"]
    for signum in pending:
        forward(signum, None)
    ended = _read_message(reader)
    if not ended:  # the zygote died: take the kernel down with us
        forward(signal.SIGKILL, None)
        return 1
    return ended["exit"] if ended["exit"] >= 0 else 1


# --------------------------------------------------------------------- the zygote


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _, _ = socket.recv_fds(connection, _HEADER.size, 4)
    while len(header) < _HEADER.size:
        header += connection.recv(_HEADER.size - len(header))
    (size,) = _HEADER.unpack(header)
    payload = b""
    while len(payload) < size:
        chunk = connection.recv(size - len(payload))
        if not chunk:
            raise ConnectionError("launcher hung up")
        payload += chunk
    if len(fds) != 4:
        raise ConnectionError(f"expected 4 file descriptors, got {len(fds)}")
    return json.loads(payload), fds


def _same_user(connection: socket.socket) -> bool:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                        struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", credentials)
    return uid == os.getuid()


def _exit_when_closed(fd: int) -> None:
    """Block until the launcher's end of the pipe closes (it exited or was killed)."""
    while os.read(fd, 1):
        pass
    os._exit(1)


def _become_kernel(request: dict, fds: list[int], home: str,
                   sockets: tuple[socket.socket, ...]) -> None:
    """In the forked child: take over the launcher's identity and run ipykernel."""
    import threading

    import numpy as np

    code = 1
    try:
        for own in sockets:
            own.close()
        os.setsid()
        for target, fd in zip((0, 1, 2), fds[:3]):
            os.dup2(fd, target)
        for fd in fds[:3]:
            os.close(fd)
        os.chdir(request["cwd"])
        env = request["env"]
        if request.get("sandbox"):
            env = _enter_sandbox(request["sandbox"], env, fds[3])
        threading.Thread(target=_exit_when_closed, args=(fds[3],), daemon=True).start()
        os.environ.clear()
        os.environ.update(env)
        if sys.path and sys.path[0] == home:
            sys.path[0] = os.getcwd()
        np.random.seed()  # noqa: NPY002 (the legacy global state students use: fresh seed)
        from ipykernel import kernelapp

        argv = list(request["argv"])
        if os.environ.get("JPY_PARENT_PID"):  # ipykernel reads it at import time: pass it on
            argv.append(f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}")
        sys.argv = [kernelapp.__file__, *argv]
        kernelapp.IPKernelApp.launch_instance(argv=argv)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _enter_sandbox(spec_file: str, env: dict, keep: int) -> dict:
    """Move this (single-threaded) forked child into the sandbox ``spec_file`` describes;
    the environment the kernel gets there.

    This process stays outside as the sandbox's reaper; what returns is its PID 1. The
    grading edition of course_lib, first on the sandbox's ``PYTHONPATH``, replaces the
    full one this zygote imported: its modules are forgotten, so the kernel imports the
    edition's.
    """
    import importlib

    from course_lib.grading import sandbox

    with open(spec_file, encoding="utf-8") as handle:
        spec = sandbox.Spec.from_json(handle.read())
    sandbox.enter(spec, keep_fds=(keep,))
    env = spec.env_for(env)
    for name in [n for n in sys.modules if n == "course_lib" or n.startswith("course_lib.")]:
        del sys.modules[name]
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [*extra, *(p for p in sys.path if p not in extra)]
    importlib.invalidate_caches()
    return env


def _fork_kernel(others: tuple[socket.socket, ...], connection: socket.socket, home: str
                 ) -> int:
    """Fork one kernel for one launcher and tell the launcher its pid.

    The child closes ``others`` (the listener, other launchers' connections): a kernel
    must not be able to take or answer another launcher's calls.
    """
    request, fds = _receive(connection)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _become_kernel(request, fds, home, (*others, connection))
    for fd in fds:
        os.close(fd)
    with contextlib.suppress(OSError):
        connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    return pid


def _report_exit(connection: socket.socket, pid: int, waiting: set[socket.socket]) -> None:
    """Wait for a kernel to end; tell its launcher the exit code."""
    _, status = os.waitpid(pid, 0)
    with contextlib.suppress(OSError):  # a killed launcher took the kernel with it
        connection.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode()
                           + b"\n")
    waiting.discard(connection)
    connection.close()


def serve(address: str) -> None:
    """Import :data:`PRELOAD`, then fork a kernel for each launcher that calls.

    Forks happen in the main thread; a thread per kernel waits for it to end (threads
    blocked in ``waitpid`` hold no lock a forked child could inherit).
    """
    import importlib
    import threading

    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for module in (*PRELOAD, "course_lib.grading.sandbox"):
        importlib.import_module(module)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind("\0" + address)
    listener.listen(16)
    print("ready", flush=True)
    home = sys.path[0] if sys.path else ""
    waiting: set[socket.socket] = set()  # launchers of running kernels
    while True:
        connection, _ = listener.accept()
        try:
            if not _same_user(connection):
                connection.close()
                continue
            pid = _fork_kernel((listener, *waiting), connection, home)
        except (OSError, ValueError, ConnectionError) as error:
            print(f"zygote: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            connection.close()
            continue
        waiting.add(connection)
        threading.Thread(target=_report_exit, args=(connection, pid, waiting),
                         daemon=True).start()


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"] and len(argv) == 2:
        serve(argv[1])
        return 0
    if argv[:1] == ["launch"]:
        return launch(argv[1:])
    print("usage: python -m course_lib.grading.scale.warm_kernels serve ADDRESS | launch -f FILE",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
