"""`mario-rllib`: the command line. Thin: each subcommand parses its flags and calls the package.

Subcommands are dispatched from a dict (as rl_zoo3 does); `main()` returns the exit status. Bad input
(an unknown level, action set, ...) is a `ValueError` with a one-line message: the CLI prints that
line and exits with status 2, no traceback. `--debug` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def _add_bench(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure throughput and replay memory, with ratios to baselines of the same run",
        description="Measure the env against the raw emulator (env), RLlib sampling with 1..N env "
        "runners (sampling), each algorithm's learner (learner), the PyTorch Mario tutorial's "
        "DDQN loop and uvipen's Mario training loop as peers (peer), and the bytes each replayed transition "
        "costs (replay); all of them by default (about 20 minutes on 2 cores). Prints tables and, "
        "as its last line, one JSON object.",
    )
    from mario_rllib.bench import TARGETS

    parser.add_argument("what", nargs="?", default=None, choices=TARGETS,
                        help="one part only (default: all)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured time per env target, sampling configuration and peer "
                        "loop (default: 10)")
    parser.add_argument("--processes", type=int, default=None,
                        help="env: processes for the parallel measurement (default: one per core)")
    parser.add_argument("--replay-steps", type=int, default=5_000,
                        help="replay: agent steps to fill the buffer with (default: 5,000)")
    parser.add_argument("--envs-per-runner", default=None, metavar="K1,K2,...",
                        help="sampling: envs per env runner to measure (default: "
                        "4,16; --quick: 1,2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-docs", default=None, type=local_path, metavar="DOC.md",
                        help="write the tables of DOC.md (between its bench markers) from this "
                        "run, and the report beside it as DOC.json")
    parser.add_argument("--from-json", default=None, type=local_path, metavar="REPORT.json",
                        help="with --write-docs: take the report from this file, measure "
                        "nothing")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run, not a measurement: 1-2 s per target, small learner "
                        "batches, 500 replay steps")
    parser.set_defaults(func=_run_bench)


def user_path(text: str) -> str:
    """A path argument as users type it: relative to the current directory, `~` expanded, a
    trailing slash allowed; absolute from here on (RLlib reads a relative checkpoint path as a
    URI without a scheme). A bucket's URI (s3://..., gs://...) stays as it is: experiments,
    checkpoints and plots may live there (mario_rllib/storage.py)."""
    from mario_rllib.storage import is_uri

    return text if is_uri(text) else str(Path(text).expanduser().resolve())


def local_path(text: str) -> str:
    """A path argument that must be on this machine (a video, a report, a docs page)."""
    if "://" in text:
        raise argparse.ArgumentTypeError(f"{text!r} is a URI: expected a local path")
    return user_path(text)


def _positive_ints(flag: str, text: str | None) -> list[int]:
    """"1,4,16" -> [1, 4, 16]; None -> []."""
    if text is None:
        return []
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise ValueError(f"bad {flag} {text!r}: expected positive integers, comma-separated")
    return values


def _run_bench(args: argparse.Namespace) -> int:
    import json
    import time

    from mario_rllib import bench
    from mario_rllib.bench import docs

    if args.from_json:
        if not args.write_docs:
            raise ValueError("bad --from-json: it needs --write-docs DOC (what to write)")
        report = json.loads(Path(args.from_json).read_text())
    else:
        from mario_rllib.results import hardware

        report = bench.run(args.what, seconds=args.seconds, processes=args.processes,
                           replay_steps=args.replay_steps, seed=args.seed, quick=args.quick,
                           envs_per_runner=_positive_ints("--envs-per-runner",
                                                          args.envs_per_runner))
        report["meta"] = {"date": time.strftime("%Y-%m-%d"), "hardware": hardware(),
                          "quick": args.quick}
        print(json.dumps(report))
    if args.write_docs:
        docs.write(report, Path(args.write_docs))
        print(f"wrote {args.write_docs} and {Path(args.write_docs).with_suffix('.json')}")
    return 0


def _default_text(value) -> str:
    return "none" if value is None else str(value)


def add_env_args(parser: argparse.ArgumentParser) -> None:
    """The env flags, one per option of `MarioEnvConfig` (`ENV_OPTIONS`: flag, meaning, default)."""
    from mario_rllib.env import ENV_OPTIONS

    group = parser.add_argument_group("environment")
    for option in ENV_OPTIONS:
        group.add_argument(option.flag, type=option.type, default=option.default,
                           help=f"{option.meaning} (default: {_default_text(option.default)})")


def env_flag_dest(flag: str) -> str:
    return flag[2:].replace("-", "_")


def env_config_from_args(args: argparse.Namespace):
    """The env of `add_env_args`' flags; a flag left at None takes `MarioEnvConfig`'s default."""
    from mario_rllib.env import ENV_OPTIONS, MarioEnvConfig

    given = {option.name: getattr(args, env_flag_dest(option.flag)) for option in ENV_OPTIONS}
    return MarioEnvConfig(**{name: value for name, value in given.items() if value is not None})


def _add_play(subparsers) -> None:
    from mario_rllib.agents import DEFAULT_AGENT
    from mario_rllib.env import ENV_OPTIONS

    parser = subparsers.add_parser(
        "play",
        help="watch an agent play: a shipped one (no training needed), a checkpoint's, or random",
        description="Play seeded episodes with an agent shipped in the package (--list shows "
        f"them and their evaluations; default: {DEFAULT_AGENT}), the agent of a checkpoint "
        "directory of `mario-rllib train`, or 'random' (uniformly random actions: a baseline). "
        "Prints each episode's furthest x_pos and whether it reached the flag, and a summary; "
        "--video records the first episode. Episode i is reset with seed S+i, and a trained "
        "agent that samples draws its actions from that seed too, so `--seed S --episodes 1` "
        "replays an episode (with the same versions of torch and this package). No Ray is "
        "started. A checkpoint is pickled code: load only trusted ones.",
    )
    parser.add_argument("agent", nargs="?", default=DEFAULT_AGENT,
                        help=f"a shipped agent's name (default: {DEFAULT_AGENT}), a checkpoint "
                        "directory, or 'random'")
    parser.add_argument("--list", action="store_true",
                        help="list the shipped agents with their metadata and exit")
    parser.add_argument("--episodes", type=int, default=3, help="episodes to play (default: 3)")
    parser.add_argument("--seed", type=int, default=0,
                        help="episode i is reset with seed+i (default: 0)")
    parser.add_argument("--video", default=None, type=local_path, metavar="OUT.mp4|OUT.gif",
                        help="record the first episode")
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--greedy", dest="policy", action="store_const", const="greedy",
                     help="take the most likely action (default for a checkpoint)")
    how.add_argument("--stochastic", dest="policy", action="store_const", const="stochastic",
                     help="sample actions (a shipped agent acts as its metadata says)")
    add_env_args(parser)
    # None = not given: a trained agent plays on the env it was trained on, and takes only
    # --level and --max-episode-steps; the random agent takes MarioEnvConfig's defaults.
    parser.set_defaults(func=_run_play, **{env_flag_dest(option.flag): None
                                          for option in ENV_OPTIONS})


def _run_play(args: argparse.Namespace) -> int:
    from mario_rllib import agents

    if args.list:
        shipped = agents.shipped_agents()
        print("\n".join(agents.describe(name, meta) for name, meta in shipped.items())
              or "no agents are shipped with this install")
        return 0
    if args.episodes < 1:
        raise ValueError(f"bad --episodes {args.episodes}: expected an integer >= 1")
    if args.agent == "random":
        return _play_random(args)
    from mario_rllib.env import ENV_OPTIONS

    given = [option.flag for option in ENV_OPTIONS
             if getattr(args, env_flag_dest(option.flag)) is not None
             and option.flag not in ("--level", "--max-episode-steps", "--emulator")]
    if given:
        raise ValueError(f"bad {given[0]}: a trained agent plays on the env it was trained on "
                         f"(only --level and --max-episode-steps change it; --emulator picks "
                         f"the core that runs it)")
    from mario_rllib.evaluate import check_episode_args, evaluate

    check_episode_args(args.level, args.max_episode_steps, args.seed, args.video,
                       emulator=args.emulator)
    _, meta = agents.resolve_agent(args.agent)
    policy = args.policy or (meta["policy"] if meta else "greedy")
    evaluate(args.agent, episodes=args.episodes, seed=args.seed,
             stochastic=policy == "stochastic", level=args.level, report=None, video=args.video,
             max_episode_steps=args.max_episode_steps, emulator=args.emulator)
    return 0


def _play_random(args: argparse.Namespace) -> int:
    from mario_rllib.env import make_env
    from mario_rllib.evaluate import VideoRecorder, check_episode_args
    from mario_rllib.rollout import RandomPolicy, play

    if args.policy == "greedy":
        raise ValueError("bad --greedy: the random agent has no greedy action")
    check_episode_args(None, None, args.seed, args.video)
    config = env_config_from_args(args)
    env = make_env(config, **({"render_mode": "rgb_array"} if args.video else {}))
    print(f"random agent on {config.levels} ({config.action_set} actions, {config.obs_mode})")
    recorder = (VideoRecorder(args.video, fps=60 / config.frame_skip) if args.video else None)
    try:
        play(env, RandomPolicy(env.action_space, args.seed), args.episodes, args.seed,
             on_frame_of_first=(lambda env_: recorder.add(env_.render())) if recorder else None)
    finally:
        env.close()
        if recorder is not None:
            recorder.close()
    if args.video:
        print(f"video of episode 0: {args.video}")
    return 0


RESOURCE_FLAGS = ("num_env_runners", "envs_per_runner", "num_learners", "gpus_per_learner")
"""The resources (`tune_configs.settings.RESOURCES`) with a flag of their own."""


def setting_flags() -> dict[str, tuple[str, str]]:
    """`train`'s flags of settings -> (setting, help): the env options the experiments set
    (`ENV_OPTIONS`), then the resources (`RESOURCES`); values are parsed by the setting's type."""
    from mario_rllib.env import ENV_OPTIONS
    from tune_configs.settings import RESOURCES

    env = {option.flag: (option.name, f"{option.meaning} (default: the experiment's, else "
                                      f"{_default_text(option.default)})")
           for option in ENV_OPTIONS if option.setting}
    resources = {"--" + name.replace("_", "-"): (name, f"{RESOURCES[name].meaning} (default: "
                                                       "the preset's)")
                 for name in RESOURCE_FLAGS}
    return {**env, **resources}


