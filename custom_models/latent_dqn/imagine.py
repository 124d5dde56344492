"""Latent DQN's world model over one real trajectory, for `mario-rllib dream`: the VAE's
reconstructions of K observed frames, then H frames the dynamics model predicts open-loop under
the actions really taken, decoded by the VAE (the view `custom_models.dreamer.imagine` gives
DreamerV3)."""

from __future__ import annotations

import numpy as np
import torch

from custom_models.dreamer.imagine import Imagined


@torch.no_grad()
def observe_then_imagine(module, frames: np.ndarray, actions: np.ndarray, *, observe_K: int,
                         horizon_H: int) -> Imagined:
    """`module`: a `LatentDuelingQRLM`; frames [N, 64, 64, C] uint8 from the episode's first,
    actions [N]. The latent state at t is the VAE means of frames t-F+1..t, zero frames before
    the first, as RLlib's frame-stacking connectors fill them. From K on, z_t is the dynamics
    model's prediction from the (partly predicted) latent state at t-1 and a_{t-1}.
    `rewards[t]` is its predicted reward for arriving at frame t (0 for frame 0); it has no end
    head, so `continues` is 1 throughout."""
    if observe_K < 1 or horizon_H < 0 or len(frames) < observe_K + horizon_H:
        raise ValueError(f"need observe_K >= 1, horizon_H >= 0 and {observe_K + horizon_H} "
                         f"frames, got K={observe_K}, H={horizon_H}, {len(frames)} frames")
    stack = module.frames
    padded = np.concatenate([np.zeros((stack - 1, *frames.shape[1:]), np.uint8),
                             frames[:observe_K]])
    zs = list(module.vae.encode(torch.from_numpy(padded))[0])  # zs[t + stack - 1]: frame t
    rewards = [0.0]
    for t in range(1, observe_K + horizon_H):
        latent = torch.cat(zs[t - 1:t - 1 + stack])[None]
        z_next, reward = module.dynamics(latent, torch.as_tensor([int(actions[t - 1])]))
        rewards.append(float(reward[0]))
        if t >= observe_K:
            zs.append(z_next[0])
    decoded = module.vae.decode(torch.stack(zs[stack - 1:]))
    return Imagined(frames=(decoded * 255.0).round().clamp(0, 255).to(torch.uint8).numpy(),
                    rewards=np.asarray(rewards, np.float32),
                    continues=np.ones(observe_K + horizon_H, np.float32))
