"""`StackedReplayDQN`: RLlib's DQN with our replay buffer, its training intensity as a metric, and
a resume that goes on with its schedules (see the class)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ray.rllib.algorithms.dqn import DQN
from ray.rllib.execution.rollout_ops import synchronous_parallel_sample
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    ENV_RUNNER_SAMPLING_TIMER,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    REPLAY_BUFFER_ADD_DATA_TIMER,
    TIMERS,
)

from custom_models.dqn.replay import StackedFramePrioritizedEpisodeReplayBuffer

TRAINING_INTENSITY = "training_intensity"
"""Result key: replayed samples per sampled agent step since learning (re)started."""
BURN_IN_BUFFERED = "burn_in_buffered"
"""Result key, during the burn-in only: agent steps in the replay buffer so far (learning starts at
`num_steps_sampled_before_learning_starts`)."""


def progress_fields(result: Mapping[str, Any]) -> str:
    """The progress line's DQN fields: replayed samples per sampled agent step once learning
    started (`| replayed/env step 10.7`), the burn-in before (`| burn-in 3,200/10,000 steps, no
    updates`)."""
    intensity = result.get(TRAINING_INTENSITY)
    if intensity is not None and not math.isnan(intensity):
        return f" | replayed/env step {intensity:.1f}"
    buffered = result.get(BURN_IN_BUFFERED)  # nothing replayed yet
    if buffered is None or math.isnan(buffered):
        return ""
    starts = result.get("config", {}).get("num_steps_sampled_before_learning_starts")
    return f" | burn-in {buffered:,.0f}" + (f"/{starts:,}" if starts else "") + " steps, no updates"


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
      During the burn-in, `burn_in_buffered` instead: the agent steps the buffer holds so far.
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
            self.metrics.log_value(BURN_IN_BUFFERED, buffer.get_added_timesteps(), window=1)
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
