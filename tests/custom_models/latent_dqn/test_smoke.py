"""Latent DQN end to end on the session's run (`train --algo latent_dqn --preset debug`,
interrupted and resumed: conftest's `interrupted_runs`; tests/test_experiment.py checks training,
resume, evaluate and plot as for every algorithm): the world-model and Q metrics reach Tune, and
`dream` shows the VAE's reconstructions and the dynamics model's predictions."""

import csv
import json
import math
import re

import pytest

pytestmark = pytest.mark.slow

METRICS = ("wm_phase", "wm_recon_mse", "wm_recon_ssim", "wm_kl", "dynamics_z_mse",
           "dynamics_reward_mse", "qf_mean", "td_error_mean")


@pytest.fixture
def trained(interrupted_runs):
    run = interrupted_runs("latent_dqn")
    assert run["resumed"].returncode == 0, run["resumed"].stdout + run["resumed"].stderr
    return run


def test_world_model_and_q_metrics_reach_tune(trained):
    with (trained["trial"] / "progress.csv").open() as f:
        last = list(csv.DictReader(f))[-1]
    for name in METRICS:
        assert math.isfinite(float(last[f"learners/default_policy/{name}"])), name
    assert 0 <= float(last["learners/default_policy/wm_phase"]) <= 1
    assert 0 < float(last["learners/default_policy/wm_recon_mse"]) < 1


def test_the_progress_line_shows_each_iterations_world_model_share(trained):
    with (trained["trial"] / "progress.csv").open() as f:  # a resumed iteration's last row
        share = {int(row["training_iteration"]): row["learners/default_policy/wm_phase"]
                 for row in csv.DictReader(f)}
    # An iteration redone after the interruption is printed twice: its last line is its last row.
    lines = dict(re.findall(r"\] iter +(\d+) (.*)$",
                            trained["first_out"] + "\n" + trained["resumed"].stdout, re.MULTILINE))
    shown = {int(iteration): int(found[1]) for iteration, line in lines.items()
             if (found := re.search(r"\| replayed/env step [\d.]+, world model (\d+)%$", line))}
    assert shown, trained["resumed"].stdout
    for iteration, percent in shown.items():
        assert percent == round(100 * float(share[iteration])), iteration


def test_dream_reconstructs_then_predicts(trained, tmp_path, cli):
    out = tmp_path / "recon.gif"
    result = cli("dream", str(trained["trial"]), "--out", str(out), "--observe", "3",
                 "--horizon", "5")
    assert result.returncode == 0, result.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    assert [s["phase"] for s in report["steps"]] == ["observed"] * 3 + ["imagined"] * 5
    assert 0 < report["summary"]["imagined_mse_mean"] < 1
