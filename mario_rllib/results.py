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
    <out>/<experiment>_flag_rate.png   for a record with milestones: the evaluated flag rate
                                 and furthest x_pos against agent steps (with its table in <out>.md)

`--record EXPERIMENT_DIR` adds an experiment trained some other way (a long run, an interrupted
one: marked unfinished), so that the table holds every real run made. With `--milestones
STEPS1,STEPS2,...` the record also evaluates each trial's newest checkpoint at or before each
milestone, the same way as its last one: how a long run got where it is.
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
from mario_rllib.population import lineage
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
           print_fn: Callable[[str], None] = print, *, milestones: Sequence[int] = (),
           max_episode_steps: int | None = None) -> Path:
    """Evaluate the last checkpoint of each trial of `experiment` (a directory, or a prefix in a
    bucket), and its newest checkpoint at or before each of `milestones` (agent steps, counting
    the steps behind a run's starting weights); write its record. Evaluation episodes end after
    `max_episode_steps` agent steps when given. Milestones the experiment's previous record
    evaluated the same way are taken from it, not played again."""
    experiment = as_location(experiment, "--record")
    if not (experiment / EXPERIMENT_FILE).is_file():
        raise ValueError(f"cannot record {str(experiment)!r}: not an experiment directory of "
                         f"`mario-rllib train` ({EXPERIMENT_FILE} is missing)")
    meta = json.loads((experiment / EXPERIMENT_FILE).read_text())
    # A run started from an agent's weights (`train --init-from`) counts the steps and minutes
    # behind them too, as `scripts/ship_agent.py` does.
    started = StartedFrom.of(meta)
    offset, offset_s = started.agent_steps, 60 * started.train_minutes
    path = out / "runs" / f"{experiment.name}.json"
    known = [m for old in (json.loads(path.read_text())["trials"] if path.is_file() else [])
             for m in old.get("milestones", [])]
    trials = []
    lineages = lineage(experiment)  # a PBT experiment's: what each trial ran when
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
                 "training_flag_rate": at.get("env_runners", {}).get("flag_rate"),
                 "curve": [[row["num_env_steps_sampled_lifetime"] + offset,
                            row["env_runners"].get("x_pos_max_mean"),
                            row["env_runners"].get("flag_rate")]
                           for row in rows if "x_pos_max_mean" in row.get("env_runners", {})]}
        for label, stochastic in (("greedy", False), ("stochastic", True)):
            report = evaluate(str(checkpoint), episodes=episodes, seed=EVAL_SEED,
                              stochastic=stochastic, max_episode_steps=max_episode_steps,
                              print_fn=print_fn)
            entry[label] = {"policy": report["policy"], **report["summary"],
                            "best_episode_seed": max(report["episodes"],
                                                     key=lambda e: e["x_pos_max"])["seed"]}
            entry["levels"] = report["env_config"]["levels"]
        if trial.name in lineages:
            entry["lineage"] = lineages[trial.name]
        if milestones:
            entry["milestones"] = evaluate_milestones(
                trial, milestones, started, episodes=episodes, max_episode_steps=max_episode_steps,
                known=known, besides=checkpoint.name, print_fn=print_fn)  # the last: above
        trials.append(entry)
    if not trials:
        raise ValueError(f"cannot record {str(experiment)!r}: no trial has a checkpoint yet")
    home = str(Path.home())
    argv = [arg.replace(home, "~", 1) if arg.startswith(home) else arg
            for arg in meta.get("argv") or []]  # this machine's home is nobody else's
    result = {"experiment": experiment.name, "algo": meta["algo"], "preset": meta["preset"],
              "levels": trials[0]["levels"], "stop": meta["stop"], "argv": argv or None,
              "settings": meta.get("settings", {}),
              # where the weights came from, without this machine's path to them
              **({"init_from": started.record} if started.record else {}),
              "hardware": hardware(), "recorded": time.strftime("%Y-%m-%d"),
              "episodes": episodes,
              **({"max_episode_steps": max_episode_steps} if max_episode_steps else {}),
              "trials": trials}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1) + "\n")
    print_fn(f"recorded {experiment.name} in {path}")
    return path


