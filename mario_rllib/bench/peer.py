"""`mario-rllib bench peer`: the official PyTorch Mario tutorial's DDQN loop (`tutorial_ddqn.py`)
against ours: acting, on one core, in turns with RLlib's sampling; acting and learning; its
learner against our DQN learner; and end to end, its full loop (acting, `learn()` every 3 steps)
against our DQN as the `cpu` preset trains it (sampling and learning at the configured training
intensity, on this machine's cores). The goal is 2x the tutorial's agent steps/s end to end.

Then uvipen's PPO loop (`uvipen_ppo.py`: 8 env processes, 512 steps each, 10 epochs of 16
minibatches) against our PPO as the `cpu` preset trains it, end to end, an iteration of each in
turn on the same cores: `ppo_peer_ratio`, our agent steps/s over its. The goal is 2."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mario_rllib.bench import stop
from mario_rllib.bench.sampling import measure_sampling
from mario_rllib.machine import available_cpus


def measure_dqn_end_to_end(seconds: float, seed: int = 0, quick: bool = False) -> dict[str, Any]:
    """Our DQN as the `cpu` preset trains it, once learning has started: agent steps per second
    of training, and where the time goes (the learner's updates, timed around
    `learner_group.update`, against everything else: sampling, replay, weight syncs)."""
    import time

    from mario_rllib.bench.sampling import Clocked
    from mario_rllib.env import register_mario_envs
    from tune_configs import load_experiment

    register_mario_envs()
    burn_in, per_iteration = (100, 50) if quick else (1_000, 200)
    quick_runners = {"num_env_runners": 0, "envs_per_runner": 2} if quick else {}
    config = load_experiment("dqn").build_config(
        "cpu", seed=seed, learning_starts=burn_in, buffer_capacity=20_000,
        steps_per_iteration=per_iteration, **quick_runners)
    algorithm = config.build_algo()
    clock = {"update": 0.0}
    algorithm.learner_group.update = Clocked(algorithm.learner_group.update, clock, "update")
    steps = _ours(algorithm)

    try:
        while steps() < burn_in + per_iteration:  # the burn-in, a first iteration of learning
            algorithm.train()
        clock["update"], start_steps, start = 0.0, steps(), time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            result = algorithm.train()
        sampled = steps() - start_steps
    finally:
        stop(algorithm)
    return {"agent_steps_per_s": round(sampled / elapsed, 1), "seconds": round(elapsed, 1),
            "update_share": round(clock["update"] / elapsed, 3),
            "training_intensity": round(result.get("training_intensity", float("nan")), 2)}


def _ours(algorithm) -> Callable[[], int]:
    """Agent steps an algorithm has sampled so far."""
    return lambda: algorithm.metrics.peek(("env_runners", "num_env_steps_sampled_lifetime"),
                                          default=0)


def measure_ppo_in_turns(rounds: int, seed: int = 0, quick: bool = False) -> dict[str, Any]:
    """uvipen's PPO loop against our PPO as the `cpu` preset trains it (its env runners sampling,
    the learner in this process), end to end: after one untimed iteration of each, `rounds`
    times an iteration of uvipen's loop, then one of ours, on the same cores. Agent steps per
    second of each, and the share of its wall time in the learner's update. `quick`: a smoke
    run (2 env processes of 16 steps and 1 epoch of 2 minibatches; ours 64 samples, 1 epoch)."""
    import time

    from mario_rllib.bench.env import Throughput
    from mario_rllib.bench.sampling import Clocked
    from mario_rllib.bench.uvipen_ppo import UvipenLoop
    from mario_rllib.env import register_mario_envs
    from tune_configs import load_experiment

    register_mario_envs()
    small = {"num_env_runners": 0, "envs_per_runner": 2, "train_batch_size": 64,
             "minibatch_size": 32, "num_epochs": 1} if quick else {}
    config = load_experiment("ppo").build_config("cpu", seed=seed, **small)
    peer = UvipenLoop(seed, **({"processes": 2, "local_steps": 16, "epochs": 1,
                                "minibatches": 2} if quick else {}))
    algorithm = config.build_algo()
    clock = {"update": 0.0}
    algorithm.learner_group.update = Clocked(algorithm.learner_group.update, clock, "update")
    steps = _ours(algorithm)
    theirs, ours = Throughput(), Throughput()
    try:
        peer.iterate()
        algorithm.train()
        peer.update_seconds = clock["update"] = 0.0
        for _ in range(rounds):
            theirs += peer.iterate()
            before, start = steps(), time.perf_counter()
            algorithm.train()
            ours += Throughput(steps() - before, 0, time.perf_counter() - start)
    finally:
        peer.close()
        stop(algorithm)
    return {
        "rounds": rounds,
        "uvipen_agent_steps_per_s": round(theirs.agent_steps_per_s, 1),
        "uvipen_update_share": round(peer.update_seconds / theirs.seconds, 3),
        "uvipen_frames_per_agent_step": round(theirs.frames / theirs.agent_steps, 2),
        "ours_agent_steps_per_s": round(ours.agent_steps_per_s, 1),
        "ours_update_share": round(clock["update"] / ours.seconds, 3),
        "ppo_peer_ratio": round(ours.agent_steps_per_s / theirs.agent_steps_per_s, 3),
    }


def run_peer_benchmark(seconds: float = 10.0, seed: int = 0, learner: dict | None = None,
                       print_fn: Callable[[str], None] = print,
                       quick: bool = False) -> dict[str, Any]:
    """The PyTorch tutorial's DDQN loop (one process, 1 torch thread) against ours on one core:
    RLlib sampling with 1 env runner of 1 env (like for like: the tutorial steps one env) and of
    the `cpu` preset's envs, each taking turns with the tutorial's acting loop; then the tutorial
    acting and learning, and its learner against our DQN learner on 1 thread; last, uvipen's
    PPO loop against our PPO, end to end (`measure_ppo_in_turns`)."""
    import torch

    from mario_rllib.bench.tutorial_ddqn import TutorialLoop
    from tune_configs.common import RESOURCE_PRESETS

    preset_k = RESOURCE_PRESETS["cpu"]["envs_per_runner"]
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ours = {k: measure_sampling("ppo", 1, k, seconds, seed,
                                    baseline=TutorialLoop(seed, learn=False))
                for k in sorted({1} if quick else {1, preset_k})}
        full_loop = TutorialLoop(seed, learn=True)
        full = full_loop.run(seconds)
        full_loop.close()
    finally:
        torch.set_num_threads(previous)
    peer_steps = {k: row["baseline_agent_steps_per_s"] for k, row in ours.items()}
    report: dict[str, Any] = {
        "tutorial_acting_agent_steps_per_s": peer_steps[1],
        "tutorial_acting_and_learning_agent_steps_per_s": round(full.agent_steps_per_s, 1),
        "ours_sampling_1x1_agent_steps_per_s": ours[1]["agent_steps_per_s"],
        # ours ÷ the peer on one core, the same work (env, preprocessing, stacking, inference),
        # measured in turns
        "peer_ratio": round(ours[1]["agent_steps_per_s"] / peer_steps[1], 3),
    }
    if preset_k in ours:
        report[f"peer_ratio_1x{preset_k}"] = round(ours[preset_k]["agent_steps_per_s"]
                                                   / peer_steps[preset_k], 3)
    print_fn("")
    print_fn("peer: the PyTorch Mario tutorial's DDQN loop, one process, 1 torch thread, in turns "
             "with ours on one core")
    print_fn(f"{'what':<56} {'agent steps/s':>14} {'÷ tutorial':>11}")
    for k, row in ours.items():
        print_fn(f"{'tutorial loop, acting only':<56} {peer_steps[k]:>14.1f} {1:>11.3f}")
        print_fn(f"{f'ours: RLlib sampling, 1 runner x {k} env(s) (PPO module)':<56} "
                 f"{row['agent_steps_per_s']:>14.1f} {row['agent_steps_per_s'] / peer_steps[k]:>11.3f}")
    print_fn(f"{'tutorial loop, acting + learn() every 3 steps':<56} "
             f"{full.agent_steps_per_s:>14.1f}")
    print_fn(f"peer_ratio (ours 1x1 ÷ tutorial, acting): {report['peer_ratio']:.3f}")
    dqn = measure_dqn_end_to_end(seconds if quick else seconds * 3, seed, quick)
    report["dqn_end_to_end"] = dqn
    report["end_to_end_ratio"] = round(dqn["agent_steps_per_s"] / full.agent_steps_per_s, 3)
    label = f"ours: DQN, cpu preset, sampling + learning ({dqn['training_intensity']:g}/step)"
    print_fn(f"{label:<56} {dqn['agent_steps_per_s']:>14.1f} {report['end_to_end_ratio']:>11.3f}")
    print_fn(f"end_to_end_ratio (our DQN ÷ the tutorial's full loop): "
             f"{report['end_to_end_ratio']:.3f} (goal 2); our learner's updates take "
             f"{dqn['update_share']:.0%} of the wall time")
    ours_dqn = (learner or {}).get("dqn", {}).get("threads_1")
    if ours_dqn and full_loop.learner_samples_per_s:
        report["tutorial_learner_samples_per_s"] = round(full_loop.learner_samples_per_s, 1)
        report["learner_ratio"] = round(
            ours_dqn["samples_per_s"] / full_loop.learner_samples_per_s, 3)
        print_fn(f"DQN learner, samples/s on 1 thread: ours {ours_dqn['samples_per_s']:.1f}, "
                 f"tutorial {full_loop.learner_samples_per_s:.1f} "
                 f"(ours ÷ tutorial {report['learner_ratio']:.3f}; ours is dueling: two 512-unit "
                 f"streams, twice the dense weights)")
    ppo = measure_ppo_in_turns(1 if quick else 2, seed, quick)
    report["ppo_end_to_end"] = ppo
    report["ppo_peer_ratio"] = ppo["ppo_peer_ratio"]
    print_fn("")
    print_fn(f"PPO end to end, in turns on {available_cpus()} cores ({ppo['rounds']} "
             f"iteration(s) of each, after one untimed)")
    size = " (smoke size)" if quick else ""
    rows = [(f"uvipen PPO loop, 8 env processes, 1 torch thread{size}",
             ppo["uvipen_agent_steps_per_s"], 1.0),
            (f"ours: PPO, cpu preset{size}", ppo["ours_agent_steps_per_s"], ppo["ppo_peer_ratio"])]
    for what, agent_steps_per_s, ratio in rows:
        print_fn(f"{what:<56} {agent_steps_per_s:>14.1f} {ratio:>11.3f}")
    print_fn(f"ppo_peer_ratio (our PPO ÷ uvipen's loop, end to end): {ppo['ppo_peer_ratio']:.3f} "
             f"(goal 2); the update takes {ppo['ours_update_share']:.0%} of our wall time, "
             f"{ppo['uvipen_update_share']:.0%} of uvipen's")
    return report
