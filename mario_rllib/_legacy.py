"""The one place that imports the old-gym emulator packages (gym 0.26, nes-py, gym-super-mario-bros).

`import gym` prints a multi-line "Gym has been unmaintained" notice to stderr on every import, in
every process, Ray workers included. We know: gym only hosts the frozen NES emulator here, and
shimmy bridges it to Gymnasium (see `mario_rllib.envs`). So the notice is silenced for that single
import, and nothing else is.
"""

from __future__ import annotations

import contextlib
import io

with contextlib.redirect_stderr(io.StringIO()):
    import gym  # noqa: F401  (imported first so that its notice is the one swallowed)

import gym_super_mario_bros.actions as smb_actions  # noqa: E402
from gym_super_mario_bros.smb_env import SuperMarioBrosEnv  # noqa: E402
from nes_py.nes_env import _LIB as NES_LIB  # noqa: E402  (the C++ emulator, for benchmarks)
from shimmy.openai_gym_compatibility import GymV21CompatibilityV0  # noqa: E402  (imports gym)

__all__ = ["NES_LIB", "GymV21CompatibilityV0", "SuperMarioBrosEnv", "smb_actions"]
