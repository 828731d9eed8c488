#!/bin/bash
# A Slurm job array of nasbo workers on one PostgreSQL study: each array task is one worker
# with one GPU; they share the study through the database and need nothing else.
#
#   export NASBO_STUDY='postgres://nasbo@db-host:5432/nasbo?study=cifar-bo'
#   sbatch --export=ALL examples/cluster/slurm.sh
#   nasbo export --study "$NASBO_STUDY" --out runs/cifar-bo.jsonl   # look at it any time
#
# Tasks may start late, die or be preempted: a dead worker's trial is handed to another after
# --heartbeat-s of silence, and each task exits 0 once the study's budget is spent.
#SBATCH --job-name=nasbo-workers
#SBATCH --array=0-7
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
#SBATCH --output=nasbo-worker-%A-%a.log
set -euo pipefail
: "${NASBO_STUDY:?set NASBO_STUDY to postgres://USER@HOST:PORT/DB?study=NAME}"
exec nasbo worker --study "$NASBO_STUDY" \
    --space-file "${NASBO_SPACE_FILE:-examples/command-trainer/mlp.toml}" \
    --evaluator command \
    --command "${NASBO_COMMAND:-python3 examples/command-trainer/train.py --arch {arch} --seed {seed} --out {trial_dir}}" \
    --strategy bo --budget 200 --seed 0 \
    --heartbeat-s 120 --max-retries 3
