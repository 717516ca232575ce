#!/bin/bash
# Grade one assignment as a Slurm job array: one shard per array task, then one merge.
#
#   sbatch docs/cluster/grade-slurm.sh                     # submits the array and the merge
#
# Assumes the course directory is on a filesystem every node mounts (home, /scratch,
# NFS) and a Python environment with the course installed (pip install -e .) there too.
# Each task writes only under shards/<i>-of-<n>/; a task that dies or is preempted can
# simply be resubmitted: it resumes and grades only what it had not finished.
#SBATCH --job-name=grade-shards
#SBATCH --array=0-9
#SBATCH --cpus-per-task=8
#SBATCH --mem=8G
#SBATCH --time=02:00:00
#SBATCH --output=grade-%A_%a.out
set -euo pipefail

COURSE_DIR=${COURSE_DIR:-$HOME/course-2026}
ASSIGNMENT=${ASSIGNMENT:-02_sigmoid_saturation}
source "${COURSE_VENV:-$HOME/course-venv}/bin/activate"

if [[ -z "${SLURM_ARRAY_TASK_ID:-}" ]]; then
    echo "submit with sbatch: this script runs as a job array" >&2
    exit 2
fi

# Task 0 also queues the merge, to run once every task of the array has succeeded.
if [[ "$SLURM_ARRAY_TASK_ID" == 0 ]]; then
    sbatch --dependency="afterok:${SLURM_ARRAY_JOB_ID}" --job-name=grade-merge \
        --output=grade-merge-%j.out --time=00:30:00 \
        --wrap="source ${COURSE_VENV:-$HOME/course-venv}/bin/activate && course grade ${ASSIGNMENT} --course-dir ${COURSE_DIR} --merge"
fi

course grade "$ASSIGNMENT" --course-dir "$COURSE_DIR" \
    --shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}" \
    --jobs "$SLURM_CPUS_PER_TASK" --no-progress
