"""RLlib's DreamerV3 learner, plus the metrics a user needs to trust the world model and the actor.

[1] Mastering Diverse Domains through World Models - 2023, D. Hafner et al.,
    https://arxiv.org/pdf/2301.04104v1.pdf

The losses, optimisers and gradient clipping are RLlib's (`DreamerV3TorchLearner`, [1] eqs. 4-11)
and are not changed. RLlib logs the loss terms (`WORLD_MODEL_L_decoder`, `..._L_reward`,
`..._L_continue`, `..._L_dynamics`, `..._L_representation` after free bits, `ACTOR_action_entropy`,
`CRITIC_L_total`, ...). Losses are hard to read: a decoder loss of 180 says nothing about whether
the dreamed frames look like Mario. This learner adds, per update and under
`learners/default_policy/` in every training result (Tune, TensorBoard, progress.csv):

    WORLD_MODEL_recon_mse            reconstruction error of the replayed frames, pixels in [0, 1]
    WORLD_MODEL_recon_ssim           their structural similarity (1.0: identical)
    WORLD_MODEL_reward_mae           |predicted - real reward|, in the env's reward units
    WORLD_MODEL_continue_accuracy    share of steps whose "episode goes on" is predicted right
    WORLD_MODEL_terminal_recall      share of the batch's terminal steps (Mario's deaths, the flag)
                                     predicted as terminal; only logged when a batch has one
    WORLD_MODEL_kl                   KL(posterior || prior) in nats before free bits: the value of
                                     both the dynamics and the representation loss ([1] eq. 5;
                                     they differ only in where the gradient stops)
    WORLD_MODEL_free_bits_active     share of steps with KL below 1 nat, where free bits switch
                                     both KL losses off ([1] Section 2, "free bits")
    ACTOR_entropy_normalized         the policy's entropy / log(number of actions); 1.0: uniform
    DREAM_imagined_return            lambda-return of the imagined trajectories ([1] eq. 7) from
                                     the replayed states
    DREAM_real_return                lambda-return of the replayed real steps from the same
                                     states, the same critic bootstrapping both
    DREAM_return_gap                 imagined - real: above 0, the world model is optimistic
    CRITIC_value                     the critic's value of the replayed real states
"""

from __future__ import annotations

import math

import torch
from ray.rllib.algorithms.dreamerv3.torch.dreamerv3_torch_learner import DreamerV3TorchLearner
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.torch_utils import inverse_symlog

from custom_models.dreamer.metrics import lambda_returns
from custom_models.images import ssim

SSIM_MAX_FRAMES = 256
"""Frames of a batch whose SSIM is computed: enough for a stable mean at a few ms per update."""

FREE_BITS_NATS = 1.0  # [1] Section 2: KL losses clipped below 1 nat


