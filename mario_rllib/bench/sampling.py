"""`mario-rllib bench sampling`: RLlib's own `SingleAgentEnvRunner`s (our env, connectors and the
experiment's RLModule, inference included, as in training) as Ray actors of one CPU each, for 1..N
runners and k envs per runner, against the raw emulator.

NES frames are counted in the envs themselves. Each configuration takes turns of about 2 s with the
raw emulator (in Ray actors too: one alone, and with N runners also N at once), and its ratio is
to those turns, so drift in the machine's speed hits both alike. The report splits a vector step's
time into its stages (env, inference, connectors, and the rest), timed inside the runners.
`local_ray` is the Ray all parts share (`bench.run`); `Clocked` serves the learner and peer
benchmarks too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mario_rllib.bench.env import RawEmulator, Throughput
from mario_rllib.machine import available_cpus

SAMPLING_TURN_S = 2.0
"""The raw emulator and RLlib sampling take turns this long."""

STAGES = ("env_step", "module_inference", "env_to_module_connectors", "module_to_env_connectors")
"""Where a sampled vector step's time goes, timed inside each env runner (`_start_stage_clocks`)."""


@contextlib.contextmanager
def local_ray(num_cpus: int) -> Iterator[None]:
    """A quiet local Ray for the benchmark, unless one is already up (then it is left as is)."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def _nes_frames(runner) -> int:
    """NES frames stepped by all envs of an env runner (read inside its actor)."""
    vector = runner.env.unwrapped
    return sum(env.unwrapped.nes_frames for env in vector.envs)


class Clocked:
    """Calls `inner`, adding the seconds each call takes to `clocks[stage]` and counting the calls
    in `calls`; any other attribute is `inner`'s."""

    def __init__(self, inner, clocks: dict, stage: str):
        self.inner, self.clocks, self.stage = inner, clocks, stage
        self.calls = 0

    def __call__(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.inner(*args, **kwargs)
        finally:
            self.clocks[self.stage] += time.perf_counter() - start
            self.calls += 1

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _start_stage_clocks(runner) -> None:
    """From now on, time the stages of an env runner's sampling loop (inside its actor).

    RLlib's own env-runner timers are exponential averages (coefficient 0.01) that remember the
    warm-up's first calls for hundreds of steps, so they are not what the report reads.
    """
    clocks = runner.mario_stage_clocks = dict.fromkeys(STAGES, 0.0)
    runner.env.step = Clocked(runner.env.step, clocks, "env_step")
    runner.module.forward_exploration = Clocked(runner.module.forward_exploration, clocks,
                                                 "module_inference")
    runner._env_to_module = Clocked(runner._env_to_module, clocks, "env_to_module_connectors")
    runner._module_to_env = Clocked(runner._module_to_env, clocks, "module_to_env_connectors")


def _stage_clocks(runner) -> dict:
    return {**runner.mario_stage_clocks, "vector_steps": runner.env.step.calls}


def measure_sampling(algo: str, runners: int, envs_per_runner: int, seconds: float,
                     seed: int = 0, baseline=None) -> dict[str, Any]:
    """RLlib sampling with `runners` env-runner actors of `envs_per_runner` envs, taking turns
    with a baseline for about `seconds` each.

    The default baseline is the raw emulator in Ray actors like the runners: one alone (the
    per-core ceiling the ratio is to) and, with several runners, as many as there are runners at
    once (what this machine gives the emulator itself on that many cores). Any other baseline is
    something with `run(seconds) -> Throughput` and `close()`, run in this process.
    """
    import ray
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    from mario_rllib.env import register_mario_envs
    from tune_configs import load_experiment

    register_mario_envs()
    config = load_experiment(algo).build_config("cpu", seed=seed).env_runners(
        num_env_runners=runners, num_envs_per_env_runner=envs_per_runner,
        num_cpus_per_env_runner=1)
    remote = ray.remote(num_cpus=1)(SingleAgentEnvRunner)
    actors = [remote.remote(config=config, worker_index=i + 1, num_workers=runners)
              for i in range(runners)]
    # No CPUs reserved: the raw emulators only run while the runners wait, and vice versa.
    raws = [] if baseline is not None else [
        ray.remote(num_cpus=0)(RawEmulator).remote(seed + i) for i in range(runners)]
    try:
        # Warm-up (module build, first inference, emulator start), and a rate estimate.
        start = time.perf_counter()
        ray.get([a.sample.remote(num_timesteps=16 * envs_per_runner) for a in actors])
        estimate = 16 * envs_per_runner / max(time.perf_counter() - start, 1e-3)
        ray.get([a.apply.remote(_start_stage_clocks) for a in actors])
        # The baseline and RLlib take turns, in rounds of about SAMPLING_TURN_S each, so the
        # machine's drift hits both alike.
        rounds = max(1, round(seconds / SAMPLING_TURN_S))
        per_turn = max(4 * envs_per_runner, int(estimate * SAMPLING_TURN_S))
        raw_tp, raw_parallel, ours = Throughput(), Throughput(), Throughput()
        round_ratios, round_raw_scaling = [], []
        for _ in range(rounds):
            if baseline is not None:
                raw_round = baseline.run(SAMPLING_TURN_S)
            else:
                raw_round = ray.get(raws[0].run.remote(SAMPLING_TURN_S))
                if runners > 1:
                    parallel = sum(ray.get([raw.run.remote(SAMPLING_TURN_S) for raw in raws]),
                                   Throughput())
                    raw_parallel += parallel
                    # per process with N at once / alone (seconds are summed over processes)
                    round_raw_scaling.append(parallel.frames_per_s / raw_round.frames_per_s)
            raw_tp += raw_round
            frames_before = sum(ray.get([a.apply.remote(_nes_frames) for a in actors]))
            start = time.perf_counter()
            episodes = ray.get([a.sample.remote(num_timesteps=per_turn) for a in actors])
            elapsed = time.perf_counter() - start
            frames = sum(ray.get([a.apply.remote(_nes_frames) for a in actors])) - frames_before
            ours_round = Throughput(sum(len(e) for batch in episodes for e in batch), frames,
                                    elapsed)
            ours += ours_round
            round_ratios.append(ours_round.frames_per_s / runners / raw_round.frames_per_s)
        clocks = ray.get([a.apply.remote(_stage_clocks) for a in actors])
    finally:
        if baseline is not None:
            baseline.close()
        for actor in actors + raws:
            ray.kill(actor)
    # Per vector step (k envs) of a runner, averaged over runners; "other" is the rest of the
    # sample calls' wall time: episode bookkeeping, callbacks, metrics, the call itself, and
    # waiting for the slower runner.
    stage_ms = {key: 1e3 * float(np.mean([c[key] / c["vector_steps"] for c in clocks]))
                for key in STAGES}
    wall_ms = 1e3 * float(np.mean([ours.seconds / c["vector_steps"] for c in clocks]))
    stage_ms["other"] = max(0.0, wall_ms - sum(stage_ms.values()))
    row = {
        "runners": runners,
        "envs_per_runner": envs_per_runner,
        "cores_used": runners,
        "agent_steps_per_s": round(ours.agent_steps_per_s, 1),
        "frames_per_s": round(ours.frames_per_s, 1),
        "frames_per_s_per_core": round(ours.frames_per_s / runners, 1),
        "baseline_agent_steps_per_s": round(raw_tp.agent_steps_per_s, 1),
        "raw_frames_per_s": round(raw_tp.frames_per_s, 1),
        # RLlib sampling frames/s per core used / the baseline's (the raw emulator's) frames/s:
        # the median over rounds, each against the baseline's turn just before it (this
        # machine's speed changes within seconds; a slow spell then spoils one round, not all).
        "ratio_to_raw": round(float(np.median(round_ratios)), 3),
        "round_ratios": [round(r, 3) for r in round_ratios],
        "stage_ms_per_vector_step": {k: round(v, 3) for k, v in stage_ms.items()},
    }
    if round_raw_scaling:
        # Each raw actor's seconds are summed, so frames / seconds is the rate per process.
        row["raw_parallel_frames_per_s_per_core"] = round(raw_parallel.frames_per_s, 1)
        row["raw_scaling"] = round(float(np.median(round_raw_scaling)), 3)
    return row


def run_sampling_benchmark(algo: str, seconds: float, envs_per_runner: list[int],
                           runner_counts: list[int] | None = None, seed: int = 0,
                           print_fn: Callable[[str], None] = print) -> dict[str, Any]:
    cores = available_cpus()
    runner_counts = runner_counts or list(range(1, cores + 1))
    rows = [measure_sampling(algo, n, k, seconds, seed)
            for k in envs_per_runner for n in runner_counts]
    print_fn("")
    print_fn(f"RLlib sampling ({algo} module, gray84, inference included), "
             f"{seconds:g} s per configuration, in turns with the raw emulator:")
    print_fn("(raw: the raw emulator alone, in turns; raw xN: per process, as many at once as "
             "there are runners)")
    print_fn(f"{'runners x envs':<16} {'agent steps/s':>14} {'NES frames/s':>13} "
             f"{'per core':>9} {'raw':>7} {'raw xN':>7} {'÷ raw':>7}   stage ms per vector step")
    for row in rows:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in row["stage_ms_per_vector_step"].items())
        raw_n = row.get("raw_parallel_frames_per_s_per_core", row["raw_frames_per_s"])
        print_fn(f"{row['runners']} x {row['envs_per_runner']:<12} {row['agent_steps_per_s']:>14.1f} "
                 f"{row['frames_per_s']:>13.1f} {row['frames_per_s_per_core']:>9.1f} "
                 f"{row['raw_frames_per_s']:>7.1f} {raw_n:>7.1f} {row['ratio_to_raw']:>7.3f}   "
                 f"{stages}")
    report: dict[str, Any] = {"algo": algo, "configs": rows}
    # The headline: the `cpu` preset's envs per runner (what users run), if measured.
    from tune_configs.common import RESOURCE_PRESETS

    preset_k = RESOURCE_PRESETS["cpu"]["envs_per_runner"]
    best_k = preset_k if preset_k in envs_per_runner else max(envs_per_runner)
    one = next(r for r in rows if r["runners"] == 1 and r["envs_per_runner"] == best_k)
    top = max((r for r in rows if r["envs_per_runner"] == best_k), key=lambda r: r["runners"])
    report["envs_per_runner"] = best_k
    report["sampling_ratio_to_raw"] = one["ratio_to_raw"]
    if top["runners"] > 1:
        # Per-core throughput with N runners / with 1, each as its ratio to the raw emulator of
        # its own turns (the machine drifts by ~15% between configurations). The unnormalised
        # one, total with N / (N x one runner), is kept beside it.
        report["scaling_efficiency"] = round(top["ratio_to_raw"] / one["ratio_to_raw"], 3)
        report["scaling_efficiency_unnormalised"] = round(
            top["frames_per_s"] / (top["runners"] * one["frames_per_s"]), 3)
        report["scaling_runners"] = top["runners"]
        print_fn(f"scaling 1 -> {top['runners']} runners ({best_k} env(s) each): "
                 f"{report['scaling_efficiency']:.3f} efficiency (per core, against the raw "
                 f"emulator of the same turns; {report['scaling_efficiency_unnormalised']:.3f} "
                 f"from the rates alone)")
        if "raw_scaling" in top:
            # The emulator's own scaling on this machine, in the same turns: the ceiling for ours.
            report["raw_scaling_efficiency"] = top["raw_scaling"]
            report["scaling_efficiency_vs_raw"] = round(
                report["scaling_efficiency"] / top["raw_scaling"], 3)
            print_fn(f"the raw emulator itself, {top['runners']} processes at once in the same "
                     f"rounds: {top['raw_scaling']:.3f} efficiency; ours ÷ that: "
                     f"{report['scaling_efficiency_vs_raw']:.3f}")
    return report
