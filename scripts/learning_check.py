"""Does PPO learn on 1-1 at all? A check a person runs on a laptop, not a test.

It trains PPO with the `cpu` preset for a fixed budget of agent steps (default 100_000), then plays
the same seeded episodes with the trained agent (greedy and stochastic) and with a uniformly random
policy, and writes:
    <out>/learning_check.png    furthest x_pos (mean over the last 100 training episodes) against
                                agent steps, with the random policy's mean as a line
    <out>/learning_check.json   the numbers

Usage (about 40 minutes on a 2-core laptop):
    .venv/bin/python scripts/learning_check.py --out learning_check
    .venv/bin/python scripts/learning_check.py --steps 20000 --episodes 10   # a shorter look
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mario_rllib import rollout
from mario_rllib.envs import MarioEnvConfig, make_env
from mario_rllib.evaluate import evaluate
from mario_rllib.experiment import TrainRequest, train
from mario_rllib.plot import read_results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000, help="agent steps of training")
    parser.add_argument("--episodes", type=int, default=30,
                        help="evaluation episodes per policy (default: 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="learning_check", help="output directory")
    args = parser.parse_args()

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    name = f"learning_check__{time.strftime('%Y%m%d-%H%M%S')}"
    started = time.time()
    status = train(TrainRequest(algo="ppo", preset="cpu", seed=args.seed,
                                stop_timesteps=args.steps, checkpoint_every=10,
                                storage_path=str(out / "ray_results"), name=name))
    if status != 0:
        print("training did not finish; see above", file=sys.stderr)
        return status
    train_seconds = time.time() - started
    experiment = out / "ray_results" / name
    trial = next(experiment.glob("trial_*"))

    results = {}
    for label, stochastic in (("greedy", False), ("stochastic", True)):
        report = evaluate(str(trial), episodes=args.episodes, seed=10_000, stochastic=stochastic,
                          report=str(out / f"eval_{label}.json"))
        results[f"ppo_{label}"] = report["summary"]
    env = make_env(MarioEnvConfig.from_dict(report["env_config"]))
    _, results["random"] = rollout.play(env, rollout.RandomPolicy(env.action_space, 10_000),
                                        args.episodes, seed=10_000)
    env.close()

    summary = {"agent_steps": args.steps, "train_minutes": round(train_seconds / 60, 1),
               "episodes_per_policy": args.episodes, "experiment": str(experiment), **results}
    (out / "learning_check.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot(trial / "result.json", results["random"]["x_pos_mean"], out / "learning_check.png",
         args.steps)
    print(json.dumps(summary, indent=2))
    return 0


def plot(result_json: Path, random_x_pos: float, path: Path, steps: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in read_results(result_json) if "x_pos_max_mean" in row]
    figure, axis = plt.subplots(figsize=(6, 3.5))
    axis.plot([row["num_env_steps_sampled_lifetime"] for row in rows],
              [row["x_pos_max_mean"] for row in rows], label="PPO (training episodes)")
    axis.axhline(random_x_pos, color="gray", linestyle="--", label="random policy")
    axis.set_xlabel("agent steps")
    axis.set_ylabel("furthest x_pos, mean")
    axis.set_title(f"PPO on 1-1, preset cpu, {steps:,} agent steps")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)


if __name__ == "__main__":
    sys.exit(main())
