"""PPO on Super Mario Bros 1-1, from pixels (84x84 gray, 4 frames stacked by connectors).

This example
    trains RLlib's PPO (new API stack) with our `MarioActorCriticRLM` (a shared Nature CNN torso,
    policy and value heads) on one stage. Hyperparameters follow uvipen/Super-mario-bros-PPO-pytorch,
    the best-known published PPO run on this env (flags on 31 of 32 stages), and the PPO paper's
    Atari setup where that run is silent.

How to run
    mario-rllib train --algo ppo --level 1-1                       # preset "cpu": a laptop
    mario-rllib train --algo ppo --level 1-1 --preset gpu          # a GPU learner + 16 env runners
    mario-rllib train --algo ppo --preset debug --stop-iters 1     # seconds, for tests
    Python: `build_config(preset="cpu", levels="1-2")` returns the `PPOConfig`; nothing here
    parses flags or starts Ray.

Results to expect
    The measured runs, and the agent shipped as `mario-rllib play ppo-1-1`, are in
    docs/training.md#learning-check and docs/results.md (figures live there, not here).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.algorithms.ppo import PPOConfig

from custom_models.ppo.learner import MarioPPOLearner
from custom_models.ppo.rl_module import MarioActorCriticRLM
from mario_rllib.env.connectors import FrameStack
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

ALGO = "ppo"
OBS_MODE = "gray84"
FRAME_STACK = 4  # frames seen by the model: enough to read speed and direction (Mnih et al. 2015)

SETTINGS: dict[str, Setting] = {
    # --- env ---
    "levels": Setting("1-1", None, "the stage, or stages (one drawn per episode)"),
    "action_set": Setting("simple", None, "the 7 actions uvipen trains 1-1 with"),
    # The game's per-frame reward is in [-15, 15] and an agent step sums 4 frames; / 15 keeps the
    # value targets small (uvipen divides by 10). Recorded in the env config of every run.
    "reward_shaping": Setting("scale", None, "rewards divided by 15 (uvipen divides by 10)"),
    "max_episode_steps": Setting(None, None, "no limit: the game's clock ends each life"),
    "seed": Setting(0, None, "the first trial's seed (--seed)"),
    # --- model ---
    "encoder": Setting("nature", one_of("nature", "impala"),
                       "the torso: Nature CNN, or IMPALA's deeper ResNet"),
    # --- PPO ---
    "lr": Setting(1e-4, POSITIVE, "Adam's learning rate (uvipen; no schedule)"),
    # N: lr falls linearly to 0 over N agent steps, as in the PPO paper's Atari runs.
    "lr_anneal_steps": Setting(None, nullable(COUNT),
                               "none: a constant lr (uvipen); N: lr falls to 0 over N steps"),
    "gamma": Setting(0.9, number(0, 1, low_open=True),
                     "discount (uvipen): Mario's reward is dense, a short horizon suffices"),
    "lambda_": Setting(1.0, number(0, 1),
                       "GAE's lambda (uvipen's tau); with gamma 0.9 the variance stays low"),
    "clip_param": Setting(0.2, POSITIVE,
                          "PPO's ratio clip (uvipen; the PPO paper's Atari runs: 0.1)"),
    "entropy_coeff": Setting(0.01, number(0),
                             "entropy bonus (uvipen and the PPO paper's Atari setup)"),
    "num_epochs": Setting(10, COUNT, "passes over each batch (uvipen; the PPO paper's Atari: 3)"),
    "minibatch_size": Setting(256, COUNT, "samples per SGD step (uvipen: 4096 in 16)"),
    "train_batch_size": Setting(2048, COUNT, "samples per update, per learner (uvipen: 4096)"),
    "vf_loss_coeff": Setting(1.0, number(0), "the critic loss's weight (uvipen)"),
    # uvipen's critic loss, a Huber loss (F.smooth_l1_loss): an error beyond 1 keeps a gradient
    # of constant size. "squared" is RLlib's own, which clamps the *squared* error at
    # vf_clip_param, so an error beyond sqrt(10) = 3.16 gives no gradient at all; running states'
    # value targets are about 5-7 here (custom_models/ppo/learner.py, docs/training.md).
    "vf_loss": Setting("huber", one_of("huber", "squared"),
                       "the critic's loss: Huber (uvipen) or RLlib's clamped squared error"),
    "vf_clip_param": Setting(10.0, POSITIVE,
                             "the bound on (V - target)^2 of vf_loss=squared (RLlib's default)"),
    "grad_clip": Setting(0.5, nullable(POSITIVE), "the global gradient-norm clip (uvipen)"),
    "use_kl_loss": Setting(False, BOOL, "a KL penalty besides the clip (uvipen: none)"),
}
DEFAULTS = defaults_of(SETTINGS)

PRESETS: dict[str, dict[str, Any]] = {
    # Seconds on a CPU: a tiny batch and one pass over it.
    "debug": {"train_batch_size": 128, "minibatch_size": 64, "num_epochs": 1},
    "cpu": {},
    # As uvipen: 4096 samples per update (16 runners x 2 envs x 128 steps).
    "gpu": {"train_batch_size": 4096},
}

RULES = rules_of(SETTINGS)  # hook: what its settings allow

BENCH_LEARNER = {  # hook: `mario-rllib bench learner`'s settings (tune_configs.OPTIONAL)
    # Smaller batches than the cpu preset's, so that a measured iteration takes seconds; the
    # minibatch, which sets the per-sample cost, stays the preset's.
    "full": {"train_batch_size": 1024, "num_epochs": 2},
    "quick": {"train_batch_size": 512, "num_epochs": 1},
}

STOP = {STOP_TIMESTEPS: 5_000_000}  # uvipen's --num_global_steps
"""Default stop criteria; `mario-rllib train --stop-*` flags replace them."""

NOT_SEARCHABLE = {  # hook: settings `--search` refuses, and why
    # build_config turns it into lr's schedule, which Tune's grid cannot reach
    "lr_anneal_steps": "it builds a schedule: run one experiment per value with --set",
}


def build_config(preset: str | list[str] = "cpu", **overrides: Any) -> PPOConfig:
    """The PPO config for the named presets (applied left to right) and explicit overrides."""
    settings = resolve_settings(DEFAULTS, PRESETS, preset, overrides, RULES)
    config = (
        PPOConfig()
        .learners(learner_class=MarioPPOLearner,
                  learner_connector=FrameStack(FRAME_STACK).learner,
                  learner_config_dict={"vf_loss": settings["vf_loss"]})
        .training(
            lr=(settings["lr"] if settings["lr_anneal_steps"] is None
                else [[0, settings["lr"]], [settings["lr_anneal_steps"], 0.0]]),
            gamma=settings["gamma"],
            lambda_=settings["lambda_"],
            clip_param=settings["clip_param"],
            entropy_coeff=settings["entropy_coeff"],
            num_epochs=settings["num_epochs"],
            minibatch_size=settings["minibatch_size"],
            train_batch_size_per_learner=settings["train_batch_size"],
            vf_loss_coeff=settings["vf_loss_coeff"],
            vf_clip_param=settings["vf_clip_param"],
            grad_clip=settings["grad_clip"],
            grad_clip_by="global_norm",
            use_kl_loss=settings["use_kl_loss"],
        )
    )
    return apply_common(config, settings, algo=ALGO, module_class=MarioActorCriticRLM,
                        obs_mode=OBS_MODE, frame_stack=FRAME_STACK)
