#!/usr/bin/env bash
# The env on its own, on another Python and numpy: a venv with nes-py, gym-super-mario-bros'
# ROM, Gymnasium, OpenCV and the mario_rllib package (no torch, no Ray), then the env's tests,
# the recorded trajectories among them (tests/env/trajectories.json: every supported Python and
# numpy must reproduce them exactly).
#   bash scripts/test_env.sh python3.12              # numpy 2 (the newest)
#   NUMPY_SPEC='numpy<2' bash scripts/test_env.sh python3.12
# The venv is ./.venv-env-<python version> (or $VENV). Needs a C++ compiler: nes-py builds from
# source.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${1:-python3.12}
NUMPY_SPEC=${NUMPY_SPEC:-numpy>=2}
VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
VENV=${VENV:-.venv-env-$VERSION}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# The env's own requirements (pyproject.toml's, less torch, Ray and the plotting stack).
"$VENV/bin/python" -m pip install --quiet "$NUMPY_SPEC" "nes-py==8.2.1" "gym-super-mario-bros==7.4.0" \
  "gymnasium==1.2.2" "opencv-python-headless>=4.11" "pytest>=8" "pytest-timeout>=2.3"
PYTHONWARNINGS="ignore:Editable installation" "$VENV/bin/python" -m pip install --quiet --no-deps -e .
"$VENV/bin/python" -c 'import numpy, sys; print(f"env leg: Python {sys.version.split()[0]}, numpy {numpy.__version__}")'
"$VENV/bin/python" -m pytest tests/env
