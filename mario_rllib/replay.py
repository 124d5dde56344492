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
from ray.rllib.core import DEFAULT_AGENT_ID, DEFAULT_MODULE_ID
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.utils import force_list
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_GRAD_UPDATES_LIFETIME,
    REPLAY_BUFFER_ADD_DATA_TIMER,
    TIMERS,
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
            low = np.repeat(episode.observation_space.low, self.num_frames, axis=-1)
            high = np.repeat(episode.observation_space.high, self.num_frames, axis=-1)
            self._stacked_space = gym.spaces.Box(low, high, dtype=episode.observation_space.dtype)
        return self._stacked_space


TRAINING_INTENSITY = "training_intensity"
"""Result key: replayed samples per sampled agent step since learning (re)started."""


class StackedReplayDQN(DQN):
    """RLlib's DQN with our replay buffer, its real training intensity as a metric, and a resume
    that goes on with the schedules.

    - Under Tune, RLlib 2.60 turns a `replay_buffer_config["type"]` class path into the class
      (`AlgorithmConfig.update_from_dict`), then tests `"EpisodeReplayBuffer" in type`, which
      raises TypeError for a class. This turns the class back into its path (which names an
      `...EpisodeReplayBuffer`) before RLlib builds the buffer.
    - Learning starts once the buffer holds `num_steps_sampled_before_learning_starts` steps,
      not once the trial has sampled that many: RLlib's checkpoints hold no replay buffer, so a
      resumed trial would otherwise learn at once from a nearly empty buffer. A resumed trial
      therefore redoes the burn-in (that many agent steps, sampled with the epsilon the schedule
      has reached, no updates), and nothing else: epsilon, beta (see
      `StackedFramePrioritizedEpisodeReplayBuffer.annealed_beta`) and the target-network sync
      (`MarioDQNLearner`) go on from the trial's step count.
    - `training_intensity` in each result: replayed samples per sampled agent step since
      learning started in this process (RLlib's `training_intensity` setting is a ratio it
      rounds and, in 2.60, divides by num_env_runners + 1; see `tune_configs/dqn_mario.py`).
    """

    def _create_local_replay_buffer_if_necessary(self, config):
        buffer_type = (config.get("replay_buffer_config") or {}).get("type")
        if isinstance(buffer_type, type):
            config["replay_buffer_config"]["type"] = (
                f"{buffer_type.__module__}.{buffer_type.__qualname__}"
            )
        return super()._create_local_replay_buffer_if_necessary(config)

    def setup(self, config) -> None:
        super().setup(config)
        self._replayed = self._sampled = 0  # since learning started in this process

    def training_step(self) -> None:
        buffer = self.local_replay_buffer
        sampled_before = self.metrics.peek(
            (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0)
        if isinstance(buffer, StackedFramePrioritizedEpisodeReplayBuffer):
            buffer.lifetime_env_steps = sampled_before
        if buffer.get_added_timesteps() < self.config.num_steps_sampled_before_learning_starts:
            self._sample_and_store()  # the burn-in: no updates yet
            return
        replayed_before = buffer.sampled_timesteps
        super().training_step()
        self._replayed += buffer.sampled_timesteps - replayed_before
        self._sampled += self.metrics.peek(
            (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), default=0) - sampled_before
        if self._sampled:
            self.metrics.log_value(TRAINING_INTENSITY, self._replayed / self._sampled,
                                   reduce="mean", window=1)

    def _sample_and_store(self) -> None:
        """The sampling half of RLlib's DQN training step (`DQN._training_step_new_api_stack`)."""
        with self.metrics.log_time((TIMERS, ENV_RUNNER_SAMPLING_TIMER)):
            episodes, env_runner_results = synchronous_parallel_sample(
                worker_set=self.env_runner_group, concat=True,
                sample_timeout_s=self.config.sample_timeout_s, _uses_new_env_runners=True,
                _return_metrics=True)
        self.metrics.aggregate(env_runner_results, key=ENV_RUNNER_RESULTS)
        with self.metrics.log_time((TIMERS, REPLAY_BUFFER_ADD_DATA_TIMER)):
            self.local_replay_buffer.add(episodes)


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
