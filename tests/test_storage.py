"""Experiments in a bucket: train, Ctrl-C, resume, evaluate, play, plot and record straight from
`s3://`, on a real S3-compatible server on 127.0.0.1 (moto's, `s3_server` in conftest.py), reached
as a user reaches AWS: credentials and endpoint in the environment, nothing else."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from mario_rllib import cli
from mario_rllib.storage import Location, locate


def test_a_bucket_prefix_reads_and_writes_like_a_directory(s3_server):
    root = locate("s3://mario/unit")
    assert (root.scheme, root.path, str(root)) == ("s3", "mario/unit", "s3://mario/unit")
    assert not root.exists()
    (root / "trial_b" / "result.json").write_text('{"a": 1}\n')
    (root / "trial_a" / "params.json").write_text("{}")
    (root / "notes.txt").write_text("x")
    assert root.is_dir() and (root / "notes.txt").is_file()
    assert [t.name for t in root.children("trial_*")] == ["trial_a", "trial_b"]
    assert [t.name for t in root.children(dirs=True)] == ["trial_a", "trial_b"]
    assert (root / "notes.txt").children() == []  # a file has no entries
    assert json.loads((root / "trial_b" / "result.json").read_text()) == {"a": 1}
    assert str((root / "trial_a").parent) == "s3://mario/unit"


def test_a_local_path_is_absolute_and_file_uris_are_local(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert locate("runs/x") == Location(pafs.LocalFileSystem(), str(tmp_path / "runs" / "x"))
    assert locate(f"file://{tmp_path}/runs").path == str(tmp_path / "runs")
    assert locate("runs").local and str(locate("runs")) == str(tmp_path / "runs")


def test_a_uri_is_refused_where_the_output_must_be_local(s3_server, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["evaluate", "s3://mario/x", "--video", "s3://mario/run.gif"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        "argument --video: 's3://mario/run.gif' is a URI: expected a local path")


@pytest.fixture(scope="module")
def bucket_run(s3_server, tmp_path_factory, interrupt_and_resume):
    """PPO trained into the bucket as the README says for a cluster, from an empty working
    directory: `train --storage-path s3://mario/runs`, Ctrl-C after its second checkpoint,
    `train --resume s3://mario/runs/exp`."""
    cwd = tmp_path_factory.mktemp("cwd")
    env = {**os.environ, **s3_server}
    return {**interrupt_and_resume("ppo", "s3://mario/runs", env=env, cwd=cwd, stop_iters=3),
            "cwd": cwd, "env": env}


@pytest.mark.slow
def test_train_interrupt_and_resume_in_the_bucket(bucket_run, resumed_from_checkpoint):
    run = bucket_run
    assert run["first_rc"] == 1, run["first_out"]  # interrupted: 1, and says how to resume
    assert "writing to s3://mario/runs/exp" in run["first_out"]
    assert "resume:    mario-rllib train --resume s3://mario/runs/exp" in run["first_out"]
    assert run["resumed"].returncode == 0, run["resumed"].stdout + run["resumed"].stderr
    resumed_from_checkpoint(run["rows_before"], run["rows_after"], 3)
    trial = run["trial"]
    assert isinstance(trial, Location) and str(trial).startswith("s3://mario/runs/exp/trial_")
    assert [c.name for c in trial.children("checkpoint_*")][-1] == "checkpoint_000002"
    assert f"last checkpoint: {trial}/checkpoint_000002" in run["resumed"].stdout
    assert list(run["cwd"].iterdir()) == []  # nothing local: no ./s3:, no ray_results


@pytest.mark.slow
def test_evaluate_play_plot_and_record_read_the_bucket(bucket_run, cli):
    run, experiment = bucket_run, "s3://mario/runs/exp"
    kwargs = {"cwd": run["cwd"], "env": run["env"]}
    evaluated = cli("evaluate", experiment, "--episodes", "1", "--max-episode-steps", "30",
                    "--report", "eval.json", **kwargs)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((run["cwd"] / "eval.json").read_text())
    assert report["module_dir"] == f"{run['trial']}/checkpoint_000002/learner_group/learner/" \
                                   f"rl_module/default_policy"
    played = cli("play", f"{run['trial']}/checkpoint_000001", "--episodes", "1",
                 "--max-episode-steps", "30", **kwargs)
    assert played.returncode == 0, played.stderr
    plotted = cli("plot", experiment, **kwargs)
    assert plotted.stdout.strip() == f"wrote {experiment}/learning_curves.png", plotted.stderr
    assert (locate(experiment) / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    recorded = cli("results", "--record", experiment, "--episodes", "1", "--out", "results",
                   **kwargs)
    assert recorded.returncode == 0, recorded.stderr
    record = json.loads((run["cwd"] / "results" / "runs" / "exp.json").read_text())
    assert record["trials"][0]["checkpoint"] == f"{run['trial']}/checkpoint_000002"
    assert record["trials"][0]["agent_steps"] == run["rows_after"][-1][1]
    assert sorted(p.name for p in run["cwd"].iterdir()) == ["eval.json", "results", "results.md"]


@pytest.mark.slow
def test_credentials_appear_nowhere_they_are_saved_or_printed(bucket_run, s3_server):
    """Not in the bucket (experiment state, params, results, checkpoints), not in what the
    commands printed, not in Ray's logs of this run."""
    secrets = [s3_server["AWS_SECRET_ACCESS_KEY"], s3_server["AWS_ACCESS_KEY_ID"]]
    bucket = locate("s3://mario/runs")
    objects = [info.path for info in bucket.fs.get_file_info(
        pafs.FileSelector(bucket.path, recursive=True)) if info.type == pafs.FileType.File]
    assert any(name.endswith(".pkl") for name in objects)  # checkpoints and pickled state
    texts = {name: Location(bucket.fs, name).read_bytes() for name in objects}
    texts["train output"] = bucket_run["first_out"].encode()
    texts["resume output"] = (bucket_run["resumed"].stdout + bucket_run["resumed"].stderr).encode()
    for logs in Path("/tmp/ray").glob("session_*/logs"):
        for path in logs.rglob("*"):
            if path.is_file() and path.stat().st_mtime >= bucket_run["started"]:
                texts[str(path)] = path.read_bytes()
    assert any(name.endswith("runtime_env_agent.log") for name in texts)  # where Ray logs them
    leaks = [name for name, data in texts.items() for secret in secrets if secret.encode() in data]
    assert leaks == []
