"""Latent-space Dueling Double DQN on Super Mario Bros 1-1: DQN on World Models' latent state.

This example
    trains `StackedReplayDQN` (RLlib's DQN with our prioritized replay of single frames, stacked
    at sampling, n-step returns) with `LatentDuelingQRLM` (World Models' VAE, a latent dynamics
    model with a reward head, DQN's dueling head on the VAE means of the 4 stacked 64x64 RGB
    frames) and `LatentDQNLearner` (phases of `phase_updates` updates: the world model, then Q
    with the world model frozen). Everything not named below is DQN's (`tune_configs/dqn_mario.py`
    gives each setting's source), so that the two compare at the same budget: the same agent
    steps, and the same Q updates per agent step (the learner does twice DQN's updates, half of
    them the world model's).

How to run
    mario-rllib train --algo latent_dqn --level 1-1                 # preset "cpu": a laptop
    mario-rllib train --algo latent_dqn --level 1-1 --preset gpu    # a GPU learner
    mario-rllib train --algo latent_dqn --preset debug --stop-iters 2
    mario-rllib evaluate <checkpoint>
    mario-rllib dream <checkpoint> --out recon.gif    # V's reconstructions, then the dynamics'

Results to expect
    docs/latent_dqn.md#learning-check.
"""

from __future__ import annotations

import math
from typing import Any

from ray.rllib.algorithms.dqn import DQNConfig

from custom_models.latent_dqn.imagine import observe_then_imagine as observe_then_imagine  # hook
from custom_models.latent_dqn.learner import LatentDQNLearner
from custom_models.latent_dqn.learner import progress_fields as progress_fields  # hook
from custom_models.latent_dqn.rl_module import LatentDuelingQRLM
from tune_configs import dqn_mario
from tune_configs.common import apply_common, resolve_settings
from tune_configs.settings import COUNT, POSITIVE, Setting, defaults_of, rules_of
from tune_configs.spaces import largest

ALGO = "latent_dqn"
OBS_MODE = "rgb64"  # the World Models VAE's input ([1] Appendix A.1)
FRAME_STACK = dqn_mario.FRAME_STACK  # 4 latents: Mario's motion, as DQN's 4 frames

SETTINGS: dict[str, Setting] = {
    **{name: setting for name, setting in dqn_mario.SETTINGS.items() if name != "encoder"},
    # The dynamics model learns z_{t+1} and r_t from (z_t.., a_t); with n_step > 1 it would learn
    # the n-step latent and return after a_t alone.
    "n_step": Setting(1, COUNT, "one-step transitions, for the dynamics model"),
    # World model first. `training_intensity` is the Q streams' (DQN's 32/3 replayed samples per
    # agent step); the learner does twice as many updates, so that Q gets DQN's Q updates per
    # agent step (cpu preset, batch 32: one per 3 steps; a phase is about 1,500 agent steps), and
    # DQN's target sync every 10,000 agent steps falls every 3,333 Q updates, as DQN's.
    "phase_updates": Setting(1_000, COUNT, "updates per phase (world model, then Q)"),
    "world_model_lr": Setting(1e-4, POSITIVE,
                              "the VAE's and dynamics model's learning rate ([1]'s VAE's)"),
}
DEFAULTS = defaults_of(SETTINGS)

PRESETS: dict[str, dict[str, Any]] = {
    name: dict(preset) for name, preset in dqn_mario.PRESETS.items()
}
PRESETS["debug"]["phase_updates"] = 3

RULES = rules_of(SETTINGS)  # hook: what its settings allow

STOP = dqn_mario.STOP


def build_config(preset: str | list[str] = "cpu", **overrides: Any) -> DQNConfig:
    """The latent DQN config for the named presets (applied left to right) and overrides."""
    settings = resolve_settings(DEFAULTS, PRESETS, preset, overrides, RULES)
    # Half of the learner's updates are the world model's: RLlib replays twice DQN's samples, so
    # that the Q streams get DQN's updates, replay ratio and target syncs per agent step.
    # RLlib replays whole batches per sample call, rounding the ratio: with DQN's 3-step calls
    # (its fragment is its n_step, 3) the cpu preset replays exactly 2 x 32/3 per step (1-step
    # calls would round it to 21 or 22). A multiple of 3 keeps that, and RLlib wants n_step at
    # most the fragment.
    longest = largest(settings["n_step"])  # of a search space over it too
    config = dqn_mario.dqn_config(settings, FRAME_STACK, per_q_update=2).learners(
        learner_class=LatentDQNLearner).env_runners(
            rollout_fragment_length=3 * math.ceil(longest / 3))
    config = apply_common(config, settings, algo=ALGO, module_class=LatentDuelingQRLM,
                          obs_mode=OBS_MODE, frame_stack=FRAME_STACK)
    return config.rl_module(model_config={
        **config._model_config,
        "latent": {"phase_updates": settings["phase_updates"],
                   "world_model_lr": settings["world_model_lr"]},
    })
