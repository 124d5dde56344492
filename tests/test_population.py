"""Tune's schedulers and searchers with our algorithms, as a user runs them (`train --scheduler
asha|pbt --mutate ... --searcher optuna`), on the `debug` preset with RLlib's real learners; each
checked against what the run wrote (Tune's PBT log, each trial's results, the checkpoints)."""

import json
import math
import pickle
from pathlib import Path

import pytest

from mario_rllib.metrics import RESTORED, weights_abs_sum
from mario_rllib.population import exploits, lineage
from mario_rllib.results import checkpoint_iteration
from mario_rllib.storage import locate

pytestmark = pytest.mark.slow


def results(trial: Path) -> list[dict]:
    return [json.loads(line) for line in (trial / "result.json").read_text().splitlines()]


def checkpoint_at(trial: Path, iteration: int) -> Path:
    """The trial's checkpoint of that iteration."""
    return next(path for path in sorted(trial.glob("checkpoint_*"))
                if checkpoint_iteration(path) == iteration)


@pytest.fixture(scope="module")
def pbt_run(tmp_path_factory, cli):
    """Two DQN trials (an optimizer, and a replay buffer besides the checkpoint), lr mutated,
    ranked every 2 iterations, 3 iterations each."""
    storage = tmp_path_factory.mktemp("pbt")
    run = cli("train", "--algo", "dqn", "--preset", "debug", "--scheduler", "pbt", "--mutate",
              "lr=loguniform:1e-5:1e-3", "--num-samples", "2", "--perturb-every", "2",
              "--checkpoint-every", "2", "--stop-iters", "3", "--keep-checkpoints", "10",
              "--storage-path", str(storage), "--name", "pbt")
    assert run.returncode == 0, run.stdout + run.stderr
    return run, storage / "pbt"


def test_an_exploited_trial_runs_the_donors_weights_at_its_mutated_lr(pbt_run):
    run, experiment = pbt_run
    history = exploits(locate(str(experiment)))
    assert history, "no exploit"
    for exploit in history:
        trial, donor = experiment / exploit["trial"], experiment / exploit["donor"]
        at = exploit["donor_iteration"]
        assert at == 2 and exploit["iteration"] == 3  # ranked at the interval, then cloned
        mine = {row["training_iteration"]: row for row in results(trial)}
        theirs = {row["training_iteration"]: row for row in results(donor)}
        first = mine[exploit["iteration"]]  # its first iteration as the clone
        restored = first[RESTORED]
        assert restored["iteration"] == at
        # The donor's weights, as its checkpoint of that iteration holds them.
        saved = pickle.loads((checkpoint_at(donor, at) / "learner_group" / "learner" / "rl_module"
                              / "default_policy" / "module_state.pkl").read_bytes())
        assert restored["weights_abs_sum/default_policy"] == pytest.approx(
            weights_abs_sum(saved), rel=1e-9)
        # and its optimizer's state (Adam's step counts and moments)
        learner = pickle.loads((checkpoint_at(donor, at) / "learner_group" / "learner"
                                / "state.pkl").read_bytes())
        for name, optimizer in learner["optimizer"].items():
            assert restored[f"optimizer_abs_sum/{name}"] == pytest.approx(
                weights_abs_sum(optimizer["state"]["state"]), rel=1e-9)
            assert weights_abs_sum(optimizer["state"]["state"]) > 0
        # The optimizer it steps runs at the mutated rate, not at the donor's (the checkpoint's
        # optimizer state carries the donor's: RLlib would apply the config's only after the
        # first update).
        lrs = [value for key, value in restored.items() if key.startswith("lr/")]
        assert lrs == [pytest.approx(exploit["config"]["lr"])]
        assert first["config"]["lr"] == pytest.approx(exploit["config"]["lr"])
        assert exploit["config"]["lr"] != pytest.approx(theirs[at]["config"]["lr"])
        assert 1e-5 <= exploit["config"]["lr"] <= 1e-3  # perturbed within its range
        # Counters and the last-100 window go on from the donor's checkpoint...
        assert first["num_env_steps_sampled_lifetime"] == theirs[at][
            "num_env_steps_sampled_lifetime"] + first["env_runners"]["num_env_steps_sampled"]
        assert first["env_runners"]["window_episodes"] >= theirs[at]["env_runners"][
            "window_episodes"]
        # ... but the clone keeps its own seed (its own episodes from here on).
        assert first["config"]["seed"] == mine[1]["config"]["seed"] != theirs[at]["config"]["seed"]
        # RLlib's checkpoints hold no replay buffer: the clone refills its own from its own
        # episodes (after a burn-in, as after --resume; docs/dqn.md), while its step count, and
        # so its epsilon and beta, go on from the donor's.
        stored = first["replay_buffer"]["stored_transitions"]
        assert 0 < stored <= first["num_env_steps_sampled_lifetime"] - theirs[at][
            "num_env_steps_sampled_lifetime"] < theirs[at]["replay_buffer"]["stored_transitions"]


