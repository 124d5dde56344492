"""Ship a trained agent with the package: mario_rllib/agents/NAME/ from a checkpoint.

It exports the checkpoint's RLModule with float16 weights (plain `RLModule.from_checkpoint` loads
it into the float32 module), evaluates the exported agent, greedy and stochastic, on --episodes
distinct episodes (seeds 10000..., as every evaluation in docs/results.md), keeps the policy
that reaches the flag more often (or --policy), records frame stacks it saw with its action
logits on them (reference.npz, for the tests), and writes agent.json. Then replace the README's
GIF with the line `agent.json` prints under "replay".

Usage (about 10 minutes for 100 episodes of each policy on 2 cores):
    .venv/bin/python scripts/ship_agent.py ~/mario-runs/ppo-1-1-huber-s0/trial_e9bb7_00000 \\
        --steps 500000 --name ppo-1-1
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from mario_rllib import agents, rollout
from mario_rllib.evaluate import build_policy, evaluate, load_module, make_trained_env
from mario_rllib.experiment import EXPERIMENT_FILE
from mario_rllib.init_from import StartedFrom
from mario_rllib.results import EVAL_SEED, checkpoint_at, checkpoint_iteration

REFERENCE_STEPS = (0, 10, 40, 80, 120, 160, 200, 240)
"""Steps of the reference episode whose frame stacks (and the logits on them) are recorded."""


def export(checkpoint: Path, module_dir: Path) -> None:
    """The checkpoint's RLModule, float weights stored as float16."""
    module, _, _ = load_module(checkpoint)
    state = {key: value.astype(np.float16) if value.dtype == np.float32 else value
             for key, value in module.get_state().items()}
    if module_dir.exists():
        shutil.rmtree(module_dir)
    module.save_to_path(str(module_dir), state=state)


class Recorder(rollout.Policy):
    """Wraps a policy; keeps the module's input and output at REFERENCE_STEPS."""

    def __init__(self, policy):
        self.policy, self.step, self.obs, self.logits = policy, 0, [], []

    def start(self, obs, seed=None):
        self.policy.start(obs, seed=seed)

    def act(self):
        import torch
        from ray.rllib.core.columns import Columns

        if self.step in REFERENCE_STEPS:
            batch = self.policy.env_to_module(episodes=[self.policy.episode],
                                              rl_module=self.policy.module, explore=False,
                                              shared_data={})
            with torch.no_grad():
                out = self.policy.module.forward_inference(batch)
            self.obs.append(batch[Columns.OBS][0].numpy())
            self.logits.append(out[Columns.ACTION_DIST_INPUTS][0].numpy())
        self.step += 1
        return self.policy.act()

    def observe(self, *args):
        self.policy.observe(*args)


