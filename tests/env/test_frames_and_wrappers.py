"""The env's frame logic (frame skip, max-pool, sticky actions, no-op starts) and wrappers, on a
tiny scripted emulator whose frames are known, so results can be checked by hand. The real
emulator is exercised in test_config.py and test_nes.py.
"""

import gymnasium as gym
import numpy as np
import pytest

from mario_rllib.env import wrappers
from mario_rllib.env.nes import NOOP_ACTION, NESFrames


class ScriptedNES(NESFrames):
    """Frame t: pixel (0, 0) flickers (200 on odd t, 0 on even t); pixel (1, 1) holds t.

    Reward per frame is t; the episode terminates on frame `end` with flag_get=True. Every action
    the emulator received is kept, as the NES controller would have seen it.
    """

    def __init__(self, end=100, **kwargs):
        super().__init__(["1-1"], 3, **kwargs)
        self.observation_space = gym.spaces.Box(0, 255, (2, 2, 3), np.uint8)
        self.end = end

    def _reset_to(self, stage):
        self.t, self.actions, self.drawn = 0, [], []

    def _frame(self, action, draw):
        self.t += 1
        self.actions.append(action)
        self.drawn.append(draw)
        return float(self.t), self.t >= self.end, self.t

    def _info(self):
        return {"x_pos": self.t, "x_pos_max": self._x_pos_max, "flag_get": self.t >= self.end}

    def _screen(self):
        screen = np.zeros((2, 2, 3), np.uint8)
        screen[0, 0] = 200 if self.t % 2 else 0
        screen[1, 1] = self.t % 256
        return screen


def test_frame_skip_pools_the_last_two_frames_and_sums_rewards():
    env = ScriptedNES(frame_skip=4)
    env.reset()
    obs, reward, terminated, truncated, info = env.step(1)
    assert reward == 1 + 2 + 3 + 4
    assert obs[0, 0, 0] == 200  # frame 3 flickered on, frame 4 off: the max keeps the sprite
    assert obs[1, 1, 0] == 4
    assert info["x_pos"] == 4 and info["x_pos_max"] == 4
    assert not terminated and not truncated
    assert env.actions == [1, 1, 1, 1]


@pytest.mark.parametrize("frame_skip", [1, 2, 4, 6])
def test_only_the_frames_whose_screens_are_seen_are_drawn(frame_skip):
    """The last two frames of a step (max-pooled) are drawn, the ones before are not, and the
    no-op frames of a reset are."""
    env = ScriptedNES(frame_skip=frame_skip, noop_max=5)
    env.reset(seed=0, options={"noops": 3})
    assert env.drawn == [True] * 3
    env.step(1)
    env.step(2)
    step = [False] * max(frame_skip - 2, 0) + [True] * min(frame_skip, 2)
    assert env.drawn == [True] * 3 + step * 2


def test_frame_skip_returns_new_arrays():
    env = ScriptedNES(frame_skip=1)
    first, _ = env.reset()
    second, *_ = env.step(0)
    third, *_ = env.step(0)
    assert (first[1, 1, 0], second[1, 1, 0], third[1, 1, 0]) == (0, 1, 2)


def test_frame_skip_stops_on_the_terminal_frame():
    env = ScriptedNES(end=6, frame_skip=4)
    env.reset()
    env.step(0)  # frames 1-4
    obs, reward, terminated, _, info = env.step(0)  # frames 5-6, then the episode ends
    assert terminated and info["flag_get"]
    assert reward == 5 + 6
    assert obs[1, 1, 0] == 6 and obs[0, 0, 0] == 0  # the last frame alone, not pooled


