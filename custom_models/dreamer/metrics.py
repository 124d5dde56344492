"""The maths behind the DreamerV3 metrics: SSIM, lambda-returns and two-hot decoding.

[1] Mastering Diverse Domains through World Models - 2023, D. Hafner et al.,
    https://arxiv.org/pdf/2301.04104v1.pdf
[2] Wang, Bovik, Sheikh, Simoncelli 2004, "Image Quality Assessment: From Error Visibility to
    Structural Similarity" (SSIM).

Torch only, no Ray: the unit tests check each function by hand on tiny tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# [2] Section III-C: an 11x11 Gaussian window with sigma 1.5, and these stabilising constants for
# a dynamic range L = 1 (pixels in [0, 1]).
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2

# [1] Appendix B ("Critic" and "Reward predictor"): 255 buckets, equally spaced in symlog space
# between -20 and 20; RLlib's `two_hot` uses the same defaults.
TWO_HOT_BUCKETS = 255
TWO_HOT_LOW, TWO_HOT_HIGH = -20.0, 20.0


def ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean structural similarity of each image pair, per image.

    Args:
        x, y: images [N, H, W, C] with pixels in [0, 1] (channels last, as Mario's frames).

    Returns:
        [N]: 1.0 for identical images, lower the less alike (can go below 0).
    """
    x = x.permute(0, 3, 1, 2).float()
    y = y.permute(0, 3, 1, 2).float()
    channels = x.shape[1]
    coords = torch.arange(SSIM_WINDOW, dtype=torch.float32, device=x.device) - SSIM_WINDOW // 2
    gauss = torch.exp(-coords**2 / (2 * SSIM_SIGMA**2))
    gauss = gauss / gauss.sum()
    # Separable Gaussian filter, one per channel, "valid" borders as in [2]'s reference code.
    row = gauss.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    col = gauss.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)

    def blur(img: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(img, row, groups=channels), col, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)) / (
        (mu_x**2 + mu_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2))
    return ssim_map.mean(dim=(1, 2, 3))


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
