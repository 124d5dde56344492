"""`scripts/learning_check.py --milestones` on the session's PPO debug run, as the long run's
evaluation uses it: each milestone's checkpoint evaluated once, kept, and drawn."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mario_rllib.results import checkpoint_at, checkpoint_iteration, result_rows

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "learning_check.py"


def test_milestones_evaluate_the_checkpoint_at_or_before_each_budget(interrupted_runs, tmp_path):
    run = interrupted_runs("ppo")
    steps = {row["training_iteration"]: int(row["num_env_steps_sampled_lifetime"])
             for row in result_rows(run["trial"])}
    kept = sorted(checkpoint_iteration(c) for c in run["trial"].glob("checkpoint_*"))
    # The oldest kept checkpoint's steps, the newest's, and beyond the end (the newest again).
    budgets = [steps[kept[0]], steps[kept[-1]], 10**9]
    argv = [sys.executable, str(SCRIPT), "--experiment", str(run["experiment"]), "--milestones",
            ",".join(map(str, budgets)), "--episodes", "2", "--max-episode-steps", "20",
            "--out", str(tmp_path)]
    first = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    entries = json.loads((tmp_path / "milestones.json").read_text())
    expected = {checkpoint_at(run["trial"], budget)[0].name for budget in budgets}
    assert {e["checkpoint"] for e in entries} == expected  # the last two budgets share one
    for entry in entries:
        assert entry["agent_steps"] <= entry["milestone"] and entry["max_episode_steps"] == 20
        for policy in ("greedy", "stochastic"):
            assert entry[policy]["episodes"] == 2 and entry[policy]["steps_mean"] <= 20
    assert (tmp_path / "flag_rate.png").stat().st_size > 0
    # Run again as the training goes on: nothing is evaluated twice.
    again = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "evaluating" not in again.stdout, again.stdout[-2000:]
    assert json.loads((tmp_path / "milestones.json").read_text()) == entries


def test_a_milestone_an_unfinished_run_has_not_reached_is_skipped(interrupted_runs, tmp_path):
    """While the run goes on, its newest checkpoint must not stand for a budget it never
    reached: here the run as it stood before its last iteration, not finished."""
    import shutil

    run = interrupted_runs("ppo")
    experiment = tmp_path / "exp"
    shutil.copytree(run["experiment"], experiment)
    (trial,) = experiment.glob("trial_*")
    rows = result_rows(trial)[:-1]
    assert not rows[-1].get("done")
    (trial / "result.json").write_text("".join(json.dumps(row) + "\n" for row in rows))
    reached = int(rows[-1]["num_env_steps_sampled_lifetime"])
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--experiment", str(experiment), "--milestones",
         f"{reached},{reached + 1}", "--episodes", "1", "--max-episode-steps", "5", "--out",
         str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"skipped: {trial.name} has not reached {reached + 1:,} agent steps yet" \
           in result.stdout
    entries = json.loads((tmp_path / "out" / "milestones.json").read_text())
    assert [entry["milestone"] for entry in entries] == [reached]


def test_milestones_of_a_run_started_from_an_agent_count_the_agents_steps(interrupted_runs,
                                                                          tmp_path):
    """`train --init-from`: the run's own steps start at 0; its milestones are the total."""
    import shutil

    run = interrupted_runs("ppo")
    experiment = tmp_path / "exp"
    shutil.copytree(run["experiment"], experiment)
    (trial,) = experiment.glob("trial_*")
    meta_file = experiment / "mario_rllib_experiment.json"
    meta = json.loads(meta_file.read_text())
    meta["init_from"] = {"given": "ppo-1-1", "module": "/x", "experiment": "earlier",
                         "agent_steps": 100_000, "train_minutes": 30}
    meta_file.write_text(json.dumps(meta))
    reached = int(result_rows(trial)[-1]["num_env_steps_sampled_lifetime"])
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--experiment", str(experiment), "--milestones",
         f"50000,{100_000 + reached}", "--episodes", "1", "--max-episode-steps", "5", "--out",
         str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "skipped: exp started from ppo-1-1 at 100,000 agent steps, after 50,000" \
           in result.stdout
    (entry,) = json.loads((tmp_path / "out" / "milestones.json").read_text())
    checkpoint, row = checkpoint_at(trial, reached)
    assert entry["checkpoint"] == checkpoint.name
    assert entry["agent_steps"] == 100_000 + int(row["num_env_steps_sampled_lifetime"])
    assert entry["train_minutes"] >= 30
