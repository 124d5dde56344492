"""PPO's value loss on RLlib's real learner: a batch whose value targets are 6, with values at 0,
as a running Mario's targets are (gamma 0.9, rewards / 15) when the critic lags behind.

RLlib 2.60 clamps the squared error at `vf_clip_param` (10): an error of 6 gives the value head
no gradient. Our default, uvipen's Huber loss, moves it. No Ray cluster: the learner is built as
RLlib builds it, and updated with RLlib's own `Learner.update`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import VF_LOSS_KEY
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from custom_models.ppo.learner import MarioPPOLearner
from tune_configs.ppo_mario import build_config

BATCH, TARGET, ACTIONS = 64, 6.0, 7


def update_once(build_learner, **settings):
    """One update of the config's learner (one epoch, one minibatch) on a batch with value
    targets TARGET and a value head zeroed so V(s) = 0; returns the learner, the value head's
    weights before, and the learner's results."""
    config = build_config("debug", train_batch_size=BATCH, minibatch_size=BATCH, num_epochs=1,
                          **settings)
    learner = build_learner(config, (84, 84, 4), ACTIONS)
    module = learner.module[DEFAULT_MODULE_ID]
    with torch.no_grad():
        module.vf.weight.zero_()
        module.vf.bias.zero_()
    rng = np.random.default_rng(0)
    obs = rng.integers(0, 256, (BATCH, 84, 84, 4), dtype=np.uint8)
    with torch.no_grad():
        logits = module.forward_train({Columns.OBS: torch.from_numpy(obs)})[
            Columns.ACTION_DIST_INPUTS].numpy()
    actions = rng.integers(0, ACTIONS, BATCH)
    log_probs = torch.log_softmax(torch.from_numpy(logits), -1).numpy()[np.arange(BATCH), actions]
    batch = SampleBatch({
        Columns.OBS: obs, Columns.ACTIONS: actions, Columns.ACTION_DIST_INPUTS: logits,
        Columns.ACTION_LOGP: log_probs,
        Postprocessing.ADVANTAGES: rng.standard_normal(BATCH).astype(np.float32),
        Postprocessing.VALUE_TARGETS: np.full(BATCH, TARGET, np.float32),
    })
    before = [p.detach().clone() for p in module.vf.parameters()]
    results = learner.update(batch=MultiAgentBatch({DEFAULT_MODULE_ID: batch}, BATCH),
                             timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: 0}, num_epochs=1,
                             minibatch_size=BATCH)
    return learner, obs, before, results[DEFAULT_MODULE_ID]


def value_head_moved(learner, before):
    after = learner.module[DEFAULT_MODULE_ID].vf.parameters()
    return any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_the_experiments_value_loss_moves_the_value_head_toward_targets_of_6(build_learner):
    learner, obs, before, results = update_once(build_learner)
    assert isinstance(learner, MarioPPOLearner)
    assert value_head_moved(learner, before)
    with torch.no_grad():
        values = learner.module[DEFAULT_MODULE_ID].compute_values(
            {Columns.OBS: torch.from_numpy(obs)})
    assert values.mean().item() > 0  # toward the targets, from 0
    # The logged losses, computed by hand: Huber with delta 1 at an error of 6 is 6 - 0.5; the
    # squared error is 36. RLlib's entry for vf_loss (36 clamped at 10) is replaced by ours.
    assert results[VF_LOSS_KEY].peek() == pytest.approx(TARGET - 0.5)
    assert results["vf_loss_unclipped"].peek() == pytest.approx(TARGET ** 2)


