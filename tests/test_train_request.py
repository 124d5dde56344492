"""What `mario-rllib train` makes of its flags, before Ray: `--set` by each setting's type, a
`--search` checked by the variants Tune generates from it, the env flags, `--print-config`, and
the CPUs the trials share. No Ray, no training."""

from __future__ import annotations

import dataclasses

import pytest
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.tune.search.variant_generator import generate_variants

from mario_rllib import cli
from mario_rllib.env import ENV_OPTIONS, MarioEnvConfig
from mario_rllib.experiment import TrainRequest, build_param_space, learner_threads
from mario_rllib.machine import available_cpus
from tune_configs import EXPERIMENTS, load_experiment
from tune_configs.common import experiment_setting_types
from tune_configs.settings import RESOURCES, parse_value


def variants(request: TrainRequest) -> list[AlgorithmConfig]:
    """The configs of the trials Tune would run: Tune's own variant generator on the param
    space, each turned back into a config as RLlib does on the trial's side."""
    experiment, config = build_param_space(request)
    return [type(config).from_dict(variant) for _, variant in generate_variants(config.to_dict())]


@pytest.mark.parametrize("algo, name, text, value", [
    ("dqn", "double_q", "False", False),  # was the truthy string 'False'
    ("dqn", "compress_frames", "false", False),
    ("dqn", "double_q", "true", True),
    ("ppo", "max_episode_steps", "none", None),  # lifts the debug preset's 100
    ("ppo", "max_episode_steps", "500", 500),
    ("ppo", "lr", "3e-4", 3e-4),
    ("ppo", "num_epochs", "4", 4),
    ("ppo", "train_batch_size", "4_096", 4096),
    ("ppo", "num_cpus_per_env_runner", "0.5", 0.5),  # an int in one preset, a float in another
    ("ppo", "num_cpus_per_env_runner", "2", 2),
    ("ppo", "levels", "1-1,4-1", "1-1,4-1"),
    ("ppo", "reward_shaping", "none", "none"),  # a text setting: 'none' is its value
    ("dqn", "epsilon", "[[0, 1.0], [100000, 0.05]]", [[0, 1.0], [100000, 0.05]]),
])
def test_set_parses_by_the_settings_type(algo, name, text, value):
    experiment = load_experiment(algo)
    types = experiment_setting_types(experiment)
    parsed = parse_value(name, text, types)
    assert parsed == value and type(parsed) is type(value)


def test_set_reaches_the_config():
    config = build_param_space(TrainRequest(
        algo="dqn", preset="debug", sets=["double_q=False", "max_episode_steps=none",
                                          "compress_frames=false"]))[1]
    assert config.double_q is False
    assert config.env_config["max_episode_steps"] is None
    assert config.replay_buffer_config["compress_frames"] is False


def test_env_flags_reach_the_env_and_the_module_config():
    config = build_param_space(TrainRequest(preset="debug", overrides={
        "action_set": "complex", "frame_skip": "2", "noop_max": "0",
        "sticky_action_prob": "0.25", "max_episode_steps": "none",
        "reward_shaping": "flag_bonus,scale"}))[1]
    env = {"action_set": "complex", "frame_skip": 2, "noop_max": 0, "sticky_action_prob": 0.25,
           "max_episode_steps": None, "reward_shaping": "flag_bonus,scale"}
    assert {key: config.env_config[key] for key in env} == env
    assert config.model_config["mario"]["env_config"] == config.env_config


@pytest.mark.parametrize("algo", list(EXPERIMENTS))
def test_every_env_option_is_declared_once_and_reaches_every_command(algo):
    """`MarioEnvConfig` declares each env option (flag, meaning, default): `play` gets a flag
    per option, `train` one per option the experiments set, and every experiment takes each
    of those as a setting that goes to its env config."""
    options = {option.name: option for option in ENV_OPTIONS}
    assert set(options) == {field.name for field in dataclasses.fields(MarioEnvConfig)} - {
        "render_mode"}
    flags = {subcommand: {action.dest: action for action in parser._actions}
             for subcommand, parser in _subparsers().items() if subcommand in ("play", "train")}
    for option in ENV_OPTIONS:
        dest = option.flag[2:].replace("-", "_")
        assert option.meaning in flags["play"][dest].help
        assert (dest in flags["train"]) is option.setting, option.flag
    experiment = load_experiment(algo)
    settings = {name for name, option in options.items() if option.setting}
    space = build_param_space(TrainRequest(algo=algo, preset="debug"))[1]
    assert settings <= set(space.env_config)  # obs_mode: the experiment's own
    types = experiment_setting_types(experiment)
    assert settings <= set(types)


