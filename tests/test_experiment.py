"""`mario-rllib train / --resume / evaluate / plot`, end to end, as the README tells a user to run
them: in subprocesses, with the `debug` preset, into tmp_path.

One training run per algorithm serves every test here: it is interrupted with Ctrl-C (SIGINT)
after its second checkpoint and resumed, which also produces the checkpoint that evaluate and plot
use. No test holds algorithm-specific code: the CLI has none either.
"""

import csv
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

STOP_ITERS = 6


def cli(*args, timeout=400, **kwargs):
    return subprocess.run([sys.executable, "-m", "mario_rllib.cli", *args], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def progress_rows(experiment: Path):
    (progress,) = experiment.glob("trial_*/progress.csv")
    with progress.open() as f:
        return [(int(row["training_iteration"]), float(row["num_env_steps_sampled_lifetime"]))
                for row in csv.DictReader(f)]


@pytest.fixture(scope="module", params=["ppo", "dqn", "dreamerv3"])
def interrupted_and_resumed(request, tmp_path_factory):
    algo = request.param
    storage = tmp_path_factory.mktemp(f"ray_results_{algo}")
    experiment = storage / "exp"
    first = subprocess.Popen(
        [sys.executable, "-m", "mario_rllib.cli", "train", "--algo", algo, "--preset", "debug",
         "--stop-iters",
         str(STOP_ITERS), "--checkpoint-every", "1", "--storage-path", str(storage), "--name",
         "exp", "--seed", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.time() + 300
    while not list(experiment.glob("trial_*/checkpoint_000001")):
        assert first.poll() is None, first.stdout.read()
        assert time.time() < deadline, "no second checkpoint within 300 s"
        time.sleep(0.2)
    first.send_signal(signal.SIGINT)  # a user's Ctrl-C
    first_out, _ = first.communicate(timeout=120)
    rows_before = progress_rows(experiment)
    resumed = cli("train", "--resume", str(experiment))
    return {"algo": algo, "storage": storage, "experiment": experiment, "first_out": first_out,
            "first_rc": first.returncode, "rows_before": rows_before, "resumed": resumed,
            "rows_after": progress_rows(experiment)}


def test_train_prints_progress_and_writes_tune_outputs(interrupted_and_resumed):
    run = interrupted_and_resumed
    lines = [line for line in run["first_out"].splitlines() if " iter " in line]
    assert lines, run["first_out"]
    assert re.search(r"\] iter    1 \| +[\d,]+ steps \| +[\d.]+ steps/s \| return +[-\d.]+ \| "
                     # `-` until the first episode ends
                     r"x_pos +(\d+|-) \(max ([\d,]+|-)\) \| flag ([\d.]+|-) \((\d+|-) ep\) \| 0:\d\d:\d\d"
                     r"( \| replayed/env step [\d,]+ \(target [\d,]+\))?$", lines[0]), lines[0]
    assert f"experiment exp: {run['algo']} on 1-1, preset debug" in run["first_out"]
    (trial,) = run["experiment"].glob("trial_*")
    assert list(trial.glob("events.out.tfevents.*")), "no TensorBoard output"
    assert (trial / "progress.csv").is_file() and (trial / "params.json").is_file()
    params = json.loads((trial / "params.json").read_text())
    assert params["env_config"]["levels"] == "1-1" and params["seed"] == 3


def test_interrupt_then_resume_continues_the_step_counter(interrupted_and_resumed):
    run = interrupted_and_resumed
    assert run["first_rc"] == 1, run["first_out"]  # interrupted: not every trial finished
    assert "Traceback" not in run["first_out"]
    assert "interrupted" in run["first_out"] and "--resume" in run["first_out"]
    assert run["resumed"].returncode == 0, run["resumed"].stdout + run["resumed"].stderr
    before, after = run["rows_before"], run["rows_after"]
    assert 2 <= len(before) < STOP_ITERS
    # Resumed from the last checkpoint: iterations and env steps go on, they do not start over
    # (ray-project/ray#43266). An iteration reported after the last checkpoint may be redone.
    iterations = [iteration for iteration, _ in after]
    assert iterations[-1] == STOP_ITERS  # the stop criterion still applies
    resumed = after[len(before):]
    assert resumed, after
    first_iteration, first_steps = resumed[0]
    assert first_iteration > 1
    steps_before = dict(before)
    assert first_steps > steps_before[first_iteration - 1]  # counted on from the checkpoint
    assert [i for i, _ in resumed] == list(range(first_iteration, STOP_ITERS + 1))
    assert all(a < b for (_, a), (_, b) in zip(resumed, resumed[1:], strict=False))
    first_resumed_line = next(line for line in run["resumed"].stdout.splitlines()
                              if " iter " in line)
    assert f"iter    {first_iteration} |" in first_resumed_line


def test_evaluate_writes_report_and_video(interrupted_and_resumed, tmp_path):
    (trial,) = interrupted_and_resumed["experiment"].glob("trial_*")
    report, video = tmp_path / "report.json", tmp_path / "episode.mp4"
    result = cli("evaluate", str(trial), "--episodes", "2", "--seed", "5", "--report",
                 str(report), "--video", str(video))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("pickled Python code") == 1  # the warning, once
    summary = json.loads(report.read_text())["summary"]
    assert {"flag_rate", "x_pos_mean", "x_pos_max", "return_mean", "episodes"} <= set(summary)
    assert summary["episodes"] == 2
    episodes = json.loads(report.read_text())["episodes"]
    assert [e["seed"] for e in episodes] == [5, 6]
    assert "2 episodes: flag rate" in result.stdout

    import imageio.v3 as iio

    frames = iio.imread(video)
    assert frames.shape[1:] == (240, 256, 3)
    assert len(frames) == episodes[0]["steps"] + 1  # the reset frame and one per step


def test_evaluate_greedy_is_deterministic_and_level_can_change(interrupted_and_resumed, tmp_path):
    (trial,) = interrupted_and_resumed["experiment"].glob("trial_*")

    def run(*extra):
        out = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
        result = cli("evaluate", str(trial), "--episodes", "1", "--report", str(out), *extra)
        assert result.returncode == 0, result.stderr
        return json.loads(out.read_text())

    first, second = run(), run()
    assert first["episodes"] == second["episodes"]
    other = run("--level", "4-1")
    assert other["episodes"][0]["level"] == "4-1"


def test_plot_writes_a_png(interrupted_and_resumed, tmp_path):
    out = tmp_path / "curves.png"
    result = cli("plot", str(interrupted_and_resumed["experiment"]), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_experiment_name_is_refused(interrupted_and_resumed):
    result = cli("train", "--preset", "debug", "--storage-path",
                 str(interrupted_and_resumed["storage"]), "--name", "exp")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("mario-rllib train: error: experiment directory")
    assert "--resume" in result.stderr


def one_line_error(result, command):
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"mario-rllib {command}: error: ")
    assert "Traceback" not in result.stderr
    return errors[0]


@pytest.mark.parametrize("args, message", [
    (["--level", "9-1"], "unknown level '9-1'"),
    (["--algo", "sac"], "unknown algorithm 'sac'"),
    (["--preset", "tpu"], "unknown preset 'tpu'"),
    (["--search", "lr"], "bad --search 'lr'"),
    (["--search", "levels=1-1,1-2"], "cannot search over 'levels'"),
    (["--set", "learning_rate=1"], "unknown setting 'learning_rate'"),
    (["--resume", "/nonexistent/exp"], "cannot resume '/nonexistent/exp': no such directory"),
    # A local Ray cannot place it: the trial would wait PENDING forever.
    (["--preset", "cpu", "--num-env-runners", "64"], "preset 'cpu' with these flags asks for "),
])
def test_train_bad_input(args, message, tmp_path):
    line = one_line_error(cli("train", *args, "--storage-path", str(tmp_path)), "train")
    assert message in line
    assert not list(tmp_path.iterdir())  # nothing written, Ray not started


def test_evaluate_bad_checkpoints(tmp_path):
    line = one_line_error(cli("evaluate", str(tmp_path / "missing")), "evaluate")
    assert f"checkpoint '{tmp_path / 'missing'}' does not exist" in line

    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no RLModule" in one_line_error(cli("evaluate", str(empty)), "evaluate")

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "module_state.pkl").write_bytes(b"not a pickle")
    (corrupt / "class_and_ctor_args.pkl").write_bytes(b"\x80\x04garbage")
    (corrupt / "metadata.json").write_text("{}")
    assert "cannot load checkpoint" in one_line_error(cli("evaluate", str(corrupt)), "evaluate")


def test_evaluate_refuses_a_module_of_another_project(tmp_path):
    """An RLlib checkpoint that mario-rllib did not train (RLlib's default PPO module)."""
    import gymnasium as gym
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
        DefaultPPOTorchRLModule,
    )

    module = DefaultPPOTorchRLModule(observation_space=gym.spaces.Box(-1, 1, (4,)),
                                     action_space=gym.spaces.Discrete(2),
                                     model_config={"fcnet_hiddens": [8]})
    module.save_to_path(str(tmp_path / "cartpole"))
    line = one_line_error(cli("evaluate", str(tmp_path / "cartpole")), "evaluate")
    assert "holds a DefaultPPOTorchRLModule, not a mario-rllib RLModule" in line


def test_search_space_and_num_samples_make_one_trial_per_point(tmp_path):
    result = cli("train", "--preset", "debug", "--stop-iters", "1", "--storage-path",
                 str(tmp_path), "--name", "sweep", "--search", "lr=0.0001,0.0003",
                 "--num-samples", "2", "--seed", "10")
    assert result.returncode == 0, result.stdout + result.stderr
    params = [json.loads(p.read_text()) for p in (tmp_path / "sweep").glob("trial_*/params.json")]
    assert sorted((p["lr"], p["seed"]) for p in params) == [
        (0.0001, 10), (0.0001, 11), (0.0003, 10), (0.0003, 11)]
    assert result.stdout.count("; last checkpoint: ") == 4


def test_progress_line_shows_the_window_metrics_and_the_replay_ratio(capsys):
    from types import SimpleNamespace

    from mario_rllib.experiment import ProgressLine

    line, trial = ProgressLine(), SimpleNamespace(trial_id="t")
    base = {"time_this_iter_s": 5.0, "config": {"num_env_runners": 0, "training_ratio": 64},
            "actual_training_ratio": 63.6}
    line.on_trial_result(0, [], trial, {**base, "training_iteration": 1, "env_runners": {
        "num_env_steps_sampled": 4, "episode_return_mean": 1.0, "return_mean": 485.0,
        "x_pos_max_mean": 564.0, "x_pos_max_max": 822.0, "flag_rate": 0.0,
        "window_episodes": 3}})
    assert "return  485.00 | x_pos   564 (max 822) | flag 0.00 (3 ep)" in capsys.readouterr().out
    # Before the first episode ends there is nothing to show.
    line.on_trial_result(0, [], trial, {**base, "training_iteration": 1, "env_runners": {
        "num_env_steps_sampled": 4}})
    out = capsys.readouterr().out
    assert "return - | x_pos - (max -) | flag - (- ep)" in out
    assert out.rstrip().endswith(" | replayed/env step 64 (target 64)")


def test_the_flag_rate_stops_a_trial_only_over_a_full_window():
    from mario_rllib.experiment import MarioStopper

    stopper = MarioStopper({"env_runners/flag_rate": 0.9, "training_iteration": 50})

    def result(flag_rate, episodes, iteration=1):
        return {"training_iteration": iteration,
                "env_runners": {"flag_rate": flag_rate, "window_episodes": episodes}}

    assert not stopper("t", result(1.0, 1))  # one lucky episode
    assert not stopper("t", result(0.95, 99))
    assert stopper("t", result(0.95, 100))
    assert not stopper("t", result(0.5, 100))
    assert stopper("t", result(0.0, 0, iteration=50))
    assert not stopper("t", {"training_iteration": 2})  # no episode yet: no flag rate
