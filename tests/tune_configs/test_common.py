"""What every experiment shares, on a real (local) Ray: the local learner's torch threads."""


import pytest
import torch

from mario_rllib.env import register_mario_envs
from mario_rllib.machine import available_cpus
from tune_configs import EXPERIMENTS, load_experiment


@pytest.mark.parametrize("algo", list(EXPERIMENTS))
def test_a_local_learner_gets_every_core_for_its_update(ray_local, algo):
    # Ray gives a 1-CPU actor one torch thread; the update runs while the env runners idle.
    register_mario_envs()
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    algorithm = load_experiment(algo).build_config("debug").build_algo()
    try:
        assert algorithm.config.num_learners == 0
        assert torch.get_num_threads() == available_cpus()
    finally:
        algorithm.stop()
        torch.set_num_threads(previous)
