"""DQN's replay buffer: prioritized replay that stores single frames and samples stacked ones.

RLlib's `PrioritizedEpisodeReplayBuffer` samples an n-step transition as a two-observation episode
(o_t, o_t+n) with no lookback, so RLlib's `FrameStackingLearner` connector cannot stack it, and it
stacks only `obs`, never `new_obs` (RLlib 2.60). This subclass keeps RLlib's storage, priorities,
n-step returns and importance weights, and stacks at sampling time: for each sampled transition
it reads the `num_frames` frames ending at t and at t+n from the stored episode (zeros before the
episode's first frame, as RLlib's `FrameStackingEnvToModule` pads when acting). The buffer holds
single 84x84x1 uint8 frames; stacked copies exist only in the sampled batch.

Frames are stored LZ4-compressed, one frame at a time (`compress_frames`, on by default): Mario's
flat sky and ground compress well, and decompressing a batch's frames costs little next to a
learner update. `mario-rllib bench replay` measures both layouts in the same run (docs/dqn.md).

It also anneals the importance-sampling exponent beta linearly from its initial value to 1 over
`beta_anneal_steps` agent steps added (Schaul et al. 2016, Sec. 3.4), which RLlib's buffer, given
a fixed `beta` by DQN, does not.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import lz4.block
import numpy as np
from ray.rllib.core import DEFAULT_AGENT_ID, DEFAULT_MODULE_ID
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils import force_list
from ray.rllib.utils.replay_buffers.prioritized_episode_buffer import (
    PrioritizedEpisodeReplayBuffer,
)

from custom_models.episodes import trim_for_replay


class StackedFramePrioritizedEpisodeReplayBuffer(PrioritizedEpisodeReplayBuffer):
    """`PrioritizedEpisodeReplayBuffer` + frame stacking at sampling time + beta annealing.

    Args:
        capacity: transitions (agent steps) to hold.
        num_frames: frames per stacked observation (the env-to-module connector's).
        beta_anneal_steps: agent steps added over which beta goes linearly to 1; None keeps the
            `beta` DQN passes to `sample()`.
        compress_frames: store each frame LZ4-compressed (bytes) instead of as an array.
        **kwargs: `PrioritizedEpisodeReplayBuffer`'s (alpha, ...).
    """

    def __init__(self, capacity: int = 10_000, *, num_frames: int = 4,
                 beta_anneal_steps: int | None = None, compress_frames: bool = True,
                 **kwargs: Any):
        super().__init__(capacity=capacity, **kwargs)
        self.num_frames = num_frames
        self.beta_anneal_steps = beta_anneal_steps
        self.compress_frames = compress_frames
        self._frame_shape: tuple[int, ...] | None = None
        self._stacked_space: gym.spaces.Box | None = None  # built once: a Box costs ~0.2 ms
        self._stored_frame_bytes = 0  # updated by add(), logged by sample()
        self._frame_bytes: dict[tuple[str, int], int] = {}  # (episode id, length) -> frame bytes
        self.current_beta: float | None = None
        self.lifetime_env_steps: int | None = None  # set by the algorithm, see annealed_beta
        self._observation_space: gym.Space | None = None  # shared by all stored episodes

    def add(self, episodes, **kwargs: Any) -> None:
        """Store episodes without what DQN never replays (see `trim_for_replay`), frames
        compressed if asked."""
        for episode in force_list(episodes):
            self._observation_space = trim_for_replay(episode, self._observation_space)
            if self.compress_frames:
                self._compress_observations(episode)
        super().add(episodes, **kwargs)
        self._stored_frame_bytes = self.stored_frame_bytes()

    def _compress_observations(self, episode: SingleAgentEpisode) -> None:
        """Replace an episode chunk's frames (lookback included) by an object array of LZ4 blocks.

        It stays a finalized numpy buffer, so RLlib's own code that slices, concatenates (the next
        chunk of a running episode) and compares boundary observations works on it unchanged:
        equal frames compress to equal bytes.
        """
        buffer = episode.observations
        frames = buffer.data if buffer.finalized else np.stack(buffer.data)
        if frames.dtype == object:  # already compressed (an episode added twice)
            return
        self._frame_shape = frames.shape[1:]
        packed = np.empty(len(frames), dtype=object)
        packed[:] = [lz4.block.compress(frame.tobytes()) for frame in frames]
        buffer.data, buffer.finalized = packed, True

    def _frame(self, stored) -> np.ndarray:
        if isinstance(stored, bytes):
            return np.frombuffer(lz4.block.decompress(stored), np.uint8).reshape(self._frame_shape)
        return stored

    def annealed_beta(self, beta: float) -> float:
        """beta at the current agent step: beta -> 1 linearly over `beta_anneal_steps`.

        The step is the trial's lifetime env steps when the algorithm sets `lifetime_env_steps`
        (so a resumed trial goes on where it stopped, with a refilled buffer), else the steps
        added to this buffer."""
        if not self.beta_anneal_steps:
            return beta
        steps = max(self.get_added_timesteps(), self.lifetime_env_steps or 0)
        progress = min(1.0, steps / self.beta_anneal_steps)
        return beta + (1.0 - beta) * progress

    def sample(self, num_items: int | None = None, *, batch_size_B: int | None = None,
               n_step: int | tuple[int, int] | None = None, beta: float = 0.0,
               gamma: float = 0.99, **kwargs: Any) -> list[SingleAgentEpisode]:
        """Sample n-step transitions in proportion to their priorities, with stacked frames.

        As RLlib's `PrioritizedEpisodeReplayBuffer.sample` (the same sum tree, importance
        weights and n-step discounting, and a two-observation episode per transition), except:
          - near the end of a finished episode, where fewer than n steps follow t, the transition
            takes the k = len - t steps there are: rewards discounted over k steps and
            `n_step` = k, so the learner bootstraps with gamma**k (and not at all from a
            terminal state). RLlib's skips those starts, so the steps before every death or
            flag were never learned from. Only an episode still running skips them, until its
            next steps arrive;
          - o_t and o_t+k are stacks of `num_frames` frames (see `stack`);
          - each transition keeps its episode's id, and `t_started` is its step in the episode.
        Other keyword arguments of DQN's call (sequence lengths for stateful modules) are
        ignored: our modules are not stateful.
        """
        batch_size_B = num_items or batch_size_B or self.batch_size_B
        self.current_beta = beta = self.annealed_beta(beta)
        # Reported with the buffer's own metrics (under `replay_buffer/` in results).
        self.metrics.log_value("beta", beta, reduce="mean", window=1)
        self.metrics.log_value("stored_transitions", self.get_num_timesteps(), reduce="mean",
                               window=1)
        self.metrics.log_value("stored_frame_bytes", self._stored_frame_bytes, reduce="mean",
                               window=1)
        total = self._sum_segment.sum()
        num_stored = self.get_num_timesteps()
        max_weight = (self._min_segment.min() / total * num_stored) ** (-beta)
        sampled: list[SingleAgentEpisode] = []
        self._last_sampled_indices = []
        episodes, steps, n_steps, resamples = set(), set(), [], 0
        while len(sampled) < batch_size_B:
            tree_idx = self._sum_segment.find_prefixsum_idx(self.rng.random() * total)
            episode_idx, t = self._indices[self._tree_idx_to_sample_idx[tree_idx]][:2]
            episode = self.episodes[episode_idx - self._num_episodes_evicted]
            n = (int(self.rng.integers(n_step[0], n_step[1])) if isinstance(n_step, tuple)
                 else n_step or 1)
            k = min(n, len(episode) - t)
            if k < n and not episode.is_done:  # its next steps are still being sampled
                resamples += 1
                continue
            weight = (self._sum_segment[tree_idx] / total * num_stored) ** (-beta)
            rewards = episode.get_rewards(slice(t, t + k))
            ends_episode = t + k == len(episode)
            sampled.append(SingleAgentEpisode(
                id_=episode.id_,
                observations=[self.stack(episode, t), self.stack(episode, t + k)],
                observation_space=self._stack_space(episode),
                actions=[episode.get_actions(t)],
                action_space=episode.action_space,
                rewards=[float(np.dot(gamma ** np.arange(k), rewards))],
                terminated=ends_episode and episode.is_terminated,
                truncated=ends_episode and episode.is_truncated,
                extra_model_outputs={"weights": [weight / max_weight], "n_step": [k]},
                len_lookback_buffer=0,
                t_started=episode.t_started + t,
            ))
            self._last_sampled_indices.append(tree_idx)
            episodes.add(episode_idx)
            steps.add((episode_idx, t))
            n_steps.append(k)
        self.sampled_timesteps += batch_size_B
        n_mean = sum(n_steps) / batch_size_B
        self._update_sample_metrics(
            num_env_steps_sampled=batch_size_B, num_episodes_per_sample=len(episodes),
            num_env_steps_per_sample=len(steps), sampled_n_step=n_mean,
            num_resamples=resamples,
            agent_to_num_steps_sampled={DEFAULT_AGENT_ID: batch_size_B},
            agent_to_num_episodes_per_sample={DEFAULT_AGENT_ID: len(episodes)},
            agent_to_num_steps_per_sample={DEFAULT_AGENT_ID: len(steps)},
            agent_to_sampled_n_step={DEFAULT_AGENT_ID: n_mean},
            agent_to_num_resamples={DEFAULT_AGENT_ID: resamples},
            module_to_num_steps_sampled={DEFAULT_MODULE_ID: batch_size_B},
            module_to_num_episodes_per_sample={DEFAULT_MODULE_ID: len(episodes)},
            module_to_num_steps_per_sample={DEFAULT_MODULE_ID: len(steps)},
            module_to_sampled_n_step={DEFAULT_MODULE_ID: n_mean},
            module_to_num_resamples={DEFAULT_MODULE_ID: resamples},
        )
        return sampled

    def stored_frame_bytes(self) -> int:
        """Bytes of the stored frames (compressed or not): nearly all the buffer holds (see
        `mario-rllib bench replay` for the rest). Counted once per episode and length, so a call
        after each `add()` touches only the episodes that add changed, not every frame."""
        sizes = {}
        for episode in self.episodes:
            data = episode.observations.data
            key = (episode.id_, len(data))
            sizes[key] = self._frame_bytes.get(key)
            if sizes[key] is None:
                if isinstance(data, np.ndarray) and data.dtype != object:
                    sizes[key] = data.nbytes
                else:  # LZ4 blocks, or a list of frames (an episode never made numpy)
                    sizes[key] = sum(len(f) if isinstance(f, bytes) else f.nbytes for f in data)
        self._frame_bytes = sizes  # evicted episodes drop out
        return sum(sizes.values())

    def stack(self, episode: SingleAgentEpisode, t: int) -> np.ndarray:
        """The `num_frames` frames ending at step t of a stored episode, on the last axis:
        those before the stored part come from its lookback buffer where it has them (a chunk
        that continued an episode), and are zeros only before the episode's first frame, as
        RLlib's `FrameStackingEnvToModule` stacks them when acting."""
        stored = episode.observations  # read directly: RLlib's getters cost ~10 us a frame
        end = stored.lookback + t + 1
        frames = [self._frame(f) for f in stored.data[max(0, end - self.num_frames):end]]
        if len(frames) < self.num_frames:
            frames = [np.zeros_like(frames[0])] * (self.num_frames - len(frames)) + frames
        return np.concatenate(frames, axis=-1)

    def _stack_space(self, episode: SingleAgentEpisode) -> gym.spaces.Box:
        """The stacked observation space, built once (a Box costs ~0.2 ms)."""
        if self._stacked_space is None:
            # Frames concatenated oldest first on the last axis, as `stack` does.
            low = np.concatenate([episode.observation_space.low] * self.num_frames, axis=-1)
            high = np.concatenate([episode.observation_space.high] * self.num_frames, axis=-1)
            self._stacked_space = gym.spaces.Box(low, high, dtype=episode.observation_space.dtype)
        return self._stacked_space
