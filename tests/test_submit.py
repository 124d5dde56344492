"""A two-node Ray cluster on loopback, and `mario-rllib submit` against it: a `debug` training job
runs to success with env runners on both nodes and writes its checkpoint; an env runner killed
mid-training is restarted and the job still finishes. Then two nodes that do not share a disk, as
on a cloud: a storage path on the head's disk is refused before training, and the same two-trial
experiment in a bucket (a real S3 server on 127.0.0.1) runs one trial on each node, resumes and
evaluates from the bucket.

Each node is started with `ray start --block`, so stopping that one process stops every Ray process
it started, whatever happens in the test. Only loopback addresses are given; the dashboard and the
job API listen on 127.0.0.1. (Ray itself rewrites a node's 127.0.0.1 to the machine's own IP for
its internal node-to-node ports: `ray._private.services.resolve_ip_for_localhost`.)
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
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


def start_node(args: list[str], env: dict, log: Path,
               private_dir: Path | None = None) -> subprocess.Popen:
    """`ray start --block ARGS`, its output into `log`; with `private_dir`, in a mount namespace
    of its own where an empty tmpfs covers `private_dir`: that node sees its own disk there, as a
    cloud node would."""
    command = [str(BIN / "ray"), "start", "--block", "--node-ip-address=127.0.0.1", *args,
               *agent_ports(), "--disable-usage-stats"]
    if private_dir is not None:
        command = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                   'mount -t tmpfs tmpfs "$0" && exec "$@"', str(private_dir), *command]
    with log.open("ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def exited(node: subprocess.Popen, log: Path, what: str) -> str:
    """Why a node's `ray start` is gone: the end of its output."""
    lines = log.read_text(errors="replace").strip().splitlines()
    return f"{what} exited with {node.returncode}:\n" + "\n".join(lines[-25:])


def start_head(cpus: int, env: dict, log: Path) -> tuple[int, str, subprocess.Popen]:
    """A head node on free ports; (its GCS port, its dashboard URL, its `ray start`) once the
    dashboard answers or the process has exited."""
    port, dashboard_port = free_port(), free_port()
    head = start_node(["--head", f"--port={port}", "--dashboard-host=127.0.0.1",
                       f"--dashboard-port={dashboard_port}",
                       f"--ray-client-server-port={free_port()}", f"--num-cpus={cpus}"], env, log)
    address = f"http://127.0.0.1:{dashboard_port}"
    deadline = time.time() + 120
    while head.poll() is None:
        try:
            urllib.request.urlopen(f"{address}/api/version", timeout=2)
            break
        except urllib.error.HTTPError:  # it answers (401 without a token): it is up
            break
        except OSError:
            assert time.time() < deadline, "the dashboard did not come up in 120 s"
            time.sleep(1)
    return port, address, head


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


