"""The Mario env on the real emulator: spaces, seeding, stages, info, bad input, registration."""

import importlib.util

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from mario_rllib.env import (
    ALL_STAGES,
    GYMNASIUM_ID,
    INFO_KEYS,
    RAY_ENV_NAME,
    MarioEnvConfig,
    make_env,
    parse_levels,
    register_mario_envs,
)
from mario_rllib.env.actions import controller_bytes


def rollout(env, seed, actions):
    """Reset with `seed`, play `actions`; return the observations and rewards."""
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    return observations, rewards


@pytest.mark.parametrize("mode, shape", [
    ("gray84", (84, 84, 1)), ("rgb64", (64, 64, 3)), ("raw", (240, 256, 3)),
])
def test_spaces_shapes_and_dtypes_per_mode(mode, shape):
    env = make_env(obs_mode=mode)
    assert env.observation_space == gym.spaces.Box(0, 255, shape, np.uint8)
    assert env.action_space == gym.spaces.Discrete(7)
    obs, info = env.reset(seed=0)
    assert obs.shape == shape and obs.dtype == np.uint8
    obs, reward, terminated, truncated, info = env.step(1)
    assert obs.shape == shape and obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    assert isinstance(reward, float)
    assert obs.max() > obs.min()  # a real picture, not a blank buffer
    env.close()


@pytest.mark.parametrize("action_set, n", [("right_only", 5), ("simple", 7), ("complex", 12)])
def test_action_sets(action_set, n):
    env = make_env(action_set=action_set, obs_mode="raw", noop_max=0)
    assert env.action_space.n == n
    env.close()


@pytest.mark.filterwarnings("ignore:.*is different from the unwrapped version")
def test_passes_gymnasium_env_checker():
    env = make_env()
    check_env(env.unwrapped, skip_render_check=True)
    check_env(env, skip_render_check=True)
    env.close()


def test_same_seed_and_actions_give_identical_episodes():
    env = make_env()
    actions = [int(a) for a in np.random.default_rng(0).integers(0, 7, size=60)]
    obs_a, rewards_a = rollout(env, 123, actions)
    obs_b, rewards_b = rollout(env, 123, actions)
    assert rewards_a == rewards_b
    assert all(np.array_equal(a, b) for a, b in zip(obs_a, obs_b, strict=True))
    # ... also from a freshly built env.
    other = make_env()
    obs_c, rewards_c = rollout(other, 123, actions)
    assert rewards_c == rewards_a
    assert all(np.array_equal(a, c) for a, c in zip(obs_a, obs_c, strict=True))
    env.close()
    other.close()


def test_different_seeds_give_different_episodes():
    env = make_env(obs_mode="raw")
    actions = [1] * 10
    starts = {seed: rollout(env, seed, actions)[0] for seed in range(6)}
    distinct = {obs[-1].tobytes() for obs in starts.values()}
    assert len(distinct) >= 3  # no-op starts of 0..30 frames: a collision needs equal draws
    env.close()


def test_sticky_actions_are_seeded():
    env = make_env(sticky_action_prob=0.25, noop_max=0)
    actions = [2, 1, 4, 0, 3] * 12
    assert rollout(env, 5, actions)[1] == rollout(env, 5, actions)[1]
    assert any(rollout(env, s, actions)[1] != rollout(env, 5, actions)[1] for s in range(6, 10))
    env.close()


def test_stored_frames_are_copies():
    env = make_env(obs_mode="raw", frame_skip=1, noop_max=0)
    obs, _ = env.reset(seed=0)
    kept = [obs]
    snapshots = [obs.copy()]
    for _ in range(40):
        obs, *_ = env.step(1)  # running right scrolls the screen
        kept.append(obs)
        snapshots.append(obs.copy())
    assert all(np.array_equal(k, s) for k, s in zip(kept, snapshots, strict=True))
    assert not np.array_equal(kept[0], kept[-1])
    env.close()


RUN, JUMP, DOWN = 3, 4, 10  # complex actions: right B, right A B, down
PIPE_ENTRY_1_1 = ([0] * 4 + ([RUN] * 2 + [JUMP] * 26) * 10 + [RUN] * 2 + [JUMP] * 8
                  + ([RUN] * 2 + [JUMP] * 26) * 3 + [RUN] * 2 + [JUMP] * 10 + [DOWN] * 9)
"""Scripted NES frames that land Mario on 1-1's fourth pipe (x = 918) and go down into the coin
room (found by a search with the emulator's snapshots)."""


def random_then_right(seed):
    rng = np.random.default_rng(seed)
    return list(rng.integers(7, size=100)) + [1] * 500


