"""`mario-rllib results`: a results table anyone can reproduce, from one config for all stages.

It runs a grid of algorithm x stage x seed through Tune (one experiment per algorithm and stage,
one trial per seed, the same settings for every stage: no per-stage tuning, no position
penalties), evaluates each trial's last checkpoint on 30 distinct seeded episodes, greedy and
stochastic, and keeps one record per experiment under `<out>/runs/` (JSON). From all records it
writes:
    <out>.md                     the table: per algorithm, stage, preset and budget, the flag
                                 rate and furthest x_pos as mean and range over the seeds, agent
                                 steps, wall time, hardware, and whether the run finished
    <out>/<experiment>.png       learning curves, one line per seed
    <out>/best.gif               the best agent's best episode (greedy)

`--record EXPERIMENT_DIR` adds an experiment trained some other way (a long run, an interrupted
one: marked unfinished), so that the table holds every real run made.
"""

from __future__ import annotations

import json
import pickle
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mario_rllib.evaluate import evaluate
from mario_rllib.experiment import (
    EXPERIMENT_FILE,
    TrainRequest,
    build_param_space,
    check_request,
    train,
)
from mario_rllib.init_from import StartedFrom
from mario_rllib.storage import Location, as_location, is_uri, locate

EVAL_SEED = 10_000
"""Evaluation episodes use seeds 10000.. (distinct no-op starts; never the training seeds)."""
GIF_SCALE, GIF_MAX_FRAMES = 0.5, 600


def run(algos: Sequence[str], levels: Sequence[str], seeds: int, *, preset: str,
        stop_timesteps: int | None, stop_iters: int | None, sets: Sequence[str],
        storage_path: str, out: Path, episodes: int,
        print_fn: Callable[[str], None] = print) -> int:
    """Train and record every (algorithm, stage) with `seeds` seeds; write the report."""
    requests = [TrainRequest(algo=algo, preset=preset, seed=0, num_samples=seeds,
                             overrides={"levels": level}, sets=list(sets),
                             stop_timesteps=stop_timesteps, stop_iters=stop_iters,
                             storage_path=storage_path,
                             name=f"results__{algo}__{level}__{time.strftime('%Y%m%d-%H%M%S')}")
                for algo in algos for level in levels]
    for request in requests:  # every experiment's config is checked before the first trains
        check_request(request)
        build_param_space(request)
    status = 0
    try:
        for request in requests:
            status |= train(request)
            try:
                record(locate(storage_path) / request.name, out, episodes, print_fn)
            except ValueError as error:  # e.g. every trial errored before its first checkpoint
                print_fn(f"not recorded: {error}")
                status = 1
    finally:  # what was recorded is tabled, whatever happened to the rest of the grid
        write_report(out, [storage_path])
        print_fn(f"wrote {out.with_suffix('.md')}")
    return status


def record(experiment: str | Path | Location, out: Path, episodes: int,
           print_fn: Callable[[str], None] = print) -> Path:
    """Evaluate the last checkpoint of each trial of `experiment` (a directory, or a prefix in a
    bucket); write its record."""
    experiment = as_location(experiment, "--record")
    if not (experiment / EXPERIMENT_FILE).is_file():
        raise ValueError(f"cannot record {str(experiment)!r}: not an experiment directory of "
                         f"`mario-rllib train` ({EXPERIMENT_FILE} is missing)")
    meta = json.loads((experiment / EXPERIMENT_FILE).read_text())
    # A run started from an agent's weights (`train --init-from`) counts the steps and minutes
    # behind them too, as `scripts/ship_agent.py` does.
    started = StartedFrom.of(meta)
    offset, offset_s = started.agent_steps, 60 * started.train_minutes
    trials = []
    for trial in experiment.children("trial_*"):
        rows = result_rows(trial) if (trial / "result.json").is_file() else []
        checkpoints = trial.children("checkpoint_*")
        if not rows or not checkpoints:
            continue
        checkpoint = max(checkpoints, key=lambda path: (path.mtime(), path.name))
        # The steps and time of the checkpoint evaluated (its own iteration's result), not of
        # iterations a stopped run logged after it.
        by_iteration = {row["training_iteration"]: row for row in rows}
        at = by_iteration.get(checkpoint_iteration(checkpoint), rows[-1])
        params = json.loads((trial / "params.json").read_text())
        entry = {"trial": trial.name, "seed": params["seed"],
                 "checkpoint": portable_path(checkpoint, experiment),
                 "agent_steps": int(at["num_env_steps_sampled_lifetime"]) + offset,
                 "wall_s": round(at["time_total_s"]) + offset_s,
                 "finished": bool(rows[-1].get("done")),
                 "curve": [[row["num_env_steps_sampled_lifetime"] + offset,
                            row["env_runners"].get("x_pos_max_mean"),
                            row["env_runners"].get("flag_rate")]
                           for row in rows if "x_pos_max_mean" in row.get("env_runners", {})]}
        for label, stochastic in (("greedy", False), ("stochastic", True)):
            report = evaluate(str(checkpoint), episodes=episodes, seed=EVAL_SEED,
                              stochastic=stochastic, print_fn=print_fn)
            entry[label] = {"policy": report["policy"], **report["summary"],
                            "best_episode_seed": max(report["episodes"],
                                                     key=lambda e: e["x_pos_max"])["seed"]}
            entry["levels"] = report["env_config"]["levels"]
        trials.append(entry)
    if not trials:
        raise ValueError(f"cannot record {str(experiment)!r}: no trial has a checkpoint yet")
    result = {"experiment": experiment.name, "algo": meta["algo"], "preset": meta["preset"],
              "levels": trials[0]["levels"], "stop": meta["stop"], "argv": meta.get("argv"),
              "settings": meta.get("settings", {}),
              # where the weights came from, without this machine's path to them
              **({"init_from": started.record} if started.record else {}),
              "hardware": hardware(), "recorded": time.strftime("%Y-%m-%d"),
              "episodes": episodes, "trials": trials}
    path = out / "runs" / f"{experiment.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print_fn(f"recorded {experiment.name} in {path}")
    return path


