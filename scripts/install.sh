#!/usr/bin/env bash
# Create ./.venv (or $VENV) and install mario-rllib into it, with the test and video extras.
#
# torch is installed first, and on its own, so that pip does not resolve the project's `torch`
# requirement to a multi-GB CUDA build on a machine without a GPU:
#   TORCH_SPEC    what to install for torch (default: torch==2.13.0, a CPU wheel)
#   TORCH_INDEX   an extra package index for torch, e.g. PyTorch's CUDA wheel index for your driver
#   PYTHON        the interpreter (default: the first of python3.11, python3.12, python3.13, python3)
# Needs Python 3.11, 3.12 or 3.13 with venv, and a C++ compiler (the fast emulator core; nes-py 8.2.1
# builds from source; 3.13 takes nes-py 9.0.1's wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  for PYTHON in python3.11 python3.12 python3.13 python3; do
    "$PYTHON" -V >/dev/null 2>&1 && break
  done
fi
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

"$PYTHON" -c 'import sys; v = sys.version.split()[0]; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else f"mario-rllib needs Python 3.11, 3.12 or 3.13, found {v} ({sys.executable}); set PYTHON=/path/to/python3.12")'
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
if [ -z "${TORCH_INDEX:-}" ] && ! command -v nvidia-smi >/dev/null; then
  echo "no NVIDIA GPU found: if pip starts downloading GBs of CUDA libraries for torch, stop it and" \
       "take torch's CPU build for your Python instead:" \
       "TORCH_INDEX=https://download.pytorch.org/whl/cpu bash scripts/install.sh"
fi
if [ -n "${TORCH_INDEX:-}" ]; then
  "$VENV/bin/python" -m pip install --quiet "$TORCH_SPEC" --extra-index-url "$TORCH_INDEX"
else
  "$VENV/bin/python" -m pip install --quiet "$TORCH_SPEC"
fi
# setuptools warns on every editable install that a folder named like a package shadows it;
# ours are the package, so that notice only adds noise.
PYTHONWARNINGS="ignore:Editable installation" "$VENV/bin/python" -m pip install --quiet -e '.[test,video]'
"$VENV/bin/python" -m pip check
echo "installed mario-rllib into $VENV ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