def record_reference(module_dir: Path, out: Path, stochastic: bool, seed: int) -> None:
    """Play episode `seed` (the agent's best: long enough for every REFERENCE_STEPS; an early
    death would leave the tests too few frame stacks) and keep what the module saw and said."""
    module, mario, _ = load_module(module_dir)
    module.eval()
    env, _ = make_trained_env(mario)
    recorder = Recorder(build_policy(module, mario, env, explore=stochastic, seed=seed))
    rollout.play_episode(env, recorder, seed=seed)
    env.close()
    np.savez_compressed(out, obs=np.stack(recorder.obs), logits=np.stack(recorder.logits),
                        steps=np.array(REFERENCE_STEPS[:len(recorder.obs)]), seed=seed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trial", help="a trial directory of `mario-rllib train`")
    parser.add_argument("--steps", type=int, required=True,
                        help="ship its newest checkpoint at or before this many agent steps")
    parser.add_argument("--name", required=True, help="the agent's name, e.g. ppo-1-1")
    parser.add_argument("--episodes", type=int, default=100,
                        help="evaluation episodes per policy (default: 100)")
    parser.add_argument("--policy", choices=("best", "greedy", "stochastic"), default="best",
                        help="how the agent acts; best: the policy with the higher flag rate, "
                        "then furthest x_pos (default)")
    parser.add_argument("--max-episode-steps", type=int, default=None,
                        help="end evaluation episodes after N agent steps (a clear of 1-1 takes "
                        "about 400; a stalled greedy episode runs to the game's clock, about "
                        "2,000); recorded in agent.json")
    parser.add_argument("--agents-dir", default=str(agents.AGENTS_DIR),
                        help="where agent folders go (default: the package's)")
    args = parser.parse_args()

    trial = Path(args.trial).expanduser().resolve()
    experiment = trial.parent
    try:
        checkpoint, row = checkpoint_at(trial, args.steps)
    except (OSError, ValueError) as error:
        print(f"ship_agent: {error}", file=sys.stderr)
        return 2
    meta = json.loads((experiment / EXPERIMENT_FILE).read_text())
    started = StartedFrom.of(meta)
    if started.record and started.record.get("agent_steps") is None:
        print(f"ship_agent: {experiment.name} started from {started.record['given']}, whose "
              f"agent steps are unknown: ship from a run that started from a shipped agent",
              file=sys.stderr)
        return 2
    params = json.loads((trial / "params.json").read_text())
    folder = Path(args.agents_dir).resolve() / args.name
    folder.mkdir(parents=True, exist_ok=True)
    module_dir = folder / agents.MODULE_DIR
    export(checkpoint, module_dir)
    mario = load_module(module_dir)[1]  # what trained it: env config, frame stack

    reports = {label: evaluate(str(module_dir), episodes=args.episodes, seed=EVAL_SEED,
                               stochastic=label == "stochastic",
                               max_episode_steps=args.max_episode_steps,
                               report=str(folder / f"evaluation_{label}.json"))
               for label in ("greedy", "stochastic")}
    policy = args.policy if args.policy != "best" else max(
        reports, key=lambda label: (reports[label]["summary"]["flag_rate"],
                                    reports[label]["summary"]["x_pos_mean"]))
    env_config = mario["env_config"]
    summary, episodes = reports[policy]["summary"], reports[policy]["episodes"]
    flags = [e["seed"] for e in episodes if e["flag_get"]]
    best = min(flags, key=lambda s: next(e["steps"] for e in episodes if e["seed"] == s)) \
        if flags else max(episodes, key=lambda e: e["x_pos_max"])["seed"]
    record_reference(module_dir, folder / agents.REFERENCE_FILE, policy == "stochastic", best)
    other = "greedy" if policy == "stochastic" else "stochastic"
    metadata = {
        "algo": meta["algo"], "stage": env_config["levels"],
        "action_set": env_config["action_set"], "obs_mode": env_config["obs_mode"],
        "frame_stack": mario["frame_stack"], "frame_skip": env_config["frame_skip"],
        "policy": policy,
        "policy_note": "sampled: each episode's actions are drawn with torch seeded by the "
                       "episode's seed" if policy == "stochastic" else "greedy: the most likely "
                                                                        "action",
        "weights": "float16 (loaded into float32)",
        "trained": {"experiment": experiment.name, "trial": trial.name,
                    "checkpoint": checkpoint.name, "iteration": checkpoint_iteration(checkpoint),
                    # a run that started from an agent's weights (train --init-from) counts the
                    # steps and minutes behind them too
                    "agent_steps": int(row["num_env_steps_sampled_lifetime"])
                    + started.agent_steps,
                    "train_minutes": round(row["time_total_s"] / 60)
                    + started.train_minutes,
                    **({"started_from": started.record} if started.record else {}),
                    "preset": meta["preset"], "seed": params["seed"],
                    "settings": meta.get("settings", {}), "env_config": env_config},
        "evaluation": {"episodes": summary["episodes"],
                       "seeds": f"{EVAL_SEED}-{EVAL_SEED + summary['episodes'] - 1}",
                       "max_episode_steps": args.max_episode_steps,
                       "flag_rate": summary["flag_rate"],
                       "flag_rate_ci95": summary["flag_rate_ci95"],
                       "x_pos_mean": round(summary["x_pos_mean"], 1),
                       "distinct_episodes": summary["distinct_episodes"],
                       "flag_episode_seeds": flags, "best_episode_seed": best,
                       other: {key: reports[other]["summary"][key]
                               for key in ("flag_rate", "flag_rate_ci95", "x_pos_mean")}},
        "shipped": time.strftime("%Y-%m-%d"),
    }
    (folder / agents.METADATA_FILE).write_text(json.dumps(metadata, indent=1) + "\n")
    for label in reports:
        (folder / f"evaluation_{label}.json").unlink()
    print(agents.describe(args.name, metadata))
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"wrote {folder} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