def _add_train(subparsers) -> None:
    from tune_configs import DEFAULT_ALGO, EXPERIMENTS, PRESET_NAMES

    parser = subparsers.add_parser(
        "train",
        help="train an agent through Tune (local Ray by default), or --resume an experiment",
        description="Train through Tune: checkpoints, TensorBoard and CSV under --storage-path, "
        "one progress line per iteration. Stops when any --stop-* criterion is met (default: "
        "the experiment's own). Search spaces: --search NAME=V1,V2 (a grid) or "
        "NAME=loguniform:LOW:HIGH (drawn, --num-samples times; docs/training.md). "
        "--print-config shows every setting and where it came from, without starting Ray.",
    )
    parser.add_argument("--algo", default=DEFAULT_ALGO,
                        help=f"one of {', '.join(EXPERIMENTS)} (default: {DEFAULT_ALGO})")
    parser.add_argument("--preset", default="cpu",
                        help=f"comma-separated, applied left to right: {', '.join(PRESET_NAMES)} "
                        "(default: cpu)")
    settings = parser.add_argument_group("settings (override the preset; see also --set)")
    for flag, (_, text) in setting_flags().items():
        settings.add_argument(flag, default=None, help=text)
    parser.add_argument("--stop-timesteps", type=int, default=None,
                        help="stop after this many env steps sampled (agent steps)")
    parser.add_argument("--stop-flag-rate", type=float, default=None,
                        help="stop when the flag rate over the last 100 episodes reaches this")
    parser.add_argument("--stop-iters", type=int, default=None,
                        help="stop after this many training iterations")
    parser.add_argument("--checkpoint-every", type=int, default=10,
                        help="checkpoint every N iterations, and at the end (default: 10)")
    parser.add_argument("--keep-checkpoints", type=int, default=5,
                        help="keep the N newest checkpoints per trial (default: 5)")
    parser.add_argument("--max-failures", type=int, default=3,
                        help="restore a trial that fails (its node lost, its driver killed) from "
                        "its last checkpoint up to N times (default: 3; 0: fail at once)")
    parser.add_argument("--storage-path", default="ray_results", type=user_path,
                        help="where experiments go: a directory, a shared mount, s3://BUCKET/PREFIX "
                        "or gs://BUCKET/PREFIX (default: ./ray_results)")
    parser.add_argument("--name", default=None,
                        help="experiment name (default: {level}__{algo}__{seed}__{timestamp})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--address", default=None,
                        help="Ray to use: none = start a local one; 'auto' or ray://HOST:10001 "
                        "= a cluster (inside `ray job submit`, RAY_ADDRESS is used)")
    parser.add_argument("--num-samples", type=int, default=1,
                        help="trials per grid point, with seeds seed, seed+1, ...; each draws "
                        "the --search distributions anew (default: 1)")
    parser.add_argument("--search", action="append", default=[], metavar="NAME=SPACE",
                        help="search a setting (repeatable): a grid NAME=V1,V2 (each value a "
                        "trial), or a distribution Tune draws from: NAME=uniform:LOW:HIGH, "
                        "loguniform:LOW:HIGH, randint:LOW:HIGH (HIGH excluded), choice:V1,V2; "
                        "e.g. --search lr=loguniform:1e-5:1e-3 --num-samples 8")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override one setting of the experiment, parsed by its type, e.g. "
                        "--set lr=3e-4, --set double_q=false, --set max_episode_steps=none")
    tuning = parser.add_argument_group("Tune's schedulers and searchers (docs/tune.md)")
    tuning.add_argument("--scheduler", default=None, metavar="asha|pbt",
                        help="asha: stop the trials that trail at each rung (from --grace-period "
                        "iterations on); pbt: population-based training, every --perturb-every "
                        "iterations the trailing quarter clones a leader's checkpoint and "
                        "perturbs its --mutate settings. Both rank by the flag rate, then "
                        "furthest x_pos (default: none, every trial runs to its stop)")
    tuning.add_argument("--mutate", action="append", default=[], metavar="NAME=SPACE",
                        help="with --scheduler pbt, a setting it perturbs, in --search's drawn "
                        "forms, e.g. --mutate lr=loguniform:1e-5:1e-3 --mutate "
                        "entropy_coeff=choice:0.0,0.005,0.01 (repeatable)")
    tuning.add_argument("--perturb-every", type=int, default=None, metavar="N",
                        help="PBT's interval in iterations, a multiple of --checkpoint-every "
                        "(default: --checkpoint-every)")
    tuning.add_argument("--grace-period", type=int, default=10, metavar="N",
                        help="ASHA stops no trial before N iterations (default: 10)")
    tuning.add_argument("--max-concurrent-trials", type=int, default=None, metavar="N",
                        help="run at most N trials at once (default: as many as the CPUs and "
                        "GPUs allow)")
    tuning.add_argument("--searcher", default=None, metavar="optuna",
                        help="draw --num-samples points of the --search distributions with "
                        "Optuna's TPE instead of at random (pip install 'mario-rllib[tune]')")
    parser.add_argument("--init-from", default=None, metavar="AGENT",
                        help="start the network from the weights of a shipped agent (by name) or "
                        "a checkpoint, not from random ones; optimizer state and step counts start "
                        "fresh. Loading it unpickles code: use only trusted ones")
    parser.add_argument("--print-config", action="store_true",
                        help="print the resolved settings (and what set each) and RLlib's "
                        "config, then exit without starting Ray")
    parser.add_argument("--resume", default=None, type=user_path, metavar="EXPERIMENT_DIR",
                        help="continue this experiment's unfinished and errored trials from their "
                        "last checkpoints (other flags but --address are ignored)")
    parser.set_defaults(func=_run_train)


