"""`mario-rllib results` on the debug preset, as a user runs it: a grid of one algorithm x one
stage x two seeds, evaluated, recorded and tabled; then `--record` of an experiment trained by
hand (the session's PPO run) adds a row and changes nothing else."""

import json
import re

import pytest

pytestmark = pytest.mark.slow


def test_results_trains_evaluates_and_writes_the_table(tmp_path, cli, interrupted_runs):
    result = cli("results", "--algo", "ppo", "--levels", "1-1", "--seeds", "2", "--preset",
                 "debug", "--stop-iters", "1", "--episodes", "2", "--out", "docs/results",
                 "--set", "lr_anneal_steps=1000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (record_file,) = (tmp_path / "docs" / "results" / "runs").glob("results__ppo__1-1__*.json")
    record = json.loads(record_file.read_text())
    assert record["algo"] == "ppo" and record["preset"] == "debug" and record["levels"] == "1-1"
    assert sorted(t["seed"] for t in record["trials"]) == [0, 1]
    assert record["settings"] == {"lr_anneal_steps": 1000}  # what --set changed, in the row too
    for trial in record["trials"]:
        assert trial["finished"] and trial["agent_steps"] == 128
        # Where the project stands, not this machine's absolute path (docs travel).
        assert trial["checkpoint"].startswith(f"ray_results/{record['experiment']}/trial_")
        assert (tmp_path / trial["checkpoint"]).is_dir()
        for policy in ("greedy", "stochastic"):
            assert trial[policy]["episodes"] == 2 and trial[policy]["distinct_starts"] == 2
    table = (tmp_path / "docs" / "results.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| PPO | 1-1 |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2:7] == ["debug", "lr_anneal_steps=1000", "2", "2", "128 [128-128]"]
    x_pos = [t["greedy"]["x_pos_mean"] for t in record["trials"]]
    assert cells[10] == f"{sum(x_pos) / 2:,.0f} [{min(x_pos):,.0f}-{max(x_pos):,.0f}]"
    assert cells[13] == "finished"
    assert (tmp_path / "docs" / "results" / f"{record['experiment']}.png").stat().st_size > 0
    assert (tmp_path / "docs" / "results" / "best.gif").stat().st_size > 0
    assert re.search(r"Best agent so far: PPO on 1-1, seed [01] of results__ppo__1-1__", table)

    # An experiment trained by hand (the session's PPO run, `train --name exp`, interrupted and
    # resumed), named relative to where the user stands: recorded as one more row.
    by_hand = interrupted_runs("ppo")
    again = cli("results", "--record", "exp", "--episodes", "2", "--out",
                str(tmp_path / "docs" / "results"), cwd=by_hand["storage"])
    assert again.returncode == 0, again.stderr[-3000:]
    rows = [line for line in (tmp_path / "docs" / "results.md").read_text().splitlines()
            if line.startswith("| PPO | 1-1 |")]
    assert len(rows) == 2 and any("exp" in row and "| defaults |" in row for row in rows)
    assert json.loads(record_file.read_text()) == record
    (by_hand_record,) = (tmp_path / "docs" / "results" / "runs").glob("exp.json")
    for trial in json.loads(by_hand_record.read_text())["trials"]:
        assert trial["checkpoint"].startswith("exp/trial_")


def test_record_with_milestones_tables_and_draws_them(tmp_path, cli, interrupted_runs):
    """`results --record exp --milestones ...`: how a long run got where it is, in results.md.
    Each milestone is the trial's newest checkpoint at or before it, evaluated like the last one
    (same episodes and step cap); recording again plays only the last checkpoint again."""
    from mario_rllib.results import checkpoint_at, checkpoint_iteration, result_rows

    by_hand = interrupted_runs("ppo")
    (trial,) = by_hand["experiment"].glob("trial_*")
    steps = {row["training_iteration"]: int(row["num_env_steps_sampled_lifetime"])
             for row in result_rows(trial)}
    first = steps[min(checkpoint_iteration(c) for c in trial.glob("checkpoint_*"))]
    argv = ["results", "--record", "exp", "--milestones", f"{first},10000000", "--episodes", "2",
            "--max-episode-steps", "15", "--out", str(tmp_path / "results")]
    result = cli(*argv, cwd=by_hand["storage"])
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((tmp_path / "results" / "runs" / "exp.json").read_text())
    assert record["max_episode_steps"] == 15
    (entry,) = record["trials"]
    last = entry["checkpoint"].rsplit("/", 1)[1]
    milestone_checkpoints = {checkpoint_at(trial, budget)[0].name
                             for budget in (first, 10_000_000)} - {last}
    assert [m["checkpoint"] for m in entry["milestones"]] == sorted(milestone_checkpoints)
    for milestone in entry["milestones"]:
        assert milestone["agent_steps"] <= milestone["milestone"]
        for policy in ("greedy", "stochastic"):
            assert milestone[policy]["episodes"] == 2 and milestone[policy]["steps_mean"] <= 15
    for policy in ("greedy", "stochastic"):
        assert entry[policy]["steps_mean"] <= 15  # the last checkpoint's evaluation: capped too
    table = (tmp_path / "results.md").read_text()
    section = table[table.index("## exp: evaluated at milestones"):]
    milestone_rows = [line for line in section.splitlines()
                      if line.startswith(f"| {entry['seed']} |")]
    assert len(milestone_rows) == len(entry["milestones"]) + 1
    assert f"{last} (last)" in milestone_rows[-1]
    assert "each at most 15 agent steps" in section
    assert (tmp_path / "results" / "exp_flag_rate.png").stat().st_size > 0

    again = cli(*argv, cwd=by_hand["storage"])
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("evaluating ") == 2  # the last checkpoint, greedy and stochastic
    assert json.loads((tmp_path / "results" / "runs" / "exp.json").read_text())["trials"][0][
        "milestones"] == entry["milestones"]


def test_recorded_paths_never_hold_this_machines_directories(tmp_path, monkeypatch):
    from mario_rllib.results import portable_path

    checkpoint = tmp_path / "runs" / "exp" / "trial_0" / "checkpoint_000001"
    monkeypatch.chdir(tmp_path)
    assert portable_path(checkpoint, tmp_path / "runs" / "exp") == \
        "runs/exp/trial_0/checkpoint_000001"
    elsewhere = tmp_path / "project"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the experiment lies outside the project: from its name on
    assert portable_path(checkpoint, tmp_path / "runs" / "exp") == "exp/trial_0/checkpoint_000001"
