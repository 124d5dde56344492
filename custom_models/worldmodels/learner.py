"""World Models' V and M on an RLlib Learner: two optimizers, one loss per batch.

[1] Ha & Schmidhuber 2018, "Recurrent World Models Facilitate Policy Evolution" (NeurIPS),
    https://arxiv.org/abs/1809.01999, Appendix A: V and M are trained by gradient descent (Adam,
    learning rates 1e-4 and 1e-3 in the paper's code), one after the other; C by CMA-ES, with no
    gradients at all (`custom_models.worldmodels.algorithm`).

Why RLlib Learners and not Ray Train: the Learners already get their GPUs from the presets
(`num_learners`, `gpus_per_learner`, data-parallel across learners), are checkpointed and restored
with the algorithm (weights and both Adam states), and push their weights to the env runners that
play the agent. A `TorchTrainer` would be a second training job per trial with its own workers,
checkpoints and resume to keep in step with Tune's.

A batch is for V or for M, never both, and says which by its columns:
    V: "obs" [N, 64, 64, C] uint8 frames.
    M: "mu", "log_var" [B, T+1, z_size] (V's posterior, from which z is drawn per update, as [1]'s
       code does), "actions", "rewards", "ends", "mask" [B, T].
Only the part a batch trains gets gradients (`SkipsUntrainedParts`). With more than one learner,
the learners average their gradients themselves (`AveragesGradientsAcrossLearners`).

Metrics, under `learners/default_policy/` in each result while the part trains:
    vae_loss, vae_reconstruction (squared error summed over a frame's pixels), vae_kl (nats, before
    the floor), vae_recon_mse (per pixel, in [0, 1]), vae_recon_ssim (1.0: identical);
    mdn_loss, mdn_z_nll (per dimension of z), mdn_reward_mse, mdn_done_bce (ends weighted by
    `mdn_end_weight`).

M's gradients are clipped element-wise at `mdn_grad_clip` and its end steps weighted by
`mdn_end_weight` in the end head's loss, as [1]'s code (1.0 and 10).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from ray.rllib.core.learner.torch.torch_learner import TorchLearner
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchDDPRLModule
from ray.rllib.utils.annotations import override

from custom_models.images import ssim

METRIC_FRAMES = 16
"""Frames of a V batch whose reconstruction metrics are computed: on 64 they took 30% of a
100-frame update on 2 CPU cores, on 16 about 8%."""


@torch.no_grad()
def reconstruction_metrics(vae, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """V's reconstruction (decoded posterior mean) of the first `METRIC_FRAMES` of `frames`
    (uint8): its mean squared error and its SSIM, pixels in [0, 1]."""
    sample = frames[:METRIC_FRAMES]
    reconstruction = vae.decode(vae.encode(sample)[0])
    real = sample.float() / 255.0
    return (reconstruction - real).pow(2).mean(), ssim(reconstruction, real).mean()


class SkipsUntrainedParts:
    """A TorchLearner mixin for modules whose parts learn from different losses: a part the loss
    did not reach has `None` gradients, which RLlib 2.60's `apply_gradients` cannot take
    (`torch.isfinite(None)`); they are dropped, and torch's optimizers leave parameters without a
    gradient alone (no step, no moment update)."""

    def compute_gradients(self, loss_per_module, **kwargs):
        grads = super().compute_gradients(loss_per_module, **kwargs)
        return {ref: grad for ref, grad in grads.items() if grad is not None}


class AveragesGradientsAcrossLearners:
    """A TorchLearner mixin for modules whose losses reach their parts directly (V's and M's
    losses, latent DQN's world model), not through `forward_train`.

    With `num_learners` > 1, RLlib 2.60 wraps each module in torch's DistributedDataParallel
    (`TorchLearner._make_modules_ddp_if_necessary`). DDP all-reduces gradients through hooks that
    only its own `forward` arms, and expects every parameter to get a gradient after it: a loss on
    the module's parts gets no all-reduce at all, and a forward whose loss leaves a part untrained
    makes the next one raise ("Expected to have finished reduction in the prior iteration").

    So DDP keeps only its start (learner 0's weights broadcast to the others when RLlib wraps the
    module) and its hooks are switched off for good, as its own `no_sync()` does for a while. Each
    update's gradients are averaged over the learners here instead, with equal weights, as DDP
    does: one all-reduce of the gradients that exist, in the learner's parameter order. That set
    is the same on every learner, since every learner trains the same part in the same update
    (RLlib's IMPALA learner, whose multi-agent learners may differ, all-reduces every parameter
    instead); a learner whose set differs stops the update with an error rather than a hang."""

    @override(TorchLearner)
    def _make_modules_ddp_if_necessary(self) -> None:
        super()._make_modules_ddp_if_necessary()
        for module in self.module.values():
            if isinstance(module, TorchDDPRLModule):
                module.require_backward_grad_sync = False  # what DDP's `no_sync()` sets

    def compute_gradients(self, loss_per_module, **kwargs):
        grads = super().compute_gradients(loss_per_module, **kwargs)
        present = [grad for grad in grads.values() if grad is not None]
        if self.config.num_learners > 1:
            sizes = [grad.numel() for grad in present]
            shape = torch.tensor([len(sizes), sum(sizes)], dtype=torch.float64,
                                 device=self._device)
            lowest = shape.clone()
            dist.all_reduce(shape, op=dist.ReduceOp.MAX)
            dist.all_reduce(lowest, op=dist.ReduceOp.MIN)
            if not torch.equal(shape, lowest):
                raise RuntimeError(f"learners differ in what this update trains: from "
                                   f"{lowest.tolist()} to {shape.tolist()} gradients (count, "
                                   f"elements); their updates are out of step")
        if self.config.num_learners > 1 and present:
            flat = torch.cat([grad.reshape(-1) for grad in present])
            dist.all_reduce(flat)
            flat /= dist.get_world_size()
            for grad, average in zip(present, flat.split([grad.numel() for grad in present]),
                                     strict=True):
                grad.copy_(average.view_as(grad))
        return grads


class WorldModelsLearner(SkipsUntrainedParts, AveragesGradientsAcrossLearners, TorchLearner):
    """V's and M's losses and optimizers (see the module doc)."""

    @override(TorchLearner)
    def configure_optimizers_for_module(self, module_id, config=None):
        module = self.module[module_id].unwrapped()
        for name, part, lr in (("vae", module.vae, config.vae_lr),
                               ("mdn_rnn", module.rnn, config.mdn_lr)):
            params = list(part.parameters())
            self.register_optimizer(module_id=module_id, optimizer_name=name,
                                    optimizer=torch.optim.Adam(params), params=params,
                                    lr_or_lr_schedule=lr)

    @override(TorchLearner)
    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        module = self.module[module_id].unwrapped()
        if "obs" in batch:
            return self._vae_loss(module_id, module, batch["obs"])
        return self._mdn_loss(module_id, module, batch)

    def _vae_loss(self, module_id, module, frames: torch.Tensor) -> torch.Tensor:
        losses = module.vae.loss(frames)
        mse, similarity = reconstruction_metrics(module.vae, frames)
        self.metrics.log_dict({
            "vae_loss": losses["total"].detach(),
            "vae_reconstruction": losses["reconstruction"].detach(),
            "vae_kl": losses["kl"].detach(), "vae_recon_mse": mse, "vae_recon_ssim": similarity,
        }, key=module_id, window=1)
        return losses["total"]

    def _mdn_loss(self, module_id, module, batch) -> torch.Tensor:
        z = batch["mu"] + torch.exp(0.5 * batch["log_var"]) * torch.randn_like(batch["mu"])
        losses = module.rnn.loss(z, batch["actions"], batch["rewards"], batch["ends"],
                                 batch["mask"], end_weight=self.config.mdn_end_weight)
        self.metrics.log_dict({
            "mdn_loss": losses["total"].detach(), "mdn_z_nll": losses["z"].detach(),
            "mdn_reward_mse": losses["reward"].detach(), "mdn_done_bce": losses["done"].detach(),
        }, key=module_id, window=1)
        return losses["total"]

    @override(TorchLearner)
    def postprocess_gradients_for_module(self, *, module_id, config=None, module_gradients_dict):
        """M's gradients clipped element-wise to [-mdn_grad_clip, mdn_grad_clip], as [1]'s code
        does (`clip_by_value` at 1.0) and before RLlib's own `grad_clip`, if set; V's not (its
        code has none)."""
        if config.mdn_grad_clip is not None:
            mdn = self.get_optimizer(module_id, "mdn_rnn")
            for grad in self.filter_param_dict_for_optimizer(module_gradients_dict, mdn).values():
                grad.clamp_(-config.mdn_grad_clip, config.mdn_grad_clip)
        return super().postprocess_gradients_for_module(
            module_id=module_id, config=config, module_gradients_dict=module_gradients_dict)

    @torch.no_grad()
    def encode(self, frames, module_id: str = "default_policy"):
        """V's posterior for `frames` ([N, 64, 64, C] uint8, numpy): (mu, log_var) as numpy."""
        vae = self.module[module_id].unwrapped().vae
        mu, log_var = vae.encode(torch.as_tensor(frames, device=self._device))
        return mu.cpu().numpy(), log_var.cpu().numpy()