def _run_train(args: argparse.Namespace) -> int:
    from mario_rllib.experiment import TrainRequest, print_config, resume, train

    if args.resume:
        return resume(args.resume, args.address)
    overrides = {setting: getattr(args, flag[2:].replace("-", "_"))
                 for flag, (setting, _) in setting_flags().items()}
    request = TrainRequest(
        algo=args.algo, preset=args.preset, seed=args.seed,
        overrides={key: value for key, value in overrides.items() if value is not None},
        sets=args.set, search=args.search, num_samples=args.num_samples,
        stop_timesteps=args.stop_timesteps, stop_flag_rate=args.stop_flag_rate,
        stop_iters=args.stop_iters, checkpoint_every=args.checkpoint_every,
        keep_checkpoints=args.keep_checkpoints, max_failures=args.max_failures,
        storage_path=args.storage_path, name=args.name, address=args.address,
        init_from=args.init_from, scheduler=args.scheduler, mutate=args.mutate,
        perturb_every=args.perturb_every, grace_period=args.grace_period, searcher=args.searcher,
        max_concurrent_trials=args.max_concurrent_trials,
    )
    if args.print_config:
        print_config(request)
        return 0
    return train(request)


def _add_evaluate(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="play seeded episodes with a trained agent; a table, a summary, a JSON report",
        description="Load only the RLModule of a checkpoint (no Algorithm, no Ray cluster), "
        "rebuild its env and connectors, and play --episodes episodes from --seed. CHECKPOINT "
        "may be a checkpoint_* directory, its trial directory (the newest checkpoint is used) or "
        "the RLModule directory. A checkpoint is pickled code: load only trusted ones.",
    )
    parser.add_argument("checkpoint", help="a checkpoint directory, or a shipped agent's name "
                        "(`mario-rllib play --list`)")
    parser.add_argument("--episodes", type=int, default=10, help="default: 10")
    parser.add_argument("--seed", type=int, default=0,
                        help="episode i is reset with seed+i (default: 0)")
    parser.add_argument("--stochastic", action="store_true",
                        help="sample actions from the policy (default: greedy)")
    parser.add_argument("--level", default=None,
                        help="evaluate on other stage(s) than the training ones")
    parser.add_argument("--max-episode-steps", type=int, default=None,
                        help="end (truncate) an episode after N agent steps: a greedy policy "
                        "that stalls plays on until the game's clock ends the life, about 2,000 "
                        "steps, where a clear of 1-1 takes about 400 (default: no limit)")
    add_emulator_arg(parser)
    parser.add_argument("--report", default="evaluation.json", type=local_path,
                        help="where to write the JSON report (default: ./evaluation.json)")
    parser.add_argument("--video", default=None, type=local_path, metavar="OUT.mp4|OUT.gif",
                        help="record the first episode")
    parser.set_defaults(func=_run_evaluate)


