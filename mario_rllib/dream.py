"""`mario-rllib dream CHECKPOINT --out dream.gif`: what an agent's world model imagines (for
the algorithms whose experiment file names one: its `observe_then_imagine` hook).

The agent plays a real episode (greedy, seeded). Its world model observes the first K frames, then
rolls forward open-loop for H steps under the actions the agent really took. The video shows, side by side,
the real frames, the model's frames (reconstructions while observing, predictions while
imagining) and their absolute difference; next to it, `<out>.json` holds the per-step
reconstruction error (MSE of pixels in [0, 1], SSIM), the predicted and real rewards and the
predicted continue probability, and `<out>.png` plots the error per step.

Security: a checkpoint is pickled Python code that runs when loaded; load only checkpoints you
trust.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mario_rllib.evaluate import (
    VideoRecorder,
    build_policy,
    check_episode_args,
    check_video_path,
    load_module,
    make_trained_env,
)
from mario_rllib.storage import locate

HEADER = 24  # pixels above the panels for their titles (H.264 wants sizes in multiples of 8)
GAP = 4
OBSERVED, IMAGINED = "observed", "imagined"


def dream(checkpoint: str, *, out: str, observe: int = 5, horizon: int = 45, seed: int = 0,
          level: str | None = None, scale: int = 3, emulator: str | None = None,
          print_fn: Callable[[str], None] = print) -> dict:
    """Write the dream video, `<out>.json` and `<out>.png`; return the JSON's content."""
    import torch

    from custom_models.images import ssim
    from tune_configs import load_experiment, with_hook
    check_video_path(out, "--out")
    check_episode_args(level, None, seed, emulator=emulator)
    if observe < 1 or horizon < 1:
        raise ValueError(f"bad --observe {observe} / --horizon {horizon}: expected integers >= 1")
    if not 1 <= scale <= 8:
        raise ValueError(f"bad --scale {scale}: expected an integer from 1 to 8")
    module, mario, module_dir = load_module(checkpoint)
    # The world model to show is the one the agent's experiment file names (its
    # `observe_then_imagine` hook); an algorithm without one has nothing to dream with.
    observe_then_imagine = getattr(load_experiment(mario["algo"]), "observe_then_imagine", None)
    if observe_then_imagine is None:
        dreamers = with_hook("observe_then_imagine")
        names = ", ".join(dreamers[:-1]) + f" or {dreamers[-1]}" if len(dreamers) > 1 \
            else "".join(dreamers)
        raise ValueError(f"checkpoint {checkpoint!r} holds a {mario['algo']} agent, which has no "
                         f"world model: `dream` needs a checkpoint of an algorithm with one "
                         f"(mario-rllib train --algo {names})")
    module.eval()
    env, env_config = make_trained_env(mario, level, emulator=emulator)
    torch.manual_seed(seed)
    try:
        frames, actions, rewards = _play(env, build_policy(module, mario, env, explore=False),
                                         seed=seed, steps=observe + horizon)
    finally:
        env.close()
    if len(frames) <= observe:
        raise ValueError(f"the episode (seed {seed}) ended after {len(frames)} frames: lower "
                         f"--observe below that, or pick another --seed")
    if len(frames) < observe + horizon:
        print_fn(f"note: the episode ended after {len(frames)} frames: imagining "
                 f"{len(frames) - observe} steps instead of {horizon}")
        horizon = len(frames) - observe

    torch.manual_seed(seed)  # the latents are sampled: the same seed gives the same dream
    imagined = observe_then_imagine(module, frames, actions, observe_K=observe, horizon_H=horizon)
    real01 = torch.from_numpy(frames).float() / 255.0
    fake01 = torch.from_numpy(imagined.frames).float() / 255.0
    mse = ((real01 - fake01) ** 2).mean(dim=(1, 2, 3)).numpy()
    similarity = ssim(fake01, real01).numpy()

    steps = []
    for t in range(observe + horizon):
        phase = OBSERVED if t < observe else IMAGINED
        steps.append({
            "t": t, "phase": phase, "action": int(actions[t]),
            "mse": round(float(mse[t]), 6), "ssim": round(float(similarity[t]), 4),
            "reward": float(rewards[t]), "reward_predicted": round(float(imagined.rewards[t]), 3),
            "continue_predicted": round(float(imagined.continues[t]), 4),
        })
    imagined_steps = [s for s in steps if s["phase"] == IMAGINED]
    report = {
        "checkpoint": str(locate(checkpoint)), "module_dir": str(module_dir),
        "level": env_config["levels"], "seed": seed, "observe": observe, "horizon": horizon,
        "frames": observe + horizon, "video": out,
        "summary": {
            "observed_mse_mean": _mean(s["mse"] for s in steps if s["phase"] == OBSERVED),
            "imagined_mse_mean": _mean(s["mse"] for s in imagined_steps),
            "imagined_ssim_mean": _mean(s["ssim"] for s in imagined_steps),
            "imagined_mse_last": imagined_steps[-1]["mse"],
        },
        "steps": steps,
    }
    _write_video(out, frames, imagined.frames, observe, scale, fps=60 / env_config["frame_skip"])
    stem = Path(out).with_suffix("")
    Path(f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    _plot(f"{stem}.png", mse, similarity, observe)
    summary = report["summary"]
    print_fn(f"dreamed {horizon} steps after observing {observe} on {env_config['levels']} "
             f"(seed {seed}): MSE observed {summary['observed_mse_mean']:.4f}, imagined "
             f"{summary['imagined_mse_mean']:.4f} (last step {summary['imagined_mse_last']:.4f}), "
             f"SSIM imagined {summary['imagined_ssim_mean']:.3f}")
    print_fn(f"video: {out} ({observe + horizon} frames: real | model | difference)")
    print_fn(f"per-step error: {stem}.json, {stem}.png")
    return report


def _play(env, policy, *, seed: int, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames 0..steps-1 of a greedy episode, the action taken at each, the reward on arriving
    (0 for the first). An episode that ends early gives fewer frames."""
    obs, _ = env.reset(seed=seed)
    policy.start(obs)
    frames, actions, rewards = [obs], [], [0.0]
    while True:
        actions.append(policy.act())
        if len(frames) == steps:
            break
        obs, reward, terminated, truncated, _ = env.step(actions[-1])
        policy.observe(actions[-1], obs, reward, terminated, truncated)
        frames.append(obs)
        rewards.append(float(reward))
        if terminated or truncated:
            actions.append(0)  # no action follows the last frame; never used
            break
    return np.stack(frames), np.asarray(actions), np.asarray(rewards)


def _mean(values) -> float | None:
    values = list(values)
    return round(float(np.mean(values)), 6) if values else None


def compose(real: np.ndarray, model: np.ndarray, title: str, scale: int = 3) -> np.ndarray:
    """One video frame: real | model | |difference| (magnified 2x, as a heat map), with titles,
    each panel `scale` times the frame's size."""
    import cv2

    def up(image: np.ndarray) -> np.ndarray:
        return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)

    diff = np.abs(real.astype(np.int16) - model.astype(np.int16)).mean(axis=-1)
    heat = cv2.applyColorMap(np.clip(diff * 2, 0, 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    panels = [up(real), up(model), up(heat[..., ::-1])]
    size = panels[0].shape[0]
    canvas = np.zeros((HEADER + size, 3 * size + 2 * GAP, 3), np.uint8)
    for index, (panel, name) in enumerate(zip(panels, ("real", title, "|difference|"), strict=True)):
        left = index * (size + GAP)
        canvas[HEADER:, left:left + size] = panel
        cv2.putText(canvas, name, (left + 4, HEADER - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def _write_video(path: str, real: np.ndarray, model: np.ndarray, observe: int, scale: int,
                 fps: float) -> None:
    recorder = VideoRecorder(path, fps=fps)
    try:
        for t in range(len(model)):
            title = f"observed t={t}" if t < observe else f"imagined +{t - observe + 1}"
            recorder.add(compose(real[t], model[t], title, scale))
    finally:
        recorder.close()


def _plot(path: str, mse: np.ndarray, similarity: np.ndarray, observe: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6, 4), sharex=True)
    steps = np.arange(len(mse))
    top.plot(steps, mse, marker=".")
    top.set_ylabel("MSE (pixels in [0, 1])")
    bottom.plot(steps, similarity, marker=".", color="tab:green")
    bottom.set_ylabel("SSIM")
    bottom.set_xlabel("step (observed, then imagined open-loop)")
    for axis in (top, bottom):
        axis.axvline(observe - 0.5, color="gray", linestyle="--")
        axis.grid(alpha=0.3)
    top.set_title(f"world model vs real frames: {observe} observed, {len(mse) - observe} imagined")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
