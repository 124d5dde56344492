"""Episode metrics Mario people read, over the last 100 finished episodes of a trial.

They land in each training result under `env_runners/` (so in Tune, TensorBoard and progress.csv)
and serve as stop criteria, e.g. `{"env_runners/flag_rate": 0.5}`:

    flag_rate           share of the last 100 episodes that reached the flag
    x_pos_max_mean      furthest x position per episode, mean over the last 100 episodes
    x_pos_max_max       furthest x position per episode, max over the last 100 episodes
    score_mean          the game's score at the episode's end, mean over the last 100
    return_mean         the episode's return (the reward the agent learns from), mean
    window_episodes     how many episodes the window holds (100 once 100 have ended)
    stages/W-S/...      flag_rate and x_pos_max_mean per stage (level lists draw several)
    epsilon             the exploration rate now (epsilon-greedy modules only)

"Over the last 100 episodes" is meant literally: across sample calls and across env runners.
RLlib 2.60's own windowed means do not span sample calls (an env runner reduces its window after
every call, and the algorithm averages the per-call means: 3 misses in one call and 1 flag in the
next gave flag_rate 0.5, not 0.25), and so neither do RLlib's `episode_return_mean` and
`episode_len_mean`, reported beside ours. Our metrics use `LastEpisodes*` stats instead: each
env runner hands over the values of the episodes that ended since its last report, and the
algorithm's root logger keeps the last 100 of them, across iterations and in its checkpoints.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.utils.metrics.metrics_logger import DEFAULT_STATS_CLS_LOOKUP
from ray.rllib.utils.metrics.stats.base import StatsBase

WINDOW = 100
"""Episodes the metrics are taken over: RLlib's own default for its episode metrics."""

FLAG_RATE = "flag_rate"
X_POS_MAX_MEAN = "x_pos_max_mean"
X_POS_MAX_MAX = "x_pos_max_max"
SCORE_MEAN = "score_mean"
RETURN_MEAN = "return_mean"
WINDOW_EPISODES = "window_episodes"
EPSILON = "epsilon"

RESTORED = "mario_restored"
"""The key of the first result after a checkpoint was loaded (`--resume`, a trial restored after
a failure, a PBT exploit): `restore_configured_learning_rates`' note."""

TUNE_METRIC = "env_runners/flag_rate_then_x_pos"
"""What Tune's schedulers and searchers rank trials by (`mario_rllib.population`): the flag rate
over the last 100 episodes, then their furthest x_pos, as one number: flag_rate + x_pos_max_mean
/ 1e6 (a window's flag rate moves in steps of at least 0.01, x_pos stays under 10,000); 0 until
an episode ends."""

# Result keys the stop criteria read (`train --stop-timesteps / --stop-flag-rate / --stop-iters`).
STOP_TIMESTEPS = "env_runners/num_env_steps_sampled_lifetime"
STOP_FLAG_RATE = f"env_runners/{FLAG_RATE}"
STOP_ITERS = "training_iteration"


class LastEpisodesStats(StatsBase):
    """One value per finished episode; reduces over the trial's last `window` episodes.

    On an env runner (a leaf, or any logger but the root), `reduce()` hands over the values
    pushed or merged since the last call and forgets them. At the algorithm (the root),
    `merge()` appends them to a window of the last
    `window` values, which `reduce()` and `peek()` summarise without clearing it, so the window
    spans iterations; it is part of the algorithm's checkpointed metrics state.
    """

    stats_cls_identifier = "last_episodes"

    def __init__(self, window: int = WINDOW, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._window = window
        self.values: deque[float] = deque(maxlen=window)

    @staticmethod
    def summarise(values) -> float:
        raise NotImplementedError

    def _summary(self, values) -> float:
        return self.summarise(values) if len(values) else np.nan

    def push(self, value: Any) -> None:
        super().push(value)
        self.values.append(float(value))

    def merge(self, incoming_stats: list[LastEpisodesStats]) -> None:
        new = [value for stats in incoming_stats for value in stats.values]
        self.values.extend(new)
        self.latest_merged = new

    def peek(self, compile: bool = True, latest_merged_only: bool = False):
        if latest_merged_only and self.is_leaf:
            raise ValueError("latest_merged_only can only be used on aggregation stats objects "
                             "(is_leaf=False)")
        values = (self.latest_merged or []) if latest_merged_only else self.values
        return self._summary(values) if compile else list(values)

    def reduce(self, compile: bool = True):
        values = list(self.values)
        if not self.is_root:  # an env runner (or an aggregator) hands over its new episodes
            self.values.clear()
        if compile:
            return self._summary(values)
        handed = self.clone()
        handed.values.extend(values)
        return handed

    def __len__(self) -> int:
        return len(self.values)

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "values": list(self.values), "window": self._window}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self._window = state["window"]
        self.values = deque(state["values"], maxlen=self._window)

    @staticmethod
    def _get_init_args(stats_object=None, state=None) -> dict[str, Any]:
        args = StatsBase._get_init_args(stats_object=stats_object, state=state)
        args["window"] = state["window"] if state is not None else stats_object._window
        return args

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.peek()}; window={self._window}; len={len(self)})"


class LastEpisodesMean(LastEpisodesStats):
    stats_cls_identifier = "last_episodes_mean"
    summarise = staticmethod(np.mean)


class LastEpisodesMax(LastEpisodesStats):
    stats_cls_identifier = "last_episodes_max"
    summarise = staticmethod(np.max)


class LastEpisodesCount(LastEpisodesStats):
    stats_cls_identifier = "last_episodes_count"
    summarise = staticmethod(len)


