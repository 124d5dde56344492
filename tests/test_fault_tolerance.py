"""Fault tolerance: an emulator error in one step becomes a failed (dropped) episode and a fresh env,
not a dead experiment (the real emulator and RLlib's env runner, in this process); `mario-rllib
train` killed with SIGKILL resumes losing at most one checkpoint interval. A killed env runner is
tested on a two-node cluster in test_submit.py."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import pytest
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner
from ray.tune.registry import register_env

from mario_rllib.env import make_env, register_mario_envs
from mario_rllib.progress import format_progress
from tune_configs import load_experiment

FAIL_AT_STEP = 30


class EmulatorFailsOnce(gym.Wrapper):
    """Raises, as a crashed emulator call would, at one step of the first env of this process."""

    failed = False

    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        if self.steps == FAIL_AT_STEP and not EmulatorFailsOnce.failed:
            EmulatorFailsOnce.failed = True
            raise RuntimeError("nes-py: emulator fault (injected by the test)")
        return self.env.step(action)


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_an_emulator_error_drops_the_episode_and_sampling_goes_on(algo):
    register_mario_envs()
    register_env("mario_fails_once", lambda config: EmulatorFailsOnce(make_env(config)))
    EmulatorFailsOnce.failed = False
    config = load_experiment(algo).build_config("debug", seed=0).environment("mario_fails_once")
    assert config.restart_failed_sub_environments and config.restart_failed_env_runners
    runner = SingleAgentEnvRunner(config=config)
    try:
        first_env = runner.env
        episodes = runner.sample(num_timesteps=150, random_actions=True)
        assert EmulatorFailsOnce.failed
        assert runner.env is not first_env  # recreated
        # The failed episode's steps were dropped; sampling went on to the steps asked for.
        assert sum(len(e) for e in episodes) >= 150
        for episode in episodes:
            episode.validate()
        metrics = runner.get_metrics()
        assert metrics["num_env_step_failures"] == 1
        assert runner.sample(num_timesteps=20, random_actions=True)  # still sampling
    finally:
        runner.stop()


def test_progress_line_shows_faults_only_when_there_are_some():
    result = {"training_iteration": 3, "time_this_iter_s": 2.0, "config": {"num_env_runners": 2},
              "env_runners": {"num_env_steps_sampled": 100}}
    healthy = {**result, "fault_tolerance": {"num_healthy_workers": 2}}
    assert "healthy" not in format_progress("t", healthy) and "errors" not in format_progress(
        "t", healthy)
    sick = {**result, "fault_tolerance": {"num_healthy_workers": 1},
            "env_runners": {"num_env_steps_sampled": 100, "num_env_step_failures": 3}}
    assert format_progress("t", sick).endswith(" | env runners 1/2 healthy | env errors 3")


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_loses_at_most_one_checkpoint_interval(tmp_path,
                                                                           progress_rows):
    """`kill -9` of `mario-rllib train` (and every process it started), then `--resume` from a
    copy of the experiment in another place."""
    # Killed after its 5th logged iteration, with room to spare: Tune's driver may log several
    # queued results at once (12 of 12 were logged before the kill, once, on a busy machine).
    storage, every, stop = tmp_path / "results", 2, 20
    experiment = storage / "killed"
    ray_tmp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # its own: nothing stale left behind
    env = {**os.environ, "RAY_TMPDIR": ray_tmp}
    train = [sys.executable, "-m", "mario_rllib.cli", "train", "--preset", "debug",
             "--stop-iters", str(stop), "--checkpoint-every", str(every), "--storage-path",
             str(storage), "--name", "killed"]
    first = subprocess.Popen(train, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=env, start_new_session=True)
    try:
        deadline = time.time() + 300
        while len(progress_rows(experiment)) < 2 * every + 1:  # mid-way through an interval
            assert first.poll() is None, "train exited before it was killed"
            assert time.time() < deadline, "too slow: no 5th iteration in 300 s"
            time.sleep(0.1)
    finally:
        kill_session(first.pid)  # the CLI, its local Ray and its workers, like a lost machine
        first.wait(timeout=60)
    before = progress_rows(experiment)
    # Resumed elsewhere, as on a new cluster after `ray rsync-up` (README, "Scaling out").
    moved = tmp_path / "synced" / "killed"
    shutil.copytree(experiment, moved)
    shutil.rmtree(experiment)
    experiment = moved
    resumed = subprocess.run([sys.executable, "-m", "mario_rllib.cli", "train", "--resume",
                              str(experiment)], capture_output=True, text=True, timeout=600,
                             env=env)
    shutil.rmtree(ray_tmp, ignore_errors=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert before[-1][0] < stop, "the run ended before it was killed"
    after = progress_rows(experiment)
    assert len(after) > len(before), resumed.stdout
    restarted_at = after[len(before)][0]  # the first iteration after the resume
    steps = dict(before)
    lost_steps = before[-1][1] - steps[restarted_at - 1]  # redone: last seen - restored
    interval_steps = every * (steps[2] - steps[1])  # the debug preset's steps are fixed
    assert 0 <= lost_steps <= interval_steps, (before, after)
    assert after[-1][0] == stop


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
