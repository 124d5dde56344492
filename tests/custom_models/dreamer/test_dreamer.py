"""DreamerV3 pieces on tiny tensors and fake spaces: symlog, two-hot, lambda-returns (by hand),
SSIM, and the shape contracts of our module and of RLlib's parts it reuses. No Ray."""

import math
from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.utils.torch_utils import inverse_symlog, symlog, two_hot

from custom_models.dreamer import DreamerV3Catalog
from custom_models.dreamer.imagine import observe_then_imagine
from custom_models.dreamer.learner import MarioDreamerV3Learner
from custom_models.dreamer.metrics import lambda_returns, two_hot_decode
from custom_models.dreamer.rl_module import (
    MarioDreamerV3RLM,
    frames_to_uint8,
    normalize_frames,
)
from custom_models.images import ssim

N_ACTIONS = 7
FRAME = (64, 64, 3)


def test_symlog_and_symexp_are_inverses():
    x = torch.tensor([-1e4, -100.0, -1.0, -1e-3, 0.0, 1e-3, 0.5, 1.0, 15.0, 1e4])
    assert torch.allclose(inverse_symlog(symlog(x)), x, rtol=1e-5, atol=1e-6)
    y = torch.linspace(-8, 8, 33)
    assert torch.allclose(symlog(inverse_symlog(y)), y, atol=1e-5)
    # By hand: symlog(x) = sign(x) * ln(|x| + 1).
    assert symlog(torch.tensor([0.0, math.e - 1, -(math.e**2 - 1)])).tolist() == pytest.approx(
        [0.0, 1.0, -2.0])


def test_two_hot_round_trip():
    values = torch.tensor([-20.0, -7.3, -0.1, 0.0, 0.05, 1.0, 3.14159, 19.99, 20.0])
    encoded = two_hot(values)
    assert encoded.shape == (len(values), 255)
    assert torch.allclose(encoded.sum(-1), torch.ones(len(values)))
    for row in encoded:  # at most two neighbouring buckets carry weight
        nonzero = torch.nonzero(row).flatten()
        assert 1 <= len(nonzero) <= 2 and (len(nonzero) == 1 or nonzero[1] == nonzero[0] + 1)
    assert torch.allclose(two_hot_decode(encoded), values, atol=1e-4)
    # Outside the range, values are clipped to it.
    assert two_hot_decode(two_hot(torch.tensor([-50.0, 50.0]))).tolist() == pytest.approx(
        [-20.0, 20.0])
    # By hand, with RLlib's own docstring example: 11 buckets on [-5, 5], 2.5 -> half 2, half 3.
    small = two_hot(torch.tensor([2.5]), num_buckets=11, lower_bound=-5.0, upper_bound=5.0)
    assert small[0, 7].item() == pytest.approx(0.5) and small[0, 8].item() == pytest.approx(0.5)


def test_lambda_returns_by_hand():
    gamma, lam = 0.9, 0.5
    # Time-major, one batch column. rewards[t] arrives with state t; state 2 is terminal.
    rewards = torch.tensor([[0.0], [1.0], [2.0], [5.0]])
    continues = torch.tensor([[1.0], [1.0], [0.0], [1.0]])
    values = torch.tensor([[10.0], [4.0], [3.0], [7.0]])
    returns = lambda_returns(rewards, continues, values, gamma=gamma, lambda_=lam)
    # R_3 = v_3 = 7
    # R_2 = r_3 + gamma * c_3 * ((1 - lam) * v_3 + lam * R_3) = 5 + 0.9 * 7 = 11.3
    # R_1 = r_2 + gamma * c_2 * (...) = 2 + 0 = 2           (state 2 ends the episode)
    # R_0 = r_1 + 0.9 * 1 * (0.5 * 4 + 0.5 * 2) = 1 + 2.7 = 3.7
    assert returns.squeeze(1).tolist() == pytest.approx([3.7, 2.0, 11.3])
    # lambda = 0: one-step TD targets; lambda = 1: discounted rewards bootstrapped at the end.
    td = lambda_returns(rewards, torch.ones_like(rewards), values, gamma=gamma, lambda_=0.0)
    assert td.squeeze(1).tolist() == pytest.approx([1 + 0.9 * 4, 2 + 0.9 * 3, 5 + 0.9 * 7])
    mc = lambda_returns(rewards, torch.ones_like(rewards), values, gamma=gamma, lambda_=1.0)
    assert mc[0].item() == pytest.approx(1 + 0.9 * 2 + 0.81 * 5 + 0.729 * 7)


def test_lambda_returns_match_rllibs_critic_targets():
    """Our metric's returns and RLlib's DreamerV3 value targets are the same function."""
    generator = torch.Generator().manual_seed(0)
    rewards, values = torch.randn(16, 5, generator=generator), torch.randn(16, 5, generator=generator)
    continues = (torch.rand(16, 5, generator=generator) > 0.1).float()
    config = SimpleNamespace(gamma=0.997, gae_lambda=0.95)
    rllib = MarioDreamerV3Learner._compute_value_targets(
        None, config=config, rewards_t0_to_H_BxT=rewards, intrinsic_rewards_t1_to_H_BxT=None,
        continues_t0_to_H_BxT=continues, value_predictions_t0_to_H_BxT=values)
    ours = lambda_returns(rewards, continues, values, gamma=0.997, lambda_=0.95)
    assert torch.allclose(ours, rllib, atol=1e-5)


