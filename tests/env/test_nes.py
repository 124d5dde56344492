"""The emulator boundary (mario_rllib/env/nes.py): the ROM header read with Python integers, the
action sets, and no upstream Python module imported to play (only nes-py's C++ library and the
ROM file are used). Its game logic is checked frame by frame against gym-super-mario-bros' own
env in test_config.py, and by the recorded trajectories in test_trajectories.py."""

import subprocess
import sys

import numpy as np
import pytest

from mario_rllib.env import actions
from mario_rllib.env.nes import ROM_PATH, RomHeader

NUMPY_1 = int(np.__version__.split(".")[0]) == 1


def test_the_rom_header_is_super_mario_bros():
    header = RomHeader.read(ROM_PATH)
    # 32 KiB of program, 8 KiB of graphics, no mapper (NROM), NTSC in its header
    assert header == RomHeader(prg_banks=2, chr_banks=1, mapper=0, has_trainer=False,
                               is_pal=False)
    header.check(ROM_PATH)


@pytest.mark.skipif(not NUMPY_1, reason="nes-py's own ROM parser overflows under numpy 2")
def test_the_rom_header_reads_as_nes_py_reads_it():
    from nes_py._rom import ROM

    theirs, ours = ROM(str(ROM_PATH)), RomHeader.read(ROM_PATH)
    assert (ours.prg_banks * 16, ours.chr_banks * 8, ours.mapper, ours.has_trainer, ours.is_pal) \
        == (theirs.prg_rom_size, theirs.chr_rom_size, theirs.mapper, theirs.has_trainer,
            theirs.is_pal)


@pytest.mark.parametrize("data, message", [
    (b"NOT A ROM" + bytes(16), r"is not an iNES ROM"),
    (b"NES\x1a\x02\x01" + bytes(10) + bytes(100), r"is truncated: 116 bytes, its header says 40976"),
    (b"NES\x1a\x02\x01" + bytes(5) + b"\x01" + bytes(4), r"bytes 11-15 are not zero"),
])
def test_a_bad_rom_is_one_line(tmp_path, data, message):
    path = tmp_path / "bad.nes"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        RomHeader.read(path)


def test_a_rom_nes_py_cannot_run_is_refused(tmp_path):
    pal = RomHeader(prg_banks=2, chr_banks=1, mapper=0, has_trainer=False, is_pal=True)
    with pytest.raises(ValueError, match=r"nes-py cannot run this ROM"):
        pal.check(tmp_path / "pal.nes")


def test_the_action_sets_are_gym_super_mario_bros():
    smb = pytest.importorskip("gym_super_mario_bros.actions")
    assert actions.ACTION_SETS == {"right_only": smb.RIGHT_ONLY, "simple": smb.SIMPLE_MOVEMENT,
                                   "complex": smb.COMPLEX_MOVEMENT}


def test_the_installed_nes_py_s_emulator_is_driven():
    """nes-py 8.x ships its emulator as a C++ library, 9.x as a Cython module over the same core:
    the env drives whichever is installed (the recorded trajectories hold for both)."""
    from importlib.metadata import version

    from mario_rllib.env import nes

    major = int(version("nes-py").split(".")[0])
    assert nes.EMULATOR is (nes._LibEmulator if major < 9 else nes._NativeEmulator)
    emulator = nes.SuperMarioBros("1-1")
    assert isinstance(emulator.ram[0x6D], int)  # Python ints: no uint8 arithmetic to overflow
    assert emulator.bgrx.shape == (240, 256, 4) and emulator.bgrx.flags.c_contiguous
    emulator.close()


def test_playing_imports_no_upstream_python_module():
    """A fresh process builds the env and plays: gym, nes_py, gym_super_mario_bros and shimmy are
    never imported, so nothing of theirs runs (or needs patching) under any numpy."""
    code = (
        "import sys\n"
        "from mario_rllib.env import make_env\n"
        "env = make_env(levels='1-1,1-2')\n"
        "env.reset(seed=0)\n"
        "for _ in range(50):\n"
        "    if env.step(1)[2]: break\n"
        "env.reset(seed=1, options={'level': '1-2'})\n"
        "env.close()\n"
        "print(sorted(m for m in ('gym', 'nes_py', 'gym_super_mario_bros', 'shimmy') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
