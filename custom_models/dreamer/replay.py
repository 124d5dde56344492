"""DreamerV3's replay buffer: RLlib's `EpisodeReplayBuffer`, holding only what DreamerV3 replays."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from ray.rllib.utils import force_list
from ray.rllib.utils.replay_buffers.episode_replay_buffer import EpisodeReplayBuffer

from custom_models.episodes import trim_for_replay


class MarioEpisodeReplayBuffer(EpisodeReplayBuffer):
    """DreamerV3's `EpisodeReplayBuffer`, holding only what DreamerV3 replays: one uint8 64x64x3
    frame (12,288 bytes), an action, a reward and flags per step.

    Besides `trim_for_replay`'s infos and spaces, it drops the model outputs RLlib's env runners
    attach to every step: DreamerV3's RSSM state (h, z, the last action) and the one-hot action,
    kilobytes a step (more at larger sizes), which RLlib's buffer keeps and DreamerV3 never
    replays (it recomputes the states from the frames). `mario-rllib bench replay` measures
    both buffers on the same episodes.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._observation_space: gym.Space | None = None

    def add(self, episodes, **kwargs: Any) -> None:
        for episode in force_list(episodes):
            self._observation_space = trim_for_replay(episode, self._observation_space)
            # Every chunk of an episode loses them, so RLlib's concatenation of a running
            # episode's chunks (which needs the same keys on both sides) still holds.
            episode.extra_model_outputs.clear()
        super().add(episodes, **kwargs)
