"""Where classes lived before the layout by role (2026-11-23).

Tune's experiment state and RLlib's checkpoints pickle classes by their module path, so an
experiment or a checkpoint saved before the move names paths that no longer exist: `train
--resume` and `evaluate` would fail on it. `install()` registers each old module as a stand-in
whose names resolve, on first use, to the classes where they live now. It is called when the
`mario_rllib` or `custom_models` package is imported, which unpickling an old path does first.
"""

from __future__ import annotations

import importlib
import sys
import types

MOVED: dict[str, dict[str, str]] = {
    "mario_rllib.callbacks": dict.fromkeys(
        ["MarioMetricsCallback", "LastEpisodesStats", "LastEpisodesMean", "LastEpisodesMax",
         "LastEpisodesCount"], "mario_rllib.metrics"),
    "mario_rllib.replay": {
        "StackedReplayDQN": "custom_models.dqn.dqn",
        "StackedFramePrioritizedEpisodeReplayBuffer": "custom_models.dqn.replay",
        "MarioDreamerV3": "custom_models.dreamer.algorithm",
        "MarioEpisodeReplayBuffer": "custom_models.dreamer.replay",
    },
    "custom_models.actor_critic_rlm": {"MarioActorCriticRLM": "custom_models.ppo.rl_module"},
    "custom_models.dueling_q_rlm": {"MarioDuelingQRLM": "custom_models.dqn.rl_module"},
    "custom_models.dqn_learner": {"MarioDQNLearner": "custom_models.dqn.learner"},
}


def _stand_in(old: str, names: dict[str, str]) -> types.ModuleType:
    module = types.ModuleType(old, f"moved: see {__name__}")

    def __getattr__(name: str):
        if name not in names:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        return getattr(importlib.import_module(names[name]), name)

    module.__getattr__ = __getattr__
    return module


def install() -> None:
    for old, names in MOVED.items():
        sys.modules.setdefault(old, _stand_in(old, names))
