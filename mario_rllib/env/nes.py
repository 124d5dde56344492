"""The nes-py and gym-super-mario-bros boundary: the only module that imports them.

`MarioNES` is Super Mario Bros as ALE exposes an Atari game: one agent step is `frame_skip` NES
frames of the same action, the observation is the pixel-wise max of the last two (sprites
flicker on alternate frames), rewards are summed, `sticky_action_prob` repeats the previous frame's
action (Machado et al. 2018's `repeat_action_probability`), and an episode starts after 0 to
`noop_max` NOOP frames. The emulator is nes-py's C++ library, driven directly; gym-super-mario-bros
7.4.0 sets the stage, decodes RAM (x position, time, flag, ...) and computes the game's reward,
so results compare with published ones. `reference_env` is gym-super-mario-bros' own env, the
ground truth that tests and benchmarks compare against.

`import gym` prints a multi-line "Gym has been unmaintained" notice to stderr on every import, in
every process, Ray workers included. gym only hosts the frozen emulator here (shimmy bridges it to
Gymnasium), so the notice is silenced for that single import, and nothing else is.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import sys
from collections.abc import Sequence

import cv2
import gymnasium as gym
import numpy as np

with contextlib.redirect_stderr(io.StringIO()):
    import gym as _gym  # noqa: F401  (imported first so that its notice is the one swallowed)

import gym_super_mario_bros.actions as _smb_actions  # noqa: E402
from gym_super_mario_bros.smb_env import SuperMarioBrosEnv  # noqa: E402
from nes_py.nes_env import _LIB as NES_LIB  # noqa: E402  (the C++ emulator)
from shimmy.openai_gym_compatibility import GymV21CompatibilityV0  # noqa: E402  (imports gym)

ACTION_LISTS: dict[str, list[list[str]]] = {
    "right_only": _smb_actions.RIGHT_ONLY,  # 5 actions
    "simple": _smb_actions.SIMPLE_MOVEMENT,  # 7 actions
    "complex": _smb_actions.COMPLEX_MOVEMENT,  # 12 actions
}
"""gym-super-mario-bros' action sets (lists of buttons), by our names."""

ALL_STAGES: tuple[str, ...] = tuple(f"{w}-{s}" for w in range(1, 9) for s in range(1, 5))
SCREEN_SHAPE = (240, 256, 3)
NOOP_ACTION = 0  # index 0 is ["NOOP"] in every action set


def reference_env(stage: str = "1-1") -> SuperMarioBrosEnv:
    """gym-super-mario-bros' own env for one stage (old gym API, controller bytes as actions)."""
    world, number = (int(part) for part in stage.split("-"))
    return SuperMarioBrosEnv(rom_mode="vanilla", target=(world, number))


class NESFrames(gym.Env):
    """The agent-step logic over an emulator of single frames: frame skip with max-pool, sticky
    actions, no-op starts, the furthest x position. Subclasses drive the emulator (`_reset_to`,
    `_frame`, `_info`, `_screen`); a scripted one makes the logic checkable by hand.

    Randomness comes from the env's `np_random` (seeded by `reset(seed=...)`), in this order: the
    stage drawn from the stage list, the number of no-op frames, then one draw per frame for
    sticky actions (when `sticky_action_prob > 0`, no-op frames included).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 60}

    def __init__(self, stages: Sequence[str], num_actions: int, *, frame_skip: int = 4,
                 sticky_action_prob: float = 0.0, noop_max: int = 0,
                 render_mode: str | None = None):
        self.stages = tuple(stages)
        self.frame_skip = frame_skip
        self.sticky_action_prob = sticky_action_prob
        self.noop_max = noop_max
        self.render_mode = render_mode
        self.action_space = gym.spaces.Discrete(num_actions)
        self.stage = self.stages[0]
        self._last_action = NOOP_ACTION
        self._x_pos_max = 0
        self._second_last: np.ndarray | None = None  # reused buffer for the max-pool

    # --- the emulator, one frame at a time (subclasses) ---
    def _reset_to(self, stage: str) -> None:
        raise NotImplementedError

    def _frame(self, action: int) -> tuple[float, bool, int]:
        """Emulate one frame; return (reward, terminated, x position)."""
        raise NotImplementedError

    def _info(self) -> dict:
        """The game's info now, with `x_pos_max` (read before the frame's after-step skips, as
        nes-py reads it)."""
        raise NotImplementedError

    def _screen(self) -> np.ndarray:
        """The current screen, as a new RGB array."""
        raise NotImplementedError

    def _after_frame(self, terminated: bool) -> None:
        """What the emulator does once the frame's info was read (skips of area changes)."""

    # --- Gymnasium ---
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a stage: `options={"level": "4-1"}` picks one, else it is drawn; after
        `options={"noops": k}` no-op frames (0 <= k <= noop_max), else a drawn number."""
        super().reset(seed=seed)
        options = options or {}
        stage = options.get("level")
        if stage is None:
            stage = self.stages[int(self.np_random.integers(len(self.stages)))]
        elif stage not in ALL_STAGES:
            raise ValueError(f"unknown level {stage!r}: expected a stage 'W-S' with world 1-8 "
                             f"and stage 1-4 (e.g. '1-1')")
        noops = options.get("noops")
        if noops is None:
            noops = int(self.np_random.integers(0, self.noop_max + 1)) if self.noop_max else 0
        elif not 0 <= noops <= self.noop_max:
            raise ValueError(f"bad noops {noops!r}: expected an integer in 0..{self.noop_max}")
        self._start(stage)
        for _ in range(noops):
            _, terminated, _ = self._sticky_frame(NOOP_ACTION)
            self._after_frame(terminated)
            if terminated:  # cannot happen in 30 frames of any stage start, but be safe
                self._start(stage)
        return self._screen(), self._info()

    def _start(self, stage: str) -> None:
        self.stage = stage
        self._reset_to(stage)
        self._last_action = NOOP_ACTION
        self._x_pos_max = int(self._info()["x_pos"])

    def _sticky_frame(self, action: int) -> tuple[float, bool, int]:
        if self.sticky_action_prob > 0 and self.np_random.random() < self.sticky_action_prob:
            action = self._last_action
        self._last_action = action
        reward, terminated, x_pos = self._frame(action)
        self._x_pos_max = max(self._x_pos_max, x_pos)
        return reward, terminated, x_pos

    def step(self, action):
        """`frame_skip` frames of `action`: the max of the last two screens (the terminal one
        alone if the episode ends first), the summed reward, the last frame's info."""
        total = 0.0
        for i in range(self.frame_skip):
            reward, terminated, _ = self._sticky_frame(action)
            total += reward
            last = terminated or i == self.frame_skip - 1
            info = self._info() if last else None
            self._after_frame(terminated)
            if last:
                break
            if i == self.frame_skip - 2:
                self._second_last = self._screen()
        screen = self._screen()
        if self.frame_skip > 1 and i == self.frame_skip - 1:
            np.maximum(screen, self._second_last, out=screen)
        return screen, total, terminated, False, info

    def render(self):
        return self._screen() if self.render_mode == "rgb_array" else None


