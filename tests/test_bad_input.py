"""Every bad input a user can type, through the real CLI (in this process: `cli.main`), from a
working directory of its own: exit status 2, one line on stderr naming the bad value, no
traceback, nothing written, no Ray started, in seconds."""

from __future__ import annotations

import json
import re
import socket
import time

import pyarrow.fs as pafs
import pytest
import ray

from mario_rllib import cli
from mario_rllib.storage import locate


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_experiment(root, trials, params=None):
    """An experiment directory as Tune leaves it, as far as our checks read it."""
    root.mkdir(parents=True)
    (root / "tuner.pkl").write_bytes(b"")
    (root / "mario_rllib_experiment.json").write_text(json.dumps(
        {"algo": "ppo", "preset": "gpu", "stop": {}, "argv": []}))
    for trial in trials:
        (root / trial / "checkpoint_000000").mkdir(parents=True)
        (root / trial / "params.json").write_text(json.dumps(params or {}))


GPU_TRIAL = {"num_cpus_for_main_process": 1, "num_env_runners": 16, "num_cpus_per_env_runner": 1,
             "num_learners": 1, "num_gpus_per_learner": 1, "num_cpus_per_learner": "auto"}

PORT = closed_port()
TRAIN = ["train", "--preset", "debug", "--stop-iters", "1"]
PBT = TRAIN + ["--scheduler", "pbt", "--num-samples", "2"]

