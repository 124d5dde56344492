"""`mario-rllib train --init-from AGENT`: a run that starts from a shipped agent's weights.

Checked on RLlib's own path: the Algorithm that `train` configures is built, and its learner's
and its env runners' networks must hold exactly the agent's weights (float16 on disk, float32 in
the module) before any training. Then the command as a user types it, from a fresh directory:
it trains, keeps a copy of the weights it started from, records them, and a ship of that run
counts the agent steps behind them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mario_rllib.agents import AGENTS_DIR, DEFAULT_AGENT, METADATA_FILE, MODULE_DIR

ROOT = Path(__file__).resolve().parents[1]
AGENT = json.loads((AGENTS_DIR / DEFAULT_AGENT / METADATA_FILE).read_text())


def agent_weights() -> dict[str, np.ndarray]:
    """The shipped agent's weights as stored (float16), straight from the file."""
    import pickle

    stored = pickle.loads((AGENTS_DIR / DEFAULT_AGENT / MODULE_DIR / "module_state.pkl")
                          .read_bytes())
    return {name: np.asarray(value) for name, value in stored.items()}


@pytest.mark.slow
def test_the_learner_and_env_runners_start_with_the_agents_weights(ray_local, tmp_path):
    from mario_rllib.env import register_mario_envs
    from mario_rllib.experiment import TrainRequest, build_param_space, first_point
    from mario_rllib.init_from import INIT_DIR, plant, resolve_init
    from mario_rllib.storage import locate

    request = TrainRequest(preset="debug", init_from=DEFAULT_AGENT,
                           overrides={"num_env_runners": 1})
    _, config = build_param_space(request)
    init = resolve_init(DEFAULT_AGENT, "ppo", first_point(request))
    assert init.agent_steps == AGENT["trained"]["agent_steps"]
    plant(init, locate(tmp_path), config)
    assert (tmp_path / INIT_DIR / "module_state.pkl").read_bytes() == (
        AGENTS_DIR / DEFAULT_AGENT / MODULE_DIR / "module_state.pkl").read_bytes()

    register_mario_envs()
    algo = config.build_algo()
    try:
        learner = algo.learner_group._learner.module["default_policy"].state_dict()
        runners = algo.env_runner_group.foreach_env_runner(
            lambda runner: {k: v.numpy() for k, v in runner.module.state_dict().items()},
            local_env_runner=False)
    finally:
        algo.stop()
    stored = agent_weights()
    assert set(learner) == set(stored) and len(runners) == 1
    for name, value in stored.items():
        assert value.dtype == np.float16
        expected = value.astype(np.float32)
        assert learner[name].dtype == torch.float32
        np.testing.assert_array_equal(learner[name].numpy(), expected, err_msg=name)
        if name in runners[0]:  # the runners' inference-only module has no value head
            np.testing.assert_array_equal(runners[0][name], expected, err_msg=name)


@pytest.mark.slow
def test_train_init_from_an_agent_as_typed_then_ship_counts_its_steps(cli, progress_rows,
                                                                     tmp_path):
    result = cli("train", "--preset", "debug", "--stop-iters", "1", "--name", "warm",
                 "--init-from", DEFAULT_AGENT, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    steps = AGENT["trained"]["agent_steps"]
    assert f"starting from the RLModule of {DEFAULT_AGENT} ({steps:,} agent steps)" in \
        result.stdout
    experiment = tmp_path / "ray_results" / "warm"  # the default --storage-path, relative
    record = json.loads((experiment / "mario_rllib_experiment.json").read_text())["init_from"]
    assert record == {"given": DEFAULT_AGENT, "module": str(AGENTS_DIR / DEFAULT_AGENT / MODULE_DIR),
                      "experiment": AGENT["trained"]["experiment"], "agent_steps": steps,
                      "train_minutes": AGENT["trained"]["train_minutes"]}
    assert (experiment / "init_module" / "module_state.pkl").is_file()
    ((_, run_steps),) = progress_rows(experiment)

    trial = next(experiment.glob("trial_*"))
    shipped = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ship_agent.py"), str(trial), "--steps",
         "1000000", "--name", "warm", "--episodes", "1", "--max-episode-steps", "20",
         "--agents-dir", str(tmp_path / "agents")],
        capture_output=True, text=True, timeout=600)
    assert shipped.returncode == 0, shipped.stderr[-3000:]
    trained = json.loads((tmp_path / "agents" / "warm" / METADATA_FILE).read_text())["trained"]
    assert trained["agent_steps"] == int(run_steps) + steps
    assert trained["started_from"]["given"] == DEFAULT_AGENT
    assert f"which started from {DEFAULT_AGENT} at {steps:,}" in shipped.stdout

    recorded = cli("results", "--record", "ray_results/warm", "--episodes", "1", "--out",
                   "records", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stderr[-3000:]
    record = json.loads((tmp_path / "records" / "runs" / "warm.json").read_text())
    assert record["init_from"]["agent_steps"] == steps and "module" not in record["init_from"]
    assert record["trials"][0]["agent_steps"] == int(run_steps) + steps
    assert record["trials"][0]["curve"][0][0] == int(run_steps) + steps
