"""The fast emulator (`mario_rllib/env/fastnes`) against nes-py's own core, the reference: the same
RAM after every frame, the same screens wherever a screen is looked at, and the same
observations, rewards, ends and infos from the env on every stage.

The recorded trajectories (test_trajectories.py) hold for both emulators as well.
"""

from __future__ import annotations

import numpy as np
import pytest

from mario_rllib.env import make_env
from mario_rllib.env.nes import ALL_STAGES, SuperMarioBros

RIGHT, RIGHT_B, RIGHT_A_B = 0x80, 0x82, 0x83  # controller bytes: right, + B (run), + A (jump)


def random_codes(rng: np.random.Generator, count: int) -> list[int]:
    """Mostly running right and jumping, so that Mario gets somewhere and sometimes dies."""
    return [int(rng.choice([RIGHT, RIGHT_B, RIGHT_A_B, 0x00, 0x01, 0x42])) for _ in range(count)]


def test_dark_frames_leave_the_machine_as_drawn_frames_do():
    """Frame by frame on 1-1: frames 1 and 2 of every 4 dark (the env's pattern at frame skip 4):
    the RAM equals nes-py's after every frame, and the screen after every drawn frame."""
    fast, ref = SuperMarioBros("1-1", "fast"), SuperMarioBros("1-1", "nes-py")
    rng = np.random.default_rng(0)
    fast.reset(), ref.reset()
    drawn = compared = 0
    for t, code in enumerate(random_codes(rng, 1500)):
        draw = t % 4 >= 2
        got, want = fast.frame(code, draw), ref.frame(code)
        assert got == want, f"frame {t}: {got} != {want}"
        fast.after_frame(got[1], draw), ref.after_frame(want[1])
        assert bytes(fast.ram) == bytes(ref.ram), f"frame {t}: RAM differs"
        if draw or got[1]:
            assert np.array_equal(fast.bgrx[..., :3], ref.bgrx[..., :3]), f"frame {t}: screen"
            compared += 1
        if got[1]:
            fast.reset(), ref.reset()
        drawn += draw
    assert compared >= drawn > 600


def test_a_death_in_a_dark_frame_shows_its_screen():
    """Running right into 1-1's first Goomba with every frame dark: the terminal frame is replayed
    with its pixels, so its screen (the episode's last observation) is nes-py's."""
    fast, ref = SuperMarioBros("1-1", "fast"), SuperMarioBros("1-1", "nes-py")
    fast.reset(), ref.reset()
    for _ in range(2000):
        got, want = fast.frame(RIGHT, draw=False), ref.frame(RIGHT)
        assert got == want
        if got[1]:
            break
        fast.after_frame(False, draw=False), ref.after_frame(False)
    assert got[1] and got[0] < 0, "Mario did not die"
    assert bytes(fast.ram) == bytes(ref.ram)
    assert np.array_equal(fast.bgrx[..., :3], ref.bgrx[..., :3])


@pytest.mark.slow
@pytest.mark.parametrize("world", range(1, 9))
def test_every_stage_plays_the_same_on_both_emulators(world):
    """Random rollouts of the four stages of a world, with no-op starts and sticky actions, on
    the env as agents see it (raw screens, frame skip 4): observations, rewards, ends and infos
    are identical, deaths and resets included."""
    stages = [stage for stage in ALL_STAGES if stage.startswith(f"{world}-")]
    ends = 0
    config = {"obs_mode": "raw", "action_set": "complex", "noop_max": 30,
              "sticky_action_prob": 0.25}
    for stage in stages:
        envs = [make_env(levels=stage, emulator=name, **config) for name in ("fast", "nes-py")]
        rng = np.random.default_rng(world)
        seed = 0
        (obs_f, info_f), (obs_r, info_r) = (env.reset(seed=seed) for env in envs)
        for step in range(90):
            assert np.array_equal(obs_f, obs_r) and info_f == info_r, f"{stage}, step {step}"
            action = int(rng.choice([3, 4, 2, 1, 0, int(rng.integers(12))]))  # mostly right + A/B
            (obs_f, *rest_f, info_f), (obs_r, *rest_r, info_r) = (env.step(action) for env in envs)
            assert rest_f == rest_r, f"{stage}, step {step}: {rest_f} != {rest_r}"
            if rest_f[1] or rest_f[2]:
                ends += 1
                seed += 1
                (obs_f, info_f), (obs_r, info_r) = (env.reset(seed=seed) for env in envs)
        assert np.array_equal(obs_f, obs_r) and info_f == info_r
        for env in envs:
            env.close()
    assert ends >= 1, f"no episode of world {world} ended: deaths and resets went unchecked"


def test_a_copy_of_the_project_without_the_library_loads_the_installed_one(tmp_path):
    """A Ray job runs from an uploaded copy of the project, which lacks the built library (Ray's
    upload skips what .gitignore names): the copy's env loads the one built at install."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import mario_rllib
    from mario_rllib.env.nes import _fast_library

    source = Path(mario_rllib.__file__).parent
    shutil.copytree(source, tmp_path / "mario_rllib",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    code = ("from mario_rllib.env import nes; "
            "print(nes.__file__); print(nes._fast_library()); "
            "mario = nes.SuperMarioBros('1-1'); mario.reset(); print(mario.frame(0x80))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={"PYTHONPATH": str(tmp_path), "PATH": ""}, check=True)
    module, library, frame = out.stdout.splitlines()
    assert Path(module).parent == tmp_path / "mario_rllib" / "env"
    assert Path(library) == _fast_library() and Path(library).parent == source / "env"
    reference = SuperMarioBros("1-1", "nes-py")
    reference.reset()
    assert frame == str(reference.frame(0x80))


@pytest.mark.parametrize("name", ["mario-rllib", "my projects/mario #2", "100%/mario"])
def test_the_install_path_is_read_back_from_pips_url(tmp_path, name):
    """pip records an editable install's directory as a percent-escaped file URL
    (`direct_url.json`): a space is `%20`. The fast emulator's library is found there."""
    import subprocess
    import sys

    from mario_rllib.env.nes import _local_path

    root = tmp_path / name
    # What pip writes there, asked of pip in its own process (importing pip's internals here
    # would load the standard library's distutils before setuptools can replace it).
    url = subprocess.run([sys.executable, "-c", "import sys; from pip._internal.utils.urls "
                          "import path_to_url; print(path_to_url(sys.argv[1]))", str(root)],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert "%" in url or name == "mario-rllib"
    assert _local_path(url) == root
    assert _local_path("https://example.com/mario-rllib.zip") is None
