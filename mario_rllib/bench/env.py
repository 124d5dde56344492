"""`mario-rllib bench env`: the env's throughput against the raw emulator, measured in one run.

The raw emulator is nes-py 8.2.1 under gym-super-mario-bros' own env, no wrappers: the baseline of
`emulator_speedup` (our env, gray84, on the fast emulator, over it). Our env on nes-py's core
(`gray84/nes-py`) is measured too, so that the emulator's share and the wrappers' are apart.

These machines are noisy (the same loop drifts by 15% between runs), so every figure is reported as a
ratio to the raw emulator measured in the same run, and the measurements are interleaved: all
targets live in one process and take turns in short slices, so that a slow spell of the machine
hits each of them alike.

Both sides play the same random policy: a uniformly drawn action of the `simple` set, held for
`frame_skip` NES frames, resetting on death or flag. NES frames are counted as emulated, no-op
start frames included.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mario_rllib.env import OBS_MODES, MarioEnvConfig, actions, make_env

FRAME_SKIP = 4
SLICE_SECONDS = 0.25
"""Targets take turns in slices this long, so that drift in the machine's speed hits all alike."""


@dataclass
class Throughput:
    agent_steps: int = 0
    frames: int = 0
    seconds: float = 0.0

    @property
    def agent_steps_per_s(self) -> float:
        return self.agent_steps / self.seconds

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds

    def __add__(self, other: Throughput) -> Throughput:
        return Throughput(self.agent_steps + other.agent_steps, self.frames + other.frames,
                          self.seconds + other.seconds)


class RawEmulator:
    """The ceiling: gym-super-mario-bros' emulator env, no wrappers, no Gymnasium bridge."""

    def __init__(self, seed: int):
        from mario_rllib.env.nes import reference_env

        self.env = reference_env("1-1")
        self.env.reset()
        self.codes = actions.controller_bytes("simple")
        self.rng = np.random.default_rng(seed)

    def run(self, seconds: float) -> Throughput:
        decisions = frames = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            code = self.codes[self.rng.integers(len(self.codes))]
            decisions += 1
            for _ in range(FRAME_SKIP):
                _, _, done, _ = self.env.step(code)
                frames += 1
                if done:
                    self.env.reset()
                    break
        return Throughput(decisions, frames, elapsed)

    def close(self):
        self.env.close()


class OurEnv:
    """Our full wrapper stack (`make_env`) for one observation mode, on one emulator."""

    def __init__(self, obs_mode: str, seed: int, emulator: str = "fast"):
        self.env = make_env(MarioEnvConfig(obs_mode=obs_mode, frame_skip=FRAME_SKIP,
                                           emulator=emulator))
        self.env.action_space.seed(seed)
        self.env.reset(seed=seed)

    def run(self, seconds: float) -> Throughput:
        nes = self.env.unwrapped
        steps, frames_before = 0, nes.nes_frames
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            _, _, terminated, truncated, _ = self.env.step(self.env.action_space.sample())
            steps += 1
            if terminated or truncated:
                self.env.reset()
        return Throughput(steps, nes.nes_frames - frames_before, elapsed)

    def close(self):
        self.env.close()


NES_PY_TARGET = "gray84/nes-py"
"""Our env (gray84) on nes-py's own core instead of the fast one."""


def _make_runner(target: str, seed: int):
    if target == "raw_emulator":
        return RawEmulator(seed)
    mode, _, emulator = target.partition("/")
    return OurEnv(mode, seed, emulator or "fast")


def measure_interleaved(targets: list[str], seconds: float, seed: int) -> dict[str, Throughput]:
    """Run every target for `seconds` in total, taking turns in short slices; after a warm-up slice."""
    runners = {target: _make_runner(target, seed) for target in targets}
    for runner in runners.values():
        runner.run(SLICE_SECONDS)  # warm-up, not counted
    totals = {target: Throughput() for target in targets}
    for _ in range(max(1, round(seconds / SLICE_SECONDS))):
        for target, runner in runners.items():
            totals[target] += runner.run(SLICE_SECONDS)
    for runner in runners.values():
        runner.close()
    return totals


def _parallel_worker(targets, seconds, seed, barrier, queue):
    # Start together: env creation and the warm-up take about as long in every process, so the
    # measured windows overlap.
    barrier.wait()
    totals = measure_interleaved(targets, seconds, seed)
    queue.put({t: (r.agent_steps, r.frames, r.seconds) for t, r in totals.items()})


def measure_parallel(targets: list[str], seconds: float, processes: int,
                     seed: int) -> dict[str, Throughput]:
    """Total throughput of `processes` processes, each with its own envs (envs never cross processes).

    Per target, frames and steps add up over processes, and the time is one process's (the mean).
    """
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(processes), ctx.Queue()
    workers = [
        ctx.Process(target=_parallel_worker, args=(targets, seconds, seed + i, barrier, queue))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=120 + 10 * seconds * len(targets)) for _ in workers]
    for worker in workers:
        worker.join()
    totals = {}
    for target in targets:
        parts = [Throughput(*result[target]) for result in results]
        totals[target] = Throughput(sum(p.agent_steps for p in parts), sum(p.frames for p in parts),
                                    statistics.fmean(p.seconds for p in parts))
    return totals


