"""docs/settings.md is what the declarations say (each experiment's SETTINGS, the resources,
the env options): regenerate it with `python -m tune_configs.docs docs/settings.md`."""

from pathlib import Path

from tune_configs import EXPERIMENTS, load_experiment
from tune_configs.docs import settings_page

PAGE = Path(__file__).parents[2] / "docs" / "settings.md"


def test_the_settings_page_is_the_declarations():
    assert PAGE.read_text() == settings_page(), (
        "docs/settings.md is stale: run .venv/bin/python -m tune_configs.docs docs/settings.md")


def test_every_setting_of_every_experiment_has_a_row_with_its_meaning():
    page = PAGE.read_text()
    for algo in EXPERIMENTS:
        section = page.split(f"## {algo} (")[1].split("\n## ")[0]
        for name, setting in load_experiment(algo).SETTINGS.items():
            assert f"| `{name}` |" in section and setting.meaning in section, (algo, name)