@pytest.mark.parametrize("action_set, plans", [
    # 100 random frames, then running right into the first Goomba: each episode ends by death,
    # the second from a reset after the first death.
    ("simple", [random_then_right(0), random_then_right(0)]),
    # Down the pipe: the frame of the entry, then the coin room.
    ("complex", [PIPE_ENTRY_1_1 + [RUN] * 150]),
], ids=["deaths", "pipe-entry"])
@pytest.mark.skipif(int(np.__version__.split(".")[0]) >= 2,
                    reason="gym-super-mario-bros' own env needs numpy 1 (under numpy 2 the "
                    "recorded trajectories are the ground truth)")
def test_step_matches_gym_super_mario_bros_frame_by_frame(action_set, plans):
    """`MarioNES` steps the emulator itself (nes-py's step, the info only where it is seen):
    rewards, ends, infos and screens equal those of gym-super-mario-bros' own env."""
    from mario_rllib.env.nes import reference_env

    ours = make_env(obs_mode="raw", frame_skip=1, noop_max=0, action_set=action_set)
    theirs = reference_env("1-1")
    codes = controller_bytes(action_set)
    x_positions = []
    for episode, plan in enumerate(plans):
        ours.reset(seed=episode)
        theirs.reset()
        for frame, action in enumerate(plan):
            obs, reward, terminated, truncated, info = ours.step(int(action))
            screen, their_reward, done, their_info = theirs.step(codes[action])
            assert (reward, terminated, truncated) == (their_reward, done, False), frame
            assert np.array_equal(obs, screen), frame
            assert {k: v for k, v in info.items() if k != "x_pos_max"} == their_info, frame
            x_positions.append(info["x_pos"])
            if done:
                break
        assert done == (action_set == "simple") and frame > 100
    if action_set == "complex":  # the entry was reached: x jumps from the pipe to the room
        entry = len(PIPE_ENTRY_1_1) - 1
        assert x_positions[entry] == 918 and x_positions[entry + 1] < 100
    ours.close()
    theirs.close()


def test_frame_skip_is_four_single_frames_with_the_max_of_the_last_two():
    """With sticky actions and no-op starts, an agent step of 4 frames is what stepping the same
    env one frame at a time gives (the same seeded draws): rewards summed, the max of the last
    two screens (the terminal one alone), the last frame's info."""
    def env(skip):
        return make_env(obs_mode="raw", frame_skip=skip, sticky_action_prob=0.25, noop_max=30)

    skipped, single = env(4), env(1)
    rng = np.random.default_rng(3)
    ends = 0
    for episode in range(2):
        obs, info = skipped.reset(seed=3 + episode)
        frame, frame_info = single.reset(seed=3 + episode)
        assert np.array_equal(obs, frame) and info == frame_info
        for _ in range(150):  # 600 frames, mostly running right: the Goombas end episodes
            action = 1 if rng.random() < 0.7 else int(rng.integers(7))
            obs, reward, terminated, _, info = skipped.step(action)
            total, screens = 0.0, []
            for _ in range(4):
                frame, frame_reward, frame_end, _, frame_info = single.step(action)
                total += frame_reward
                screens.append(frame)
                if frame_end:
                    break
            expected = np.maximum(*screens[-2:]) if len(screens) == 4 else screens[-1]
            assert np.array_equal(obs, expected)
            assert (reward, terminated, info) == (total, frame_end, frame_info)
            if terminated:
                ends += 1
                break
    assert ends >= 1
    skipped.close()
    single.close()


def test_info_keys_and_types():
    env = make_env()
    _, info = env.reset(seed=0)
    for _ in range(5):
        _, _, _, _, info = env.step(1)
    assert set(INFO_KEYS) <= set(info)
    assert (info["world"], info["stage"]) == (1, 1)
    assert isinstance(info["x_pos"], int) and info["x_pos"] > 40
    assert info["flag_get"] is False
    assert 0 < info["time"] <= 400 and info["life"] >= 0 and info["score"] >= 0
    env.close()


def test_level_list_draws_stages_from_the_seeded_rng():
    env = make_env(levels="1-1,1-2,4-1", obs_mode="raw", noop_max=0)

    def stages(seed):
        env.reset(seed=seed)
        drawn = [env.unwrapped.stage]
        for _ in range(11):
            _, info = env.reset()
            drawn.append(f"{info['world']}-{info['stage']}")
        return drawn

    first = stages(0)
    assert set(first) == {"1-1", "1-2", "4-1"}
    assert stages(0) == first
    assert stages(1) != first
    env.close()


def test_reset_option_picks_the_stage():
    env = make_env(levels="1-1,4-1", noop_max=0)
    _, info = env.reset(seed=0, options={"level": "4-1"})
    assert (info["world"], info["stage"]) == (4, 1)
    env.close()


def test_parse_levels():
    assert parse_levels("1-1") == ("1-1",)
    assert parse_levels(" 1-1, 1-2 ,4-1") == ("1-1", "1-2", "4-1")
    assert parse_levels(["8-4"]) == ("8-4",)
    assert parse_levels("all") == ALL_STAGES and len(ALL_STAGES) == 32
    assert MarioEnvConfig(levels=["1-1", "1-2"]) == MarioEnvConfig(levels="1-1,1-2")


