#!/usr/bin/env bash
# The GPU benchmark, for an NVIDIA H100/H200 Linux machine with drivers but no internet and no Node.js
# (bench/gpu/README.md). Needs bench/gpu/bundle.tar.xz from bench/gpu/prepare.sh beside it.
#   bench/gpu/run.sh [--dtype fp16[,fp32]] [--models 1b,2b,4b]   the real run (< 8 minutes, one table)
#   bench/gpu/run.sh --tiny                                       script check on any Vulkan device (lavapipe)
# Fails loudly (non-zero exit, "FAIL" line) when the NVIDIA GPU is not the device that ran.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tiny=0 dtype=fp16 models=1b,2b,4b
while [ $# -gt 0 ]; do
  case "$1" in
    --tiny) tiny=1 ;;
    --dtype) dtype="$2"; shift ;;
    --models) models="$2"; shift ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
fail() { echo "gpu-bench: FAIL: $*" >&2; exit 1; }
[ -f "$here/bundle.tar.xz" ] || fail "$here/bundle.tar.xz is missing: run bench/gpu/prepare.sh on a machine with the checkout installed"
work="${MINIVL_GPU_WORK:-/tmp/minivl-gpu}"
mkdir -p "$work"
rm -rf "$work/minivl-gpu" && xz -dc "$here/bundle.tar.xz" | tar -C "$work" -xf -
app="$work/minivl-gpu"
node="$app/node/bin/node"
bench="$app/lib/bench/gpu-bench.mjs"
export LD_LIBRARY_PATH="$app/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ORT_DISABLE_TELEMETRY=1
# The fp16 weights (converted once from the bf16 checkpoints) go beside the checkpoints.
export MINIVL_CACHE="$work/cache"

require=()
if [ "$tiny" = 0 ]; then
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: no NVIDIA driver"
  nvidia-smi -L >&2 || fail "nvidia-smi sees no GPU"
  # Only NVIDIA's Vulkan driver may be found, so a software device (lavapipe) can never stand in.
  icd=""
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    [ -f "$f" ] && { icd="$f"; break; }
  done
  if [ -z "$icd" ]; then
    # The driver ships its Vulkan ICD in libGLX_nvidia.so.0; write the manifest the loader needs.
    ldconfig -p | grep -q 'libGLX_nvidia.so.0' || fail "no NVIDIA Vulkan driver (no nvidia_icd.json, no libGLX_nvidia.so.0)"
    icd="$work/nvidia_icd.json"
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"libGLX_nvidia.so.0","api_version":"1.3.0"}}\n' > "$icd"
  fi
  export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"
  require=(--require-gpu)
fi

echo "gpu-bench: $(uname -srm); $(nproc) CPUs; $(free -g | awk '/Mem:/{print $2}') GiB RAM; dtype $dtype; models $models" >&2
# Random checkpoints in the released format, written in parallel (kept between runs in $work/ckpt).
dirs=()
pids=()
for m in ${models//,/ }; do
  d="$work/ckpt/internvl2-$m$([ "$tiny" = 1 ] && echo -tiny)"
  dirs+=("$d")
  if [ ! -f "$d/config.json" ]; then
    rm -rf "$d"
    "$node" "$bench" write --like "internvl2-$m" --out "$d" $([ "$tiny" = 1 ] && echo --tiny) &
    pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p" || fail "writing a checkpoint failed"; done
echo "gpu-bench: checkpoints ready after ${SECONDS}s" >&2

models_args=()
for d in "${dirs[@]}"; do models_args+=(--model "$d"); done
timeout 420 "$node" "$bench" time "${models_args[@]}" --dtype "$dtype" $([ "$tiny" = 1 ] && echo --tiny) "${require[@]}" \
  || fail "the timing run failed or exceeded 7 minutes"
echo "gpu-bench: done in ${SECONDS}s" >&2