CASES = [
    # --set, by the setting's type
    (TRAIN + ["--set", "lr=-1"], r"bad setting lr=-1: expected a number > 0$"),
    (TRAIN + ["--set", "lr=fast"], r"bad --set lr=fast: expected a number$"),
    (TRAIN + ["--set", "minibatch_size=4096"],
     r"bad setting minibatch_size=4096: expected at most train_batch_size \(128\)$"),
    (TRAIN + ["--set", "encoder=resnet"],
     r"bad setting encoder='resnet': expected one of nature, impala$"),
    (TRAIN + ["--algo", "dqn", "--set", "double_q=maybe"],
     r"bad --set double_q=maybe: expected true or false$"),
    (TRAIN + ["--set", "seed=5"], r"bad --set seed=5: seed is a flag of its own, use --seed 5$"),
    (TRAIN + ["--set", "preset=gpu"], r"preset is a flag of its own, use --preset gpu$"),
    (TRAIN + ["--set", "learning_rate=1"], r"unknown setting 'learning_rate': expected one of "),
    (TRAIN + ["--set", "lr"], r"bad --set 'lr': expected NAME=VALUE \(e\.g\. lr=3e-4\)$"),
    # --init-from: what the weights would not fit, before anything is unpickled where it can be
    (TRAIN + ["--init-from", "ppo-1-2"],
     r"bad --init-from: no agent or checkpoint 'ppo-1-2': expected a shipped agent \("),
    (TRAIN + ["--init-from", "~/no/such/checkpoint"],
     r"bad --init-from: checkpoint '/.*/no/such/checkpoint' does not exist$"),
    (TRAIN + ["--algo", "dqn", "--init-from", "ppo-1-1"],
     r"bad --init-from 'ppo-1-1': it was trained with ppo, this run is dqn \(give --algo ppo\)$"),
    (TRAIN + ["--action-set", "right_only", "--init-from", "ppo-1-1"],
     r"bad --init-from 'ppo-1-1': it was trained with action_set 'simple', this run has "
     r"'right_only'$"),
    (TRAIN + ["--frame-skip", "2", "--init-from", "ppo-1-1"],
     r"bad --init-from 'ppo-1-1': it was trained with frame_skip 4, this run has 2$"),
    # setting flags
    (TRAIN + ["--envs-per-runner", "0"], r"bad setting envs_per_runner=0: expected an integer >= 1$"),
    (TRAIN + ["--num-env-runners", "two"], r"bad --num-env-runners two: expected an integer$"),
    (TRAIN + ["--max-episode-steps", "abc"],
     r"bad --max-episode-steps abc: expected an integer or none$"),
    (TRAIN + ["--level", "9-1"], r"unknown level '9-1': expected a stage"),
    (TRAIN + ["--action-set", "jump"], r"unknown action_set 'jump'"),
    (TRAIN + ["--algo", "sac"], r"unknown algorithm 'sac': expected one of ppo, dqn, dreamerv3, "
                                      r"worldmodels, latent_dqn$"),
    (TRAIN + ["--algo", "latent_dqn", "--set", "phase_updates=0"],
     r"bad setting phase_updates=0: expected an integer >= 1$"),
    (TRAIN + ["--algo", "worldmodels", "--set", "es_population=1"],
     r"bad setting es_population=1: expected an integer >= 2$"),
    (TRAIN + ["--algo", "worldmodels", "--set", "es_in_dream=maybe"],
     r"bad --set es_in_dream=maybe: expected true or false$"),
    (["train", "--preset", "tpu"], r"unknown preset 'tpu'"),
    # --search: searchable or refused in one line; every point validated
    (TRAIN + ["--search", "levels=1-1,1-2"],
     r"cannot search over 'levels': an env setting: run one experiment per value$"),
    (TRAIN + ["--search", "num_env_runners=1,2"], r"cannot search over 'num_env_runners': "),
    (TRAIN + ["--algo", "dqn", "--search", "epsilon=0.1,0.2"], r"cannot search over 'epsilon'"),
    (TRAIN + ["--search", "lr_anneal_steps=none,1000"],
     r"cannot search over 'lr_anneal_steps': it builds a schedule"),
    (TRAIN + ["--search", "lr=1e-4,-1"],
     r"bad setting lr=-1: expected a number > 0 \(search point \{.lr.: -1\}\)$"),
    (TRAIN + ["--search", "encoder=nature,resnet"], r"bad setting encoder='resnet'"),
    (TRAIN + ["--search", "lr=1e-4", "--set", "lr=3e-4"], r"lr is set twice$"),
    # --search's drawn spaces: the form, its type, both ends against the setting's rule
    (TRAIN + ["--search", "lr=normal:0:1"], r"bad --search lr=normal:0:1: unknown form 'normal'"),
    (TRAIN + ["--search", "lr=loguniform:0:1e-3"],
     r"bad --search lr=loguniform:0:1e-3: loguniform needs LOW > 0$"),
    (TRAIN + ["--search", "lr=uniform:1e-3:1e-4"], r"expected LOW < HIGH$"),
    (TRAIN + ["--search", "lr=uniform:1e-4"], r"expected uniform:LOW:HIGH$"),
    (TRAIN + ["--search", "gamma=uniform:0.9:1.5"],
     r"bad setting gamma=1.5: expected a number in \(0, 1\] \(search point \{.gamma.: 1.5\}\)$"),
    (TRAIN + ["--search", "num_epochs=uniform:3:10"],
     r"num_epochs is not a real setting; use num_epochs=V1,V2 or num_epochs=choice:V1,V2$"),
    (TRAIN + ["--search", "num_epochs=randint:0:4"], r"bad setting num_epochs=0: expected an "),
    (TRAIN + ["--search", "num_epochs=randint:3:4"], r"randint:3:4 gives only 3 \(HIGH is excluded\)$"),
    (TRAIN + ["--search", "encoder=uniform:0:1"], r"encoder is not a real setting"),
    (TRAIN + ["--search", "encoder=choice:nature,resnet"], r"bad setting encoder='resnet'"),
    (TRAIN + ["--search", "levels=choice:1-1,1-2"], r"cannot search over 'levels'"),
    # schedulers and searchers
    (TRAIN + ["--scheduler", "hyperband"],
     r"unknown scheduler 'hyperband': expected one of asha, pbt$"),
    (TRAIN + ["--mutate", "lr=loguniform:1e-5:1e-3"], r"only --scheduler pbt mutates settings$"),
    (TRAIN + ["--perturb-every", "2"], r"only --scheduler pbt perturbs$"),
    (TRAIN + ["--scheduler", "pbt", "--num-samples", "2"], r"name what it mutates, e\.g\. "),
    (TRAIN + ["--scheduler", "pbt", "--mutate", "lr=loguniform:1e-5:1e-3"],
     r"a population needs 2 trials or more \(--num-samples N\)$"),
    (PBT + ["--mutate", "lr=loguniform:1e-5:1e-3", "--perturb-every", "3"],
     r"bad --perturb-every 3: PBT clones checkpoints, so it must be a multiple of "
     r"--checkpoint-every \(10\)$"),
    (PBT + ["--mutate", "encoder=choice:nature,impala"],
     r"cannot mutate 'encoder': it is the RLModule's"),
    (PBT + ["--mutate", "levels=choice:1-1,1-2"], r"cannot mutate 'levels': an env setting"),
    (PBT + ["--mutate", "lr=1e-4,3e-4"], r"expected a distribution or a choice, e\.g\. "
     r"lr=choice:1e-4,3e-4$"),
    (PBT + ["--mutate", "gamma=uniform:0.9:1.5"], r"bad setting gamma=1.5: expected a number "),
    (PBT + ["--mutate", "lr=loguniform:1e-5:1e-3", "--set", "lr=1e-4"], r"lr is set twice$"),
    (["train", "--algo", "latent_dqn", "--preset", "debug", "--scheduler", "pbt",
      "--num-samples", "2", "--mutate", "training_intensity=uniform:4:16"],
     r"cannot mutate 'training_intensity': the experiment derives RLlib's settings from it"),
    (TRAIN + ["--grace-period", "0"], r"bad --grace-period 0: expected an integer >= 1$"),
    (TRAIN + ["--searcher", "nevergrad"], r"unknown searcher 'nevergrad': expected one of optuna$"),
    (TRAIN + ["--searcher", "optuna", "--search", "lr=1e-4,3e-4"],
     r"--search lr=V1,V2 is a grid \(use choice:V1,V2\)$"),
    (TRAIN + ["--searcher", "optuna"], r"give it some with --search NAME=loguniform:"),
    # resources and addresses
    (["train", "--preset", "gpu"], r"preset 'gpu' with these flags asks for 17 CPUs and 1 GPUs"),
    (TRAIN + ["--address", "auto"], r"cannot connect to Ray at 'auto': "),
    (TRAIN + ["--address", f"ray://127.0.0.1:{PORT}"],
     rf"cannot reach Ray at 'ray://127\.0\.0\.1:{PORT}': "),
    (TRAIN + ["--address", "http://127.0.0.1:8265"],
     r"bad --address 'http://127\.0\.0\.1:8265': that is a job API address"),
    # numbers, names and paths of where and how long an experiment runs
    (TRAIN + ["--storage-path", "/proc/nope"],
     r"bad --storage-path '/proc/nope': cannot write in '/proc' \("),
    (TRAIN + ["--storage-path", "gpu_experiment/tuner.pkl/runs"],
     r"bad --storage-path '.*gpu_experiment/tuner\.pkl/runs': '.*tuner\.pkl' is a file, not a "
     r"directory$"),
    # buckets: the session's S3 server on 127.0.0.1 stands in for AWS (tests/conftest.py)
    (TRAIN + ["--storage-path", "s3://my-bucket/runs", "--name", "s3run"],
     r"bad --storage-path 's3://my-bucket/runs': cannot write there \(.*bucket does not "
     r"exist\)$"),
    (TRAIN + ["--storage-path", "s3://AKIAX:hunter2@mario/runs"],
     r"bad --storage-path 's3://\*\*\*@mario/runs': a storage URI takes no credentials or "
     r"options \(they would be saved with the experiment\); set them in the environment"),
    (TRAIN + ["--storage-path", "s3://mario/runs?secret_key=hunter2"],
     r"bad --storage-path 's3://mario/runs\?\*\*\*': a storage URI takes no credentials"),
    (TRAIN + ["--storage-path", "ftp://host/runs"],
     r"bad --storage-path 'ftp://host/runs': unknown scheme 'ftp://'; expected a local "
     r"directory, a shared mount, s3://BUCKET/PREFIX or gs://BUCKET/PREFIX$"),
    (TRAIN + ["--storage-path", "s3:///runs"], r"bad --storage-path 's3:///runs': no bucket"),
    (["train", "--resume", "s3://mario/no/experiment"],
     r"cannot resume 's3://mario/no/experiment': no such directory"),
    (["train", "--resume", "s3://my-bucket/runs/exp"],
     r"cannot resume 's3://my-bucket/runs/exp': no such directory"),
    (["evaluate", "s3://mario/no/checkpoint"],
     r"checkpoint 's3://mario/no/checkpoint' does not exist$"),
    (["plot", "s3://mario/no/experiment"], r"cannot plot 's3://mario/no/experiment': no such "
                                           r"directory"),
    (["results", "--record", "s3://mario/no/experiment"],
     r"cannot record 's3://mario/no/experiment': not an experiment directory"),
    (TRAIN + ["--name", "../../escape"], r"bad --name '\.\./\.\./escape': expected one "
                                         r"directory name \(no '/', not '\.' or '\.\.'\)"),
    (TRAIN + ["--name", ".."], r"bad --name '\.\.': expected one directory name"),
    (["train", "--preset", "debug", "--stop-timesteps", "-5"],
     r"bad --stop-timesteps -5: expected an integer >= 1$"),
    (["train", "--preset", "debug", "--stop-iters", "0"],
     r"bad --stop-iters 0: expected an integer >= 1$"),
    (TRAIN + ["--stop-flag-rate", "1.5"], r"bad --stop-flag-rate 1\.5: expected a number in "
                                          r"\(0, 1\]$"),
    (TRAIN + ["--stop-flag-rate", "0"], r"bad --stop-flag-rate 0: expected a number in"),
    (TRAIN + ["--seed", "-1"], r"bad --seed -1: expected an integer from 0 to 2\*\*31 - 1$"),
    (TRAIN + ["--num-samples", "0"], r"bad --num-samples 0: expected an integer >= 1$"),
    (TRAIN + ["--checkpoint-every", "0"], r"bad --checkpoint-every 0: expected an integer >= 1$"),
    (TRAIN + ["--keep-checkpoints", "-1"], r"bad --keep-checkpoints -1: expected an integer"),
    (TRAIN + ["--max-failures", "-1"], r"bad --max-failures -1: expected an integer >= 0$"),
    (["results", "--preset", "debug", "--stop-timesteps", "-5"],
     r"bad --stop-timesteps -5: expected an integer >= 1$"),
    (["results", "--preset", "debug", "--storage-path", "s3://b/runs"],
     r"bad --storage-path 's3://b/runs': cannot write there \(.*bucket does not exist\)$"),
    (["results", "--preset", "debug", "--out", "/proc/nope/results"],
     r"bad --out '/proc/nope/results': cannot write in '/proc'"),
    (["results", "--record", "exp", "--milestones", "500000,0"],
     r"bad --milestones '500000,0': expected positive integers, comma-separated$"),
    (["results", "--record", "exp", "--milestones", "500k"],
     r"bad --milestones '500k': expected positive integers"),
    (["results", "--preset", "debug", "--milestones", "500000"],
     r"--milestones and --max-episode-steps go with --record"),
    (["results", "--record", "exp", "--max-episode-steps", "0"],
     r"bad --max-episode-steps 0: expected an integer >= 1$"),
    (["evaluate", "two_trials/trial_a", "--seed", "-1"], r"bad --seed -1: expected an integer"),
    (["evaluate", "two_trials/trial_a", "--report", "/proc/nope/e.json"],
     r"bad --report '/proc/nope/e\.json': cannot write in '/proc'"),
    (["play", "random", "--video", "/proc/nope/run.gif"],
     r"bad --video '/proc/nope/run\.gif': cannot write in '/proc'"),
    (["play", "--seed", "-3"], r"bad --seed -3: expected an integer"),
    # play
    (["play", "random", "--level", "1-5"], r"unknown level '1-5'"),
    (["play", "random", "--level", "abc"], r"unknown level 'abc'"),
    (["play", "random", "--obs-mode", "gray64"], r"unknown obs_mode 'gray64'"),
    (["play", "random", "--frame-skip", "0"], r"bad frame_skip 0"),
    (["play", "random", "--greedy"], r"bad --greedy: the random agent has no greedy action"),
    (["play", "--episodes", "0"], r"bad --episodes 0"),
    (["play", "--level", "1-5"], r"unknown level '1-5'"),
    (["play", "--obs-mode", "rgb64"], r"bad --obs-mode: a trained agent plays on the env it was "
                                      r"trained on \(only --level and --max-episode-steps"),
    (["play", "--emulator", "quicknes"], r"bad --emulator 'quicknes': expected one of fast, "
                                         r"nes-py$"),
    (["evaluate", "two_trials/trial_a", "--emulator", "fceux"],
     r"bad --emulator 'fceux': expected one of fast, nes-py$"),
    (["dream", "two_trials/trial_a", "--out", "d.gif", "--emulator", "fceux"],
     r"bad --emulator 'fceux': expected one of fast, nes-py$"),
    (["play", "ppo-1-2"], r"no agent or checkpoint 'ppo-1-2': expected a shipped agent \("),
    (["play", "random", "--video", "run.avi"], r"bad --video '.*run\.avi': expected a file name "
                                                r"ending in \.gif or \.mp4"),
    (["evaluate", "ppo-1-2"], r"no agent or checkpoint 'ppo-1-2': expected a shipped agent"),
    (["evaluate", "two_trials/trial_a", "--max-episode-steps", "0"],
     r"bad --max-episode-steps 0: expected an integer >= 1"),
    (["play", "--max-episode-steps", "0"], r"bad --max-episode-steps 0: expected an integer"),
    # paths
    (["train", "--resume", "ray_results/nothing"], r"cannot resume '.*ray_results/nothing': no "
                                                   r"such directory"),
    (["train", "--resume", "gpu_experiment/"], r"experiment 'gpu_experiment' \(preset 'gpu'\) "
                                               r"asks for 17 CPUs and 1 GPUs"),
    (["evaluate", "two_trials/"], r"experiment '.*two_trials' has 2 trials: evaluate one of "
                                  r"them, e\.g\. '.*two_trials/trial_a' \(trials: trial_a, "
                                  r"trial_b\)$"),
    (["evaluate", "~/no/such/checkpoint"], r"checkpoint '/.*/no/such/checkpoint' does not exist$"),
    (["evaluate", "two_trials/trial_a", "--video", "out.avi"],
     r"bad --video '.*out\.avi': expected a file name ending in \.gif or \.mp4$"),
    (["plot", "nothing/"], r"cannot plot '.*nothing': no such directory"),
    (["dream", "nothing", "--out", "d.gif"], r"checkpoint '.*nothing' does not exist$"),
]


