"""What a user sees while a trial trains: one progress line per iteration (a Tune callback), a
progress.csv whose columns stay right, and the stopper that reads the same window metrics."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ray import tune
from ray.tune.logger import CSVLoggerCallback
from ray.tune.result import EXPR_PROGRESS_FILE
from ray.tune.utils import flatten_dict

from mario_rllib.metrics import (
    FLAG_RATE,
    RETURN_MEAN,
    STOP_FLAG_RATE,
    WINDOW,
    WINDOW_EPISODES,
    X_POS_MAX_MAX,
    X_POS_MAX_MEAN,
)
from mario_rllib.storage import location_of
from tune_configs import EXPERIMENTS, progress_fields


class ProgressLine(tune.Callback):
    """A Tune callback printing one line per training iteration, checkpoint, recovery and
    error."""

    def on_trial_start(self, iteration, trials, trial, **info):
        print(f"[{trial.trial_id}] started", flush=True)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        print(format_progress(trial.trial_id, result), flush=True)

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
        print(f"[{trial.trial_id}] checkpoint "
              f"{location_of(checkpoint.filesystem, checkpoint.path)}", flush=True)

    def on_trial_recover(self, iteration, trials, trial, **info):
        """A trial failed (its node lost, its actor killed) and Tune restores it from its last
        checkpoint (`--max-failures`)."""
        checkpoint = trial.checkpoint
        where = (location_of(checkpoint.filesystem, checkpoint.path).name if checkpoint
                 else "the start: no checkpoint yet")
        print(f"[{trial.trial_id}] failed ({trial.num_failures} of at most "
              f"{trial.max_failures}): restoring from {where}", flush=True)

    def on_trial_error(self, iteration, trials, trial, **info):
        trial_dir = location_of(trial.storage.storage_filesystem, trial.path)
        print(f"[{trial.trial_id}] ERROR: see {trial_dir / 'error.txt'}", flush=True)


class ProgressCSV(CSVLoggerCallback):
    """Tune's progress.csv, with every metric under its own column.

    Tune's `CSVLoggerCallback` fixes the columns at a trial's first result: a metric that appears
    later (the episode metrics once the first episode ends, a learner's once learning starts) is
    left out, and after a resume it appends rows in the new result's key order under the old
    header, so columns slide under the wrong names (a world-model accuracy of 2.0). Here a result
    with a new key rewrites the file once with the wider header; older rows leave it empty.
    Passed to the RunConfig, it replaces Tune's own (Tune adds one only when none is given).
    """

    def __init__(self):
        super().__init__()
        self._columns: dict[Any, dict[str, None]] = {}  # per trial, its columns in order

    def _setup_trial(self, trial):
        super()._setup_trial(trial)  # opens the file to append (after fetching it from storage)
        path = Path(trial.local_path, EXPR_PROGRESS_FILE)
        header: list[str] = []
        if self._trial_continue[trial]:
            with path.open(newline="") as f:
                header = next(csv.reader(f), [])
        self._columns[trial] = dict.fromkeys(header)

    def log_trial_result(self, iteration: int, trial, result: dict):
        if trial not in self._trial_files:
            self._setup_trial(trial)
        row = flatten_dict({k: v for k, v in result.items() if k != "config"}, delimiter="/")
        columns = self._columns[trial]
        if not columns or not columns.keys() >= row.keys():
            columns.update(dict.fromkeys(row))
            self._rewrite(trial, list(columns))
        self._trial_csv[trial] = csv.DictWriter(self._trial_files[trial], list(columns))
        self._trial_csv[trial].writerow(row)
        self._trial_files[trial].flush()

    def _rewrite(self, trial, columns: list[str]) -> None:
        """The file again under `columns`, its rows kept (atomically: a crash leaves either)."""
        self._trial_files[trial].close()
        path = Path(trial.local_path, EXPR_PROGRESS_FILE)
        rows = []
        if path.exists() and path.stat().st_size > 0:
            with path.open(newline="") as f:
                rows = [{k: v for k, v in row.items() if k is not None}
                        for row in csv.DictReader(f)]
        staged = path.with_name(path.name + ".tmp")
        with staged.open("w", newline="") as f:
            writer = csv.DictWriter(f, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(staged, path)
        self._trial_files[trial] = path.open("a", newline="")


class MarioStopper(tune.Stopper):
    """Tune's stop dict (a trial stops when any `key >= value` holds), except that the flag
    rate stops a trial only once its window holds `WINDOW` (100) episodes: one lucky episode
    out of one is a flag rate of 1.0.

    Args:
        stop: {result key (with "/" for nested keys): threshold}, as `stop_criteria` builds it.
    """

    def __init__(self, stop: Mapping[str, Any]):
        self.stop = dict(stop)

    def __call__(self, trial_id: str, result: dict) -> bool:
        from ray.tune.utils import flatten_dict

        flat = flatten_dict(result, delimiter="/")
        for key, target in self.stop.items():
            value = flat.get(key)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            if key == STOP_FLAG_RATE and flat.get(STOP_WINDOW_EPISODES, 0) < WINDOW:
                continue
            if value >= target:
                return True
        return False

    def stop_all(self) -> bool:
        return False


STOP_WINDOW_EPISODES = f"env_runners/{WINDOW_EPISODES}"


def format_progress(trial_id: str, result: Mapping[str, Any]) -> str:
    """One line: `[id] iter 12 | 24,576 steps | 83.0 steps/s | return 12.30 | x_pos 612 (max 1,340) |
    flag 0.00 (100 ep) | 0:04:57`: the episode metrics over the trial's last 100 episodes (how
    many there are so far in brackets; `-` before the first episode ends); then what the
    experiment file of the algorithm the result's config names adds (its `progress_fields`
    hook: a replay ratio, a training stage...); and, only when something went wrong,
    `| env runners 1/2 healthy` and `| env errors 3` (env steps that raised: their episodes
    were dropped)."""
    runners = result.get("env_runners", {})
    steps = result.get("num_env_steps_sampled_lifetime", runners.get("num_env_steps_sampled_lifetime"))
    seconds = result.get("time_this_iter_s") or math.nan
    rate = runners.get("num_env_steps_sampled", math.nan) / seconds
    rate_text = "     -" if math.isnan(rate) else f"{rate:>6.1f}"  # nothing sampled (a training-only stage)

    def number(key: str, spec: str) -> str:
        value = runners.get(key)
        return "-" if value is None or math.isnan(value) else format(value, spec)

    elapsed = int(result.get("time_total_s", 0))
    return (
        f"[{trial_id}] iter {result.get('training_iteration', 0):>4} | "
        f"{int(steps or 0):>10,} steps | {rate_text} steps/s | "
        f"return {number(RETURN_MEAN, '7.2f')} | "
        f"x_pos {number(X_POS_MAX_MEAN, '5.0f')} (max {number(X_POS_MAX_MAX, ',.0f')}) | "
        f"flag {number(FLAG_RATE, '.2f')} ({number(WINDOW_EPISODES, '.0f')} ep) | "
        f"{elapsed // 3600}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
        + _algorithm_fields(result)
        + _faults(result)
    )


def _algorithm_fields(result: Mapping[str, Any]) -> str:
    """What the experiment file of the result's algorithm adds to the line ('' without a hook)."""
    algo = result.get("config", {}).get("_model_config", {}).get("mario", {}).get("algo")
    fields = progress_fields(algo) if algo in EXPERIMENTS else None
    return fields(result) if fields is not None else ""


def _faults(result: Mapping[str, Any]) -> str:
    wanted = result.get("config", {}).get("num_env_runners") or 0
    healthy = result.get("fault_tolerance", {}).get("num_healthy_workers", wanted)
    errors = result.get("env_runners", {}).get("num_env_step_failures", 0)
    return ((f" | env runners {healthy}/{wanted} healthy" if healthy < wanted else "")
            + (f" | env errors {int(errors)}" if errors else ""))
