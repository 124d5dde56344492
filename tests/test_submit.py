"""A two-node Ray cluster on loopback, and `mario-rllib submit` against it: a `debug` training job
runs to success with env runners on both nodes and writes its checkpoint; an env runner killed
mid-training is restarted and the job still finishes.

Each node is started with `ray start --block`, so stopping that one process stops every Ray process
it started, whatever happens in the test. Only loopback addresses are given; the dashboard and the
job API listen on 127.0.0.1. (Ray itself rewrites a node's 127.0.0.1 to the machine's own IP for
its internal node-to-node ports: `ray._private.services.resolve_ip_for_localhost`.)
"""

import json
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

from mario_rllib.submit import TOKEN_FILE

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
HEAD_CPUS = WORKER_CPUS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def agent_ports() -> list[str]:
    """Every port free, not Ray's defaults: another Ray on this machine (e.g. the session-wide one
    of tests/conftest.py) holds the default agent ports, and the job agent then never starts."""
    return [f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}", f"--metrics-export-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}"]


def start_node(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "ray"), "start", "--block", "--node-ip-address=127.0.0.1", *args,
         *agent_ports(), "--disable-usage-stats"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def stop_node(node: subprocess.Popen) -> None:
    node.send_signal(signal.SIGTERM)  # --block: stops the processes it started
    try:
        node.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(node.pid, signal.SIGKILL)


def ray_list(kind: str, address: str, *filters: str) -> list[dict]:
    """`ray list KIND --detail` as JSON, dead entries included."""
    env = dict(os.environ)
    if TOKEN_FILE.is_file():  # a head made with a token wants it
        env.setdefault("RAY_AUTH_MODE", "token")
    result = subprocess.run(
        [str(BIN / "ray"), "list", kind, "--address", address, "--detail", "--format", "json",
         "--limit", "10000", *[arg for f in filters for arg in ("--filter", f)]],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    )
    if result.stdout.startswith("No resource"):  # nothing yet (Ray prints this, not `[]`)
        return []
    start = result.stdout.find("[")  # anything Ray logs first is not ours to parse
    assert start >= 0, f"ray list {kind}: no JSON in {result.stdout!r} {result.stderr[-500:]!r}"
    return json.loads(result.stdout[start:])


@pytest.fixture(scope="module")
def loopback_cluster():
    """A head and a worker node on 127.0.0.1, each with its own CPUs; yields the dashboard URL."""
    port, dashboard_port = free_port(), free_port()
    # Its own Ray temp dir (short: Ray's socket paths must stay under ~107 characters), so the
    # head's "current cluster" address file never makes a later `ray.init()` on this machine
    # try to join a head that is gone.
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": ray_tmp}
    nodes = [start_node(["--head", f"--port={port}", "--dashboard-host=127.0.0.1",
                         f"--dashboard-port={dashboard_port}",
                         f"--ray-client-server-port={free_port()}", f"--num-cpus={HEAD_CPUS}"],
                        env)]
    address = f"http://127.0.0.1:{dashboard_port}"
    try:
        deadline = time.time() + 120
        while True:
            assert nodes[0].poll() is None, "ray start --head exited"
            try:
                urllib.request.urlopen(f"{address}/api/version", timeout=2)
                break
            except urllib.error.HTTPError:  # it answers (401 without a token): it is up
                break
            except OSError:
                assert time.time() < deadline, "the dashboard did not come up in 120 s"
                time.sleep(1)
        if TOKEN_FILE.is_file():  # the head made (or found) a token: the worker must send it
            env["RAY_AUTH_MODE"] = "token"
        # Its own temp dir too: two nodes sharing one would unpack the job's working dir into the
        # same path, and the worker's unpacking deletes the directory the job driver runs in.
        nodes.append(start_node([f"--address=127.0.0.1:{port}", f"--num-cpus={WORKER_CPUS}",
                                 f"--temp-dir={ray_tmp}/w"], env))
        while len([n for n in ray_list("nodes", address) if n["state"] == "ALIVE"]) < 2:
            assert nodes[1].poll() is None, "the worker node's ray start exited"
            assert time.time() < deadline, "the worker node did not join in 120 s"
            time.sleep(1)
        yield address
    finally:
        for node in reversed(nodes):
            stop_node(node)
        shutil.rmtree(ray_tmp, ignore_errors=True)


