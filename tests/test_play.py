"""Agents shipped with the package, and `mario-rllib play`, as a user runs it right after the
install: plain RLlib loads every shipped agent and it acts as it did when it was shipped; `play`
plays it (no training, no Ray), a checkpoint's agent, or a random one; `scripts/ship_agent.py`
makes an agent folder from a checkpoint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mario_rllib.agents import (
    AGENTS_DIR,
    DEFAULT_AGENT,
    METADATA_FILE,
    MODULE_DIR,
    REFERENCE_FILE,
    shipped_agents,
)

SHIPPED = sorted(shipped_agents())
ROOT = Path(__file__).resolve().parents[1]
METADATA_KEYS = {"algo", "stage", "action_set", "obs_mode", "frame_stack", "frame_skip",
                 "policy", "trained", "evaluation"}


def test_the_default_agent_is_shipped():
    assert DEFAULT_AGENT in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_agent_loads_with_plain_rllib_and_acts_as_when_shipped(name):
    """`RLModule.from_checkpoint` and nothing of ours but the module's class: float32 weights
    from the stored float16, and the same logits on the frame stacks recorded at shipping."""
    from ray.rllib.core.columns import Columns
    from ray.rllib.core.rl_module.rl_module import RLModule

    folder = AGENTS_DIR / name
    module = RLModule.from_checkpoint(str(folder / MODULE_DIR))
    assert all(p.dtype == torch.float32 for p in module.parameters())
    reference = np.load(folder / REFERENCE_FILE)
    assert reference["obs"].dtype == np.uint8 and len(reference["obs"]) >= 4
    with torch.no_grad():
        logits = module.forward_inference({Columns.OBS: torch.from_numpy(reference["obs"])})[
            Columns.ACTION_DIST_INPUTS].numpy()
    np.testing.assert_allclose(logits, reference["logits"], rtol=1e-5, atol=1e-5)
    # The action distributions the agent acts by, compared as distributions.
    probs = torch.softmax(torch.from_numpy(logits), -1).numpy()
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(reference["logits"]), -1),
                               atol=1e-6)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_agent_is_small_and_says_what_it_is_and_how_well_it_plays(name):
    folder = AGENTS_DIR / name
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size <= 8_000_000, f"{name}: {size:,} bytes"
    meta = json.loads((folder / METADATA_FILE).read_text())
    assert METADATA_KEYS <= set(meta), METADATA_KEYS - set(meta)
    assert meta["policy"] in ("greedy", "stochastic")
    evaluation = meta["evaluation"]
    assert evaluation["episodes"] >= 100
    low, high = evaluation["flag_rate_ci95"]
    assert low <= evaluation["flag_rate"] <= high
    assert set(evaluation["flag_episode_seeds"]) <= set(range(10_000, 10_000 + 100))
    assert round(len(evaluation["flag_episode_seeds"]) / evaluation["episodes"], 6) == \
        round(evaluation["flag_rate"], 6)
    # What the README shows of it is its evaluation, not more.
    readme = (ROOT / "README.md").read_text()
    assert f"{evaluation['flag_rate']:.2f}" in readme
    assert f"mario-rllib play {name}" in readme or name == DEFAULT_AGENT


@pytest.mark.slow
def test_play_plays_the_shipped_agent_right_after_the_install(cli, tmp_path):
    """No agent named: the default one, one short episode, with a video, from a fresh
    directory; no Ray is started (RLlib would print where its dashboard is). The seed of its
    best episode (a flag, or its furthest run: hundreds of steps), cut at 60."""
    seed = shipped_agents()[DEFAULT_AGENT]["evaluation"]["best_episode_seed"]
    result = cli("play", "--episodes", "1", "--seed", str(seed), "--max-episode-steps", "60",
                 "--video", "run.gif", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"agents/{DEFAULT_AGENT}/module" in result.stdout
    rows = [line.split() for line in result.stdout.splitlines()
            if re.match(rf"^\s+0\s+{seed}\s", line)]
    assert len(rows) == 1 and rows[0][4] == "60"  # steps: truncated at --max-episode-steps
    assert rows[0][7] in ("yes", "no")  # reached the flag
    assert "1 episodes (1 distinct starts" in result.stdout
    assert (tmp_path / "run.gif").stat().st_size > 0
    assert "Started a local Ray instance" not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "run.gif"]  # nothing else written

    listing = cli("play", "--list")
    assert listing.returncode == 0, listing.stderr
    for name in SHIPPED:
        assert re.search(rf"^{re.escape(name)}: \w+ on \d-\d, ", listing.stdout, re.M)
        assert f"mario-rllib play {name} --seed " in listing.stdout


@pytest.mark.slow
def test_an_agent_plays_the_same_episode_on_either_emulator(cli, tmp_path):
    """`evaluate --emulator nes-py`: the shipped agent, trained on the fast core, played on
    nes-py's own (where the fast one is not built, say): the same episode, action for action
    (the trajectory digest), as on the core it trained on."""
    from mario_rllib.evaluate import evaluate

    seed = shipped_agents()[DEFAULT_AGENT]["evaluation"]["best_episode_seed"]
    args = {"episodes": 1, "seed": seed, "max_episode_steps": 150}
    fast = evaluate(DEFAULT_AGENT, **args, print_fn=lambda line: None)
    report = tmp_path / "nes-py.json"
    result = cli("evaluate", DEFAULT_AGENT, "--emulator", "nes-py", "--episodes", "1", "--seed",
                 str(seed), "--max-episode-steps", "150", "--report", str(report))
    assert result.returncode == 0, result.stderr[-2000:]
    nes_py = json.loads(report.read_text())
    assert (fast["env_config"]["emulator"], nes_py["env_config"]["emulator"]) == ("fast", "nes-py")
    assert nes_py["episodes"] == fast["episodes"] and fast["episodes"][0]["steps"] == 150


@pytest.mark.slow
def test_play_takes_a_checkpoint_and_a_sampled_episode_replays_alone(cli, interrupted_runs,
                                                                     tmp_path):
    """A checkpoint path where a name goes. Sampled actions are seeded per episode: episode
    seed+1 of a run of two is, action for action (the trajectory digest), the run of one from
    seed+1."""
    trial = interrupted_runs("ppo")["trial"]
    played = cli("play", str(trial), "--stochastic", "--episodes", "1", "--seed", "6",
                 "--max-episode-steps", "40")
    assert played.returncode == 0, played.stderr[-2000:]
    assert re.search(r"^\s+0\s+6\s+6\s+1-1\s+40\s", played.stdout, re.M), played.stdout
    runs = {}
    for episodes, seed in ((2, 5), (1, 6)):
        report = tmp_path / f"{episodes}.json"
        result = cli("evaluate", str(trial), "--stochastic", "--episodes", str(episodes),
                     "--seed", str(seed), "--max-episode-steps", "40", "--report", str(report))
        assert result.returncode == 0, result.stderr[-2000:]
        runs[episodes] = json.loads(report.read_text())["episodes"]
    second, alone = runs[2][1], runs[1][0]
    assert {**second, "episode": 0} == alone


@pytest.mark.slow
def test_ship_agent_exports_float16_weights_that_plain_rllib_loads(interrupted_runs, tmp_path):
    from ray.rllib.core.rl_module.rl_module import RLModule

    trial = interrupted_runs("ppo")["trial"]
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "ship_agent.py"), str(trial), "--steps",
         "1000000", "--name", "tiny", "--episodes", "2", "--agents-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    folder = tmp_path / "tiny"
    state = (folder / MODULE_DIR / "module_state.pkl").read_bytes()
    import pickle

    stored = pickle.loads(state)
    assert {value.dtype for value in stored.values()} == {np.dtype(np.float16)}
    module = RLModule.from_checkpoint(str(folder / MODULE_DIR))
    for key, value in module.get_state().items():
        np.testing.assert_array_equal(value, stored[key].astype(np.float32))
    meta = json.loads((folder / METADATA_FILE).read_text())
    assert meta["evaluation"]["episodes"] == 2 and meta["trained"]["seed"] == 3
    assert meta["trained"]["agent_steps"] > 0 and meta["stage"] == "1-1"
    assert meta["frame_stack"] == module.model_config["mario"]["frame_stack"]
    assert not list(folder.glob("evaluation_*.json"))


@pytest.mark.slow
def test_a_built_wheel_carries_every_file_of_the_shipped_agents(tmp_path):
    """`pip install mario-rllib` (not editable) must bring the agents `play` needs."""
    import shutil
    import zipfile

    pytest.importorskip("setuptools")
    source = tmp_path / "src"
    source.mkdir()
    for name in ("mario_rllib", "custom_models", "tune_configs"):
        shutil.copytree(ROOT / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
         str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("mario_rllib-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    shipped = {str(path.relative_to(ROOT)) for name in SHIPPED
               for path in (AGENTS_DIR / name).rglob("*") if path.is_file()}
    assert shipped and shipped <= packed, sorted(shipped - packed)