def test_ssim():
    generator = torch.Generator().manual_seed(0)
    image = torch.rand(2, 32, 32, 3, generator=generator)
    assert ssim(image, image).tolist() == pytest.approx([1.0, 1.0], abs=1e-5)
    noisy = (image + 0.2 * torch.randn(image.shape, generator=generator)).clamp(0, 1)
    slightly = (image + 0.02 * torch.randn(image.shape, generator=generator)).clamp(0, 1)
    assert (ssim(slightly, image) > ssim(noisy, image)).all()
    assert (ssim(1 - image, image) < 0).all()  # anti-correlated structure


def test_frame_normalisation_is_rllibs_and_inverts():
    frames = torch.arange(256, dtype=torch.uint8)
    normalized = normalize_frames(frames)
    assert normalized.dtype == torch.float32
    assert torch.allclose(normalized, frames.float() / 128.0 - 1.0)  # RLlib's NormalizedImageEnv
    assert torch.equal(frames_to_uint8(normalized), frames)
    assert normalize_frames(normalized) is normalized  # floats pass through


@pytest.fixture(scope="module")
def module():
    torch.manual_seed(0)
    return MarioDreamerV3RLM(
        observation_space=gym.spaces.Box(0, 255, FRAME, np.uint8),
        action_space=gym.spaces.Discrete(N_ACTIONS),
        catalog_class=DreamerV3Catalog,
        model_config={"model_size": "XS", "batch_length_T": 4, "horizon_H": 3, "gamma": 0.997,
                      "symlog_obs": "auto", "use_float16": False},
    )


def uint8_frames(*shape, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (*shape, *FRAME),
                                                                 dtype=np.uint8))


def test_module_inference_shapes_and_state(module):
    """Env runners pass [B, T=1, 64, 64, 3] uint8 frames and the RSSM state; they get an action
    per env and the next state, which the next step passes back in."""
    batch_size = 3
    initial = module.get_initial_state()
    assert initial["h"].shape == (256,) and initial["z"].shape == (32, 32)
    assert initial["a"].shape == (N_ACTIONS,)
    state = {key: value.unsqueeze(0).repeat(batch_size, *[1] * value.dim())
             for key, value in initial.items()}
    batch = {Columns.OBS: uint8_frames(batch_size, 1), Columns.STATE_IN: state,
             "is_first": torch.ones(batch_size)}
    for out in (module.forward_inference(batch), module.forward_exploration(batch)):
        assert out[Columns.ACTIONS].shape == (batch_size, 1)
        assert out[Columns.ACTIONS].dtype == torch.int64
        assert ((0 <= out[Columns.ACTIONS]) & (out[Columns.ACTIONS] < N_ACTIONS)).all()
        next_state = out[Columns.STATE_OUT]
        assert next_state["h"].shape == (batch_size, 256)
        assert next_state["z"].shape == (batch_size, 32, 32)
        assert torch.allclose(next_state["z"].sum(-1), torch.ones(batch_size, 32))  # one-hot
        assert next_state["a"].shape == (batch_size, N_ACTIONS)
        assert not torch.allclose(next_state["h"], state["h"])  # the state moved on


def test_module_train_shapes_on_uint8_frames(module):
    batch_size, length = 2, 4
    actions = torch.nn.functional.one_hot(torch.randint(N_ACTIONS, (batch_size, length)),
                                          N_ACTIONS).float()
    is_first = torch.zeros(batch_size, length)
    is_first[:, 0] = 1.0
    frames = uint8_frames(batch_size, length)
    out = module.forward_train({Columns.OBS: frames, Columns.ACTIONS: actions,
                                "is_first": is_first})
    bxt = batch_size * length
    assert out["obs_distribution_means_BxT"].shape == (bxt, math.prod(FRAME))
    # The decoder's loss target is the normalised frame, not raw pixels.
    assert torch.allclose(out["sampled_obs_symlog_BxT"], normalize_frames(frames).reshape(
        bxt, *FRAME))
    assert out["h_states_BxT"].shape == (bxt, 256)
    assert out["z_posterior_states_BxT"].shape == (bxt, 32, 32)
    assert out["z_posterior_probs_BxT"].shape == out["z_prior_probs_BxT"].shape == (bxt, 32, 32)
    assert out["reward_logits_BxT"].shape == (bxt, 255)
    assert out["continue_distribution_BxT"].probs.shape == (bxt,)


def test_observe_then_imagine_shapes(module):
    torch.manual_seed(0)
    frames = uint8_frames(9).numpy()
    actions = np.random.default_rng(0).integers(N_ACTIONS, size=9)
    imagined = observe_then_imagine(module, frames, actions, observe_K=3, horizon_H=5)
    assert imagined.frames.shape == (8, *FRAME) and imagined.frames.dtype == np.uint8
    assert imagined.rewards.shape == imagined.continues.shape == (8,)
    assert ((0 <= imagined.continues) & (imagined.continues <= 1)).all()
    with pytest.raises(ValueError, match="need observe_K >= 1"):
        observe_then_imagine(module, frames, actions, observe_K=5, horizon_H=5)
    # Seeded: the same dream twice.
    torch.manual_seed(1)
    first = observe_then_imagine(module, frames, actions, observe_K=3, horizon_H=5)
    torch.manual_seed(1)
    second = observe_then_imagine(module, frames, actions, observe_K=3, horizon_H=5)
    assert np.array_equal(first.frames, second.frames)
