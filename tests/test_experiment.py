"""`mario-rllib train / --resume / evaluate / plot`, end to end, as the README tells a user to run
them: in subprocesses, with the `debug` preset, into tmp_path.

One training run per algorithm serves every test here (conftest's `interrupted_runs`): it is
interrupted with Ctrl-C (SIGINT) after its second checkpoint and resumed, which also produces the
checkpoint that evaluate and plot use. No test holds algorithm-specific code: the CLI has none.
"""

import json
import re

import pytest

from tune_configs import EXPERIMENTS

pytestmark = pytest.mark.slow

STOP_ITERS = 6  # the shared runs' (conftest.STOP_ITERS)


@pytest.fixture(params=list(EXPERIMENTS))
def interrupted_and_resumed(request, interrupted_runs):
    return interrupted_runs(request.param)


def test_train_prints_progress_and_writes_tune_outputs(interrupted_and_resumed):
    run = interrupted_and_resumed
    lines = [line for line in run["first_out"].splitlines() if " iter " in line]
    assert lines, run["first_out"]
    assert re.search(r"\] iter    1 \| +[\d,]+ steps \| +[\d.]+ steps/s \| return +[-\d.]+ \| "
                     # `-` until the first episode ends
                     r"x_pos +(\d+|-) \(max ([\d,]+|-)\) \| flag ([\d.]+|-) \((\d+|-) ep\) \| 0:\d\d:\d\d"
                     # DreamerV3: its training ratio and target; DQN: its burn-in, then its
                     # intensity (latent DQN: and its world-model share); World Models: its stage
                     r"( \| replayed/env step [\d,]+ \(target [\d,]+\)"
                     r"| \| burn-in [\d,]+/[\d,]+ steps, no updates"
                     r"| \| replayed/env step [\d.]+(, world model \d+%)?"
                     r"| \| (collected|V epoch|M epoch|CMA-ES gen) .+)?$",
                     lines[0]), lines[0]
    if run["algo"] == "dqn":  # once learning starts, its intensity
        assert any(re.search(r"\| replayed/env step [\d.]+$", line) for line in lines), lines
    assert f"experiment exp: {run['algo']} on 1-1, preset debug" in run["first_out"]
    # Tune's trial actor announces every checkpoint; our progress line says where each went.
    assert "Checkpoint successfully created" not in run["first_out"]
    (trial,) = run["experiment"].glob("trial_*")
    assert list(trial.glob("events.out.tfevents.*")), "no TensorBoard output"
    assert (trial / "progress.csv").is_file() and (trial / "params.json").is_file()
    params = json.loads((trial / "params.json").read_text())
    assert params["env_config"]["levels"] == "1-1" and params["seed"] == 3


def test_interrupt_then_resume_continues_the_step_counter(interrupted_and_resumed,
                                                        ray_sigterm_tracebacks_removed,
                                                        resumed_from_checkpoint):
    run = interrupted_and_resumed
    assert run["first_rc"] == 1, run["first_out"]  # interrupted: not every trial finished
    # No traceback, but Ray's when it stops the env runners of a trial Tune killed (an iteration
    # still running 10 s after Ctrl-C: World Models' stages are long)
    assert "Traceback" not in ray_sigterm_tracebacks_removed(run["first_out"])
    assert "interrupted" in run["first_out"] and "--resume" in run["first_out"]
    assert run["resumed"].returncode == 0, run["resumed"].stdout + run["resumed"].stderr
    first_iteration = resumed_from_checkpoint(run["rows_before"], run["rows_after"], STOP_ITERS)
    first_resumed_line = next(line for line in run["resumed"].stdout.splitlines()
                              if " iter " in line)
    assert f"iter    {first_iteration} |" in first_resumed_line