def _subparsers() -> dict:
    import argparse

    (action,) = [a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return action.choices


def test_a_search_over_the_module_reaches_every_trials_module():
    """`--search encoder=nature,impala`: the value used to sit in an RLModuleSpec, where Tune's
    variant generator does not look, and every trial failed."""
    configs = variants(TrainRequest(preset="debug", search=["encoder=nature,impala",
                                                            "lr=1e-4,3e-4"], num_samples=2))
    points = sorted((c.get_rl_module_spec().model_config["encoder"], c.lr, c.seed)
                    for c in configs)
    assert points == sorted((e, lr, s) for e in ("nature", "impala") for lr in (1e-4, 3e-4)
                            for s in (0, 1))
    for config in configs:  # the rest of what evaluate needs travels with every trial
        assert config.get_rl_module_spec().model_config["mario"]["frame_stack"] == 4


def test_a_search_over_dqns_replay_and_intensity():
    configs = variants(TrainRequest(algo="dqn", preset="debug",
                                    search=["compress_frames=true,false", "n_step=1,3"]))
    assert sorted((c.replay_buffer_config["compress_frames"], c.n_step) for c in configs) == [
        (False, 1), (False, 3), (True, 1), (True, 3)]


def test_print_config_names_what_set_each_setting(capsys):
    assert cli.main(["train", "--algo", "dqn", "--preset", "debug", "--action-set", "complex",
                     "--set", "double_q=false", "--search", "lr=1e-4,3e-4",
                     "--print-config"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["action_set"].split()[1:5] == ["'complex'", "flag", "or", "--set"]
    assert lines["double_q"].split()[1:5] == ["False", "flag", "or", "--set"]
    assert lines["train_batch_size"].split()[1:4] == ["16", "preset", "debug"]
    assert lines["gamma"].split()[1:3] == ["0.9", "default"]
    assert " --search " in lines["lr"]
    # each with its one-line meaning, as declared (the experiment's, a resource's, the env's)
    experiment = load_experiment("dqn")
    assert lines["double_q"].endswith(experiment.SETTINGS["double_q"].meaning)
    assert lines["num_env_runners"].endswith(RESOURCES["num_env_runners"].meaning)
    assert lines["frame_skip"].endswith(
        next(o.meaning for o in ENV_OPTIONS if o.name == "frame_skip"))
    assert "RLlib's DQNConfig, where it differs from RLlib's defaults:" in out
    assert "  double_q: False" in out


def test_the_cpus_are_rays_count():
    import ray._private.utils

    assert available_cpus() == int(ray._private.utils.get_num_cpus())


def test_a_container_quota_caps_the_cpus(tmp_path):
    (tmp_path / "cpu.max").write_text("100000 100000\n")  # cgroup v2: one CPU's worth
    assert available_cpus(str(tmp_path)) == 1
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert available_cpus(str(tmp_path)) == available_cpus()


@pytest.mark.parametrize("preset, trials", [("cpu", 1), ("cpu", 4), ("debug", 1), ("debug", 4)])
def test_trials_that_run_at_once_share_the_cpus_for_their_learners(preset, trials):
    config = load_experiment("ppo").build_config(preset)
    threads = learner_threads(config, trials)
    cpus = available_cpus()
    per_trial = 1 + config.num_env_runners * config.num_cpus_per_env_runner
    at_once = max(1, min(trials, int(cpus // per_trial)))
    assert threads == max(1, cpus // at_once)
    assert threads * at_once <= max(cpus, at_once)


@pytest.mark.parametrize("algo, name, text, value", [
    ("ppo", "gpus_per_learner", "0.5", 0.5),  # examples are 0 and 1; the rule allows fractions
    ("ppo", "gpus_per_learner", "1", 1),
    ("dqn", "epsilon", "0.1", 0.1),  # a constant epsilon, not only a schedule
    ("dreamerv3", "training_ratio", "128.5", 128.5),
])
def test_a_settings_declared_type_wins_over_its_examples(algo, name, text, value):
    experiment = load_experiment(algo)
    types = experiment_setting_types(experiment)
    assert parse_value(name, text, types) == value
