"""Search spaces of `train --search`: a grid, or a distribution that Tune samples.

    NAME=V1,V2,...              a grid: every value is a trial (Tune's `grid_search`)
    NAME=uniform:LOW:HIGH       a number drawn uniformly from [LOW, HIGH] (`tune.uniform`)
    NAME=loguniform:LOW:HIGH    a number whose log is uniform in [log LOW, log HIGH], LOW > 0
                                (`tune.loguniform`: learning rates)
    NAME=randint:LOW:HIGH       an integer in LOW..HIGH-1, HIGH excluded as in Python and Tune
                                (`tune.randint`)
    NAME=choice:V1,V2,...       one of the values, drawn (`tune.choice`)

Drawn spaces take `--num-samples N` draws (each with its own seed). Every value a space can
give is checked against the setting's rule before Ray starts: each grid or choice value, and a
range's two ends (a rule is an interval, so its ends decide).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ray import tune
from ray.tune.search.sample import Categorical, Domain, Float, Integer, LogUniform

from tune_configs.settings import parse_value

RANGES = ("uniform", "loguniform", "randint")
FORMS = (*RANGES, "choice")


@dataclass(frozen=True)
class Space:
    """A parsed `--search` item: `kind` is 'grid', 'choice' or one of `RANGES`; `values` the
    grid's or choice's values, or a range's (low, high)."""

    kind: str
    values: tuple[Any, ...]

    @property
    def drawn(self) -> bool:
        return self.kind != "grid"

    def ends(self) -> list[Any]:
        """The values whose check covers every value the space can give."""
        if self.kind == "randint":
            return [self.values[0], self.values[1] - 1]
        return list(self.values)

    def text(self) -> list[Any] | str:
        """As recorded and printed: a grid's values, else the `--search` form."""
        if self.kind == "grid":
            return list(self.values)
        if self.kind == "choice":
            return "choice:" + ",".join(map(str, self.values))
        return f"{self.kind}:{self.values[0]:g}:{self.values[1]:g}"

    def to_tune(self) -> Any:
        """What Tune's param space holds for it."""
        if self.kind == "grid":
            return tune.grid_search(list(self.values))
        if self.kind == "choice":
            return tune.choice(list(self.values))
        return getattr(tune, self.kind)(*self.values)


def parse_space(name: str, text: str, types: Mapping[str, set]) -> Space:
    """`--search NAME=TEXT` for a setting of the given types; a one-line ValueError for a bad
    form, a value the setting's type does not parse, or an empty range."""
    given = f"--search {name}={text}"
    form, sep, rest = text.partition(":")
    if not sep or form not in FORMS:
        if sep and form.isalpha():
            raise ValueError(f"bad {given}: unknown form {form!r}, expected V1,V2,... or one of "
                             f"{', '.join(f'{f}:...' for f in FORMS)}")
        return Space("grid", tuple(parse_value(name, value, types, "--search")
                                   for value in text.split(",")))
    if form == "choice":
        return Space("choice", tuple(parse_value(name, value, types, "--search")
                                     for value in rest.split(",")))
    ends = rest.split(":")
    kinds = types.get(name, set())
    if len(ends) != 2:
        raise ValueError(f"bad {given}: expected {form}:LOW:HIGH")
    integer = form == "randint"
    if (int if integer else float) not in kinds:
        raise ValueError(f"bad {given}: {name} is not {'an integer' if integer else 'a real'} "
                         f"setting; use {name}=V1,V2 or {name}=choice:V1,V2")
    numeric = {int} if integer else {float, int}
    low, high = (parse_value(name, end, {name: numeric}, "--search") for end in ends)
    if integer and not all(isinstance(end, int) for end in (low, high)):
        raise ValueError(f"bad {given}: randint takes integers")
    if not low < high:
        raise ValueError(f"bad {given}: expected LOW < HIGH"
                         + (" (HIGH is excluded)" if integer and low == high else ""))
    if form == "randint" and high - low < 2:
        raise ValueError(f"bad {given}: randint:{low}:{high} gives only {low} (HIGH is excluded)")
    if form == "loguniform" and low <= 0:
        raise ValueError(f"bad {given}: loguniform needs LOW > 0")
    return Space(form, (float(low), float(high)) if not integer else (low, high))


def scaled(value: Any, factor: float) -> Any:
    """`value * factor` for a setting that may hold a search space (a grid, choice, uniform or
    loguniform over numbers): the same space, scaled."""
    if isinstance(value, dict) and "grid_search" in value:
        return tune.grid_search([item * factor for item in value["grid_search"]])
    if isinstance(value, Categorical):
        return tune.choice([item * factor for item in value.categories])
    if isinstance(value, Float):
        make = tune.loguniform if isinstance(value.sampler, LogUniform) else tune.uniform
        return make(value.lower * factor, value.upper * factor)
    if isinstance(value, Domain):
        raise ValueError(f"cannot scale the search space {value!r}")
    return value * factor


def largest(value: Any) -> Any:
    """The largest value a setting that may hold a search space can take."""
    if isinstance(value, dict) and "grid_search" in value:
        return max(value["grid_search"])
    if isinstance(value, Categorical):
        return max(value.categories)
    if isinstance(value, Integer):
        return value.upper - 1
    if isinstance(value, Float):
        return value.upper
    return value