class MarioNES(NESFrames):
    """Super Mario Bros on nes-py (see the module docstring), RGB screens (240, 256, 3).

    nes-py's own `screen` is a view of the emulator's buffer that the next frame overwrites, with
    a backwards channel axis (the buffer is BGRx); numpy's copy of that strided view costs tens
    of times what cv2's conversion of the BGRx buffer itself does, so screens come from the
    buffer (docs/performance.md). One emulator
    per stage, each created on its first draw (about 0.4 s: gym-super-mario-bros skips the start
    screen and takes a snapshot, which every later reset restores).
    """

    def __init__(self, stages: Sequence[str], action_set: str, **kwargs):
        from mario_rllib.env.actions import controller_bytes

        self._codes = controller_bytes(action_set)
        super().__init__(stages, len(self._codes), **kwargs)
        self.action_set = action_set
        self.observation_space = gym.spaces.Box(0, 255, SCREEN_SHAPE, dtype=np.uint8)
        self._stage_envs: dict[str, GymV21CompatibilityV0] = {}
        self._nes: SuperMarioBrosEnv | None = None
        self._bgrx: np.ndarray | None = None
        self.nes_frames = 0  # NES frames emulated since creation, for throughput measurements

    def _reset_to(self, stage: str) -> None:
        if stage not in self._stage_envs:
            self._stage_envs[stage] = GymV21CompatibilityV0(env=reference_env(stage))
        bridge = self._stage_envs[stage]
        self._nes = bridge.gym_env
        self._bgrx = _bgrx_screen(self._nes)
        bridge.reset()  # never seeds: nes-py's seed() expects an old numpy RNG

    def _frame(self, action: int) -> tuple[float, bool, int]:
        """nes-py 8.2.1's `NESEnv.step` up to reading the info (shimmy's bridge adds nothing for
        this env: no render mode, no TimeLimit)."""
        nes = self._nes
        if nes.done:
            raise ValueError("cannot step in a done environment! call `reset`")
        nes.controllers[0][:] = self._codes[action]
        NES_LIB.Step(nes._env)
        low, high = nes.reward_range
        reward = min(max(float(nes._get_reward()), low), high)
        nes.done = bool(nes._get_done())
        self.nes_frames += 1
        return reward, nes.done, int(nes._x_position)

    def _after_frame(self, terminated: bool) -> None:
        # gym-super-mario-bros skips the frames of a pipe entry, an area change or a death
        # animation here; nes-py reads the info before, so the info of the frame that enters a
        # pipe tells where Mario went down, and the screen where he comes out.
        self._nes._did_step(terminated)

    def _info(self) -> dict:
        info = {key: value.item() if isinstance(value, np.generic) else value
                for key, value in self._nes._get_info().items()}
        info["x_pos_max"] = self._x_pos_max
        return info

    def _screen(self) -> np.ndarray:
        return cv2.cvtColor(self._bgrx, cv2.COLOR_BGRA2RGB)

    def get_action_meanings(self) -> list[str]:
        from mario_rllib.env.actions import action_meanings

        return action_meanings(self.action_set)

    def close(self):
        for env in self._stage_envs.values():
            env.close()
        self._stage_envs.clear()
        self._nes = None


def _bgrx_screen(nes: SuperMarioBrosEnv) -> np.ndarray:
    """The emulator's screen buffer as it writes it: (240, 256, 4) uint8, BGRx, C-contiguous."""
    if sys.byteorder != "little":
        raise RuntimeError("the NES screen buffer is read as BGRx, which needs a little-endian CPU")
    address = NES_LIB.Screen(nes._env)
    buffer = ctypes.cast(address, ctypes.POINTER(ctypes.c_uint8 * (240 * 256 * 4))).contents
    return np.frombuffer(buffer, dtype=np.uint8).reshape(240, 256, 4)
