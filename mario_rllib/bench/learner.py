"""`mario-rllib bench learner`: each algorithm built here with local sampling
(`num_env_runners=0`), a warm-up iteration, then the samples its learner consumes per second of
its `learner_group.update` calls, on 1 torch thread and on every core (and on the GPU when torch
sees one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mario_rllib.bench import stop
from mario_rllib.bench.sampling import Clocked
from mario_rllib.machine import available_cpus


def measure_learner(algo: str, thread_counts: list[int], quick: bool = False,
                    seed: int = 0) -> dict[str, dict[str, Any]]:
    """Samples the experiment's learner consumes per second of its updates, on this machine's CPU
    (or its GPU, when torch sees one), for each torch thread count: `{"threads_N": {...}}`.

    The algorithm is built once here with local sampling; iteration 1 warms up (and fills DQN's
    replay), then one iteration per thread count. Each is measured by the wall time of its
    `learner_group.update` calls, timed here (RLlib's `learner_update_timer` is an exponential
    average that remembers the warm-up), and the samples they consumed: RLlib's module steps
    trained, or for DreamerV3 the B x T steps each update replays (RLlib counts its B rows).
    """
    import torch

    from mario_rllib.env import register_mario_envs
    from tune_configs import load_experiment

    register_mario_envs()
    experiment = load_experiment(algo)
    overrides = experiment.BENCH_LEARNER["quick" if quick else "full"]
    gpus = 1 if torch.cuda.is_available() else 0
    config = experiment.build_config("cpu", seed=seed, **overrides).env_runners(
        num_env_runners=0, num_envs_per_env_runner=1).learners(num_learners=0,
                                                               num_gpus_per_learner=gpus)
    previous = torch.get_num_threads()
    algorithm = config.build_algo()
    clock = {"update": 0.0}
    update = algorithm.learner_group.update = Clocked(algorithm.learner_group.update, clock,
                                                       "update")
    rows = {}
    try:
        # After the build: the experiments' `on_algorithm_init` gives a local learner every core.
        torch.set_num_threads(thread_counts[0])
        algorithm.train()
        for threads in thread_counts:
            torch.set_num_threads(threads)
            clock["update"], update.calls = 0.0, 0
            result = algorithm.train()
            if algo == "dreamerv3":
                trained = config.batch_size_B * config.batch_length_T * update.calls
            else:
                trained = result["learners"]["__all_modules__"]["num_module_steps_trained"]
            rows[f"threads_{threads}"] = {
                "device": torch.cuda.get_device_name(0) if gpus else "cpu",
                "torch_threads": threads,
                "updates": update.calls,
                "samples_trained": int(trained),
                "update_seconds": round(clock["update"], 3),
                "samples_per_s": round(trained / clock["update"], 1),
            }
    finally:
        stop(algorithm)
        torch.set_num_threads(previous)
    return rows


def run_learner_benchmark(quick: bool = False, seed: int = 0,
                          print_fn: Callable[[str], None] = print) -> dict[str, Any]:
    """Each algorithm's learner on 1 torch thread (what Ray gives a trial's 1-CPU driver, where the
    `cpu` preset's learner runs) and on every core."""
    import torch

    cores = available_cpus()
    thread_counts = [1] if quick or cores == 1 else [1, cores]
    from tune_configs import with_hook

    # The experiments that say how to bench their learner.
    report = {algo: measure_learner(algo, thread_counts, quick, seed)
              for algo in with_hook("BENCH_LEARNER")}
    device = "GPU " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    print_fn("")
    print_fn(f"learner throughput on {device} (samples consumed per second of update):")
    print_fn(f"{'algorithm':<10} {'torch threads':>14} {'samples':>9} {'seconds':>9} "
             f"{'samples/s':>10} {'÷ 1 thread':>11}")
    for algo, rows in report.items():
        base = rows["threads_1"]["samples_per_s"]
        for row in rows.values():
            print_fn(f"{algo:<10} {row['torch_threads']:>14} {row['samples_trained']:>9} "
                     f"{row['update_seconds']:>9.2f} {row['samples_per_s']:>10.1f} "
                     f"{row['samples_per_s'] / base:>11.2f}")
    return report
