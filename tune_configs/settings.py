"""What a setting may be: `--set NAME=VALUE` parsed by the setting's type, and each value checked
before anything starts (one line naming the setting and what is allowed).

A setting's type is declared with its rule (`COMMON_RULES`, and each experiment's own `RULES`:
`gpus_per_learner` is a number, so 0.5 is allowed; DQN's `epsilon` a number or a schedule),
else read off the values the experiment itself gives it (its defaults and presets): `double_q`
is a bool, so `--set double_q=False` is False (not the truthy string 'False');
`max_episode_steps` may be None, so `--set max_episode_steps=none` lifts a preset's limit.
"""

from __future__ import annotations

import dataclasses
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


def number(low: float | None = None, high: float | None = None, *, integer: bool = False,
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


def one_of(*choices: Any) -> Rule:
    return ((lambda value: value in choices), f"one of {', '.join(map(str, choices))}",
            {type(choice) for choice in choices})


def nullable(rule: Rule) -> Rule:
    """The rule, or None ('none' on the command line: no clipping, no annealing...)."""
    ok, allowed, types = rule
    return (lambda value: value is None or ok(value)), f"{allowed} or none", types | {type(None)}


BOOL: Rule = ((lambda value: isinstance(value, bool)), "true or false", {bool})
POSITIVE = number(0, low_open=True)
COUNT = number(1, integer=True)

@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting, declared once (as CleanRL's `Args` fields are): its default, its rule (what
    it allows, and so the type `--set` parses it as; None for the env's, which `MarioEnvConfig`
    checks, and `seed`, a flag's) and a one-line meaning (what it does; where its value comes
    from). `--print-config`, `--set`, `--search`, `--mutate` and docs/settings.md read it."""

    default: Any
    rule: Rule | None
    meaning: str


def defaults_of(settings: Mapping[str, Setting]) -> dict[str, Any]:
    return {name: setting.default for name, setting in settings.items()}


def rules_of(settings: Mapping[str, Setting]) -> dict[str, Rule]:
    return {name: setting.rule for name, setting in settings.items() if setting.rule is not None}


RESOURCES: dict[str, Setting] = {
    "num_env_runners": Setting(1, number(0, integer=True), "env runner actors that sample (0: "
                               "the trial's driver samples)"),
    "envs_per_runner": Setting(1, COUNT, "envs each env runner steps in one batch"),
    "num_cpus_per_env_runner": Setting(1, POSITIVE, "CPUs Ray reserves per env runner"),
    "num_learners": Setting(0, number(0, integer=True), "learner actors (0: learn in the "
                            "trial's driver)"),
    "gpus_per_learner": Setting(0, number(0), "GPUs per learner (fractions share one)"),
}
"""The resources every experiment has, before any preset: one env runner, the learner in the
trial's driver (`tune_configs.common.RESOURCE_PRESETS` sets them per preset)."""

COMMON_RULES: dict[str, Rule] = rules_of(RESOURCES)
"""The rules of the settings every experiment has; each experiment file declares its own
(`SETTINGS`, hence its `RULES` hook); env settings are checked by `MarioEnvConfig`."""


def is_searched(value: Any) -> bool:
    """A Tune search space in a setting's place: a grid, or a distribution to draw from
    (`tune_configs.spaces`)."""
    from ray.tune.search.sample import Domain

    return isinstance(value, Domain) or (isinstance(value, dict) and "grid_search" in value)


def check_settings(settings: Mapping[str, Any], rules: Mapping[str, Rule] | None = None) -> None:
    """A one-line ValueError for the first value a setting does not allow, by `COMMON_RULES`
    and the experiment's `rules` (searched settings are checked point by point, by building
    each point's config)."""
    rules = {**COMMON_RULES, **(rules or {})}
    for name, value in settings.items():
        if is_searched(value) or name not in rules:
            continue
        ok, allowed, _ = rules[name]
        if not ok(value):
            raise ValueError(f"bad setting {name}={value!r}: expected {allowed}")
    batch, minibatch = settings.get("train_batch_size"), settings.get("minibatch_size")
    if isinstance(batch, int) and isinstance(minibatch, int) and minibatch > batch:
        raise ValueError(f"bad setting minibatch_size={minibatch}: expected at most "
                         f"train_batch_size ({batch})")
