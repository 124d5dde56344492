"""World Models' rollouts: episodes sampled by a real RLlib env runner with random actions,
written as Parquet and read back (by our streaming readers and by Ray Data), compared with the
episodes themselves; M's padded batches against the episodes by hand."""

import numpy as np
import pytest

from custom_models.worldmodels.algorithm import mdn_batch
from custom_models.worldmodels.data import (
    count_episodes,
    iter_episodes,
    iter_frame_batches,
    write_episodes,
)


@pytest.fixture(scope="module")
def sampled():
    """Three random-action episodes (debug preset: at most 100 steps) from a real env runner."""
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    from mario_rllib.env import register_mario_envs
    from tune_configs.worldmodels_mario import build_config

    register_mario_envs()
    runner = SingleAgentEnvRunner(config=build_config("debug", seed=3))
    episodes = runner.sample(num_episodes=3, random_actions=True)
    runner.stop()
    return episodes


@pytest.mark.slow
def test_episodes_round_trip_through_parquet(sampled, tmp_path):
    assert write_episodes(sampled[:2], tmp_path, "a") == 2
    assert write_episodes(sampled[2:], tmp_path, "b") == 1  # a second file, beside the first
    assert write_episodes([], tmp_path, "c") == 0 and not (tmp_path / "c.parquet").exists()
    rows = {row["episode_id"]: row for row in iter_episodes(tmp_path)}
    assert sorted(rows) == sorted(episode.id_ for episode in sampled)
    for episode in sampled:
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
    assert count_episodes(tmp_path) == (3, sum(len(episode) for episode in sampled))


@pytest.mark.slow
def test_ray_data_reads_the_files_as_written(sampled, tmp_path, ray_local):
    import ray

    write_episodes(sampled, tmp_path, "a")
    rows = {row["episode_id"]: row for row in ray.data.read_parquet(str(tmp_path)).take_all()}
    for episode in sampled:
        frames = np.frombuffer(rows[episode.id_]["obs"], np.uint8).reshape(-1, 64, 64, 3)
        np.testing.assert_array_equal(frames, episode.get_observations())


@pytest.mark.slow
def test_frame_batches_hold_every_frame_once_shuffled(sampled, tmp_path):
    write_episodes(sampled[:1], tmp_path, "a")
    write_episodes(sampled[1:], tmp_path, "b")
    batches = list(iter_frame_batches(tmp_path, 16, shuffle_frames=40,
                                      rng=np.random.default_rng(0)))
    frames = np.concatenate(batches)
    assert all(len(batch) == 16 for batch in batches[:-1]) and 0 < len(batches[-1]) <= 16
    real = np.concatenate([episode.get_observations() for episode in sampled])
    assert len(frames) == len(real)

    def multiset(array):
        return sorted(frame.tobytes() for frame in array)

    assert multiset(frames) == multiset(real)
    assert not np.array_equal(frames, real)  # shuffled


def test_mdn_batch_pads_cuts_and_marks_game_ends():
    def episode(steps, terminated, offset):
        return {"mu": np.arange(steps + 1, dtype=np.float32)[:, None].repeat(2, 1) + offset,
                "log_var": np.full((steps + 1, 2), -1.0, np.float32),
                "actions": np.arange(steps) % 7, "rewards": np.ones(steps, np.float32),
                "terminated": terminated}

    batch = mdn_batch([episode(3, True, 0), episode(6, True, 100), episode(2, False, 200)],
                      seq_len=5)
    assert batch["mu"].shape == (3, 6, 2) and batch["actions"].shape == (3, 5)
    np.testing.assert_array_equal(batch["mask"], [[1, 1, 1, 0, 0], [1] * 5, [1, 1, 0, 0, 0]])
    # The end is the game's (death or flag) only where the episode's last step is in the batch.
    np.testing.assert_array_equal(batch["ends"], [[0, 0, 1, 0, 0], [0] * 5, [0] * 5])
    np.testing.assert_array_equal(batch["mu"][0, :, 0], [0, 1, 2, 3, 0, 0])
    np.testing.assert_array_equal(batch["mu"][1, :, 0], [100, 101, 102, 103, 104, 105])
    np.testing.assert_array_equal(batch["rewards"][2], [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(batch["actions"][1], [0, 1, 2, 3, 4])
