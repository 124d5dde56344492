"""World Models' C: a linear map from [z_t, h_t] to the action, its weights found by CMA-ES.

[1] Ha & Schmidhuber 2018, "Recurrent World Models Facilitate Policy Evolution" (NeurIPS),
    https://arxiv.org/abs/1809.01999, Appendix A.3: a_t = W_c [z_t h_t] + b_c, deliberately
    small (867 parameters for CarRacing) so that an evolution strategy can search it.

Mario's actions are discrete: the controller's outputs are one score per action and it plays the
highest (CarRacing's three outputs were continuous, squashed by tanh). With z of 32 and h of 256,
that is (32 + 256 + 1) x 7 = 2,023 parameters for the `simple` action set.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class LinearController(nn.Module):
    """`features: [B, z_size + hidden]` in, action scores `[B, num_actions]` out."""

    def __init__(self, *, input_size: int, num_actions: int):
        super().__init__()
        self.linear = nn.Linear(input_size, num_actions)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    @property
    def num_parameters(self) -> int:
        return self.linear.weight.numel() + self.linear.bias.numel()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)

    def get_flat(self) -> np.ndarray:
        """The weights then the bias, row-major, as the vector CMA-ES searches (float64)."""
        return torch.cat([self.linear.weight.flatten(), self.linear.bias]).detach().double().numpy()

    def set_flat(self, params: np.ndarray) -> None:
        params = np.asarray(params, dtype=np.float64)
        if params.shape != (self.num_parameters,):
            raise ValueError(f"expected {self.num_parameters} controller parameters, got "
                             f"shape {params.shape}")
        weight = self.linear.weight
        with torch.no_grad():
            flat = torch.as_tensor(params, dtype=weight.dtype)
            weight.copy_(flat[:weight.numel()].view_as(weight))
            self.linear.bias.copy_(flat[weight.numel():])
