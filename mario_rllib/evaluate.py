"""`mario-rllib evaluate CHECKPOINT`: play seeded episodes with a trained RLModule, no Algorithm.

Only the RLModule is loaded (no Ray, no cluster, no learner state). Our RLModules carry, in their
`model_config["mario"]`, the algorithm, env config and frame stack they were trained with, so the
env and RLlib's env-to-module / module-to-env connector pipelines are rebuilt from the experiment
file of that algorithm, exactly as its env runners build them. The loop is RLlib's own inference
recipe: env -> env-to-module -> RLModule -> module-to-env -> env.

Security: a checkpoint is pickled Python code. Loading one runs whatever its author put in it;
load only checkpoints you trust.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mario_rllib import rollout
from mario_rllib.storage import Location, locate

MODULE_ID = "default_policy"
_ALGORITHM_MODULE_DIR = "learner_group/learner/rl_module"
_warned = False


def warn_pickled_code() -> None:
    """Say once per process that checkpoints are code."""
    global _warned
    if not _warned:
        print("warning: a checkpoint is pickled Python code that runs when loaded; load only "
              "checkpoints you trust", file=sys.stderr, flush=True)
        _warned = True


def find_module_dir(path: str | Path) -> Location:
    """The RLModule inside an experiment, trial, algorithm, learner or RLModule checkpoint dir,
    on local disk or in a bucket (`s3://...`, `gs://...`).

    A trial directory (or an experiment directory of one trial) resolves to its newest
    checkpoint; an experiment of several trials is refused, with their names.
    """
    root = locate(path, "checkpoint")
    if not root.exists():
        raise ValueError(f"checkpoint {str(path)!r} does not exist")
    if not root.is_dir():
        raise ValueError(f"checkpoint {str(path)!r} is a file: expected a checkpoint directory")
    checkpoints = root.children("checkpoint_*")
    if not checkpoints:  # an experiment directory: one trial's checkpoints, never a silent pick
        trials = [trial for trial in root.children(dirs=True) if trial.children("checkpoint_*")]
        if len(trials) > 1:
            raise ValueError(
                f"experiment {str(path)!r} has {len(trials)} trials: evaluate one of them, "
                f"e.g. {str(root / trials[0].name)!r} "
                f"(trials: {', '.join(trial.name for trial in trials)})")
        checkpoints = trials[0].children("checkpoint_*") if trials else []
    if checkpoints:
        root = max(checkpoints, key=lambda p: (p.mtime(), p.name))
    for candidate in (root / _ALGORITHM_MODULE_DIR / MODULE_ID, root / "rl_module" / MODULE_ID,
                      root / MODULE_ID, root):
        if (candidate / "module_state.pkl").is_file() or (candidate / "module_state").exists():
            return candidate
    raise ValueError(
        f"checkpoint {str(path)!r} holds no RLModule: expected a directory written by "
        f"`mario-rllib train` (an algorithm checkpoint_* directory, its trial directory, or "
        f"the RLModule directory inside it)"
    )


def load_module(path: str | Path):
    """Load the RLModule of a shipped agent (by name) or of a mario-rllib checkpoint; one-line
    errors for anything else."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    from mario_rllib.agents import resolve_agent
    from tune_configs import EXPERIMENTS

    module_dir = find_module_dir(resolve_agent(str(path))[0])
    warn_pickled_code()
    try:
        module = RLModule.from_checkpoint(module_dir.path, filesystem=module_dir.fs)
    except Exception as error:  # unpickling can fail in as many ways as there are corruptions
        message = str(error).splitlines()[0] if str(error) else ""
        raise ValueError(
            f"cannot load checkpoint {str(path)!r}: {type(error).__name__}: {message}".rstrip(": ")
        ) from error
    mario = (getattr(module, "model_config", None) or {}).get("mario")
    if not mario:
        raise ValueError(
            f"checkpoint {str(path)!r} holds a {type(module).__name__}, not a mario-rllib "
            f"RLModule: it was not trained by `mario-rllib train`"
        )
    if mario.get("algo") not in EXPERIMENTS:
        raise ValueError(
            f"checkpoint {str(path)!r} was trained with algorithm {mario.get('algo')!r}: "
            f"this version evaluates {', '.join(EXPERIMENTS)}"
        )
    return module, mario, module_dir