class MarioDreamerV3Learner(DreamerV3TorchLearner):
    """`DreamerV3TorchLearner` with world-model and imagination metrics (see the module doc)."""

    @override(DreamerV3TorchLearner)
    def compute_loss_for_module(self, module_id, config, batch, fwd_out):
        self._value_targets: torch.Tensor | None = None
        loss = super().compute_loss_for_module(module_id=module_id, config=config, batch=batch,
                                               fwd_out=fwd_out)
        with torch.no_grad():
            self.metrics.log_dict(self._world_model_metrics(module_id, config, batch, fwd_out),
                                  key=module_id, window=1)
            self.metrics.log_dict(self._dream_metrics(module_id, config, batch, fwd_out),
                                  key=module_id, window=1)
        self._value_targets = None
        return loss

    # RLlib's loss dreams and computes the dream's value targets inside
    # `compute_loss_for_module`; keep the targets for the metrics instead of dreaming twice.
    @override(DreamerV3TorchLearner)
    def _compute_critic_loss(self, *, value_targets_t0_to_Hm1_BxT, **kwargs):
        self._value_targets = value_targets_t0_to_Hm1_BxT
        return super()._compute_critic_loss(
            value_targets_t0_to_Hm1_BxT=value_targets_t0_to_Hm1_BxT, **kwargs)

    def _world_model_metrics(self, module_id, config, batch, fwd_out) -> dict[str, float]:
        # Frames: the module normalised them to [-1, 1]; pixels in [0, 1] are (x + 1) / 2.
        real = fwd_out["sampled_obs_symlog_BxT"]
        real_BxT = real.reshape(-1, *real.shape[-3:])  # [BxT, 64, 64, 3]
        predicted = fwd_out["obs_distribution_means_BxT"].reshape(real_BxT.shape)
        real01 = ((real_BxT + 1.0) / 2.0).clamp(0, 1)
        predicted01 = ((predicted + 1.0) / 2.0).clamp(0, 1)
        metrics = {
            "WORLD_MODEL_recon_mse": torch.mean((predicted01 - real01) ** 2).item(),
            "WORLD_MODEL_recon_ssim": ssim(predicted01[:SSIM_MAX_FRAMES],
                                           real01[:SSIM_MAX_FRAMES]).mean().item(),
        }
        # Rewards: the head predicts symlog(r); the batch holds r.
        rewards = batch[Columns.REWARDS].reshape(-1).float()
        predicted_rewards = inverse_symlog(fwd_out["rewards_BxT"].reshape(-1))
        metrics["WORLD_MODEL_reward_mae"] = torch.mean((predicted_rewards - rewards).abs()).item()
        # Continues: the head's Bernoulli mode against 1 - is_terminated.
        terminal = batch["is_terminated"].reshape(-1).bool()
        predicted_terminal = fwd_out["continue_distribution_BxT"].probs <= 0.5
        metrics["WORLD_MODEL_continue_accuracy"] = (
            (predicted_terminal == terminal).float().mean().item())
        if terminal.any():
            metrics["WORLD_MODEL_terminal_recall"] = (
                predicted_terminal[terminal].float().mean().item())
        # KL between the posterior (encoder) and prior (dynamics) latents, before free bits.
        kl = torch.distributions.kl.kl_divergence(
            _categoricals(fwd_out["z_posterior_probs_BxT"]),
            _categoricals(fwd_out["z_prior_probs_BxT"]))
        metrics["WORLD_MODEL_kl"] = kl.mean().item()
        metrics["WORLD_MODEL_free_bits_active"] = (kl < FREE_BITS_NATS).float().mean().item()
        return metrics

    def _dream_metrics(self, module_id, config, batch, fwd_out) -> dict[str, float]:
        module = self.module[module_id].unwrapped()
        metrics: dict[str, float] = {}
        entropy = self.metrics.peek((module_id, "ACTOR_action_entropy"), default=None)
        if entropy is not None and getattr(module.action_space, "n", 0) > 1:
            metrics["ACTOR_entropy_normalized"] = float(entropy) / math.log(module.action_space.n)

        # The critic's value of every replayed real state (posterior h, z), in reward units.
        batch_size_B, batch_length_T = batch[Columns.REWARDS].shape[:2]
        values_symlog = module.critic(h=fwd_out["h_states_BxT"],
                                      z=fwd_out["z_posterior_states_BxT"], use_ema=False)
        values_B_T = inverse_symlog(values_symlog).reshape(batch_size_B, batch_length_T)
        metrics["CRITIC_value"] = values_B_T.mean().item()

        # Real lambda-returns along the replayed rows, time-major. A row may run into the next
        # episode (is_first): no return crosses that boundary (a truncation is treated as an end).
        rewards = batch[Columns.REWARDS].float().T
        is_first = batch["is_first"].bool().T
        continues = (1.0 - batch["is_terminated"].float().T) * (~is_first).float()
        real = lambda_returns(rewards, continues, values_B_T.T, gamma=config.gamma,
                              lambda_=config.gae_lambda)  # [T-1, B]
        # Compare where both returns are well defined: the state is not terminal, it has at
        # least `horizon_H` real steps ahead in its row, and no new episode starts next.
        horizon = config.horizon_H
        if batch_length_T <= horizon + 1 or self._value_targets is None:
            return metrics
        imagined = self._value_targets[0].reshape(batch_size_B, batch_length_T).T
        valid = torch.zeros_like(is_first)
        valid[: batch_length_T - horizon] = True
        valid[:-1] &= ~is_first[1:]
        valid &= ~batch["is_terminated"].bool().T
        if valid.any():
            imagined_mean = imagined[valid].mean().item()
            real_mean = real[valid[:-1]].mean().item()
            metrics.update(DREAM_imagined_return=imagined_mean, DREAM_real_return=real_mean,
                           DREAM_return_gap=imagined_mean - real_mean)
        return metrics


def _categoricals(probs: torch.Tensor) -> torch.distributions.Distribution:
    """[N, 32 categoricals, 32 classes] probabilities -> one distribution per row."""
    return torch.distributions.Independent(
        torch.distributions.OneHotCategorical(probs=probs), reinterpreted_batch_ndims=1)
