#!/usr/bin/env bash
# The prepared GPU check (benchmarks/gpu_check.py): <= 8 minutes on a CUDA machine; one line and exit 0 without.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python}" benchmarks/gpu_check.py "$@"
