"""World Models' rollouts: episodes sampled by a real RLlib env runner with random actions,
written through Ray Data and read back, compared with the episodes themselves."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_episodes_round_trip_through_parquet(ray_local, tmp_path):
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    from custom_models.worldmodels.data import read_episodes, read_frames, write_episodes
    from mario_rllib.env import register_mario_envs
    from tune_configs.dreamerv3_mario import build_config

    register_mario_envs()
    config = build_config("debug", seed=3).env_runners(num_envs_per_env_runner=1)
    runner = SingleAgentEnvRunner(config=config)
    episodes = runner.sample(num_episodes=3, random_actions=True)
    runner.stop()
    assert write_episodes(episodes[:2], tmp_path / "rollouts") == 2
    assert write_episodes(episodes[2:], tmp_path / "rollouts") == 1  # appended

    rows = {row["episode_id"]: row for row in read_episodes(tmp_path / "rollouts").take_all()}
    assert sorted(rows) == sorted(episode.id_ for episode in episodes)
    for episode in episodes:
        row = rows[episode.id_]
        assert row["obs"].dtype == np.uint8 and row["obs"].shape == (len(episode) + 1, 64, 64, 3)
        np.testing.assert_array_equal(row["obs"], episode.get_observations())
        np.testing.assert_array_equal(row["actions"], episode.get_actions())
        np.testing.assert_array_equal(row["rewards"], np.float32(episode.get_rewards()))
        assert row["terminated"] == episode.is_terminated
        # The env's own running maximum (over every NES frame, skipped ones included), which is
        # at least the furthest x_pos of the agent steps.
        assert row["x_pos_max"] == episode.get_infos()[-1]["x_pos_max"]
        assert row["x_pos_max"] >= max(info["x_pos"] for info in episode.get_infos())
    frames = read_frames(tmp_path / "rollouts").take_all()
    assert len(frames) == sum(len(e) + 1 for e in episodes)
    assert frames[0]["obs"].shape == (64, 64, 3) and frames[0]["obs"].dtype == np.uint8
