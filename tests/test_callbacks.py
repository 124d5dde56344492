"""The metrics callback with RLlib's real MetricsLogger and episodes. No Ray."""

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils.metrics.metrics_logger import MetricsLogger

from mario_rllib.callbacks import MarioMetricsCallback


def finished_episode(x_positions, flag, world=1, stage=1, score=100):
    space = gym.spaces.Box(0, 255, (2, 2, 1), np.uint8)
    obs = np.zeros((2, 2, 1), np.uint8)

    def info(i):
        return {"x_pos": x_positions[i], "x_pos_max": max(x_positions[: i + 1]),
                "flag_get": flag and i == len(x_positions) - 1, "world": world, "stage": stage,
                "score": score}

    episode = SingleAgentEpisode(observations=[obs], infos=[info(0)], observation_space=space,
                                 action_space=gym.spaces.Discrete(2))
    for i in range(1, len(x_positions)):
        episode.add_env_step(obs, 0, 1.0, infos=info(i), terminated=i == len(x_positions) - 1)
    return episode


def test_episode_metrics():
    logger = MetricsLogger()
    callback = MarioMetricsCallback()
    for episode in (finished_episode([40, 300, 250], flag=False),
                    finished_episode([40, 900, 3161], flag=True, score=2000),
                    finished_episode([40, 200], flag=False, world=4, stage=1)):
        callback.on_episode_end(episode=episode, metrics_logger=logger, env_index=0)
    value = logger.peek
    assert value("flag_rate") == pytest.approx(1 / 3)
    assert value("x_pos_max_mean") == pytest.approx((300 + 3161 + 200) / 3)
    assert value("x_pos_max_max") == 3161
    assert value("score_mean") == pytest.approx((100 + 2000 + 100) / 3)
    assert value(("stages", "1-1", "flag_rate")) == pytest.approx(0.5)
    assert value(("stages", "1-1", "x_pos_max_mean")) == pytest.approx((300 + 3161) / 2)
    assert value(("stages", "4-1", "x_pos_max_mean")) == 200
