"""DreamerV3 end to end, as the README tells a user to run it, on the session's DreamerV3 run
(`train --algo dreamerv3 --preset debug`, interrupted and resumed: conftest's `interrupted_runs`,
which tests/test_experiment.py checks as for every algorithm): the training ratio, the world-model
metrics, `evaluate` (the RSSM state carried from step to step) and `dream`.
"""

import csv
import json
import math
import re

import numpy as np
import pytest

pytestmark = pytest.mark.slow

WORLD_MODEL_METRICS = (
    "WORLD_MODEL_recon_mse", "WORLD_MODEL_recon_ssim", "WORLD_MODEL_reward_mae",
    "WORLD_MODEL_continue_accuracy", "WORLD_MODEL_kl", "WORLD_MODEL_free_bits_active",
    "WORLD_MODEL_L_dynamics", "WORLD_MODEL_L_representation", "ACTOR_action_entropy",
    "ACTOR_entropy_normalized", "DREAM_imagined_return", "DREAM_real_return",
    "DREAM_return_gap", "CRITIC_value",
)


@pytest.fixture
def trained(interrupted_runs):
    """The session's DreamerV3 run (conftest): debug preset, interrupted, resumed."""
    run = interrupted_runs("dreamerv3")
    assert run["resumed"].returncode == 0, run["resumed"].stdout + run["resumed"].stderr
    return {"out": run["first_out"] + run["resumed"].stdout, "trial": run["trial"]}


def test_train_shows_the_training_ratio_and_checkpoints(trained):
    out = trained["out"]
    # Said once at the start, in numbers ...
    assert "training ratio 32: each env step is replayed 32 times; an update replays 2 x 16 = 32 " \
           "steps" in out
    # ... and on every progress line, as it stands.
    lines = [line for line in out.splitlines() if " iter " in line]
    assert len(lines) >= 6  # 6 iterations, one redone after the resume
    for line in lines:
        assert re.search(r"\| replayed/env step [\d,]+ \(target 32\)$", line), line
    assert len(list(trained["trial"].glob("checkpoint_*"))) >= 2


def test_world_model_and_imagination_metrics_reach_tune(trained):
    with (trained["trial"] / "progress.csv").open() as f:
        rows = list(csv.DictReader(f))
    last = rows[-1]
    for name in WORLD_MODEL_METRICS:
        value = float(last[f"learners/default_policy/{name}"])
        assert math.isfinite(value), name
    assert 0 <= float(last["learners/default_policy/WORLD_MODEL_continue_accuracy"]) <= 1
    assert 0 <= float(last["learners/default_policy/WORLD_MODEL_free_bits_active"]) <= 1
    assert 0 < float(last["learners/default_policy/WORLD_MODEL_recon_mse"]) < 1
    ratio = [float(row["actual_training_ratio"]) for row in rows]
    assert 0 < ratio[0] < ratio[-1]  # replayed steps per env step, counted right (RLlib's: 0.0)
    # = updates x B x T / env steps, from RLlib's own counters: its learner counts B rows per
    # update, and the debug preset's T is 16.
    for row, value in zip(rows, ratio, strict=True):
        rows_trained = float(row["learners/default_policy/num_module_steps_trained_lifetime"])
        assert value == pytest.approx(rows_trained * 16 / float(row["num_env_steps_sampled_lifetime"]))


def test_evaluate_plays_an_episode(trained, tmp_path, cli):
    report = tmp_path / "report.json"
    result = cli("evaluate", str(trained["trial"]), "--episodes", "1", "--report", str(report))
    assert result.returncode == 0, result.stderr
    content = json.loads(report.read_text())
    assert content["algo"] == "dreamerv3" and content["summary"]["episodes"] == 1
    assert content["episodes"][0]["steps"] > 0


def test_evaluate_carries_the_rssm_state(trained):
    """RLlib's connectors feed each step's STATE_OUT back as the next step's STATE_IN."""
    import torch
    from ray.rllib.core.columns import Columns

    from mario_rllib.env import MarioEnvConfig, make_env
    from mario_rllib.evaluate import build_policy, load_module

    module, mario, _ = load_module(trained["trial"])
    assert module.is_stateful()
    env = make_env(MarioEnvConfig.from_dict(mario["env_config"]))
    torch.manual_seed(0)
    policy = build_policy(module, mario, env, explore=False)
    obs, _ = env.reset(seed=0)
    policy.start(obs)
    states = []
    for _ in range(3):
        action = policy.act()
        policy.observe(action, *env.step(action)[:4])
        states.append(policy.episode.get_extra_model_outputs(Columns.STATE_OUT, -1))
    env.close()
    assert not np.allclose(states[-1]["h"], states[-2]["h"])  # the state moves on
    batch = policy.env_to_module(episodes=[policy.episode], rl_module=module, explore=False,
                                 shared_data={})
    assert np.allclose(batch[Columns.STATE_IN]["h"][0].numpy(), states[-1]["h"])
    assert batch["is_first"].tolist() == [0.0]


def test_dream_writes_the_three_panel_gif_and_per_step_errors(trained, tmp_path, cli):
    from PIL import Image

    out = tmp_path / "dream.gif"
    result = cli("dream", str(trained["trial"]), "--out", str(out), "--observe", "3",
                 "--horizon", "5")
    assert result.returncode == 0, result.stderr
    assert "real | model | difference" in result.stdout
    with Image.open(out) as gif:
        assert gif.n_frames == 3 + 5
        width, height = gif.size
    assert width > 3 * 64 * 3 and height > 64 * 3  # three panels, magnified
    report = json.loads((tmp_path / "dream.json").read_text())
    assert [step["phase"] for step in report["steps"]] == ["observed"] * 3 + ["imagined"] * 5
    assert all(0 <= step["mse"] <= 1 and -1 <= step["ssim"] <= 1 for step in report["steps"])
    assert report["summary"]["imagined_mse_mean"] > 0
    assert (tmp_path / "dream.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dream_bad_input(trained, tmp_path, capsys):
    from mario_rllib import cli

    def error(*args):
        assert cli.main(["dream", *args]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        return err.strip()

    assert "expected a file name ending in .gif or .mp4" in error(
        str(trained["trial"]), "--out", str(tmp_path / "dream.avi"))
    assert "--horizon 0" in error(str(trained["trial"]), "--out", str(tmp_path / "d.gif"),
                                  "--horizon", "0")
    assert "bad --scale 0" in error(str(trained["trial"]), "--out", str(tmp_path / "d.gif"),
                                    "--scale", "0")
    assert "does not exist" in error(str(tmp_path / "missing"), "--out", str(tmp_path / "d.gif"))


def test_dream_refuses_an_agent_without_a_world_model(tmp_path, capsys):
    import gymnasium as gym

    from custom_models.ppo.rl_module import MarioActorCriticRLM
    from mario_rllib import cli
    from tune_configs import load_experiment

    ppo = load_experiment("ppo").build_config("debug")
    module = MarioActorCriticRLM(observation_space=gym.spaces.Box(0, 255, (84, 84, 4), np.uint8),
                                 action_space=gym.spaces.Discrete(7),
                                 model_config=ppo.get_rl_module_spec().model_config)
    module.save_to_path(str(tmp_path / "ppo"))
    assert cli.main(["dream", str(tmp_path / "ppo"), "--out", str(tmp_path / "d.gif")]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "holds a ppo agent, which has no world model: `dream` needs a checkpoint of an "
        "algorithm with one (mario-rllib train --algo dreamerv3, worldmodels or latent_dqn)")
