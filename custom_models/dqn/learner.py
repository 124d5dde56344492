"""RLlib's DQN learner plus the statistics of the prioritized-replay importance weights, and a
target-network schedule that survives a checkpoint.

`DQNTorchLearner` already does the double-Q target, n-step discounting (`gamma ** n_step`, per
transition: our replay buffer shortens n at the end of an episode), the weighted Huber loss and
logs mean/min/max Q and the TD error; we keep all of it. It does not report the importance weights
that prioritized replay hands the loss, which show whether prioritization (alpha) and its
correction (beta) are sane: with beta at 1 and uniform priorities every weight is 1.

It keeps the step of the last target sync in an attribute that RLlib 2.60 leaves out of the
learner's state, so a restored learner synced its target network at once (the step count minus
0 exceeds any `target_network_update_freq`). Here it is part of the state.
"""

from __future__ import annotations

from ray.rllib.algorithms.dqn.torch.dqn_torch_learner import DQNTorchLearner
from ray.rllib.utils.annotations import override
from ray.rllib.utils.typing import StateDict

PER_WEIGHT_MEAN = "per_weight_mean"
PER_WEIGHT_MIN = "per_weight_min"
LAST_TARGET_SYNC = "mario_last_target_update_ts"  # the learner state's key


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

    @override(DQNTorchLearner)
    def get_state(self, *args, **kwargs) -> StateDict:
        state = super().get_state(*args, **kwargs)
        state[LAST_TARGET_SYNC] = dict(self.last_update_ts_by_mid)
        return state

    @override(DQNTorchLearner)
    def set_state(self, state: StateDict) -> None:
        super().set_state(state)
        self.last_update_ts_by_mid.update(state.get(LAST_TARGET_SYNC, {}))