def evaluate_milestones(trial: str | Path | Location, budgets: Sequence[int],
                        started: StartedFrom, *, episodes: int, max_episode_steps: int | None,
                        known: Sequence[dict] = (), on_entry: Callable[[dict], None] | None = None,
                        besides: str | None = None,
                        print_fn: Callable[[str], None] = print) -> list[dict]:
    """The trial's newest checkpoint at or before each budget, evaluated greedy and stochastic
    (`episodes` distinct episodes from seed 10000, each at most `max_episode_steps` long), one
    entry per checkpoint, in order of agent steps. Budgets count every agent step behind the
    weights: for a run that started from an agent (`train --init-from`), its own plus the
    agent's. An entry in `known` for the same trial, checkpoint, episodes and cap is reused;
    `on_entry` sees each new one as soon as it is made. The checkpoint named `besides` (one the
    caller evaluates anyway) is left out. A budget the trial has not reached yet is
    skipped: its newest checkpoint would stand for a milestone it never reached."""
    trial = as_location(trial)
    offset, offset_minutes = started.agent_steps, started.train_minutes
    rows = result_rows(trial)
    last = rows[-1]
    done = {(m["trial"], m["checkpoint"], m["episodes"], m["max_episode_steps"]): m
            for m in known}
    entries: dict[str, dict] = {}
    for budget in budgets:
        if budget <= offset:
            print_fn(f"skipped: {trial.parent.name} started from {started.record['given']} at "
                     f"{offset:,} agent steps, after {budget:,}")
            continue
        if last["num_env_steps_sampled_lifetime"] + offset < budget and not last.get("done"):
            print_fn(f"skipped: {trial.name} has not reached {budget:,} agent steps yet "
                     f"({last['num_env_steps_sampled_lifetime'] + offset:,})")
            continue
        try:
            checkpoint, row = checkpoint_at(trial, budget - offset)
        except ValueError as error:
            print_fn(f"skipped: {error}")
            continue
        key = (trial.name, checkpoint.name, episodes, max_episode_steps)
        if checkpoint.name == besides:
            continue
        if key not in done:
            entry = {"trial": trial.name, "checkpoint": checkpoint.name, "episodes": episodes,
                     "max_episode_steps": max_episode_steps, "milestone": budget,
                     "agent_steps": int(row["num_env_steps_sampled_lifetime"]) + offset,
                     "train_minutes": round(row["time_total_s"] / 60 + offset_minutes, 1),
                     "training_flag_rate": row.get("env_runners", {}).get("flag_rate")}
            for label, stochastic in (("greedy", False), ("stochastic", True)):
                report = evaluate(str(checkpoint), episodes=episodes, seed=EVAL_SEED,
                                  stochastic=stochastic, max_episode_steps=max_episode_steps,
                                  print_fn=print_fn)
                entry[label] = {**report["summary"], "flag_episode_seeds": [
                    e["seed"] for e in report["episodes"] if e["flag_get"]]}
            done[key] = entry
            if on_entry is not None:
                on_entry(entry)
        entries[checkpoint.name] = done[key]
    return sorted(entries.values(), key=lambda m: m["agent_steps"])


