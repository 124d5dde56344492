"""Latent DQN's learner, built as RLlib builds it, on batches shaped as our replay buffer gives
them: updates alternate between phases of `phase_updates` (3 in the debug preset), the world
model first. A world-model update moves the VAE and the dynamics model and nothing else; a Q
update moves the Q streams and nothing else (the world model frozen); the TD errors prioritized
replay needs come out of both."""

import numpy as np
import pytest
import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

from tune_configs.latent_dqn_mario import build_config

PHASE = 3


@pytest.fixture
def learner(build_learner):
    return build_learner(build_config("debug", seed=0), (64, 64, 12), 5)


def _batch(rng, rows=8):
    def frames():
        return rng.integers(0, 256, (rows, 64, 64, 12), dtype=np.uint8)

    return MultiAgentBatch({DEFAULT_MODULE_ID: SampleBatch({
        Columns.OBS: frames(), Columns.NEXT_OBS: frames(),
        Columns.ACTIONS: rng.integers(0, 5, rows), Columns.REWARDS: rng.normal(size=rows)
        .astype(np.float32), Columns.TERMINATEDS: np.zeros(rows, bool),
        "weights": np.ones(rows, np.float32), "n_step": np.ones(rows, np.int64),
    })}, env_steps=rows)


def _moved(learner) -> set[str]:
    module = learner.module[DEFAULT_MODULE_ID]
    before = {name: p.detach().clone() for name, p in module.named_parameters()}
    results = learner.update(batch=_batch(np.random.default_rng(len(before))))
    learner._moved_results = results[DEFAULT_MODULE_ID]
    after = dict(module.named_parameters())
    return {name.split(".")[0] for name in before if not torch.equal(before[name], after[name])}


def test_phases_alternate_world_model_first_each_training_only_its_part(learner):
    assert learner.module[DEFAULT_MODULE_ID].model_config["latent"]["phase_updates"] == PHASE
    parts = [_moved(learner) for _ in range(2 * PHASE + 1)]
    assert parts[:PHASE] == [{"vae", "dynamics"}] * PHASE
    assert parts[PHASE:2 * PHASE] == [{"streams"}] * PHASE
    assert parts[2 * PHASE] == {"vae", "dynamics"}
    logged = {name: float(learner._moved_results[name])
              for name in ("wm_phase", "wm_recon_mse", "dynamics_z_mse", "td_error_mean")}
    assert logged["wm_phase"] == 1.0 and 0 < logged["wm_recon_mse"] < 1
    assert logged["dynamics_z_mse"] >= 0 and logged["td_error_mean"] >= 0


def test_the_q_network_reads_the_vae_means_of_the_four_frames(learner):
    module = learner.module[DEFAULT_MODULE_ID]
    obs = np.random.default_rng(3).integers(0, 256, (2, 64, 64, 12), dtype=np.uint8)
    latent = module.latent(torch.as_tensor(obs))
    by_hand = torch.cat([module.vae.encode(torch.as_tensor(obs[..., 3 * i:3 * i + 3]))[0]
                         for i in range(4)], dim=-1)
    torch.testing.assert_close(latent, by_hand)
    q = module.compute_q_values({Columns.OBS: torch.as_tensor(obs)})["qf_preds"]
    torch.testing.assert_close(q, module.streams(by_hand))


def test_each_observation_is_encoded_once_for_the_three_q_outputs_and_the_world_model(learner):
    """The training pass encodes s and s' once; its Q values and the world model's loss are
    those computed network by network, each encoding its own input."""
    module = learner.module[DEFAULT_MODULE_ID]
    batch = _batch(np.random.default_rng(5))[DEFAULT_MODULE_ID]
    obs, next_obs = torch.as_tensor(batch[Columns.OBS]), torch.as_tensor(batch[Columns.NEXT_OBS])
    actions = torch.as_tensor(batch[Columns.ACTIONS])
    with torch.no_grad():
        out = module.forward_train({Columns.OBS: obs, Columns.NEXT_OBS: next_obs})
        expected = {
            "qf_preds": module.compute_q_values({Columns.OBS: obs})["qf_preds"],
            "qf_next_preds": module.compute_q_values({Columns.OBS: next_obs})["qf_preds"],
            "qf_target_next_preds": module.forward_target({Columns.OBS: next_obs})["qf_preds"],
        }
        newest_next_frame = module.split_frames(next_obs)[:, -1]
        z_mse = (module.dynamics(module.latent(obs), actions)[0]
                 - module.vae.encode(newest_next_frame)[0]).pow(2).sum(-1).mean()
    for key, value in expected.items():
        torch.testing.assert_close(out[key], value)
    results = learner.update(batch=MultiAgentBatch({DEFAULT_MODULE_ID: batch}, env_steps=8))
    assert float(results[DEFAULT_MODULE_ID]["wm_phase"]) == 1.0  # the first update: the world's
    assert float(results[DEFAULT_MODULE_ID]["dynamics_z_mse"]) == pytest.approx(float(z_mse),
                                                                              rel=1e-5)
