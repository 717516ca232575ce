"""The cluster job files in docs/cluster/ stay runnable: they are run here by the real
shell with stand-ins for ``course``, ``sbatch`` and the environment, and every
``course grade`` command they issue must be one the real argument parser accepts, with
the shard indices a scheduler hands out."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import yaml

from course_lib.cli import build_parser
from course_lib.grading.scale import shards

DOCS = Path(__file__).resolve().parents[1] / "docs"

RECORDER = """#!/usr/bin/env python3
import json, sys
with open({log!r}, "a") as log:
    log.write(json.dumps([{name!r}, *sys.argv[1:]]) + "\\n")
if {name!r} == "sbatch" and "--parsable" in sys.argv:
    print("4242")
"""


def _stand_ins(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment whose ``course`` and ``sbatch`` only record their arguments."""
    venv_bin, log = tmp_path / "venv" / "bin", tmp_path / "calls.jsonl"
    venv_bin.mkdir(parents=True)
    for name in ("course", "sbatch"):
        path = venv_bin / name
        path.write_text(RECORDER.format(log=str(log), name=name))
        path.chmod(0o755)
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}",
           "COURSE_VENV": str(tmp_path / "venv"), "HOME": str(tmp_path)}
    for name in list(env):
        if name.startswith("SLURM_"):
            del env[name]
    return env, log


def _calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def _grade_args(words: list[str]):
    assert Path(words[0]).name == "course" and words[1] == "grade", words
    return build_parser().parse_args(words[1:])


SLURM = DOCS / "cluster" / "grade-slurm.sh"


def test_slurm_script_submits_the_array_and_a_merge_that_waits_for_it(tmp_path):
    env, log = _stand_ins(tmp_path)
    done = subprocess.run(["bash", str(SLURM)], env={**env, "SHARDS": "4"},
                          capture_output=True, text=True, check=True)
    assert "submitted shards (job 4242)" in done.stdout
    array, merge_job = _calls(log)
    assert array[:3] == ["sbatch", "--parsable", "--array=0-3"] and array[3] == str(SLURM)
    assert "--dependency=afterok:4242" in merge_job
    wrapped = next(arg for arg in merge_job if arg.startswith("--wrap="))
    merge = _grade_args(shlex.split(wrapped.removeprefix("--wrap=")))
    assert merge.merge and merge.slugs == ["02_sigmoid_saturation"]


def test_slurm_tasks_run_their_shard_even_when_resubmitted_alone(tmp_path):
    env, log = _stand_ins(tmp_path)
    for task, array_size in ((0, "4"), (3, "4"), (3, "1")):  # the last: sbatch --array=3
        subprocess.run(["bash", str(SLURM)], check=True, env={
            **env, "SHARDS": "4", "SLURM_ARRAY_TASK_ID": str(task),
            "SLURM_ARRAY_TASK_COUNT": array_size, "SLURM_CPUS_PER_TASK": "8"})
    runs = [_grade_args(call) for call in _calls(log)]
    assert [shards.parse(args.shard) for args in runs] == [(0, 4), (3, 4), (3, 4)]
    assert all(args.jobs == 8 and args.slugs == ["02_sigmoid_saturation"] for args in runs)


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
