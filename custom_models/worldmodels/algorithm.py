"""`WorldModels`: [1]'s four steps as one RLlib Algorithm, a stage per training iteration.

[1] Ha & Schmidhuber 2018, "Recurrent World Models Facilitate Policy Evolution" (NeurIPS),
    https://arxiv.org/abs/1809.01999 (procedure: Section 3.5; settings: Appendix A).

Each `train()` call (a Tune iteration, with its progress line and checkpoint) does one unit of
the stage the trial is in, then moves on when the stage is done:

    collect  the env runners play `collect_episodes_per_iter` episodes each with random actions
             (`sample(random_actions=True)`); the driver writes them to one Parquet file under
             `<trial dir>/rollouts/` (`custom_models.worldmodels.data`), until the files hold
             `collect_episodes` episodes.
    vae      one epoch of V over every frame, streamed from the files and shuffled in a buffer,
             on the Learners (`WorldModelsLearner`), `vae_epochs` times.
    mdn      one epoch of M over every episode (V's posterior of each frame, computed once on a
             Learner), `mdn_epochs` times; then V's and M's weights go to the env runners.
    es       one generation of CMA-ES (Hansen's `cma`, [1]'s population 64) over C's weights:
             `es.ask()` gives the candidates, the env runners (Ray actors) score them in
             parallel, `es.tell()` takes the scores. A candidate's fitness is its mean return over
             `es_episodes_per_candidate` greedy episodes in the real env, or, with `es_in_dream`,
             in M's dream at `dream_temperature` ([1] Section 4) from a real first frame. Every
             candidate of a generation plays from the same starts (seeded no-op starts, new each
             generation) or dreams with the same noise: CMA-ES ranks candidates, not starts. C's
             weights in the Learners (what checkpoints, `evaluate` and the env runners play) are
             the kept controller: the ES mean with the best evaluation so far (`es_eval_every`,
             `es_eval_episodes`), as [1]'s code keeps. The ES state is in the checkpoint.

Results (and the progress line) carry `world_models/stage` (the index in `STAGES` of the stage
the next iteration works on) and the stage's numbers: episodes
collected, V's and M's losses (under `learners/`), and per generation the best, mean and worst
candidate fitness, the furthest x_pos a candidate reached, and how many Ray actors scored them.
The episode statistics of `env_runners/` (the last-100 window: return, x_pos, flag rate) are the
candidates' episodes only; the random episodes' are under `world_models/collect/`, and their
steps count in `env_runners/num_env_steps_sampled_lifetime` with the others.
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import uuid
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.fs
import ray
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig, NotProvided
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    LEARNER_RESULTS,
)

from custom_models.worldmodels import data

STAGES = ("collect", "vae", "mdn", "es")
EVAL_SEED_OFFSET = 1_000_003
"""The kept controller's evaluation starts: `config.seed` + this seeds them, the same at every
evaluation, so evaluations of different generations compare like candidates do."""
RESULTS_KEY = "world_models"
"""Results key of the stage's numbers: `world_models/stage`, `world_models/es_fitness_best`..."""

STAGE_NUMBER = {name: index for index, name in enumerate(STAGES)}


def progress_fields(result: Mapping[str, Any]) -> str:
    """The progress line's World Models fields: what the iteration did, by the stage it worked on
    (`| CMA-ES gen 12: fitness best 61.2 mean 30.5 worst -3.1, furthest x_pos 1,020, 2 actor(s)`,
    `| V epoch 1: recon mse ...`, `| collected 8 random episodes (x_pos 452)`)."""
    numbers = result.get(RESULTS_KEY)
    if not numbers:
        return ""

    def value(key: str) -> float:
        found = numbers.get(key)
        return math.nan if found is None else found

    def given(key: str) -> bool:
        return not math.isnan(value(key))

    learner = result.get("learners", {}).get(DEFAULT_MODULE_ID, {})
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