@dataclasses.dataclass
class ModulePolicy(rollout.Policy):
    """Runs an RLModule through RLlib's connector pipelines, keeping the episode (for frame
    stacking and recurrent state) the way an env runner does.

    `explore=True` samples from the module's action distribution (`forward_exploration`), except
    with `epsilon` set (a Q-learner): then the greedy action is replaced, with probability
    epsilon, by a uniformly random one (its own RNG). A Q-learner's own exploration follows its
    training schedule from step 0, i.e. epsilon 1.0: random play. Both draw from RNGs seeded
    with each episode's seed, so an episode replays alone (`play --seed S --episodes 1`).
    """

    module: Any
    env_to_module: Any
    module_to_env: Any
    observation_space: Any
    action_space: Any
    explore: bool = False
    epsilon: float | None = None
    seed: int = 0

    def __post_init__(self):
        self._rng = np.random.default_rng(self.seed)

    def start(self, obs: np.ndarray, seed: int | None = None) -> None:
        import torch
        from ray.rllib.env.single_agent_episode import SingleAgentEpisode

        if seed is not None:  # sampled actions depend on the episode's seed alone
            torch.manual_seed(seed)
            self._rng = np.random.default_rng(seed)
        self.episode = SingleAgentEpisode(observations=[obs],
                                          observation_space=self.observation_space,
                                          action_space=self.action_space)

    def act(self) -> int:
        import torch
        from ray.rllib.core.columns import Columns

        sample = self.explore and self.epsilon is None
        shared: dict = {}
        batch = self.env_to_module(episodes=[self.episode], rl_module=self.module,
                                   explore=sample, shared_data=shared)
        with torch.no_grad():
            out = (self.module.forward_exploration(batch) if sample
                   else self.module.forward_inference(batch))
        to_env = self.module_to_env(batch=out, episodes=[self.episode], rl_module=self.module,
                                    explore=sample, shared_data=shared)
        # The pipelines work on a batch of one episode.
        self._extra = {key: value[0] for key, value in to_env.items() if key != Columns.ACTIONS}
        action = int(to_env[Columns.ACTIONS][0])
        if self.explore and self.epsilon is not None and self._rng.random() < self.epsilon:
            action = int(self._rng.integers(self.action_space.n))
        return action

    def observe(self, action, obs, reward, terminated, truncated) -> None:
        self.episode.add_env_step(obs, action, reward, terminated=terminated,
                                  truncated=truncated, extra_model_outputs=self._extra)


def build_policy(module, mario: dict, env, explore: bool, seed: int = 0) -> ModulePolicy:
    """RLlib's env-to-module and module-to-env pipelines, as the algorithm's env runners build
    them, with the frame stack the checkpoint records (not today's experiment file's)."""
    from mario_rllib.env.connectors import FrameStack
    from tune_configs import load_experiment

    config = load_experiment(mario["algo"]).build_config()
    frame_stack = int(mario["frame_stack"])
    config.env_runners(
        env_to_module_connector=FrameStack(frame_stack).env_to_module if frame_stack > 1 else None)
    return ModulePolicy(
        module=module,
        # All arguments given: some algorithms' configs drop the defaults.
        env_to_module=config.build_env_to_module_connector(env=env, spaces=None, device=None),
        module_to_env=config.build_module_to_env_connector(env=env, spaces=None),
        observation_space=env.observation_space,
        action_space=env.action_space,
        explore=explore,
        epsilon=evaluation_epsilon(mario) if explore else None,
        seed=seed,
    )


def evaluation_epsilon(mario: dict) -> float | None:
    """The epsilon of `--stochastic` for an epsilon-greedy learner: as recorded in the
    checkpoint, else its experiment's default; None for a policy that samples its actions."""
    from tune_configs import load_experiment

    if "evaluation_epsilon" in mario:
        return mario["evaluation_epsilon"]
    return load_experiment(mario["algo"]).DEFAULTS.get("evaluation_epsilon")


def describe_policy(mario: dict, stochastic: bool) -> str:
    if not stochastic:
        return "greedy"
    epsilon = evaluation_epsilon(mario)
    return "stochastic" if epsilon is None else f"epsilon-greedy, epsilon {epsilon:g}"


def check_video_path(path: str, flag: str) -> None:
    """A one-line error, before anything loads, for a video name `VideoRecorder` cannot write."""
    if Path(path).suffix.lower() not in (".gif", ".mp4"):
        raise ValueError(f"bad {flag} {path!r}: expected a file name ending in .gif or .mp4")


def check_episode_args(level: str | None, max_episode_steps: int | None, seed: int = 0,
                       video: str | None = None, report: str | None = None,
                       emulator: str | None = None) -> None:
    """One-line errors for the flags of evaluate and play, before anything loads."""
    from mario_rllib.env.config import parse_levels
    from mario_rllib.env.nes import EMULATORS
    from mario_rllib.storage import check_writable_dir

    if video is not None:
        check_video_path(video, "--video")
    for flag, path in (("--video", video), ("--report", report)):
        if path is not None:
            check_writable_dir(Path(path).expanduser().absolute().parent, flag, path)
    if not 0 <= seed < 2**31:
        raise ValueError(f"bad --seed {seed}: expected an integer from 0 to 2**31 - 1")
    if level is not None:
        parse_levels(level)
    if max_episode_steps is not None and (isinstance(max_episode_steps, bool) or not isinstance(
            max_episode_steps, int) or max_episode_steps < 1):
        raise ValueError(f"bad --max-episode-steps {max_episode_steps!r}: expected an integer "
                         f">= 1")
    if emulator is not None and emulator not in EMULATORS:
        raise ValueError(f"bad --emulator {emulator!r}: expected one of {', '.join(EMULATORS)}")