def test_noop_starts_are_drawn_from_the_env_rng_or_asked_for():
    env = ScriptedNES(noop_max=30)
    counts = []
    for seed in range(20):
        env.reset(seed=seed)
        counts.append(len(env.actions))
        assert set(env.actions) <= {NOOP_ACTION}
    assert min(counts) >= 0 and max(counts) <= 30
    assert len(set(counts)) > 5  # seeds give different starts
    env.reset(seed=7)
    again = len(env.actions)
    env.reset(seed=7)
    assert len(env.actions) == again
    env.reset(seed=7, options={"noops": 12})
    assert env.actions == [NOOP_ACTION] * 12
    with pytest.raises(ValueError, match=r"^bad noops 31: expected an integer in 0\.\.30$"):
        env.reset(options={"noops": 31})


def test_sticky_actions_repeat_the_previous_action_at_rate_p():
    env = ScriptedNES(end=10_000, frame_skip=1, sticky_action_prob=0.25)
    env.reset(seed=0)
    for _ in range(4000):
        env.step(1)
        env.step(2)
    # Each requested action is replaced by the previous one with probability 0.25.
    kept = sum(a == want for a, want in zip(env.actions, [1, 2] * 4000, strict=True))
    assert 0.70 < kept / len(env.actions) < 0.80


def test_the_furthest_x_position_is_kept_per_episode():
    env = ScriptedNES(end=10, frame_skip=3)
    env.reset()
    for _ in range(3):
        *_, info = env.step(0)
    assert info["x_pos_max"] == 9
    env.reset()
    assert env.step(0)[-1]["x_pos_max"] == 3


class ScriptedScreen(gym.Env):
    """An agent-step env for the wrappers: reward per step t, ends on step `end` at the flag."""

    def __init__(self, end=100):
        self.observation_space = gym.spaces.Box(0, 255, (2, 2, 3), np.uint8)
        self.action_space = gym.spaces.Discrete(3)
        self.end = end

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros((2, 2, 3), np.uint8), {"x_pos": 0, "flag_get": False}

    def step(self, action):
        self.t += 1
        done = self.t >= self.end
        return np.zeros((2, 2, 3), np.uint8), float(self.t), done, False, {
            "x_pos": self.t, "flag_get": done}


def test_resize_observation_shapes_and_dtype():
    base = gym.make("CartPole-v1")  # any env; only the observation method is used
    gray = wrappers.ResizeObservation(base, size=84, gray=True)
    rgb = wrappers.ResizeObservation(base, size=64, gray=False)
    screen = np.full((240, 256, 3), 128, np.uint8)
    screen[:, :128] = (255, 0, 0)  # left half red
    out_gray, out_rgb = gray.observation(screen), rgb.observation(screen)
    assert out_gray.shape == (84, 84, 1) and out_gray.dtype == np.uint8
    assert out_rgb.shape == (64, 64, 3) and out_rgb.dtype == np.uint8
    assert tuple(out_rgb[10, 5]) == (255, 0, 0) and tuple(out_rgb[10, 60]) == (128, 128, 128)
    assert out_gray[10, 5, 0] == 76  # ITU-R 601 luma of pure red: 0.299 * 255
    assert gray.observation_space.contains(out_gray) and rgb.observation_space.contains(out_rgb)


def test_shape_reward_adds_the_flag_bonus_before_scaling():
    env = wrappers.ShapeReward(ScriptedScreen(end=2), ("scale", "flag_bonus"))
    env.reset()
    _, reward, _, _, info = env.step(0)
    assert reward == pytest.approx(1 / 15) and info["game_reward"] == 1
    _, reward, terminated, _, _ = env.step(0)
    assert terminated
    assert reward == pytest.approx((2 + wrappers.FLAG_BONUS) / 15)


@pytest.mark.parametrize("spec, names", [
    ("none", ("none",)), ("", ("none",)), ("scale", ("scale",)),
    ("flag_bonus, scale", ("flag_bonus", "scale")),
])
def test_parse_reward_shaping(spec, names):
    assert wrappers.parse_reward_shaping(spec) == names


@pytest.mark.parametrize("spec", ["bonus", "none,scale"])
def test_bad_reward_shaping_is_one_line(spec):
    with pytest.raises(ValueError, match=r"reward_shaping") as error:
        wrappers.parse_reward_shaping(spec)
    assert "\n" not in str(error.value)
