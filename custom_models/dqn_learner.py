"""RLlib's DQN learner plus the statistics of the prioritized-replay importance weights.

`DQNTorchLearner` already does the double-Q target, n-step discounting, the weighted Huber loss and
logs mean/min/max Q and the TD error; we keep all of it. It does not report the importance weights
that prioritized replay hands the loss, which show whether prioritization (alpha) and its
correction (beta) are sane: with beta at 1 and uniform priorities every weight is 1. That is the
only thing this subclass adds.
"""

from __future__ import annotations

from ray.rllib.algorithms.dqn.torch.dqn_torch_learner import DQNTorchLearner
from ray.rllib.utils.annotations import override

PER_WEIGHT_MEAN = "per_weight_mean"
PER_WEIGHT_MIN = "per_weight_min"


class MarioDQNLearner(DQNTorchLearner):
    @override(DQNTorchLearner)
    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        weights = batch["weights"].detach()
        self.metrics.log_dict(
            {PER_WEIGHT_MEAN: weights.mean(), PER_WEIGHT_MIN: weights.min()},
            key=module_id,
            window=1,
        )
        return super().compute_loss_for_module(module_id=module_id, config=config, batch=batch,
                                               fwd_out=fwd_out)
