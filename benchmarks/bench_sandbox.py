"""What the kernel sandbox costs: ``enter()`` against a plain fork, and the memory
(address space) an honest kernel needs under ``RLIMIT_AS``.

1. ``enter()``: a process forks a child that calls :func:`sandbox.enter` and exits at
   once; the baseline child only exits. Both are timed from ``fork()`` to the parent's
   ``waitpid()`` (median of ``--repeat``, the two interleaved), once in a bare Python and
   once after importing torch, numpy, matplotlib and ipykernel (a warm kernel's zygote:
   forking its larger address space costs more). The time ``enter()`` itself takes,
   from its call to its return inside, is reported by the sandboxed process.
2. Address space: inside a sandbox, the peak virtual memory (``VmPeak``) after
   ``import torch, numpy, matplotlib.pyplot, ipykernel.kernelapp`` and after a
   1000x1000 matrix product with 1 and with 4 torch threads, next to
   :attr:`Spec.memory_bytes`' default.

    python benchmarks/bench_sandbox.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from course_lib.grading import sandbox

SPEC = sandbox.Spec(readonly=sandbox.python_paths(), writable=(), cwd="/")


def _one(enter: bool) -> tuple[float, float]:
    """Fork a child that (optionally) enters a sandbox and exits: (total s, enter() s)."""
    read, write = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        began = time.perf_counter()
        if enter:
            sandbox.enter(SPEC, keep_fds=(write,))
        os.write(write, str(time.perf_counter() - began).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        inner = float(pipe.read())
    os.waitpid(pid, 0)
    return time.perf_counter() - start, inner


def enter_cost(repeat: int) -> dict[str, float]:
    plain, entered, inner = [], [], []
    for _ in range(repeat):
        plain.append(_one(False)[0])
        total, took = _one(True)
        entered.append(total)
        inner.append(took)
    return {"fork+exit ms": 1e3 * statistics.median(plain),
            "fork+enter()+exit ms": 1e3 * statistics.median(entered),
            "enter() alone ms": 1e3 * statistics.median(inner)}


PROBE = """
import os, json
def peak():
    with open("/proc/self/status") as handle:
        fields = dict(line.split(":", 1) for line in handle)
    return int(fields["VmPeak"].split()[0]) / 2**20  # GiB
import torch, numpy, matplotlib.pyplot, ipykernel.kernelapp
found = {"imports": peak()}
for threads in (1, 4):
    torch.set_num_threads(threads)
    torch.ones(1000, 1000) @ torch.ones(1000, 1000)
    found[f"matmul, {threads} threads"] = peak()
print(json.dumps(found))
"""


def address_space() -> dict[str, float]:
    code = ("from course_lib.grading import sandbox; import sys; sys.exit(sandbox.run("
            f"sandbox.Spec.from_json({SPEC.to_json()!r}), [sys.executable, '-c', {PROBE!r}]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "MPLBACKEND": "agg"})
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    reason = sandbox.available()
    if reason:
        print(reason)
        return 1
    print(f"user {os.geteuid()}, {args.repeat} runs each, medians")
    print("bare Python:       ", json.dumps(enter_cost(args.repeat)))
    import ipykernel.kernelapp  # noqa: F401
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401

    print("after the imports: ", json.dumps(enter_cost(args.repeat)))
    peaks = address_space()
    print(f"VmPeak inside, GiB (limit {SPEC.memory_bytes / 2**30:g} GiB):",
          json.dumps({k: round(v, 2) for k, v in peaks.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
