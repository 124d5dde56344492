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
from tune_configs.settings import BOOL, COUNT, POSITIVE, nullable, number, one_of

ALGO = "ppo"
OBS_MODE = "gray84"
FRAME_STACK = 4  # frames seen by the model: enough to read speed and direction (Mnih et al. 2015)

DEFAULTS: dict[str, Any] = {
    # --- env ---
    "levels": "1-1",
    "action_set": "simple",  # 7 actions, as uvipen trains 1-1
    # The game's per-frame reward is in [-15, 15] and an agent step sums 4 frames; / 15 keeps the
    # value targets small (uvipen divides by 10). Recorded in the env config of every run.
    "reward_shaping": "scale",
    "max_episode_steps": None,  # the game's clock ends each life
    "seed": 0,
    # --- model ---
    "encoder": "nature",  # "impala" for the deeper ResNet torso
    # --- PPO ---
    "lr": 1e-4,  # uvipen (Adam, no schedule)
    # None: a constant lr (uvipen). N: lr falls linearly to 0 over N agent steps, as in the PPO
    # paper's Atari runs (annealed over the whole run).
    "lr_anneal_steps": None,
    "gamma": 0.9,  # uvipen: Mario's reward is dense (x progress), a short horizon suffices
    "lambda_": 1.0,  # uvipen's GAE tau; with gamma 0.9 the advantage variance stays low
    "clip_param": 0.2,  # uvipen; the PPO paper's Atari runs use 0.1 (x annealing)
    "entropy_coeff": 0.01,  # uvipen and the PPO paper's Atari setup
    "num_epochs": 10,  # uvipen (the PPO paper's Atari setup: 3)
    "minibatch_size": 256,  # uvipen: 8 envs x 512 steps in 16 minibatches = 256
    "train_batch_size": 2048,  # per learner; uvipen uses 4096 (8 envs x 512 steps)
    "vf_loss_coeff": 1.0,  # uvipen (total loss = actor + critic - beta * entropy)
    # uvipen's critic loss, a Huber loss (F.smooth_l1_loss): an error beyond 1 keeps a gradient
    # of constant size. "squared" is RLlib's own, which clamps the *squared* error at
    # vf_clip_param, so an error beyond sqrt(10) = 3.16 gives no gradient at all; running states'
    # value targets are about 5-7 here (custom_models/ppo/learner.py, docs/training.md).
    "vf_loss": "huber",
    "vf_clip_param": 10.0,  # RLlib's default; only "squared" reads it (a bound on (V - target)^2)
    "grad_clip": 0.5,  # uvipen: clip_grad_norm_(..., 0.5)
    "use_kl_loss": False,  # uvipen uses the clipped objective only
}

PRESETS: dict[str, dict[str, Any]] = {
    # Seconds on a CPU: a tiny batch and one pass over it.
    "debug": {"train_batch_size": 128, "minibatch_size": 64, "num_epochs": 1},
    "cpu": {},
    # As uvipen: 4096 samples per update (16 runners x 2 envs x 128 steps).
    "gpu": {"train_batch_size": 4096},
}

RULES = {  # hook: what this algorithm's settings allow (tune_configs.settings)
    "lambda_": number(0, 1), "clip_param": POSITIVE, "vf_clip_param": POSITIVE,
    "vf_loss": one_of("huber", "squared"), "entropy_coeff": number(0), "vf_loss_coeff": number(0),
    "num_epochs": COUNT, "minibatch_size": COUNT, "use_kl_loss": BOOL,
    "lr_anneal_steps": nullable(COUNT),
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