def result_rows(trial: str | Path | Location) -> list[dict]:
    """Every result Tune wrote for a trial, in order."""
    return [json.loads(line) for line in (as_location(trial) / "result.json").read_text()
            .splitlines() if line.strip()]


def checkpoint_iteration(checkpoint: str | Path | Location) -> int:
    """The training iteration a checkpoint of `mario-rllib train` was saved at (from its
    `algorithm_state.pkl`: a checkpoint is pickled code, so only for checkpoints you trust)."""
    state = (as_location(checkpoint) / "algorithm_state.pkl").read_bytes()
    return int(pickle.loads(state)["training_iteration"])


def checkpoint_at(trial: str | Path | Location, steps: int) -> tuple[Location, dict]:
    """The trial's newest checkpoint taken at or before `steps` agent steps, and the result row
    of its iteration (which maps it to its agent steps and training time)."""
    trial = as_location(trial)
    rows = {row["training_iteration"]: row for row in result_rows(trial)}
    best = None
    for checkpoint in trial.children("checkpoint_*"):
        try:
            row = rows.get(checkpoint_iteration(checkpoint))
        except (OSError, EOFError, KeyError, ValueError, pickle.UnpicklingError):
            continue  # being written or pruned by a run that goes on
        if row and row["num_env_steps_sampled_lifetime"] <= steps and (
                best is None or row["training_iteration"] > best[1]["training_iteration"]):
            best = (checkpoint, row)
    if best is None:
        raise ValueError(f"{trial}: no checkpoint at or before {steps:,} agent steps")
    return best


def portable_path(path: Path | Location, experiment: Path | Location) -> str:
    """`path` as the docs may show it on any machine: relative to the current directory (the
    project, where `results` runs) when it lies below it, else from the experiment's name on
    (`ppo-1-1-s0/trial_.../checkpoint_000029`), never the absolute path of this machine. A
    bucket's URI is the same everywhere: it stays as it is."""
    if isinstance(path, Location):
        if not path.local:
            return str(path)
        path, experiment = Path(path.path), Path(as_location(experiment).path)
    path = path.resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.relative_to(experiment.resolve().parent))


def hardware() -> str:
    """CPUs (model and count this process may use) and GPUs, in words."""
    from tune_configs.common import available_cpus

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return f"{available_cpus()} x {model}" + (f", {', '.join(gpus)}" if gpus else ", no GPU")


def _stats(values: Sequence[float], spec: str) -> str:
    """mean [min-max] over the seeds (the value alone for one seed)."""
    if len(values) == 1:
        return format(values[0], spec)
    return (f"{format(statistics.fmean(values), spec)} "
            f"[{format(min(values), spec)}-{format(max(values), spec)}]")


def load_records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted((out / "runs").glob("*.json"))]


