"""Tune's schedulers and searchers with our algorithms: `train --scheduler asha|pbt`,
`--mutate NAME=SPACE`, `--perturb-every N` and `--searcher optuna` (docs/tune.md).

Every scheduler and searcher reads one metric, `TUNE_METRIC` (the flag rate over the last 100
episodes, then their furthest x_pos; `mario_rllib.metrics`), maximised.

What PBT's exploit does with RLlib, read off RLlib 2.60's and Tune's code:
- Tune pauses the exploited trial, gives it the donor's config with the mutations, and starts a
  new trainable with that config from the donor's last checkpoint. The algorithm, its learners
  and their optimizers are built from the new config, then the checkpoint's state is loaded:
  weights, optimizer moments, step counters, the metrics' last-100 windows (the donor's).
- Loading an optimizer's state also loads its learning rate (torch's `load_state_dict` restores
  `param_groups`), so the learner would step the whole first iteration at the donor's rate;
  RLlib sets the configured rate only after that iteration's update
  (`Learner.after_gradient_based_update`). `restore_configured_learning_rates` sets it at once.
- What the checkpoint does not hold starts anew: a replay buffer (the clone redoes its burn-in,
  as after `--resume`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ray.tune.schedulers import ASHAScheduler, PopulationBasedTraining

from mario_rllib.metrics import RESTORED, TUNE_METRIC
from tune_configs.spaces import Space

SCHEDULERS = ("asha", "pbt")
SEARCHERS = ("optuna",)
MODE = "max"
MODULE_CONFIG_KEYS = ("_model_config", "model_config")
"""Where an AlgorithmConfig's dict keeps the RLModule's settings."""


@dataclasses.dataclass(frozen=True)
class Mutation:
    """A `--mutate` item: its setting, its space and where RLlib's config dict holds it."""

    name: str
    space: Space
    path: tuple[str, ...]

    def nested(self, value: Any) -> dict[str, Any]:
        """{path[0]: {path[1]: ... value}}: how Tune's PBT names a config entry."""
        for key in reversed(self.path):
            value = {key: value}
        return value

    def clamp(self, value: Any) -> Any:
        """A perturbed value back into its range: Tune multiplies by 0.8 or 1.2 without bounds,
        and the range's ends are what was checked against the setting's rule."""
        if self.space.kind not in ("uniform", "loguniform", "randint"):
            return value
        low, high = self.space.ends()
        value = min(max(value, low), high)
        return int(round(value)) if self.space.kind == "randint" else value


