"""Dueling Double DQN pieces by hand on tiny tensors: the dueling aggregation, our module, and
the double-Q target as RLlib's DQN learner computes it with our config. No Ray."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.algorithms.dqn.default_dqn_rl_module import (
    QF_NEXT_PREDS,
    QF_PREDS,
    QF_TARGET_NEXT_PREDS,
)
from ray.rllib.core.columns import Columns

from custom_models.dqn.rl_module import MarioDuelingQRLM, dueling_q
from tune_configs.dqn_mario import build_config


def test_dueling_aggregation_by_hand():
    value = torch.tensor([[1.0], [-2.0]])
    advantages = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]])
    # Q = V + A - mean(A): means 2 and 2.
    assert torch.equal(dueling_q(value, advantages),
                       torch.tensor([[0.0, 1.0, 2.0], [-4.0, -4.0, 2.0]]))


def module(epsilon=0.0, n_actions=5):
    rlm = MarioDuelingQRLM(observation_space=gym.spaces.Box(0, 255, (84, 84, 4), np.uint8),
                           action_space=gym.spaces.Discrete(n_actions),
                           model_config={"encoder": "nature", "epsilon": epsilon,
                                         "double_q": True, "num_atoms": 1})
    rlm.make_target_networks()
    return rlm


def frames(batch_size, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, (batch_size, 84, 84, 4), dtype=np.uint8))


def test_forward_shapes_and_target_copy():
    rlm = module()
    obs, next_obs = frames(6), frames(6, seed=1)
    out = rlm.forward_train({Columns.OBS: obs, Columns.NEXT_OBS: next_obs})
    for key in (QF_PREDS, QF_NEXT_PREDS, QF_TARGET_NEXT_PREDS):
        assert out[key].shape == (6, 5)
    # A fresh target network is a copy: target(s') == online(s').
    assert torch.allclose(out[QF_NEXT_PREDS], out[QF_TARGET_NEXT_PREDS], atol=1e-6)
    assert len(rlm.get_target_network_pairs()) == 2
    actions = rlm.forward_inference({Columns.OBS: obs})[Columns.ACTIONS]
    assert torch.equal(actions, out[QF_PREDS].argmax(dim=-1))


def test_epsilon_schedule_in_agent_steps():
    rlm = module(epsilon=[[0, 1.0], [1000, 0.0]])
    obs = frames(400)
    greedy = rlm.forward_inference({Columns.OBS: obs})[Columns.ACTIONS]
    torch.manual_seed(0)
    at_start = rlm.forward_exploration({Columns.OBS: obs}, t=0)[Columns.ACTIONS]
    halfway = rlm.forward_exploration({Columns.OBS: obs}, t=500)[Columns.ACTIONS]
    at_end = rlm.forward_exploration({Columns.OBS: obs}, t=1000)[Columns.ACTIONS]
    assert torch.equal(at_end, greedy)  # epsilon 0
    assert len(set(at_start.tolist())) == 5  # epsilon 1: uniform over the 5 actions
    agree = (halfway == greedy).float().mean().item()
    assert 0.5 < agree < 0.7  # epsilon 0.5: greedy half the time, plus random hits (1/5 of 0.5)


def test_double_q_target_with_n_step_and_importance_weights():
    """RLlib's DQNTorchLearner with our config: the loss and TD errors, computed by hand."""
    config = build_config("debug", gamma=0.5).environment(
        observation_space=gym.spaces.Box(0, 255, (84, 84, 1), np.uint8),
        action_space=gym.spaces.Discrete(3),
    )
    learner = config.build_learner(env=None)
    learner.build()
    fwd_out = {
        QF_PREDS: torch.tensor([[1.0, 2.0, 3.0], [0.0, 5.0, 1.0]]),
        QF_NEXT_PREDS: torch.tensor([[0.0, 9.0, 1.0], [7.0, 0.0, 0.0]]),  # online net at s'
        QF_TARGET_NEXT_PREDS: torch.tensor([[4.0, 2.0, 8.0], [3.0, 6.0, 5.0]]),  # target net
    }
    batch = {Columns.ACTIONS: torch.tensor([2, 1]), Columns.REWARDS: torch.tensor([1.0, -1.0]),
             Columns.TERMINATEDS: torch.tensor([False, True]), "n_step": torch.tensor([3, 1]),
             "weights": torch.tensor([1.0, 0.5])}
    loss = learner.compute_loss_for_module(
        module_id="default_policy", config=learner.config.get_config_for_module("default_policy"),
        batch=batch, fwd_out=fwd_out)
    # Row 0: Q(s,2) = 3; online argmax at s' is action 1; the target net values it at 2
    #   (a plain max over the target net would take 8): y = 1 + 0.5**3 * 2 = 1.25, |TD| = 1.75,
    #   Huber = 1.75 - 0.5 = 1.25, weight 1.
    # Row 1: Q(s,1) = 5; terminal: y = -1, |TD| = 6, Huber = 5.5, weight 0.5 -> 2.75.
    assert loss.item() == pytest.approx((1.25 + 2.75) / 2)
    assert learner.metrics.peek(("default_policy", "td_error_mean")) == pytest.approx(3.875)
    assert learner.metrics.peek(("default_policy", "qf_mean")) == pytest.approx(4.0)
