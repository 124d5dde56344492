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
    WINDOW,
    WINDOW_EPISODES,
    X_POS_MAX_MAX,
    X_POS_MAX_MEAN,
)
from mario_rllib.storage import location_of
from tune_configs.common import STOP_FLAG_RATE


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
    many there are so far in brackets; `-` before the first episode ends),
    for DreamerV3 `| replayed/env step 63 (target 64)`, for DQN `| replayed/env step 10.7`
    (`| burn-in 3,200/10,000 steps, no updates` before learning starts; latent DQN adds the share
    of world-model updates: `| replayed/env step 10.7, world model 65%`),
    for World Models its stage (`| CMA-ES gen 12: fitness best 61.2 mean 30.5 worst -3.1,
    furthest x_pos 1,020, 2 actors`),
    and, only when something went wrong, `| env runners 1/2 healthy` and `| env errors 3` (env
    steps that raised: their episodes were dropped)."""
    runners = result.get("env_runners", {})
    steps = result.get("num_env_steps_sampled_lifetime", runners.get("num_env_steps_sampled_lifetime"))
    seconds = result.get("time_this_iter_s") or math.nan
    rate = runners.get("num_env_steps_sampled", math.nan) / seconds
    rate_text = "     -" if math.isnan(rate) else f"{rate:>6.1f}"  # nothing sampled (World Models' V, M)

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
        + _replay_ratio(result)
        + _world_models(result)
        + _faults(result)
    )


def _replay_ratio(result: Mapping[str, Any]) -> str:
    """Replayed steps per sampled env step as it stands: DreamerV3's training ratio (and its
    target), DQN's training intensity once learning started, its burn-in before."""
    ratio = result.get("actual_training_ratio")
    if ratio is not None:
        target = result.get("config", {}).get("training_ratio")
        return f" | replayed/env step {ratio:,.0f}" + (f" (target {target:,})" if target else "")
    intensity = result.get("training_intensity")
    if intensity is not None and not math.isnan(intensity):
        return f" | replayed/env step {intensity:.1f}" + _latent_phase(result)
    buffered = result.get("burn_in_buffered")  # DQN's burn-in: nothing replayed yet
    if buffered is None or math.isnan(buffered):
        return ""
    starts = result.get("config", {}).get("num_steps_sampled_before_learning_starts")
    return f" | burn-in {buffered:,.0f}" + (f"/{starts:,}" if starts else "") + " steps, no updates"


def _latent_phase(result: Mapping[str, Any]) -> str:
    """Latent DQN: the share of the iteration's updates that trained the world model."""
    share = result.get("learners", {}).get("default_policy", {}).get("wm_phase")
    return "" if share is None or math.isnan(share) else f", world model {share:.0%}"


def _world_models(result: Mapping[str, Any]) -> str:
    """World Models: what the iteration did, by the stage it worked on."""
    numbers = result.get("world_models")
    if not numbers:
        return ""

    def value(key: str) -> float:
        found = numbers.get(key)
        return math.nan if found is None else found

    def given(key: str) -> bool:
        return not math.isnan(value(key))

    learner = result.get("learners", {}).get("default_policy", {})
    if given("generation"):
        return (f" | CMA-ES gen {value('generation'):.0f}: fitness best "
                f"{value('es_fitness_best'):.1f} mean {value('es_fitness_mean'):.1f} worst "
                f"{value('es_fitness_worst'):.1f}, furthest x_pos {value('es_x_pos_furthest'):,.0f}"
                f", {value('es_candidate_actors'):.0f} actor(s)"
                + (f"; mean evaluated: return {value('eval_return_mean'):.1f} over "
                   f"{value('eval_episodes'):.0f} episodes" if given("eval_return_mean") else "")
                + (f"; kept: gen {value('kept_generation'):.0f}, return "
                   f"{value('kept_return_mean'):.1f}, x_pos {value('kept_x_pos_mean'):,.0f}"
                   if given("kept_return_mean") else ""))
    if given("mdn_epochs"):
        return (f" | M epoch {value('mdn_epochs'):.0f}: z nll {learner.get('mdn_z_nll', math.nan):.3f}"
                f", reward mse {learner.get('mdn_reward_mse', math.nan):.4f}, end bce "
                f"{learner.get('mdn_done_bce', math.nan):.4f}")
    if given("vae_epochs"):
        return (f" | V epoch {value('vae_epochs'):.0f}: recon mse "
                f"{learner.get('vae_recon_mse', math.nan):.4f}, ssim "
                f"{learner.get('vae_recon_ssim', math.nan):.3f}, kl {learner.get('vae_kl', math.nan):.1f}")
    if given("episodes_collected"):
        random_play = numbers.get("collect", {}).get("x_pos_max_mean")
        return (f" | collected {value('episodes_collected'):,.0f} random episodes"
                + (f" (x_pos {random_play:,.0f})" if random_play is not None else ""))
    return ""


def _faults(result: Mapping[str, Any]) -> str:
    wanted = result.get("config", {}).get("num_env_runners") or 0
    healthy = result.get("fault_tolerance", {}).get("num_healthy_workers", wanted)
    errors = result.get("env_runners", {}).get("num_env_step_failures", 0)
    return ((f" | env runners {healthy}/{wanted} healthy" if healthy < wanted else "")
            + (f" | env errors {int(errors)}" if errors else ""))
