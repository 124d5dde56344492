"""Fault tolerance: an emulator error in one step becomes a failed (dropped) episode and a fresh env,
not a dead experiment (the real emulator and RLlib's env runner, in this process). A killed env
runner, a lost node and `mario-rllib train` killed with SIGKILL are tested on clusters of their
own in test_submit.py."""


import gymnasium as gym
import pytest
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner
from ray.tune.registry import register_env

from mario_rllib.env import make_env, register_mario_envs
from mario_rllib.progress import format_progress
from tune_configs import EXPERIMENTS, load_experiment

FAIL_AT_STEP = 30


class EmulatorFailsOnce(gym.Wrapper):
    """Raises, as a crashed emulator call would, at one step of the first env of this process."""

    failed = False

    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps == FAIL_AT_STEP and not EmulatorFailsOnce.failed:
            EmulatorFailsOnce.failed = True
            raise RuntimeError("nes-py: emulator fault (injected by the test)")
        return self.env.step(action)


@pytest.mark.parametrize("algo", list(EXPERIMENTS))
def test_an_emulator_error_drops_the_episode_and_sampling_goes_on(algo):
    register_mario_envs()
    register_env("mario_fails_once", lambda config: EmulatorFailsOnce(make_env(config)))
    EmulatorFailsOnce.failed = False
    config = load_experiment(algo).build_config("debug", seed=0).environment("mario_fails_once")
    assert config.restart_failed_sub_environments and config.restart_failed_env_runners
    runner = SingleAgentEnvRunner(config=config)
    try:
        first_env = runner.env
        episodes = runner.sample(num_timesteps=150, random_actions=True)
        assert EmulatorFailsOnce.failed
        assert runner.env is not first_env  # recreated
        # The failed episode's steps were dropped; sampling went on to the steps asked for.
        assert sum(len(e) for e in episodes) >= 150
        for episode in episodes:
            episode.validate()
        metrics = runner.get_metrics()
        assert metrics["num_env_step_failures"] == 1
        assert runner.sample(num_timesteps=20, random_actions=True)  # still sampling
    finally:
        runner.stop()


def test_progress_line_shows_faults_only_when_there_are_some():
    result = {"training_iteration": 3, "time_this_iter_s": 2.0, "config": {"num_env_runners": 2},
              "env_runners": {"num_env_steps_sampled": 100}}
    healthy = {**result, "fault_tolerance": {"num_healthy_workers": 2}}
    assert "healthy" not in format_progress("t", healthy) and "errors" not in format_progress(
        "t", healthy)
    sick = {**result, "fault_tolerance": {"num_healthy_workers": 1},
            "env_runners": {"num_env_steps_sampled": 100, "num_env_step_failures": 3}}
    assert format_progress("t", sick).endswith(" | env runners 1/2 healthy | env errors 3")