FRESH_STAGE: dict[str, Any] = {
    "stage": "collect", "vae_epochs": 0, "mdn_epochs": 0, "generation": 0, "es": None,
    "best_fitness": -math.inf,  # the best single candidate score so far (reported, not kept)
    "best_params": None,  # the kept controller: the ES mean with the best evaluation so far
    "kept_return": -math.inf, "kept_x_pos": math.nan, "kept_generation": 0,
}
"""A trial's stage state before its first iteration (and the defaults of older checkpoints')."""


class WorldModelsConfig(AlgorithmConfig):
    """[1]'s settings (Appendix A) where they carry over; see `tune_configs/worldmodels_mario.py`
    for the values Mario uses and their sources."""

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or WorldModels)
        self.collect_episodes = 200
        self.collect_episodes_per_iter = 4  # per env runner
        self.vae_epochs = 10
        self.vae_batch_size = 100
        self.vae_lr = 1e-4
        self.shuffle_frames = 20_000
        self.mdn_epochs = 20
        self.mdn_batch_size = 32
        self.mdn_seq_len = 1000
        self.mdn_lr = 1e-3
        self.mdn_grad_clip = 1.0
        self.mdn_end_weight = 10.0
        self.es_population = 64
        self.es_sigma0 = 0.1
        self.es_episodes_per_candidate = 1
        self.es_eval_every = 25
        self.es_eval_episodes = 100
        self.es_in_dream = False
        self.dream_temperature = 1.15
        self.dream_horizon = 1000

    def training(self, *, collect_episodes=NotProvided, collect_episodes_per_iter=NotProvided,
                 vae_epochs=NotProvided, vae_batch_size=NotProvided, vae_lr=NotProvided,
                 shuffle_frames=NotProvided, mdn_epochs=NotProvided, mdn_batch_size=NotProvided,
                 mdn_seq_len=NotProvided, mdn_lr=NotProvided, mdn_grad_clip=NotProvided,
                 mdn_end_weight=NotProvided, es_population=NotProvided,
                 es_sigma0=NotProvided, es_episodes_per_candidate=NotProvided,
                 es_eval_every=NotProvided, es_eval_episodes=NotProvided,
                 es_in_dream=NotProvided, dream_temperature=NotProvided,
                 dream_horizon=NotProvided, **kwargs) -> WorldModelsConfig:
        super().training(**kwargs)
        for name, value in locals().items():
            if name not in ("self", "kwargs", "__class__") and value is not NotProvided:
                setattr(self, name, value)
        return self

    def get_default_learner_class(self):
        from custom_models.worldmodels.learner import WorldModelsLearner

        return WorldModelsLearner

    def get_default_rl_module_spec(self) -> RLModuleSpec:
        from custom_models.worldmodels.rl_module import WorldModelsRLM

        return RLModuleSpec(module_class=WorldModelsRLM)


