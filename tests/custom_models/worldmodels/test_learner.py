"""World Models' Learner, built as RLlib builds it: a V batch moves V's weights only, an M batch
M's only (the other part's gradients are None and its optimizer leaves it alone), C never; the
logged losses are the modules' own losses on the same batch."""

import numpy as np
import pytest
import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

from custom_models.worldmodels.algorithm import mdn_batch
from tune_configs.worldmodels_mario import build_config


@pytest.fixture
def learner(build_learner):
    return build_learner(build_config("debug", seed=0), (64, 64, 3), 7)


def _weights(learner) -> dict[str, torch.Tensor]:
    module = learner.module[DEFAULT_MODULE_ID]
    return {name: param.detach().clone() for name, param in module.named_parameters()}


def _moved(before, after, prefix):
    return {name for name in before if name.startswith(prefix)
            and not torch.equal(before[name], after[name])}


def _update(learner, columns):
    rows = len(next(iter(columns.values())))
    return learner.update(batch=MultiAgentBatch({DEFAULT_MODULE_ID: SampleBatch(columns)},
                                                env_steps=rows))


def test_a_frame_batch_trains_v_only(learner):
    frames = np.random.default_rng(0).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)
    before = _weights(learner)
    results = _update(learner, {"obs": frames})
    after = _weights(learner)
    assert _moved(before, after, "vae.") == {name for name in before if name.startswith("vae.")}
    assert not _moved(before, after, "rnn.") and not _moved(before, after, "controller.")
    logged = {name: float(value) for name, value in results[DEFAULT_MODULE_ID].items()}
    # A fresh V's KL is far below the floor (0.5 nats x 32 dimensions) on every frame.
    assert 0 <= logged["vae_kl"] < 16
    assert logged["vae_loss"] == pytest.approx(logged["vae_reconstruction"] + 16, rel=1e-5)
    assert 0 < logged["vae_recon_mse"] < 1 and logged["vae_recon_ssim"] <= 1


def test_a_sequence_batch_trains_m_only(learner):
    rng = np.random.default_rng(1)
    episodes = [{"mu": rng.normal(size=(steps + 1, 32)).astype(np.float32),
                 "log_var": np.full((steps + 1, 32), -4.0, np.float32),
                 "actions": rng.integers(0, 7, steps), "rewards": rng.normal(size=steps)
                 .astype(np.float32), "terminated": True} for steps in (5, 9)]
    before = _weights(learner)
    results = _update(learner, mdn_batch(episodes, seq_len=50))
    after = _weights(learner)
    assert _moved(before, after, "rnn.") == {name for name in before if name.startswith("rnn.")}
    assert not _moved(before, after, "vae.") and not _moved(before, after, "controller.")
    logged = {name: float(value) for name, value in results[DEFAULT_MODULE_ID].items()}
    assert logged["mdn_loss"] == pytest.approx(
        logged["mdn_z_nll"] + logged["mdn_reward_mse"] + logged["mdn_done_bce"], rel=1e-5)


def test_encode_is_v_posterior_mean(learner):
    frames = np.random.default_rng(2).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    mu, log_var = learner.encode(frames)
    expected_mu, expected_log_var = learner.module[DEFAULT_MODULE_ID].vae.encode(
        torch.as_tensor(frames))
    np.testing.assert_allclose(mu, expected_mu.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(log_var, expected_log_var.detach().numpy(), rtol=1e-6)


@pytest.mark.slow
def test_dream_fitness_is_the_imagined_return_from_the_first_frame():
    """`es_in_dream`: a candidate's fitness on an env runner is the mean return of `imagine`
    from V's z of the given frame, with the runner's generator seeded as documented."""
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    from custom_models.worldmodels.algorithm import _play_candidates
    from custom_models.worldmodels.imagine import imagine
    from mario_rllib.env import register_mario_envs

    register_mario_envs()
    runner = SingleAgentEnvRunner(config=build_config("debug", seed=0))
    try:
        module = runner.module
        params = np.random.default_rng(4).normal(0, 0.1, module.controller.num_parameters)
        frame = np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        played, _ = _play_candidates(runner, candidates=[(7, params)], episodes=3,
                                     first_frame=frame, temperature=1.15, horizon=20, seed=11)
        assert [score["index"] for score in played] == [7]
        module.controller.set_flat(params)
        z0, _ = module.vae.encode(torch.as_tensor(frame[None]))
        generator = torch.Generator().manual_seed(11 + (runner.worker_index or 0))
        expected = imagine(module, z0.expand(3, -1), 20, temperature=1.15, generator=generator)
        assert played[0]["fitness"] == pytest.approx(float(expected["return"].mean()), rel=1e-6)
        assert played[0]["x_pos_max"] is None  # nothing was played in the game
    finally:
        runner.stop()
