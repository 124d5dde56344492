"""Prioritized replay that stores single frames and samples stacked ones.

RLlib's `PrioritizedEpisodeReplayBuffer` samples an n-step transition as a two-observation episode
(o_t, o_t+n) with no lookback, so RLlib's `FrameStackingLearner` connector cannot stack it, and it
stacks only `obs`, never `new_obs` (RLlib 2.60). This subclass keeps RLlib's storage, priorities,
n-step returns and importance weights, and stacks at sampling time: for each sampled transition
it reads the `num_frames` frames ending at t and at t+n from the stored episode (zeros before the
episode's first frame, as RLlib's `FrameStackingEnvToModule` pads when acting). The buffer holds
single 84x84x1 uint8 frames; stacked copies exist only in the sampled batch.

It also anneals the importance-sampling exponent beta linearly from its initial value to 1 over
`beta_anneal_steps` agent steps added (Schaul et al. 2016, Sec. 3.4), which RLlib's buffer, given
a fixed `beta` by DQN, does not.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.algorithms.dqn import DQN
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils import force_list
from ray.rllib.utils.replay_buffers.prioritized_episode_buffer import (
    PrioritizedEpisodeReplayBuffer,
)

_NO_INFO: dict = {}  # stands in for every stored step's info dict (never read by DQN)


class StackedFramePrioritizedEpisodeReplayBuffer(PrioritizedEpisodeReplayBuffer):
    """`PrioritizedEpisodeReplayBuffer` + frame stacking at sampling time + beta annealing.

    Args:
        capacity: transitions (agent steps) to hold.
        num_frames: frames per stacked observation (the env-to-module connector's).
        beta_anneal_steps: agent steps added over which beta goes linearly to 1; None keeps the
            `beta` DQN passes to `sample()`.
        **kwargs: `PrioritizedEpisodeReplayBuffer`'s (alpha, ...).
    """

    def __init__(self, capacity: int = 10_000, *, num_frames: int = 4,
                 beta_anneal_steps: int | None = None, **kwargs: Any):
        super().__init__(capacity=capacity, **kwargs)
        self.num_frames = num_frames
        self.beta_anneal_steps = beta_anneal_steps
        self.current_beta: float | None = None
        self._observation_space: gym.Space | None = None  # shared by all stored episodes

    def add(self, episodes, **kwargs: Any) -> None:
        """Store episodes without what DQN never replays.

        Measured with `mario-rllib bench replay`: per-step info dicts cost about 0.8 KB a step,
        and each episode carries its own observation-space object, whose low/high arrays cost
        as much as 8 frames. Infos are replaced by one shared empty dict, and all episodes share
        one space object. Frames, actions, rewards and flags are kept as they are.
        """
        for episode in force_list(episodes):
            episode.infos.data = [_NO_INFO] * len(episode.infos.data)
            if episode.is_done:  # kept only to append a next chunk, which a done episode never gets
                episode._last_added_observation = episode._last_added_infos = None
            if self._observation_space is None:
                self._observation_space = episode.observation_space
            elif episode.observation_space == self._observation_space:
                episode.observation_space = self._observation_space
        super().add(episodes, **kwargs)

    def annealed_beta(self, beta: float) -> float:
        """beta at the current number of added agent steps: beta -> 1 linearly."""
        if not self.beta_anneal_steps:
            return beta
        progress = min(1.0, self.get_added_timesteps() / self.beta_anneal_steps)
        return beta + (1.0 - beta) * progress

    def sample(self, num_items: int | None = None, *, beta: float = 0.0, **kwargs: Any):
        self.current_beta = self.annealed_beta(beta)
        # Reported with the buffer's own metrics (under `replay_buffer/` in results).
        self.metrics.log_value("beta", self.current_beta, reduce="mean", window=1)
        self.metrics.log_value("stored_transitions", self.get_num_timesteps(), reduce="mean",
                               window=1)
        self.metrics.log_value("stored_frame_bytes", self.stored_frame_bytes(), reduce="mean",
                               window=1)
        sampled = super().sample(num_items, beta=self.current_beta, **kwargs)
        return [self._stacked(episode, tree_idx)
                for episode, tree_idx in zip(sampled, self._last_sampled_indices, strict=True)]

    def stored_frame_bytes(self) -> int:
        """Bytes of the stored frames: nearly all the buffer holds (see `mario-rllib bench replay`
        for the rest)."""
        return sum(episode.observations.data.nbytes for episode in self.episodes
                   if isinstance(episode.observations.data, np.ndarray))

    def stack(self, episode: SingleAgentEpisode, t: int) -> np.ndarray:
        """The `num_frames` frames ending at step t of a stored episode, on the last axis."""
        frames = [episode.get_observations(i) if i >= 0 else None
                  for i in range(t - self.num_frames + 1, t + 1)]
        blank = np.zeros_like(frames[-1])
        return np.concatenate([blank if f is None else f for f in frames], axis=-1)

    def _stacked(self, sampled: SingleAgentEpisode, tree_idx: int) -> SingleAgentEpisode:
        # Where this transition lives in the buffer (as the parent's sample() looks it up).
        episode_idx, t = self._indices[self._tree_idx_to_sample_idx[tree_idx]][:2]
        source = self.episodes[episode_idx - self._num_episodes_evicted]
        n_step = int(sampled.get_extra_model_outputs("n_step", 0))
        obs_t, obs_tn = self.stack(source, t), self.stack(source, t + n_step)
        return SingleAgentEpisode(
            observations=[obs_t, obs_tn],
            observation_space=gym.spaces.Box(0, 255, obs_t.shape, obs_t.dtype),
            actions=[sampled.get_actions(0)],
            action_space=sampled.action_space,
            rewards=[sampled.get_rewards(0)],
            terminated=sampled.is_terminated,
            truncated=sampled.is_truncated,
            extra_model_outputs={key: [sampled.get_extra_model_outputs(key, 0)]
                                 for key in sampled.extra_model_outputs},
            len_lookback_buffer=0,
            t_started=sampled.t_started,
        )


class StackedReplayDQN(DQN):
    """RLlib's DQN, able to build a replay buffer given as a class of ours.

    Under Tune, RLlib 2.60 turns a `replay_buffer_config["type"]` class path into the class
    (`AlgorithmConfig.update_from_dict`), then tests `"EpisodeReplayBuffer" in type`, which raises
    TypeError for a class. This turns the class back into its path (which names an
    `...EpisodeReplayBuffer`) before RLlib builds the buffer. Nothing else differs from DQN.
    """

    def _create_local_replay_buffer_if_necessary(self, config):
        buffer_type = (config.get("replay_buffer_config") or {}).get("type")
        if isinstance(buffer_type, type):
            config["replay_buffer_config"]["type"] = (
                f"{buffer_type.__module__}.{buffer_type.__qualname__}"
            )
        return super()._create_local_replay_buffer_if_necessary(config)
