"""Dueling Double DQN with prioritized replay and n-step returns on Super Mario Bros 1-1.

This example
    trains RLlib's DQN (new API stack) with our `MarioDuelingQRLM` (a Nature CNN torso, dueling
    value and advantage streams, a target copy) on 84x84 gray frames, 4 stacked by connectors, so
    the replay buffer holds single uint8 frames. Hyperparameters follow the official PyTorch Mario
    tutorial ("Train a Mario-playing RL Agent", Feng et al.) where it has them, and Rainbow (Hessel
    et al. 2018) / prioritized replay (Schaul et al. 2016) for the parts it lacks.

How to run
    mario-rllib train --algo dqn --level 1-1                     # preset "cpu"
    mario-rllib train --algo dqn --preset gpu                    # a GPU learner, 1M-step replay
    mario-rllib train --algo dqn --preset debug --stop-iters 2   # seconds, for tests

Results to expect
    docs/training.md#learning-check and docs/results.md (figures live there, not here).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.dqn import DQNConfig

from custom_models.dqn.dqn import StackedReplayDQN
from custom_models.dqn.dqn import progress_fields as progress_fields  # hook
from custom_models.dqn.learner import MarioDQNLearner
from custom_models.dqn.replay import StackedFramePrioritizedEpisodeReplayBuffer as ReplayBuffer
from custom_models.dqn.rl_module import MarioDuelingQRLM
from mario_rllib.metrics import STOP_TIMESTEPS
from tune_configs.common import apply_common, resolve_settings
from tune_configs.settings import (
    BOOL,
    COUNT,
    POSITIVE,
    Setting,
    defaults_of,
    nullable,
    number,
    one_of,
    rules_of,
)
from tune_configs.spaces import scaled

ALGO = "dqn"
OBS_MODE = "gray84"
FRAME_STACK = 4  # as the PyTorch Mario tutorial (and Mnih et al. 2015)

def _epsilon_schedule(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return 0 <= value <= 1
    return isinstance(value, list) and bool(value) and all(
        isinstance(point, list) and len(point) == 2 and number(0)[0](point[0])
        and number(0, 1)[0](point[1]) for point in value)


SETTINGS: dict[str, Setting] = {
    # --- env ---
    "levels": Setting("1-1", None, "the stage, or stages (one drawn per episode)"),
    "action_set": Setting("right_only", None,
                          "5 actions: the tutorial's [right], [right, A], grown to 5"),
    # /15 keeps per-step rewards (4 frames) within [-4, 4], where the Huber loss is near-quadratic.
    "reward_shaping": Setting("scale", None, "rewards divided by 15"),
    "max_episode_steps": Setting(None, None, "no limit: the game's clock ends each life"),
    "seed": Setting(0, None, "the first trial's seed (--seed)"),
    # --- model ---
    "encoder": Setting("nature", one_of("nature", "impala"),
                       "the torso: Nature CNN, or IMPALA's deeper ResNet"),
    # --- DQN ---
    "lr": Setting(0.00025, POSITIVE, "Adam's learning rate (the tutorial, Mnih et al. 2015)"),
    "gamma": Setting(0.9, number(0, 1, low_open=True), "discount (the tutorial)"),
    "n_step": Setting(3, COUNT, "steps per return target (Rainbow, Hessel et al. 2018)"),
    "train_batch_size": Setting(32, COUNT, "samples per update (the tutorial, Mnih et al.)"),
    # The tutorial learns on 32 samples every 3 agent steps.
    "training_intensity": Setting(32 / 3, POSITIVE,
                                  "replayed samples per sampled agent step (the tutorial)"),
    "learning_starts": Setting(10_000, number(0, integer=True),
                               "agent steps before the first update (the tutorial's burnin)"),
    "target_update_freq": Setting(10_000, COUNT,
                                  "agent steps between target syncs (the tutorial's sync_every)"),
    "buffer_capacity": Setting(100_000, COUNT, "transitions replay holds (the tutorial's)"),
    # About a third of a raw frame per transition, for a little more time per sampled batch
    # (`mario-rllib bench replay`; figures in docs/dqn.md).
    "compress_frames": Setting(True, BOOL, "store replayed frames LZ4-compressed"),
    "per_alpha": Setting(0.6, number(0), "prioritisation's exponent (Schaul et al. 2016)"),
    "per_beta": Setting(0.4, number(0, 1),
                        "importance weights' exponent at the start, annealed to 1 (Schaul)"),
    "beta_anneal_steps": Setting(5_000_000, nullable(COUNT),
                                 "agent steps over which beta reaches 1 (the default stop)"),
    # 1.0 -> 0.1 over the first 1M frames = 250k agent steps at frame skip 4 (Mnih et al. 2015).
    "epsilon": Setting([[0, 1.0], [250_000, 0.1]],
                       (_epsilon_schedule, "a number in [0, 1] or a schedule [[agent_step, "
                        "epsilon], ...]", {int, float, list}),
                       "epsilon-greedy's schedule in agent steps (Mnih et al. 2015)"),
    # `--stochastic` on the module's own schedule would start at epsilon 1.0.
    "evaluation_epsilon": Setting(0.05, number(0, 1),
                                  "epsilon of evaluate --stochastic (Atari's evaluation)"),
    "double_q": Setting(True, BOOL, "double Q-learning's target (van Hasselt et al. 2016)"),
    "td_error_loss_fn": Setting("huber", one_of("huber", "mse"),
                                "the TD error's loss (the tutorial's SmoothL1Loss)"),
    "grad_clip": Setting(10.0, nullable(POSITIVE),
                         "the global gradient-norm clip (Rainbow, Dopamine)"),
    "steps_per_iteration": Setting(1_000, COUNT,
                                   "agent steps sampled per reported iteration (RLlib's)"),
}
DEFAULTS = defaults_of(SETTINGS)

PRESETS: dict[str, dict[str, Any]] = {
    "debug": {"train_batch_size": 16, "learning_starts": 64, "target_update_freq": 100,
              "buffer_capacity": 2_000, "epsilon": [[0, 1.0], [500, 0.1]],
              "beta_anneal_steps": 1_000, "training_intensity": 1.0, "steps_per_iteration": 100},
    "cpu": {},
    # A GPU learns fast enough for a big buffer and Nature DQN's schedule.
    "gpu": {"buffer_capacity": 1_000_000, "train_batch_size": 64},
}

def rllib_training_intensity(settings: dict[str, Any], per_q_update: int = 1) -> float | Any:
    """The value to give RLlib for `training_intensity` replayed samples per sampled step.

    `per_q_update`: learner updates per Q update (latent DQN: 2, a world-model update for each Q
    one), so that the Q network replays `training_intensity` samples per step, as DQN's.

    RLlib 2.60 (`dqn.calculate_rr_weights`) sets how many updates follow each sample call from
    the steps a call brings, counting `num_env_runners + 1` runners: with remote runners the
    local one does not sample, so it would replay intensity x (N + 1) / N per step (16 instead
    of 32/3 with the cpu preset's 2 runners). Asking for intensity x N / (N + 1) gives the
    intensity itself; the `training_intensity` metric of `StackedReplayDQN` shows what ran.
    """
    intensity, runners = settings["training_intensity"], settings["num_env_runners"]
    scale = per_q_update * (runners / (runners + 1) if runners else 1)
    return scaled(intensity, scale)  # a search space over it (--search) scales as a whole


RULES = rules_of(SETTINGS)  # hook: what its settings allow

BENCH_LEARNER = {  # hook: `mario-rllib bench learner`'s settings (tune_configs.OPTIONAL)
    # A short burn-in and small buffer, so that a measured iteration takes seconds; the batch,
    # which sets the per-sample cost, stays the preset's.
    "full": {"learning_starts": 200, "steps_per_iteration": 200, "buffer_capacity": 5_000},
    "quick": {"learning_starts": 100, "steps_per_iteration": 100, "buffer_capacity": 2_000},
}

STOP = {STOP_TIMESTEPS: 5_000_000}
"""Default stop criteria; `mario-rllib train --stop-*` flags replace them."""


def build_config(preset: str | list[str] = "cpu", **overrides: Any) -> DQNConfig:
    """The DQN config for the named presets (applied left to right) and explicit overrides."""
    settings = resolve_settings(DEFAULTS, PRESETS, preset, overrides, RULES)
    config = dqn_config(settings).learners(learner_class=MarioDQNLearner)  # + importance weights
    return apply_common(config, settings, algo=ALGO, module_class=MarioDuelingQRLM,
                        obs_mode=OBS_MODE, frame_stack=FRAME_STACK)


def dqn_config(settings: dict[str, Any], frame_stack: int = FRAME_STACK,
               per_q_update: int = 1) -> DQNConfig:
    """`StackedReplayDQN`'s config from resolved settings: everything but the module, learner
    and what `apply_common` adds (also the base of `tune_configs/latent_dqn_mario.py`, whose
    learner does `per_q_update` updates for each Q one)."""
    return (
        DQNConfig(algo_class=StackedReplayDQN)
        .training(
            lr=settings["lr"],
            gamma=settings["gamma"],
            n_step=settings["n_step"],
            train_batch_size_per_learner=settings["train_batch_size"],
            training_intensity=rllib_training_intensity(settings, per_q_update),
            num_steps_sampled_before_learning_starts=settings["learning_starts"],
            target_network_update_freq=settings["target_update_freq"],
            tau=1.0,  # hard target updates, as the tutorial and Mnih et al.
            # Single frames in, stacked transitions out (RLlib's learner-side frame stacking
            # cannot stack n-step replay samples; see custom_models/dqn/replay.py).
            replay_buffer_config={
                "type": ReplayBuffer,
                "capacity": settings["buffer_capacity"],
                "num_frames": frame_stack,
                "alpha": settings["per_alpha"],
                "beta": settings["per_beta"],
                "beta_anneal_steps": settings["beta_anneal_steps"],
                "compress_frames": settings["compress_frames"],
            },
            epsilon=settings["epsilon"],
            double_q=settings["double_q"],
            dueling=True,
            num_atoms=1,
            noisy=False,
            td_error_loss_fn=settings["td_error_loss_fn"],
            grad_clip=settings["grad_clip"],
            grad_clip_by="global_norm",
        )
        .reporting(min_sample_timesteps_per_iteration=settings["steps_per_iteration"])
    )
