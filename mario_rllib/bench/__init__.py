"""`mario-rllib bench`: throughput and replay memory, each figure with its ratio to a baseline
measured in the same run (these machines drift by 15% between runs).

    env.py            our env against the raw emulator (gym-super-mario-bros' own env)
    sampling.py       RLlib's env runners (env, connectors, inference) against the raw emulator
    learner.py        samples each algorithm's learner consumes per second
    peer.py           the PyTorch Mario tutorial's DDQN loop (tutorial_ddqn.py) and uvipen's PPO
                      loop (uvipen_ppo.py) against ours
    replay.py         bytes per stored replay transition (DQN, DreamerV3)

`run()` runs the parts asked for and assembles the report that `mario-rllib bench` prints as one
JSON line.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

TARGETS = ("env", "sampling", "learner", "peer", "replay")
SAMPLING_ENVS_PER_RUNNER = (4, 16)
"""`bench sampling`'s envs per runner: the `cpu` preset's before and now (1 x 1 is in `bench peer`)."""


def stop(algorithm) -> None:
    """`algorithm.stop()`, then the directory Ray made for it removed if it is empty: an algorithm
    built outside Tune gets a new `~/ray_results/<date>_<time><random>` each time (Ray 2.60's
    `Trainable._setup_logdir`), which a benchmark leaves empty."""
    from ray.train.constants import DEFAULT_STORAGE_PATH

    algorithm.stop()
    logdir = Path(algorithm.logdir)
    if logdir.parent == Path(DEFAULT_STORAGE_PATH) and logdir.is_dir() and not any(logdir.iterdir()):
        logdir.rmdir()


def run(what: str | None = None, *, seconds: float = 10.0, processes: int | None = None,
        replay_steps: int = 5_000, envs_per_runner: list[int] | None = None, seed: int = 0,
        quick: bool = False) -> dict[str, Any]:
    """Run `what` (one of TARGETS; None: all) and return the report; `quick` is a smoke run of
    every part (1 s per target, small learner batches, 500 replay steps, 1 env per runner, the
    peer's 1 x 1 only and a short end-to-end DQN)."""
    from mario_rllib.bench.env import run_env_benchmark
    from mario_rllib.bench.learner import run_learner_benchmark
    from mario_rllib.bench.peer import run_peer_benchmark
    from mario_rllib.bench.replay import run_replay_benchmark
    from mario_rllib.bench.sampling import local_ray, run_sampling_benchmark
    from mario_rllib.machine import available_cpus

    if quick:
        seconds, replay_steps = 1.0, 500
        envs_per_runner = envs_per_runner or [1]
    envs_per_runner = envs_per_runner or list(SAMPLING_ENVS_PER_RUNNER)
    if seconds <= 0 or replay_steps < 100 or (processes is not None and processes < 1):
        raise ValueError(
            f"bad bench budget (--seconds {seconds:g}, --processes {processes}, "
            f"--replay-steps {replay_steps}): expected seconds > 0, processes >= 1 and "
            f"replay steps >= 100"
        )
    report: dict[str, Any] = {}
    if what in (None, "env"):
        report["env"] = run_env_benchmark(seconds, processes, seed, print_json=False)
        report["raw_frames_per_s"] = report["env"]["raw_frames_per_s"]
        report["emulator_speedup"] = report["env"]["emulator_speedup"]
    # One local Ray for the parts that use one (each would start and stop its own: about 5 s
    # apiece), started after the env part, which measures the emulator without it.
    uses_ray = what in (None, "sampling", "learner", "peer")
    with local_ray(available_cpus()) if uses_ray else contextlib.nullcontext():
        if what in (None, "sampling"):
            sampling_seconds = max(seconds, 2.0)  # a sample call needs a few steps per env
            report["sampling"] = run_sampling_benchmark(
                "ppo", sampling_seconds, envs_per_runner=envs_per_runner, seed=seed)
            report["sampling_ratio_to_raw"] = report["sampling"]["sampling_ratio_to_raw"]
            report["scaling_efficiency"] = report["sampling"].get("scaling_efficiency")
            report["raw_scaling_efficiency"] = report["sampling"].get("raw_scaling_efficiency")
        if what in (None, "learner"):
            report["learner"] = run_learner_benchmark(quick, seed)
        if what in (None, "peer"):
            report["peer"] = run_peer_benchmark(max(seconds, 2.0), seed, report.get("learner"),
                                                quick=quick)
            report["peer_ratio"] = report["peer"]["peer_ratio"]
            report["ppo_peer_ratio"] = report["peer"]["ppo_peer_ratio"]
    if what in (None, "replay"):
        report.update(run_replay_benchmark(replay_steps, seed, print_json=False))
    return report
