"""What a setting may be: `--set NAME=VALUE` parsed by the setting's type, and each value checked
before anything starts (one line naming the setting and what is allowed).

A setting's type is declared with its rule (`RULES`: `gpus_per_learner` is a number, so 0.5 is
allowed; `epsilon` a number or a schedule), else read off the values the experiment itself gives
it (its defaults and presets): `double_q` is a bool, so `--set double_q=False` is False (not the
truthy string 'False'); `max_episode_steps` may be None, so `--set max_episode_steps=none` lifts
a preset's limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

FLAG_ONLY = {"seed": "--seed", "preset": "--preset"}
"""Not settings but flags of their own; `--set` of them is refused in one line naming the flag."""


def setting_types(*sources: Iterable[Mapping[str, Any]] | Mapping[str, Any]) -> dict[str, set]:
    """name -> the types of every value the given settings dicts (or iterables of them) give it."""
    types: dict[str, set] = {}
    for source in sources:
        for values in ([source] if isinstance(source, Mapping) else source):
            for name, value in values.items():
                types.setdefault(name, set()).add(type(value))
    return types


def _describe(types: set) -> str:
    words = {bool: "true or false", int: "an integer", float: "a number", list: "a JSON list",
             str: "a text", type(None): "none"}
    if float in types:  # a number covers the integers
        types = types - {int}
    return " or ".join(dict.fromkeys(word for kind, word in words.items() if kind in types))


def parse_value(name: str, text: str, types: Mapping[str, set], flag: str = "--set") -> Any:
    """The value of `NAME=TEXT` (given with `flag`: --set, --search or a setting's own flag)
    for a setting of the given types; a one-line ValueError else."""
    given = f"{flag} {name}={text}" if flag in ("--set", "--search") else f"{flag} {text}"
    if name in FLAG_ONLY:
        raise ValueError(f"bad {flag} {name}={text}: {name} is a flag of its own, use "
                         f"{FLAG_ONLY[name]} {text}")
    if name not in types:
        raise ValueError(f"unknown setting {name!r}: expected one of {', '.join(sorted(types))}")
    kinds, word = types[name], text.strip()
    lower = word.lower()
    if lower in ("none", "null") and type(None) in kinds:
        return None
    if bool in kinds and lower in ("true", "false"):
        return lower == "true"
    if int in kinds or float in kinds:
        try:
            number = float(word.replace("_", ""))
        except ValueError:
            number = math.nan
        written_as_int = word.lstrip("+-").replace("_", "").isdigit()
        if math.isfinite(number) and (float in kinds or number.is_integer()):
            return int(number) if int in kinds and (written_as_int or float not in kinds) \
                else number
    if list in kinds:
        try:
            value = json.loads(word)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list):
            return value
    if str in kinds:
        return word
    raise ValueError(f"bad {given}: expected {_describe(kinds)}")


Rule = tuple[Callable[[Any], bool], str, set]
"""(does a value pass, what is allowed in words, the types `--set` parses it as)."""


def _number(low: float | None = None, high: float | None = None, *, integer: bool = False,
            low_open: bool = False) -> Rule:
    def ok(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if integer and not float(value).is_integer():
            return False
        if not math.isfinite(value):
            return False
        if low is not None and (value <= low if low_open else value < low):
            return False
        return high is None or value <= high

    kind = "an integer" if integer else "a number"
    if low is not None and high is not None:
        allowed = f"{kind} in {'(' if low_open else '['}{low:g}, {high:g}]"
    elif low is not None:
        allowed = f"{kind} {'>' if low_open else '>='} {low:g}"
    else:
        allowed = kind
    return ok, allowed, {int} if integer else {int, float}


def _one_of(*choices: Any) -> Rule:
    return ((lambda value: value in choices), f"one of {', '.join(map(str, choices))}",
            {type(choice) for choice in choices})


def _epsilon_schedule(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return 0 <= value <= 1
    return isinstance(value, list) and bool(value) and all(
        isinstance(point, list) and len(point) == 2 and _number(0)[0](point[0])
        and _number(0, 1)[0](point[1]) for point in value)


_BOOL = ((lambda value: isinstance(value, bool)), "true or false", {bool})
_POSITIVE = _number(0, low_open=True)
_COUNT = _number(1, integer=True)
_SIZES = ("nano", "micro", "mini", "XXS", "XS", "S", "M", "L", "XL")  # RLlib's DreamerV3 sizes

RULES: dict[str, Rule] = {
    # resources
    "num_env_runners": _number(0, integer=True), "envs_per_runner": _COUNT,
    "num_cpus_per_env_runner": _POSITIVE, "num_learners": _number(0, integer=True),
    "gpus_per_learner": _number(0),
    # optimisation, any algorithm
    "lr": _POSITIVE, "world_model_lr": _POSITIVE, "actor_lr": _POSITIVE, "critic_lr": _POSITIVE,
    "gamma": _number(0, 1, low_open=True), "grad_clip": _POSITIVE,
    "train_batch_size": _COUNT, "encoder": _one_of("nature", "impala"),
    # PPO
    "lambda_": _number(0, 1), "clip_param": _POSITIVE, "vf_clip_param": _POSITIVE,
    "vf_loss": _one_of("huber", "squared"),
    "entropy_coeff": _number(0), "vf_loss_coeff": _number(0), "num_epochs": _COUNT,
    "minibatch_size": _COUNT, "use_kl_loss": _BOOL, "lr_anneal_steps": _COUNT,
    # DQN
    "n_step": _COUNT, "training_intensity": _POSITIVE, "learning_starts": _number(0, integer=True),
    "target_update_freq": _COUNT, "buffer_capacity": _COUNT, "compress_frames": _BOOL,
    "per_alpha": _number(0), "per_beta": _number(0, 1), "beta_anneal_steps": _COUNT,
    "epsilon": (_epsilon_schedule, "a number in [0, 1] or a schedule [[agent_step, epsilon], "
                "...]", {int, float, list}),
    "evaluation_epsilon": _number(0, 1), "double_q": _BOOL,
    "td_error_loss_fn": _one_of("huber", "mse"), "steps_per_iteration": _COUNT,
    # DreamerV3
    "model_size": _one_of(*_SIZES), "training_ratio": _POSITIVE, "batch_size_B": _COUNT,
    "batch_length_T": _COUNT, "horizon_H": _COUNT, "gae_lambda": _number(0, 1),
    "entropy_scale": _number(0),
    # World Models
    "collect_episodes": _COUNT, "collect_episodes_per_iter": _COUNT, "vae_epochs": _COUNT,
    "vae_batch_size": _COUNT, "vae_lr": _POSITIVE, "shuffle_frames": _COUNT, "mdn_epochs": _COUNT,
    "mdn_batch_size": _COUNT, "mdn_seq_len": _COUNT, "mdn_lr": _POSITIVE,
    "mdn_grad_clip": _POSITIVE, "mdn_end_weight": _number(1),
    "es_population": _number(2, integer=True), "es_sigma0": _POSITIVE,
    "es_episodes_per_candidate": _COUNT, "es_eval_every": _COUNT, "es_eval_episodes": _COUNT,
    "es_in_dream": _BOOL, "dream_temperature": _POSITIVE,
    "dream_horizon": _COUNT,
    # latent DQN
    "phase_updates": _COUNT,
}
"""What each setting allows, and the types `--set` parses it as. Env settings are checked by
`MarioEnvConfig`; other settings are parsed by the types of the values the experiment gives
them."""

NULLABLE = {"grad_clip", "mdn_grad_clip", "beta_anneal_steps", "lr_anneal_steps", "max_episode_steps"}
"""Settings for which None means 'none' (no clipping, no annealing, no time limit)."""


def is_searched(value: Any) -> bool:
    return isinstance(value, dict) and "grid_search" in value


def check_settings(settings: Mapping[str, Any]) -> None:
    """A one-line ValueError for the first value a setting does not allow (searched settings are
    checked point by point, by building each point's config)."""
    for name, value in settings.items():
        if is_searched(value) or name not in RULES or (value is None and name in NULLABLE):
            continue
        ok, allowed, _ = RULES[name]
        if not ok(value):
            raise ValueError(f"bad setting {name}={value!r}: expected {allowed}")
    batch, minibatch = settings.get("train_batch_size"), settings.get("minibatch_size")
    if isinstance(batch, int) and isinstance(minibatch, int) and minibatch > batch:
        raise ValueError(f"bad setting minibatch_size={minibatch}: expected at most "
                         f"train_batch_size ({batch})")
