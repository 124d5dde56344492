"""World Models' agent as an RLModule: V encodes the frame, C acts on [z_t, h_t], M steps h.

[1] Ha & Schmidhuber 2018, "Recurrent World Models Facilitate Policy Evolution" (NeurIPS),
    https://arxiv.org/abs/1809.01999, Section 2 and Fig. 3 ("Flow diagram of our Agent model").

At each step: z_t = the mean of V's posterior for the 64x64 frame; C scores the actions from
[z_t, h_t]; the agent plays the best one (greedy, as [1]'s controller is deterministic) or, for
`--stochastic` evaluation, samples from softmax of the scores; then M reads (z_t, a_t) and gives
h_{t+1}. The LSTM's (h, c) travel between steps in RLlib's STATE_IN / STATE_OUT columns, so
env runners and `mario-rllib evaluate` play it with no code of their own. The action is chosen
inside the module (and returned as ACTIONS) because M's next state depends on it.

model_config: z_size (32), hidden (256), mixtures (5), kl_tolerance (0.5): [1] Appendix A; and
`mario`, the env config `evaluate` rebuilds the env from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.annotations import override

from custom_models.worldmodels.controller import LinearController
from custom_models.worldmodels.mdn_rnn import MDNRNN
from custom_models.worldmodels.vae import ConvVAE


class WorldModelsRLM(TorchRLModule):
    """Observations `[B, T, 64, 64, C]` uint8 (T = 1 when acting), state {"h", "c"}: [B, hidden]."""

    @override(TorchRLModule)
    def setup(self):
        config = self.model_config
        z_size, hidden = config.get("z_size", 32), config.get("hidden", 256)
        num_actions = int(self.action_space.n)
        self.vae = ConvVAE(z_size=z_size, channels=int(self.observation_space.shape[-1]),
                           kl_tolerance=config.get("kl_tolerance", 0.5))
        self.rnn = MDNRNN(z_size=z_size, num_actions=num_actions, hidden=hidden,
                          mixtures=config.get("mixtures", 5))
        self.controller = LinearController(input_size=z_size + hidden, num_actions=num_actions)

    @override(TorchRLModule)
    def get_initial_state(self) -> dict[str, np.ndarray]:
        hidden = self.rnn.hidden
        return {"h": np.zeros(hidden, np.float32), "c": np.zeros(hidden, np.float32)}

    @override(TorchRLModule)
    def _forward_inference(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return self._act(batch, sample=False)

    @override(TorchRLModule)
    def _forward_exploration(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return self._act(batch, sample=True)

    @override(TorchRLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        # Nothing: V and M learn from their own losses (`WorldModelsLearner` calls ConvVAE.loss
        # or MDNRNN.loss on the batch), and C by evolution.
        return {}

    @torch.no_grad()
    def _act(self, batch: dict[str, Any], *, sample: bool) -> dict[str, Any]:
        obs = batch[Columns.OBS]  # [B, T, 64, 64, C]
        h, c = batch[Columns.STATE_IN]["h"], batch[Columns.STATE_IN]["c"]  # [B, hidden]
        state = (h.unsqueeze(0), c.unsqueeze(0))
        all_scores, all_actions = [], []
        for t in range(obs.shape[1]):
            z, _ = self.vae.encode(obs[:, t])  # z_t: [B, z_size]
            scores = self.controller(torch.cat([z, state[0][0]], dim=-1))  # [B, num_actions]
            actions = (torch.distributions.Categorical(logits=scores).sample() if sample
                       else scores.argmax(-1))
            _, state = self.rnn.lstm(
                torch.cat([z, torch.nn.functional.one_hot(actions, self.rnn.num_actions)
                           .float()], dim=-1).unsqueeze(1), state)
            all_scores.append(scores)
            all_actions.append(actions)
        return {Columns.ACTION_DIST_INPUTS: torch.stack(all_scores, dim=1),
                Columns.ACTIONS: torch.stack(all_actions, dim=1),
                Columns.STATE_OUT: {"h": state[0][0], "c": state[1][0]}}