def add_emulator_arg(parser: argparse.ArgumentParser) -> None:
    """`--emulator` of the commands that play a trained agent: the core that runs its env."""
    from mario_rllib.env.nes import EMULATORS

    parser.add_argument("--emulator", default=None,
                        help=f"one of {', '.join(EMULATORS)}: the core that runs the agent's env "
                        f"(the same screens, rewards and infos; default: the one it trained on)")


def _run_evaluate(args: argparse.Namespace) -> int:
    from mario_rllib.evaluate import evaluate

    evaluate(args.checkpoint, episodes=args.episodes, seed=args.seed, stochastic=args.stochastic,
             level=args.level, report=args.report, video=args.video,
             max_episode_steps=args.max_episode_steps, emulator=args.emulator)
    return 0


def _add_dream(subparsers) -> None:
    parser = subparsers.add_parser(
        "dream",
        help="an agent's world model (for the algorithms that have one): real vs imagined "
        "frames, to a GIF or MP4",
        description="Play a real episode with the agent of a checkpoint whose algorithm has a "
        "world model; let the world model observe the first --observe frames, then imagine "
        "--horizon steps open-loop under "
        "the agent's real actions. Writes OUT (real | imagined | difference, side by side), "
        "OUT.json (per-step MSE, SSIM, rewards) and OUT.png (the error per step). A checkpoint "
        "is pickled code: load only trusted ones.",
    )
    parser.add_argument("checkpoint", type=user_path)
    parser.add_argument("--out", required=True, type=local_path, metavar="OUT.gif|OUT.mp4")
    parser.add_argument("--observe", type=int, default=5,
                        help="real frames the world model sees first (default: 5)")
    parser.add_argument("--horizon", type=int, default=45,
                        help="steps it then imagines open-loop (default: 45)")
    parser.add_argument("--seed", type=int, default=0, help="episode seed (default: 0)")
    parser.add_argument("--level", default=None, help="another stage than the training one")
    add_emulator_arg(parser)
    parser.add_argument("--scale", type=int, default=3,
                        help="each 64x64 panel magnified this many times (default: 3)")
    parser.set_defaults(func=_run_dream)


