"""One experiment file per algorithm; `EXPERIMENTS` maps `--algo` names to them.

Every file is an `Experiment`: it exports `ALGO`, `SETTINGS`, `DEFAULTS`, `PRESETS`, `STOP` and
`build_config(preset=..., **overrides) -> AlgorithmConfig`, and parses no flags on import. What
the app needs to know about one algorithm beyond that, the file says with the optional hooks of
`OPTIONAL` (its progress-line fields, its world model for `dream`); the app asks the file, never
the algorithm's name. Adding an algorithm: docs/adding_an_algorithm.md.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

EXPERIMENTS = {
    "ppo": "tune_configs.ppo_mario",
    "dqn": "tune_configs.dqn_mario",
    "dreamerv3": "tune_configs.dreamerv3_mario",
    "worldmodels": "tune_configs.worldmodels_mario",
    "latent_dqn": "tune_configs.latent_dqn_mario",
}
DEFAULT_ALGO = "ppo"
"""`--algo` when none is given: the algorithm of the shipped agent."""

PRESET_NAMES = ("debug", "cpu", "gpu")
"""Presets every experiment understands (see `tune_configs.common.RESOURCE_PRESETS`)."""


@runtime_checkable
class Experiment(Protocol):
    """What an experiment file exports (all required)."""

    ALGO: str
    """The `--algo` name, the key of `EXPERIMENTS`, recorded in every checkpoint."""
    SETTINGS: dict[str, Any]
    """Every setting (env settings too), declared once: {name: `tune_configs.settings.Setting`
    (default, rule, meaning)}: what `--set`, `--search` and `--mutate` may name."""
    DEFAULTS: dict[str, Any]
    """{name: default}, of `SETTINGS` (`defaults_of(SETTINGS)`)."""
    PRESETS: dict[str, dict[str, Any]]
    """Settings per preset, one entry per `PRESET_NAMES`, applied over `DEFAULTS`."""
    STOP: dict[str, Any]
    """Default stop criteria (result key -> threshold); `train --stop-*` replaces them."""

    def build_config(self, preset: str | list[str] = ..., **overrides: Any) -> Any:
        """The RLlib `AlgorithmConfig` for the presets (left to right) and the overrides; a
        one-line ValueError for a value a setting does not allow."""


OPTIONAL: dict[str, str] = {
    "progress_fields": "progress_fields(result) -> str: what the progress line adds for this "
                       "algorithm after the common fields (' | ...'; '' for nothing)",
    "observe_then_imagine": "observe_then_imagine(module, frames, actions, *, observe_K, "
                            "horizon_H) -> Imagined: the world model that `mario-rllib dream` "
                            "shows (absent: the algorithm has none)",
    "describe": "describe(config) -> str: one line `train` prints about what an iteration "
                "does, where that is not obvious (DreamerV3's ratio, World Models' stages)",
    "RULES": "{setting: rule}: what its settings allow, and the types `--set` parses them as "
             "(`rules_of(SETTINGS)`)",
    "BENCH_LEARNER": "{'full': settings, 'quick': settings}: what `mario-rllib bench learner` "
                     "builds the cpu preset with, so that an iteration takes seconds (absent: "
                     "not benched)",
    "NOT_SEARCHABLE": "{setting: why}: settings `--search` refuses beyond the env's, the "
                      "resources and lists (e.g. a setting build_config turns into a schedule)",
}
"""The optional hooks an experiment file may export, and what each is."""


def load_experiment(algo: str) -> ModuleType:
    """The experiment module for `--algo`; a one-line ValueError for an unknown name."""
    if algo not in EXPERIMENTS:
        raise ValueError(f"unknown algorithm {algo!r}: expected one of {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[algo])


def progress_fields(algo: str) -> Callable[[Mapping[str, Any]], str] | None:
    """The experiment's progress-line hook, None when it adds nothing."""
    return getattr(load_experiment(algo), "progress_fields", None)


def with_hook(name: str) -> list[str]:
    """The algorithms whose experiment file exports the optional hook `name`."""
    return [algo for algo in EXPERIMENTS if hasattr(load_experiment(algo), name)]
