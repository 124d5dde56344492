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
from tune_configs.settings import BOOL, COUNT, POSITIVE, nullable, number, one_of
from tune_configs.spaces import scaled

ALGO = "dqn"
OBS_MODE = "gray84"
FRAME_STACK = 4  # as the PyTorch Mario tutorial (and Mnih et al. 2015)

DEFAULTS: dict[str, Any] = {
    # --- env ---
    "levels": "1-1",
    "action_set": "right_only",  # the tutorial's small set ([right], [right, A]) grown to 5
    # /15 keeps per-step rewards (4 frames) within [-4, 4], where the Huber loss is near-quadratic.
    "reward_shaping": "scale",
    "max_episode_steps": None,
    "seed": 0,
    # --- model ---
    "encoder": "nature",
    # --- DQN ---
    "lr": 0.00025,  # the tutorial and Mnih et al. 2015
    "gamma": 0.9,  # the tutorial
    "n_step": 3,  # Rainbow (Hessel et al. 2018, Table 1)
    "train_batch_size": 32,  # the tutorial and Mnih et al. 2015
    # Trained samples per sampled step: the tutorial learns on 32 samples every 3 agent steps.
    "training_intensity": 32 / 3,
    "learning_starts": 10_000,  # agent steps before the first update: the tutorial's `burnin`
    "target_update_freq": 10_000,  # agent steps between target syncs: the tutorial's `sync_every`
    "buffer_capacity": 100_000,  # transitions: the tutorial's memory
    # Frames stored LZ4-compressed: about a third of a raw frame per transition, for a little
    # more time per sampled batch (`mario-rllib bench replay`; figures in docs/dqn.md).
    "compress_frames": True,
    "per_alpha": 0.6,  # Schaul et al. 2016, proportional variant
    "per_beta": 0.4,  # Schaul et al. 2016: the start of a linear anneal to 1 ...
    "beta_anneal_steps": 5_000_000,  # ... over the whole run (the default stop below)
    # Epsilon-greedy in agent steps: 1.0 -> 0.1 over the first 1M frames = 250k agent steps at
    # frame skip 4 (Mnih et al. 2015).
    "epsilon": [[0, 1.0], [250_000, 0.1]],
    # `evaluate --stochastic`: epsilon-greedy at 0.05, the Atari evaluation practice (Mnih et al.
    # 2015); `--stochastic` on the module's own schedule would start at epsilon 1.0.
    "evaluation_epsilon": 0.05,
    "double_q": True,  # van Hasselt et al. 2016
    "td_error_loss_fn": "huber",  # the tutorial's SmoothL1Loss
    "grad_clip": 10.0,  # Rainbow / Dopamine clip gradient norms at 10
    "steps_per_iteration": 1_000,  # agent steps sampled per reported iteration (RLlib's default)
}

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


def _epsilon_schedule(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return 0 <= value <= 1
    return isinstance(value, list) and bool(value) and all(
        isinstance(point, list) and len(point) == 2 and number(0)[0](point[0])
        and number(0, 1)[0](point[1]) for point in value)


RULES = {  # hook: what this algorithm's settings allow (tune_configs.settings)
    "n_step": COUNT, "training_intensity": POSITIVE, "learning_starts": number(0, integer=True),
    "target_update_freq": COUNT, "buffer_capacity": COUNT, "compress_frames": BOOL,
    "per_alpha": number(0), "per_beta": number(0, 1), "beta_anneal_steps": nullable(COUNT),
    "epsilon": (_epsilon_schedule, "a number in [0, 1] or a schedule [[agent_step, epsilon], "
                "...]", {int, float, list}),
    "evaluation_epsilon": number(0, 1), "double_q": BOOL,
    "td_error_loss_fn": one_of("huber", "mse"), "steps_per_iteration": COUNT,
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