def test_rllibs_own_value_loss_ignores_errors_beyond_the_root_of_vf_clip_param(build_learner):
    """RLlib 2.60's loss, kept as `vf_loss=squared`: clamp((V - target)^2, 0, vf_clip_param). At an
    error of 6 the clamp is flat, and the value head does not move at all."""
    learner, _, before, results = update_once(build_learner, vf_loss="squared")
    assert type(learner).compute_loss_for_module is MarioPPOLearner.compute_loss_for_module
    assert not value_head_moved(learner, before)
    assert results[VF_LOSS_KEY].peek() == pytest.approx(10.0)  # the clamp
    assert results["vf_loss_unclipped"].peek() == pytest.approx(TARGET ** 2)
    # With a bound above the error, the same loss moves it: the clamp is what stops it.
    learner, _, before, _ = update_once(build_learner, vf_loss="squared", vf_clip_param=100.0)
    assert value_head_moved(learner, before)


def test_the_loss_is_rllibs_policy_terms_plus_a_masked_huber_value_term(build_learner):
    """The learner's loss against one written out by hand (the PPO paper's clipped surrogate,
    uvipen's smooth L1, the entropy bonus), on a batch with RLlib's loss mask: the masked rows
    (the step RLlib adds to each episode chunk for bootstrapping) carry absurd targets and must
    not count."""
    from torch.nn import functional as F

    config = build_config("debug", train_batch_size=BATCH, minibatch_size=BATCH, num_epochs=1)
    learner = build_learner(config, (84, 84, 4), ACTIONS)
    module = learner.module[DEFAULT_MODULE_ID]
    rng = np.random.default_rng(1)
    mask = torch.from_numpy(np.arange(BATCH) < 48)
    targets = torch.where(mask, torch.from_numpy(rng.normal(3.0, 4.0, BATCH).astype(np.float32)),
                          torch.tensor(1e6))
    actions = torch.from_numpy(rng.integers(0, ACTIONS, BATCH))
    batch = {Columns.OBS: torch.from_numpy(rng.integers(0, 256, (BATCH, 84, 84, 4), np.uint8)),
             Columns.ACTIONS: actions, Columns.LOSS_MASK: mask,
             Columns.ACTION_LOGP: torch.from_numpy(rng.normal(-2.0, 0.3, BATCH).astype(np.float32)),
             Columns.ACTION_DIST_INPUTS: torch.zeros(BATCH, ACTIONS),
             Postprocessing.ADVANTAGES: torch.from_numpy(rng.standard_normal(BATCH).astype(np.float32)),
             Postprocessing.VALUE_TARGETS: targets}
    fwd_out = module.forward_train(batch)
    loss = learner.compute_loss_for_module(
        module_id=DEFAULT_MODULE_ID, config=learner.config.get_config_for_module(DEFAULT_MODULE_ID),
        batch=batch, fwd_out=fwd_out)

    log_probs = torch.log_softmax(fwd_out[Columns.ACTION_DIST_INPUTS], -1)
    ratio = torch.exp(log_probs[torch.arange(BATCH), actions] - batch[Columns.ACTION_LOGP])
    advantages = batch[Postprocessing.ADVANTAGES]
    surrogate = torch.min(advantages * ratio, advantages * ratio.clamp(0.8, 1.2))  # clip 0.2
    entropy = -(log_probs.exp() * log_probs).sum(-1)
    values = module.vf(fwd_out[Columns.EMBEDDINGS]).squeeze(-1)
    huber = F.smooth_l1_loss(values, targets, reduction="none")  # beta 1, uvipen's default
    expected = (-surrogate[mask].mean() + 1.0 * huber[mask].mean()  # vf_loss_coeff 1
                - 0.01 * entropy[mask].mean())  # entropy_coeff 0.01
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    # The same gradient on the value head, where the absurd targets would dominate if counted.
    grads = torch.autograd.grad(loss, module.vf.weight, retain_graph=True)[0]
    np.testing.assert_allclose(grads, torch.autograd.grad(expected, module.vf.weight)[0],
                               rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("text, message", [
    ("mse", r"^bad setting vf_loss='mse': expected one of huber, squared$"),
])
def test_bad_vf_loss_is_one_line(text, message):
    with pytest.raises(ValueError, match=message):
        build_config("debug", vf_loss=text)
