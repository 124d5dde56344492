"""`mario-rllib submit -- TRAIN FLAGS`: `mario-rllib train` as a Ray job on a cluster.

It wraps Ray's job API (what `ray job submit` uses): the working directory is uploaded as the job's
runtime env, the entrypoint is `mario-rllib train` with the flags given, and the job id comes back
with the commands to follow, inspect and stop it. The job API runs code for whoever reaches it, so
it listens on the head's 127.0.0.1: reach it through `ray dashboard cluster.yaml` (an SSH tunnel)
and pass `--address http://127.0.0.1:8265`.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable, Sequence
from pathlib import Path

UPLOAD_EXCLUDES = [".venv", ".git", "ray_results", "**/__pycache__", "*.mp4", "*.gif",
                   "learning_check"]
"""Never uploaded with the working directory: environments, results, videos."""

TOKEN_FILE = Path.home() / ".ray" / "auth_token"
"""Where Ray 2.60 keeps the token its heads (and clients) use."""


def submit(address: str, train_args: Sequence[str], *, working_dir: str = ".",
           wait: bool = False, timeout_s: float = 3600.0,
           print_fn: Callable[[str], None] = print) -> int:
    """Submit the job; with `wait`, follow it to its end and return 0 only if it succeeded."""
    if not Path(working_dir).is_dir():
        raise ValueError(f"bad --working-dir {working_dir!r}: no such directory")
    if os.environ.get("RAY_AUTH_MODE") is None and TOKEN_FILE.is_file():
        # Ray 2.60 heads require a token; the client sends it only in "token" mode, which Ray
        # reads when it is imported, so before the import below.
        os.environ["RAY_AUTH_MODE"] = "token"
    from ray.job_submission import JobStatus, JobSubmissionClient
    try:
        client = JobSubmissionClient(address)
    except Exception as error:  # connection refused, auth, bad URL: one line each
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"cannot reach the Ray job API at {address!r}: {reason}") from error
    entrypoint = shlex.join(["mario-rllib", "train", *train_args])
    try:
        job_id = _submit_when_ready(client, entrypoint, working_dir, print_fn)
    except RuntimeError as error:  # the job API refused it (HTTP 4xx/5xx)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"the Ray job API at {address!r} refused the job: {reason}") from error
    print_fn(f"submitted job {job_id} to {address}: {entrypoint}")
    print_fn(f"  follow: ray job logs --follow --address {address} {job_id}")
    print_fn(f"  status: ray job status --address {address} {job_id}")
    print_fn(f"  stop:   ray job stop --address {address} {job_id}")
    if not wait:
        return 0
    deadline = time.monotonic() + timeout_s
    while not (status := client.get_job_status(job_id)).is_terminal():
        if time.monotonic() > deadline:
            print_fn(f"job {job_id} still {status.value} after {timeout_s:g} s; not waiting longer")
            return 1
        time.sleep(2)
    print_fn(client.get_job_logs(job_id).rstrip())
    print_fn(f"job {job_id}: {status.value}")
    return 0 if status == JobStatus.SUCCEEDED else 1


AGENT_WAIT_S = 120.0
"""How long to wait for a freshly started head's job agent ("No available agent to submit job")."""


def _submit_when_ready(client, entrypoint: str, working_dir: str,
                       print_fn: Callable[[str], None]) -> str:
    """Submit; while the head's job agent is still starting (Ray answers HTTP 500 "No available
    agent to submit job, please try again later"), wait and try again."""
    deadline = time.monotonic() + AGENT_WAIT_S
    waited = False
    while True:
        try:
            return client.submit_job(
                entrypoint=entrypoint,
                runtime_env={"working_dir": working_dir, "excludes": UPLOAD_EXCLUDES},
            )
        except RuntimeError as error:
            if "No available agent" not in str(error) or time.monotonic() > deadline:
                raise
            if not waited:
                print_fn("waiting for the cluster's job agent to start ...")
                waited = True
            time.sleep(3)
