"""The Super Mario Bros env: one config object -> `make_env(config)` -> a Gymnasium env.

Layers, innermost first (see ../shared/DESIGN.md):

    nes-py emulator via gym-super-mario-bros (old gym API, one per stage, created lazily)
      -> shimmy GymV21CompatibilityV0      old 4-tuple gym API -> Gymnasium 5-tuple
      -> MarioNES                          action set, stage drawn per episode, Gymnasium seeding
      -> [StickyActions]                   optional, per NES frame
      -> [NoopReset]                       0..noop_max NOOP frames at reset
      -> MaxPoolFrameSkip                  frame_skip NES frames per agent step, max of the last 2
      -> [ResizeObservation]               gray84 -> (84, 84, 1) | rgb64 -> (64, 64, 3) | raw
      -> [TimeLimit]                       optional, in agent steps
      -> [ShapeReward]                     optional, named

`register_mario_envs()` registers the result with Gymnasium as `mario_rllib/SuperMarioBros-v0` and
with Ray as `mario`. The keyword arguments of `gymnasium.make(...)` and the keys of RLlib's
`env_config` are the fields of `MarioEnvConfig`, so both spellings mean the same thing.
"""

from __future__ import annotations

import ctypes
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import gymnasium as gym
import numpy as np

from mario_rllib import actions, wrappers
from mario_rllib._legacy import NES_LIB, GymV21CompatibilityV0, SuperMarioBrosEnv

GYMNASIUM_ID = "mario_rllib/SuperMarioBros-v0"
RAY_ENV_NAME = "mario"

ALL_STAGES: tuple[str, ...] = tuple(f"{w}-{s}" for w in range(1, 9) for s in range(1, 5))
OBS_MODES: dict[str, tuple[int, int, int]] = {
    "gray84": (84, 84, 1),  # model-free agents (PPO, DQN); stacked to 4 by RLlib connectors
    "rgb64": (64, 64, 3),  # DreamerV3's world model
    "raw": (240, 256, 3),  # the NES screen, for videos and debugging
}
INFO_KEYS = ("x_pos", "x_pos_max", "flag_get", "world", "stage", "score", "time", "life")
"""Keys every `info` dict carries (plus `coins`, `status`, `y_pos` from the game). `x_pos_max` is
the furthest x position reached since the episode began: what Mario results are read by."""


def parse_levels(levels: str | Sequence[str]) -> tuple[str, ...]:
    """Turn `"1-1"`, `"1-1,1-2,4-1"`, a list of stages, or `"all"` into a tuple of stages."""
    if isinstance(levels, str):
        if levels.strip().lower() == "all":
            return ALL_STAGES
        items = [item.strip() for item in levels.split(",")]
    elif isinstance(levels, Sequence):
        items = [str(item).strip() for item in levels]
    else:
        items = [repr(levels)]
    for item in items or [""]:
        if item not in ALL_STAGES:
            raise ValueError(
                f"unknown level {item!r}: expected a stage 'W-S' with world 1-8 and stage 1-4 "
                f"(e.g. '1-1'), a comma-separated list of stages, or 'all'"
            )
    return tuple(items)