def _run_dream(args: argparse.Namespace) -> int:
    from mario_rllib.dream import dream

    dream(args.checkpoint, out=args.out, observe=args.observe, horizon=args.horizon,
          seed=args.seed, level=args.level, scale=args.scale, emulator=args.emulator)
    return 0


def _add_plot(subparsers) -> None:
    parser = subparsers.add_parser(
        "plot", help="learning curves of an experiment to a PNG",
        description="Plot return, furthest x_pos and flag rate against env steps, one line per "
        "trial, from the experiment's progress.csv files.",
    )
    parser.add_argument("experiment_dir", type=user_path)
    parser.add_argument("--out", default=None, type=user_path,
                        help="PNG path (default: EXPERIMENT_DIR/learning_curves.png)")
    parser.set_defaults(func=_run_plot)


def _run_plot(args: argparse.Namespace) -> int:
    from mario_rllib.plot import plot_experiment
    from mario_rllib.population import lineage
    from mario_rllib.storage import locate

    print(f"wrote {plot_experiment(args.experiment_dir, args.out)}")
    lines = lineage(locate(args.experiment_dir, "experiment"))
    if lines:
        print("PBT lineage (each exploit marked on the curves):")
        print("\n".join(line for trial in lines.values() for line in trial))
    return 0


def _add_submit(subparsers) -> None:
    from tune_configs import DEFAULT_ALGO

    parser = subparsers.add_parser(
        "submit",
        help="run `mario-rllib train` as a Ray job on a cluster (uploads this directory)",
        description="Submit `mario-rllib train TRAIN_FLAGS` through Ray's job API, print the job "
        "id and how to follow it. The job API listens on the head's 127.0.0.1: open an SSH "
        "tunnel first (`ray dashboard scripts/cluster/aws.yaml`). Example: mario-rllib submit "
        f"--address http://127.0.0.1:8265 -- --algo {DEFAULT_ALGO} --preset gpu",
    )
    parser.add_argument("--address", default="http://127.0.0.1:8265",
                        help="the job API (default: http://127.0.0.1:8265, a tunnel's end)")
    parser.add_argument("--working-dir", default=".", type=local_path,
                        help="directory uploaded as the job's working directory (default: .)")
    parser.add_argument("--wait", action="store_true",
                        help="follow the job to its end and exit 0 only if it succeeded")
    parser.add_argument("train_args", nargs=argparse.REMAINDER,
                        help="flags for `mario-rllib train`, after --")
    parser.set_defaults(func=_run_submit)