STATS_CLS_LOOKUP = {
    **DEFAULT_STATS_CLS_LOOKUP,
    **{cls.stats_cls_identifier: cls for cls in (LastEpisodesMean, LastEpisodesMax,
                                                 LastEpisodesCount)},
}
"""RLlib's stats classes and ours, for `config.reporting(custom_stats_cls_lookup=...)`."""

MEAN, MAX, COUNT = (cls.stats_cls_identifier for cls in (LastEpisodesMean, LastEpisodesMax,
                                                         LastEpisodesCount))


def _single_module(rl_module):
    """The default policy's module, whether RLlib passes it alone or inside a MultiRLModule."""
    try:
        return rl_module["default_policy"]
    except (TypeError, KeyError):
        return rl_module


class MarioMetricsCallback(RLlibCallback):
    """Log the furthest x position, the flag, the stage, the score and the return of every
    finished episode (see the module docstring for what they become)."""

    def __init__(self):
        super().__init__()
        # The return of each running episode so far: RLlib cuts episodes into chunks at every
        # sample() call, and the chunk that ends an episode holds only its own rewards.
        self._returns: dict[str, float] = {}

    def on_train_result(self, *, algorithm, result, **kwargs) -> None:
        runners = result.setdefault("env_runners", {})
        flag, x_pos = runners.get(FLAG_RATE, np.nan), runners.get(X_POS_MAX_MEAN, np.nan)
        runners[TUNE_METRIC.split("/")[1]] = (0.0 if np.isnan(flag) or np.isnan(x_pos)
                                              else float(flag) + float(x_pos) / 1e6)
        # What a checkpoint's load left (mario_rllib.population), in the first result after it.
        restored = algorithm.__dict__.pop("_mario_restored", None)
        if restored is not None:
            result[RESTORED] = restored

    def on_episode_step(self, *, episode, **kwargs) -> None:
        self._returns[episode.id_] = self._returns.get(episode.id_, 0.0) + float(
            episode.get_rewards(-1))

    def on_episode_end(self, *, episode, metrics_logger=None, rl_module=None, **kwargs) -> None:
        episode_return = self._returns.pop(episode.id_, 0.0)
        if metrics_logger is None:
            return
        # The env's info carries the running maximum of x_pos, so the last step's info holds the
        # whole episode's, however many chunks the episode was sampled in.
        info = episode.get_infos(-1)
        flag = float(bool(info["flag_get"]))
        x_pos_max = float(info["x_pos_max"])
        stage = f"{info['world']}-{info['stage']}"
        log = metrics_logger.log_value
        log(FLAG_RATE, flag, reduce=MEAN)
        log(X_POS_MAX_MEAN, x_pos_max, reduce=MEAN)
        log(X_POS_MAX_MAX, x_pos_max, reduce=MAX)
        log(SCORE_MEAN, float(info["score"]), reduce=MEAN)
        log(RETURN_MEAN, episode_return, reduce=MEAN)
        log(WINDOW_EPISODES, 1, reduce=COUNT)
        log(("stages", stage, FLAG_RATE), flag, reduce=MEAN)
        log(("stages", stage, X_POS_MAX_MEAN), x_pos_max, reduce=MEAN)
        # Epsilon-greedy modules report where their schedule stands.
        schedule = getattr(_single_module(rl_module), "epsilon_schedule", None)
        if schedule is not None:
            log(EPSILON, float(schedule.get_current_value()), reduce="mean", window=1)


def restore_configured_learning_rates(*, algorithm, **kwargs) -> None:
    """`on_checkpoint_loaded`: set every optimizer with a fixed learning rate to the one the
    config gives (the checkpoint's optimizer state brought the saved one: after a PBT exploit,
    the donor's), and note for the next result the checkpoint's iteration and what the learner
    now steps with: its optimizers' rates, and the sums of the magnitudes of its weights and of
    its optimizers' state (Adam's moments) (`RESTORED`)."""
    def apply(learner) -> dict[str, float]:
        restored = {}
        for optimizer, schedule in learner._optimizer_lr_schedules.items():
            if not schedule.use_schedule:  # a schedule's rate follows the step count
                learner._set_optimizer_lr(optimizer, float(schedule.get_current_value()))
        for name, optimizer in learner._named_optimizers.items():
            restored[f"lr/{name}"] = float(learner._get_optimizer_lr(optimizer))
            restored[f"optimizer_abs_sum/{name}"] = weights_abs_sum(optimizer.state_dict()["state"])
        for module_id in learner.module.keys():
            restored[f"weights_abs_sum/{module_id}"] = weights_abs_sum(
                learner.module[module_id].get_state())
        return restored

    results = algorithm.learner_group.foreach_learner(apply)
    # the checkpoint's iteration: the algorithm's counter is restored with it
    algorithm._mario_restored = {"iteration": algorithm.training_iteration,
                                 **next(iter(results)).get()}


def weights_abs_sum(state: Mapping[str, Any]) -> float:
    """The sum of |w| over a (nested) state's arrays and numbers, in float64: equal for equal
    states, whether their numbers are tensors (a live optimizer's step counts) or plain floats
    (a checkpoint's)."""
    import numpy as np

    total = 0.0
    for value in state.values():
        if isinstance(value, Mapping):
            total += weights_abs_sum(value)
        elif hasattr(value, "shape") or (isinstance(value, (int, float))
                                         and not isinstance(value, bool)):
            array = value.detach().cpu().numpy() if hasattr(value, "detach") else value
            total += float(np.abs(np.asarray(array, dtype=np.float64)).sum())
    return total if math.isfinite(total) else math.nan
