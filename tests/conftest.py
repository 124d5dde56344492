"""Shared fixtures: one local Ray per test session (no dashboard), only for the tests that ask for
it; the CLI as a user runs it (a subprocess); the progress rows a trial wrote."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# Keep Ray quiet and local in tests: no usage stats, no dashboard (the CLI's local Rays too:
# about 2 s per start; tests/test_readme.py runs the quick check with it, as a user does).
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("MARIO_RLLIB_DASHBOARD", "0")


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


def read_progress(experiment) -> list[tuple[int, float]]:
    """(training iteration, agent steps) of each row of the experiment's one trial (a Path, or a
    Location in a bucket)."""
    from mario_rllib.storage import as_location  # pyarrow: not in the env-only test legs

    files = [trial / "progress.csv" for trial in as_location(experiment).children("trial_*")
             if (trial / "progress.csv").is_file()]
    if not files:
        return []
    return [(int(row["training_iteration"]), float(row["num_env_steps_sampled_lifetime"]))
            for row in csv.DictReader(io.StringIO(files[0].read_text()))]


_WORKER_LINE = re.compile(
    # "(SingleAgentEnvRunner pid=1)", or an algorithm's actor as Ray names it:
    # "(MarioDreamerV3(env=mario; env-runners=0; learners=0; multi-agent=False) pid=1)"
    r"^(?:\x1b\[\d+m)?\(\w+(?:\([^()]*\))? pid=(\d+)[^)]*\)(?:\x1b\[0m)? ?(.*)$")


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


def check_resumed_from_checkpoint(before: list[tuple[int, float]],
                                  after: list[tuple[int, float]], stop_iters: int) -> int:
    """Assert that a resumed run went on from its last checkpoint, given the (iteration, agent
    steps) rows before and after the resume; return the first resumed iteration.

    Iterations and env steps go on, they do not start over (ray-project/ray#43266). An iteration
    reported after the last checkpoint may be redone."""
    assert 2 <= len(before) < stop_iters
    iterations = [iteration for iteration, _ in after]
    assert iterations[-1] == stop_iters  # the stop criterion still applies
    assert after[:len(before)] == before  # nothing rewritten
    resumed = after[len(before):]
    assert resumed, after
    first_iteration, first_steps = resumed[0]
    assert first_iteration > 1
    steps_before = dict(before)
    # Counted on from the checkpoint. (World Models' V and M iterations sample nothing: steps
    # stand still there, and grow in every other algorithm's iterations and stages.)
    assert first_steps >= steps_before[first_iteration - 1] > 0
    assert [i for i, _ in resumed] == list(range(first_iteration, stop_iters + 1))
    assert all(a <= b for (_, a), (_, b) in zip(resumed, resumed[1:], strict=False))
    assert resumed[-1][1] > steps_before[first_iteration - 1]
    return first_iteration


@pytest.fixture(scope="session")
def resumed_from_checkpoint():
    return check_resumed_from_checkpoint


@pytest.fixture(scope="session")
def interrupt_and_resume():
    """`_interrupt_and_resume`, for a run of a test's own (another storage, another cwd)."""
    return _interrupt_and_resume


def _interrupt_and_resume(algo: str, storage: Path | str, env: dict | None = None,
                          cwd: Path | None = None, stop_iters: int = STOP_ITERS) -> dict:
    """`train ... --storage-path STORAGE --name exp`, Ctrl-C after its second checkpoint, then
    `train --resume STORAGE/exp`. STORAGE may be a bucket's URI (with `env` reaching it)."""
    from mario_rllib.storage import locate

    started = time.time()
    experiment = locate(str(storage)) / "exp"
    first = subprocess.Popen(
        [sys.executable, "-m", "mario_rllib.cli", "train", "--algo", algo, "--preset", "debug",
         "--stop-iters", str(stop_iters), "--checkpoint-every", "1", "--storage-path",
         str(storage), "--name", "exp", "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd,
    )
    deadline = time.time() + 300
    while not any((trial / "checkpoint_000001").exists()
                  for trial in experiment.children("trial_*")):
        assert first.poll() is None, first.stdout.read()
        assert time.time() < deadline, "no second checkpoint within 300 s"
        time.sleep(0.2)
    first.send_signal(signal.SIGINT)  # a user's Ctrl-C
    first_out, _ = first.communicate(timeout=120)
    rows_before = read_progress(experiment)
    resumed = run_cli("train", "--resume", str(experiment), env=env, cwd=cwd)
    (trial,) = experiment.children("trial_*")
    # Local runs as Paths (what the tests of a local run read with), a bucket's as Locations.
    as_given = (lambda where: Path(where.path)) if experiment.local else (lambda where: where)
    return {"algo": algo, "storage": storage, "experiment": as_given(experiment),
            "trial": as_given(trial), "first_out": first_out, "first_rc": first.returncode,
            "rows_before": rows_before, "resumed": resumed,
            "rows_after": read_progress(experiment), "started": started}


@contextlib.contextmanager
def moto_server(authenticate: bool = False):
    """moto's S3 server on a free port of 127.0.0.1, with one bucket, `mario`; yields the
    environment a user of such a server sets (as for AWS: credentials, region, endpoint), with
    credentials made up here so that a test can look for them where they must not be. With
    `authenticate`, the server checks every request's signature against its own (empty) set of
    users, as AWS does, once the bucket is made: no credentials pass."""
    import secrets
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # moto's own switch: the first N requests go through unchecked (here: making the bucket)
    auth = {"INITIAL_NO_AUTH_ACTION_COUNT": "1"} if authenticate else {}
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, **auth})
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "moto's server exited"
                assert time.time() < deadline, "moto's server did not listen within 30 s"
                time.sleep(0.1)
        env = {"AWS_ACCESS_KEY_ID": "AKIA" + secrets.token_hex(8).upper(),
               "AWS_SECRET_ACCESS_KEY": secrets.token_hex(20),
               "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
               "AWS_EC2_METADATA_DISABLED": "true"}
        # S3's CreateBucket, one plain request (the one `authenticate` lets through unchecked)
        urllib.request.urlopen(urllib.request.Request(f"{env['AWS_ENDPOINT_URL']}/mario",
                                                      method="PUT"), timeout=30).close()
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto's, in server mode) on 127.0.0.1 for the whole session,
    with one bucket, `mario`; its environment is this process's for the session (see
    `moto_server`)."""
    with moto_server() as env:
        saved = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        yield env
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def s3_server_checking_credentials():
    """`moto_server(authenticate=True)`, for the session; its environment is left to the test."""
    with moto_server(authenticate=True) as env:
        yield env
