"""DreamerV3 on Super Mario Bros 1-1, from 64x64 RGB frames.

This example
    trains RLlib's DreamerV3 (new API stack) with our `MarioDreamerV3RLM` (RLlib's world model,
    actor and critic, fed uint8 frames) and `MarioDreamerV3Learner` (RLlib's losses plus
    world-model and imagination metrics). The world model learns to predict Mario's frames,
    rewards and deaths; the actor and critic learn only inside its imagination ([1] Section 3).
    Hyperparameters are [1]'s (Appendix B/W), scaled down where a CPU cannot afford them.

    [1] Mastering Diverse Domains through World Models - 2023, D. Hafner, J. Pasukonis, J. Ba,
        T. Lillicrap, https://arxiv.org/pdf/2301.04104v1.pdf

The training ratio
    is the number of replayed steps (B x T per update) per env step. At ratio 512 with batches of
    16 x 64 = 1,024 steps, DreamerV3 takes one update every 2 env steps: an iteration samples a
    handful of env steps and spends nearly all of its time learning. The progress line shows it as
    `replayed/env step`. It is why DreamerV3 needs so few env steps, and why a CPU is slow at it.

How to run
    mario-rllib train --algo dreamerv3 --level 1-1 --preset gpu       # one GPU learner, size S
    mario-rllib train --algo dreamerv3 --level 1-1                    # preset "cpu": a laptop
    mario-rllib train --algo dreamerv3 --preset debug --stop-iters 2  # seconds, for tests
    mario-rllib dream <checkpoint> --out dream.gif                    # what the world model sees

Results to expect
    docs/dreamerv3.md and docs/results.md (figures live there, not here).
"""

from __future__ import annotations

from typing import Any

from custom_models.dreamer import DreamerV3Catalog, DreamerV3Config
from custom_models.dreamer.algorithm import MarioDreamerV3
from custom_models.dreamer.algorithm import progress_fields as progress_fields  # hook
from custom_models.dreamer.imagine import observe_then_imagine as observe_then_imagine  # hook
from custom_models.dreamer.learner import MarioDreamerV3Learner
from custom_models.dreamer.rl_module import MarioDreamerV3RLM
from mario_rllib.metrics import STOP_TIMESTEPS
from tune_configs.common import apply_common, resolve_settings
from tune_configs.settings import (
    COUNT,
    POSITIVE,
    Setting,
    defaults_of,
    number,
    one_of,
    rules_of,
)

ALGO = "dreamerv3"
OBS_MODE = "rgb64"  # [1]'s 64x64 RGB inputs for Atari; 12,288 bytes a step in replay
FRAME_STACK = 1  # the RSSM's recurrent state remembers the past; no stacking

SETTINGS: dict[str, Setting] = {
    # --- env ---
    "levels": Setting("1-1", None, "the stage, or stages (one drawn per episode)"),
    "action_set": Setting("simple", None, "7 actions, as PPO's"),
    # Symlog two-hot reward and critic heads handle any reward scale ([1] Section 2).
    "reward_shaping": Setting("none", None, "the game's reward as it is"),
    "max_episode_steps": Setting(None, None, "no limit: the game's clock ends each life"),
    "seed": Setting(0, None, "the first trial's seed (--seed)"),
    # --- model ---
    # [1] Appendix B: XS = 256 GRU units, CNN multiplier 24 (~8M weights)
    "model_size": Setting("XS", one_of("nano", "micro", "mini", "XXS", "XS", "S", "M", "L", "XL"),
                          "RLlib's DreamerV3 size ([1] Appendix B)"),
    # --- DreamerV3 ([1] Appendix W unless said) ---
    # RLlib's default is 1,024 (its Atari-100k setting); half of it halves the learner time per
    # env step. Not tuned for Mario.
    "training_ratio": Setting(512, POSITIVE, "replayed steps per env step"),
    "batch_size_B": Setting(16, COUNT, "sequences per batch ([1]: 16)"),
    "batch_length_T": Setting(64, COUNT, "steps per sequence ([1]: 64)"),
    "horizon_H": Setting(15, COUNT, "imagination horizon ([1]: 15)"),
    "gamma": Setting(0.997, number(0, 1, low_open=True),
                     "discount ([1]: a 333-step horizon, ~22 s of game time at frame skip 4)"),
    "gae_lambda": Setting(0.95, number(0, 1), "the critic's lambda-returns ([1] eq. 7)"),
    "entropy_scale": Setting(3e-4, number(0),
                             "the actor's fixed entropy regulariser ([1] eq. 11)"),
    "world_model_lr": Setting(1e-4, POSITIVE, "the world model's learning rate ([1])"),
    "actor_lr": Setting(3e-5, POSITIVE, "the actor's learning rate ([1])"),
    "critic_lr": Setting(3e-5, POSITIVE, "the critic's learning rate ([1])"),
    "buffer_capacity": Setting(1_000_000, COUNT,
                               "steps replay holds ([1]: 1M; 12.3 GB of 64x64x3 frames)"),
}
DEFAULTS = defaults_of(SETTINGS)


