#!/usr/bin/env bash
# One GPU benchmark, offline, <= 8 minutes: encoder training steps/s (batch 512 x 32 tokens,
# bf16) and generation tokens/s (transformers backend at batch 1/32/128, with and without a
# LoRA adapter, and the seed-style loop), printed as one table. See bench/gpu.py.
#
#   bash bench/gpu.sh            # full shapes, on a lent accelerator
#   bash bench/gpu.sh --small    # tiny shapes on CPU (seconds)
#
# Needs torch, transformers, peft and tokenizers, and tripletforge's own light dependencies
# (pydantic, platformdirs, langcodes). A machine without the latter can be given them as a
# folder: `pip install --target .gpu-site --no-deps pydantic pydantic-core annotated-types
# typing-inspection platformdirs langcodes` (same Python version), carried with the tree;
# this script puts .gpu-site on the path when it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .gpu-site ]; then
    export PYTHONPATH="$PYTHONPATH:$PWD/.gpu-site"
fi
PYTHON="${PYTHON:-python}"
# the table is printed at the end; the limit keeps the whole run inside 8 minutes
exec timeout 470 "$PYTHON" bench/gpu.py "$@"
