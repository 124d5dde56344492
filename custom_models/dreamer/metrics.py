"""The maths behind the DreamerV3 metrics: lambda-returns and two-hot decoding (SSIM, which
every world model reports, is in `custom_models.images`).

[1] Mastering Diverse Domains through World Models - 2023, D. Hafner et al.,
    https://arxiv.org/pdf/2301.04104v1.pdf

Torch only, no Ray: the unit tests check each function by hand on tiny tensors.
"""

from __future__ import annotations

import torch

# [1] Appendix B ("Critic" and "Reward predictor"): 255 buckets, equally spaced in symlog space
# between -20 and 20; RLlib's `two_hot` uses the same defaults.
TWO_HOT_BUCKETS = 255
TWO_HOT_LOW, TWO_HOT_HIGH = -20.0, 20.0


def lambda_returns(rewards: torch.Tensor, continues: torch.Tensor, values: torch.Tensor, *,
                   gamma: float, lambda_: float) -> torch.Tensor:
    """TD(lambda) returns, time-major, as [1] eq. 7 defines the critic's targets.

        R_t = r_{t+1} + gamma * c_{t+1} * ((1 - lambda) * v_{t+1} + lambda * R_{t+1}),  R_T = v_T

    Args:
        rewards: [T+1, ...]; rewards[t] is the reward received on arriving in state t (Dreamer's
            convention: rewards[0] is never used).
        continues: [T+1, ...]; 0.0 where state t is terminal, else 1.0.
        values: [T+1, ...]; the critic's value of state t.
        gamma: the discount.
        lambda_: the lambda of TD(lambda) (0: one-step TD targets, 1: Monte-Carlo + bootstrap).

    Returns:
        [T, ...]: R_0 .. R_{T-1} (R_T would equal v_T).
    """
    discount = gamma * continues[1:]
    blended = rewards[1:] + discount * (1.0 - lambda_) * values[1:]
    returns = [values[-1]]
    for t in reversed(range(discount.shape[0])):
        returns.append(blended[t] + discount[t] * lambda_ * returns[-1])
    return torch.stack(returns[::-1][:-1], dim=0)


def two_hot_decode(probs: torch.Tensor, low: float = TWO_HOT_LOW, high: float = TWO_HOT_HIGH
                   ) -> torch.Tensor:
    """The value a distribution over equally spaced buckets stands for: its expectation.

    Inverts RLlib's `two_hot(value)` for values within [low, high]; the reward and critic heads
    of [1] decode their softmax outputs this way (in symlog space).

    Args:
        probs: [..., num_buckets], summing to 1 over the last axis.
    """
    buckets = torch.linspace(low, high, probs.shape[-1], device=probs.device, dtype=probs.dtype)
    return (probs * buckets).sum(dim=-1)
