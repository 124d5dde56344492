"""The README tells the truth about the commands CI and users run."""

import os
import re
from pathlib import Path

import pytest

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


def _command_lines():
    """Every `mario-rllib ...` line in the code blocks of README.md and docs/*.md."""
    import shlex

    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```[a-z]*\n(.*?)```", page.read_text(), re.S):
            for line in block.splitlines():
                for part in line.removeprefix("$ ").split("&&"):
                    if not part.strip().split(" ")[0].endswith("mario-rllib"):
                        continue  # not a command line (a layout, a command's output)
                    words = shlex.split(part, comments=True)
                    # (`mario-rllib play: error: ...` is a command's output, not a command)
                    if words and words[0].endswith("mario-rllib") and not (
                            len(words) > 1 and words[1].endswith(":")):
                        yield page.name, words[1:]


def test_every_documented_command_line_parses():
    import pytest

    from mario_rllib.cli import build_parser

    lines = list(_command_lines())
    assert len(lines) > 20
    for page, args in lines:
        args = [arg for arg in args if arg != "..."]
        if len(args) <= 1:  # `mario-rllib train ...` points at a section; `--help` exits
            continue
        try:
            build_parser().parse_args(args)
        except SystemExit:
            pytest.fail(f"{page}: `mario-rllib {' '.join(args)}` does not parse")


@pytest.mark.slow
def test_the_quick_check_runs_as_printed(tmp_path, cli):
    """README's quick check, line by line, from a fresh working directory with the default
    ./ray_results: what a user types."""
    import shlex

    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- quick-check -->\s*```bash\n(.+?)\n```", readme, re.S).group(1)
    lines = [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
    assert [words[:2] for words in lines] == [["mario-rllib", "train"], ["mario-rllib",
                                              "evaluate"], ["mario-rllib", "plot"],
                                             ["mario-rllib", "train"]]
    as_a_user = {k: v for k, v in os.environ.items() if k != "MARIO_RLLIB_DASHBOARD"}
    outputs = []
    for words in lines:
        result = cli(*words[1:], cwd=tmp_path, env=as_a_user)
        assert result.returncode == 0, (words, result.stdout[-2000:], result.stderr[-2000:])
        outputs.append(result.stdout + result.stderr)
    # A local Ray's dashboard (it runs code for whoever reaches it) listens on loopback only.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", outputs[0])
    assert re.search(r"View the dashboard at http://127\.0\.0\.1:\d+ ", plain), plain[-2000:]
    assert (tmp_path / "ray_results" / "quick" / "learning_curves.png").is_file()
    report = __import__("json").loads((tmp_path / "evaluation.json").read_text())
    assert report["summary"]["episodes"] == 2 and report["algo"] == "ppo"
