"""Experiments and checkpoints saved before a class moved still load: Tune's experiment state
and RLlib's checkpoints pickle classes by their module path (`mario_rllib/_compat.py` for modules
that are gone, re-exports where the old module stays)."""

import json
import pickle
import tarfile
from pathlib import Path

from mario_rllib.env.connectors import FrameStack
from mario_rllib.machine import LocalLearnerThreads

# What main pickled before FrameStack and LocalLearnerThreads moved from tune_configs.common to
# the floor (2026-12-04): every experiment's config held both (pickle protocol 2, as written).
SAVED_BEFORE_THE_MOVE = (
    b"\x80\x02]q\x00(ctune_configs.common\nFrameStack\nq\x01)\x81q\x02}q\x03X\n\x00\x00\x00"
    b"num_framesq\x04K\x04sbctune_configs.common\nLocalLearnerThreads\nq\x05)\x81q\x06}q\x07X"
    b"\x07\x00\x00\x00threadsq\x08K\x02sbe."
)


def test_classes_pickled_under_their_old_module_load_as_todays():
    frame_stack, threads = pickle.loads(SAVED_BEFORE_THE_MOVE)
    assert frame_stack == FrameStack(4) and type(frame_stack) is FrameStack
    assert threads == LocalLearnerThreads(2) and type(threads) is LocalLearnerThreads
    # and today's pickles name where they live now
    assert b"tune_configs" not in pickle.dumps([FrameStack(4), LocalLearnerThreads(2)])


def test_modules_that_are_gone_resolve_to_where_their_classes_live():
    from custom_models.dqn.rl_module import MarioDuelingQRLM
    from mario_rllib.metrics import MarioMetricsCallback

    legacy = pickle.dumps(MarioDuelingQRLM, protocol=2).replace(
        b"custom_models.dqn.rl_module", b"custom_models.dueling_q_rlm")
    assert pickle.loads(legacy) is MarioDuelingQRLM
    legacy = pickle.dumps(MarioMetricsCallback, protocol=2).replace(
        b"mario_rllib.metrics", b"mario_rllib.callbacks")
    assert pickle.loads(legacy) is MarioMetricsCallback


# `mario-rllib train --algo ppo --preset debug --stop-iters 4 --checkpoint-every 1 --seed 3`, run
# by main at 3db7634 (before the move; its dense layer cut to 8 units to keep the file small:
# `build_config(...).rl_module(model_config={..., "hidden": 8})`), Ctrl-C after its second
# checkpoint, the experiment directory packed as it was left.
SAVED_EXPERIMENT = Path(__file__).parent / "fixtures" / "premove-ppo.tar.xz"


def test_an_experiment_saved_before_the_move_resumes_and_evaluates(tmp_path, cli, progress_rows,
                                                                   resumed_from_checkpoint):
    with tarfile.open(SAVED_EXPERIMENT) as archive:
        archive.extractall(tmp_path, filter="data")
    experiment = tmp_path / "premove-ppo"
    (trial,) = experiment.glob("trial_*")
    # Ground truth that the fixture is what it claims: its pickles name the old module.
    assert b"tune_configs.common" in (trial / "params.pkl").read_bytes()
    assert b"tune_configs.common" in (
        trial / "checkpoint_000001" / "env_runner" / "env_to_module_connector"
        / "class_and_ctor_args.pkl").read_bytes()
    rows_before = progress_rows(experiment)

    resumed = cli("train", "--resume", str(experiment))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    resumed_from_checkpoint(rows_before, progress_rows(experiment), 4)

    report = tmp_path / "report.json"
    evaluated = cli("evaluate", str(trial / "checkpoint_000001"), "--episodes", "1",
                    "--max-episode-steps", "50", "--report", str(report))
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(report.read_text())["summary"]["episodes"] == 1