def test_time_limit_and_reward_shaping():
    env = make_env(max_episode_steps=3, reward_shaping="scale", noop_max=0)
    env.reset(seed=0)
    results = [env.step(1) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True]  # truncated on the third step
    assert all(r[1] == pytest.approx(r[4]["game_reward"] / 15) for r in results)
    env.close()


@pytest.mark.parametrize("bad, message", [
    ({"levels": "9-1"}, r"^unknown level '9-1': expected a stage 'W-S' with world 1-8 and stage "
                        r"1-4 \(e\.g\. '1-1'\), a comma-separated list of stages, or 'all'$"),
    ({"levels": "1-5"}, r"^unknown level '1-5': "),
    ({"levels": "abc"}, r"^unknown level 'abc': "),
    ({"levels": "1-1,,1-2"}, r"^unknown level '': "),
    ({"action_set": "jump"}, r"^unknown action_set 'jump': expected one of right_only, simple, "
                             r"complex$"),
    ({"obs_mode": "gray64"}, r"^unknown obs_mode 'gray64': expected one of gray84, rgb64, raw$"),
    ({"frame_skip": 0}, r"^bad frame_skip 0: expected an integer >= 1$"),
    ({"frame_skip": 2.5}, r"^bad frame_skip 2\.5: expected an integer >= 1$"),
    ({"noop_max": -1}, r"^bad noop_max -1: "),
    ({"sticky_action_prob": 1.0}, r"^bad sticky_action_prob 1\.0: expected a number in \[0, 1\)$"),
    ({"reward_shaping": "coins"}, r"^unknown reward_shaping 'coins': "),
    ({"level": "1-1"}, r"^unknown env config key 'level': expected some of levels, action_set"),
])
def test_bad_input_is_a_one_line_value_error(bad, message):
    with pytest.raises(ValueError, match=message) as error:
        make_env(bad)
    assert "\n" not in str(error.value)


def test_registration_with_gymnasium_is_idempotent_and_matches_make_env():
    register_mario_envs()
    register_mario_envs()
    kwargs = dict(levels="1-2", action_set="right_only", obs_mode="rgb64", frame_skip=2,
                  reward_shaping="scale", noop_max=5)
    env = gym.make(GYMNASIUM_ID, max_episode_steps=4, **kwargs)
    ours = make_env(max_episode_steps=4, **kwargs)
    assert env.observation_space == ours.observation_space
    assert env.action_space == ours.action_space
    actions = [1, 2, 3, 4, 4]
    obs_env, rewards_env = rollout(env, 9, actions)
    obs_ours, rewards_ours = rollout(ours, 9, actions)
    assert rewards_env == rewards_ours and len(rewards_env) == 4  # truncated after 4 steps
    assert all(np.array_equal(a, b) for a, b in zip(obs_env, obs_ours, strict=True))
    env.close()
    ours.close()


def test_registration_with_ray_builds_from_an_env_config():
    pytest.importorskip("ray", reason="the env-only leg installs no Ray")
    from ray.rllib.env.env_context import EnvContext
    from ray.tune.registry import ENV_CREATOR, _global_registry

    register_mario_envs()
    creator = _global_registry.get(ENV_CREATOR, RAY_ENV_NAME)
    env = creator(EnvContext({"levels": "1-1", "obs_mode": "gray84"}, worker_index=1))
    obs, _ = env.reset(seed=0)
    assert obs.shape == (84, 84, 1)
    env.close()


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="the env-only leg installs no Ray")
def test_env_works_inside_a_ray_actor(ray_local):
    ray = ray_local

    @ray.remote(num_cpus=1)
    class Player:
        def __init__(self, env_config):
            # Envs never cross processes: the actor builds its own from a picklable config.
            from mario_rllib.env import make_env

            self.env = make_env(env_config)

        def play(self, seed, steps):
            obs, info = self.env.reset(seed=seed)
            total = 0.0
            for _ in range(steps):
                obs, reward, terminated, truncated, info = self.env.step(1)
                total += reward
                if terminated or truncated:
                    break
            return obs, total, info

        def close(self):
            self.env.close()
            return True

    player = Player.remote({"levels": "1-1", "obs_mode": "gray84"})
    obs, total, info = ray.get(player.play.remote(0, 20))
    assert obs.shape == (84, 84, 1) and obs.dtype == np.uint8
    assert total > 0 and info["x_pos"] > 40
    assert ray.get(player.close.remote()) is True
    # The same episode in this process gives the same result.
    env = make_env(levels="1-1")
    local_obs, local_rewards = rollout(env, 0, [1] * 20)
    assert np.array_equal(local_obs[-1], obs) and sum(local_rewards) == total
    env.close()
