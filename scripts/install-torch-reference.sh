#!/usr/bin/env bash
# Install the CPU build of PyTorch into the venv for the reference tests (test_nn_* compare our
# gradients and optimiser steps with torch's), only from a wheel already on this machine:
# a plain `pip install torch` would download a multi-GB CUDA build. Without it those tests skip.
set -euo pipefail
python="${1:?usage: install-torch-reference.sh VENV_PYTHON}"
if "$python" -c "import torch" 2>/dev/null; then
  exit 0
fi
wheel=$(ls /opt/wheels/torch-2.13.0*cpu*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
  echo "install-torch-reference: no local CPU wheel of torch; the PyTorch reference tests will skip" >&2
  exit 0
fi
"$python" -m pip install -q "$wheel" || echo "install-torch-reference: install failed; reference tests will skip" >&2
