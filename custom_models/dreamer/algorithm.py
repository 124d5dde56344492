"""`MarioDreamerV3`: RLlib's DreamerV3 with our replay buffer and its training ratio counted right."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_GRAD_UPDATES_LIFETIME,
)

from custom_models.dreamer import DreamerV3
from custom_models.dreamer.replay import MarioEpisodeReplayBuffer

ACTUAL_TRAINING_RATIO = "actual_training_ratio"
"""Result key (RLlib's DreamerV3 logs it): replayed steps per sampled env step so far."""


def progress_fields(result: Mapping[str, Any]) -> str:
    """The progress line's DreamerV3 field: its training ratio as it stands, and the target
    (`| replayed/env step 63 (target 64)`)."""
    ratio = result.get(ACTUAL_TRAINING_RATIO)
    if ratio is None:
        return ""
    target = result.get("config", {}).get("training_ratio")
    return f" | replayed/env step {ratio:,.0f}" + (f" (target {target:,})" if target else "")


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
