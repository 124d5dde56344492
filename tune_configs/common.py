"""What every Mario experiment shares: presets for resources, the env, connectors, callbacks.

An experiment file (e.g. `ppo_mario.py`) holds its algorithm's hyperparameters in a flat `DEFAULTS`
dict and its `PRESETS`; `resolve_settings` merges, left to right, the defaults, the named presets
(`"cpu"`, `"gpu,debug"`, ...) and explicit overrides (the CLI's flags), and `apply_common` turns the
shared part of the result into config calls. Nothing here parses flags or starts Ray.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from mario_rllib.env import ENV_OPTIONS, RAY_ENV_NAME, MarioEnvConfig
from mario_rllib.env.connectors import ChannelFrameStackingEnvToModule, FrameStack  # noqa: F401
from mario_rllib.machine import (  # noqa: F401
    LocalLearnerThreads,
    available_cpus,
    local_learner_uses_every_core,
)
from mario_rllib.metrics import (
    STATS_CLS_LOOKUP,
    MarioMetricsCallback,
    restore_configured_learning_rates,
)

# Experiments and checkpoints saved before these moved to the floor (2026-12-04) pickled them
# by this module's path: they must still resolve here.
from tune_configs import PRESET_NAMES
from tune_configs.settings import (
    COMMON_RULES,
    RESOURCES,
    Rule,
    check_settings,
    defaults_of,
    setting_types,
)

SAMPLE_TIMEOUT_S = 600.0


def _cpu_runners() -> dict[str, Any]:
    """Use every core of this machine for sampling, and leave the trial's driver its one CPU.

    Under Tune the Algorithm actor (the driver, with the local learner) holds 1 CPU, so N runners
    of 1 CPU each never fit N cores: the trial stays PENDING forever. N runners of (N-1)/N CPU each
    fit exactly. PPO samples and learns in turns, so the runners and the learner seldom compete.
    """
    cores = available_cpus()
    if cores < 2:  # one core: sample in the driver itself
        return {"num_env_runners": 0, "num_cpus_per_env_runner": 1}
    return {"num_env_runners": cores, "num_cpus_per_env_runner": (cores - 1) / cores}


BASE_RESOURCES: dict[str, Any] = defaults_of(RESOURCES)
"""Resources before any preset: one env runner, the learner in the trial's driver process."""

# Resource presets, shared by all algorithms; an experiment's own PRESETS add to them.
RESOURCE_PRESETS: dict[str, dict[str, Any]] = {
    # Seconds on a CPU: sample in the driver (no env-runner actors to start), tiny episodes. It
    # leaves learners alone, so "gpu,debug" is a quick check of a GPU learner.
    "debug": {"num_env_runners": 0, "envs_per_runner": 1, "max_episode_steps": 100},
    # A laptop: one env runner per core, the learner in the driver. 16 envs per runner: one
    # batched inference and one pass of the connectors for 16 env steps, which keeps sampling
    # closest to the raw emulator's speed (measured: docs/performance.md).
    "cpu": {**_cpu_runners(), "envs_per_runner": 16, "num_learners": 0, "gpus_per_learner": 0},
    # One GPU learner and many CPU env runners (a `ray up` cluster or a GPU workstation).
    "gpu": {"num_env_runners": 16, "envs_per_runner": 2, "num_cpus_per_env_runner": 1,
            "num_learners": 1, "gpus_per_learner": 1},
}

ENV_KEYS = tuple(option.name for option in ENV_OPTIONS if option.setting)
"""Settings that go to the env config: the env options of `MarioEnvConfig` (`obs_mode` is fixed
by each experiment)."""

BASE_ENV: dict[str, Any] = {option.name: option.default
                            for option in ENV_OPTIONS if option.setting}
"""Every env setting at `MarioEnvConfig`'s default, under an experiment's own `DEFAULTS`."""


def parse_presets(presets: str | list[str] | tuple[str, ...]) -> list[str]:
    names = presets.split(",") if isinstance(presets, str) else list(presets)
    names = [name.strip() for name in names if name.strip()]
    for name in names:
        if name not in PRESET_NAMES:
            raise ValueError(
                f"unknown preset {name!r}: expected one or more (comma-separated, applied left "
                f"to right) of {', '.join(PRESET_NAMES)}"
            )
    return names


def resolve_settings(defaults: Mapping[str, Any], presets: Mapping[str, Mapping[str, Any]],
                     names: str | list[str], overrides: Mapping[str, Any],
                     rules: Mapping[str, Rule] | None = None) -> dict[str, Any]:
    """defaults <- each named preset (resource part, then the experiment's part) <- overrides
    (None is a value: `max_episode_steps=None` lifts a preset's limit), each value checked by
    the common rules and the experiment's own `rules`."""
    return resolve_settings_with_sources(defaults, presets, names, overrides, rules)[0]


