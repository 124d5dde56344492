"""Dueling Q-network for RLlib's DQN (new API stack), with a target network through RLlib's API.

[1] Wang et al. 2016, "Dueling Network Architectures for Deep Reinforcement Learning": a shared
    conv torso, then a value stream and an advantage stream (512 units each), combined as
    Q(s, a) = V(s) + A(s, a) - mean_a' A(s, a') (their Eq. 9).
[2] van Hasselt et al. 2016, "Deep Reinforcement Learning with Double Q-learning".

What is ours and what is RLlib's:
    - this module: the torso (`custom_models.encoders`), the two streams, their aggregation, the
      target copies (`TargetNetworkAPI`: RLlib's learner syncs them every
      `target_network_update_freq` steps) and epsilon-greedy exploration on a schedule in agent
      steps;
    - RLlib's `DQNTorchLearner` (unchanged, so not subclassed): the double-Q target (the online
      network picks argmax_a Q(s', a), the target network evaluates it [2]), n-step discounting
      with `gamma ** n_step`, the Huber loss weighted by the prioritized-replay importance weights,
      and the new priorities.

Inputs are frame-stacked `[B, 84, 84, 4]` uint8 (RLlib's frame-stacking connectors; replay holds
single frames), scaled inside the torso.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from ray.rllib.algorithms.dqn.default_dqn_rl_module import (
    QF_NEXT_PREDS,
    QF_PREDS,
    QF_TARGET_NEXT_PREDS,
)
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.apis import InferenceOnlyAPI, QNetAPI, TargetNetworkAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.annotations import override
from ray.rllib.utils.schedules.scheduler import Scheduler
from torch import nn

from custom_models.encoders import make_encoder, orthogonal_init

STREAM_UNITS = 512  # [1], Sec. 4.2: each stream has a 512-unit hidden layer


def dueling_q(value: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """Q = V + A - mean(A) [1, Eq. 9]. value: [B, 1], advantages: [B, A] -> Q: [B, A]."""
    return value + advantages - advantages.mean(dim=-1, keepdim=True)


class _Streams(nn.Module):
    """The value and advantage streams on top of a torso's flat features."""

    def __init__(self, features: int, num_actions: int):
        super().__init__()
        self.value = nn.Sequential(nn.Linear(features, STREAM_UNITS), nn.ReLU(),
                                   nn.Linear(STREAM_UNITS, 1))
        self.advantage = nn.Sequential(nn.Linear(features, STREAM_UNITS), nn.ReLU(),
                                       nn.Linear(STREAM_UNITS, num_actions))
        orthogonal_init(self, gain=math.sqrt(2))
        for last in (self.value[-1], self.advantage[-1]):
            orthogonal_init(last, gain=1.0)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return dueling_q(self.value(features), self.advantage(features))


class MarioDuelingQRLM(TorchRLModule, InferenceOnlyAPI, TargetNetworkAPI, QNetAPI):
    """Dueling Q-network with a target copy, for `DQNConfig(dueling=True, double_q=True)`.

    `model_config` keys: `encoder` ("nature" | "impala"), `epsilon` (a value or a schedule
    `[[agent_step, epsilon], ...]`, filled in by DQNConfig), `mario` (see tune_configs/common.py).
    """

    @override(TorchRLModule)
    def setup(self):
        self.uses_double_q = bool(self.model_config.get("double_q", True))
        self.uses_dueling = True
        self.num_atoms = int(self.model_config.get("num_atoms", 1))
        if self.num_atoms != 1:
            raise ValueError(
                f"bad num_atoms {self.num_atoms}: MarioDuelingQRLM is not distributional (use 1)"
            )
        self.encoder = make_encoder(self.model_config.get("encoder", "nature"),
                                    obs_shape=self.observation_space.shape, hidden=0)
        self.streams = _Streams(self.encoder.output_size, self.action_space.n)
        self.epsilon_schedule = Scheduler(
            fixed_value_or_schedule=self.model_config.get("epsilon", 0.0), framework="torch"
        )

    # --- QNetAPI ---

    @override(QNetAPI)
    def compute_q_values(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        # obs: [B, 84, 84, 4] uint8 -> qf_preds: [B, num_actions]
        return {QF_PREDS: self.streams(self.encoder(batch[Columns.OBS]))}

    # --- TargetNetworkAPI ---

    @override(TargetNetworkAPI)
    def make_target_networks(self) -> None:
        self._target_encoder = make_target_network(self.encoder)
        self._target_streams = make_target_network(self.streams)

    @override(TargetNetworkAPI)
    def get_target_network_pairs(self):
        return [(self.encoder, self._target_encoder), (self.streams, self._target_streams)]

    @override(TargetNetworkAPI)
    def forward_target(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {QF_PREDS: self._target_streams(self._target_encoder(batch[Columns.OBS]))}

    @override(InferenceOnlyAPI)
    def get_non_inference_attributes(self) -> list[str]:
        return ["_target_encoder", "_target_streams"]

    # --- forward passes ---

    @override(TorchRLModule)
    def _forward_inference(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        q = self.compute_q_values(batch)[QF_PREDS]
        return {Columns.ACTIONS: q.argmax(dim=-1)}

    @override(TorchRLModule)
    def _forward_exploration(self, batch: dict[str, Any], t: int = 0, **kwargs) -> dict[str, Any]:
        """Epsilon-greedy; `t` is the env runners' count of agent steps (the schedule's unit)."""
        q = self.compute_q_values(batch)[QF_PREDS]
        self.epsilon_schedule.update(t)
        epsilon = self.epsilon_schedule.get_current_value()
        greedy = q.argmax(dim=-1)
        random = torch.randint(0, q.shape[-1], greedy.shape, device=q.device)
        explore = torch.rand(greedy.shape, device=q.device) < epsilon
        return {Columns.ACTIONS: torch.where(explore, random, greedy)}

    @override(TorchRLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """Q(s, .) and, for the learner's double-Q target, Q_online(s', .) and Q_target(s', .)."""
        obs, next_obs = batch[Columns.OBS], batch[Columns.NEXT_OBS]
        out = {}
        if self.uses_double_q:
            # One pass over s and s' together: [2B, A] -> two [B, A].
            both = self.compute_q_values({Columns.OBS: torch.cat([obs, next_obs], dim=0)})
            out[QF_PREDS], out[QF_NEXT_PREDS] = torch.chunk(both[QF_PREDS], 2, dim=0)
        else:
            out[QF_PREDS] = self.compute_q_values({Columns.OBS: obs})[QF_PREDS]
        out[QF_TARGET_NEXT_PREDS] = self.forward_target({Columns.OBS: next_obs})[QF_PREDS]
        return out

    @override(TorchRLModule)
    def get_initial_state(self) -> dict:
        return {}
