"""Our PPO RLModule and CNN torsos on fake spaces: shapes, dtypes, init. No Ray."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from custom_models.encoders import ImpalaCNN, NatureCNN, make_encoder
from custom_models.ppo.rl_module import MarioActorCriticRLM


def stacked_space(size=84, frames=4):
    return gym.spaces.Box(0, 255, (size, size, frames), np.uint8)


def module(encoder="nature", size=84, n_actions=7):
    return MarioActorCriticRLM(observation_space=stacked_space(size),
                               action_space=gym.spaces.Discrete(n_actions),
                               model_config={"encoder": encoder})


def uint8_batch(batch_size, size=84, frames=4, seed=0):
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, (batch_size, size, size, frames), dtype=np.uint8))


@pytest.mark.parametrize("encoder", ["nature", "impala"])
def test_forward_shapes_on_uint8_frames(encoder):
    rlm = module(encoder)
    obs = uint8_batch(5)
    for out in (rlm.forward_inference({Columns.OBS: obs}),
                rlm.forward_exploration({Columns.OBS: obs})):
        assert out[Columns.ACTION_DIST_INPUTS].shape == (5, 7)
    train = rlm.forward_train({Columns.OBS: obs})
    assert train[Columns.ACTION_DIST_INPUTS].shape == (5, 7)
    assert train[Columns.EMBEDDINGS].shape == (5, rlm.encoder.output_size)
    values = rlm.compute_values({Columns.OBS: obs})
    assert values.shape == (5,) and values.dtype == torch.float32
    # Values from the embeddings the learner passes back equal values from the observations.
    assert torch.allclose(rlm.compute_values({Columns.OBS: obs}, train[Columns.EMBEDDINGS]), values)


def test_uint8_and_scaled_float_inputs_agree():
    """The module scales uint8 itself: the same frames as float (0..255) give the same output."""
    rlm = module()
    obs = uint8_batch(3)
    as_uint8 = rlm.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    as_float = rlm.forward_inference({Columns.OBS: obs.float()})[Columns.ACTION_DIST_INPUTS]
    assert torch.allclose(as_uint8, as_float, atol=1e-5)


def test_initial_policy_is_near_uniform():
    logits = module().forward_inference({Columns.OBS: uint8_batch(8)})[Columns.ACTION_DIST_INPUTS]
    probs = torch.softmax(logits, dim=-1)
    assert torch.allclose(probs, torch.full_like(probs, 1 / 7), atol=0.02)


@pytest.mark.parametrize("size, frames, nature_flat", [(84, 4, 3136), (64, 3, 1024), (96, 1, 4096)])
def test_flatten_size_follows_the_observation_shape(size, frames, nature_flat):
    nature = NatureCNN(obs_shape=(size, size, frames))
    assert nature.dense[0].in_features == nature_flat
    impala = ImpalaCNN(obs_shape=(size, size, frames))
    features = impala(uint8_batch(2, size, frames))
    assert features.shape == (2, 256)


def test_orthogonal_init_of_the_heads():
    rlm = module()
    # Orthogonal rows with gain g: W W^T = g^2 I (fewer rows than columns).
    for head, gain in ((rlm.pi, 0.01), (rlm.vf, 1.0)):
        weight = head.weight.detach()
        gram = weight @ weight.T
        assert torch.allclose(gram, gain**2 * torch.eye(weight.shape[0]), atol=1e-5 * max(gain, 1))
        assert torch.count_nonzero(head.bias) == 0


def test_unknown_encoder_is_one_line():
    with pytest.raises(ValueError, match=r"^unknown encoder 'resnet': expected one of nature, impala$"):
        make_encoder("resnet", obs_shape=(84, 84, 4))