class WorldModels(Algorithm):
    """See the module doc."""

    @classmethod
    def get_default_config(cls) -> WorldModelsConfig:
        return WorldModelsConfig()

    def setup(self, config) -> None:
        super().setup(config)
        self._stage: dict[str, Any] = dict(FRESH_STAGE)
        self._latents: list[dict[str, np.ndarray]] | None = None  # M's data, encoded once
        self._rng = np.random.default_rng(self.config.seed)

    @property
    def rollouts_dir(self) -> Path:
        """`rollouts/` in the trial's directory (`ray_results/<experiment>/<trial>/`), where
        `train --resume` finds it. Tune's `logdir` is a per-session working directory, gone after
        a restart. With cloud storage (`--storage s3://...`) the rollouts stay on the driver's
        node, in that working directory."""
        storage = getattr(self, "_storage", None)
        if storage is not None and isinstance(storage.storage_filesystem,
                                              pyarrow.fs.LocalFileSystem):
            return Path(storage.trial_fs_path, "rollouts")
        return Path(self.logdir, "rollouts")

    # --- the stage machine ---------------------------------------------------------------

    def training_step(self) -> None:
        stage = self._stage["stage"]
        if stage != "collect" and not data.episode_files(self.rollouts_dir):
            raise RuntimeError(f"the rollouts of this trial are gone ({self.rollouts_dir} holds "
                               f"no episodes) and stage {stage!r} needs them: start a new "
                               f"experiment")
        getattr(self, f"_{stage}_step")()
        self.metrics.log_value((RESULTS_KEY, "stage"), STAGE_NUMBER[self._stage["stage"]],
                               window=1)

    def _collect_step(self) -> None:
        config = self.config
        collected, _ = data.count_episodes(self.rollouts_dir)
        remote = self.env_runner_group.num_remote_workers()
        per_runner = max(1, min(config.collect_episodes_per_iter,
                                math.ceil((config.collect_episodes - collected) / max(remote, 1))))
        sampled = self.env_runner_group.foreach_env_runner(
            partial(_random_episodes, num_episodes=per_runner,
                    seed=int(self._rng.integers(2**31))), local_env_runner=remote == 0)
        episodes = [episode for batch, _ in sampled for episode in batch]
        counts, random_play = zip(*(_split_episode_stats(metrics) for _, metrics in sampled),
                                  strict=True)
        self.metrics.aggregate(list(counts), key=ENV_RUNNER_RESULTS)
        self.metrics.aggregate(list(random_play), key=(RESULTS_KEY, "collect"))
        name = f"iter{self.iteration:06d}-{uuid.uuid4().hex[:8]}"
        collected += data.write_episodes(episodes, self.rollouts_dir, name)
        self.metrics.log_value((RESULTS_KEY, "episodes_collected"), collected, window=1)
        if collected >= config.collect_episodes:
            self._stage["stage"] = "vae"

    def _vae_step(self) -> None:
        config = self.config
        for frames in data.iter_frame_batches(self.rollouts_dir, config.vae_batch_size,
                                              shuffle_frames=config.shuffle_frames, rng=self._rng):
            self._update({"obs": frames})
        self._stage["vae_epochs"] += 1
        self.metrics.log_value((RESULTS_KEY, "vae_epochs"), self._stage["vae_epochs"], window=1)
        if self._stage["vae_epochs"] >= config.vae_epochs:
            self._stage["stage"] = "mdn"

    def _mdn_step(self) -> None:
        config = self.config
        if self._latents is None:
            self._latents = self._encode_rollouts()
        order = self._rng.permutation(len(self._latents))
        for start in range(0, len(order), config.mdn_batch_size):
            episodes = [self._latents[i] for i in order[start:start + config.mdn_batch_size]]
            self._update(mdn_batch(episodes, config.mdn_seq_len))
        self._stage["mdn_epochs"] += 1
        self.metrics.log_value((RESULTS_KEY, "mdn_epochs"), self._stage["mdn_epochs"], window=1)
        if self._stage["mdn_epochs"] >= config.mdn_epochs:
            self._stage["stage"] = "es"
            self._latents = None
            self.env_runner_group.sync_weights(from_worker_or_learner_group=self.learner_group,
                                               inference_only=True)

    def _es_step(self) -> None:
        import cma

        config = self.config
        if self._stage["es"] is None:
            size = self._controller_size()
            self._stage["es"] = cma.CMAEvolutionStrategy(
                np.zeros(size), config.es_sigma0,
                {"popsize": config.es_population, "seed": (config.seed or 0) + 1,
                 "verbose": -9})
        es = self._stage["es"]
        candidates = es.ask()
        scores = self._score(candidates)
        fitness = np.array([score["fitness"] for score in scores])
        es.tell(candidates, list(-fitness))  # cma minimises
        self._stage["generation"] += 1
        generation = self._stage["generation"]
        self._stage["best_fitness"] = max(self._stage["best_fitness"], float(fitness.max()))
        numbers = {
            "generation": generation,
            "es_fitness_best": float(fitness.max()), "es_fitness_mean": float(fitness.mean()),
            "es_fitness_worst": float(fitness.min()),
            "es_best_so_far": self._stage["best_fitness"], "es_sigma": float(es.sigma),
            "es_candidate_actors": len({score["actor"] for score in scores}),
        }
        if generation == 1 or generation % config.es_eval_every == 0:
            numbers.update(self._evaluate_mean(np.asarray(es.mean)))
        if config.es_in_dream:  # how far the kept controller gets in the real game
            numbers["es_x_pos_furthest"] = float(self._score(
                [self._stage["best_params"]], in_dream=False, count=False)[0]["x_pos_max"])
        else:
            numbers["es_x_pos_furthest"] = float(max(score["x_pos_max"] for score in scores))
        numbers.update({"kept_return_mean": self._stage["kept_return"],
                        "kept_x_pos_mean": self._stage["kept_x_pos"],
                        "kept_generation": self._stage["kept_generation"]})
        self.metrics.log_dict(numbers, key=RESULTS_KEY, window=1)

    def _evaluate_mean(self, mean: np.ndarray) -> dict[str, float]:
        """[1]'s code: every `es_eval_every` generations, the ES mean plays
        `es_eval_episodes` greedy episodes in the real game (always the same starts, spread over
        the env runners); it becomes the kept controller (checkpoints, `evaluate`, the env
        runners) when its mean return beats the kept one's. Not the luckiest single score."""
        config = self.config
        seeds = [int(seed) for seed in np.random.default_rng(
            (config.seed or 0) + EVAL_SEED_OFFSET).integers(2**31, size=config.es_eval_episodes)]
        runners = max(1, min(len(seeds), len(self.env_runner_group.healthy_worker_ids())))
        chunks = [seeds[turn::runners] for turn in range(runners)]
        scores = self._score([mean] * len(chunks), in_dream=False, seeds=chunks, count=False)
        returns = [r for score in scores for r in score["returns"]]
        x_pos = [x for score in scores for x in score["x_pos"]]
        evaluation = {"eval_return_mean": float(np.mean(returns)),
                      "eval_x_pos_mean": float(np.mean(x_pos)),
                      "eval_episodes": len(returns)}
        if evaluation["eval_return_mean"] > self._stage["kept_return"]:
            self._stage.update(kept_return=evaluation["eval_return_mean"],
                               kept_x_pos=evaluation["eval_x_pos_mean"],
                               kept_generation=self._stage["generation"], best_params=mean)
            self._set_controller(mean)
        return evaluation

    # --- helpers -------------------------------------------------------------------------

    def _update(self, columns: dict[str, np.ndarray]) -> None:
        """One gradient step of V or M on the Learners, split among them if several: RLlib cuts
        a batch into shards of ceil(rows / learners), which leaves the last learner fewer rows or
        none (a NaN loss), so the batch is cut to a multiple of the learners first (at most
        `num_learners` - 1 rows of an epoch's last batch go unused)."""
        learners = max(self.config.num_learners, 1)
        rows = len(next(iter(columns.values()))) // learners * learners
        if not rows:
            return
        columns = {name: column[:rows] for name, column in columns.items()}
        batch = MultiAgentBatch({DEFAULT_MODULE_ID: SampleBatch(columns)}, env_steps=rows)
        results = self.learner_group.update(batch=batch)
        self.metrics.aggregate(results, key=LEARNER_RESULTS)

    def _encode_rollouts(self) -> list[dict[str, np.ndarray]]:
        """Every episode as M's data: V's posterior (mu, log_var) per frame, plus the actions,
        rewards and end; V encodes on the first Learner."""
        latents = []
        for episode in data.iter_episodes(self.rollouts_dir):
            mu, log_var = [], []
            for start in range(0, len(episode["obs"]), 1000):
                frames = episode["obs"][start:start + 1000]
                result = self.learner_group.foreach_learner(
                    lambda learner, frames=frames: learner.encode(frames))
                chunk_mu, chunk_log_var = next(iter(result)).get()
                mu.append(chunk_mu)
                log_var.append(chunk_log_var)
            latents.append({"mu": np.concatenate(mu), "log_var": np.concatenate(log_var),
                            "actions": episode["actions"], "rewards": episode["rewards"],
                            "terminated": episode["terminated"]})
        return latents

    def _controller_size(self) -> int:
        result = self.learner_group.foreach_learner(
            lambda learner: learner.module[DEFAULT_MODULE_ID].unwrapped().controller
            .num_parameters)
        return next(iter(result)).get()

    def _set_controller(self, params: np.ndarray) -> None:
        self.learner_group.foreach_learner(
            lambda learner: learner.module[DEFAULT_MODULE_ID].unwrapped().controller
            .set_flat(params))
        self.env_runner_group.sync_weights(from_worker_or_learner_group=self.learner_group,
                                           inference_only=True)

    def _score(self, candidates: list[np.ndarray], in_dream: bool | None = None,
               seeds: list[list[int]] | None = None, count: bool = True
               ) -> list[dict[str, Any]]:
        """Each candidate's score, played by the env runners in parallel (the local env runner
        when there are none), candidates dealt out in turn; a runner that fails has its
        candidates played again by the others. `seeds`: each candidate's starts (default: the
        same fresh ones for all, `es_episodes_per_candidate` of them). `count`: the episodes go
        into the env runners' metrics (the last-100 window of `env_runners/`)."""
        config = self.config
        in_dream = config.es_in_dream if in_dream is None else in_dream
        first_frame = next(data.iter_episodes(self.rollouts_dir, ["obs"]))["obs"][0] \
            if in_dream else None
        # Common random numbers: every candidate of this call plays from the same starts (the
        # env's seeds: its no-op starts), or dreams with the same noise, so CMA-ES ranks the
        # candidates, not their luck; new starts each call.
        if seeds is None:
            shared = [int(seed) for seed in
                      self._rng.integers(2**31, size=config.es_episodes_per_candidate)]
            seeds = [shared] * len(candidates)
        play = partial(_play_candidates, first_frame=first_frame,
                       temperature=config.dream_temperature, horizon=config.dream_horizon)
        todo = {index: (params, seeds[index]) for index, params in enumerate(candidates)}
        scores: dict[int, dict[str, Any]] = {}
        while todo:
            ids = self.env_runner_group.healthy_worker_ids()
            deal = [[(index, *todo[index]) for index in list(todo)[turn::max(len(ids), 1)]]
                    for turn in range(max(len(ids), 1))]
            if ids:
                results = self.env_runner_group.foreach_env_runner(
                    [partial(play, candidates=hand) for hand in deal],
                    remote_worker_ids=ids[:len(deal)], local_env_runner=False)
            else:
                results = [play(self.env_runner_group.local_env_runner, candidates=deal[0])]
            for played, metrics in results:
                if not in_dream and count:
                    self.metrics.aggregate([metrics], key=ENV_RUNNER_RESULTS)
                for score in played:
                    scores[score["index"]] = score
                    todo.pop(score["index"], None)
            if not results:
                raise RuntimeError("no env runner could score the CMA-ES candidates")
        return [scores[index] for index in range(len(candidates))]

    # --- checkpoints ---------------------------------------------------------------------

    def get_state(self, *args, **kwargs) -> dict[str, Any]:
        state = super().get_state(*args, **kwargs)
        state[RESULTS_KEY] = {**self._stage, "es": pickle.dumps(self._stage["es"])}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        if RESULTS_KEY in state:
            self._stage = {**FRESH_STAGE, **state[RESULTS_KEY],
                           "es": pickle.loads(state[RESULTS_KEY]["es"])}
            self._latents = None