def _run_submit(args: argparse.Namespace) -> int:
    from mario_rllib.submit import submit

    train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    return submit(args.address, train_args, working_dir=args.working_dir, wait=args.wait)


def _add_results(subparsers) -> None:
    from tune_configs import DEFAULT_ALGO, EXPERIMENTS

    parser = subparsers.add_parser(
        "results",
        help="train a grid of algorithms x stages x seeds, evaluate, write docs/results.md",
        description="Run algorithm x stage x seed through Tune with one config for all stages, "
        "evaluate each trial's last checkpoint on --episodes distinct episodes (greedy and "
        "stochastic), and write OUT.md (the table over every recorded run), OUT/<experiment>.png "
        "(learning curves per seed) and OUT/best.gif. --record adds experiments trained some "
        "other way; with --record alone nothing is trained.",
    )
    parser.add_argument("--algo", default=DEFAULT_ALGO,
                        help=f"comma-separated, of {', '.join(EXPERIMENTS)} (default: {DEFAULT_ALGO})")
    parser.add_argument("--levels", default="1-1",
                        help="comma-separated stages, one experiment each (default: 1-1)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default: 3)")
    parser.add_argument("--preset", default="cpu", help="as for train (default: cpu)")
    parser.add_argument("--stop-timesteps", type=int, default=None,
                        help="agent steps per trial (default: the experiment's budget)")
    parser.add_argument("--stop-iters", type=int, default=None,
                        help="training iterations per trial")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for every experiment, as for train")
    parser.add_argument("--episodes", type=int, default=30,
                        help="evaluation episodes per policy and trial (default: 30)")
    parser.add_argument("--storage-path", default="ray_results", type=user_path,
                        help="where the experiments go (default: ./ray_results)")
    parser.add_argument("--out", default="docs/results", type=local_path,
                        help="records and figures go to OUT/, the table to OUT.md "
                        "(default: docs/results)")
    parser.add_argument("--record", action="append", default=[], type=user_path,
                        metavar="EXPERIMENT_DIR", help="record this experiment (repeatable)")
    parser.add_argument("--milestones", default=None, metavar="STEPS1,STEPS2,...",
                        help="with --record: also evaluate each trial's newest checkpoint at or "
                        "before each of these agent-step counts (counting the steps behind a "
                        "run's --init-from weights), tabled and drawn in OUT.md; milestones "
                        "recorded before are not played again")
    parser.add_argument("--max-episode-steps", type=int, default=None,
                        help="with --record: end evaluation episodes after N agent steps (a "
                        "clear of 1-1 takes about 400; a stalled greedy episode runs to the "
                        "game's clock, about 2,000; default: no limit)")
    parser.set_defaults(func=_run_results)


