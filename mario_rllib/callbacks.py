"""Episode metrics Mario people read, reported through RLlib's metrics logger.

They land in each training result under `env_runners/` (so in Tune, TensorBoard and progress.csv),
averaged over the last `window` episodes, and serve as stop criteria, e.g.
`{"env_runners/flag_rate": 0.5}`:

    flag_rate           share of episodes that reached the flag
    x_pos_max_mean      furthest x position per episode, mean over episodes
    x_pos_max_max       furthest x position per episode, max over episodes
    score_mean          the game's score at the episode's end
    stages/W-S/...      flag_rate and x_pos_max_mean per stage (level lists draw several)
    epsilon             the exploration rate now (epsilon-greedy modules, i.e. DQN)

RLlib itself reports the episode return and length (`episode_return_mean`, `episode_len_mean`).
"""

from __future__ import annotations

from ray.rllib.callbacks.callbacks import RLlibCallback

WINDOW = 100
"""Episodes to average over: RLlib's own default for its episode metrics."""

FLAG_RATE = "flag_rate"
X_POS_MAX_MEAN = "x_pos_max_mean"
X_POS_MAX_MAX = "x_pos_max_max"
SCORE_MEAN = "score_mean"
EPSILON = "epsilon"


def _single_module(rl_module):
    """The default policy's module, whether RLlib passes it alone or inside a MultiRLModule."""
    try:
        return rl_module["default_policy"]
    except (TypeError, KeyError):
        return rl_module


class MarioMetricsCallback(RLlibCallback):
    """Log the furthest x position, the flag, the stage and the score of every finished episode."""

    def on_episode_end(self, *, episode, metrics_logger=None, rl_module=None, **kwargs) -> None:
        if metrics_logger is None:
            return
        # The env's info carries the running maximum of x_pos, so the last step's info holds the
        # whole episode's, however many chunks the episode was sampled in.
        info = episode.get_infos(-1)
        flag = float(bool(info["flag_get"]))
        x_pos_max = float(info["x_pos_max"])
        stage = f"{info['world']}-{info['stage']}"
        metrics_logger.log_value(FLAG_RATE, flag, reduce="mean", window=WINDOW)
        metrics_logger.log_value(X_POS_MAX_MEAN, x_pos_max, reduce="mean", window=WINDOW)
        metrics_logger.log_value(X_POS_MAX_MAX, x_pos_max, reduce="max", window=WINDOW)
        metrics_logger.log_value(SCORE_MEAN, float(info["score"]), reduce="mean", window=WINDOW)
        metrics_logger.log_value(("stages", stage, FLAG_RATE), flag, reduce="mean", window=WINDOW)
        metrics_logger.log_value(("stages", stage, X_POS_MAX_MEAN), x_pos_max, reduce="mean",
                                 window=WINDOW)
        # Epsilon-greedy modules (our DQN) report where their schedule stands.
        schedule = getattr(_single_module(rl_module), "epsilon_schedule", None)
        if schedule is not None:
            metrics_logger.log_value(EPSILON, float(schedule.get_current_value()), reduce="mean",
                                     window=1)