def run_env_benchmark(
    seconds: float = 10.0,
    processes: int | None = None,
    seed: int = 0,
    print_fn: Callable[[str], None] = print,
    print_json: bool = True,
) -> dict:
    """Measure, print a table, and return the report (and print it as one line of JSON)."""
    from mario_rllib.machine import available_cpus

    processes = processes or available_cpus()
    targets = ["raw_emulator", NES_PY_TARGET, *OBS_MODES]
    parallel_targets = ["raw_emulator", "gray84"]
    print_fn(
        f"bench env: {seconds:g} s per target in {SLICE_SECONDS:g} s turns, frame skip "
        f"{FRAME_SKIP}, random actions; then {processes} process(es) at once"
    )
    single = measure_interleaved(targets, seconds, seed)
    raw = single["raw_emulator"]
    report: dict = {
        "benchmark": "env",
        "frame_skip": FRAME_SKIP,
        "seconds_per_target": seconds,
        "raw_frames_per_s": round(raw.frames_per_s, 1),
        "modes": {
            mode: {
                "agent_steps_per_s": round(single[mode].agent_steps_per_s, 1),
                "frames_per_s": round(single[mode].frames_per_s, 1),
                "ratio_to_raw": round(single[mode].frames_per_s / raw.frames_per_s, 3),
            }
            for mode in OBS_MODES
        },
    }
    report["gray84_ratio_to_raw"] = report["modes"]["gray84"]["ratio_to_raw"]
    on_nes_py = single[NES_PY_TARGET]
    report["nes_py_env"] = {
        "agent_steps_per_s": round(on_nes_py.agent_steps_per_s, 1),
        "frames_per_s": round(on_nes_py.frames_per_s, 1),
        "ratio_to_raw": round(on_nes_py.frames_per_s / raw.frames_per_s, 3),
    }
    # NES frames/s per core of the env agents use (gray84, the fast emulator) over nes-py 8.2.1
    # itself, and over our env on nes-py's core (the emulator alone)
    report["emulator_speedup"] = report["gray84_ratio_to_raw"]
    report["emulator_speedup_same_env"] = round(
        single["gray84"].frames_per_s / on_nes_py.frames_per_s, 3)
    rows = [("raw emulator (nes-py, no wrappers)", "-", raw.frames_per_s, 1.0),
            ("ours, gray84, nes-py's core", report["nes_py_env"]["agent_steps_per_s"],
             on_nes_py.frames_per_s, report["nes_py_env"]["ratio_to_raw"])]
    for mode, figures in report["modes"].items():
        rows.append((f"ours, {mode}, fast core", figures["agent_steps_per_s"], figures["frames_per_s"],
                     figures["ratio_to_raw"]))
    if processes > 1:
        par = measure_parallel(parallel_targets, seconds, processes, seed + 1000)
        raw_par, ours_par = par["raw_emulator"], par["gray84"]
        report["parallel"] = {
            "processes": processes,
            "raw_frames_per_s": round(raw_par.frames_per_s, 1),
            "gray84_frames_per_s": round(ours_par.frames_per_s, 1),
            "gray84_agent_steps_per_s": round(ours_par.agent_steps_per_s, 1),
            "gray84_ratio_to_raw": round(ours_par.frames_per_s / raw_par.frames_per_s, 3),
            # total with N processes / (N x one process): ours (gray84), and the raw emulator's
            # own, measured the same way, as its baseline.
            "scaling_efficiency": round(
                ours_par.frames_per_s / (processes * single["gray84"].frames_per_s), 3
            ),
            "raw_scaling_efficiency": round(raw_par.frames_per_s / (processes * raw.frames_per_s), 3),
        }
        rows.append((f"raw emulator, {processes} processes", "-", raw_par.frames_per_s, 1.0))
        rows.append((f"ours, gray84, fast core, {processes} processes", ours_par.agent_steps_per_s,
                     ours_par.frames_per_s, report["parallel"]["gray84_ratio_to_raw"]))

    print_fn("")
    print_fn(f"emulator_speedup (ours, gray84, fast core ÷ nes-py 8.2.1): "
             f"{report['emulator_speedup']:.2f}x; over our env on nes-py's core: "
             f"{report['emulator_speedup_same_env']:.2f}x")
    print_fn(f"{'what':<38} {'agent steps/s':>14} {'NES frames/s':>13} {'÷ raw':>7}")
    for name, steps, frames, ratio in rows:
        steps_text = steps if isinstance(steps, str) else f"{steps:.1f}"
        print_fn(f"{name:<38} {steps_text:>14} {frames:>13.1f} {ratio:>7.3f}")
    if processes > 1:
        print_fn(
            f"scaling 1 -> {processes} processes: ours (gray84) "
            f"{report['parallel']['scaling_efficiency']:.3f}, raw emulator "
            f"{report['parallel']['raw_scaling_efficiency']:.3f} efficiency"
        )
    if print_json:
        print_fn(json.dumps(report))
    return report