def make_trained_env(mario: dict, level: str | None = None, render: bool = False,
                     max_episode_steps: int | None = None, emulator: str | None = None):
    """The env a module was trained on, from its `model_config["mario"]` (other stages with
    `level`, a time limit in agent steps with `max_episode_steps`, frames for a video with
    `render`, the other emulator with `emulator`: the same screens, rewards and infos); returns
    the env and its config dict."""
    from mario_rllib.env import MarioEnvConfig, make_env

    env_config = dict(mario["env_config"])
    # Named in the report either way (an agent from before the fast core has no such key).
    env_config["emulator"] = emulator or env_config.get("emulator", MarioEnvConfig.emulator)
    if level is not None:
        env_config["levels"] = level
    if max_episode_steps is not None:
        env_config["max_episode_steps"] = max_episode_steps
    env_config["render_mode"] = "rgb_array" if render else None
    return make_env(MarioEnvConfig.from_dict(env_config)), env_config


def evaluate(checkpoint: str, *, episodes: int = 10, seed: int = 0, stochastic: bool = False,
             level: str | None = None, report: str | None = None, video: str | None = None,
             video_scale: float = 1.0, video_max_frames: int | None = None,
             max_episode_steps: int | None = None, emulator: str | None = None,
             print_fn: Callable[[str], None] = print) -> dict:
    """Play `episodes` episodes (seeds seed, seed+1, ...) with a checkpoint's agent or a shipped
    agent (by name), print a table and a summary, write the JSON report (and a video of the
    first episode, resized by `video_scale`, at most `video_max_frames` frames); return the
    report."""
    import torch

    from mario_rllib.agents import resolve_agent

    if episodes < 1:
        raise ValueError(f"bad --episodes {episodes}: expected an integer >= 1")
    check_episode_args(level, max_episode_steps, seed, video, report, emulator)
    resolved, shipped = resolve_agent(str(checkpoint))  # a shipped agent's name, or a path
    module, mario, module_dir = load_module(checkpoint)
    module.eval()
    env, env_config = make_trained_env(mario, level, render=video is not None,
                                       max_episode_steps=max_episode_steps, emulator=emulator)
    torch.manual_seed(seed)
    policy = build_policy(module, mario, env, explore=stochastic, seed=seed)
    how = describe_policy(mario, stochastic)
    print_fn(f"evaluating {module_dir} ({mario['algo']}, {how}) on {env_config['levels']}, "
             f"{episodes} episode(s) from seed {seed}")

    recorder = (VideoRecorder(video, fps=60 / env_config["frame_skip"], scale=video_scale,
                              max_frames=video_max_frames) if video else None)
    # One observation at a time: a second torch thread only waits at each layer's barrier, and
    # on a busy machine that wait made a step 7x slower (171 steps: 43 s on 2 threads beside a
    # training run, 5.7 s on 1).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        records, summary = rollout.play(
            env, policy, episodes, seed, print_fn=print_fn,
            on_frame_of_first=(lambda env_: recorder.add(env_.render())) if recorder else None,
        )
    finally:
        torch.set_num_threads(threads)
        env.close()
        if recorder is not None:
            recorder.close()
    result = {
        "checkpoint": str(checkpoint) if shipped else str(resolved),
        "module_dir": str(module_dir),
        "algo": mario["algo"],
        "env_config": env_config,
        "seed": seed,
        "stochastic": stochastic,
        "policy": how,
        "summary": summary,
        "episodes": [dataclasses.asdict(r) for r in records],
    }
    if report:
        report_path = Path(report).expanduser()
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(json.dumps(result, indent=2) + "\n")
        print_fn(f"report: {report}")
    if video:
        print_fn(f"video of episode 0: {video}")
    return result


class VideoRecorder:
    """Frames -> an .mp4 (H.264 through imageio-ffmpeg) or a .gif, streamed to disk; `scale`
    resizes them and `max_frames` stops recording after that many (small GIFs for docs)."""

    def __init__(self, path: str, fps: float, scale: float = 1.0, max_frames: int | None = None):
        self.scale, self.frames_left = scale, max_frames
        try:
            import imageio.v2 as imageio
        except ImportError as error:
            raise ValueError("--video needs the video extra: pip install 'mario-rllib[video]'") \
                from error
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        if path.lower().endswith(".gif"):
            self.writer = imageio.get_writer(path, mode="I", duration=1000 / fps, loop=0)
        else:
            self.writer = imageio.get_writer(path, fps=fps, codec="libx264", quality=7,
                                             macro_block_size=8)

    def add(self, frame: np.ndarray) -> None:
        if self.frames_left is not None:
            if self.frames_left <= 0:
                return
            self.frames_left -= 1
        if self.scale != 1.0:
            import cv2

            frame = cv2.resize(frame, None, fx=self.scale, fy=self.scale,
                               interpolation=cv2.INTER_AREA)
        self.writer.append_data(frame)

    def close(self) -> None:
        self.writer.close()