@dataclasses.dataclass(frozen=True)
class MarioEnvConfig:
    """Everything that defines a Mario env. Field names are the `env_config` / `gymnasium.make` keys."""

    levels: str | Sequence[str] = "1-1"
    """One stage ("1-1"), a list ("1-1,1-2,4-1": one drawn per episode from the env's RNG), or "all"."""
    action_set: str = "simple"
    """right_only (5 actions), simple (7) or complex (12): gym-super-mario-bros' lists."""
    obs_mode: str = "gray84"
    """gray84 (84x84x1 uint8), rgb64 (64x64x3 uint8) or raw (240x256x3 uint8)."""
    frame_skip: int = 4
    """NES frames per agent step (the same action repeated; max-pool over the last two frames)."""
    max_episode_steps: int | None = None
    """Truncate after this many agent steps. None: the game's clock (400 ticks of 20 NES frames:
    the ROM is the European revision, see docs/environment.md) still ends every episode, with
    a death, after at most 2,000 agent steps at a frame skip of 4."""
    reward_shaping: str = "none"
    """'none' (the game's reward), or a comma-separated list of: flag_bonus, scale."""
    noop_max: int = 30
    """Each episode starts after 0..noop_max NOOP frames, drawn from the env's seeded RNG."""
    sticky_action_prob: float = 0.0
    """Per NES frame, the probability of repeating the previous action (Machado et al.: 0.25)."""
    render_mode: str | None = None
    """None or "rgb_array" (the current 240x256x3 NES screen, as a copy)."""

    def __post_init__(self):
        # Normalise the level spelling so that equal configs compare (and hash) equal.
        object.__setattr__(self, "levels", ",".join(parse_levels(self.levels)))
        actions.controller_bytes(self.action_set)  # raises on an unknown action set
        if self.obs_mode not in OBS_MODES:
            raise ValueError(
                f"unknown obs_mode {self.obs_mode!r}: expected one of {', '.join(OBS_MODES)}"
            )
        _check_int("frame_skip", self.frame_skip, minimum=1)
        _check_int("noop_max", self.noop_max, minimum=0)
        if self.max_episode_steps is not None:
            _check_int("max_episode_steps", self.max_episode_steps, minimum=1)
        wrappers.parse_reward_shaping(self.reward_shaping)
        p = self.sticky_action_prob
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"bad sticky_action_prob {p!r}: expected a number in [0, 1)")
        if self.render_mode not in (None, "rgb_array"):
            raise ValueError(
                f"unknown render_mode {self.render_mode!r}: expected None or 'rgb_array'"
            )

    @property
    def stages(self) -> tuple[str, ...]:
        return tuple(self.levels.split(","))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> MarioEnvConfig:
        """Build from an `env_config` dict (RLlib passes an EnvContext, which is a dict)."""
        values = dict(values or {})
        allowed = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise ValueError(
                f"unknown env config key {unknown[0]!r}: expected some of {', '.join(allowed)}"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-able dict that `from_dict` turns back into an equal config."""
        return dataclasses.asdict(self)


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"bad {name} {value!r}: expected an integer >= {minimum}")


class MarioNES(gym.Env):
    """One NES frame per step, in Gymnasium's API, with a named action set and seeded stage drawing.

    The emulator ignores seeds and is fully deterministic: this env's `np_random` (seeded by
    `reset(seed=...)`) is the only source of variety, here for drawing the stage from a level list,
    and in the wrappers above it for no-op starts and sticky actions.

    Each observation is a new, C-contiguous RGB array. nes-py's own `screen` is a view of the
    emulator's buffer that the next frame overwrites, and its channel axis runs backwards (the
    buffer is BGRx); numpy copies that view in about 450 us, while cv2 converts the BGRx buffer in
    about 8 us (measured here), so the copy is made by cv2 from the buffer itself.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 60}

    def __init__(self, stages: Sequence[str], action_set: str, render_mode: str | None = None):
        self.stages = tuple(stages)
        self.action_set = action_set
        self.render_mode = render_mode
        self._controller_bytes = actions.controller_bytes(action_set)
        self.action_space = gym.spaces.Discrete(len(self._controller_bytes))
        self.observation_space = gym.spaces.Box(0, 255, OBS_MODES["raw"], dtype=np.uint8)
        # One emulator per stage, each created on its first draw (about 0.4 s: the start screen is
        # skipped and a snapshot taken, which every later reset restores).
        self._stage_envs: dict[str, GymV21CompatibilityV0] = {}
        self._env: GymV21CompatibilityV0 | None = None
        self._nes: SuperMarioBrosEnv | None = None  # the emulator env under the bridge
        self._bgrx: np.ndarray | None = None  # the current stage's screen buffer
        self.stage = self.stages[0]
        self.nes_frames = 0  # NES frames stepped since creation, for throughput measurements
        self._x_pos_max = 0

    def _stage_env(self, stage: str) -> GymV21CompatibilityV0:
        if stage not in self._stage_envs:
            world, number = (int(part) for part in stage.split("-"))
            nes = SuperMarioBrosEnv(rom_mode="vanilla", target=(world, number))
            self._stage_envs[stage] = GymV21CompatibilityV0(env=nes)
        return self._stage_envs[stage]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset to the start of a stage: `options={"level": "4-1"}` picks one, else it is drawn."""
        super().reset(seed=seed)
        stage = (options or {}).get("level")
        if stage is None:
            stage = self.stages[int(self.np_random.integers(len(self.stages)))]
        else:
            stage = parse_levels(stage)[0]
        self.stage = stage
        self._env = self._stage_env(stage)
        self._nes = self._env.gym_env
        self._bgrx = _bgrx_screen(self._nes)
        self._env.reset()  # never seeds: nes-py's seed() expects an old numpy RNG
        self._x_pos_max = int(self._nes._x_position)
        return self.observe()

    def step(self, action):
        reward, terminated, info = self._emulate(action, with_info=True)
        return self._rgb(), reward, terminated, False, info

    def advance(self, action) -> tuple[float, bool]:
        """Emulate one frame and return (reward, terminated), without building its observation
        or info: the frame skip's fast path for the frames whose screen nobody sees."""
        reward, terminated, _ = self._emulate(action, with_info=False)
        return reward, terminated

    def _emulate(self, action, with_info: bool) -> tuple[float, bool, dict | None]:
        """nes-py 8.2.1's `NESEnv.step` (shimmy's bridge adds nothing for this env: no render
        mode, no TimeLimit), with its `_get_info()` only where asked: gym-super-mario-bros reads
        and formats ten RAM values per frame. As in nes-py, the info is read before `_did_step`,
        which skips the frames of a pipe entry or an area change: the info tells where Mario
        entered the pipe, and the screen shows where he comes out. tests/test_envs.py checks,
        frame by frame, that `step` matches gym-super-mario-bros' own, a pipe entry included.
        """
        nes = self._nes
        if nes.done:
            raise ValueError("cannot step in a done environment! call `reset`")
        nes.controllers[0][:] = self._controller_bytes[action]
        NES_LIB.Step(nes._env)
        low, high = nes.reward_range
        reward = min(max(float(nes._get_reward()), low), high)
        nes.done = bool(nes._get_done())
        self._x_pos_max = max(self._x_pos_max, int(nes._x_position))
        info = self._info() if with_info else None
        nes._did_step(nes.done)
        self.nes_frames += 1
        return reward, nes.done, info

    def observe(self) -> tuple[np.ndarray, dict]:
        """The current frame (a new RGB array) and its info: the game's, plus `x_pos_max`."""
        return self._rgb(), self._info()

    def _info(self) -> dict:
        info = _plain_info(self._nes._get_info())
        info["x_pos_max"] = self._x_pos_max
        return info

    def _rgb(self) -> np.ndarray:
        return cv2.cvtColor(self._bgrx, cv2.COLOR_BGRA2RGB)

    def render(self):
        if self.render_mode == "rgb_array" and self._env is not None:
            return self._rgb()
        return None

    def get_action_meanings(self) -> list[str]:
        return actions.action_meanings(self.action_set)

    def close(self):
        for env in self._stage_envs.values():
            env.close()
        self._stage_envs.clear()
        self._env = self._nes = None


