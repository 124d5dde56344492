"""Playing in World Models' dream: M generates the next latent, reward and end; C acts on them.

[1] Ha & Schmidhuber 2018, "Recurrent World Models Facilitate Policy Evolution" (NeurIPS),
    https://arxiv.org/abs/1809.01999, Section 4 ("VizDoom: Learning Inside of a Dream"): the
    controller is trained in an environment M generates, sampled at a temperature tau (1.15 for
    Doom's best transfer, Table 2), from z_0 of a real first frame.

`imagine` serves CMA-ES's dream option (candidates scored by their imagined return);
`observe_then_imagine` serves `mario-rllib dream`, which decodes the imagined z with V beside
the real frames.
"""

from __future__ import annotations

import numpy as np
import torch

from custom_models.dreamer.imagine import Imagined
from custom_models.worldmodels.rl_module import WorldModelsRLM


@torch.no_grad()
def imagine(module: WorldModelsRLM, z0: torch.Tensor, horizon: int, *, temperature: float = 1.15,
            generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """Roll C in M's dream from z0: [B, z_size] for up to `horizon` steps.

    Each step: C picks a_t = argmax C([z_t, h_t]); M reads (z_t, a_t) and gives the reward r_t,
    the end's probability and a draw of z_{t+1} at `temperature`. An imagined episode ends at the
    first step whose end probability is over 0.5; steps after it are masked.

    Returns z ([B, H+1, z_size]), actions, rewards and alive ([B, H]: 1 until and including the
    step that ends), and `return` ([B]: the sum of rewards over live steps).
    """
    rnn, batch_size_B = module.rnn, z0.shape[0]
    state = (z0.new_zeros(1, batch_size_B, rnn.hidden), z0.new_zeros(1, batch_size_B, rnn.hidden))
    z, alive = z0, torch.ones(batch_size_B, dtype=torch.bool, device=z0.device)
    zs, actions, rewards, alives = [z0], [], [], []
    for _ in range(horizon):
        action = module.controller(torch.cat([z, state[0][0]], dim=-1)).argmax(-1)
        out = rnn(z.unsqueeze(1), action.unsqueeze(1), state)
        state = out["state"]
        alives.append(alive)
        rewards.append(out["reward"][:, 0] * alive)
        actions.append(action)
        z = rnn.sample(out, temperature, generator)[:, 0]
        zs.append(z)
        alive = alive & (torch.sigmoid(out["done_logit"][:, 0]) <= 0.5)
    rewards_BH = torch.stack(rewards, dim=1)
    return {"z": torch.stack(zs, dim=1), "actions": torch.stack(actions, dim=1),
            "rewards": rewards_BH, "alive": torch.stack(alives, dim=1),
            "return": rewards_BH.sum(dim=1)}


@torch.no_grad()
def observe_then_imagine(module: WorldModelsRLM, frames: np.ndarray, actions: np.ndarray, *,
                         observe_K: int, horizon_H: int, temperature: float = 1.0) -> Imagined:
    """V + M over one real trajectory, for `mario-rllib dream` (the same view as DreamerV3's,
    `custom_models.dreamer.imagine.observe_then_imagine`, and the same arguments).

    For t < K, z_t is V's mean for real frame t and the frame shown is V's reconstruction; from K
    on, z_t is drawn from M's mixture (at `temperature`; 1.0 is the distribution M learned)
    after reading z_{t-1} and the action really taken, and the frame shown is V's decoding of it.
    `rewards[t]` and `continues[t]` are M's predictions for arriving at frame t (made at t-1;
    0 and 1 for frame 0). torch's global RNG draws the latents: seed it for the same dream.
    """
    if observe_K < 1 or horizon_H < 0 or len(frames) < observe_K + horizon_H:
        raise ValueError(f"need observe_K >= 1, horizon_H >= 0 and {observe_K + horizon_H} "
                         f"frames, got K={observe_K}, H={horizon_H}, {len(frames)} frames")
    vae, rnn = module.vae, module.rnn
    real_z, _ = vae.encode(torch.from_numpy(np.ascontiguousarray(frames[:observe_K])))
    z, state = real_z[:1], None
    zs, rewards, continues = [z], [0.0], [1.0]
    for t in range(observe_K + horizon_H - 1):
        out = rnn(z.unsqueeze(1), torch.as_tensor([[int(actions[t])]]), state)
        state = out["state"]
        rewards.append(float(out["reward"][0, 0]))
        continues.append(float(1.0 - torch.sigmoid(out["done_logit"][0, 0])))
        z = real_z[t + 1:t + 2] if t + 1 < observe_K else rnn.sample(out, temperature)[:, 0]
        zs.append(z)
    decoded = vae.decode(torch.cat(zs))
    return Imagined(frames=(decoded * 255.0).round().clamp(0, 255).to(torch.uint8).numpy(),
                    rewards=np.asarray(rewards, np.float32),
                    continues=np.asarray(continues, np.float32))
