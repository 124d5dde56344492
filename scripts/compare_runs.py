"""Two PPO runs side by side, from what their learners logged: the value loss (as the mean squared
error under either loss), the explained variance of the value function, and the training curve.

Each learner metric in RLlib 2.60's results is its last minibatch's value (window 1), so this
averages it over windows of iterations. Used for docs/training.md's "PPO's value loss".

Usage:
    .venv/bin/python scripts/compare_runs.py ~/mario-runs/ppo-1-1-squared-s0 \\
        ~/mario-runs/ppo-1-1-huber-s0 --iters 75 --window 15
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from mario_rllib.results import result_rows

LEARNER_KEYS = ("vf_loss_unclipped", "vf_loss", "vf_explained_var", "entropy")
RUNNER_KEYS = ("x_pos_max_mean", "flag_rate")


def table(experiment: Path, iters: int, window: int) -> list[dict]:
    (trial,) = sorted(experiment.glob("trial_*"))
    rows = [row for row in result_rows(trial) if row["training_iteration"] <= iters]
    out = []
    for start in range(0, len(rows), window):
        part = rows[start:start + window]
        learner = [row["learners"]["default_policy"] for row in part]
        entry = {"iterations": f"{part[0]['training_iteration']}-{part[-1]['training_iteration']}",
                 "agent_steps": int(part[-1]["num_env_steps_sampled_lifetime"])}
        entry.update({key: statistics.fmean(values[key] for values in learner)
                      for key in LEARNER_KEYS})
        entry.update({key: part[-1]["env_runners"].get(key) for key in RUNNER_KEYS})
        out.append(entry)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="+", help="experiment directories (one trial each)")
    parser.add_argument("--iters", type=int, default=75, help="compare iterations 1..N")
    parser.add_argument("--window", type=int, default=15, help="iterations per row")
    args = parser.parse_args()
    report = {}
    for experiment in map(Path, args.experiments):
        experiment = experiment.expanduser().resolve()
        rows = table(experiment, args.iters, args.window)
        report[experiment.name] = rows
        print(f"{experiment.name}")
        print(f"  {'iterations':>10} {'steps':>8} {'vf MSE':>7} {'vf loss':>7} {'expl var':>8} "
              f"{'entropy':>7} {'x_pos':>6} {'flag':>5}")
        for r in rows:
            print(f"  {r['iterations']:>10} {r['agent_steps']:>8,} {r['vf_loss_unclipped']:>7.3f} "
                  f"{r['vf_loss']:>7.3f} {r['vf_explained_var']:>8.3f} {r['entropy']:>7.3f} "
                  f"{r['x_pos_max_mean']:>6.0f} {r['flag_rate']:>5.2f}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
