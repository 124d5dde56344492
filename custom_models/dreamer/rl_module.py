"""RLlib's DreamerV3 RLModule on uint8 frames.

[1] Mastering Diverse Domains through World Models - 2023, D. Hafner et al.,
    https://arxiv.org/pdf/2301.04104v1.pdf

RLlib's module builds [1]'s world model (CNN encoder, RSSM with a GRU and 32x32 categorical
latents, transposed-CNN decoder, reward and continue heads), actor and critic from a `model_size`
preset ([1] Appendix B) and is used as is: its layers are one `nn.Module` per file under
`ray/rllib/algorithms/dreamerv3/torch/models/`. It expects float images in [-1, 1] (RLlib's Atari
example normalises in an env wrapper). Here frames stay uint8 in episodes, in the replay buffer and
on the wire (12,288 bytes a 64x64x3 step instead of 49,152), and are normalised inside the module,
exactly as RLlib's `NormalizedImageEnv` does: x / 128 - 1.

Plug in with
    RLModuleSpec(module_class=MarioDreamerV3RLM, catalog_class=DreamerV3Catalog,
                 model_config={"mario": {...}})
`DreamerV3Config` adds model_size, batch_length_T, horizon_H, gamma and symlog_obs to
`model_config`; `mario` holds the env config `mario-rllib evaluate` and `dream` rebuild the env from.
"""

from __future__ import annotations

from typing import Any

import torch
from ray.rllib.algorithms.dreamerv3.torch.dreamerv3_torch_rl_module import DreamerV3TorchRLModule
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override


def normalize_frames(obs: torch.Tensor) -> torch.Tensor:
    """uint8 pixels [..., 64, 64, 3] -> float32 in [-1, 1), as RLlib's `NormalizedImageEnv`."""
    if obs.dtype == torch.uint8:
        return obs.float() / 128.0 - 1.0
    return obs  # already normalised (RLlib's own dreaming utilities pass floats)


def frames_to_uint8(normalized: torch.Tensor) -> torch.Tensor:
    """The inverse of `normalize_frames`, clipped: decoder outputs -> displayable pixels."""
    return ((normalized + 1.0) * 128.0).round().clamp(0, 255).to(torch.uint8)


class MarioDreamerV3RLM(DreamerV3TorchRLModule):
    """RLlib's `DreamerV3TorchRLModule`, fed uint8 frames (normalised here, not in the env).

    Inference carries the RSSM state (h, z and the last action) across steps through RLlib's
    STATE_IN / STATE_OUT columns, so env runners and `mario-rllib evaluate` need no code of
    their own for it.
    """

    @override(DreamerV3TorchRLModule)
    def _forward_inference(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return super()._forward_inference(_normalized(batch), **kwargs)

    @override(DreamerV3TorchRLModule)
    def _forward_exploration(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        return super()._forward_exploration(_normalized(batch), **kwargs)

    @override(DreamerV3TorchRLModule)
    def _forward_train(self, batch: dict[str, Any], **kwargs) -> dict[str, Any]:
        # The decoder's loss compares its output with these normalised frames
        # (`sampled_obs_symlog_BxT`; no symlog for images, [1] Appendix E "NoObsSymlog").
        return super()._forward_train(_normalized(batch), **kwargs)


def _normalized(batch: dict[str, Any]) -> dict[str, Any]:
    return {**batch, Columns.OBS: normalize_frames(batch[Columns.OBS])}
