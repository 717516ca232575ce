"""Warm kernels behave like freshly started ones: their own directory, environment,
seed and session, interrupts and kills reach them, and nothing outlives them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_lib.grading.processes import process_tree
from course_lib.grading.scale import warm_kernels


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    """A running zygote and the environment that makes jupyter_client use it."""
    folder = tmp_path_factory.mktemp("kernels")
    address = f"course-zygote-test-{os.getpid()}-{os.urandom(4).hex()}"
    warm_kernels.kernelspec(folder)
    process = subprocess.Popen([sys.executable, "-m", "course_lib.grading.scale.warm_kernels",
                                "serve", address], stdout=subprocess.PIPE, text=True,
                               cwd=folder, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert process.stdout.readline().strip() == "ready"
    env = {"JUPYTER_PATH": str(folder), warm_kernels.ZYGOTE_ENV: address}
    yield process, env
    process.kill()
    process.wait()


def _start(env: dict, cwd: Path, extra_env: dict | None = None):
    from jupyter_client.manager import KernelManager

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        manager = KernelManager(kernel_name=warm_kernels.KERNEL_NAME)
        manager.start_kernel(cwd=str(cwd), env={**os.environ, **(extra_env or {})})
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, client


def _run(client, code: str, timeout: float = 30) -> tuple[str, dict]:
    """Execute ``code``; its stdout and the reply's content."""
    out = []
    reply = client.execute_interactive(
        code, timeout=timeout,
        output_hook=lambda msg: out.append(msg["content"].get("text", "")))
    return "".join(out), reply["content"]


def test_a_warm_kernel_is_a_fresh_process_in_the_submissions_folder(zygote, tmp_path):
    _, env = zygote
    (tmp_path / "helper_module.py").write_text("VALUE = 41\n")
    first, client = _start(env, tmp_path, {"NBGRADER_EXECUTION": "autograde"})
    second, other = _start(env, tmp_path)
    try:
        out, reply = _run(client, (
            "import os, sys, numpy as np\n"
            "import helper_module\n"
            "print(os.getcwd(), helper_module.VALUE + 1, os.environ.get('NBGRADER_EXECUTION'),"
            " 'torch' in sys.modules, os.getsid(0) == os.getpid())\n"
            "print(np.random.randint(2**31))"))
        assert reply["status"] == "ok", reply
        lines = out.split("\n")
        assert lines[0] == f"{tmp_path} 42 autograde True True"  # warm: torch imported
        out_other, _ = _run(other, "import numpy as np, os\nprint(np.random.randint(2**31))\n"
                                   "print(os.environ.get('NBGRADER_EXECUTION'))")
        seed_other, flag_other = out_other.split("\n")[:2]
        assert seed_other != lines[1]  # each kernel draws its own seed
        assert flag_other == "None"  # no environment leaks from one kernel to the next
    finally:
        for manager, kernel_client in ((first, client), (second, other)):
            kernel_client.stop_channels()
            manager.shutdown_kernel(now=True)


def test_interrupts_reach_the_kernel_and_a_kill_leaves_nothing(zygote, tmp_path):
    process, env = zygote
    manager, client = _start(env, tmp_path)
    try:
        msg_id = client.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(60)")
        while True:  # interrupt only once the cell is really running, however loaded we are
            message = client.get_iopub_msg(timeout=60)
            if message["parent_header"].get("msg_id") == msg_id and \
                    message["content"].get("text", "").startswith("sleeping"):
                break
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=60)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        out, _ = _run(client, "print('still alive')")
        assert out.strip() == "still alive"
        kernels = process_tree(process.pid)
        assert kernels, "the kernel is a child of the zygote"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)  # SIGKILL to the launcher
    deadline = time.monotonic() + 30
    while process_tree(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process_tree(process.pid) == []
    assert process.poll() is None  # the zygote serves on


def test_without_a_zygote_the_launcher_starts_a_plain_kernel(tmp_path):
    folder = tmp_path / "kernels"
    warm_kernels.kernelspec(folder)
    env = {"JUPYTER_PATH": str(folder), warm_kernels.ZYGOTE_ENV: "no-such-zygote"}
    manager, client = _start(env, tmp_path)
    try:
        out, reply = _run(client, "import sys\nprint('torch' in sys.modules)")
        assert reply["status"] == "ok" and out.strip() == "False"  # cold, but it works
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_launcher_usage_error():
    done = subprocess.run([sys.executable, "-m", "course_lib.grading.scale.warm_kernels"],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "usage:" in done.stderr


@pytest.mark.skipif(__import__("course_lib.grading.sandbox", fromlist=["x"]).available()
                    is not None and not os.environ.get("COURSE_REQUIRE_SANDBOX"),
                    reason="cannot sandbox here")
def test_a_warm_kernel_enters_its_submissions_sandbox(zygote, tmp_path):
    """Forked from the zygote, the kernel moves into the job's sandbox before ipykernel
    starts: a private copy of its folder, the grading edition's course_lib (no
    references), nothing of the host's files, and still torch already imported."""
    from jupyter_client.manager import KernelManager

    from course_lib.grading import isolation

    _, env = zygote
    scratch = isolation.new_folder(Path("/tmp"), "warm-test-")
    try:
        edition = isolation.write_grading_edition(isolation.new_folder(scratch, "edition-"))
        confine = isolation.Isolation(edition, secrets=(scratch, tmp_path))
        cwd = scratch / "autograded" / "alice" / "a"
        cwd.mkdir(parents=True)
        (cwd / "helper_module.py").write_text("VALUE = 41\n")
        sockets = isolation.new_folder(Path("/tmp"), "cg-")
        handins = isolation.new_folder(scratch, "handin-")
        spec_file = scratch / "spec.json"
        spec_file.write_text(confine.kernel_spec(cwd, sockets, handins).to_json())
        kernels = scratch / "kernels"
        warm_kernels.kernelspec(kernels, str(spec_file))
        saved = os.environ.get("JUPYTER_PATH"), os.environ.get(warm_kernels.ZYGOTE_ENV)
        os.environ.update({"JUPYTER_PATH": str(kernels),
                           warm_kernels.ZYGOTE_ENV: env[warm_kernels.ZYGOTE_ENV]})
        try:
            manager = KernelManager(kernel_name=warm_kernels.KERNEL_NAME, transport="ipc",
                                    ip=str(sockets / "k"),
                                    connection_file=str(sockets / "kernel.json"))
            manager.start_kernel(cwd=str(cwd))
        finally:
            for key, value in zip(("JUPYTER_PATH", warm_kernels.ZYGOTE_ENV), saved):
                os.environ.pop(key, None) if value is None else os.environ.update({key: value})
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            out, reply = _run(client, (
                "import os, sys, importlib.util, helper_module, course_lib\n"
                "open('written.txt', 'w').write('x')\n"
                "print(helper_module.VALUE + 1, os.getpid(), 'torch' in sys.modules,\n"
                "      importlib.util.find_spec('course_lib.reference') is None,\n"
                f"      os.path.exists({str(tmp_path)!r}), course_lib.__file__.startswith("
                f"{str(edition)!r}), os.environ.get('COURSE_HANDIN_DIR'))"))
            assert reply["status"] == "ok", reply
            assert out.split() == ["42", "1", "True", "True", "False", "True", "/course-handin"]
            assert not (cwd / "written.txt").exists()  # the kernel's copy, not the host's
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
            isolation.remove(sockets)
    finally:
        isolation.remove(scratch)