def start_digest(obs: np.ndarray) -> str:
    """A short digest of an episode's first observation: which start it played from."""
    return hashlib.sha1(np.ascontiguousarray(obs).tobytes()).hexdigest()[:16]


def _sample_from(runner, seed: int, **kwargs):
    """`runner.sample(num_episodes=..., **kwargs)` whose env reset is seeded with `seed`.

    RLlib 2.60 resets the env at every `sample(num_episodes=...)` call, seeded with the runner's
    fixed seed (`config.seed + worker_index`: `SingleAgentEnvRunner._sample` sets
    `_needs_initial_reset`, `_reset_envs` passes `self._seed`). Every call would start from the
    same no-op start; this one starts where `seed` says (later episodes of the call go on from
    the env's RNG, unseeded)."""
    saved = runner._seed
    runner._seed = seed
    try:
        return runner.sample(**kwargs)
    finally:
        runner._seed = saved


def _split_episode_stats(metrics: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An env runner's metrics: (RLlib's counts and timers; everything else, its episodes'
    statistics), so that the random episodes count as steps but stay out of the candidates'
    last-100 window."""
    def counts_or_times(name: str) -> bool:
        return (name.startswith(("num_", "env_to_module")) or name.endswith("_timer")
                or name in ("sample", "weights_seq_no"))
    return ({name: value for name, value in metrics.items() if counts_or_times(name)},
            {name: value for name, value in metrics.items() if not counts_or_times(name)})


def _random_episodes(runner, *, num_episodes: int, seed: int):
    """On an env runner: `num_episodes` complete episodes of random actions, the first from the
    start `seed + worker_index` gives, and its metrics."""
    episodes = _sample_from(runner, seed + (runner.worker_index or 0), num_episodes=num_episodes,
                            random_actions=True)
    return episodes, runner.get_metrics()


def _play_candidates(runner, *, candidates, first_frame, temperature: float, horizon: int):
    """On an env runner: each (index, weights, seeds) candidate's fitness, the mean return of
    one greedy episode in the real env from each start in `seeds` (through RLlib's `sample`, so
    the env runner's metrics count them), or of `len(seeds)` dreams in M from `first_frame`, with
    noise seeded by `seeds[0]`. The same seeds give candidates the same starts and noise, on
    whichever runner they play."""
    import torch

    from custom_models.worldmodels.imagine import imagine

    module = runner.module
    actor = ray.get_runtime_context().get_actor_id() or f"pid {os.getpid()}"
    played = []
    for index, params, seeds in candidates:
        module.controller.set_flat(params)
        if first_frame is None:
            sampled = [_sample_from(runner, seed, num_episodes=1, explore=False)[0]
                       for seed in seeds]
            returns = [float(episode.get_return()) for episode in sampled]
            x_pos = [max(info.get("x_pos_max", 0) for info in episode.get_infos())
                     for episode in sampled]
            played.append({
                "index": index, "actor": actor, "seeds": list(seeds),
                "fitness": float(np.mean(returns)), "returns": returns, "x_pos": x_pos,
                "x_pos_max": max(x_pos),
                "starts": [start_digest(episode.get_observations(0)) for episode in sampled],
            })
        else:
            generator = torch.Generator().manual_seed(seeds[0])
            with torch.no_grad():
                z0, _ = module.vae.encode(torch.as_tensor(first_frame[None]))
                dream = imagine(module, z0.expand(len(seeds), -1), horizon,
                                temperature=temperature, generator=generator)
            played.append({"index": index, "actor": actor, "x_pos_max": None,
                           "seeds": list(seeds), "fitness": float(dream["return"].mean())})
    return played, runner.get_metrics()


def mdn_batch(episodes: list[dict[str, np.ndarray]], seq_len: int) -> dict[str, np.ndarray]:
    """M's batch from encoded episodes: each cut to its first `seq_len` steps, padded to the
    longest, with `mask` 1 on real steps and `ends` 1 on the last step of an episode that ended
    in the game (not on a cut or a time limit)."""
    lengths = [min(len(episode["actions"]), seq_len) for episode in episodes]
    rows, steps = len(episodes), max(lengths)
    z_size = episodes[0]["mu"].shape[-1]
    batch = {"mu": np.zeros((rows, steps + 1, z_size), np.float32),
             "log_var": np.zeros((rows, steps + 1, z_size), np.float32),
             "actions": np.zeros((rows, steps), np.int64),
             "rewards": np.zeros((rows, steps), np.float32),
             "ends": np.zeros((rows, steps), np.float32),
             "mask": np.zeros((rows, steps), np.float32)}
    for row, (episode, length) in enumerate(zip(episodes, lengths, strict=True)):
        batch["mu"][row, :length + 1] = episode["mu"][:length + 1]
        batch["log_var"][row, :length + 1] = episode["log_var"][:length + 1]
        batch["actions"][row, :length] = episode["actions"][:length]
        batch["rewards"][row, :length] = episode["rewards"][:length]
        batch["mask"][row, :length] = 1.0
        if episode["terminated"] and length == len(episode["actions"]):
            batch["ends"][row, length - 1] = 1.0
    return batch