@contextlib.contextmanager
def ray_cluster(head_cpus: int, worker_cpus: list[int], private_dir: Path | None = None):
    """A head and worker nodes on 127.0.0.1, each with its own CPUs (and, with `private_dir`,
    each worker with its own filesystem there); yields (the dashboard URL, the GCS address, the
    workers' `ray start` processes). Worker i has a resource `worker_i` naming it."""
    # Its own Ray temp dir (short: Ray's socket paths must stay under ~107 characters), so the
    # head's "current cluster" address file never makes a later `ray.init()` on this machine
    # try to join a head that is gone.
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": ray_tmp,
           # The GCS declares a silent node dead after 3 missed health checks a second apart
           # (Ray's defaults: 5, 3 s apart, each waiting up to 10 s), as Ray's own tests do.
           "RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "3000",
           "RAY_health_check_failure_threshold": "3"}
    nodes: list[subprocess.Popen] = []
    try:
        for attempt in (1, 2):
            log = Path(ray_tmp) / f"head_{attempt}.log"
            port, address, head = start_head(head_cpus, env, log)
            if head.poll() is None:
                nodes.append(head)
                break
            # The ports were free when picked, but anything on this machine may take one before
            # Ray binds it: once, say why (in the warnings summary) and pick new ones.
            message = exited(head, log, "ray start --head")
            assert attempt == 1, message
            warnings.warn(message + "\n(trying again with new ports)", stacklevel=1)
        if TOKEN_FILE.is_file():  # the head made (or found) a token: the worker must send it
            env["RAY_AUTH_MODE"] = "token"
        deadline = time.time() + 120
        # Its own temp dir too: two nodes sharing one would unpack the job's working dir into the
        # same path, and the worker's unpacking deletes the directory the job driver runs in.
        for index, cpus in enumerate(worker_cpus):
            nodes.append(start_node([f"--address=127.0.0.1:{port}", f"--num-cpus={cpus}",
                                     f"--resources={json.dumps({f'worker_{index}': 1})}",
                                     f"--temp-dir={ray_tmp}/w{index}"], env,
                                    Path(ray_tmp) / f"worker_{index}.log", private_dir))
        while len([n for n in ray_list("nodes", address) if n["state"] == "ALIVE"]) < len(nodes):
            for index, node in enumerate(nodes[1:]):
                assert node.poll() is None, exited(node, Path(ray_tmp) / f"worker_{index}.log",
                                                   f"worker {index}'s ray start")
            assert time.time() < deadline, "the worker nodes did not join in 120 s"
            time.sleep(1)
        yield address, f"127.0.0.1:{port}", nodes[1:]
    finally:
        for node in reversed(nodes):
            stop_node(node)
        shutil.rmtree(ray_tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def loopback_cluster(s3_server):
    """A head and a worker node on 127.0.0.1, each with its own CPUs, reaching the session's S3
    server through their environment; yields the dashboard URL."""
    with ray_cluster(HEAD_CPUS, [WORKER_CPUS]) as (address, _, _):
        yield address


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
    from mario_rllib.storage import locate

    # docs/cluster.md's command, into the bucket. 3 env runners of 1 CPU and the trial's driver
    # (1 CPU) fill both 2-CPU nodes: the runners cannot all be on one node.
    job = submit(loopback_cluster, "--preset", "debug", "--num-env-runners", "3",
                 "--stop-iters", "1", "--storage-path", "s3://mario/submitted", "--name", "job")
    stdout, stderr = job.communicate(timeout=600)
    assert job.returncode == 0, stdout + stderr
    assert "submitted job raysubmit_" in stdout
    assert "ray job logs --follow --address" in stdout
    assert stdout.strip().endswith("SUCCEEDED")
    trials = locate("s3://mario/submitted/job").children("trial_*")
    assert trials and trials[0].children("checkpoint_*"), "no checkpoint written"
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


def why_no_private_filesystem() -> str | None:
    """Why a node cannot get a filesystem of its own on this machine (mount namespaces need
    root or user namespaces), or None."""
    with tempfile.TemporaryDirectory() as probe:
        try:
            result = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh",
                                     "-c", 'mount -t tmpfs tmpfs "$0"', probe],
                                    capture_output=True, text=True, timeout=30)
        except OSError as error:
            return f"no unshare: {error}"
    return None if result.returncode == 0 else (result.stderr.strip() or "unshare failed")


@pytest.fixture(scope="module")
def private_disk_cluster(s3_server, tmp_path_factory):
    """A head and a worker node of one CPU each, the worker in its own mount namespace with an
    empty tmpfs over the head's storage directory: each node has its own disk there, as on a
    cloud. Both nodes reach the session's S3 server through their environment, as nodes with an
    instance role would."""
    reason = why_no_private_filesystem()
    if reason:
        pytest.skip(f"a node with a private filesystem needs mount namespaces: {reason}")
    storage = tmp_path_factory.mktemp("head_disk")
    env = {**os.environ, **({"RAY_AUTH_MODE": "token"} if TOKEN_FILE.is_file() else {})}
    with ray_cluster(1, [1], private_dir=storage) as (dashboard, gcs, _):
        yield {"dashboard": dashboard, "gcs": gcs, "storage": storage, "env": env}


TWO_TRIALS = ["train", "--preset", "debug", "--stop-iters", "1", "--num-samples", "2"]
"""Two trials of one CPU each, on two nodes of one CPU each: one trial's driver per node."""


def test_a_head_only_storage_path_is_refused_before_training(private_disk_cluster, cli):
    cluster = private_disk_cluster
    run = cli(*TWO_TRIALS, "--address", cluster["gcs"], "--storage-path",
              str(cluster["storage"]), "--name", "local", env=cluster["env"])
    lines = run.stderr.strip().splitlines()[-1:]  # after Ray's own "Connecting to ..." lines
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    # (Ray names a node by the machine's address, not the 127.0.0.1 it was given.)
    assert re.fullmatch(
        rf"mario-rllib train: error: bad --storage-path '{cluster['storage']}': 1 of the "
        r"cluster's 2 nodes do not see it \([\d.]+ \([0-9a-f]{8}\)\), and a trial may run on any "
        r"node; give a bucket \(s3://BUCKET/PREFIX, gs://BUCKET/PREFIX\) or a shared mount that "
        r"every node sees", lines[0]), lines
    assert list(cluster["storage"].iterdir()) == []  # nothing written, nothing left
    assert "iter" not in run.stdout  # nothing trained


