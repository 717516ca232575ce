#!/bin/bash
# Grade one assignment on a Slurm cluster: a job array with one shard per task, then a
# merge that runs once every task has succeeded.
#
#   bash docs/cluster/grade-slurm.sh          # on the login node: submits both jobs
#
# Settings (environment variables): COURSE_DIR, ASSIGNMENT, SHARDS, COURSE_VENV.
# The course directory and the virtual environment (pip install -e . inside it) must be
# on a filesystem every node mounts. Each task writes only under
# shards/<assignment>/<i>-of-<SHARDS>/.
#
# A task that failed or was preempted: cancel the pending merge (scancel), resubmit
# that task alone (sbatch --array=<i> docs/cluster/grade-slurm.sh; it resumes, grading
# only what it had not finished), then merge by hand:
#   course grade <assignment> --course-dir <dir> --merge
#SBATCH --job-name=grade-shards
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=02:00:00
#SBATCH --output=grade-%A_%a.out
set -euo pipefail

COURSE_DIR=${COURSE_DIR:-$HOME/course-2026}
ASSIGNMENT=${ASSIGNMENT:-02_sigmoid_saturation}
SHARDS=${SHARDS:-10}  # the same on every task, whatever the array it was resubmitted in
COURSE_VENV=${COURSE_VENV:-$HOME/course-venv}
export COURSE_DIR ASSIGNMENT SHARDS COURSE_VENV

if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    # On the login node: the array, then the merge that waits for all of it.
    array=$(sbatch --parsable --array="0-$((SHARDS - 1))" "$0")
    sbatch --dependency="afterok:${array%%;*}" --job-name=grade-merge \
        --output=grade-merge-%j.out --time=00:30:00 \
        --wrap="\"$COURSE_VENV/bin/course\" grade \"$ASSIGNMENT\" --course-dir \"$COURSE_DIR\" --merge"
    echo "submitted shards (job $array) and their merge"
    exit 0
fi

"$COURSE_VENV/bin/course" grade "$ASSIGNMENT" --course-dir "$COURSE_DIR" \
    --shard "${SLURM_ARRAY_TASK_ID}/${SHARDS}" --jobs "$SLURM_CPUS_PER_TASK" --no-progress
