"""Frame stacking for RLlib's connectors: the env runners stack the last frames for the module
to act on, the learners stack the same frames of the episodes they train on. Episodes and replay
buffers keep single frames. The floor of the project, as the env: the experiments configure it,
`mario-rllib evaluate` and `play` rebuild it from a checkpoint's `mario` block."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
from ray.rllib.connectors.common.frame_stacking import FrameStacking
from ray.rllib.connectors.learner.frame_stacking import FrameStackingLearner


class ChannelFrameStackingEnvToModule(FrameStacking):
    """RLlib's `FrameStackingEnvToModule` (`FrameStacking` on env runners) for frames of any
    channel count: RLlib 2.60 stacks them along the last axis (`np.concatenate(..., axis=2)`,
    oldest first) but declares the stacked space only for one channel (it asserts
    `shape[-1] == 1`). [64, 64, 3] RGB frames stack to [64, 64, 3 x num_frames]; gray
    [84, 84, 1] ones to [84, 84, num_frames], as RLlib's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, as_learner_connector=False, **kwargs)

    def _convert_individual_space(self, obs_space):
        return gym.spaces.Box(low=np.concatenate([obs_space.low] * self.num_frames, axis=-1),
                              high=np.concatenate([obs_space.high] * self.num_frames, axis=-1),
                              dtype=obs_space.dtype)


@dataclasses.dataclass(frozen=True)
class FrameStack:
    """Connector factories that stack the last `num_frames` single frames, for the config's
    `env_to_module_connector` (env runners) and `learner_connector` (learners).

    Episodes and replay buffers keep single 84x84x1 frames; the model sees [B, 84, 84, num_frames].
    Methods of a module-level class pickle by reference, so configs and checkpoints stay small.
    """

    num_frames: int

    def env_to_module(self, env=None, spaces=None, device=None) -> FrameStacking:
        return ChannelFrameStackingEnvToModule(num_frames=self.num_frames)

    def learner(self, input_observation_space=None, input_action_space=None) -> FrameStackingLearner:
        return FrameStackingLearner(num_frames=self.num_frames)
