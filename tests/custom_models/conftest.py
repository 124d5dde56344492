"""Helpers for the algorithms' tests."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def build_learner():
    """`build_learner(config, obs_shape, num_actions)`: the config's Learner, built as RLlib builds
    it, for one module on uint8 frames of `obs_shape`."""
    import gymnasium as gym
    from ray.rllib.core import DEFAULT_MODULE_ID

    def build(config, obs_shape, num_actions):
        spaces = {DEFAULT_MODULE_ID: (gym.spaces.Box(0, 255, obs_shape, np.uint8),
                                      gym.spaces.Discrete(num_actions))}
        learner = config.build_learner(env=None, spaces=spaces)
        learner.build()
        return learner

    return build
