"""One experiment file per algorithm; `EXPERIMENTS` maps `--algo` names to them.

Each file exposes `ALGO`, `DEFAULTS`, `PRESETS`, `STOP` and
`build_config(preset=..., **overrides) -> AlgorithmConfig`, and parses no flags on import.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXPERIMENTS = {
    "ppo": "tune_configs.ppo_mario",
    "dqn": "tune_configs.dqn_mario",
    "dreamerv3": "tune_configs.dreamerv3_mario",
    "worldmodels": "tune_configs.worldmodels_mario",
    "latent_dqn": "tune_configs.latent_dqn_mario",
}

PRESET_NAMES = ("debug", "cpu", "gpu")
"""Presets every experiment understands (see `tune_configs.common.RESOURCE_PRESETS`)."""


def load_experiment(algo: str) -> ModuleType:
    """The experiment module for `--algo`; a one-line ValueError for an unknown name."""
    if algo not in EXPERIMENTS:
        raise ValueError(f"unknown algorithm {algo!r}: expected one of {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[algo])
