"""Shared fixtures: one local Ray per test session (no dashboard), only for the tests that ask for
it; the CLI as a user runs it (a subprocess); the progress rows a trial wrote."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Keep Ray quiet and local in tests: no usage stats, no dashboard.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for every in-process test that needs one (an RLlib algorithm starts one by
    itself if none runs: those tests ask for this fixture, so that it is this one)."""
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    yield ray
    ray.shutdown()


def run_cli(*args: str, cwd: str | Path | None = None, timeout: float = 600,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """`mario-rllib ARGS` in a subprocess, from `cwd`, as a user types it."""
    return subprocess.run([sys.executable, "-m", "mario_rllib.cli", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, env=env)


def read_progress(experiment: Path) -> list[tuple[int, float]]:
    """(training iteration, agent steps) of each row of the experiment's one trial."""
    files = list(Path(experiment).glob("trial_*/progress.csv"))
    if not files:
        return []
    with files[0].open() as f:
        return [(int(row["training_iteration"]), float(row["num_env_steps_sampled_lifetime"]))
                for row in csv.DictReader(f)]


_WORKER_LINE = re.compile(r"^(?:\x1b\[\d+m)?\(\w+ pid=(\d+)[^)]*\)(?:\x1b\[0m)? ?(.*)$")


def without_ray_sigterm_tracebacks(output: str) -> str:
    """`output` without the tracebacks Ray's worker processes print when they are stopped with
    SIGTERM while Python runs a `__del__`: Ray's handler raises SystemExit there, and Python
    prints an exception raised in `__del__` instead of raising it.

    That is how Ray stops a trial's env runners when Tune kills the trial, which it does if the
    trial's iteration is still running 10 s after a Ctrl-C (Ray 2.60's
    `TuneController._cleanup_stopping_actors`):
    noise from Ray, nothing lost (the trial resumes from its last checkpoint). Every other
    traceback, from a worker or not, is kept.
    """
    lines = output.splitlines()
    dropped: set[int] = set()
    for start, line in enumerate(lines):
        match = _WORKER_LINE.match(line)
        if not match or match[2] != "Traceback (most recent call last):":
            continue
        pid, block = match[1], [start]
        for index in range(start + 1, len(lines)):
            following = _WORKER_LINE.match(lines[index])
            if not following or following[1] != pid:
                continue
            block.append(index)
            if following[2] and not following[2][0].isspace():  # the exception's own line
                break
        texts = [_WORKER_LINE.match(lines[index])[2] for index in block]
        if texts[-1] == "SystemExit: 1" and any("in sigterm_handler" in t for t in texts):
            before = start - 1  # Python's "Exception ignored in: <function ....__del__ ...>"
            if before >= 0 and (m := _WORKER_LINE.match(lines[before])) and m[1] == pid \
                    and m[2].startswith("Exception ignored in"):
                block.append(before)
            dropped.update(block)
    return "\n".join(line for index, line in enumerate(lines) if index not in dropped)


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.fixture(scope="session")
def ray_sigterm_tracebacks_removed():
    return without_ray_sigterm_tracebacks


@pytest.fixture(scope="session")
def progress_rows():
    return read_progress


STOP_ITERS = 6
"""Iterations of the shared debug runs (`interrupted_runs`)."""


@pytest.fixture(scope="session")
def interrupted_runs(tmp_path_factory):
    """One training run per algorithm for the whole session, as a user would make it:
    `train --preset debug --stop-iters 6 --checkpoint-every 1`, interrupted with Ctrl-C (SIGINT)
    after its second checkpoint, then `train --resume`. `interrupted_runs("dqn")` makes it on
    first use; every test of that algorithm's training, resume, evaluation, plot and dream reads
    the same run."""
    runs: dict[str, dict] = {}

    def get(algo: str) -> dict:
        if algo not in runs:
            runs[algo] = _interrupt_and_resume(algo, tmp_path_factory.mktemp(f"runs_{algo}"))
        return runs[algo]

    return get


def _interrupt_and_resume(algo: str, storage: Path) -> dict:
    experiment = storage / "exp"
    first = subprocess.Popen(
        [sys.executable, "-m", "mario_rllib.cli", "train", "--algo", algo, "--preset", "debug",
         "--stop-iters", str(STOP_ITERS), "--checkpoint-every", "1", "--storage-path",
         str(storage), "--name", "exp", "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.time() + 300
    while not list(experiment.glob("trial_*/checkpoint_000001")):
        assert first.poll() is None, first.stdout.read()
        assert time.time() < deadline, "no second checkpoint within 300 s"
        time.sleep(0.2)
    first.send_signal(signal.SIGINT)  # a user's Ctrl-C
    first_out, _ = first.communicate(timeout=120)
    rows_before = read_progress(experiment)
    resumed = run_cli("train", "--resume", str(experiment))
    (trial,) = experiment.glob("trial_*")
    return {"algo": algo, "storage": storage, "experiment": experiment, "trial": trial,
            "first_out": first_out, "first_rc": first.returncode, "rows_before": rows_before,
            "resumed": resumed, "rows_after": read_progress(experiment)}
