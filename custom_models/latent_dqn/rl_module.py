"""Latent-space dueling Q-network: DQN's dueling head (`MarioDuelingQRLM`) on World Models' VAE.

The "world model + Q-learning in latent space" system: frames are encoded by a VAE
(`custom_models.worldmodels.vae.ConvVAE`, [1] Appendix A.1: 64x64 RGB -> z of 32), a latent
dynamics model with a reward head predicts the next z and the reward from the stacked latents and
the action, and the dueling Q-network of DQN ([2], `custom_models.dqn.rl_module`) works on the
latent state: the VAE means of the last `frame_stack` frames, concatenated ([B, 4 x 32]), so that
Q sees Mario's motion as the pixel DQN does with its stacked frames.

The VAE and the dynamics model (the world model) learn in one phase, the Q streams in the next,
the world model frozen (`custom_models.latent_dqn.learner`). The Q-network never sends gradients
into the VAE: the latent state is computed under `no_grad`.

[1] Ha & Schmidhuber 2018, "Recurrent World Models Facilitate Policy Evolution",
    https://arxiv.org/abs/1809.01999
[2] Wang et al. 2016, "Dueling Network Architectures for Deep Reinforcement Learning".
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from ray.rllib.algorithms.dqn.default_dqn_rl_module import (
    QF_NEXT_PREDS,
    QF_PREDS,
    QF_TARGET_NEXT_PREDS,
)
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.utils import make_target_network
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.annotations import override
from ray.rllib.utils.schedules.scheduler import Scheduler
from torch import nn

from custom_models.dqn.rl_module import MarioDuelingQRLM, _Streams
from custom_models.worldmodels.vae import ConvVAE

DYNAMICS_UNITS = 512
LATENT, NEXT_LATENT = "latent", "next_latent"
"""`_forward_train`'s latent states of s and s' ([B, F x z]), which the world model's loss reads."""


class LatentDynamics(nn.Module):
    """(stacked latents [B, F x z], action) -> (next z [B, z], reward [B]): an MLP."""

    def __init__(self, *, latent_size: int, z_size: int, num_actions: int):
        super().__init__()
        self.num_actions = num_actions
        self.body = nn.Sequential(nn.Linear(latent_size + num_actions, DYNAMICS_UNITS), nn.ReLU(),
                                  nn.Linear(DYNAMICS_UNITS, DYNAMICS_UNITS), nn.ReLU())
        self.z_next = nn.Linear(DYNAMICS_UNITS, z_size)
        self.reward = nn.Linear(DYNAMICS_UNITS, 1)

    def forward(self, latent: torch.Tensor, actions: torch.Tensor):
        x = self.body(torch.cat([latent, F.one_hot(actions.long(), self.num_actions).float()], -1))
        return self.z_next(x), self.reward(x).squeeze(-1)


class LatentDuelingQRLM(MarioDuelingQRLM):
    """Observations `[B, 64, 64, 3 x F]` uint8 (F frames stacked by RLlib's connectors / our
    replay buffer). model_config: `z_size` (32), `kl_tolerance` (0.5), `epsilon`, `mario`."""

    @override(TorchRLModule)
    def setup(self):
        self.uses_double_q = bool(self.model_config.get("double_q", True))
        self.uses_dueling = True
        self.num_atoms = 1
        z_size = int(self.model_config.get("z_size", 32))
        self.frames = int(self.model_config["mario"]["frame_stack"])
        self.vae = ConvVAE(z_size=z_size, channels=self.observation_space.shape[-1] // self.frames,
                           kl_tolerance=self.model_config.get("kl_tolerance", 0.5))
        self.streams = _Streams(z_size * self.frames, self.action_space.n)
        if not self.inference_only:
            self.dynamics = LatentDynamics(latent_size=z_size * self.frames, z_size=z_size,
                                           num_actions=self.action_space.n)
        self.epsilon_schedule = Scheduler(
            fixed_value_or_schedule=self.model_config.get("epsilon", 0.0), framework="torch")

    def split_frames(self, obs: torch.Tensor) -> torch.Tensor:
        """[B, 64, 64, C x F] -> [B, F, 64, 64, C], oldest frame first."""
        batch_size = obs.shape[0]
        return obs.view(batch_size, *obs.shape[1:3], self.frames, -1).permute(0, 3, 1, 2, 4)

    @torch.no_grad()
    def latent(self, obs: torch.Tensor) -> torch.Tensor:
        """The latent state: V's mean of each stacked frame, concatenated: [B, F x z]."""
        frames = self.split_frames(obs)
        mean, _ = self.vae.encode(frames.reshape(-1, *frames.shape[2:]))
        return mean.view(obs.shape[0], -1)

    @override(MarioDuelingQRLM)
    def compute_q_values(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {QF_PREDS: self.streams(self.latent(batch[Columns.OBS]))}

    @override(MarioDuelingQRLM)
    def make_target_networks(self) -> None:
        self._target_streams = make_target_network(self.streams)

    @override(MarioDuelingQRLM)
    def get_target_network_pairs(self):
        return [(self.streams, self._target_streams)]

    @override(MarioDuelingQRLM)
    def forward_target(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        # The target network's latent is the online VAE's: the VAE is not a Q parameter.
        return {QF_PREDS: self._target_streams(self.latent(batch[Columns.OBS]))}

    @override(MarioDuelingQRLM)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        """DQN's outputs (Q(s, .), and Q_online(s', .), Q_target(s', .) for the double-Q target)
        with s and s' encoded once, not once per network: the latents, also in the output for
        the world model's loss, are the same for all three (the target shares the online VAE)."""
        obs, next_obs = batch[Columns.OBS], batch[Columns.NEXT_OBS]
        latent, next_latent = torch.chunk(self.latent(torch.cat([obs, next_obs])), 2, dim=0)
        out = {QF_PREDS: self.streams(latent), LATENT: latent, NEXT_LATENT: next_latent,
               QF_TARGET_NEXT_PREDS: self._target_streams(next_latent)}
        if self.uses_double_q:
            out[QF_NEXT_PREDS] = self.streams(next_latent)
        return out

    @override(MarioDuelingQRLM)
    def get_non_inference_attributes(self) -> list[str]:
        return ["_target_streams", "dynamics"]
