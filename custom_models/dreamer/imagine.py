"""Observe K real frames, then let the world model dream H steps open-loop: Dreamer's
"ground truth vs prediction" view, which `mario-rllib dream` turns into a video.

[1] Mastering Diverse Domains through World Models - 2023, D. Hafner et al.,
    https://arxiv.org/pdf/2301.04104v1.pdf

During the K observed steps the RSSM's state comes from the real frames (posterior z, [1] eq. 3
"encoder"); the decoder's output then is a reconstruction. Afterwards only the actions reach the
model: h follows the sequence model, z the dynamics predictor (prior), and the decoder draws what
the model expects to see. The actions are the ones the agent really took, so each imagined frame
has a real counterpart to be compared with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from ray.rllib.utils.torch_utils import inverse_symlog

from custom_models.dreamer.rl_module import frames_to_uint8, normalize_frames


@dataclass
class Imagined:
    """What the world model made of K observed + H imagined steps (index t: real frame t)."""

    frames: np.ndarray  # [K+H, 64, 64, 3] uint8: reconstructions, then open-loop predictions
    rewards: np.ndarray  # [K+H] the reward head's prediction for arriving at frame t
    continues: np.ndarray  # [K+H] the continue head's probability that the episode goes on


@torch.no_grad()
def observe_then_imagine(module, frames: np.ndarray, actions: np.ndarray, *, observe_K: int,
                         horizon_H: int) -> Imagined:
    """Run a DreamerV3 RLModule's world model over one real trajectory.

    Args:
        module: a `MarioDreamerV3RLM` (or RLlib's DreamerV3 module, which takes the same frames
            once normalised).
        frames: [N, 64, 64, 3] uint8 real frames, N >= observe_K + horizon_H; frame 0 is the
            episode's first.
        actions: [N] the action taken at each frame (ints).
        observe_K: steps whose real frame the model sees (>= 1).
        horizon_H: steps it then imagines.

    Returns:
        `Imagined` with K + H steps; torch's global RNG draws the stochastic latents, so seed it
        for a reproducible dream.
    """
    if observe_K < 1 or horizon_H < 0 or len(frames) < observe_K + horizon_H:
        raise ValueError(f"need observe_K >= 1, horizon_H >= 0 and {observe_K + horizon_H} "
                         f"frames, got K={observe_K}, H={horizon_H}, {len(frames)} frames")
    world_model = module.world_model
    obs = normalize_frames(torch.from_numpy(np.ascontiguousarray(frames)))
    one_hot = F.one_hot(torch.as_tensor(actions, dtype=torch.int64),
                        module.action_space.n).float()
    state = {key: value.unsqueeze(0) for key, value in module.get_initial_state().items()}
    h_list, z_list = [], []
    for t in range(observe_K):
        # obs[t]: [B=1, T=1, 64, 64, 3], as the env runners' connectors pass it.
        posterior = world_model.forward_inference(
            observations=obs[t][None, None], previous_states=state,
            is_first=torch.tensor([1.0 if t == 0 else 0.0]))
        state = {"h": posterior["h"], "z": posterior["z"], "a": one_hot[t][None]}
        h_list.append(state["h"])
        z_list.append(state["z"])
    for t in range(observe_K, observe_K + horizon_H):
        h = world_model.sequence_model(a=state["a"], h=state["h"], z=state["z"])
        z = world_model.dynamics_predictor(h=h)  # a sample of the prior: z^_t
        state = {"h": h, "z": z, "a": one_hot[t][None]}
        h_list.append(h)
        z_list.append(z)
    h_all, z_all = torch.cat(h_list), torch.cat(z_list)  # [K+H, ...]
    decoded = world_model.decoder(h=h_all, z=z_all).reshape(len(h_all), *frames.shape[1:])
    _, continue_dist = world_model.continue_predictor(h=h_all, z=z_all, return_distribution=True)
    return Imagined(
        frames=frames_to_uint8(decoded).numpy(),
        rewards=inverse_symlog(world_model.reward_predictor(h=h_all, z=z_all)).numpy(),
        continues=continue_dist.probs.numpy(),
    )