def test_in_a_bucket_trials_run_on_both_nodes_then_resume_and_evaluate_from_it(
        private_disk_cluster, cli, tmp_path):
    from mario_rllib.storage import locate

    cluster, experiment = private_disk_cluster, "s3://mario/cluster/exp"
    run = cli(*TWO_TRIALS, "--address", cluster["gcs"], "--storage-path", "s3://mario/cluster",
              "--name", "exp", cwd=tmp_path, env=cluster["env"])
    assert run.returncode == 0, run.stdout + run.stderr
    trials = locate(experiment).children("trial_*")
    assert len(trials) == 2 and all(trial.children("checkpoint_*") for trial in trials), trials
    drivers = ray_list("actors", cluster["dashboard"], "class_name=PPO")
    assert len({actor["node_id"] for actor in drivers}) == 2, drivers  # one trial per node
    resumed = cli("train", "--resume", experiment, "--address", cluster["gcs"], cwd=tmp_path,
                  env=cluster["env"])
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.count(": done; last checkpoint: s3://mario/cluster/exp/trial_") == 2
    evaluated = cli("evaluate", str(trials[1]), "--episodes", "1", "--max-episode-steps", "20",
                    cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert f"evaluating {trials[1]}/checkpoint_000000/" in evaluated.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evaluation.json"]  # the rest: bucket


def kill_session(session_id: int) -> None:
    """SIGKILL every process of a session: Ray's workers run in process groups of their own, so
    `killpg` would leave the trial running."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[3]) == session_id:  # pid (comm) state ppid pgrp session
            try:
                os.kill(int(stat.parent.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def iterations_printed(output: str) -> list[int]:
    """The training iterations of the progress lines, in the order they were printed."""
    return [int(m[1]) for m in re.finditer(r"\] iter +(\d+) \|", output)]


def test_a_lost_node_costs_at_most_one_checkpoint_interval_and_a_killed_driver_resumes(
        s3_server, tmp_path, cli):
    """A trial's node dies whole (its `ray start`, raylet and every process they started, with
    SIGKILL): Tune restores the trial from its last checkpoint in the bucket on the other node
    (`--max-failures`). Then `mario-rllib train` itself is killed, and `--resume` goes on from
    the bucket. The node's loss costs at most `--checkpoint-every` iterations; the driver's,
    the iterations since the newest checkpoint Tune's experiment state had recorded."""
    from mario_rllib.storage import locate

    every, stop, experiment = 2, 10, "s3://mario/lost-node/exp"
    trial_dirs = locate(experiment)
    env = {**os.environ, **({"RAY_AUTH_MODE": "token"} if TOKEN_FILE.is_file() else {})}
    # No CPU on the head: the trial's driver runs on one of the two workers.
    with ray_cluster(0, [1, 1]) as (dashboard, gcs, workers):
        train = subprocess.Popen(
            [sys.executable, "-m", "mario_rllib.cli", "train", "--address", gcs, "--preset",
             "debug", "--stop-iters", str(stop), "--checkpoint-every", str(every),
             "--storage-path", "s3://mario/lost-node", "--name", "exp"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
            start_new_session=True)
        output = []
        try:
            def wait_for_checkpoint(name: str) -> None:
                deadline = time.time() + 300
                while not any((t / name).exists() for t in trial_dirs.children("trial_*")):
                    assert train.poll() is None, train.stdout.read()
                    assert time.time() < deadline, f"no {name} within 300 s"
                    time.sleep(0.2)

            wait_for_checkpoint("checkpoint_000001")  # iteration 4
            (driver,) = ray_list("actors", dashboard, "class_name=PPO", "state=ALIVE")
            nodes = {node["node_id"]: node for node in ray_list("nodes", dashboard)}
            index = next(int(name.split("_")[1]) for name in
                         nodes[driver["node_id"]]["resources_total"] if name.startswith("worker_"))
            kill_session(workers[index].pid)  # the whole node, as a lost machine
            workers[index].wait(timeout=60)
            wait_for_checkpoint("checkpoint_000003")  # iteration 8, after the restore
            kill_session(train.pid)  # the driver, as a lost head would
        finally:
            if train.poll() is None:
                kill_session(train.pid)
            output.append(train.communicate(timeout=60)[0])
        recovery = re.search(r"failed \(1 of at most 3\): restoring from checkpoint_00000[01]",
                             output[0])
        assert recovery, output[0]
        before = iterations_printed(output[0][:recovery.start()])
        after = iterations_printed(output[0][recovery.end():])
        assert 0 <= before[-1] - (after[0] - 1) <= every, output[0]  # iterations redone
        first = before + after
        resumed = cli("train", "--resume", experiment, "--address", gcs, env=env, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    second = iterations_printed(resumed.stdout)
    assert second[-1] == stop and second == list(range(second[0], stop + 1)), second
    # A killed driver resumes from the newest checkpoint its experiment state recorded: Tune
    # saves that state at most every 10 s and uploads it at most every `sync_period` (5 min;
    # forced after `num_to_keep` checkpoints), so it may lag the newest checkpoint written.
    # Never before the restore point, always at a checkpoint (docs/cluster.md says so).
    restored_at = second[0] - 1
    assert restored_at % every == 0 and after[0] - 1 <= restored_at <= first[-1], (first, second)
    assert list(tmp_path.iterdir()) == []  # all of it in the bucket
