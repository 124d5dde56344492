"""Latent DQN against DQN at the same budget, on RLlib's real algorithm: half of its learner's
updates are the world model's, so RLlib replays twice DQN's samples per sampled step and the Q
streams get DQN's updates per agent step (and so DQN's target syncs per Q update)."""

from __future__ import annotations

import pytest
from ray.rllib.algorithms.dqn.dqn import calculate_rr_weights
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, LEARNER_RESULTS

from mario_rllib.env import register_mario_envs
from tune_configs import load_experiment

pytestmark = pytest.mark.slow

PHASE = 3  # the debug preset's phase_updates


def test_the_q_streams_replay_dqns_samples_per_agent_step(ray_local):
    register_mario_envs()
    config = load_experiment("latent_dqn").build_config(
        "debug", num_env_runners=2, envs_per_runner=2, num_cpus_per_env_runner=0.5,
        training_intensity=4.0, learning_starts=24)
    algorithm = config.build_algo()
    try:
        learner = algorithm.learner_group._learner
        algorithm.train()  # learning starts in this iteration
        updates_before = learner.updates
        result = algorithm.train()
        trained = result[LEARNER_RESULTS]["__all_modules__"]["num_env_steps_trained"]
        sampled = result[ENV_RUNNER_RESULTS]["num_env_steps_sampled"]
        updates = range(updates_before, learner.updates)
        q_updates = sum(1 for update in updates if (update // PHASE) % 2 == 1)
    finally:
        algorithm.stop()
    batch = config.train_batch_size_per_learner
    assert trained == batch * len(updates)
    # All updates replay 2 x 4 samples per sampled step; the Q phases' share of them, 4, within
    # a phase's updates.
    assert trained / sampled == pytest.approx(2 * 4, rel=0.03)
    assert abs(q_updates * batch / sampled - 4) <= PHASE * batch / sampled


def _replayed_per_sampled_step(config) -> float:
    """What RLlib 2.60's DQN replays per sampled step: `calculate_rr_weights` gives sample calls
    and updates per round; a call brings fragment x envs x remote runners steps."""
    calls, updates = calculate_rr_weights(config)
    steps = (config.get_rollout_fragment_length() * config.num_envs_per_env_runner
             * max(config.num_env_runners, 1))
    return updates * config.total_train_batch_size / (calls * steps)


@pytest.mark.parametrize("preset", ["cpu", "gpu"])
def test_the_presets_give_latent_dqns_q_streams_dqns_replay_ratio(preset):
    # RLlib replays whole batches per sample call; the calls are 3 steps long in both.
    dqn = load_experiment("dqn").build_config(preset)
    latent = load_experiment("latent_dqn").build_config(preset)
    assert _replayed_per_sampled_step(dqn) == pytest.approx(32 / 3)
    assert _replayed_per_sampled_step(latent) == pytest.approx(2 * 32 / 3)