def write_report(out: Path, roots: Sequence[str | Path] = ()) -> Path:
    """`<out>.md` (the table), a learning-curve PNG per record and the best agent's GIF (made
    from the best checkpoint where it is found: from here, or under one of `roots`, the
    directories that hold the recorded experiments)."""
    records = load_records(out)
    lines = [
        "# Results",
        "",
        "Written by `mario-rllib results` from the records in "
        f"[{out.name}/runs/]({out.name}/runs/). Each row is one experiment: one config for the "
        "stage (no per-stage tuning, no position penalties), one trial per seed. Each trial's "
        f"last checkpoint is evaluated on distinct episodes (seeds {EVAL_SEED}..., a different "
        "no-op start each): greedy, and stochastic (sampled actions; epsilon-greedy for DQN). "
        "Values are the mean over the seeds, with [min-max] where there are several; `episodes` "
        "is the number of evaluation episodes per trial and policy. "
        "Unfinished runs (stopped before their budget, or still running) are marked.",
        "",
        "| algorithm | stage | preset | settings | seeds | episodes | agent steps | wall time "
        "| flag rate, greedy | flag rate, stochastic | furthest x_pos, greedy "
        "| furthest x_pos, stochastic | hardware | status | experiment |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for rec in records:
        trials = rec["trials"]
        steps = [t["agent_steps"] for t in trials]
        hours = [t["wall_s"] / 3600 for t in trials]
        wall = (_stats(hours, ".1f") + " h" if max(hours) >= 1.5
                else _stats([h * 60 for h in hours], ".0f") + " min")
        status = "finished" if all(t["finished"] for t in trials) else "unfinished"
        settings = ", ".join(f"{name}={value}" for name, value in rec.get("settings", {}).items())
        cells = [rec["algo"].upper(), rec["levels"], rec["preset"], settings or "defaults",
                 str(len(trials)), str(rec["episodes"]),
                 _stats(steps, ",.0f"), wall,
                 _stats([t["greedy"]["flag_rate"] for t in trials], ".2f"),
                 _stats([t["stochastic"]["flag_rate"] for t in trials], ".2f"),
                 _stats([t["greedy"]["x_pos_mean"] for t in trials], ",.0f"),
                 _stats([t["stochastic"]["x_pos_mean"] for t in trials], ",.0f"),
                 rec["hardware"], status,
                 f"[{rec['experiment']}]({out.name}/{rec['experiment']}.png)"]
        lines.append("| " + " | ".join(cells) + " |")
        plot_curves(rec, out / f"{rec['experiment']}.png")
    best = best_agent(records)
    if best is not None:
        rec, trial = best
        gif, source = out / "best.gif", out / "best.json"
        which = {"experiment": rec["experiment"], "trial": trial["trial"],
                 "agent_steps": trial["agent_steps"]}
        checkpoint = trial["checkpoint"]  # a URI, or relative to here or to a root
        found = [path for path in (locate(checkpoint), *(() if is_uri(checkpoint) else (
                     locate(root) / checkpoint for root in roots)))
                 if path.is_dir()]
        if found:
            evaluate(str(found[0]), episodes=1, seed=trial["greedy"]["best_episode_seed"],
                     video=str(gif), video_scale=GIF_SCALE, video_max_frames=GIF_MAX_FRAMES,
                     print_fn=lambda _: None)
            source.write_text(json.dumps(which) + "\n")
        # Shown only if made from this very agent (its checkpoint may live on another machine).
        if gif.exists() and source.exists() and json.loads(source.read_text()) == which:
            lines += ["", f"Best agent so far: {rec['algo'].upper()} on {rec['levels']}, seed "
                      f"{trial['seed']} of {rec['experiment']}, greedy flag rate "
                      f"{trial['greedy']['flag_rate']:.2f}, furthest x_pos mean "
                      f"{trial['greedy']['x_pos_mean']:,.0f}; its best episode (seed "
                      f"{trial['greedy']['best_episode_seed']}):", "",
                      f"![best agent]({out.name}/best.gif)"]
    path = out.with_suffix(".md")
    path.write_text("\n".join(lines) + "\n")
    return path


def best_agent(records: list[dict]) -> tuple[dict, dict] | None:
    """The trial with the highest greedy flag rate, then furthest mean x_pos."""
    candidates = [(rec, trial) for rec in records for trial in rec["trials"]]
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[1]["greedy"]["flag_rate"],
                                          c[1]["greedy"]["x_pos_mean"]))


def plot_curves(rec: dict, path: Path) -> None:
    """Furthest x_pos (mean of the last 100 training episodes) against agent steps, per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3.5))
    for trial in rec["trials"]:
        steps, x_pos = zip(*[(s, x) for s, x, _ in trial["curve"]], strict=True) \
            if trial["curve"] else ((), ())
        axis.plot(steps, x_pos, label=f"seed {trial['seed']}")
    axis.set_xlabel("agent steps")
    axis.set_ylabel("furthest x_pos, mean of last 100")
    axis.set_title(f"{rec['algo'].upper()} on {rec['levels']}, preset {rec['preset']}")
    axis.grid(alpha=0.3)
    axis.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
