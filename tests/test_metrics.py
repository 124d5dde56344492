"""The episode metrics through RLlib's real aggregation path: the callback on an env runner's
MetricsLogger, the runner's reduce, the algorithm's root logger (aggregate, compile), and a real
algorithm's training results against the episodes its runner finished."""

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS
from ray.rllib.utils.metrics.metrics_logger import MetricsLogger

from mario_rllib.metrics import STATS_CLS_LOOKUP, WINDOW, MarioMetricsCallback


def finished_episode(x_positions, flag, world=1, stage=1, score=100, reward=1.0):
    space = gym.spaces.Box(0, 255, (2, 2, 1), np.uint8)
    obs = np.zeros((2, 2, 1), np.uint8)

    def info(i):
        return {"x_pos": x_positions[i], "x_pos_max": max(x_positions[: i + 1]),
                "flag_get": flag and i == len(x_positions) - 1, "world": world, "stage": stage,
                "score": score}

    episode = SingleAgentEpisode(observations=[obs], infos=[info(0)], observation_space=space,
                                 action_space=gym.spaces.Discrete(2))
    return episode, [(obs, info(i), reward, i == len(x_positions) - 1)
                     for i in range(1, len(x_positions))]


def play(callback, logger, episode, steps):
    """Add the steps as an env runner does, with the callbacks it makes."""
    for obs, info, reward, last in steps:
        episode.add_env_step(obs, 0, reward, infos=info, terminated=last)
        callback.on_episode_step(episode=episode, metrics_logger=logger)
    callback.on_episode_end(episode=episode, metrics_logger=logger, env_index=0)


def runner_logger():
    return MetricsLogger(root=False, stats_cls_lookup=STATS_CLS_LOOKUP)


def algorithm_logger():
    return MetricsLogger(root=True, stats_cls_lookup=STATS_CLS_LOOKUP)


def iteration(root, *runners):
    """One training iteration: each runner's reduce goes to the root, which compiles."""
    root.aggregate([runner.reduce() for runner in runners], key=ENV_RUNNER_RESULTS)
    return root.compile()[ENV_RUNNER_RESULTS]


def test_episode_metrics():
    logger, callback = runner_logger(), MarioMetricsCallback()
    for x_positions, flag, world, score in (([40, 300, 250], False, 1, 100),
                                            ([40, 900, 3161], True, 1, 2000),
                                            ([40, 200], False, 4, 100)):
        play(callback, logger, *finished_episode(x_positions, flag, world=world, score=score))
    value = logger.peek
    assert value("flag_rate") == pytest.approx(1 / 3)
    assert value("x_pos_max_mean") == pytest.approx((300 + 3161 + 200) / 3)
    assert value("x_pos_max_max") == 3161
    assert value("score_mean") == pytest.approx((100 + 2000 + 100) / 3)
    assert value("return_mean") == pytest.approx((2 + 2 + 1) / 3)
    assert value("window_episodes") == 3
    assert value(("stages", "1-1", "flag_rate")) == pytest.approx(0.5)
    assert value(("stages", "1-1", "x_pos_max_mean")) == pytest.approx((300 + 3161) / 2)
    assert value(("stages", "4-1", "x_pos_max_mean")) == 200


def test_the_window_spans_sample_calls_and_env_runners():
    """3 misses in one sample call, then 1 flag in the next: 1 of 4 episodes, not the mean of
    the two calls' rates (0.5, which RLlib's own windowed means give)."""
    root, runner, callback = algorithm_logger(), runner_logger(), MarioMetricsCallback()
    for x in (300, 400, 500):
        play(callback, runner, *finished_episode([40, x], flag=False))
    first = iteration(root, runner)
    assert first["flag_rate"] == 0.0 and first["window_episodes"] == 3
    play(callback, runner, *finished_episode([40, 3161], flag=True))
    second = iteration(root, runner)
    assert second["flag_rate"] == pytest.approx(0.25)
    assert second["x_pos_max_mean"] == pytest.approx((300 + 400 + 500 + 3161) / 4)
    assert second["x_pos_max_max"] == 3161
    # An iteration in which no episode ends still reports the window.
    assert iteration(root, runner)["flag_rate"] == pytest.approx(0.25)
    # Two env runners in one iteration: every episode counts once.
    other = runner_logger()
    play(callback, runner, *finished_episode([40, 100], flag=False))
    for _ in range(3):
        play(callback, other, *finished_episode([40, 3161], flag=True))
    third = iteration(root, runner, other)
    assert third["flag_rate"] == pytest.approx(4 / 8) and third["window_episodes"] == 8


