"""The README tells the truth about the commands CI and users run."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_test_command() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- test-command:.*?-->\s*```bash\n(.+?)\n```", readme, re.S)
    assert match, "README has no marked test command"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert _readme_test_command() in ci_lines


def test_readme_cli_examples_name_real_subcommands():
    from mario_rllib.cli import SUBCOMMANDS

    readme = (ROOT / "README.md").read_text()
    used = set(re.findall(r"mario-rllib (\w+)", readme))
    assert used, "README shows no mario-rllib command"
    assert used <= set(SUBCOMMANDS), used - set(SUBCOMMANDS)