def bucket_objects() -> list[str]:
    """Every object in the test S3 server's bucket."""
    bucket = locate("s3://mario")
    return [info.path for info in bucket.fs.get_file_info(
        pafs.FileSelector(bucket.path, recursive=True))]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in CASES])
def test_bad_input_is_one_line_exit_2_nothing_written_no_ray(argv, message, tmp_path,
                                                              monkeypatch, capsys, s3_server):
    refused_in_one_line(argv, message, tmp_path, monkeypatch, capsys)


@pytest.mark.parametrize("value", ["yes", ""])
def test_a_bad_dashboard_switch_is_one_line_before_ray(value, tmp_path, monkeypatch, capsys,
                                                      s3_server):
    monkeypatch.setenv("MARIO_RLLIB_DASHBOARD", value)
    refused_in_one_line(TRAIN, rf"bad MARIO_RLLIB_DASHBOARD={value!r}: expected 1 \(a local Ray "
                        r"with its dashboard, the default\) or 0 \(without\)$",
                        tmp_path, monkeypatch, capsys)


def refused_in_one_line(argv, message, tmp_path, monkeypatch, capsys):
    """`mario-rllib ARGV` exits 2 with one line on stderr matching `message`, in seconds, having
    written nothing (here or in the bucket) and started no Ray."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path.with_name(tmp_path.name + "_home")))
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    fake_experiment(tmp_path / "gpu_experiment", ["trial_a"], GPU_TRIAL)
    fake_experiment(tmp_path / "two_trials", ["trial_a", "trial_b"])
    ray_inits = []  # whatever Ray this test session runs, this call must not start one
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", lambda *args, **kwargs: ray_inits.append(args) or 1 / 0)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    bucket_before = bucket_objects()
    started = time.monotonic()
    status = cli.main(argv)
    seconds = time.monotonic() - started
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert status == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"mario-rllib {argv[0]}: error: "), lines[0]
    assert re.search(message, lines[0]), lines[0]
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert bucket_objects() == bucket_before
    assert ray_inits == []
    assert seconds < 10


def test_resume_refuses_trials_that_no_longer_load_and_changes_nothing(tmp_path, monkeypatch,
                                                                        capsys):
    """Tune's own restore would start the experiment over and hide its trials behind a newer
    experiment state; we refuse first."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(ray, "init", lambda *args, **kwargs: 1 / 0)
    fake_experiment(tmp_path / "old", ["trial_a"])
    state = {"trial_data": [[json.dumps({"trainable_name": "PPO", "trial_id": "a",
                                         "config": {"_type": "CLOUDPICKLE_FALLBACK",
                                                    "value": "80"}}), "{}"]],
             "runner_data": {}, "stats": {}}
    (tmp_path / "old" / "experiment_state-2026-11-22_10-00-00.json").write_text(json.dumps(state))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert cli.main(["train", "--resume", "old"]) == 2
    line = capsys.readouterr().err.strip()
    assert re.match(r"mario-rllib train: error: cannot resume '.*old': a trial's saved config "
                    r"does not load with this version of mario-rllib \(.*\); nothing was "
                    r"changed$", line), line
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_evaluate_refuses_what_is_not_a_checkpoint_of_ours(tmp_path, capsys):
    """An empty directory, a corrupt checkpoint, an RLlib module that mario-rllib did not train."""
    import gymnasium as gym
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
        DefaultPPOTorchRLModule,
    )

    (tmp_path / "empty").mkdir()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "module_state.pkl").write_bytes(b"not a pickle")
    (corrupt / "class_and_ctor_args.pkl").write_bytes(b"\x80\x04garbage")
    (corrupt / "metadata.json").write_text("{}")
    DefaultPPOTorchRLModule(observation_space=gym.spaces.Box(-1, 1, (4,)),
                            action_space=gym.spaces.Discrete(2),
                            model_config={"fcnet_hiddens": [8]}).save_to_path(
        str(tmp_path / "cartpole"))
    for name, message in [("empty", "holds no RLModule"), ("corrupt", "cannot load checkpoint"),
                          ("cartpole", "holds a DefaultPPOTorchRLModule, not a mario-rllib "
                                       "RLModule")]:
        assert cli.main(["evaluate", str(tmp_path / name)]) == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
        assert len(lines) == 1 and message in lines[0], lines



@pytest.mark.parametrize("credentials", ["made up", "none"])
def test_a_bucket_that_refuses_the_credentials_is_one_line_before_ray(
        credentials, s3_server_checking_credentials, tmp_path, monkeypatch, capsys):
    """A server that checks signatures, as AWS does, and knows no user: made-up keys, and none
    at all (no instance role either), are refused in one line naming the path, with no key in
    it, before Ray starts."""
    env = s3_server_checking_credentials
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.aws/credentials
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if credentials == "none":
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setattr(ray, "init", lambda *args, **kwargs: 1 / 0)
    started = time.monotonic()
    status = cli.main(TRAIN + ["--storage-path", "s3://mario/runs", "--name", "s3run"])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert re.match(r"mario-rllib train: error: bad --storage-path 's3://mario/runs': cannot "
                    r"write there \(.+\); credentials come only from the environment or the "
                    r"node's role \(the URI takes none\)$", lines[0]), lines[0]
    assert env["AWS_SECRET_ACCESS_KEY"] not in err and env["AWS_ACCESS_KEY_ID"] not in err
    assert list(tmp_path.iterdir()) == []
    assert time.monotonic() - started < 30