def test_the_window_holds_the_last_100_episodes_and_survives_a_checkpoint():
    root, runner, callback = algorithm_logger(), runner_logger(), MarioMetricsCallback()
    flags = [i % 3 == 0 for i in range(150)]
    for start in range(0, 150, 7):  # sample calls of 7 episodes
        for flag in flags[start:start + 7]:
            play(callback, runner, *finished_episode([40, 3161 if flag else 500], flag=flag))
        result = iteration(root, runner)
    assert result["window_episodes"] == WINDOW
    assert result["flag_rate"] == pytest.approx(sum(flags[-WINDOW:]) / WINDOW)
    # The algorithm's metrics state (in its checkpoints) carries the window on.
    restored = algorithm_logger()
    restored.set_state(root.get_state())
    play(callback, runner, *finished_episode([40, 3161], flag=True))
    window = flags[-WINDOW + 1:] + [True]
    assert iteration(restored, runner)["flag_rate"] == pytest.approx(sum(window) / WINDOW)


def test_a_long_episode_sampled_in_chunks_reports_its_whole_return():
    logger, callback = runner_logger(), MarioMetricsCallback()
    episode, steps = finished_episode([40, 50, 60, 70, 80, 90], flag=False, reward=2.0)
    for obs, info, reward, last in steps[:3]:
        episode.add_env_step(obs, 0, reward, infos=info, terminated=last)
        callback.on_episode_step(episode=episode, metrics_logger=logger)
    chunk = episode.cut()  # a sample() call ends: the episode goes on in a new chunk
    play(callback, logger, chunk, steps[3:])
    assert logger.peek("return_mean") == pytest.approx(10.0)


class RecordingCallback(MarioMetricsCallback):
    """Ours, plus a record of every finished episode, written by the env runner itself."""

    finished: list[tuple[float, float]] = []

    def on_episode_end(self, *, episode, **kwargs):
        info = episode.get_infos(-1)
        RecordingCallback.finished.append((float(info["flag_get"]), float(info["x_pos_max"])))
        super().on_episode_end(episode=episode, **kwargs)


@pytest.mark.slow
def test_a_real_algorithms_results_are_over_its_last_episodes(ray_local):
    """PPO (debug preset: its env runner in this process) trained for a few iterations: each
    result's metrics equal those of the episodes finished so far, computed here."""
    from mario_rllib.env import register_mario_envs
    from tune_configs import load_experiment

    register_mario_envs()
    RecordingCallback.finished.clear()
    config = load_experiment("ppo").build_config("debug", max_episode_steps=40)
    algorithm = config.callbacks(RecordingCallback).build_algo()
    try:
        for _ in range(4):
            result = algorithm.train()[ENV_RUNNER_RESULTS]
            window = RecordingCallback.finished[-WINDOW:]
            assert result["window_episodes"] == len(window)
            assert result["flag_rate"] == pytest.approx(np.mean([f for f, _ in window]))
            assert result["x_pos_max_mean"] == pytest.approx(np.mean([x for _, x in window]))
            assert result["x_pos_max_max"] == max(x for _, x in window)
        assert len(RecordingCallback.finished) >= 8  # several sample calls' worth of episodes
    finally:
        algorithm.stop()
