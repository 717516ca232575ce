"""The cluster job files in docs/cluster/ stay runnable: they are run here by the real
shell with stand-ins for ``course``, ``sbatch`` and the environment, and every
``course grade`` command they issue must be one the real argument parser accepts, with
the shard indices a scheduler hands out."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import yaml

from course_lib.cli import build_parser
from course_lib.grading import shards

DOCS = Path(__file__).resolve().parents[1] / "docs"

RECORDER = """#!/usr/bin/env python3
import json, sys
with open({log!r}, "a") as log:
    log.write(json.dumps([{name!r}, *sys.argv[1:]]) + "\\n")
"""


def _stand_ins(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ``course`` and ``sbatch`` only record their arguments."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    for name in ("course", "sbatch"):
        path = bin_dir / name
        path.write_text(RECORDER.format(log=str(log), name=name))
        path.chmod(0o755)
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "activate").write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "COURSE_VENV": str(tmp_path / "venv"), "HOME": str(tmp_path)}
    return env, log


def _calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _grade_args(words: list[str]):
    assert words[:2] == ["course", "grade"], words
    return build_parser().parse_args(words[1:])


def test_slurm_array_task_runs_its_shard_and_queues_the_merge(tmp_path):
    script = DOCS / "cluster" / "grade-slurm.sh"
    count = int(re.search(r"#SBATCH --array=0-(\d+)", script.read_text()).group(1)) + 1
    env, log = _stand_ins(tmp_path)
    for task in (0, count - 1):
        env.update(SLURM_ARRAY_TASK_ID=str(task), SLURM_ARRAY_TASK_COUNT=str(count),
                   SLURM_ARRAY_JOB_ID="4242", SLURM_CPUS_PER_TASK="8")
        subprocess.run(["bash", str(script)], env=env, check=True)
    calls = _calls(log)
    shard_runs = [_grade_args(call) for call in calls if call[0] == "course"]
    assert [shards.parse(args.shard) for args in shard_runs] == [(0, count), (count - 1, count)]
    assert all(args.jobs == 8 and args.slugs == ["02_sigmoid_saturation"] for args in shard_runs)
    (merge_job,) = [call for call in calls if call[0] == "sbatch"]  # task 0 only
    assert "--dependency=afterok:4242" in merge_job
    wrapped = next(arg for arg in merge_job if arg.startswith("--wrap="))
    merge = _grade_args(shlex.split(wrapped.removeprefix("--wrap=").split("&&")[-1]))
    assert merge.merge and merge.slugs == ["02_sigmoid_saturation"]


def test_slurm_script_refuses_to_run_outside_an_array(tmp_path):
    env, _ = _stand_ins(tmp_path)
    env.pop("SLURM_ARRAY_TASK_ID", None)
    done = subprocess.run(["bash", str(DOCS / "cluster" / "grade-slurm.sh")], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "job array" in done.stderr


def _container(path: Path) -> tuple[dict, dict]:
    job = yaml.safe_load(path.read_text())
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    return job, job["spec"]["template"]["spec"]["containers"][0]


def test_kubernetes_indexed_job_pods_run_their_shards(tmp_path):
    job, container = _container(DOCS / "cluster" / "grade-job.yaml")
    assert job["spec"]["completionMode"] == "Indexed"
    count = job["spec"]["completions"]
    env, log = _stand_ins(tmp_path)
    for index in range(count):
        subprocess.run([*container["command"], *container["args"]],
                       env={**env, "JOB_COMPLETION_INDEX": str(index)}, check=True)
    parsed = [_grade_args(call) for call in _calls(log)]
    assert [shards.parse(args.shard) for args in parsed] == [(i, count) for i in range(count)]
    assert {args.course_dir for args in parsed} == {container["volumeMounts"][0]["mountPath"]}


def test_kubernetes_merge_job_merges(tmp_path):
    _, container = _container(DOCS / "cluster" / "grade-merge.yaml")
    env, log = _stand_ins(tmp_path)
    subprocess.run([*container["command"], *container["args"]], env=env, check=True)
    (call,) = _calls(log)
    assert _grade_args(call).merge


def test_the_instructors_guide_links_the_job_files():
    guide = (DOCS / "instructors.md").read_text()
    for name in ("grade-slurm.sh", "grade-job.yaml", "grade-merge.yaml"):
        assert f"(cluster/{name})" in guide
