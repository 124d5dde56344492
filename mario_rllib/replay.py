"""Replay buffers that hold only what their algorithm replays: DQN's and DreamerV3's.

DQN: prioritized replay that stores single frames and samples stacked ones.

RLlib's `PrioritizedEpisodeReplayBuffer` samples an n-step transition as a two-observation episode
(o_t, o_t+n) with no lookback, so RLlib's `FrameStackingLearner` connector cannot stack it, and it
stacks only `obs`, never `new_obs` (RLlib 2.60). This subclass keeps RLlib's storage, priorities,
n-step returns and importance weights, and stacks at sampling time: for each sampled transition
it reads the `num_frames` frames ending at t and at t+n from the stored episode (zeros before the
episode's first frame, as RLlib's `FrameStackingEnvToModule` pads when acting). The buffer holds
single 84x84x1 uint8 frames; stacked copies exist only in the sampled batch.

Frames are stored LZ4-compressed, one frame at a time (`compress_frames`, on by default): a gray
84x84 Mario frame (7,056 bytes) compresses to about 1.4 KB, in ~13 us, and decompresses in ~11 us,
so a 32-transition batch (256 frames) costs ~3 ms of decompression next to a learner update of tens
of ms. `mario-rllib bench replay` measures both layouts in the same run.

It also anneals the importance-sampling exponent beta linearly from its initial value to 1 over
`beta_anneal_steps` agent steps added (Schaul et al. 2016, Sec. 3.4), which RLlib's buffer, given
a fixed `beta` by DQN, does not.

DreamerV3: RLlib's `EpisodeReplayBuffer` without the infos and the model outputs (the RSSM state)
that RLlib's env runners attach to every step; `MarioDreamerV3` builds it (and counts its training
ratio right).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import lz4.block
import numpy as np
from ray.rllib.algorithms.dqn import DQN
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils import force_list
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_GRAD_UPDATES_LIFETIME,
)
from ray.rllib.utils.replay_buffers.episode_replay_buffer import EpisodeReplayBuffer
from ray.rllib.utils.replay_buffers.prioritized_episode_buffer import (
    PrioritizedEpisodeReplayBuffer,
)

from custom_models.dreamer import DreamerV3

_NO_INFO: dict = {}  # stands in for every stored step's info dict (never replayed)


def trim_for_replay(episode: SingleAgentEpisode, space: gym.Space | None) -> gym.Space:
    """Drop from an episode chunk what neither DQN nor DreamerV3 replays; return the shared space.

    Measured with `mario-rllib bench replay`: per-step info dicts cost about 0.8 KB a step, and
    each episode carries its own observation-space object, whose low/high arrays cost as much as
    8 gray frames. Infos are replaced by one shared empty dict, and every episode gets the first
    episode's space object (`space`, None at first). Frames, actions, rewards and flags are kept.
    """
    episode.infos.data = [_NO_INFO] * len(episode.infos.data)
    if episode.is_done:  # kept only to append a next chunk, which a done episode never gets
        episode._last_added_observation = episode._last_added_infos = None
    if space is None:
        return episode.observation_space
    if episode.observation_space == space:
        episode.observation_space = space
    return space


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
        self.metrics.log_value("stored_frame_bytes", self._stored_frame_bytes, reduce="mean",
                               window=1)
        sampled = super().sample(num_items, beta=self.current_beta, **kwargs)
        return [self._stacked(episode, tree_idx)
                for episode, tree_idx in zip(sampled, self._last_sampled_indices, strict=True)]

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
        """The `num_frames` frames ending at step t of a stored episode, on the last axis, with
        zeros before the episode's first frame."""
        stored = episode.observations  # read directly: RLlib's getters cost ~10 us a frame
        first = max(0, t - self.num_frames + 1)
        frames = [self._frame(f) for f in stored.data[stored.lookback + first:stored.lookback + t + 1]]
        if len(frames) < self.num_frames:
            frames = [np.zeros_like(frames[0])] * (self.num_frames - len(frames)) + frames
        return np.concatenate(frames, axis=-1)

    def _stacked(self, sampled: SingleAgentEpisode, tree_idx: int) -> SingleAgentEpisode:
        # Where this transition lives in the buffer (as the parent's sample() looks it up).
        episode_idx, t = self._indices[self._tree_idx_to_sample_idx[tree_idx]][:2]
        source = self.episodes[episode_idx - self._num_episodes_evicted]
        n_step = int(sampled.get_extra_model_outputs("n_step", 0))
        obs_t, obs_tn = self.stack(source, t), self.stack(source, t + n_step)
        if self._stacked_space is None or self._stacked_space.shape != obs_t.shape:
            self._stacked_space = gym.spaces.Box(0, 255, obs_t.shape, obs_t.dtype)
        # The parent's two-observation episode, with its stored frames swapped for stacks.
        observations = sampled.observations
        observations.data = (np.stack([obs_t, obs_tn]) if observations.finalized
                             else [obs_t, obs_tn])
        sampled.observation_space = self._stacked_space
        return sampled


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


class MarioEpisodeReplayBuffer(EpisodeReplayBuffer):
    """DreamerV3's `EpisodeReplayBuffer`, holding only what DreamerV3 replays: one uint8 64x64x3
    frame (12,288 bytes), an action, a reward and flags per step.

    Besides `trim_for_replay`'s infos and spaces, it drops the model outputs RLlib's env runners
    attach to every step: DreamerV3's RSSM state (h, z, the last action) and the one-hot action,
    5.2 KB a step at size XS (more at larger sizes), which RLlib's buffer keeps and DreamerV3
    never replays (it recomputes the states from the frames). `mario-rllib bench replay` measures
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


class MarioDreamerV3(DreamerV3):
    """RLlib's DreamerV3 with `MarioEpisodeReplayBuffer` (DreamerV3 builds a plain
    `EpisodeReplayBuffer` in `setup` and accepts no other type in its config), and its training
    ratio counted right.

    RLlib 2.60 computes the actual training ratio from `num_env_steps_trained_lifetime` at the
    top of its metrics, which DreamerV3 never logs there (its learners log it under `learners/`,
    counting B rows per update, not B x T steps): `actual_training_ratio` reads 0.0 in every
    result. Here it is replayed steps (updates x B x T) per env step sampled, the quantity
    `training_ratio` configures. The sampling loop uses the same property, as RLlib intends.
    """

    def setup(self, config) -> None:
        super().setup(config)
        self.replay_buffer = MarioEpisodeReplayBuffer(
            capacity=self.config.replay_buffer_config["capacity"],
            batch_size_B=self.config.batch_size_B,
            batch_length_T=self.config.batch_length_T,
        )

    @property
    def training_ratio(self) -> float:
        updates = self.metrics.peek(NUM_GRAD_UPDATES_LIFETIME, default=0)
        sampled = self.metrics.peek((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME),
                                    default=0)
        replayed = updates * self.config.batch_size_B * self.config.batch_length_T
        return replayed / sampled if sampled else 0.0
