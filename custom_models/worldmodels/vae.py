"""World Models' V: a convolutional VAE that compresses a 64x64 frame into a latent z.

[1] Ha & Schmidhuber 2018, "Recurrent World Models Facilitate Policy Evolution" (NeurIPS),
    https://arxiv.org/abs/1809.01999 (the longer version: https://worldmodels.github.io).

Architecture as in [1] Appendix A.1 ("Variational Autoencoder"): four 4x4 convolutions with
stride 2 (32, 64, 128, 256 channels, ReLU) down to 2x2x256, dense layers to the mean and log
variance of a diagonal Gaussian over z (32 dimensions for CarRacing), and a decoder of a dense
layer to 1x1x1024 and four transposed convolutions (5x5, 5x5, 6x6, 6x6, stride 2) back to 64x64,
with a sigmoid. The loss is the L2 reconstruction error summed over pixels plus the KL divergence
from the unit Gaussian, the KL floored at `kl_tolerance * z_size` as in the paper's CarRacing
code (it keeps the VAE from spending capacity on matching the prior exactly: "free bits").
"""

from __future__ import annotations

import torch
from torch import nn

IMAGE_SIZE = 64  # [1] Appendix A.1: frames resized to 64x64 RGB


class ConvVAE(nn.Module):
    """Frames `[B, 64, 64, C]` uint8 in, `z: [B, z_size]` out, and back."""

    def __init__(self, *, z_size: int = 32, channels: int = 3, kl_tolerance: float = 0.5):
        super().__init__()
        self.z_size, self.channels, self.kl_tolerance = z_size, channels, kl_tolerance
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, 32, 4, stride=2), nn.ReLU(),  # 64 -> 31
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),  # -> 14
            nn.Conv2d(64, 128, 4, stride=2), nn.ReLU(),  # -> 6
            nn.Conv2d(128, 256, 4, stride=2), nn.ReLU(),  # -> 2
            nn.Flatten(),  # 2 * 2 * 256 = 1024
        )
        self.mean = nn.Linear(1024, z_size)
        self.log_var = nn.Linear(1024, z_size)
        self.decoder_in = nn.Linear(z_size, 1024)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(1024, 128, 5, stride=2), nn.ReLU(),  # 1 -> 5
            nn.ConvTranspose2d(128, 64, 5, stride=2), nn.ReLU(),  # -> 13
            nn.ConvTranspose2d(64, 32, 6, stride=2), nn.ReLU(),  # -> 30
            nn.ConvTranspose2d(32, channels, 6, stride=2), nn.Sigmoid(),  # -> 64
        )

    def encode(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """frames: [B, 64, 64, C] uint8 -> (mean, log variance), each [B, z_size]."""
        x = frames.permute(0, 3, 1, 2).float() / 255.0
        features = self.encoder(x)
        return self.mean(features), self.log_var(features)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z: [B, z_size] -> frames [B, 64, 64, C] as floats in [0, 1]."""
        x = self.decoder_in(z).view(-1, 1024, 1, 1)
        return self.decoder(x).permute(0, 2, 3, 1)

    def sample_z(self, mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """The reparameterised sample z = mean + sigma * eps."""
        return mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)

    def loss(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """[1]'s loss on a batch of uint8 frames, each term a mean over the batch:
        `reconstruction` (squared error summed over pixels and channels, pixels in [0, 1]),
        `kl` (KL(q(z|x) || N(0, I)) summed over z, before the floor) and `total` (the floor
        applied per frame)."""
        mean, log_var = self.encode(frames)
        reconstruction = self.decode(self.sample_z(mean, log_var))
        target = frames.float() / 255.0
        reconstruction_loss = (reconstruction - target).pow(2).sum(dim=(1, 2, 3)).mean()
        kl = -0.5 * (1 + log_var - mean.pow(2) - log_var.exp()).sum(dim=1)  # [B]
        # Floored per frame, then averaged, as [1]'s code does.
        floored_kl = torch.clamp(kl, min=self.kl_tolerance * self.z_size).mean()
        return {"total": reconstruction_loss + floored_kl, "reconstruction": reconstruction_loss,
                "kl": kl.mean()}
