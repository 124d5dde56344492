"""Image similarity for every world model's reconstructions and dreams: SSIM.

[1] Wang, Bovik, Sheikh, Simoncelli 2004, "Image Quality Assessment: From Error Visibility to
    Structural Similarity" (SSIM).

Torch only, no Ray: the unit tests check it by hand on tiny tensors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# [1] Section III-C: an 11x11 Gaussian window with sigma 1.5, and these stabilising constants for
# a dynamic range L = 1 (pixels in [0, 1]).
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2


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
    # Separable Gaussian filter, one per channel, "valid" borders as in [1]'s reference code.
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
