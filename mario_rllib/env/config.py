"""The Super Mario Bros env: one config object -> `make_env(config)` -> a Gymnasium env.

Layers, innermost first:

    MarioNES (env/nes.py)          nes-py's emulator, gym-super-mario-bros' game logic:
                                   stage drawn per episode, no-op starts, sticky actions, frame
                                   skip with max-pool over the last two frames
      -> [ResizeObservation]       gray84 -> (84, 84, 1) | rgb64 -> (64, 64, 3) | raw
      -> [TimeLimit]               optional, in agent steps
      -> [ShapeReward]             optional, named

`register_mario_envs()` registers the result with Gymnasium as `mario_rllib/SuperMarioBros-v0` and
with Ray as `mario`. The keyword arguments of `gymnasium.make(...)` and the keys of RLlib's
`env_config` are the fields of `MarioEnvConfig`, so both spellings mean the same thing.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from mario_rllib.env import actions, wrappers
from mario_rllib.env.nes import ALL_STAGES, EMULATORS, SCREEN_SHAPE, MarioNES

GYMNASIUM_ID = "mario_rllib/SuperMarioBros-v0"
RAY_ENV_NAME = "mario"

OBS_MODES: dict[str, tuple[int, int, int]] = {
    "gray84": (84, 84, 1),  # model-free agents; stacked to 4 by RLlib connectors
    "rgb64": (64, 64, 3),  # world-model agents (their papers' 64x64 RGB)
    "raw": SCREEN_SHAPE,  # the NES screen, for videos and debugging
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


def _option(default: Any, flag: str | None, meaning: str, *, setting: bool = True) -> Any:
    """A `MarioEnvConfig` field that users set: its `flag` (of `play`, and of `train` where it is
    a `setting` of the experiments) and a one-line `meaning`, from which the flags, their help
    and the experiments' env settings are all made (`ENV_OPTIONS`). `setting=False`: fixed by
    each experiment (its observations), a flag of `play` only."""
    return dataclasses.field(default=default,
                             metadata={"flag": flag, "meaning": meaning, "setting": setting})


@dataclasses.dataclass(frozen=True)
class MarioEnvConfig:
    """Everything that defines a Mario env. Field names are the `env_config` / `gymnasium.make` keys."""

    levels: str | Sequence[str] = _option(
        "1-1", "--level", "a stage (1-1), a comma-separated list (1-1,1-2,4-1: one drawn per "
        "episode) or 'all'")
    """The list's stage is drawn from the env's RNG at each reset."""
    action_set: str = _option(
        "simple", "--action-set",
        f"one of {', '.join(actions.ACTION_SETS)}: gym-super-mario-bros' lists (5, 7, 12 actions)")
    obs_mode: str = _option("gray84", "--obs-mode",
                            f"one of {', '.join(OBS_MODES)}: 84x84 gray, 64x64 RGB, the NES screen",
                            setting=False)
    frame_skip: int = _option(4, "--frame-skip", "NES frames per agent step")
    """The same action repeated; max-pool over the last two frames."""
    max_episode_steps: int | None = _option(
        None, "--max-episode-steps",
        "truncate episodes after N agent steps; none: the game's clock ends them")
    """None: the game's clock (400 ticks of 20 NES frames: the ROM is the European revision, see
    docs/environment.md) still ends every episode, with a death, after at most 2,000 agent steps
    at a frame skip of 4."""
    reward_shaping: str = _option(
        "none", "--reward-shaping",
        "'none' (the game's reward) or a comma-separated list of "
        f"{', '.join(name for name in wrappers.REWARD_SHAPINGS if name != 'none')}")
    noop_max: int = _option(30, "--noop-max", "random no-op frames at reset: 0..N")
    """Drawn from the env's seeded RNG."""
    sticky_action_prob: float = _option(
        0.0, "--sticky-action-prob", "probability of repeating the previous action per NES "
        "frame (Machado et al.: 0.25; 0: off)")
    emulator: str = _option(
        "fast", "--emulator",
        f"one of {', '.join(EMULATORS)}: this project's faster build of nes-py's core (the same "
        "screens, rewards and infos) or nes-py's own")
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
        if self.emulator not in EMULATORS:
            raise ValueError(
                f"unknown emulator {self.emulator!r}: expected one of {', '.join(EMULATORS)}"
            )
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


@dataclasses.dataclass(frozen=True)
class EnvOption:
    """One user-set field of `MarioEnvConfig`, as `_option` declared it."""

    name: str
    flag: str
    meaning: str
    default: Any
    type: type
    """What argparse parses the flag's text as."""
    setting: bool
    """A setting of the experiments (`train --FLAG`, `--set NAME=...`); else `play`'s only."""


def _flag_type(annotation: Any) -> type:
    """int for `int | None`, float for `float`, str for the rest (`str | Sequence[str]`)."""
    kinds = [kind for kind in (typing.get_args(annotation) or (annotation,)) if kind is not type(None)]
    return kinds[0] if kinds[0] in (int, float) else str


ENV_OPTIONS: tuple[EnvOption, ...] = tuple(
    EnvOption(field.name, field.metadata["flag"], field.metadata["meaning"], field.default,
              _flag_type(typing.get_type_hints(MarioEnvConfig)[field.name]),
              field.metadata["setting"])
    for field in dataclasses.fields(MarioEnvConfig) if field.metadata.get("flag")
)
"""The env options users set, declared once (in `MarioEnvConfig`): the env flags of `play` and
`train`, their help, and the env settings of every experiment are made from them."""


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"bad {name} {value!r}: expected an integer >= {minimum}")


def make_env(config: MarioEnvConfig | Mapping[str, Any] | None = None, **overrides: Any) -> gym.Env:
    """Build the wrapped Mario env from a config (a `MarioEnvConfig`, an `env_config` dict, or kwargs)."""
    if not isinstance(config, MarioEnvConfig):
        config = MarioEnvConfig.from_dict(config)
    if overrides:
        config = MarioEnvConfig.from_dict({**config.to_dict(), **overrides})
    env: gym.Env = MarioNES(config.stages, config.action_set, frame_skip=config.frame_skip,
                            sticky_action_prob=config.sticky_action_prob,
                            noop_max=config.noop_max, render_mode=config.render_mode,
                            emulator=config.emulator)
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
    """Register the env with Gymnasium (`mario_rllib/SuperMarioBros-v0`) and, where Ray is
    installed, with Ray (`mario`).

    Safe to call any number of times, in any process. Importing Ray is deferred to this call.
    """
    if GYMNASIUM_ID not in gym.registry:
        # The env checker is left on: gymnasium.make wraps the env in its passive checker.
        gym.register(id=GYMNASIUM_ID, entry_point=_make_from_kwargs)
    if importlib.util.find_spec("ray") is None:  # the env on its own (scripts/test_env.sh)
        return
    from ray.tune.registry import register_env

    register_env(RAY_ENV_NAME, make_env)
