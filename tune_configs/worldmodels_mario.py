"""World Models on Super Mario Bros 1-1: V (VAE) + M (MDN-RNN) + C (linear, by CMA-ES).

This example
    runs [1]'s procedure as one RLlib Algorithm (`custom_models.worldmodels.algorithm`), a stage
    per Tune iteration: random rollouts by the env runners, written as Parquet; V, then M, on
    RLlib Learners (GPUs where the preset gives them); then CMA-ES generations (Hansen's `cma`)
    whose candidates the env runners (Ray actors) score in parallel, in the real game or, with
    `--set es_in_dream=true`, in M's dream. Settings are [1]'s (Appendix A) unless said.

    [1] Ha & Schmidhuber 2018, "Recurrent World Models Facilitate Policy Evolution" (NeurIPS),
        https://arxiv.org/abs/1809.01999, and its code (github.com/hardmaru/WorldModelsExperiments)

How to run
    mario-rllib train --algo worldmodels --level 1-1                     # preset "cpu": a laptop
    mario-rllib train --algo worldmodels --level 1-1 --preset gpu        # a GPU learner
    mario-rllib train --algo worldmodels --preset debug                  # seconds, for tests
    mario-rllib evaluate <checkpoint>        # C plays, V and M inside the agent
    mario-rllib dream <checkpoint> --out dream.gif   # V + M's imagination beside the real game

Results to expect
    docs/worldmodels.md#learning-check.
"""

from __future__ import annotations

from typing import Any

from custom_models.worldmodels.algorithm import WorldModelsConfig
from custom_models.worldmodels.algorithm import progress_fields as progress_fields  # hook
from custom_models.worldmodels.imagine import observe_then_imagine as observe_then_imagine  # hook
from custom_models.worldmodels.learner import WorldModelsLearner
from custom_models.worldmodels.rl_module import WorldModelsRLM
from tune_configs.common import apply_common, resolve_settings
from tune_configs.settings import (
    BOOL,
    COUNT,
    POSITIVE,
    Setting,
    defaults_of,
    nullable,
    number,
    rules_of,
)

ALGO = "worldmodels"
OBS_MODE = "rgb64"  # [1] Appendix A.1: 64x64 RGB frames
FRAME_STACK = 1  # M's LSTM state remembers the past

SETTINGS: dict[str, Setting] = {
    # --- env ---
    "levels": Setting("1-1", None, "the stage, or stages (one drawn per episode)"),
    "action_set": Setting("simple", None, "7 actions, as PPO's and DreamerV3's"),
    # It keeps M's reward head in a small range. CMA-ES ranks candidates, so the scale does not
    # change C's search.
    "reward_shaping": Setting("scale", None, "rewards divided by 15, as PPO's"),
    # As [1]'s CarRacing episodes: a candidate that stands still would otherwise play out the
    # game's clock (about 2,400 steps). A clear of 1-1 takes about 400-700 steps.
    "max_episode_steps": Setting(1000, None, "every episode ends after 1,000 agent steps"),
    "seed": Setting(0, None, "the first trial's seed (--seed)"),
    # --- collect ---
    # [1]: 10,000 random rollouts for CarRacing. A laptop affords a few hundred: 200 random
    # Mario episodes are on the order of 100,000 frames.
    "collect_episodes": Setting(200, COUNT, "random episodes V and M learn from"),
    "collect_episodes_per_iter": Setting(4, COUNT,
                                         "random episodes per env runner and iteration"),
    # --- V ([1] A.1, its code: Adam 1e-4, batch 100, KL floor 0.5 x z, 10 epochs) ---
    "vae_epochs": Setting(10, COUNT, "V's passes over the collected frames ([1]'s code)"),
    "vae_batch_size": Setting(100, COUNT, "frames per V update ([1]'s code)"),
    "vae_lr": Setting(1e-4, POSITIVE, "V's learning rate ([1]'s code, Adam)"),
    "shuffle_frames": Setting(20_000, COUNT,
                              "frames in V's shuffle buffer (245 MB at 64x64x3)"),
    # --- M ([1] A.2, its code: LSTM 256, 5 mixtures, Adam 1e-3, batch 100, 20 epochs) ---
    "mdn_epochs": Setting(20, COUNT, "M's passes over the encoded episodes ([1]'s code)"),
    "mdn_batch_size": Setting(32, COUNT,
                              "episodes per M update ([1]: 100; there are fewer here)"),
    "mdn_seq_len": Setting(1000, COUNT, "steps per M sequence: whole episodes, as [1]"),
    "mdn_lr": Setting(1e-3, POSITIVE, "M's learning rate ([1]'s code, Adam)"),
    # [1]'s Doom code: M's gradients clipped element-wise at 1.0, and the rare end steps weighted
    # 10x in the end head's loss (`restart_factor`), so that dreams end where the game does.
    "mdn_grad_clip": Setting(1.0, nullable(POSITIVE),
                             "M's element-wise gradient clip ([1]'s Doom code; none: off)"),
    "mdn_end_weight": Setting(10.0, number(1),
                              "the end steps' weight in M's end head ([1]: restart_factor)"),
    # --- C (CMA-ES, [1] A.3/A.4: population 64, 16 rollouts each for CarRacing) ---
    "es_population": Setting(64, number(2, integer=True), "CMA-ES candidates per generation"),
    "es_sigma0": Setting(0.1, POSITIVE, "CMA-ES's initial step size ([1]'s code)"),
    # 1-1's episodes differ only by their no-op start (0-30 no-ops; sticky actions are off).
    "es_episodes_per_candidate": Setting(1, COUNT,
                                         "episodes per candidate, from distinct starts"),
    # [1]'s code evaluates the ES mean every 25 generations over 100 episodes and keeps the best
    # so far by that score (not the luckiest single candidate).
    "es_eval_every": Setting(25, COUNT, "generations between evaluations of the ES mean"),
    "es_eval_episodes": Setting(100, COUNT, "episodes per evaluation of the ES mean"),
    "es_in_dream": Setting(False, BOOL, "score candidates in M's dream ([1] Section 4)"),
    "dream_temperature": Setting(1.15, POSITIVE,
                                 "M's sampling temperature in a dream ([1] Table 2, Doom)"),
    "dream_horizon": Setting(1000, COUNT, "imagined steps per dream, as the real limit"),
}
DEFAULTS = defaults_of(SETTINGS)


