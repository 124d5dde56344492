"""The `mario-rllib` command as a user runs it: in a subprocess, reading what it prints."""

import json
import math
import os

import numpy as np
import pytest

from mario_rllib.machine import available_cpus


def test_help_lists_the_subcommands(cli):
    result = cli("--help")
    assert result.returncode == 0
    for command in ("train", "evaluate", "plot", "results", "submit", "bench", "play"):
        assert command in result.stdout


def test_play_random_prints_a_row_per_episode_and_a_summary(cli):
    result = cli("play", "random", "--episodes", "2", "--seed", "3", "--max-episode-steps", "30")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["episode", "seed"])
    rows = [line.split() for line in lines[header + 1: header + 3]]
    # Seed s starts after s mod 31 no-op frames (noop_max 30): consecutive seeds, distinct starts.
    assert [row[:4] for row in rows] == [["0", "3", "3", "1-1"], ["1", "4", "4", "1-1"]]
    assert all(row[4] == "30" for row in rows)  # truncated at --max-episode-steps
    assert lines[-1].startswith("2 episodes (2 distinct starts, 2 distinct episodes): flag rate "
                                "0.00 (95% CI 0.00-0.66), furthest x_pos mean")


@pytest.mark.slow
def test_bench_quick_reports_well_formed_ratios_and_replay_bytes(cli, tmp_path):
    import shutil
    from pathlib import Path

    page = tmp_path / "performance.md"
    shutil.copy(Path(__file__).resolve().parents[1] / "docs" / "performance.md", page)
    home = tmp_path / "home"  # where Ray makes a directory for each algorithm built outside Tune
    result = cli("bench", "--quick", "--processes", "2", "--write-docs", str(page),
                 env={**os.environ, "HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert not list(home.glob("ray_results/*")), "bench left directories in ~/ray_results"
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == f"wrote {page} and {page.with_suffix('.json')}"
    lines = lines[:-1]
    assert any(line.startswith("ours, gray84") for line in lines)
    assert any(line.startswith("dqn (ours, as configured)") for line in lines)
    assert any(line.startswith("dreamerv3 (ours, as configured)") for line in lines)
    assert any(line.startswith("peer_ratio (ours 1x1 ÷ tutorial, acting)") for line in lines)
    report = json.loads(lines[-1])
    # The page's tables are written from this very report, kept beside it.
    assert json.loads(page.with_suffix(".json").read_text()) == {
        **report, "meta": {**report["meta"], "json": "performance.json"}}
    text = page.read_text()
    assert text.startswith("# Performance") and "## Goals, and where the time goes" in text
    assert f"**{report['sampling_ratio_to_raw']:.3f}**" in text
    assert (f"| ours, gray84, fast core | "
            f"{report['env']['modes']['gray84']['agent_steps_per_s']:,.1f} |") in text
    assert f"**{report['emulator_speedup']:.2f}x**" in text
    # The headline figures, each a positive finite ratio or rate.
    for key in ("raw_frames_per_s", "sampling_ratio_to_raw", "scaling_efficiency", "peer_ratio",
                "emulator_speedup"):
        assert 0 < report[key] < 1e6 and math.isfinite(report[key]), key
    assert report["raw_frames_per_s"] == report["env"]["raw_frames_per_s"]
    sampling = report["sampling"]
    assert report["scaling_efficiency"] == sampling["scaling_efficiency"]
    top = max(c["runners"] for c in sampling["configs"])
    one, many = ([c for c in sampling["configs"] if c["envs_per_runner"] == sampling["envs_per_runner"]
                  and c["runners"] == n][0] for n in (1, top))
    assert report["sampling_ratio_to_raw"] == one["ratio_to_raw"]
    assert report["scaling_efficiency"] == pytest.approx(
        many["ratio_to_raw"] / one["ratio_to_raw"], abs=2e-3)
    if top > 1:  # the raw emulator's own scaling, measured in the same rounds
        assert report["raw_scaling_efficiency"] == sampling["raw_scaling_efficiency"] == (
            many["raw_scaling"])
        assert 0 < many["raw_scaling"] < 10 and many["raw_parallel_frames_per_s_per_core"] > 0
        assert sampling["scaling_efficiency_vs_raw"] == pytest.approx(
            sampling["scaling_efficiency"] / many["raw_scaling"], abs=2e-3)
    configs = sampling["configs"]
    assert {(c["runners"], c["envs_per_runner"]) for c in configs} == {
        (n, 1) for n in range(1, available_cpus() + 1)}  # --quick: 1 env per runner
    for config in configs:
        assert config["cores_used"] == config["runners"]
        # the median of the rounds' ratios, each ours per core ÷ the raw turn before it
        assert config["ratio_to_raw"] == pytest.approx(
            float(np.median(config["round_ratios"])), abs=2e-3)
        assert all(0 < r < 10 for r in config["round_ratios"])
        # frames per agent step: the frame skip (4), fewer at episode ends
        assert 2 < config["frames_per_s"] / config["agent_steps_per_s"] < 6
        assert set(config["stage_ms_per_vector_step"]) == {
            "env_step", "module_inference", "env_to_module_connectors", "module_to_env_connectors",
            "other"}
        assert all(ms >= 0 for ms in config["stage_ms_per_vector_step"].values())
    for algo in ("ppo", "dqn", "dreamerv3"):
        learner = report["learner"][algo]["threads_1"]
        assert learner["samples_per_s"] > 0 and learner["samples_trained"] > 0
    peer = report["peer"]
    assert peer["tutorial_acting_agent_steps_per_s"] > 0
    assert peer["tutorial_acting_and_learning_agent_steps_per_s"] > 0
    assert peer["peer_ratio"] == pytest.approx(
        peer["ours_sampling_1x1_agent_steps_per_s"] / peer["tutorial_acting_agent_steps_per_s"],
        abs=2e-3)
    assert peer["learner_ratio"] > 0 and peer["tutorial_learner_samples_per_s"] > 0
    end_to_end = peer["dqn_end_to_end"]
    assert end_to_end["agent_steps_per_s"] > 0 and 0 < end_to_end["update_share"] < 1
    assert peer["end_to_end_ratio"] == pytest.approx(
        end_to_end["agent_steps_per_s"] / peer["tutorial_acting_and_learning_agent_steps_per_s"],
        rel=0.02)
    ppo = peer["ppo_end_to_end"]  # uvipen's PPO loop and ours, end to end, in turns
    assert report["ppo_peer_ratio"] == peer["ppo_peer_ratio"] == ppo["ppo_peer_ratio"]
    assert ppo["ppo_peer_ratio"] == pytest.approx(
        ppo["ours_agent_steps_per_s"] / ppo["uvipen_agent_steps_per_s"], rel=0.02)
    assert 0 < ppo["ours_update_share"] < 1 and 0 < ppo["uvipen_update_share"] < 1
    assert 2 < ppo["uvipen_frames_per_agent_step"] <= 4  # its skip of 4, less where episodes end
    assert any(line.startswith("ppo_peer_ratio (our PPO ÷ uvipen's loop") for line in lines)
    assert "### Peer: uvipen's PPO loop" in text
    env = report["env"]
    assert env["raw_frames_per_s"] > 0
    assert set(env["modes"]) == {"gray84", "rgb64", "raw"}
    for figures in env["modes"].values():
        assert figures["agent_steps_per_s"] > 0
        # frames per agent step: the frame skip (4), fewer at episode ends, more with no-op starts
        assert 2 < figures["frames_per_s"] / figures["agent_steps_per_s"] < 6
        assert 0 < figures["ratio_to_raw"] < 10 and math.isfinite(figures["ratio_to_raw"])
    assert env["gray84_ratio_to_raw"] == env["modes"]["gray84"]["ratio_to_raw"]
    # the fast core's speedup: our env over nes-py 8.2.1 itself, and over our env on nes-py's core
    assert report["emulator_speedup"] == env["emulator_speedup"] == env["gray84_ratio_to_raw"]
    assert env["emulator_speedup_same_env"] == pytest.approx(
        env["modes"]["gray84"]["frames_per_s"] / env["nes_py_env"]["frames_per_s"], abs=2e-3)
    assert 2 < env["nes_py_env"]["frames_per_s"] / env["nes_py_env"]["agent_steps_per_s"] < 6
    parallel = env["parallel"]
    assert parallel["processes"] == 2
    assert 0 < parallel["scaling_efficiency"] < 10 and 0 < parallel["gray84_ratio_to_raw"] < 10
    dqn = report["dqn"]
    assert dqn["replay_transitions"] >= 500 and dqn["frame_bytes"] == 84 * 84
    # Compressed frames: well under one raw frame; uncompressed at least the frame itself, and
    # not the 8 stacked float frames of the PyTorch tutorial.
    assert 0 < dqn["replay_bytes_per_transition"] < 84 * 84
    assert 84 * 84 <= dqn["uncompressed_bytes_per_transition"] < 2 * 84 * 84
    for key in ("sample_ms_per_batch", "uncompressed_sample_ms_per_batch",
                "rllib_buffer_sample_ms_per_batch"):
        assert 0 < dqn[key] < 10_000
    assert dqn["ratio_to_frame"] == pytest.approx(dqn["replay_bytes_per_transition"] / (84 * 84),
                                                  abs=1e-3)
    assert dqn["rllib_buffer_bytes_per_transition"] >= 84 * 84
    assert 0 < dqn["ratio_to_rllib_buffer"] <= 1.0  # ours drops infos; never holds more
    dreamer = report["dreamerv3"]
    frame = 64 * 64 * 3
    assert dreamer["replay_transitions"] >= 500 and dreamer["frame_bytes"] == frame
    # One uint8 frame per step plus a little: the "near 12 KB". RLlib's buffer also keeps
    # the infos and the RSSM state of every step.
    assert frame <= dreamer["replay_bytes_per_transition"] < 1.2 * frame
    assert dreamer["rllib_buffer_bytes_per_transition"] > dreamer["replay_bytes_per_transition"]
    assert dreamer["ratio_to_frame"] == pytest.approx(
        dreamer["replay_bytes_per_transition"] / frame, abs=1e-3)
    assert 0 < dreamer["sample_ms_per_batch"] < 10_000 and dreamer["batch"] == "16 x 64 steps"
