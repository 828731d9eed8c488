#!/usr/bin/env bash
# Training throughput of the NAS-Bench-201 network (best CIFAR-10 cell, C=16, N=5, batch 64,
# random 32x32x3 inputs): burn (nasbo-train's bench_train example, release build) against
# PyTorch, on the same machine in one run. Prints images/s for both and the ratio.
#
#   benchmarks/train/run.sh [--device cpu|wgpu] [--steps N] [--warmup N]
#
# --device wgpu builds burn with the `wgpu` feature and runs PyTorch on CUDA when it has one.
# PyTorch is pip-installed into $TORCH_VENV (default benchmarks/train/.venv) on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."

device=cpu steps=20 warmup=3
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done

venv="${TORCH_VENV:-benchmarks/train/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  # PyPI's Linux wheels of torch run on the CPU (CUDA libraries come along but stay unused).
  "$venv/bin/pip" install -q torch numpy
fi

features=""
torch_device=cpu
if [ "$device" = wgpu ]; then
  features="--features wgpu"
  if "$venv/bin/python" -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    torch_device=cuda
  fi
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-train}"
# shellcheck disable=SC2086
cargo build --release -q -p nasbo-train --example bench_train $features
burn_out=$("$CARGO_TARGET_DIR/release/examples/bench_train" --device "$device" --steps "$steps" --warmup "$warmup")
echo "$burn_out"
torch_out=$("$venv/bin/python" benchmarks/train/bench_torch.py --device "$torch_device" --steps "$steps" --warmup "$warmup")
echo "$torch_out"
burn_ips=$(echo "$burn_out" | awk '/^images_per_s/ {print $2}')
torch_ips=$(echo "$torch_out" | awk '/^images_per_s/ {print $2}')
python3 -c "print(f'burn {$burn_ips:.1f} images/s, torch {$torch_ips:.1f} images/s, ratio burn/torch {$burn_ips/$torch_ips:.2f}')"
