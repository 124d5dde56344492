"""The World Models and latent DQN experiment files: presets, what the configs carry, and that
the `cpu` presets fit this machine. No Ray."""

from custom_models.dqn.dqn import StackedReplayDQN
from custom_models.latent_dqn.learner import LatentDQNLearner
from custom_models.latent_dqn.rl_module import LatentDuelingQRLM
from custom_models.worldmodels.algorithm import WorldModels
from custom_models.worldmodels.learner import WorldModelsLearner
from custom_models.worldmodels.rl_module import WorldModelsRLM
from mario_rllib.experiment import check_fits_this_machine, resources_per_trial
from tune_configs import dqn_mario, latent_dqn_mario, worldmodels_mario


def test_worldmodels_presets():
    cpu = worldmodels_mario.build_config("cpu")
    check_fits_this_machine(cpu, "cpu")
    assert cpu.num_envs_per_env_runner == 1 and cpu.es_population == 16
    gpu = worldmodels_mario.build_config("gpu")
    assert resources_per_trial(gpu) == {"CPU": 1 + 16, "GPU": 1}
    assert (gpu.es_population, gpu.collect_episodes, gpu.num_envs_per_env_runner) == (64, 2000, 1)
    debug = worldmodels_mario.build_config("debug")
    assert debug.num_env_runners == 2 and resources_per_trial(debug) == {"CPU": 2, "GPU": 0}
    assert debug.env_config["max_episode_steps"] == 100


def test_worldmodels_config_builds_our_pieces_on_rgb64():
    config = worldmodels_mario.build_config("debug", es_in_dream=True, dream_temperature=1.0)
    assert config.algo_class is WorldModels and config.learner_class is WorldModelsLearner
    assert (config.es_in_dream, config.dream_temperature) == (True, 1.0)
    spec = config.get_rl_module_spec()
    assert spec.module_class is WorldModelsRLM
    mario = spec.model_config["mario"]
    assert mario["algo"] == "worldmodels" and mario["env_config"]["obs_mode"] == "rgb64"
    assert "collect 2 random episodes" in worldmodels_mario.describe(config)
    assert "scored in M's dream by 2 env runner(s)" in worldmodels_mario.describe(config)


def test_latent_dqn_is_dqn_on_rgb_latents_with_its_own_settings():
    config = latent_dqn_mario.build_config("cpu")
    check_fits_this_machine(config, "cpu")
    dqn = dqn_mario.build_config("cpu")
    assert config.algo_class is StackedReplayDQN and config.learner_class is LatentDQNLearner
    assert config.get_rl_module_spec().module_class is LatentDuelingQRLM
    # DQN's settings, but one-step transitions for the dynamics model.
    for name in ("lr", "gamma", "train_batch_size_per_learner",
                 "num_steps_sampled_before_learning_starts", "target_network_update_freq"):
        assert getattr(config, name) == getattr(dqn, name), name
    # Half of its updates are the world model's: twice DQN's replay, in DQN's 3-step calls.
    assert config.training_intensity == 2 * dqn.training_intensity
    assert config.get_rollout_fragment_length() == dqn.get_rollout_fragment_length() == 3
    assert dqn.n_step == 3 and config.n_step == 1
    model = config.model_config
    assert model["latent"] == {"phase_updates": 1000, "world_model_lr": 1e-4}
    assert model["mario"]["env_config"]["obs_mode"] == "rgb64"
    assert model["mario"]["frame_stack"] == 4 and model["mario"]["evaluation_epsilon"] == 0.05
    assert latent_dqn_mario.build_config("debug").model_config["latent"]["phase_updates"] == 3
