"""The PPO experiment file: presets compose, overrides validate, the config carries what evaluate
needs, and the `cpu` preset fits this machine. No Ray."""


import pytest

from custom_models.ppo.rl_module import MarioActorCriticRLM
from mario_rllib.experiment import resources_per_trial
from tune_configs import load_experiment
from tune_configs.common import RESOURCE_PRESETS, resolve_settings
from tune_configs.ppo_mario import DEFAULTS, PRESETS, STOP, build_config


def test_gpu_preset_asks_for_one_gpu_learner():
    config = build_config("gpu")
    assert resources_per_trial(config) == {"CPU": 1 + 16, "GPU": 1}


def test_presets_compose_left_to_right():
    gpu_debug = resolve_settings(DEFAULTS, PRESETS, "gpu,debug", {})
    assert gpu_debug["gpus_per_learner"] == 1 and gpu_debug["num_learners"] == 1  # from gpu
    assert gpu_debug["train_batch_size"] == 128 and gpu_debug["num_env_runners"] == 0  # debug
    debug_gpu = resolve_settings(DEFAULTS, PRESETS, ["debug", "gpu"], {})
    assert debug_gpu["train_batch_size"] == 4096 and debug_gpu["num_env_runners"] == 16


def test_overrides_win_and_none_lifts_a_presets_limit():
    settings = resolve_settings(DEFAULTS, PRESETS, "debug", {"lr": 3e-4})
    assert settings["lr"] == 3e-4 and settings["max_episode_steps"] == 100  # the debug preset's
    assert resolve_settings(DEFAULTS, PRESETS, "debug", {"max_episode_steps": None})[
        "max_episode_steps"] is None
    assert settings["num_env_runners"] == RESOURCE_PRESETS["debug"]["num_env_runners"]


@pytest.mark.parametrize("kwargs, message", [
    ({"preset": "tpu"}, r"^unknown preset 'tpu': expected one or more \(comma-separated, applied "
                        r"left to right\) of debug, cpu, gpu$"),
    ({"learning_rate": 1.0}, r"^unknown setting 'learning_rate': expected one of "),
    ({"levels": "9-1"}, r"^unknown level '9-1'"),
])
def test_bad_settings_are_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_config(**kwargs)


def test_config_wires_env_model_connectors_and_hyperparameters():
    config = build_config("debug", levels="1-2", lr=2e-4, seed=7)
    assert config.env == "mario"
    assert config.env_config["levels"] == "1-2" and config.env_config["obs_mode"] == "gray84"
    assert config.env_config["reward_shaping"] == "scale"
    assert (config.lr, config.gamma, config.lambda_, config.clip_param) == (2e-4, 0.9, 1.0, 0.2)
    assert config.seed == 7 and config.num_env_runners == 0
    spec = config.get_rl_module_spec()  # what env runners and learners build the module from
    assert spec.module_class is MarioActorCriticRLM
    assert spec.model_config["mario"] == {"algo": "ppo", "env_config": config.env_config,
                                          "frame_stack": 4}
    assert config._env_to_module_connector().num_frames == 4
    assert config._learner_connector().num_frames == 4
    assert config.callbacks_class.__name__ == "MarioMetricsCallback"
    assert config.restart_failed_env_runners
    assert config.episode_lookback_horizon == 3  # frames before a chunk's start, for stacking


def test_lr_anneals_linearly_to_zero_over_the_given_agent_steps():
    assert build_config("debug").lr == 1e-4  # uvipen: constant
    assert build_config("debug", lr=2.5e-4, lr_anneal_steps=30_000).lr == [[0, 2.5e-4],
                                                                           [30_000, 0.0]]


def test_registry_and_stop():
    assert load_experiment("ppo").build_config is build_config
    assert STOP == {"env_runners/num_env_steps_sampled_lifetime": 5_000_000}
    with pytest.raises(ValueError, match=r"^unknown algorithm 'sac': expected one of ppo"):
        load_experiment("sac")