def test_evaluate_writes_report_and_video(interrupted_and_resumed, tmp_path, cli):
    trial = interrupted_and_resumed["trial"]
    report, video = tmp_path / "report.json", tmp_path / "episode.mp4"
    result = cli("evaluate", str(trial), "--episodes", "2", "--seed", "5", "--report",
                 str(report), "--video", str(video))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("pickled Python code") == 1  # the warning, once per process
    summary = json.loads(report.read_text())["summary"]
    assert {"flag_rate", "x_pos_mean", "x_pos_max", "return_mean", "episodes"} <= set(summary)
    assert summary["episodes"] == 2
    episodes = json.loads(report.read_text())["episodes"]
    assert [e["seed"] for e in episodes] == [5, 6]
    assert "2 episodes (2 distinct starts," in result.stdout

    import imageio.v3 as iio

    frames = iio.imread(video)
    assert frames.shape[1:] == (240, 256, 3)
    assert len(frames) == episodes[0]["steps"] + 1  # the reset frame and one per step


def test_evaluate_greedy_is_deterministic_and_level_can_change(interrupted_and_resumed, tmp_path):
    from mario_rllib import cli

    trial = interrupted_and_resumed["trial"]

    def run(*extra):  # in this process: nothing here needs a fresh one
        out = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
        assert cli.main(["evaluate", str(trial), "--episodes", "1", "--report", str(out),
                         *extra]) == 0
        return json.loads(out.read_text())

    first, second = run(), run()
    assert first["episodes"] == second["episodes"]
    other = run("--level", "4-1")
    assert other["episodes"][0]["level"] == "4-1"


def test_plot_writes_a_png(interrupted_and_resumed, tmp_path):
    from mario_rllib import cli

    out = tmp_path / "curves.png"
    assert cli.main(["plot", str(interrupted_and_resumed["experiment"]), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_existing_experiment_name_is_refused(interrupted_and_resumed, capsys):
    from mario_rllib import cli

    assert cli.main(["train", "--preset", "debug", "--storage-path",
                     str(interrupted_and_resumed["storage"]), "--name", "exp"]) == 2
    err = capsys.readouterr().err
    assert err.strip().startswith("mario-rllib train: error: experiment directory")
    assert "--resume" in err


# What CI's run printed after Ctrl-C (ANSI colours as Ray writes them), and a traceback of ours.
_PREFIX = "\x1b[36m(SingleAgentEnvRunner pid=20775)\x1b[0m "
_RAY_SIGTERM = [
    _PREFIX + "Exception ignored in: <function EnvRunner.__del__ at 0x7f>",
    _PREFIX + "Traceback (most recent call last):",
    _PREFIX + '  File ".../ray/rllib/env/env_runner.py", line 212, in __del__',
    _PREFIX + "    def __del__(self) -> None:",
    _PREFIX,
    _PREFIX + '  File ".../ray/_private/worker.py", line 1063, in sigterm_handler',
    _PREFIX + "    raise_sys_exit_with_custom_error_message(",
    _PREFIX + '  File "python/ray/_raylet.pyx", line 712, in ray._raylet.raise_sys_exit_...',
    _PREFIX + "SystemExit: 1",
]
_OURS = [
    _PREFIX + "Traceback (most recent call last):",
    _PREFIX + '  File ".../mario_rllib/env.py", line 1, in step',
    _PREFIX + "ValueError: bad action",
]


def test_only_rays_sigterm_tracebacks_are_removed(ray_sigterm_tracebacks_removed):
    other = "\x1b[36m(PPO pid=1)\x1b[0m iter 3"
    kept = ray_sigterm_tracebacks_removed("\n".join(["a", *_RAY_SIGTERM, other, "b"]))
    assert kept == "\n".join(["a", other, "b"])
    assert ray_sigterm_tracebacks_removed("\n".join(_OURS + _RAY_SIGTERM)) == "\n".join(_OURS)
    algorithm = "\x1b[36m(MarioDreamerV3(env=mario; env-runners=0; learners=0; " \
                "multi-agent=False) pid=7834)\x1b[0m "  # an algorithm actor, as Ray names it
    assert ray_sigterm_tracebacks_removed("\n".join(
        line.replace(_PREFIX, algorithm) for line in _RAY_SIGTERM)) == ""
    for output in (_OURS, _RAY_SIGTERM[:-1] + [_PREFIX + "SystemExit: 2"],
                   [line.replace("sigterm_handler", "step") for line in _RAY_SIGTERM],
                   [line.replace(_PREFIX, "") for line in _RAY_SIGTERM]):
        assert "Traceback" in ray_sigterm_tracebacks_removed("\n".join(output))
