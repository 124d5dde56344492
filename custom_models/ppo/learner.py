"""RLlib's PPO learner with a value loss that keeps a gradient for large errors.

RLlib 2.60's `PPOTorchLearner` clamps the *squared* value error, not the value:
`vf_loss = (V - target)^2; vf_loss_clipped = clamp(vf_loss, 0, vf_clip_param)`. A sample whose
|V - target| exceeds sqrt(vf_clip_param) (3.16 for the default 10) gives the value head no
gradient at all. With gamma 0.9 and rewards scaled by 1/15, a running Mario's value targets are
about 5-7, so a critic that lags behind a policy that just learned to run, or a death it did not
foresee, teaches it nothing: the samples with the largest errors are the ones it drops.

`vf_loss="huber"` (our default) uses the critic loss of uvipen/Super-mario-bros-PPO-pytorch, the
published PPO run that clears 1-1 on this env: `F.smooth_l1_loss(V, target)`, a Huber loss with
delta 1. Small errors are squared (halved); an error beyond 1 keeps a gradient of constant size.
`vf_loss="squared"` is RLlib's own loss, unchanged (clamped at `vf_clip_param`).

The policy and entropy terms, the KL term and every logged metric stay RLlib's: the learner runs
RLlib's loss with the value term weighted 0 and adds its own. `vf_loss` then reports the value
term that was minimised; `vf_loss_unclipped` stays the mean squared error, comparable across both.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import VF_LOSS_KEY
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.annotations import override
from torch.nn import functional as F

VF_LOSSES = ("huber", "squared")
"""The `vf_loss` setting: uvipen's Huber loss, or RLlib's squared error clamped at
`vf_clip_param`."""
HUBER_DELTA = 1.0  # F.smooth_l1_loss's beta, as uvipen calls it (the default)


def value_loss(values: torch.Tensor, targets: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-sample value loss [B] of the values V(s) [B] against their targets [B]."""
    if kind == "huber":
        return F.smooth_l1_loss(values, targets, reduction="none", beta=HUBER_DELTA)
    raise ValueError(f"bad vf_loss {kind!r}: this learner computes 'huber'; 'squared' is "
                     f"RLlib's own loss")


class MarioPPOLearner(PPOTorchLearner):
    """`learner_config_dict["vf_loss"]` picks the value loss (see the module docstring). A
    config without it (one pickled before the setting existed) keeps RLlib's loss."""

    @override(PPOTorchLearner)
    def build(self) -> None:
        super().build()
        self._policy_terms_config: dict[Any, Any] = {}

    @override(PPOTorchLearner)
    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        kind = config.learner_config_dict.get("vf_loss", "squared")
        if kind == "squared" or not config.use_critic:
            return super().compute_loss_for_module(module_id=module_id, config=config,
                                                   batch=batch, fwd_out=fwd_out)
        # RLlib's loss without its value term, then ours, masked as RLlib masks its terms.
        if module_id not in self._policy_terms_config:
            policy_terms = config.copy(copy_frozen=False)
            policy_terms.vf_loss_coeff = 0.0
            self._policy_terms_config[module_id] = policy_terms
        total_loss = super().compute_loss_for_module(
            module_id=module_id, config=self._policy_terms_config[module_id], batch=batch,
            fwd_out=fwd_out)
        module = self.module[module_id].unwrapped()
        values = module.compute_values(batch, embeddings=fwd_out.get(Columns.EMBEDDINGS))
        per_sample = value_loss(values, batch[Postprocessing.VALUE_TARGETS], kind)
        if Columns.LOSS_MASK in batch:
            mask = batch[Columns.LOSS_MASK]
            mean_vf_loss = torch.sum(per_sample[mask]) / torch.sum(mask)
        else:
            mean_vf_loss = torch.mean(per_sample)
        # Logged after RLlib's entry of the same key (window 1): the last value is the one kept.
        self.metrics.log_value((module_id, VF_LOSS_KEY), mean_vf_loss, window=1)
        return total_loss + config.vf_loss_coeff * mean_vf_loss
