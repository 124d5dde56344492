"""Small Gymnasium wrappers around `MarioNES`, applied by `mario_rllib.envs.make_env`.

Each wrapper does one thing and declares a correct `observation_space`. Randomness (sticky
actions, no-op starts) comes from `self.np_random`, which Gymnasium forwards to the base env, so
one `reset(seed=...)` seeds every source of variety in the stack.
"""

from __future__ import annotations

import cv2
import gymnasium as gym
import numpy as np

NOOP_ACTION = 0  # index 0 is ["NOOP"] in every action set


class StickyActions(gym.Wrapper):
    """With probability `p`, the emulator repeats the previous frame's action instead of the new one.

    Applied per NES frame, below the frame skip, as in Machado et al. 2018 ("Revisiting the Arcade
    Learning Environment"), who use p = 0.25.
    """

    def __init__(self, env: gym.Env, p: float):
        super().__init__(env)
        self.p = p
        self._last_action = NOOP_ACTION

    def reset(self, **kwargs):
        self._last_action = NOOP_ACTION
        return self.env.reset(**kwargs)

    def step(self, action):
        return self.env.step(self._sticky(action))

    def advance(self, action) -> tuple[float, bool]:
        """`MarioNES.advance` (one frame, no observation) with this frame's sticky choice."""
        return self.env.advance(self._sticky(action))

    def observe(self):
        return self.env.observe()

    def _sticky(self, action):
        if self.np_random.random() >= self.p:
            self._last_action = action
        return self._last_action


class NoopReset(gym.Wrapper):
    """Start each episode after a random number of NOOP frames in [0, noop_max], drawn from the env's RNG.

    The emulator itself is fully deterministic, so without this every episode of a fixed policy
    would be the same one (Mnih et al. 2015 use up to 30 no-op frames on Atari).
    `reset(options={"noops": k})` asks for exactly k (0 <= k <= noop_max): evaluation plays
    distinct starts that way (see `mario_rllib.rollout.noops_for_seed`).
    """

    def __init__(self, env: gym.Env, noop_max: int):
        super().__init__(env)
        self.noop_max = noop_max

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        noops = (kwargs.get("options") or {}).get("noops")
        if noops is None:
            noops = int(self.np_random.integers(0, self.noop_max + 1))
        elif not 0 <= noops <= self.noop_max:
            raise ValueError(f"bad noops {noops!r}: expected an integer in 0..{self.noop_max}")
        for _ in range(noops):
            obs, _, terminated, truncated, info = self.env.step(NOOP_ACTION)
            if terminated or truncated:  # cannot happen in 30 frames of 1-1, but be safe
                options = kwargs.get("options")
                obs, info = self.env.reset(options=options)
        return obs, info


class MaxPoolFrameSkip(gym.Wrapper):
    """Repeat the action for `skip` NES frames; return the pixel-wise max of the last two frames.

    The max removes the flicker of sprites drawn on alternate frames. Rewards are summed over the
    skipped frames and the episode ends on the first terminal frame. The returned frame is always a
    fresh array: nes-py's screen is a view of the emulator's buffer and changes on the next step.

    Only the last two frames' screens are seen, and only the last frame's info. When the env below
    can emulate a frame without building either (`advance`/`observe`: `MarioNES`, and
    `StickyActions` over it; `NoopReset` changes only resets), the frames before the last two take
    that path, which saves about 90 us of Python per frame here (gym-super-mario-bros' info
    dict ~70 us, the screen's RGB copy ~16 us) next to ~3 ms of emulation: ~1.5% at a skip of 4.
    """

    def __init__(self, env: gym.Env, skip: int):
        super().__init__(env)
        self.skip = skip
        # The second-to-last frame, copied out of the emulator's buffer before the last step.
        self._second_last = np.zeros(env.observation_space.shape, dtype=np.uint8)
        self._fast = _frame_advancer(env)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return obs.copy(), info

    def step(self, action):
        total_reward = 0.0
        unseen = self.skip - 2 if self._fast is not None else 0
        for _ in range(unseen):
            reward, terminated = self._fast.advance(action)
            total_reward += reward
            if terminated:
                obs, info = self._fast.observe()  # a new array
                return obs, total_reward, True, False, info
        for i in range(max(unseen, 0), self.skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total_reward += reward
            if terminated or truncated or i == self.skip - 1:
                break
            if i == self.skip - 2:
                np.copyto(self._second_last, obs)
        if self.skip > 1 and i == self.skip - 1:
            pooled = np.maximum(self._second_last, obs)  # a new array
        else:  # skip == 1, or the episode ended early: the last frame alone
            pooled = obs.copy()
        return pooled, total_reward, terminated, truncated, info


def _frame_advancer(env: gym.Env):
    """What steps frames for `MaxPoolFrameSkip`'s unseen frames: `MarioNES`, or `StickyActions`
    directly over it, under any number of `NoopReset`s; None for any other stack."""
    while isinstance(env, NoopReset):
        env = env.env
    if isinstance(env, StickyActions):
        return env if hasattr(env.env, "advance") and env.env is env.unwrapped else None
    return env if hasattr(env, "advance") and env is env.unwrapped else None


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
[-1, 1], so PPO's value loss stays in a sane range (unscaled returns reach the thousands)."""
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

