"""`mario-rllib submit` against a real Ray head on loopback: a `debug` training job runs to success
and writes its checkpoint. The head is started with `ray start --block`, so stopping that one
process stops every Ray process it started, whatever happens in the test."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def loopback_head():
    port, dashboard_port = free_port(), free_port()
    # Its own Ray temp dir (short: Ray's socket paths must stay under ~107 characters), so the
    # head's "current cluster" address file never makes a later `ray.init()` on this machine
    # try to join a head that is gone.
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": ray_tmp}
    # Every port free, not Ray's defaults: another Ray on this machine (e.g. the session-wide one
    # of tests/conftest.py) holds the default agent ports, and the job agent then never starts.
    head = subprocess.Popen(
        [str(BIN / "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={port}", "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}",
         f"--dashboard-agent-listen-port={free_port()}",
         f"--dashboard-agent-grpc-port={free_port()}", f"--metrics-export-port={free_port()}",
         f"--runtime-env-agent-port={free_port()}", f"--ray-client-server-port={free_port()}",
         "--num-cpus=2", "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"http://127.0.0.1:{dashboard_port}"
    try:
        deadline = time.time() + 120
        while True:
            assert head.poll() is None, "ray start --head exited"
            try:
                urllib.request.urlopen(f"{address}/api/version", timeout=2)
                break
            except urllib.error.HTTPError:  # it answers (401 without a token): it is up
                break
            except OSError:
                assert time.time() < deadline, "the dashboard did not come up in 120 s"
                time.sleep(1)
        yield address
    finally:
        head.send_signal(signal.SIGTERM)  # --block: stops the processes it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_submit_runs_a_debug_training_job(loopback_head, tmp_path):
    default_address_file = Path("/tmp/ray/ray_current_cluster")
    had_address_file = default_address_file.exists()
    storage = tmp_path / "results"
    result = subprocess.run(
        [str(BIN / "mario-rllib"), "submit", "--address", loopback_head, "--wait", "--",
         "--preset", "debug", "--stop-iters", "1", "--storage-path", str(storage), "--name",
         "job"],
        capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "submitted job raysubmit_" in result.stdout
    assert "ray job logs --follow --address" in result.stdout
    assert result.stdout.strip().endswith("SUCCEEDED")
    assert list((storage / "job").glob("trial_*/checkpoint_*")), "no checkpoint written"
    assert default_address_file.exists() == had_address_file  # the machine's Ray left alone


def test_submit_to_nothing_is_one_line():
    result = subprocess.run([str(BIN / "mario-rllib"), "submit", "--address",
                             f"http://127.0.0.1:{free_port()}", "--", "--preset", "debug"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("mario-rllib submit: error: cannot reach the Ray job API")
    assert len(result.stderr.strip().splitlines()) == 1