def _one_env_per_runner() -> dict[str, Any]:
    """Candidates are scored one at a time per env runner: `sample(num_episodes=k)` on a
    vector env returns the first k episodes to end, which favours short (dying) ones."""
    return {"envs_per_runner": 1}


PRESETS: dict[str, dict[str, Any]] = {
    # Seconds on a CPU. Two env runner actors of half a CPU each, so that the smoke test sees
    # candidates scored by separate actors and the trial fits a 2-core CI machine.
    "debug": {**_one_env_per_runner(), "num_env_runners": 2, "num_cpus_per_env_runner": 0.5,
              "collect_episodes": 2, "collect_episodes_per_iter": 1, "vae_epochs": 1,
              "vae_batch_size": 16, "shuffle_frames": 64, "mdn_epochs": 1, "mdn_batch_size": 2,
              "mdn_seq_len": 50, "es_population": 4, "dream_horizon": 20, "es_eval_every": 2,
              "es_eval_episodes": 3},
    # A laptop: one env runner per core (the common cpu preset), one env each; a population of
    # 16 so that a generation takes minutes, not an hour.
    # The mean is evaluated every 10 generations over 16 episodes (one generation's worth), so
    # a run of 100 generations keeps a controller chosen among 11 evaluations.
    "cpu": {**_one_env_per_runner(), "collect_episodes": 200, "es_population": 16,
            "vae_epochs": 5, "es_eval_every": 10, "es_eval_episodes": 16},
    # One GPU learner for V and M, 16 env runners scoring 64 candidates, [1]'s sizes.
    "gpu": {**_one_env_per_runner(), "collect_episodes": 2_000, "es_population": 64},
}

RULES = rules_of(SETTINGS)  # hook: what its settings allow

STOP = {"world_models/generation": 100}
"""Default stop: 100 CMA-ES generations after V and M ([1]'s CarRacing ran ~1,800, Doom ~200);
`mario-rllib train --stop-*` flags replace it."""


def build_config(preset: str | list[str] = "cpu", **overrides: Any) -> WorldModelsConfig:
    """The World Models config for the named presets (applied left to right) and overrides."""
    settings = resolve_settings(DEFAULTS, PRESETS, preset, overrides, RULES)
    config = (
        WorldModelsConfig()
        .learners(learner_class=WorldModelsLearner)
        # its own settings (those of RULES) are WorldModelsConfig's, by the same names
        .training(**{name: settings[name] for name in RULES})
    )
    return apply_common(config, settings, algo=ALGO, module_class=WorldModelsRLM,
                        obs_mode=OBS_MODE, frame_stack=FRAME_STACK)


def describe(config: WorldModelsConfig) -> str:
    """What the iterations do (printed by `mario-rllib train`)."""
    runners = max(config.num_env_runners, 1)
    where = "M's dream" if config.es_in_dream is True else "the real game"
    return (f"stages, one unit per iteration: collect {config.collect_episodes} random episodes "
            f"({config.collect_episodes_per_iter} per env runner per iteration), "
            f"{config.vae_epochs} epochs of V, {config.mdn_epochs} of M, then a CMA-ES "
            f"generation per iteration: {config.es_population} candidates scored in {where} by "
            f"{runners} env runner(s) in parallel. Stop criteria count generations.")

