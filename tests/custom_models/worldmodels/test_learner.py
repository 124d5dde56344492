"""World Models' Learner, built as RLlib builds it: a V batch moves V's weights only, an M batch
M's only (the other part's gradients are None and its optimizer leaves it alone), C never; the
logged losses are the modules' own losses on the same batch; M's gradients reach the optimizer
clipped element-wise and its end steps weigh 10x, as the paper's code, V's gradients unclipped."""

import copy

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


def _applied_gradients(learner, monkeypatch, columns) -> tuple[dict[str, torch.Tensor], dict]:
    """The gradients RLlib's update hands to `apply_gradients` (after its postprocessing), by the
    module's parameter names, and the update's logged metrics."""
    captured = {}
    apply = learner.apply_gradients

    def spy(gradients):
        captured.update({ref: grad.clone() for ref, grad in gradients.items()})
        return apply(gradients)

    monkeypatch.setattr(learner, "apply_gradients", spy)
    results = _update(learner, columns)
    names = {id(param): name for name, param in learner.module[DEFAULT_MODULE_ID].named_parameters()}
    return ({names[id(learner._params[ref])]: grad for ref, grad in captured.items()},
            {name: float(value) for name, value in results[DEFAULT_MODULE_ID].items()})


def _raw_gradients(part, loss) -> dict[str, torch.Tensor]:
    loss.backward()
    return {name: param.grad for name, param in part.named_parameters() if param.grad is not None}


def test_m_gets_its_gradients_clipped_at_1_and_its_ends_weighted_10x(learner, monkeypatch):
    assert (learner.config.mdn_grad_clip, learner.config.mdn_end_weight) == (1.0, 10.0)
    rng = np.random.default_rng(3)
    episodes = [{"mu": rng.normal(size=(steps + 1, 32)).astype(np.float32),
                 # log_var -60: z is mu (the learner draws z from V's posterior)
                 "log_var": np.full((steps + 1, 32), -60.0, np.float32),
                 "actions": rng.integers(0, 7, steps),
                 "rewards": np.full(steps, 300.0, np.float32),  # large errors, large gradients
                 "terminated": ended} for steps, ended in ((6, True), (9, False))]
    columns = mdn_batch(episodes, seq_len=50)
    rnn = copy.deepcopy(learner.module[DEFAULT_MODULE_ID].rnn)
    tensors = {name: torch.as_tensor(value) for name, value in columns.items()}
    out = rnn(tensors["mu"][:, :-1], tensors["actions"])
    raw = _raw_gradients(rnn, rnn.loss(tensors["mu"], tensors["actions"], tensors["rewards"],
                                       tensors["ends"], tensors["mask"], end_weight=10.0)["total"])
    applied, logged = _applied_gradients(learner, monkeypatch, columns)

    assert max(float(grad.abs().max()) for grad in raw.values()) > 100
    assert set(applied) == {f"rnn.{name}" for name in raw}
    for name, grad in raw.items():
        torch.testing.assert_close(applied[f"rnn.{name}"], grad.clamp(-1.0, 1.0),
                                   rtol=1e-4, atol=1e-5)
    # The end head's loss, by hand: binary cross-entropy on real steps, the one end step x10.
    p = torch.sigmoid(out["done_logit"]).detach().numpy().astype(np.float64)
    ends, mask = columns["ends"], columns["mask"]
    bce = -(ends * np.log(p) + (1 - ends) * np.log(1 - p))
    assert ends.sum() == 1
    assert logged["mdn_done_bce"] == pytest.approx(
        (bce * (1 + 9 * ends) * mask).sum() / mask.sum(), rel=1e-4)


def test_v_gets_its_gradients_unclipped(learner, monkeypatch):
    frames = np.random.default_rng(4).integers(0, 256, (8, 64, 64, 3), dtype=np.uint8)
    vae = copy.deepcopy(learner.module[DEFAULT_MODULE_ID].vae)
    torch.manual_seed(5)
    raw = _raw_gradients(vae, vae.loss(torch.as_tensor(frames))["total"])
    torch.manual_seed(5)  # the same reparameterisation noise on the learner's update
    applied, _ = _applied_gradients(learner, monkeypatch, {"obs": frames})
    assert max(float(grad.abs().max()) for grad in raw.values()) > 1
    assert set(applied) == {f"vae.{name}" for name in raw}
    for name, grad in raw.items():
        torch.testing.assert_close(applied[f"vae.{name}"], grad, rtol=1e-4, atol=1e-4)


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
        played, _ = _play_candidates(runner, candidates=[(7, params, [11, 12, 13])],
                                     first_frame=frame, temperature=1.15, horizon=20)
        assert [score["index"] for score in played] == [7]
        module.controller.set_flat(params)
        z0, _ = module.vae.encode(torch.as_tensor(frame[None]))
        generator = torch.Generator().manual_seed(11)  # the first seed, on every runner
        expected = imagine(module, z0.expand(3, -1), 20, temperature=1.15, generator=generator)
        assert played[0]["fitness"] == pytest.approx(float(expected["return"].mean()), rel=1e-6)
        assert played[0]["x_pos_max"] is None  # nothing was played in the game
    finally:
        runner.stop()


def test_every_candidate_plays_from_the_generations_starts_on_rllibs_sample():
    """Common random numbers on RLlib's real path: RLlib 2.60 resets a runner's env with one
    fixed seed at every `sample(num_episodes=...)`, so each runner played every candidate (and
    began every collect call) from one start. Now each candidate's k-th episode starts where the
    generation's k-th seed puts a fresh env (checked against `make_env(...).reset(seed=...)`),
    from any runner, and the next generation's seeds give other starts."""
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    from custom_models.worldmodels.algorithm import (
        _play_candidates,
        _random_episodes,
        start_digest,
    )
    from mario_rllib.env import make_env, register_mario_envs

    register_mario_envs()
    config = build_config("debug", seed=0, max_episode_steps=8)
    truth = {}  # seed -> the first frame a fresh env shows: the first 4 seeds that differ
    env = make_env(config.env_config)
    for seed in range(100):
        digest = start_digest(env.reset(seed=seed)[0])
        if digest not in truth.values():
            truth[seed] = digest
        if len(truth) == 4:
            break
    env.close()
    first = list(truth)
    seeds = {"this generation": first[:2], "the next": first[2:]}
    runners = [SingleAgentEnvRunner(config=config, worker_index=index) for index in (1, 2)]
    try:
        # The premise, on RLlib's own `sample`: one runner, two calls, one start.
        starts = {start_digest(runners[0].sample(num_episodes=1, explore=False)[0]
                               .get_observations(0)) for _ in range(2)}
        assert len(starts) == 1
        rng = np.random.default_rng(4)
        params = [rng.normal(0, 0.1, runners[0].module.controller.num_parameters)
                  for _ in range(3)]
        for generation in seeds.values():
            played = [score for index, runner in enumerate(runners) for score in
                      _play_candidates(runner, candidates=[(i, weights, generation) for i, weights
                                                           in enumerate(params)][index::2],
                                       first_frame=None, temperature=1.0, horizon=1)[0]]
            assert len(played) == 3
            for score in played:
                assert score["starts"] == [truth[seed] for seed in generation], score["index"]
        # The random episodes of the collect stage: each call from the start its seed gives
        # (plus the runner's index, so that runners differ).
        for seed in first:
            (episode,), _ = _random_episodes(runners[1], num_episodes=1, seed=seed - 2)
            assert start_digest(episode.get_observations(0)) == truth[seed]
    finally:
        for runner in runners:
            runner.stop()
