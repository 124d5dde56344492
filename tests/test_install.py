"""The pin set works at import time, not only for `pip check` (see the comment in pyproject.toml)."""

import subprocess
import sys

import numpy as np
import pytest

NUMPY_1 = np.__version__.startswith("1.")


def test_numpy_is_the_pinned_major():
    # pyproject.toml: numpy 1.26 on Python 3.11 (where the tests' ground truth runs), 2 after.
    assert NUMPY_1 == (sys.version_info < (3, 12)), (np.__version__, sys.version)


def test_numpy_1_sensitive_packages_import():
    # pyarrow 26 passes `pip check` under numpy 1 but fails here; Ray actors then fail to start.
    import cv2
    import pandas
    import pyarrow

    assert pyarrow.array([1, 2]).to_pylist() == [1, 2]
    assert pandas.DataFrame({"a": [1]}).shape == (1, 1)
    assert cv2.resize(np.zeros((4, 4), np.uint8), (2, 2)).shape == (2, 2)


@pytest.mark.skipif(not NUMPY_1, reason="gym-super-mario-bros' own env needs numpy 1")
def test_nes_py_reads_the_rom_header():
    # Under numpy 2 this raises "OverflowError: Python integer 1024 out of bounds for uint8".
    from mario_rllib.env.nes import reference_env

    env = reference_env("1-1")
    assert env.reset().shape == (240, 256, 3)
    env.close()


def test_pip_check_is_clean():
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_env_prints_no_gym_notice():
    code = "import mario_rllib.env"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "unmaintained" not in result.stderr
