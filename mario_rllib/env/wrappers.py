"""Small Gymnasium wrappers over `MarioNES` (agent steps), applied by `make_env`: what the model
sees (`ResizeObservation`) and what it is rewarded (`ShapeReward`). Each does one thing and
declares a correct `observation_space`. Frame skip, sticky actions and no-op starts work on NES
frames, inside `mario_rllib.env.nes`.
"""

from __future__ import annotations

import cv2
import gymnasium as gym
import numpy as np


class ResizeObservation(gym.ObservationWrapper):
    """Downsample the 240x256 RGB screen with cv2 (area interpolation), to gray or RGB, uint8, channels last.

    `gray=True` gives (size, size, 1): one frame per step. Frame stacking happens later, in RLlib's
    connectors, so episodes and replay buffers hold single frames.
    """

    def __init__(self, env: gym.Env, size: int, gray: bool):
        super().__init__(env)
        self.size = size
        self.gray = gray
        channels = 1 if gray else 3
        self.observation_space = gym.spaces.Box(0, 255, (size, size, channels), dtype=np.uint8)

    def observation(self, observation: np.ndarray) -> np.ndarray:
        if self.gray:
            observation = cv2.cvtColor(observation, cv2.COLOR_RGB2GRAY)
        resized = cv2.resize(observation, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return resized.reshape(self.observation_space.shape)


# Named reward shapings. Off ("none") by default, so returns compare with published results; the
# chosen name is part of the env config and so recorded with every run.
FLAG_BONUS = 50.0
"""Added on the step that reaches the flag (or Bowser's axe): as much as 50 frames of running."""
REWARD_SCALE = 1.0 / 15.0
"""The game clips each frame's reward to [-15, 15]; dividing by 15 keeps per-frame rewards in
[-1, 1], so a critic's value loss stays in a sane range (unscaled returns reach the thousands)."""
REWARD_SHAPINGS = {
    "none": "the game's own reward: x progress, clock penalty, -25 on death",
    "flag_bonus": f"+{FLAG_BONUS:g} on the step that reaches the flag",
    "scale": "multiply the reward by 1/15",
}


def parse_reward_shaping(spec: str) -> tuple[str, ...]:
    """Turn "scale,flag_bonus" into its names; bonuses are always applied before scaling."""
    names = tuple(name.strip() for name in str(spec).split(",") if name.strip())
    if not names:
        names = ("none",)
    for name in names:
        if name not in REWARD_SHAPINGS:
            raise ValueError(
                f"unknown reward_shaping {name!r}: expected 'none' or a comma-separated list of "
                f"{', '.join(n for n in REWARD_SHAPINGS if n != 'none')}"
            )
    if "none" in names and len(names) > 1:
        raise ValueError(f"reward_shaping {spec!r} mixes 'none' with other shapings")
    return names


class ShapeReward(gym.Wrapper):
    """Apply the named reward shapings (see `REWARD_SHAPINGS`); the info keeps the game's reward."""

    def __init__(self, env: gym.Env, names: tuple[str, ...]):
        super().__init__(env)
        self.flag_bonus = FLAG_BONUS if "flag_bonus" in names else 0.0
        self.scale = REWARD_SCALE if "scale" in names else 1.0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["game_reward"] = reward
        if info.get("flag_get"):
            reward += self.flag_bonus
        return obs, reward * self.scale, terminated, truncated, info

