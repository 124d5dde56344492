"""`mario-rllib`: the command line. Thin: each subcommand parses its flags and calls the package.

Subcommands are dispatched from a dict (as rl_zoo3 does); `main()` returns the exit status. Bad input
(an unknown level, action set, ...) is a `ValueError` with a one-line message: the CLI prints that
line and exits with status 2, no traceback. `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence


def _add_bench(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure throughput against the raw emulator, in one run",
        description="Measure throughput; every figure comes with its ratio to the raw emulator "
        "measured in the same run. Prints a table and, as its last line, one JSON object.",
    )
    parser.add_argument("what", nargs="?", default="env", choices=["env"],
                        help="what to measure (default: env)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured time per target, taken in short turns (default: 10)")
    parser.add_argument("--processes", type=int, default=None,
                        help="processes for the parallel measurement (default: one per core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="1 s per target (about 15 s in all): a smoke run, not a measurement")
    parser.set_defaults(func=_run_bench)


def _run_bench(args: argparse.Namespace) -> int:
    from mario_rllib.bench import run_env_benchmark

    if args.quick:
        args.seconds = 1.0
    if args.seconds <= 0 or (args.processes is not None and args.processes < 1):
        raise ValueError(
            f"bad bench budget (--seconds {args.seconds:g}, --processes {args.processes}): "
            f"expected seconds > 0 and processes >= 1"
        )
    run_env_benchmark(args.seconds, args.processes, args.seed)
    return 0


def add_env_args(parser: argparse.ArgumentParser) -> None:
    """The env flags, one per `MarioEnvConfig` field; defaults come from the config itself."""
    from mario_rllib.envs import OBS_MODES, MarioEnvConfig
    from mario_rllib.actions import ACTION_SETS
    from mario_rllib.wrappers import REWARD_SHAPINGS

    defaults = MarioEnvConfig()
    group = parser.add_argument_group("environment")
    group.add_argument("--level", default=defaults.levels,
                       help="a stage (1-1), a comma-separated list (1-1,1-2,4-1: one drawn per "
                       f"episode) or 'all' (default: {defaults.levels})")
    group.add_argument("--action-set", default=defaults.action_set,
                       help=f"one of {', '.join(ACTION_SETS)} (default: {defaults.action_set})")
    group.add_argument("--obs-mode", default=defaults.obs_mode,
                       help=f"one of {', '.join(OBS_MODES)} (default: {defaults.obs_mode})")
    group.add_argument("--frame-skip", type=int, default=defaults.frame_skip,
                       help=f"NES frames per agent step (default: {defaults.frame_skip})")
    group.add_argument("--max-episode-steps", type=int, default=defaults.max_episode_steps,
                       help="truncate episodes after this many agent steps (default: the game's "
                       "clock ends them)")
    group.add_argument("--reward-shaping", default=defaults.reward_shaping,
                       help=f"'none' or a comma-separated list of "
                       f"{', '.join(n for n in REWARD_SHAPINGS if n != 'none')} (default: none)")
    group.add_argument("--noop-max", type=int, default=defaults.noop_max,
                       help=f"random no-op frames at reset: 0..N (default: {defaults.noop_max})")
    group.add_argument("--sticky-action-prob", type=float, default=defaults.sticky_action_prob,
                       help="probability of repeating the previous action per NES frame "
                       "(default: 0, off)")


def env_config_from_args(args: argparse.Namespace):
    from mario_rllib.envs import MarioEnvConfig

    return MarioEnvConfig(
        levels=args.level, action_set=args.action_set, obs_mode=args.obs_mode,
        frame_skip=args.frame_skip, max_episode_steps=args.max_episode_steps,
        reward_shaping=args.reward_shaping, noop_max=args.noop_max,
        sticky_action_prob=args.sticky_action_prob,
    )


def _add_play(subparsers) -> None:
    parser = subparsers.add_parser(
        "play",
        help="play episodes with a random agent and summarise them (a baseline and a smoke test)",
        description="Play seeded episodes with a uniformly random policy; print one row per "
        "episode and a summary (flag rate, furthest x_pos, return).",
    )
    parser.add_argument("--episodes", type=int, default=3, help="episodes to play (default: 3)")
    parser.add_argument("--seed", type=int, default=0,
                        help="episode i is reset with seed+i (default: 0)")
    add_env_args(parser)
    parser.set_defaults(func=_run_play)


def _run_play(args: argparse.Namespace) -> int:
    from mario_rllib.envs import make_env
    from mario_rllib.rollout import play, random_policy

    if args.episodes < 1:
        raise ValueError(f"bad --episodes {args.episodes}: expected an integer >= 1")
    config = env_config_from_args(args)
    env = make_env(config)
    print(f"random agent on {config.levels} ({config.action_set} actions, {config.obs_mode})")
    try:
        play(env, random_policy(env.action_space, args.seed), args.episodes, args.seed)
    finally:
        env.close()
    return 0


# name -> function adding the subcommand's parser; train and evaluate join here.
SUBCOMMANDS: dict[str, Callable] = {
    "bench": _add_bench,
    "play": _add_play,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mario-rllib",
        description="Train, evaluate and benchmark Ray RLlib agents on Super Mario Bros (NES).",
    )
    parser.add_argument("--debug", action="store_true",
                        help="show full tracebacks instead of one-line errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS.values():
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:
        if args.debug:
            raise
        print(f"mario-rllib {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"mario-rllib {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