PRESETS: dict[str, dict[str, Any]] = {
    # Seconds on a CPU: XS with a tiny batch, one update per env step, sampling in the driver.
    "debug": {"batch_size_B": 2, "batch_length_T": 16, "horizon_H": 5, "training_ratio": 32,
              "buffer_capacity": 10_000},
    # A laptop: XS, sampling in the driver (DreamerV3 samples a few steps between updates; env
    # runner actors would idle and cost a weight sync per iteration), the learner on every core.
    # Batch 8 x 32 and ratio 64 (one update every 4 env steps): one XS update of 16 x 64 takes
    # 13-17 s on 2 cores, which at [1]'s ratio 512 would be one env step every 7 s.
    "cpu": {"num_env_runners": 0, "envs_per_runner": 1, "batch_size_B": 8, "batch_length_T": 32,
            "training_ratio": 64, "buffer_capacity": 100_000},
    # One GPU learner: size S ([1]'s smallest Atari size), [1]'s batch and ratio; 4 env runners x
    # 4 envs feed 16 env steps per sampling round, i.e. 8 updates per iteration.
    "gpu": {"model_size": "S", "num_env_runners": 4, "envs_per_runner": 4},
}

RULES = rules_of(SETTINGS)  # hook: what its settings allow

BENCH_LEARNER = {  # hook: `mario-rllib bench learner`'s settings (tune_configs.OPTIONAL)
    "full": {"buffer_capacity": 5_000},  # the preset's XS and its batches
    "quick": {"batch_size_B": 2, "batch_length_T": 16, "horizon_H": 5, "buffer_capacity": 1_000},
}

STOP = {STOP_TIMESTEPS: 100_000}  # Atari 100k's budget: 100k agent steps (400k frames at skip 4)
"""Default stop criteria; `mario-rllib train --stop-*` flags replace them."""


def build_config(preset: str | list[str] = "cpu", **overrides: Any) -> DreamerV3Config:
    """The DreamerV3 config for the named presets (applied left to right) and explicit overrides."""
    settings = resolve_settings(DEFAULTS, PRESETS, preset, overrides, RULES)
    config = (
        DreamerV3Config(algo_class=MarioDreamerV3)
        .learners(learner_class=MarioDreamerV3Learner)
        .training(
            model_size=settings["model_size"],
            training_ratio=settings["training_ratio"],
            batch_size_B=settings["batch_size_B"],
            batch_length_T=settings["batch_length_T"],
            horizon_H=settings["horizon_H"],
            gamma=settings["gamma"],
            gae_lambda=settings["gae_lambda"],
            entropy_scale=settings["entropy_scale"],
            world_model_lr=settings["world_model_lr"],
            actor_lr=settings["actor_lr"],
            critic_lr=settings["critic_lr"],
            replay_buffer_config={"capacity": settings["buffer_capacity"]},
        )
    )
    return apply_common(config, settings, algo=ALGO, module_class=MarioDreamerV3RLM,
                        obs_mode=OBS_MODE, frame_stack=FRAME_STACK,
                        catalog_class=DreamerV3Catalog)


def describe(config: DreamerV3Config) -> str:
    """What an iteration does: the `training_ratio` in numbers (printed by `mario-rllib train`)."""
    ratio, rows, length = config.training_ratio, config.batch_size_B, config.batch_length_T
    if not all(isinstance(value, (int, float)) for value in (ratio, rows, length)):
        return "training ratio or batch shape searched: see each trial's config"
    replayed = rows * length
    return (f"training ratio {ratio:,}: each env step is replayed {ratio:,} times; an update "
            f"replays {rows} x {length} = {replayed:,} steps, so an iteration samples about "
            f"{max(replayed / ratio, 1):g} env step(s) per update (the first fills the buffer with "
            f"{replayed:,} random steps). Few env steps/s by design: the time goes to learning.")