def _run_results(args: argparse.Namespace) -> int:
    from mario_rllib import results
    from mario_rllib.experiment import check_storage_path
    from mario_rllib.storage import check_writable_dir, locate

    if args.episodes < 1 or args.seeds < 1:
        raise ValueError(f"bad --episodes {args.episodes} or --seeds {args.seeds}: expected "
                         f"integers >= 1")
    out = Path(args.out)
    check_writable_dir(out, "--out")
    milestones = _positive_ints("--milestones", args.milestones)
    if (milestones or args.max_episode_steps is not None) and not args.record:
        raise ValueError("--milestones and --max-episode-steps go with --record (a recorded "
                         "experiment's checkpoints)")
    if args.max_episode_steps is not None and args.max_episode_steps < 1:
        raise ValueError(f"bad --max-episode-steps {args.max_episode_steps}: expected an "
                         f"integer >= 1")
    if not args.record:
        check_storage_path(args.storage_path, "--storage-path")
    if args.record:
        for experiment in args.record:
            results.record(experiment, out, args.episodes, milestones=milestones,
                           max_episode_steps=args.max_episode_steps)
        roots = [str(locate(experiment).parent) for experiment in args.record]
        print(f"wrote {results.write_report(out, roots)}")
        return 0
    return results.run(args.algo.split(","), args.levels.split(","), args.seeds,
                       preset=args.preset, stop_timesteps=args.stop_timesteps,
                       stop_iters=args.stop_iters, sets=args.set,
                       storage_path=args.storage_path, out=out, episodes=args.episodes)


# name -> function adding the subcommand's parser
SUBCOMMANDS: dict[str, Callable] = {
    "train": _add_train,
    "evaluate": _add_evaluate,
    "dream": _add_dream,
    "plot": _add_plot,
    "results": _add_results,
    "submit": _add_submit,
    "play": _add_play,
    "bench": _add_bench,
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
    except OSError as error:  # a disk or a bucket failing mid-command (pyarrow's, the OS's)
        if args.debug:
            raise
        from mario_rllib.storage import store_error

        print(f"mario-rllib {args.command}: error: {store_error(error)} (--debug shows where)",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mario-rllib {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
