"""`mario-rllib bench replay`: the bytes each stored transition costs in our replay buffers (DQN,
DreamerV3), everything the buffer holds weighed, against RLlib's own buffers given the same
episodes, and the time to sample a batch."""

from __future__ import annotations

import collections
import json
import sys
import time
from collections.abc import Callable

import numpy as np


def deep_sizeof(obj, seen: set[int] | None = None) -> int:
    """Bytes an object graph holds: numpy buffers by `nbytes`, Python objects by `sys.getsizeof`,
    containers and instance attributes followed, every object counted once."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        # An array that owns its data counts it in getsizeof; a view counts its base, once; an
        # object array holds pointers, so what they point to is followed.
        size = sys.getsizeof(obj) + (0 if obj.base is None else deep_sizeof(obj.base, seen))
        if obj.dtype == object:
            size += sum(deep_sizeof(item, seen) for item in obj.flat)
        return size
    size = sys.getsizeof(obj)
    if isinstance(obj, (str, bytes, int, float, bool, type(None), type)):
        return size
    if isinstance(obj, dict):
        return size + sum(deep_sizeof(k, seen) + deep_sizeof(v, seen) for k, v in obj.items())
    if isinstance(obj, (list, tuple, set, frozenset, collections.deque)):
        return size + sum(deep_sizeof(item, seen) for item in obj)
    if hasattr(obj, "__dict__"):
        size += deep_sizeof(vars(obj), seen)
    for slot in getattr(type(obj), "__slots__", ()):
        if hasattr(obj, slot):
            size += deep_sizeof(getattr(obj, slot), seen)
    return size


REPLAY_ROWS: dict[str, tuple[tuple[str, str], ...]] = {
    "dqn": (("ours, as configured", ""), ("ours, frames not compressed", "uncompressed_"),
            ("RLlib's PER buffer, same data", "rllib_buffer_")),
    "dreamerv3": (("ours, as configured", ""),
                  ("RLlib's EpisodeReplayBuffer, same data", "rllib_buffer_")),
}
"""Experiments with a replay buffer -> the rows of their table: (label, key prefix)."""


def run_replay_benchmark(agent_steps: int = 5_000, seed: int = 0,
                         print_fn: Callable[[str], None] = print, print_json: bool = True) -> dict:
    """Bytes per stored transition of each replaying experiment; a table and `{algo: {...}}`."""
    report = {"dqn": measure_replay_bytes("dqn", agent_steps, seed),
              "dreamerv3": measure_dreamerv3_replay_bytes(agent_steps, seed)}
    print_fn("")
    print_fn(f"{'replay buffer':<52} {'transitions':>12} {'bytes/transition':>17} "
             f"{'÷ one frame':>12} {'ms/batch':>9}")
    for algo, figures in report.items():
        frame = figures["frame_bytes"]
        for label, key in REPLAY_ROWS[algo]:
            per_transition = figures[f"{key}bytes_per_transition" if key else
                                     "replay_bytes_per_transition"]
            print_fn(f"{f'{algo} ({label})':<52} {figures['replay_transitions']:>12,} "
                     f"{per_transition:>17,.0f} {per_transition / frame:>12.3f} "
                     f"{figures[f'{key}sample_ms_per_batch']:>9.2f}")
    print_fn(f"batches: dqn {report['dqn']['batch']}, dreamerv3 {report['dreamerv3']['batch']}")
    if print_json:
        print_fn(json.dumps(report))
    return report


def _fill(config, buffers: dict, agent_steps: int, random_actions: bool) -> None:
    """Sample episodes as the experiment's env runners do (RLlib's `SingleAgentEnvRunner`, with
    the experiment's RLModule acting unless `random_actions`) until the first buffer holds
    `agent_steps`; every buffer gets a copy of the same episodes (before ours trims them)."""
    import copy

    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    from mario_rllib.env import register_mario_envs

    register_mario_envs()
    ours = next(iter(buffers.values()))
    runner = SingleAgentEnvRunner(config=config)
    try:
        while ours.get_num_timesteps() < agent_steps:
            episodes = runner.sample(
                num_timesteps=min(500, agent_steps - ours.get_num_timesteps()),
                random_actions=random_actions)
            copies = {key: copy.deepcopy(episodes) for key in buffers if key}
            for key, replay in buffers.items():
                replay.add(copies.get(key, episodes))
    finally:
        runner.stop()


def _weigh_and_time(buffers: dict, report: dict, sample: Callable) -> None:
    """Bytes per stored transition (everything a buffer holds, fixed structures included) and
    ms per sampled batch, for each buffer, into `report` under its key prefix."""
    for key, replay in buffers.items():
        per_transition = deep_sizeof(replay) / replay.get_num_timesteps()
        report[f"{key}bytes_per_transition" if key else "replay_bytes_per_transition"] = round(
            per_transition, 1)
        sample(replay)  # warm-up
        start, draws = time.perf_counter(), 20
        for _ in range(draws):
            sample(replay)
        report[f"{key}sample_ms_per_batch"] = round(
            (time.perf_counter() - start) / draws * 1e3, 2)
    ours_bytes = report["replay_bytes_per_transition"]
    report["ratio_to_frame"] = round(ours_bytes / report["frame_bytes"], 3)
    report["ratio_to_rllib_buffer"] = round(ours_bytes / report["rllib_buffer_bytes_per_transition"], 3)


def measure_replay_bytes(algo: str, agent_steps: int, seed: int = 0, batch: int = 32) -> dict:
    """DQN's replay: fill the experiment's own buffer, weigh it per stored transition, and time
    sampling a batch of `batch` 3-step transitions (stacked frames).

    Baselines, in the same run and on copies of the same episodes: our buffer with frames not
    compressed, and RLlib's `PrioritizedEpisodeReplayBuffer`.
    """
    from ray.rllib.utils.from_config import from_config
    from ray.rllib.utils.replay_buffers import ReplayBuffer
    from ray.rllib.utils.replay_buffers.prioritized_episode_buffer import (
        PrioritizedEpisodeReplayBuffer,
    )

    from tune_configs import load_experiment

    config = load_experiment(algo).build_config("debug", max_episode_steps=None, seed=seed,
                                                buffer_capacity=agent_steps)
    buffer_config = dict(config.replay_buffer_config)
    buffers = {
        "": from_config(ReplayBuffer, buffer_config),
        "uncompressed_": from_config(ReplayBuffer, {**buffer_config, "compress_frames": False}),
        "rllib_buffer_": PrioritizedEpisodeReplayBuffer(capacity=agent_steps,
                                                        alpha=buffer_config["alpha"]),
    }
    # Random actions: DQN's module adds nothing to an episode but a weights counter (26 bytes a
    # step, measured), and random episodes cost no inference.
    _fill(config, buffers, agent_steps, random_actions=True)
    ours = buffers[""]
    report = {"replay_transitions": ours.get_num_timesteps(), "replay_episodes": len(ours.episodes),
              # The floor of an uncompressed buffer: one uint8 frame per transition (7,056 bytes
              # for gray84).
              "frame_bytes": int(np.prod(ours._frame(ours.episodes[0].get_observations(0)).shape)),
              "batch": f"{batch} transitions, 3-step"}
    _weigh_and_time(buffers, report,
                    lambda replay: replay.sample(batch, n_step=3, gamma=0.99, beta=0.4))
    return report


def measure_dreamerv3_replay_bytes(agent_steps: int, seed: int = 0) -> dict:
    """DreamerV3's replay: our `MarioEpisodeReplayBuffer` and RLlib's `EpisodeReplayBuffer` (the
    baseline) filled with the same rgb64 episodes, sampled by the debug preset's XS module,
    weighed per stored step, and timed sampling one batch of the paper's B x T = 16 x 64 steps."""
    from ray.rllib.utils.replay_buffers.episode_replay_buffer import EpisodeReplayBuffer

    from custom_models.dreamer.replay import MarioEpisodeReplayBuffer
    from tune_configs import load_experiment

    config = load_experiment("dreamerv3").build_config("debug", max_episode_steps=None,
                                                       seed=seed, buffer_capacity=agent_steps)
    rows, length = 16, 64
    buffers = {
        "": MarioEpisodeReplayBuffer(capacity=agent_steps, batch_size_B=rows,
                                     batch_length_T=length),
        "rllib_buffer_": EpisodeReplayBuffer(capacity=agent_steps, batch_size_B=rows,
                                             batch_length_T=length),
    }
    # The module acts, as in training: its RSSM state rides along in every episode.
    _fill(config, buffers, agent_steps, random_actions=False)
    ours = buffers[""]
    report = {"replay_transitions": ours.get_num_timesteps(), "replay_episodes": len(ours.episodes),
              "frame_bytes": int(np.prod(ours.episodes[0].get_observations(0).shape)),  # 12,288
              "batch": f"{rows} x {length} steps"}
    _weigh_and_time(buffers, report, lambda replay: replay.sample(batch_size_B=rows,
                                                                 batch_length_T=length))
    return report