def config_differences(a: Any, b: Any,
                       path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any, Any]]:
    """(path, a's value, b's value) wherever two configs (nested dicts) differ."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return [found for key in sorted(set(a) | set(b), key=str)
                for found in config_differences(a.get(key), b.get(key), (*path, key))]
    if callable(a) and callable(b):  # connectors' bound methods: equal, not identical
        return []
    try:
        same = bool(a == b)
    except (TypeError, ValueError):
        same = False
    return [] if same else [(path, a, b)]


def find_mutation(name: str, space: Space, build: Callable[[Any], Any]) -> Mutation:
    """Where RLlib's config holds the setting `name`, found by building the config (`build`:
    value -> AlgorithmConfig) at two of the space's values and comparing RLlib's dicts. PBT can
    change a setting only where the config holds it as given: one entry, outside the RLModule's
    settings (an exploited trial loads the donor's weights into a network of the same shape).
    A one-line ValueError else."""
    first, second = space.ends()[0], space.ends()[-1]
    if first == second:
        raise ValueError(f"bad --mutate {name}: a space of one value mutates nothing")
    found = config_differences(build(first).to_dict(), build(second).to_dict())
    where = [path for path, a, b in found if (a, b) == (first, second)]
    if not found:
        raise ValueError(f"cannot mutate {name!r}: RLlib's config is the same at {first} and "
                         f"{second}")
    if len(found) != 1 or len(where) != 1:
        raise ValueError(f"cannot mutate {name!r}: the experiment derives RLlib's settings from it "
                         f"({', '.join('.'.join(path) for path, _, _ in found[:3])}); "
                         f"search it with --search instead")
    if where[0][0] in MODULE_CONFIG_KEYS:
        raise ValueError(f"cannot mutate {name!r}: it is the RLModule's, built once per trial, and "
                         f"an exploited trial loads the donor's module; search it with --search")
    return Mutation(name, space, where[0])


def to_pbt_space(space: Space) -> Any:
    """PBT's mutation spec: a list for a choice (PBT moves to a neighbouring value), a Tune
    distribution for a range (PBT multiplies by 0.8 or 1.2, or resamples)."""
    return list(space.values) if space.kind in ("choice", "grid") else space.to_tune()


def build_scheduler(kind: str | None, *, mutations: Mapping[str, Mutation], perturb_every: int,
                    max_iters: int | None, grace_period: int, seed: int):
    """Tune's scheduler for `--scheduler` (None: Tune's default, FIFO)."""
    if kind is None:
        return None
    if kind == "asha":
        return ASHAScheduler(time_attr="training_iteration", metric=TUNE_METRIC, mode=MODE,
                             max_t=max_iters or 10_000, grace_period=grace_period,
                             reduction_factor=2)
    hyperparam_mutations: dict[str, Any] = {}
    for mutation in mutations.values():
        _merge(hyperparam_mutations, mutation.nested(to_pbt_space(mutation.space)))

    import random

    random.seed(seed)  # PBT draws its perturbations from Python's random module
    return OwnSeedPBT(
        time_attr="training_iteration", metric=TUNE_METRIC, mode=MODE,
        perturbation_interval=perturb_every, hyperparam_mutations=hyperparam_mutations,
        custom_explore_fn=ClampToRanges(tuple(mutations.values())), log_config=True,
        # The population is ranked when all of it reached the interval (synchronous PBT): the
        # same exploits whatever order the trials ran in, and a laptop can run them in turns.
        synch=True)


@dataclasses.dataclass(frozen=True)
class ClampToRanges:
    """PBT's `custom_explore_fn`: each mutated value back into its range (`Mutation.clamp`)."""

    mutations: tuple[Mutation, ...]

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        for mutation in self.mutations:
            *parents, key = mutation.path
            holder = config
            for parent in parents:
                holder = holder[parent]
            holder[key] = mutation.clamp(holder[key])
        return config


class OwnSeedPBT(PopulationBasedTraining):
    """Tune's PBT, but an exploited trial keeps its own seed: Tune copies the donor's whole
    config, seed included, and the clone would then replay the donor's episodes (the same no-op
    starts, the same sampled actions) with only the mutated settings changed."""

    def _get_new_config(self, trial, trial_to_clone):
        new_config, operations = super()._get_new_config(trial, trial_to_clone)
        new_config["seed"] = trial.config["seed"]
        return new_config, operations


def _merge(into: dict[str, Any], nested: Mapping[str, Any]) -> None:
    for key, value in nested.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def build_searcher(kind: str | None, seed: int, max_concurrent: int | None = None):
    """Tune's searcher for `--searcher` (None: Tune's random search, seeded), running at most
    `max_concurrent` trials at once."""
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.basic_variant import BasicVariantGenerator

    if kind is None:  # (Tune's max_concurrent_trials ignores a generator: it takes its own)
        return BasicVariantGenerator(random_state=seed, max_concurrent=max_concurrent or 0)
    try:
        import optuna  # noqa: F401
        from ray.tune.search.optuna import OptunaSearch
    except ImportError:
        raise ValueError("bad --searcher optuna: optuna is not installed (pip install "
                         "'mario-rllib[tune]')") from None
    import optuna

    searcher = OptunaSearch(metric=TUNE_METRIC, mode=MODE,
                            sampler=optuna.samplers.TPESampler(seed=seed))
    return ConcurrencyLimiter(searcher, max_concurrent) if max_concurrent else searcher


GLOBAL_POLICY_FILE = "pbt_global.txt"
"""Tune's PBT log of an experiment (`log_config=True`): one JSON line per exploit, in order: [the
exploited trial's tag, the donor's tag, its iteration, the donor's iteration, the donor's
config, its new config]. A tag begins with the trial's index (`3_lr=...`), the end of its id."""


