#!/usr/bin/env bash
# One prepared GPU run (about 8 minutes on one GPU, no data needed): every full-size model's
# training step under fp16 AMP / bf16 / channels-last / torch.compile, the loader's wait share,
# evaluation at OU-MVLP size, and each full recipe's projected wall time. See benchmarks/gpu.py.
#
#   bash benchmarks/gpu.sh             # on the GPU machine; output also in results/gpu/<date>.txt
#   bash benchmarks/gpu.sh --dry-run   # the same code on the CPU, tiny sizes, in seconds
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [[ "${1:-}" == "--dry-run" ]]; then
    exec python3 benchmarks/gpu.py --dry-run
fi
mkdir -p results/gpu
out="results/gpu/$(date -u +%Y%m%d-%H%M%S).txt"
timeout 480 python3 benchmarks/gpu.py "$@" 2>&1 | tee "$out.tmp"
mv "$out.tmp" "$out"
echo "written: $out"
