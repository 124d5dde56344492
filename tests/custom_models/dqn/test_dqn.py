"""DQN's schedules on RLlib's real algorithm: the training intensity that actually runs, and what
a restored trial goes on with (epsilon, beta, target sync) and what it redoes (the burn-in)."""

from __future__ import annotations

import math

import pytest
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, LEARNER_RESULTS

from custom_models.dqn.dqn import BURN_IN_BUFFERED, TRAINING_INTENSITY
from custom_models.dqn.learner import MarioDQNLearner
from mario_rllib.env import register_mario_envs
from mario_rllib.progress import format_progress
from tune_configs import load_experiment
from tune_configs.dqn_mario import rllib_training_intensity

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("runners, intensity, expected", [
    (0, 32 / 3, 32 / 3), (1, 32 / 3, 16 / 3), (2, 32 / 3, 64 / 9), (2, 4.0, 8 / 3)])
def test_rllib_is_asked_for_intensity_times_n_over_n_plus_1(runners, intensity, expected):
    settings = {"training_intensity": intensity, "num_env_runners": runners}
    assert rllib_training_intensity(settings) == pytest.approx(expected)


def test_the_configured_intensity_is_what_runs_with_remote_env_runners(ray_local):
    """Two remote env runners, as the cpu preset: replayed samples per sampled step, counted by
    RLlib's learner and env runners, are the configured 8/3 (RLlib alone gave 4)."""
    register_mario_envs()
    config = load_experiment("dqn").build_config(
        "debug", num_env_runners=2, envs_per_runner=2, num_cpus_per_env_runner=0.5,
        training_intensity=8 / 3, learning_starts=24)
    algorithm = config.build_algo()
    try:
        algorithm.train()  # learning starts in this iteration
        result = algorithm.train()
        trained = result[LEARNER_RESULTS]["__all_modules__"]["num_env_steps_trained"]
        sampled = result[ENV_RUNNER_RESULTS]["num_env_steps_sampled"]
        # An env that resets mid-call can add a step to a call of 6 (3 steps x 2 envs).
        assert trained / sampled == pytest.approx(8 / 3, rel=0.03)
        assert result[TRAINING_INTENSITY] == pytest.approx(8 / 3, rel=0.03)
        assert math.isnan(result[BURN_IN_BUFFERED])  # the burn-in ended an iteration ago
        assert "burn-in" not in format_progress("t", result)
    finally:
        algorithm.stop()


def test_the_burn_in_reports_the_steps_buffered_so_far(ray_local):
    register_mario_envs()
    algorithm = load_experiment("dqn").build_config("debug", learning_starts=100_000).build_algo()
    try:
        for _ in range(2):
            result = algorithm.train()
            sampled = result[ENV_RUNNER_RESULTS]["num_env_steps_sampled_lifetime"]
            buffered = algorithm.local_replay_buffer.get_added_timesteps()
            assert result[BURN_IN_BUFFERED] == sampled == buffered
            assert format_progress("t", result).endswith(
                f" | burn-in {int(sampled):,}/100,000 steps, no updates")
        assert algorithm.local_replay_buffer.sampled_timesteps == 0
    finally:
        algorithm.stop()


def test_a_restored_trial_goes_on_with_its_schedules_and_redoes_the_burn_in(tmp_path, ray_local):
    register_mario_envs()
    algorithm = load_experiment("dqn").build_config("debug").build_algo()  # burn-in 64 steps
    for _ in range(3):
        algorithm.train()
    learner = algorithm.learner_group._learner
    assert isinstance(learner, MarioDQNLearner)
    last_sync = dict(learner.last_update_ts_by_mid)
    steps = algorithm.metrics.peek((ENV_RUNNER_RESULTS, "num_env_steps_sampled_lifetime"))
    assert steps > 300 and last_sync["default_policy"] > 0
    algorithm.save_to_path(str(tmp_path))
    algorithm.stop()

    restored = Algorithm.from_checkpoint(str(tmp_path))
    try:
        learner = restored.learner_group._learner
        # The target network is synced on the trial's step count, not at once.
        assert dict(learner.last_update_ts_by_mid) == last_sync
        buffer = restored.local_replay_buffer
        assert buffer.get_added_timesteps() == 0  # checkpoints hold no replay buffer ...
        while buffer.get_added_timesteps() < 64:  # ... so the burn-in is redone: no updates
            restored.training_step()
            assert buffer.sampled_timesteps == 0
        restored.training_step()
        assert buffer.sampled_timesteps > 0  # learning goes on once the buffer holds 64 steps
        now = restored.metrics.peek((ENV_RUNNER_RESULTS, "num_env_steps_sampled_lifetime"))
        assert now > steps
        # beta anneals over the trial's steps (0.4 -> 1 over 1,000 in the debug preset) ...
        assert buffer.current_beta == pytest.approx(0.4 + 0.6 * min(1.0, now / 1_000), abs=0.02)
        # ... and epsilon (1.0 -> 0.1 over 500 steps) goes on from the steps before the save
        # (RLlib's env runner reads its step count once per iteration: it lags by up to one).
        restored.train()
        epsilon = float(restored.env_runner.module.epsilon_schedule.get_current_value())
        assert epsilon <= 1.0 - 0.9 * steps / 500 + 1e-6
    finally:
        restored.stop()
