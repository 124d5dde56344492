"""CNN torsos shared by our RLModules: uint8 frames in, a flat feature vector out.

[1] Mnih et al. 2015, "Human-level control through deep reinforcement learning" (the Nature CNN).
[2] Espeholt et al. 2018, "IMPALA: Scalable Distributed Deep-RL with Importance Weighted
    Actor-Learner Architectures", Fig. 3 (the 15-layer ResNet torso).

Both take observations channels-last, `[B, H, W, C]` uint8 as env runners, episodes and replay
buffers hold them, and scale to [0, 1] inside `forward`. The flatten size is worked out from the
observation shape with a dry run, never hard-coded, so any frame size works.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

ENCODERS = ("nature", "impala")


def orthogonal_init(module: nn.Module, gain: float = math.sqrt(2)) -> nn.Module:
    """Orthogonal weights with `gain` and zero biases, as in the PPO reference implementations
    (openai/baselines `ortho_init`; cleanrl `layer_init`: sqrt(2) for hidden layers)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.orthogonal_(layer.weight, gain)
            nn.init.zeros_(layer.bias)
    return module


class NatureCNN(nn.Module):
    """Three conv layers and one dense layer [1]: 32x8x8/4, 64x4x4/2, 64x3x3/1, then `hidden` units."""

    def __init__(self, *, obs_shape: Sequence[int], hidden: int = 512):
        super().__init__()
        height, width, channels = obs_shape
        self.convs = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        flat_size = _flat_size(self.convs, channels, height, width)  # 3136 for 84x84
        self.dense, self.output_size = _dense(flat_size, hidden)
        orthogonal_init(self)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        # obs: [B, H, W, C] uint8 -> features: [B, hidden]
        return self.dense(self.convs(_to_float_nchw(obs)))


class _ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class ImpalaCNN(nn.Module):
    """The IMPALA ResNet torso [2]: per stage a conv, a 3x3/2 max-pool and two residual blocks."""

    def __init__(self, *, obs_shape: Sequence[int], hidden: int = 256,
                 stage_channels: Sequence[int] = (16, 32, 32)):
        super().__init__()
        height, width, channels = obs_shape
        layers: list[nn.Module] = []
        in_channels = channels
        for out_channels in stage_channels:
            layers += [
                nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
                _ResidualBlock(out_channels),
                _ResidualBlock(out_channels),
            ]
            in_channels = out_channels
        self.convs = nn.Sequential(*layers, nn.ReLU(), nn.Flatten())
        flat_size = _flat_size(self.convs, channels, height, width)  # 3872 for 84x84
        self.dense, self.output_size = _dense(flat_size, hidden)
        orthogonal_init(self)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.dense(self.convs(_to_float_nchw(obs)))


def make_encoder(name: str, *, obs_shape: Sequence[int], hidden: int | None = None) -> nn.Module:
    """Build the named torso; `hidden` defaults to the paper's size (512 Nature, 256 IMPALA), and
    0 gives the flat conv features."""
    kwargs = {} if hidden is None else {"hidden": hidden}
    if name == "nature":
        return NatureCNN(obs_shape=obs_shape, **kwargs)
    if name == "impala":
        return ImpalaCNN(obs_shape=obs_shape, **kwargs)
    raise ValueError(f"unknown encoder {name!r}: expected one of {', '.join(ENCODERS)}")


def _dense(flat_size: int, hidden: int) -> tuple[nn.Module, int]:
    """The torso's dense layer; `hidden=0` leaves it out (the flat conv features are the output,
    e.g. for a dueling head with its own value and advantage streams)."""
    if hidden == 0:
        return nn.Identity(), flat_size
    return nn.Sequential(nn.Linear(flat_size, hidden), nn.ReLU()), hidden


def _to_float_nchw(obs: torch.Tensor) -> torch.Tensor:
    # [B, H, W, C] uint8 in [0, 255] -> [B, C, H, W] float32 in [0, 1]
    return obs.permute(0, 3, 1, 2).float() / 255.0


@torch.no_grad()
def _flat_size(convs: nn.Module, channels: int, height: int, width: int) -> int:
    return int(convs(torch.zeros(1, channels, height, width)).shape[1])
