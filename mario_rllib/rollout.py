"""Play episodes with any policy and summarise them the way Mario people read results.

`mario-rllib play` uses it with a random policy (a baseline, and a smoke test of the install);
evaluation of trained agents reuses the same episode records, table and summary.

Distinct episodes. The emulator is deterministic, so an episode is decided by its start and the
policy's choices. The episode with seed s starts after `s mod (noop_max + 1)` no-op frames: N
consecutive seeds give N different starts as long as N <= noop_max + 1 (31 with the default 30),
where drawing the count from the seed's RNG gave only 7 distinct starts for seeds 0-9. A greedy
policy replays the same episode from the same start, so a summary says how many distinct starts
it played and how many distinct episodes came out (by their actions and positions).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import statistics
import time
from collections.abc import Callable, Iterable

import gymnasium as gym
import numpy as np


class Policy:
    """What `play_episode` drives: told the first observation, asked for actions, told each step.

    Subclasses keep whatever history they need (a trained RLModule keeps an RLlib episode, for
    frame stacking and recurrent state).
    """

    def start(self, obs: np.ndarray, seed: int | None = None) -> None:
        """A new episode begins with `obs`, reset with `seed` (a policy that samples may seed
        its own RNG with it, so that the episode replays alone)."""

    def act(self) -> int:
        raise NotImplementedError

    def observe(self, action: int, obs: np.ndarray, reward: float, terminated: bool,
                truncated: bool) -> None:
        """The env answered `action` with this step."""


class RandomPolicy(Policy):
    """Uniformly random actions from its own seeded RNG (independent of the env's)."""

    def __init__(self, action_space: gym.spaces.Discrete, seed: int):
        self.n = int(action_space.n)
        self.rng = np.random.default_rng(seed)

    def act(self) -> int:
        return int(self.rng.integers(self.n))


@dataclasses.dataclass
class EpisodeRecord:
    """One episode: what the game reports, plus the furthest point Mario reached."""

    episode: int
    seed: int
    level: str
    steps: int
    episode_return: float
    x_pos_max: int
    flag_get: bool
    score: int
    world: int
    stage: int
    noops: int | None = None
    """No-op frames before the first action (None: the env has no no-op starts)."""
    trajectory: str = ""
    """A digest of the stage, actions and x positions: equal digests, the same play (from
    whatever start)."""


def noop_max_of(env: gym.Env) -> int | None:
    """The `noop_max` of a Mario env, or None if it starts without no-op frames."""
    return getattr(env.unwrapped, "noop_max", 0) or None


def noops_for_seed(seed: int, noop_max: int) -> int:
    """The no-op frames the episode with this seed starts after: consecutive seeds, distinct
    starts (up to noop_max + 1 of them)."""
    return seed % (noop_max + 1)


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a rate (sound at 0 and 1, unlike the normal one)."""
    if trials == 0:
        return (0.0, 1.0)
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) \
        / (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def play_episode(env: gym.Env, policy: Policy, seed: int, episode: int = 0,
                 on_frame: Callable[[gym.Env], None] | None = None) -> EpisodeRecord:
    """Play one episode from `reset(seed=seed)` (after `noops_for_seed` no-op frames) to its end;
    `on_frame(env)` after reset and each step."""
    noop_max = noop_max_of(env)
    noops = None if noop_max is None else noops_for_seed(seed, noop_max)
    obs, info = env.reset(seed=seed, options=None if noops is None else {"noops": noops})
    policy.start(obs, seed=seed)
    level = f"{info['world']}-{info['stage']}"
    episode_return, steps = 0.0, 0
    digest = hashlib.blake2b(digest_size=8)
    if on_frame is not None:
        on_frame(env)
    while True:
        action = policy.act()
        obs, reward, terminated, truncated, info = env.step(action)
        policy.observe(action, obs, reward, terminated, truncated)
        digest.update(f"{action},{info['x_pos']};".encode())
        steps += 1
        episode_return += float(reward)
        if on_frame is not None:
            on_frame(env)
        if terminated or truncated:
            break
    return EpisodeRecord(
        episode=episode, seed=seed, level=level, steps=steps, episode_return=episode_return,
        x_pos_max=int(info["x_pos_max"]), flag_get=bool(info["flag_get"]), score=int(info["score"]),
        world=int(info["world"]), stage=int(info["stage"]), noops=noops,
        trajectory=f"{level}:{digest.hexdigest()}",
    )


def summarise(records: Iterable[EpisodeRecord]) -> dict:
    """The numbers a Mario result is read by: flag rate, furthest x_pos, return."""
    records = list(records)
    x_pos = [r.x_pos_max for r in records]
    returns = [r.episode_return for r in records]
    flags = sum(r.flag_get for r in records)
    return {
        "episodes": len(records),
        "distinct_starts": len({(r.level, r.noops) for r in records}),
        "distinct_episodes": len({r.trajectory for r in records}),
        "flag_rate": flags / len(records),
        "flag_rate_ci95": [round(bound, 4) for bound in wilson_interval(flags, len(records))],
        "x_pos_mean": statistics.fmean(x_pos),
        "x_pos_max": max(x_pos),
        "return_mean": statistics.fmean(returns),
        "steps_mean": statistics.fmean(r.steps for r in records),
        "steps_total": sum(r.steps for r in records),
    }


TABLE_HEADER = (f"{'episode':>7} {'seed':>6} {'noops':>5} {'level':>5} {'steps':>6} {'return':>8} "
                f"{'x_pos max':>9} {'flag':>5} {'score':>6}")


def format_row(r: EpisodeRecord) -> str:
    noops = "-" if r.noops is None else r.noops
    return (f"{r.episode:>7} {r.seed:>6} {noops:>5} {r.level:>5} {r.steps:>6} "
            f"{r.episode_return:>8.1f} {r.x_pos_max:>9} {'yes' if r.flag_get else 'no':>5} "
            f"{r.score:>6}")


def format_summary(summary: dict) -> str:
    low, high = summary["flag_rate_ci95"]
    return (f"{summary['episodes']} episodes ({summary['distinct_starts']} distinct starts, "
            f"{summary['distinct_episodes']} distinct episodes): flag rate "
            f"{summary['flag_rate']:.2f} (95% CI {low:.2f}-{high:.2f}), "
            f"furthest x_pos mean {summary['x_pos_mean']:.0f} / max {summary['x_pos_max']}, "
            f"return mean {summary['return_mean']:.1f}, {summary['steps_total']} steps")


def play(env: gym.Env, policy: Policy, episodes: int, seed: int,
         print_fn: Callable[[str], None] = print,
         on_frame_of_first: Callable[[gym.Env], None] | None = None,
         ) -> tuple[list[EpisodeRecord], dict]:
    """Play `episodes` episodes with seeds seed, seed+1, ...; print a row per episode and a summary.

    `on_frame_of_first(env)` is called after every step of the first episode (e.g. to record it).
    """
    records = []
    start = time.perf_counter()
    print_fn(TABLE_HEADER)
    for index in range(episodes):
        record = play_episode(env, policy, seed + index, episode=index,
                              on_frame=on_frame_of_first if index == 0 else None)
        records.append(record)
        print_fn(format_row(record))
    summary = summarise(records)
    summary["seconds"] = round(time.perf_counter() - start, 1)
    print_fn(format_summary(summary) + f" in {summary['seconds']} s")
    return records, summary
