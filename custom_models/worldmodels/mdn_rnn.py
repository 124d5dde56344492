"""World Models' M: an LSTM with a mixture-density head that predicts the next latent z.

[1] Ha & Schmidhuber 2018, "Recurrent World Models Facilitate Policy Evolution" (NeurIPS),
    https://arxiv.org/abs/1809.01999.
[2] Graves 2013, "Generating Sequences With Recurrent Neural Networks" (the MDN-RNN).

As in [1] Appendix A.2: an LSTM of 256 units reads (z_t, a_t) and models P(z_{t+1} | a_t, z_t, h_t)
as a mixture of 5 Gaussians per dimension of z (diagonal: each dimension has its own mixture
weights, means and deviations, as [1]'s code factors it). [1]'s Doom model also predicts whether
the agent dies; here two more heads predict the reward and the end of the episode, so that a
controller can be trained in the dream. `temperature` (tau) scales the sampling as in [1]: mixture
logits divided by tau, deviations multiplied by sqrt(tau).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class MDNRNN(nn.Module):
    """`z: [B, T, z_size]` and `actions: [B, T]` in; per step, the mixture over z_{t+1}, the
    reward r_t and the end d_t predicted from the LSTM's output after reading (z_t, a_t)."""

    def __init__(self, *, z_size: int = 32, num_actions: int, hidden: int = 256,
                 mixtures: int = 5):
        super().__init__()
        self.z_size, self.num_actions = z_size, num_actions
        self.hidden, self.mixtures = hidden, mixtures
        self.lstm = nn.LSTM(z_size + num_actions, hidden, batch_first=True)
        # Per dimension of z and per component: a mixture logit, a mean, a log deviation.
        self.mdn = nn.Linear(hidden, z_size * mixtures * 3)
        self.reward = nn.Linear(hidden, 1)
        self.done = nn.Linear(hidden, 1)  # a logit

    def forward(self, z: torch.Tensor, actions: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Returns `log_pi`, `mean`, `log_sigma` (each [B, T, z_size, mixtures]: the mixture
        over z_{t+1}), `reward` and `done_logit` ([B, T]), `h` ([B, T, hidden]: the LSTM's
        output after reading (z_t, a_t), which the controller reads with z_{t+1} at step t+1)
        and `state` (the LSTM's (h, c) after the last step)."""
        inputs = torch.cat([z, F.one_hot(actions.long(), self.num_actions).float()], dim=-1)
        h, state = self.lstm(inputs, state)
        batch_size_B, length_T = z.shape[:2]
        params = self.mdn(h).view(batch_size_B, length_T, self.z_size, self.mixtures, 3)
        logits, mean, log_sigma = params.unbind(dim=-1)
        return {"log_pi": F.log_softmax(logits, dim=-1), "mean": mean, "log_sigma": log_sigma,
                "reward": self.reward(h).squeeze(-1), "done_logit": self.done(h).squeeze(-1),
                "h": h, "state": state}

    @staticmethod
    def mixture_nll(out: dict[str, torch.Tensor], z_next: torch.Tensor) -> torch.Tensor:
        """-log P(z_next) under the predicted mixtures, per step and dimension: [B, T, z_size].
        log-sum-exp over the components, as [1]'s code does."""
        x = z_next.unsqueeze(-1)  # [B, T, z_size, 1] against [B, T, z_size, mixtures]
        log_normal = (-0.5 * ((x - out["mean"]) / out["log_sigma"].exp()).pow(2)
                      - out["log_sigma"] - LOG_SQRT_2PI)
        return -torch.logsumexp(out["log_pi"] + log_normal, dim=-1)

    def loss(self, z: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor,
             dones: torch.Tensor, mask: torch.Tensor | None = None,
             end_weight: float = 1.0) -> dict[str, torch.Tensor]:
        """On sequences z: [B, T+1, z_size] (z_0..z_T), actions, rewards, dones: [B, T] (a_t,
        r_t and d_t after z_t), and mask: [B, T] (1 where a step is real, 0 in padding): the
        mixture NLL of z_1..z_T (mean over dimensions, as [1]), the reward's squared error and the
        end's binary cross-entropy, each a mean over real steps, and their sum `total`.

        `end_weight` multiplies the cross-entropy of the steps that end an episode, as [1]'s Doom
        code does with its `restart_factor` of 10: one step in hundreds ends, and a head that
        never predicts an end is otherwise nearly as good, which leaves dreams without ends."""
        out = self.forward(z[:, :-1], actions)
        mask = torch.ones_like(rewards) if mask is None else mask.float()
        steps = mask.sum().clamp(min=1)
        z_loss = (self.mixture_nll(out, z[:, 1:]).mean(dim=-1) * mask).sum() / steps
        reward_loss = ((out["reward"] - rewards).pow(2) * mask).sum() / steps
        weight = 1.0 + dones.float() * (end_weight - 1.0)
        done_loss = (F.binary_cross_entropy_with_logits(out["done_logit"], dones.float(),
                                                        reduction="none")
                     * weight * mask).sum() / steps
        return {"total": z_loss + reward_loss + done_loss, "z": z_loss, "reward": reward_loss,
                "done": done_loss}

    @staticmethod
    def sample(out: dict[str, torch.Tensor], temperature: float = 1.0,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """A draw of z_{t+1} ([B, T, z_size]) at `temperature` tau: each dimension picks a
        component from softmax(log_pi / tau), then draws from it with deviation sigma * sqrt(tau)."""
        log_pi = out["log_pi"] / temperature
        component = torch.multinomial(F.softmax(log_pi, dim=-1).reshape(-1, log_pi.shape[-1]), 1,
                                      generator=generator).view(*log_pi.shape[:-1], 1)
        mean = out["mean"].gather(-1, component).squeeze(-1)
        sigma = out["log_sigma"].gather(-1, component).squeeze(-1).exp() * math.sqrt(temperature)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + sigma * noise