def exploits(experiment) -> list[dict[str, Any]]:
    """The exploits of a PBT experiment (a `Location`), in order: {"trial", "donor" (directory
    names), "config" (the trial's new one), "iteration" (the trial's first as the clone) and
    "donor_iteration" (of the checkpoint it cloned)}; [] for none.

    Tune's log names the trials and the configs; its iterations are each trial's last result's,
    which lag for a trial paused at the interval. The iterations come from the trial's results
    instead: the note of the checkpoint's load (`RESTORED`) in its first result as the clone,
    the first such result whose mutated settings are the exploit's."""
    import json

    log = experiment / GLOBAL_POLICY_FILE
    if not log.is_file():
        return []
    trials = {trial.name: trial for trial in experiment.children("trial_*", dirs=True)}
    by_index = {int(name.rsplit("_", 1)[1]): name for name in trials}
    mutated = _mutated_paths(experiment)
    restores: dict[str, list[dict]] = {}
    found = []
    for row in log.read_text().splitlines():
        tag, donor_tag, _, _, _, config = json.loads(row)
        trial = by_index[int(tag.split("_", 1)[0])]
        if trial not in restores:
            result_file = trials[trial] / "result.json"
            restores[trial] = [result for line in (result_file.read_text().splitlines()
                                                   if result_file.is_file() else [])
                               if RESTORED in (result := json.loads(line))]
        rows = restores[trial]
        match = next((i for i, result in enumerate(rows)
                      if all(_at(result.get("config", {}), path) == _at(config, path)
                             for path in mutated.values())), None)
        result = rows.pop(match) if match is not None else {}
        found.append({"trial": trial, "donor": by_index[int(donor_tag.split("_", 1)[0])],
                      "config": config, "iteration": result.get("training_iteration"),
                      "donor_iteration": result.get(RESTORED, {}).get("iteration")})
    return found


def _at(config: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        config = config.get(key) if isinstance(config, Mapping) else None
    return config


def _mutated_paths(experiment) -> dict[str, tuple[str, ...]]:
    """{setting: its path in RLlib's config} of the `--mutate` items the experiment recorded."""
    import json

    from mario_rllib.experiment import EXPERIMENT_FILE

    meta_file = experiment / EXPERIMENT_FILE
    meta = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    return {name: tuple(spec["path"].split("."))
            for name, spec in (meta.get("tune") or {}).get("mutate", {}).items()}


def lineage(experiment) -> dict[str, list[str]]:
    """What each trial of a PBT experiment ran: its mutated settings from the start, then at each
    exploit the trial it cloned, from which iteration and agent step, and the settings it went
    on with. {trial directory name: lines}; {} for no PBT experiment. `experiment`: a
    `Location` (a directory, or a prefix in a bucket)."""
    import json

    mutated = _mutated_paths(experiment)
    if not mutated:
        return {}

    def settings(config: Mapping[str, Any]) -> str:
        values = {name: _at(config, path) for name, path in mutated.items()}
        return ", ".join(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}"
                         for name, value in values.items())

    history = exploits(experiment)
    found: dict[str, list[str]] = {}
    for trial in sorted(experiment.children("trial_*", dirs=True), key=lambda t: t.name):
        # Tune rewrites params.json at an exploit: the first result's config is the first one.
        config = json.loads((trial / "params.json").read_text())
        steps = {}
        if (trial / "result.json").is_file():
            for number, row in enumerate((trial / "result.json").read_text().splitlines()):
                result = json.loads(row)
                config = result.get("config", config) if number == 0 else config
                steps[result["training_iteration"]] = result.get("num_env_steps_sampled_lifetime")
        lines = [f"{trial.name}: {settings(config)} from the start"]
        for exploit in (e for e in history if e["trial"] == trial.name):
            at = exploit["iteration"]
            where = f" ({steps[at]:,.0f} agent steps)" if steps.get(at) is not None else ""
            lines.append(f"  from iteration {at}{where}: a clone of {exploit['donor']} at its "
                         f"iteration {exploit['donor_iteration']}, {settings(exploit['config'])}")
        found[trial.name] = lines
    return found
