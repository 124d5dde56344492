"""All five algorithms on two learners, the multi-GPU path (`--num-learners 2`) run on CPU: each
trains a few `debug` iterations, and its learners' weights must stay equal, bit for bit, while the
parts each algorithm trains move.

World Models and latent DQN compute their losses on the module's parts, outside `forward_train`,
so DDP's hooks never average their gradients (`AveragesGradientsAcrossLearners` does); on main
before it, both failed at their first update ("'TorchDDPRLModule' object has no attribute 'vae'",
then DDP's "Expected to have finished reduction in the prior iteration").

Not compared: RLlib's DreamerV3 keeps the return percentiles that scale its actor's loss
(`PER_LEARNER`, parameters without gradients) per learner, each from its own half of the batch;
its gradients are still averaged, so its weights stay equal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ITERATIONS = {"ppo": 1, "dqn": 1, "dreamerv3": 1, "worldmodels": 3, "latent_dqn": 2}
"""Enough for every gradient-trained part to take an update: World Models collects, then trains
V, then M (its controller is CMA-ES's, set by the driver); latent DQN's first phase trains the
world model, its second the Q streams."""

PER_LEARNER = {"actor.ema_value_target_pct5", "actor.ema_value_target_pct95"}

TRAINED = {
    "ppo": ["encoder", "pi", "vf"],
    "dqn": ["_target_encoder", "_target_streams", "encoder", "streams"],
    "dreamerv3": ["actor", "critic", "decoder", "encoder", "world_model"],
    "worldmodels": ["rnn", "vae"],
    "latent_dqn": ["_target_streams", "dynamics", "streams", "vae"],
}


@pytest.fixture(scope="module")
def two_learner_runs() -> dict[str, dict]:
    script = Path(__file__).with_name("two_learners.py")
    done = subprocess.run(
        [sys.executable, str(script), *(f"{algo}={n}" for algo, n in ITERATIONS.items())],
        capture_output=True, text=True, timeout=900, cwd=Path(__file__).parents[2])
    runs = {row["algo"]: row for row in map(json.loads, (
        line for line in done.stdout.splitlines() if line.startswith("{")))}
    assert done.returncode == 0, done.stderr[-3000:]
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("algo", list(ITERATIONS))
def test_two_learners_train_and_keep_equal_weights(two_learner_runs, algo):
    run = two_learner_runs[algo]
    assert "error" not in run, run["error"]
    assert run["learners"] == 2
    assert run["moved"] == TRAINED[algo]
    assert set(run["differ"]) <= PER_LEARNER
