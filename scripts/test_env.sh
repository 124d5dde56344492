#!/usr/bin/env bash
# The env on its own, on another Python and numpy: a venv with nes-py, gym-super-mario-bros'
# ROM, Gymnasium, OpenCV and the mario_rllib package (no torch, no Ray), then the env's tests,
# the recorded trajectories among them (tests/env/trajectories.json: every supported Python and
# numpy must reproduce them exactly).
#   bash scripts/test_env.sh python3.12              # numpy 2 (the newest)
#   NUMPY_SPEC='numpy<2' bash scripts/test_env.sh python3.12
#   NES_PY=9.0.1 bash scripts/test_env.sh python3.13    # nes-py 9 (Python >= 3.13; a wheel)
# The venv is ./.venv-env-<python version>[-nes-py<version>] (or $VENV). nes-py 8.2.1 builds from
# source: that needs a C++ compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${1:?usage: bash scripts/test_env.sh PYTHON (e.g. python3.12)}
NUMPY_SPEC=${NUMPY_SPEC:-numpy>=2}
NES_PY=${NES_PY:-8.2.1}
VERSION=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
SUFFIX=$([ "$NES_PY" = 8.2.1 ] || echo "-nes-py$NES_PY")
VENV=${VENV:-.venv-env-$VERSION$SUFFIX}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# The env's own requirements (pyproject.toml's, less torch, Ray and the plotting stack).
"$VENV/bin/python" -m pip install --quiet "$NUMPY_SPEC" "nes-py==$NES_PY" "gym-super-mario-bros==7.4.0" \
  "gymnasium==1.2.2" "opencv-python-headless>=4.11" "pytest>=8" "pytest-timeout>=2.3"
PYTHONWARNINGS="ignore:Editable installation" "$VENV/bin/python" -m pip install --quiet --no-deps -e .
"$VENV/bin/python" -c 'import numpy, sys; from importlib.metadata import version; nes_py = version("nes-py")
print(f"env leg: Python {sys.version.split()[0]}, numpy {numpy.__version__}, nes-py {nes_py}")'
"$VENV/bin/python" -m pytest tests/env
