"""Does an agent learn 1-1 at all? A check a person runs on a laptop, not a test.

It trains an algorithm with the `cpu` preset for a budget of agent steps, one trial per seed
(or takes the trials of an experiment already trained, at a given step count), then plays 30
distinct episodes (seeds 10000-10029: 30 different no-op starts) with each trained agent, greedy
and stochastic, and with a uniformly random policy, and writes:
    <out>/learning_check.png    furthest x_pos (mean over the last 100 training episodes)
                                against agent steps, one line per seed, random play as a line
    <out>/learning_check.json   the numbers, per seed and policy

Usage (PPO at 200,000 agent steps takes about an hour per seed on a 2-core laptop):
    .venv/bin/python scripts/learning_check.py --algo ppo --steps 200000 --seeds 0 --out learning_check/ppo
    .venv/bin/python scripts/learning_check.py --algo dqn --steps 100000 --out learning_check/dqn
    .venv/bin/python scripts/learning_check.py --algo worldmodels --steps 300000 \
        --out learning_check/worldmodels
    # the checkpoint at or before 200,000 steps of a longer run (kept with --keep-checkpoints):
    .venv/bin/python scripts/learning_check.py --experiment ray_results/ppo-1-1-s0 \
        --steps 200000 --out learning_check/ppo
    # the evaluated flag rate of a long run at milestones (each evaluated once, kept in
    # <out>/milestones.json; run it again as the run goes on):
    .venv/bin/python scripts/learning_check.py --experiment ray_results/ppo-1-1-s0 \
        --milestones 250000,500000,1000000,1500000,2000000 --out learning_check/ppo_long
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mario_rllib import rollout
from mario_rllib.env import MarioEnvConfig, make_env
from mario_rllib.evaluate import evaluate
from mario_rllib.experiment import EXPERIMENT_FILE, TrainRequest, train
from mario_rllib.init_from import StartedFrom
from mario_rllib.results import (
    checkpoint_at,
    evaluate_milestones,
    plot_flag_rate,
    result_rows,
)

EVAL_SEED = 10_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="ppo",
                        help="ppo, dqn, dreamerv3, worldmodels or latent_dqn (default: ppo)")
    parser.add_argument("--steps", type=int, default=200_000, help="agent steps of training")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds (default: 0)")
    parser.add_argument("--episodes", type=int, default=30,
                        help="evaluation episodes per policy (default: 30)")
    parser.add_argument("--experiment", default=None,
                        help="evaluate this experiment's trials at --steps instead of training")
    parser.add_argument("--out", default="learning_check", help="output directory")
    parser.add_argument("--milestones", default=None, metavar="STEPS1,STEPS2,...",
                        help="with --experiment: evaluate the checkpoint at or before each of "
                        "these agent-step counts, and draw the evaluated flag rate against "
                        "agent steps (<out>/milestones.json, <out>/flag_rate.png)")
    parser.add_argument("--max-episode-steps", type=int, default=None,
                        help="with --milestones: end evaluation episodes after N agent steps "
                        "(a clear of 1-1 takes about 400; a stalled greedy episode runs to the "
                        "game's clock, about 2,000)")
    args = parser.parse_args()
    if args.milestones:
        if not args.experiment:
            parser.error("--milestones needs --experiment")
        return milestones(Path(args.experiment).resolve(),
                          [int(part.replace("_", "")) for part in args.milestones.split(",")],
                          args.episodes, Path(args.out).resolve(), args.max_episode_steps)

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    if args.experiment:
        experiment = Path(args.experiment).resolve()
        algo = json.loads((experiment / EXPERIMENT_FILE).read_text())["algo"]
    else:
        algo = args.algo
        experiment = out / "ray_results" / f"learning_check__{algo}__{time.strftime('%Y%m%d-%H%M%S')}"
        seeds = [int(seed) for seed in args.seeds.split(",")]
        status = train(TrainRequest(algo=algo, preset="cpu", seed=seeds[0],
                                    num_samples=len(seeds), stop_timesteps=args.steps,
                                    checkpoint_every=10, storage_path=str(experiment.parent),
                                    name=experiment.name))
        if status != 0:
            print("training did not finish; see above", file=sys.stderr)
            return status
    train_minutes = round((time.time() - started) / 60, 1)

    runs, env_config = [], None
    for trial in sorted(experiment.glob("trial_*")):
        checkpoint, row = checkpoint_at(trial, args.steps)
        seed = json.loads((trial / "params.json").read_text())["seed"]
        run = {"seed": seed, "trial": trial.name, "checkpoint": str(checkpoint),
               "agent_steps": int(row["num_env_steps_sampled_lifetime"]),
               "train_minutes": round(row["time_total_s"] / 60, 1)}
        for label, stochastic in (("greedy", False), ("stochastic", True)):
            report = evaluate(str(checkpoint), episodes=args.episodes, seed=EVAL_SEED,
                              stochastic=stochastic, report=str(out / f"eval_{seed}_{label}.json"))
            run[label] = {"policy": report["policy"], **report["summary"]}
            env_config = report["env_config"]
        runs.append(run)
    env = make_env(MarioEnvConfig.from_dict({**env_config, "render_mode": None}))
    _, random = rollout.play(env, rollout.RandomPolicy(env.action_space, EVAL_SEED),
                             args.episodes, seed=EVAL_SEED)
    env.close()

    summary = {"algo": algo, "experiment": str(experiment), "agent_steps_budget": args.steps,
               "wall_minutes": train_minutes, "episodes_per_policy": args.episodes,
               "evaluation_seeds": f"{EVAL_SEED}-{EVAL_SEED + args.episodes - 1}",
               "runs": runs, "random": random}
    (out / "learning_check.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(experiment, random["x_pos_mean"], out / "learning_check.png", algo, args.steps)
    print(json.dumps(summary, indent=2))
    return 0


def milestones(experiment: Path, budgets: list[int], episodes: int, out: Path,
               max_episode_steps: int | None = None) -> int:
    """Evaluate each trial at each milestone (`results.evaluate_milestones`); write
    milestones.json and the evaluated flag-rate curve. A milestone evaluated before (same
    checkpoint, same episodes and cap) is read from milestones.json."""
    started = StartedFrom.of(json.loads((experiment / EXPERIMENT_FILE).read_text()))
    out.mkdir(parents=True, exist_ok=True)
    path = out / "milestones.json"
    known = json.loads(path.read_text()) if path.is_file() else []
    done = {(m["trial"], m["checkpoint"], m["episodes"], m["max_episode_steps"]): m
            for m in known}

    def save(entry: dict) -> None:  # after each evaluation: a long list survives a Ctrl-C
        done[(entry["trial"], entry["checkpoint"], entry["episodes"],
              entry["max_episode_steps"])] = entry
        path.write_text(json.dumps(sorted(done.values(), key=lambda m: (
            m["trial"], m["agent_steps"], m["episodes"])), indent=1) + "\n")

    for trial in sorted(experiment.glob("trial_*")):
        evaluate_milestones(trial, budgets, started, episodes=episodes,
                            max_episode_steps=max_episode_steps, known=known, on_entry=save)
    # every milestone evaluated the same way, this call's and earlier calls' (as the run went on)
    plot_flag_rate([m for m in done.values()
                    if (m["episodes"], m["max_episode_steps"]) == (episodes, max_episode_steps)],
                   out / "flag_rate.png", experiment.name)
    print(f"wrote {path} and {out / 'flag_rate.png'}")
    return 0


def plot(experiment: Path, random_x_pos: float, path: Path, algo: str, steps: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.5))
    for trial in sorted(experiment.glob("trial_*")):
        seed = json.loads((trial / "params.json").read_text())["seed"]
        rows = [row for row in result_rows(trial) if "x_pos_max_mean" in row["env_runners"]
                and row["num_env_steps_sampled_lifetime"] <= steps]
        axis.plot([row["num_env_steps_sampled_lifetime"] for row in rows],
                  [row["env_runners"]["x_pos_max_mean"] for row in rows],
                  label=f"{algo.upper()}, seed {seed}")
    axis.axhline(random_x_pos, color="gray", linestyle="--", label="random policy")
    axis.set_xlabel("agent steps")
    axis.set_ylabel("furthest x_pos, mean of last 100")
    axis.set_title(f"{algo.upper()} on 1-1, preset cpu, {steps:,} agent steps")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