def resolve_settings_with_sources(
        defaults: Mapping[str, Any], presets: Mapping[str, Mapping[str, Any]],
        names: str | list[str], overrides: Mapping[str, Any],
        rules: Mapping[str, Rule] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """`resolve_settings`, and for each setting what set it: 'default', 'preset NAME' or
    'override' (a flag or `--set`)."""
    settings = {**BASE_RESOURCES, **BASE_ENV, **defaults}
    sources = dict.fromkeys(settings, "default")
    for name in parse_presets(names):
        for part in (RESOURCE_PRESETS[name], presets.get(name, {})):
            settings.update(part)
            sources.update(dict.fromkeys(part, f"preset {name}"))
    for key, value in overrides.items():
        if key not in settings:
            raise ValueError(
                f"unknown setting {key!r}: expected one of {', '.join(sorted(settings))}"
            )
        settings[key] = value
        sources[key] = "flag or --set"
    check_settings(settings, rules)
    return settings, sources


def experiment_setting_types(experiment: Any) -> dict[str, set]:
    """The types each setting of an experiment (file) takes: its rule's (the common rules and
    the experiment's own `RULES`), else those of the values it gives it (`tune_configs.settings`)."""
    types = setting_types(BASE_RESOURCES, BASE_ENV, RESOURCE_PRESETS.values(),
                          experiment.DEFAULTS, experiment.PRESETS.values())
    for name, (_, _, kinds) in {**COMMON_RULES, **getattr(experiment, "RULES", {})}.items():
        if name in types:
            types[name] = set(kinds)
    return types


def env_config(settings: Mapping[str, Any], obs_mode: str) -> dict[str, Any]:
    """The env config of an experiment, validated now (bad levels fail before Ray starts)."""
    values = {key: settings[key] for key in ENV_KEYS if key in settings}
    return MarioEnvConfig(obs_mode=obs_mode, **values).to_dict()


def apply_common(config: AlgorithmConfig, settings: Mapping[str, Any], *, algo: str,
                 module_class: type, obs_mode: str, frame_stack: int,
                 **spec_kwargs: Any) -> AlgorithmConfig:
    """Env, env runners (with the acting frame stack), our RLModule (`with_mario_module`),
    learners, metrics callback, fault tolerance and seed for any algorithm.

    A learner-side frame stack (PPO's `FrameStack.learner`) or a stacking replay buffer (DQN's)
    is the experiment's.
    """
    config = with_mario_module(config, module_class, settings, obs_mode=obs_mode,
                               frame_stack=frame_stack, algo=algo, **spec_kwargs)
    if frame_stack > 1:
        config = config.env_runners(
            env_to_module_connector=FrameStack(frame_stack).env_to_module)
    return (
        config
        .environment(RAY_ENV_NAME, env_config=env_config(settings, obs_mode))
        .env_runners(
            # Each sample() call cuts the running episodes and keeps this many past steps in
            # the next chunk's lookback buffer. Frame stacking reads the frames before t from
            # there, on the env runner (the next action) and in the learner connector (PPO):
            # with RLlib's default of 1, the stacks of a chunk's first steps were zero-filled
            # mid-episode. With frame_stack - 1, only an episode's first steps are padded.
            episode_lookback_horizon=max(1, frame_stack - 1),
            num_env_runners=settings["num_env_runners"],
            num_envs_per_env_runner=settings["envs_per_runner"],
            num_cpus_per_env_runner=settings["num_cpus_per_env_runner"],
            # RLlib's default (60 s) drops a sample request that takes longer, and the iteration
            # then trains on nothing: 1,024 PPO steps per runner take 30 s on a free 2-core
            # machine and over 60 s on a busy one. A dead runner is caught by fault tolerance,
            # not by this timeout.
            sample_timeout_s=SAMPLE_TIMEOUT_S,
        )
        .learners(
            num_learners=settings["num_learners"],
            num_gpus_per_learner=settings["gpus_per_learner"],
        )
        .callbacks(MarioMetricsCallback, on_algorithm_init=LocalLearnerThreads(),
                   on_checkpoint_loaded=restore_configured_learning_rates)
        # Our episode metrics' window spans sample calls and env runners (mario_rllib/metrics.py).
        .reporting(custom_stats_cls_lookup=STATS_CLS_LOOKUP)
        # An env that raises (e.g. an emulator error) is recreated and its episode dropped,
        # counted in `env_runners/num_env_step_failures`; an env runner that dies (a crashed
        # emulator process, a lost node) is restarted. Training goes on in both cases.
        .fault_tolerance(restart_failed_env_runners=True,
                         restart_failed_sub_environments=True)
        .debugging(seed=settings["seed"])
    )


def with_mario_module(config: AlgorithmConfig, module_class: type, settings: Mapping[str, Any], *,
                      obs_mode: str, frame_stack: int, algo: str,
                      **spec_kwargs: Any) -> AlgorithmConfig:
    """Plug in one of our modules. Its settings go to the config's `model_config` (RLlib hands
    it to the module, merged with the algorithm's own), where Tune's grid search can reach them,
    unlike an `RLModuleSpec`'s: the torso (`encoder`, where the experiment has one) and, under
    `mario`, what an RLModule checkpoint must carry to be evaluated on its own: the algorithm,
    the env config, the frame stack and, for an epsilon-greedy learner, the epsilon of
    `evaluate --stochastic`. `mario-rllib evaluate` rebuilds the env and connectors from it.
    `spec_kwargs` go to the spec (e.g. `catalog_class`)."""
    torso = {"encoder": settings["encoder"]} if "encoder" in settings else {}
    epsilon = ({"evaluation_epsilon": settings["evaluation_epsilon"]}
               if "evaluation_epsilon" in settings else {})
    return config.rl_module(
        rl_module_spec=RLModuleSpec(module_class=module_class, **spec_kwargs),
        model_config={
            **torso,
            "mario": {"algo": algo, "env_config": env_config(settings, obs_mode),
                      "frame_stack": frame_stack, **epsilon},
        },
    )
