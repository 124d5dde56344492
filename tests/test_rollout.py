"""Evaluation episodes on the real emulator: N seeds are N distinct starts, the summary says how
many distinct episodes it played, and its flag-rate interval is Wilson's, by hand."""

import pytest

from mario_rllib import rollout
from mario_rllib.env import make_env


class Greedy(rollout.Policy):
    """A deterministic policy: always run right."""

    def act(self) -> int:
        return 1


def starts(env, seeds):
    """The emulator's state (its 2 KB of RAM) after each seed's reset, as `play_episode` resets.
    The first screens of 1-1 look alike; the game's frame counters and random number generator
    in RAM differ."""
    firsts = []
    for seed in seeds:
        noops = rollout.noops_for_seed(seed, rollout.noop_max_of(env))
        env.reset(seed=seed, options={"noops": noops})
        firsts.append(bytes(env.unwrapped._nes.ram))
    return firsts


def test_ten_seeds_are_ten_distinct_starts():
    env = make_env(noop_max=30)
    # A reset that draws the no-op count from the seed's RNG (as training does) gave only 7
    # distinct starts for seeds 0-9.
    drawn = set()
    for seed in range(10):
        env.reset(seed=seed)
        drawn.add(bytes(env.unwrapped._nes.ram))
    assert len(drawn) == 7
    assert len(set(starts(env, range(10)))) == 10
    assert len(set(starts(env, range(10_000, 10_030)))) == 30
    env.close()


def test_summary_counts_distinct_starts_and_episodes():
    env = make_env(noop_max=30, max_episode_steps=25)
    records, summary = rollout.play(env, Greedy(), episodes=4, seed=0, print_fn=lambda _: None)
    assert [r.noops for r in records] == [0, 1, 2, 3]
    assert summary["distinct_starts"] == 4
    # Running right from 0..3 no-op frames: the same actions; the x positions tell them apart
    # or not, and the count says which.
    assert summary["distinct_episodes"] == len({r.trajectory for r in records}) >= 1
    _, again = rollout.play(env, Greedy(), episodes=4, seed=0, print_fn=lambda _: None)
    assert again["distinct_episodes"] == summary["distinct_episodes"]
    env.close()


def test_noops_out_of_range_are_one_line():
    env = make_env(noop_max=5)
    with pytest.raises(ValueError, match=r"^bad noops 6: expected an integer in 0\.\.5$"):
        env.reset(seed=0, options={"noops": 6})
    env.close()


@pytest.mark.parametrize("successes, trials, low, high", [
    # Wilson (1927) with z = 1.96, worked out by hand: centre (p + z^2/2n) / (1 + z^2/n),
    # half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n).
    (0, 30, 0.0, 0.11351),
    (30, 30, 0.88649, 1.0),
    (15, 30, 0.33153, 0.66847),
    (1, 4, 0.04559, 0.69936),
])
def test_wilson_interval(successes, trials, low, high):
    assert rollout.wilson_interval(successes, trials) == pytest.approx((low, high), abs=1e-4)