def test_pbt_lineage_and_the_best_trial_are_reported(pbt_run, cli, tmp_path):
    run, experiment = pbt_run
    assert "best trial trial_" in run.stdout and "lr=" in run.stdout
    lines = lineage(locate(str(experiment)))
    exploit = exploits(locate(str(experiment)))[0]
    assert any(f"a clone of {exploit['donor']} at its iteration {exploit['donor_iteration']}"
               in line for line in lines[exploit["trial"]])
    plotted = cli("plot", str(experiment), "--out", str(tmp_path / "curves.png"))
    assert plotted.returncode == 0, plotted.stderr
    assert "PBT lineage" in plotted.stdout and f"a clone of {exploit['donor']}" in plotted.stdout
    assert (tmp_path / "curves.png").stat().st_size > 0
    recorded = cli("results", "--record", str(experiment), "--episodes", "1", "--out",
                   str(tmp_path / "results"))
    assert recorded.returncode == 0, recorded.stderr
    report = (tmp_path / "results.md").read_text()
    assert "## pbt: PBT lineage" in report and f"a clone of {exploit['donor']}" in report


def test_asha_stops_the_trials_that_trail(tmp_path, cli):
    """Four trials in turn (one at a time: the order, and so ASHA's cuts, are the seeds'); a
    trial below the rung's median at iteration 1 stops there."""
    run = cli("train", "--preset", "debug", "--scheduler", "asha", "--grace-period", "1",
              "--num-samples", "4", "--max-concurrent-trials", "1", "--stop-iters", "2",
              "--storage-path", str(tmp_path), "--name", "asha")
    assert run.returncode == 0, run.stdout + run.stderr
    iterations = {trial.name: len(results(trial)) for trial in (tmp_path / "asha").glob("trial_*")}
    assert sorted(iterations.values())[0] == 1 and sorted(iterations.values())[-1] == 2
    stopped = [name for name, count in iterations.items() if count == 1]
    for name in stopped:
        assert f"trial {name}: stopped early by the scheduler at iteration 1" in run.stdout


def test_optuna_draws_the_points_of_one_seed(tmp_path, cli):
    run = cli("train", "--preset", "debug", "--searcher", "optuna", "--search",
              "lr=loguniform:1e-5:1e-3", "--num-samples", "2", "--stop-iters", "1", "--seed",
              "5", "--storage-path", str(tmp_path), "--name", "optuna")
    assert run.returncode == 0, run.stdout + run.stderr
    configs = [results(trial)[-1]["config"] for trial in (tmp_path / "optuna").glob("trial_*")]
    assert len(configs) == 2
    assert [config["seed"] for config in configs] == [5, 5]
    lrs = [config["lr"] for config in configs]
    assert lrs[0] != lrs[1] and all(1e-5 <= lr <= 1e-3 and math.isfinite(lr) for lr in lrs)