def submit(address: str, *train_args: str, wait: bool = True, **kwargs):
    return subprocess.Popen(
        [str(BIN / "mario-rllib"), "submit", "--address", address,
         *(["--wait"] if wait else []), "--", *train_args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, **kwargs,
    )


def results(trial_dir_parent: Path) -> list[dict]:
    files = list(trial_dir_parent.glob("trial_*/result.json"))
    if not files:
        return []
    return [json.loads(line) for line in files[0].read_text().splitlines() if line.strip()]


def env_runners(address: str, job_id: str) -> list[dict]:
    return [actor for actor in ray_list("actors", address, "class_name=SingleAgentEnvRunner")
            if actor.get("job_id") == job_id or job_id is None]


def test_submit_runs_a_debug_training_job_on_both_nodes(loopback_cluster, tmp_path):
    default_address_file = Path("/tmp/ray/ray_current_cluster")
    had_address_file = default_address_file.exists()
    storage = tmp_path / "results"
    # 3 env runners of 1 CPU and the trial's driver (1 CPU) fill both 2-CPU nodes: the runners
    # cannot all be on one node.
    job = submit(loopback_cluster, "--preset", "debug", "--num-env-runners", "3",
                 "--stop-iters", "1", "--storage-path", str(storage), "--name", "job")
    stdout, stderr = job.communicate(timeout=600)
    assert job.returncode == 0, stdout + stderr
    assert "submitted job raysubmit_" in stdout
    assert "ray job logs --follow --address" in stdout
    assert stdout.strip().endswith("SUCCEEDED")
    assert list((storage / "job").glob("trial_*/checkpoint_*")), "no checkpoint written"
    nodes = {actor["node_id"] for actor in env_runners(loopback_cluster, None)}
    assert len(nodes) == 2, f"env runners ran on {len(nodes)} node(s)"
    assert default_address_file.exists() == had_address_file  # the machine's Ray left alone


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def env_runner_pids() -> set[int]:
    """This machine's env-runner actor processes (Ray titles them `ray::SingleAgentEnvRunner`):
    found in milliseconds, where `ray list actors` takes seconds, longer than a debug job's
    iteration."""
    pids = set()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "cmdline").read_bytes().startswith(
                    b"ray::SingleAgentEnvRunner"):
                pids.add(int(proc.name))
        except OSError:  # gone meanwhile
            pass
    return pids


def running(pid: int) -> bool:
    """Whether a process runs (a killed one may linger as a zombie until its parent reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def test_a_killed_env_runner_is_restarted_and_training_goes_on(loopback_cluster, tmp_path):
    ITERS = 20  # noqa: N806  (long enough to kill a runner mid-job on a busy machine)
    storage = tmp_path / "results"
    before = env_runner_pids()
    job = submit(loopback_cluster, "--preset", "debug", "--num-env-runners", "2",
                 "--stop-iters", str(ITERS), "--storage-path", str(storage), "--name", "kill",
                 wait=True)
    try:
        # Kill an env runner of this job once it has used 10 s of CPU: its setup (imports,
        # emulator, module) takes about 7 and it has sampled an iteration or two by then.
        # Killed during the algorithm's setup, RLlib 2.60 fails in `EnvRunnerGroup.get_spaces`
        # instead of restarting it: a fixed delay after the runner appeared hit that on a busy
        # machine. CPU time is a clock load does not stretch; result files and the job's log
        # are none (Tune may write a job's results, and the job API its log, in one burst).
        deadline, runners = time.time() + 300, set()
        while not any(cpu_seconds(pid) >= 10 for pid in runners):
            assert job.poll() is None, job.communicate()
            assert time.time() < deadline, "no env runner of the job used 10 s of CPU in 300 s"
            runners = env_runner_pids() - before
            time.sleep(0.1)
        victim = max(runners, key=cpu_seconds)
        assert job.poll() is None, "the job ended before the kill"
        os.kill(victim, signal.SIGKILL)  # a local process: both nodes are this machine
        stdout, stderr = job.communicate(timeout=600)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, stdout + stderr
    rows = results(storage / "kill")
    assert rows[-1]["training_iteration"] == ITERS  # every iteration after the kill completed
    healthy = [row["fault_tolerance"]["num_healthy_workers"] for row in rows]
    assert set(healthy) <= {1, 2}  # two runners, one of them killed
    # Either RLlib saw the dead runner and went on with one (and the progress line says so;
    # it recreates it `delay_between_env_runner_restarts_s` = 60 s later, RLlib's default), or
    # Ray restarted the actor in place (RLlib gives it `max_restarts`) before RLlib's next call.
    restarted = [actor for actor in env_runners(loopback_cluster, None)
                 if int(actor.get("num_restarts") or 0) > 0]
    assert min(healthy) == 1 or restarted, (healthy, env_runners(loopback_cluster, None))
    if min(healthy) == 1:
        assert "| env runners 1/2 healthy" in stdout
    assert not running(victim)  # the runner killed, not restarted in place


def test_submit_to_nothing_is_one_line():
    result = subprocess.run([str(BIN / "mario-rllib"), "submit", "--address",
                             f"http://127.0.0.1:{free_port()}", "--", "--preset", "debug"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("mario-rllib submit: error: cannot reach the Ray job API")
    assert len(result.stderr.strip().splitlines()) == 1
