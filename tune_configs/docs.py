"""docs/settings.md, written from the declarations (each experiment's `SETTINGS`, the resources,
the env options) so that it cannot drift from them; tests/tune_configs/test_docs.py checks it.

    .venv/bin/python -m tune_configs.docs docs/settings.md
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mario_rllib.env import ENV_OPTIONS
from tune_configs import EXPERIMENTS, PRESET_NAMES, load_experiment
from tune_configs.common import RESOURCE_PRESETS, _cpu_runners
from tune_configs.settings import RESOURCES

MACHINE_DEPENDENT = {"num_env_runners": "one per core",
                     "num_cpus_per_env_runner": "(cores - 1) / cores"}
"""The cpu preset's values that `_cpu_runners()` computes from this machine's cores."""


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return f"`{value}`" if isinstance(value, str) else str(value)


def _preset_value(preset: str, name: str, presets: dict[str, dict[str, Any]]) -> str:
    part = {**RESOURCE_PRESETS[preset], **presets.get(preset, {})}
    if name not in part:
        return ""
    if preset == "cpu" and name in MACHINE_DEPENDENT and name in _cpu_runners():
        return MACHINE_DEPENDENT[name]
    return _value(part[name])


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def settings_page() -> str:
    header = ["setting", "default", *PRESET_NAMES, "allowed", "what it is"]
    rule_line = "|" + "---|" * len(header)
    lines = [
        "# Settings",
        "",
        "Written by `python -m tune_configs.docs docs/settings.md` from each experiment file's "
        "`SETTINGS` (default, rule, meaning: declared once), the resources and the env options. "
        "`mario-rllib train --set NAME=VALUE` changes any of them (`--search` and `--mutate` "
        "most), `--print-config` shows what a run will use and what set each value. A preset "
        "column shows what the preset changes (blank: the default); presets apply left to right "
        "(`--preset gpu,debug`). Sources in brackets are those of each algorithm's page.",
        "",
        "## Resources (every experiment)",
        "",
        _row(header),
        rule_line,
    ]
    for name, setting in RESOURCES.items():
        lines.append(_row([f"`{name}`", _value(setting.default),
                           *(_preset_value(p, name, {}) for p in PRESET_NAMES),
                           setting.rule[1], setting.meaning]))
    lines += ["", "## The env (every experiment)", "",
              "Each experiment sets some of these itself (its table below); the rest keep "
              "`MarioEnvConfig`'s default. `obs_mode` is each experiment's own, not a setting.",
              "", _row(["setting", "flag", "default", "what it is"]), "|---|---|---|---|"]
    for option in ENV_OPTIONS:
        if option.setting:
            lines.append(_row([f"`{option.name}`", f"`{option.flag}`", _value(option.default),
                               option.meaning]))
    for algo in EXPERIMENTS:
        experiment = load_experiment(algo)
        lines += ["", f"## {algo} (`{experiment.__name__.replace('.', '/')}.py`)", "",
                  _row(header), rule_line]
        for name, setting in experiment.SETTINGS.items():
            allowed = setting.rule[1] if setting.rule else (
                "`--seed`" if name == "seed" else "see the env table")
            lines.append(_row([f"`{name}`", _value(setting.default),
                               *(_preset_value(p, name, experiment.PRESETS)
                                 for p in PRESET_NAMES),
                               allowed, setting.meaning]))
        own = [f"{preset}: " + ", ".join(f"`{name}` {_preset_value(preset, name, {preset: part})}"
                                         for name in part if name in RESOURCES)
               for preset, part in experiment.PRESETS.items()
               if any(name in RESOURCES for name in part)]
        if own:
            lines += ["", "Its presets set these resources beyond the common ones: "
                      + "; ".join(own) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/settings.md")
    target.write_text(settings_page())
    print(f"wrote {target}")
