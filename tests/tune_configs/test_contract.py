"""The contract every experiment file keeps (`tune_configs.Experiment` and its optional hooks),
checked for every algorithm of the registry. A new experiment file and its registry line are
covered here and, end to end (train, Ctrl-C, resume, evaluate, plot on `debug`), by
tests/test_experiment.py, which loops over `EXPERIMENTS` too: no test lists the algorithms."""

import math
from collections.abc import Callable

import pytest

from mario_rllib.env import register_mario_envs
from mario_rllib.experiment import check_fits_this_machine, resources_per_trial
from mario_rllib.machine import available_cpus
from tune_configs import EXPERIMENTS, OPTIONAL, PRESET_NAMES, Experiment, load_experiment, with_hook
from tune_configs.common import ENV_KEYS, RESOURCE_PRESETS, resolve_settings
from tune_configs.settings import COMMON_RULES, Setting, check_settings, defaults_of, rules_of

ALGOS = list(EXPERIMENTS)


@pytest.mark.parametrize("algo", ALGOS)
def test_the_experiment_file_exports_the_interface(algo):
    experiment = load_experiment(algo)
    assert isinstance(experiment, Experiment)
    assert experiment.ALGO == algo
    assert set(PRESET_NAMES) <= set(experiment.PRESETS)
    assert experiment.STOP and all(isinstance(key, str) for key in experiment.STOP)
    assert "levels" in experiment.DEFAULTS and "seed" in experiment.DEFAULTS
    # Every setting a preset changes is one of the experiment's, or a resource every preset has.
    resources = {key for preset in RESOURCE_PRESETS.values() for key in preset}
    for name, preset in experiment.PRESETS.items():
        assert set(preset) <= set(experiment.DEFAULTS) | resources, (name, preset)
    # The optional hooks, where given, are what OPTIONAL says.
    assert set(OPTIONAL) == {"progress_fields", "observe_then_imagine", "describe",
                             "NOT_SEARCHABLE", "RULES", "BENCH_LEARNER"}
    bench = getattr(experiment, "BENCH_LEARNER", {"full": {}, "quick": {}})
    assert set(bench) == {"full", "quick"}
    for settings in bench.values():
        experiment.build_config("cpu", **settings).validate()
    for hook in ("progress_fields", "observe_then_imagine", "describe"):
        assert isinstance(getattr(experiment, hook, print), Callable), hook
    assert isinstance(getattr(experiment, "NOT_SEARCHABLE", {}), dict)
    for name in getattr(experiment, "NOT_SEARCHABLE", {}):
        assert name in experiment.DEFAULTS, name


@pytest.mark.parametrize("algo", ALGOS)
def test_the_debug_config_builds_and_validates_and_names_its_algorithm(algo):
    register_mario_envs()
    config = load_experiment(algo).build_config("debug")
    config.validate()
    assert config.model_config["mario"]["algo"] == algo  # what checkpoints and results carry


@pytest.mark.parametrize("algo", ALGOS)
def test_the_progress_hook_reads_its_own_results_only(algo):
    """A result with none of the algorithm's metrics adds nothing to the line; NaN (a stage
    not run this iteration, RLlib's window of 1) is nothing too."""
    fields = getattr(load_experiment(algo), "progress_fields", None)
    if fields is None:
        pytest.skip(f"{algo} adds nothing to the progress line")
    assert fields({}) == ""
    assert fields({"training_intensity": math.nan, "burn_in_buffered": math.nan}) == ""


def test_dream_asks_the_registry_which_algorithms_have_a_world_model():
    dreamers = with_hook("observe_then_imagine")
    assert dreamers and set(dreamers) < set(EXPERIMENTS)
    for algo in dreamers:
        assert load_experiment(algo).observe_then_imagine.__module__.endswith(".imagine")


@pytest.mark.parametrize("algo", ALGOS)
def test_cpu_preset_fits_this_machine(algo):
    # Tune gives the trial's driver (with the local learner) 1 CPU; runners must fit the rest,
    # or the trial stays PENDING forever. At most the shared preset's ask (DreamerV3 samples in
    # its driver: 1 CPU).
    cpu = RESOURCE_PRESETS["cpu"]
    asked = 1 + cpu["num_env_runners"] * cpu["num_cpus_per_env_runner"]
    assert asked <= available_cpus() + 1e-9
    config = load_experiment(algo).build_config("cpu")
    need = resources_per_trial(config)
    assert need["CPU"] <= asked and need["GPU"] == 0
    check_fits_this_machine(config, "cpu")  # raises if not


def test_the_app_names_no_algorithm():
    """Per-algorithm knowledge lives in the experiment files: the app (outside `bench/`, which
    compares algorithms by design, and `_compat.py`, which maps old pickled class paths) names
    none. The shipped agent's name (`ppo-1-1`, a directory name) is data, not knowledge."""
    import re
    from pathlib import Path

    import mario_rllib

    names = "|".join(re.escape(algo) for algo in EXPERIMENTS)
    pattern = re.compile(rf"\b({names})\b(?!-1-1)", re.IGNORECASE)
    root = Path(mario_rllib.__file__).parent
    found = [f"{path.relative_to(root)}:{number}: {line.strip()}"
             for path in sorted(root.rglob("*.py"))
             if path.parts[len(root.parts)] != "bench" and path.name != "_compat.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("algo", ALGOS)
def test_every_setting_has_a_rule_and_every_rule_a_setting(algo):
    """A setting is checked before Ray starts (one line naming what is allowed): by the common
    rules, the experiment's own `RULES`, or, for the env's, by `MarioEnvConfig`. `seed` is the
    `--seed` flag's."""
    experiment = load_experiment(algo)
    # Declared once: DEFAULTS and RULES are SETTINGS', each with a one-line meaning.
    assert all(isinstance(setting, Setting) for setting in experiment.SETTINGS.values())
    assert experiment.DEFAULTS == defaults_of(experiment.SETTINGS)
    assert experiment.RULES == rules_of(experiment.SETTINGS)
    for name, setting in experiment.SETTINGS.items():
        assert setting.meaning and "\n" not in setting.meaning and len(setting.meaning) < 100, name
    own = getattr(experiment, "RULES", {})
    assert set(own) <= set(experiment.DEFAULTS), set(own) - set(experiment.DEFAULTS)
    unchecked = set(experiment.DEFAULTS) - set(COMMON_RULES) - set(own) - set(ENV_KEYS)
    assert unchecked == {"seed"}, unchecked
    for name, (ok, allowed, kinds) in own.items():
        assert callable(ok) and allowed and kinds, name
    for preset in PRESET_NAMES:  # every value the experiment gives passes its rules
        settings = resolve_settings(experiment.DEFAULTS, experiment.PRESETS, preset, {}, own)
        check_settings(settings, own)
