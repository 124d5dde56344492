"""The build step pyproject.toml cannot declare: the fast emulator's C++ library.

`mario_rllib/env/fastnes/` is nes-py 8.2.1's emulator core (MIT, its licence kept beside it),
changed to skip the pixel work of frames nobody looks at and the per-cycle overhead, with the
same RAM, screens and timing (tests/env/test_fastnes.py checks them against nes-py). Like nes-py,
it is a plain shared library driven through ctypes (`mario_rllib/env/nes.py`), built by g++ at
install.
"""

from pathlib import Path

from setuptools import Extension, setup

CORE = Path("mario_rllib/env/fastnes")

setup(ext_modules=[Extension(
    "mario_rllib.env._fastnes",
    sources=sorted(str(path) for path in CORE.glob("src/**/*.cpp")),
    include_dirs=[str(CORE / "include")],
    extra_compile_args=["-std=c++14", "-O3", "-pipe"],
    language="c++",
)])
