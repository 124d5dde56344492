"""Latent DQN's learner: DQN's (`MarioDQNLearner`: double Q, n-step, prioritized replay weights)
in alternating phases with the world model's.

Updates go in phases of `phase_updates` each, starting with the world model:
    world model  the VAE's loss ([1]: summed L2 plus KL floored at 0.5 x z) on the newest frame of
                 each replayed observation and next observation, plus the dynamics model's: the
                 squared error of its predicted next z (against the VAE's mean of the next
                 observation's newest frame, fixed) and of its predicted reward (the replayed
                 reward: the n-step return when `n_step` > 1). The Q streams get no gradient.
    Q            RLlib's DQN loss on the latent state; the world model is frozen (the latent is
                 computed under `no_grad`, and its optimizer gets no gradient).
The TD errors that prioritized replay needs are computed in both phases. The importance weights
scale the Q loss only: the world model fits per-sample targets, and the surprising transitions
prioritized replay favours are what it needs most (docs/latent_dqn.md, "Prioritized replay and the
world model").

Metrics (under `learners/default_policy/`): `wm_phase` (1 in a world-model update, 0 in a Q one),
`wm_recon_mse` and `wm_recon_ssim` (V's reconstruction of the frames, pixels in [0, 1]), `wm_kl`,
`dynamics_z_mse`, `dynamics_reward_mse`, and RLlib's DQN metrics (`qf_mean`, `qf_max`, `td_error`,
`qf_loss`...), plus the prioritized-replay weights.

[1] Ha & Schmidhuber 2018, https://arxiv.org/abs/1809.01999
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.typing import StateDict

from custom_models.dqn.dqn import progress_fields as dqn_progress_fields
from custom_models.dqn.learner import MarioDQNLearner
from custom_models.latent_dqn.rl_module import LATENT, NEXT_LATENT
from custom_models.worldmodels.learner import (
    AveragesGradientsAcrossLearners,
    SkipsUntrainedParts,
    reconstruction_metrics,
)

UPDATES_KEY = "latent_dqn_updates"  # the learner state's key: updates so far, for the phase
WM_PHASE = "wm_phase"
"""Learner metric (per module): the share of the iteration's updates that trained the world model."""


def progress_fields(result: Mapping[str, Any]) -> str:
    """The progress line's latent DQN fields: DQN's, and the share of the iteration's updates
    that trained the world model (`| replayed/env step 10.7, world model 65%`)."""
    fields = dqn_progress_fields(result)
    share = result.get("learners", {}).get(DEFAULT_MODULE_ID, {}).get(WM_PHASE)
    if not fields.startswith(" | replayed") or share is None or math.isnan(share):
        return fields
    return f"{fields}, world model {share:.0%}"


class LatentDQNLearner(SkipsUntrainedParts, AveragesGradientsAcrossLearners, MarioDQNLearner):
    """See the module doc. Settings come from the module's `model_config["latent"]`:
    `phase_updates` and `world_model_lr`."""

    def build(self) -> None:
        super().build()
        self.updates = 0

    @override(MarioDQNLearner)
    def configure_optimizers_for_module(self, module_id, config=None):
        module = self.module[module_id].unwrapped()
        latent = module.model_config["latent"]
        world_model = list(module.vae.parameters()) + list(module.dynamics.parameters())
        streams = list(module.streams.parameters())
        for name, params, lr in (("world_model", world_model, latent["world_model_lr"]),
                                 ("q", streams, config.lr)):
            self.register_optimizer(module_id=module_id, optimizer_name=name,
                                    optimizer=torch.optim.Adam(params), params=params,
                                    lr_or_lr_schedule=lr)

    def in_world_model_phase(self, module) -> bool:
        return (self.updates // module.model_config["latent"]["phase_updates"]) % 2 == 0

    @override(MarioDQNLearner)
    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        module = self.module[module_id].unwrapped()
        q_loss = super().compute_loss_for_module(module_id=module_id, config=config, batch=batch,
                                                 fwd_out=fwd_out)  # also the TD errors
        world_model = self.in_world_model_phase(module)
        self.updates += 1
        self.metrics.log_value((module_id, WM_PHASE), float(world_model), window=1)
        if not world_model:
            return q_loss
        return self._world_model_loss(module_id, module, batch, fwd_out)

    def _world_model_loss(self, module_id, module, batch, fwd_out) -> torch.Tensor:
        obs, next_obs = module.split_frames(batch[Columns.OBS]), \
            module.split_frames(batch[Columns.NEXT_OBS])
        frames = torch.cat([obs[:, -1], next_obs[:, -1]])  # the newest frames: [2B, 64, 64, C]
        vae = module.vae.loss(frames)
        # The forward pass's latents (computed under no_grad, before this update's step): the
        # dynamics model's input, and its target, the VAE mean of o_t+1's newest frame.
        predicted_z, predicted_reward = module.dynamics(fwd_out[LATENT], batch[Columns.ACTIONS])
        target_z = fwd_out[NEXT_LATENT][:, -module.vae.z_size:]
        z_mse = (predicted_z - target_z).pow(2).sum(-1).mean()
        reward_mse = (predicted_reward - batch[Columns.REWARDS].float()).pow(2).mean()
        mse, similarity = reconstruction_metrics(module.vae, frames)
        self.metrics.log_dict({
            "wm_recon_mse": mse, "wm_recon_ssim": similarity, "wm_kl": vae["kl"].detach(),
            "dynamics_z_mse": z_mse.detach(), "dynamics_reward_mse": reward_mse.detach(),
        }, key=module_id, window=1)
        return vae["total"] + z_mse + reward_mse

    @override(MarioDQNLearner)
    def get_state(self, *args, **kwargs) -> StateDict:
        state = super().get_state(*args, **kwargs)
        state[UPDATES_KEY] = self.updates
        return state

    @override(MarioDQNLearner)
    def set_state(self, state: StateDict) -> None:
        super().set_state(state)
        self.updates = state.get(UPDATES_KEY, self.updates)