def plot_flag_rate(entries: Sequence[dict], path: Path, title: str) -> None:
    """The evaluated flag rate (95% Wilson interval as bars) and furthest x_pos against agent
    steps, greedy and stochastic, one line per trial (entries as `evaluate_milestones` makes)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (rate, x_pos) = plt.subplots(1, 2, figsize=(10, 3.6))
    trials = sorted({e["trial"] for e in entries})
    for trial in trials:
        runs = sorted((e for e in entries if e["trial"] == trial), key=lambda e: e["agent_steps"])
        steps = [e["agent_steps"] for e in runs]
        for label, marker in (("greedy", "s"), ("stochastic", "o")):
            name = label if len(trials) == 1 else f"{trial}, {label}"
            rates = [e[label]["flag_rate"] for e in runs]
            low = [r - e[label]["flag_rate_ci95"][0] for r, e in zip(rates, runs, strict=True)]
            high = [e[label]["flag_rate_ci95"][1] - r for r, e in zip(rates, runs, strict=True)]
            rate.errorbar(steps, rates, yerr=[low, high], marker=marker, capsize=3, label=name)
            x_pos.plot(steps, [e[label]["x_pos_mean"] for e in runs], marker=marker, label=name)
    episodes = " or ".join(str(n) for n in sorted({e["episodes"] for e in entries}))
    rate.set_ylabel(f"flag rate, {episodes or 0} evaluation episodes")
    x_pos.set_ylabel("furthest x_pos, mean")
    x_pos.axhline(3161, color="gray", linestyle=":", label="the flag of 1-1 (x 3,161)")
    for axis in (rate, x_pos):
        axis.set_xlabel("agent steps")
        axis.grid(alpha=0.3)
        axis.legend(fontsize="small")
    rate.set_ylim(-0.02, 1.02)
    cap = entries[0]["max_episode_steps"] if entries else None
    figure.suptitle(f"{title}: evaluated at checkpoints (seeds {EVAL_SEED}..."
                    + (f", episodes of at most {cap:,} steps" if cap else "") + ")")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


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
    (`long-run-s0/trial_.../checkpoint_000029`), never the absolute path of this machine. A
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
    from mario_rllib.machine import available_cpus

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
        "no-op start each): greedy, and stochastic (sampled actions; epsilon-greedy for a Q-learner). "
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
    for rec in records:
        if any(trial.get("milestones") for trial in rec["trials"]):
            lines += milestone_section(rec, out)
        if any(trial.get("lineage") for trial in rec["trials"]):
            lines += ["", f"## {rec['experiment']}: PBT lineage", "",
                      "What each trial ran, from Tune's PBT log: its mutated settings from the "
                      "start, and each exploit (the trial it cloned, from which iteration, with "
                      "which settings).", "", "```",
                      *(line for trial in rec["trials"] for line in trial.get("lineage", [])),
                      "```"]
    path = out.with_suffix(".md")
    path.write_text("\n".join(lines) + "\n")
    return path


def milestone_section(rec: dict, out: Path) -> list[str]:
    """A record's evaluations at its milestones and at its last checkpoint: a table and
    `<out>/<experiment>_flag_rate.png`."""
    cap = rec.get("max_episode_steps")
    started = rec.get("init_from")
    lines = ["", f"## {rec['experiment']}: evaluated at milestones", "",
             "Each milestone is the trial's newest checkpoint at or before it, played like the "
             f"last one: {rec['episodes']} episodes per policy (seeds {EVAL_SEED}...)"
             + (f", each at most {cap:,} agent steps" if cap else "") + "."
             + (f" The run started from `{started['given']}` (of {started.get('experiment')}) "
                f"at {started.get('agent_steps', 0):,} agent steps; steps and minutes count "
                "them." if started else ""),
             "",
             "| seed | agent steps | checkpoint | training minutes | flag rate, greedy (95% CI) "
             "| furthest x_pos, greedy | flag rate, stochastic (95% CI) "
             "| furthest x_pos, stochastic | training flag rate (last 100) |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    entries = []
    for trial in rec["trials"]:
        last = {"trial": trial["trial"], "checkpoint": Path(trial["checkpoint"]).name + " (last)",
                "episodes": rec["episodes"], "max_episode_steps": cap,
                "agent_steps": trial["agent_steps"], "train_minutes": trial["wall_s"] / 60,
                "training_flag_rate": trial.get("training_flag_rate"),
                "greedy": trial["greedy"], "stochastic": trial["stochastic"]}
        for entry in [*trial.get("milestones", []), last]:
            entries.append(entry)
            rates = [f"{entry[label]['flag_rate']:.2f} ({entry[label]['flag_rate_ci95'][0]:.2f}-"
                     f"{entry[label]['flag_rate_ci95'][1]:.2f})" for label in ("greedy",
                                                                            "stochastic")]
            training = entry.get("training_flag_rate")
            lines.append("| " + " | ".join([
                str(trial["seed"]), f"{entry['agent_steps']:,}", entry["checkpoint"],
                f"{entry['train_minutes']:.0f}", rates[0], f"{entry['greedy']['x_pos_mean']:,.0f}",
                rates[1], f"{entry['stochastic']['x_pos_mean']:,.0f}",
                "-" if training is None else f"{training:.2f}"]) + " |")
    figure = out / f"{rec['experiment']}_flag_rate.png"
    plot_flag_rate(entries, figure, rec["experiment"])
    lines += ["", f"![{rec['experiment']}: evaluated flag rate and furthest x_pos against agent "
              f"steps]({out.name}/{figure.name})"]
    return lines


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