def _bgrx_screen(nes: SuperMarioBrosEnv) -> np.ndarray:
    """The emulator's screen buffer as it writes it: (240, 256, 4) uint8, BGRx, C-contiguous."""
    if sys.byteorder != "little":
        raise RuntimeError("the NES screen buffer is read as BGRx, which needs a little-endian CPU")
    address = NES_LIB.Screen(nes._env)
    buffer = ctypes.cast(address, ctypes.POINTER(ctypes.c_uint8 * (240 * 256 * 4))).contents
    return np.frombuffer(buffer, dtype=np.uint8).reshape(240, 256, 4)


def _plain_info(info: dict) -> dict:
    """numpy scalars from the game's RAM -> Python ints, so infos serialise (JSON, Ray) as they are."""
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in info.items()}


def make_env(config: MarioEnvConfig | Mapping[str, Any] | None = None, **overrides: Any) -> gym.Env:
    """Build the wrapped Mario env from a config (a `MarioEnvConfig`, an `env_config` dict, or kwargs)."""
    if not isinstance(config, MarioEnvConfig):
        config = MarioEnvConfig.from_dict(config)
    if overrides:
        config = MarioEnvConfig.from_dict({**config.to_dict(), **overrides})
    env: gym.Env = MarioNES(config.stages, config.action_set, config.render_mode)
    if config.sticky_action_prob > 0:
        env = wrappers.StickyActions(env, config.sticky_action_prob)
    if config.noop_max > 0:
        env = wrappers.NoopReset(env, config.noop_max)
    env = wrappers.MaxPoolFrameSkip(env, config.frame_skip)
    if config.obs_mode != "raw":
        height, _, channels = OBS_MODES[config.obs_mode]
        env = wrappers.ResizeObservation(env, size=height, gray=channels == 1)
    if config.max_episode_steps is not None:
        env = gym.wrappers.TimeLimit(env, config.max_episode_steps)
    shaping = wrappers.parse_reward_shaping(config.reward_shaping)
    if shaping != ("none",):
        env = wrappers.ShapeReward(env, shaping)
    return env


def _make_from_kwargs(**kwargs: Any) -> gym.Env:
    """Gymnasium's entry point: `gymnasium.make(GYMNASIUM_ID, levels=..., ...)`."""
    return make_env(kwargs)


def register_mario_envs() -> None:
    """Register the env with Gymnasium (`mario_rllib/SuperMarioBros-v0`) and Ray (`mario`).

    Safe to call any number of times, in any process. Importing Ray is deferred to this call.
    """
    if GYMNASIUM_ID not in gym.registry:
        # The env checker is left on: gymnasium.make wraps the env in its passive checker.
        gym.register(id=GYMNASIUM_ID, entry_point=_make_from_kwargs)
    from ray.tune.registry import register_env

    register_env(RAY_ENV_NAME, make_env)
