"""PPO actor-critic for Mario: one shared CNN torso, a policy head and a value head.

[1] Schulman et al. 2017, "Proximal Policy Optimization Algorithms" (Atari setup: a shared Nature
    CNN torso for policy and value).
[2] Andrychowicz et al. 2021, "What Matters in On-Policy Reinforcement Learning?" (initialise the
    policy's last layer 100x smaller, so the first policy is close to uniform).

Inputs are frame-stacked observations `[B, 84, 84, 4]` uint8: the env gives one 84x84x1 frame per
step and RLlib's `FrameStackingEnvToModule` / `FrameStackingLearner` connectors stack four, so
episodes hold single frames. Scaling to [0, 1] happens inside the torso.

Plug in with
    RLModuleSpec(module_class=MarioActorCriticRLM, model_config={"encoder": "nature", ...})

`model_config` keys:
    encoder: "nature" (default) or "impala".
    hidden: size of the torso's dense layer (default: the paper's, 512 / 256).
    mario: the env config and frame stack the module was trained with (written by
        `tune_configs`; `mario-rllib evaluate` rebuilds the env from it).
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.annotations import override
from torch import nn

from custom_models.encoders import make_encoder, orthogonal_init


class MarioActorCriticRLM(TorchRLModule, ValueFunctionAPI):
    """Shared CNN torso -> logits (policy) and V(s) (value), for RLlib's PPO on the new API stack."""

    @override(TorchRLModule)
    def setup(self):
        self.encoder = make_encoder(
            self.model_config.get("encoder", "nature"),
            obs_shape=self.observation_space.shape,
            hidden=self.model_config.get("hidden"),
        )
        features = self.encoder.output_size
        # Gains from the PPO reference implementations: 0.01 for the policy head [2], 1 for the
        # value head (openai/baselines, cleanrl).
        self.pi = orthogonal_init(nn.Linear(features, self.action_space.n), gain=0.01)
        self.vf = orthogonal_init(nn.Linear(features, 1), gain=1.0)

    @override(TorchRLModule)
    def _forward(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        # obs: [B, H, W, 4] uint8 -> logits: [B, num_actions]
        embeddings = self.encoder(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: self.pi(embeddings)}

    @override(TorchRLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        embeddings = self.encoder(batch[Columns.OBS])
        # The learner passes the embeddings back to `compute_values`, so the torso runs once.
        return {Columns.ACTION_DIST_INPUTS: self.pi(embeddings), Columns.EMBEDDINGS: embeddings}

    @override(ValueFunctionAPI)
    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        if embeddings is None:
            embeddings = self.encoder(batch[Columns.OBS])
        return self.vf(embeddings).squeeze(-1)  # [B]
