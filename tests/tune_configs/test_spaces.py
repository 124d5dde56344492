"""`--search`'s spaces (`tune_configs/spaces.py`): the grammar, and every experiment's settings
drawn by Tune's own variant generator into configs that RLlib validates. No Ray."""

import math

import pytest
from ray.tune.search.sample import Categorical, Float, Integer, LogUniform
from ray.tune.search.variant_generator import generate_variants

from mario_rllib.experiment import TrainRequest, build_param_space, not_searchable
from tune_configs import EXPERIMENTS, load_experiment
from tune_configs.common import experiment_setting_types
from tune_configs.spaces import Space, largest, parse_space, scaled

PPO_TYPES = experiment_setting_types(load_experiment("ppo"))


@pytest.mark.parametrize("text, kind, values, tune_type", [
    ("1e-4,3e-4", "grid", (1e-4, 3e-4), dict),
    ("loguniform:1e-5:1e-3", "loguniform", (1e-5, 1e-3), Float),
    ("uniform:0:0.02", "uniform", (0.0, 0.02), Float),
    ("choice:1e-4,3e-4", "choice", (1e-4, 3e-4), Categorical),
])
def test_the_forms_of_a_real_setting(text, kind, values, tune_type):
    space = parse_space("lr", text, PPO_TYPES)
    assert (space.kind, space.values) == (kind, values)
    assert isinstance(space.to_tune(), tune_type)


def test_randint_excludes_high_as_tune_does_and_checks_both_ends():
    space = parse_space("num_epochs", "randint:3:11", PPO_TYPES)
    assert space == Space("randint", (3, 11))
    assert space.ends() == [3, 10]
    domain = space.to_tune()
    assert isinstance(domain, Integer) and (domain.lower, domain.upper) == (3, 11)
    assert set(domain.sample(size=500)) == set(range(3, 11))  # Tune's own draws: 3..10
    assert space.text() == "randint:3:11"


def test_choice_parses_each_value_by_the_settings_type():
    assert parse_space("encoder", "choice:nature,impala", PPO_TYPES).values == ("nature", "impala")
    assert parse_space("use_kl_loss", "choice:true,false", PPO_TYPES).values == (True, False)
    with pytest.raises(ValueError, match=r"^bad --search use_kl_loss=maybe: expected true or"):
        parse_space("use_kl_loss", "choice:maybe", PPO_TYPES)


def test_a_scaled_space_is_the_same_distribution_scaled():
    domain = scaled(parse_space("lr", "loguniform:1e-5:1e-3", PPO_TYPES).to_tune(), 2)
    assert isinstance(domain.sampler, LogUniform) and (domain.lower, domain.upper) == (2e-5, 2e-3)
    assert scaled({"grid_search": [1, 2]}, 3) == {"grid_search": [3, 6]}
    assert scaled(parse_space("lr", "choice:1,2", PPO_TYPES).to_tune(), 2).categories == [2, 4]
    assert largest(parse_space("num_epochs", "randint:3:11", PPO_TYPES).to_tune()) == 10
    assert scaled(4, 0.5) == 2 and largest(4) == 4


def _drawn_spaces(algo: str) -> list[str]:
    """A drawn `--search` item for every numeric setting of the experiment that it lets search,
    from its default's neighbourhood (the default at one end)."""
    experiment = load_experiment(algo)
    types, refused = experiment_setting_types(experiment), not_searchable(experiment)
    items = []
    for name, value in experiment.DEFAULTS.items():
        if name in refused or isinstance(value, bool) or not isinstance(value, (int, float)) \
                or value <= 0:
            continue
        if float in types[name]:
            items.append(f"{name}=uniform:{value / 2:g}:{value:g}")
        else:
            items.append(f"{name}=randint:{value}:{value + 2}")
    return items


@pytest.mark.parametrize("algo", list(EXPERIMENTS))
def test_every_numeric_setting_can_be_drawn_and_every_draw_validates(algo):
    """Tune's variant generator draws each trial's settings; every trial's config, rebuilt as
    RLlib does on the trial's side, validates, and each drawn setting lands in its range where
    the experiment puts it (scaled ones such as latent DQN's `training_intensity` included)."""
    items = _drawn_spaces(algo)
    assert len(items) >= 3, items
    experiment, config = build_param_space(TrainRequest(algo=algo, preset="debug", search=items,
                                                        num_samples=2))
    variants = [variant for _, variant in generate_variants(config.to_dict())]
    assert len(variants) == 2
    assert sorted(variant["seed"] for variant in variants) == [0, 1]
    for variant in variants:
        trial_config = type(config).from_dict(variant)
        trial_config.validate()
        assert not any(isinstance(value, (Float, Integer, Categorical))
                       for value in variant.values())
    if hasattr(experiment, "describe"):
        assert experiment.describe(config)
    # The draws differ between the two trials (a fresh draw per trial, not one per experiment).
    drawn = [name.partition("=")[0] for name in items if "uniform:" in name]
    if drawn:
        first, second = (experiment_values(algo, v, drawn[0]) for v in variants)
        assert first != second and all(math.isfinite(x) for x in (first, second))


def experiment_values(algo: str, variant: dict, name: str) -> float:
    """Where a drawn setting landed in a trial's config: RLlib's key of the same name, else
    the learner's or the module's config."""
    for where in (variant, variant.get("learner_config_dict") or {},
                  variant.get("_model_config") or {}):
        if name in where:
            return where[name]
    flat = {key: value for block in variant.values() if isinstance(block, dict)
            for key, value in block.items()}
    return flat.get(name, math.nan)
