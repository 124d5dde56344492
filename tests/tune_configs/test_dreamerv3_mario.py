"""The DreamerV3 experiment file: presets, what the config carries, the training-ratio line, and
that the `cpu` preset fits this machine. No Ray."""

import pytest

from custom_models.dreamer import DreamerV3Catalog
from custom_models.dreamer.algorithm import MarioDreamerV3
from custom_models.dreamer.learner import MarioDreamerV3Learner
from custom_models.dreamer.rl_module import MarioDreamerV3RLM
from mario_rllib.experiment import check_fits_this_machine, resources_per_trial
from tune_configs.dreamerv3_mario import DEFAULTS, build_config, describe

PRESET_KEYS = {"model_size", "training_ratio", "batch_size_B", "batch_length_T", "horizon_H",
               "gamma", "gae_lambda"}


def test_cpu_preset_samples_in_the_driver_and_fits_this_machine():
    config = build_config("cpu")
    assert config.num_env_runners == 0  # a few env steps per update: no runner actors to sync
    assert resources_per_trial(config) == {"CPU": 1, "GPU": 0}
    check_fits_this_machine(config, "cpu")


def test_gpu_preset_is_one_gpu_learner_of_size_s_and_cpu_runners():
    config = build_config("gpu")
    assert resources_per_trial(config) == {"CPU": 1 + 4, "GPU": 1}
    assert config.model_size == "S" and config.num_gpus_per_learner == 1
    assert (config.batch_size_B, config.batch_length_T, config.training_ratio) == (16, 64, 512)


def test_debug_preset_is_xs_with_a_tiny_batch():
    config = build_config("debug")
    assert config.model_size == "XS"
    assert config.batch_size_B * config.batch_length_T == 32
    assert config.num_env_runners == 0 and config.env_config["max_episode_steps"] == 100


def test_every_setting_the_issue_names_is_explicit():
    assert PRESET_KEYS <= set(DEFAULTS)
    config = build_config("cpu", horizon_H=10, gamma=0.99, gae_lambda=0.9)
    assert (config.horizon_H, config.gamma, config.gae_lambda) == (10, 0.99, 0.9)
    with pytest.raises(ValueError, match="unknown setting 'imagination'"):
        build_config("cpu", imagination=5)


def test_config_builds_our_pieces_on_uint8_rgb64():
    config = build_config("debug")
    assert config.algo_class is MarioDreamerV3
    assert config.learner_class is MarioDreamerV3Learner
    spec = config.get_rl_module_spec()
    assert spec.module_class is MarioDreamerV3RLM and spec.catalog_class is DreamerV3Catalog
    mario = spec.model_config["mario"]
    assert mario["algo"] == "dreamerv3" and mario["frame_stack"] == 1
    assert mario["env_config"]["obs_mode"] == "rgb64"
    # DreamerV3's own settings reach the module next to ours.
    assert spec.model_config["model_size"] == "XS" and spec.model_config["batch_length_T"] == 16


def test_describe_says_what_the_training_ratio_means():
    assert describe(build_config("cpu")).startswith(
        "training ratio 64: each env step is replayed 64 times; an update replays 8 x 32 = 256 "
        "steps, so an iteration samples about 4 env step(s) per update")
