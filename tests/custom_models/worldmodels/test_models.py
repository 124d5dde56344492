"""World Models' V, M and C, checked against values computed another way: the KL and the mixture
likelihood with torch.distributions, the controller's action by hand."""

import numpy as np
import pytest
import torch
from torch import distributions as D

from custom_models.worldmodels.controller import LinearController
from custom_models.worldmodels.mdn_rnn import MDNRNN
from custom_models.worldmodels.vae import ConvVAE


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_vae_shapes_and_loss_terms():
    vae = ConvVAE(z_size=8, kl_tolerance=0.0)
    frames = torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)
    mean, log_var = vae.encode(frames)
    assert mean.shape == log_var.shape == (3, 8)
    decoded = vae.decode(mean)
    assert decoded.shape == (3, 64, 64, 3) and 0 <= decoded.min() and decoded.max() <= 1

    torch.manual_seed(1)
    losses = vae.loss(frames)
    posterior = D.Normal(mean, (0.5 * log_var).exp())
    kl = D.kl_divergence(posterior, D.Normal(torch.zeros(8), torch.ones(8))).sum(-1).mean()
    torch.testing.assert_close(losses["kl"], kl)
    torch.manual_seed(1)  # the same z draw as inside loss()
    z = mean + (0.5 * log_var).exp() * torch.randn_like(mean)
    squared = ((vae.decode(z) - frames.float() / 255) ** 2).sum() / 3
    torch.testing.assert_close(losses["reconstruction"], squared)
    torch.testing.assert_close(losses["total"], squared + kl)


def test_vae_kl_floor_is_per_frame(monkeypatch):
    vae = ConvVAE(z_size=8, kl_tolerance=0.5)  # a floor of 0.5 x 8 = 4 nats per frame
    frames = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    # Frame 0's posterior is N(3, 1) in each of 8 dimensions: KL 8 x 3^2 / 2 = 36 nats; frame 1's
    # is the prior: KL 0, floored to 4. Floored per frame: (36 + 4) / 2 = 20 (on the batch mean,
    # 18, would not be floored at all).
    mean = torch.stack([torch.full((8,), 3.0), torch.zeros(8)])
    monkeypatch.setattr(vae, "encode", lambda _: (mean, torch.zeros(2, 8)))
    losses = vae.loss(frames)
    torch.testing.assert_close(losses["kl"], torch.tensor(18.0))
    torch.testing.assert_close(losses["total"], losses["reconstruction"] + 20.0)


def test_mdn_nll_is_the_mixture_density():
    rnn = MDNRNN(z_size=3, num_actions=5, hidden=16, mixtures=4)
    z = torch.randn(2, 6, 3)
    actions = torch.randint(0, 5, (2, 5))
    out = rnn(z[:, :-1], actions)
    assert out["log_pi"].shape == (2, 5, 3, 4) and out["h"].shape == (2, 5, 16)
    mixture = D.MixtureSameFamily(D.Categorical(logits=out["log_pi"]),
                                  D.Normal(out["mean"], out["log_sigma"].exp()))
    expected = -mixture.log_prob(z[:, 1:])
    torch.testing.assert_close(MDNRNN.mixture_nll(out, z[:, 1:]), expected)

    rewards, dones = torch.randn(2, 5), torch.zeros(2, 5)
    dones[0, 4] = 1
    mask = torch.ones(2, 5)
    mask[1, 3:] = 0  # the second sequence ended after 3 steps: its padding does not count
    losses = rnn.loss(z, actions, rewards, dones, mask)
    real = mask.bool()
    torch.testing.assert_close(losses["z"], expected.mean(-1)[real].mean())
    torch.testing.assert_close(losses["reward"], ((out["reward"] - rewards)[real] ** 2).mean())
    bce = torch.nn.functional.binary_cross_entropy_with_logits(out["done_logit"][real], dones[real])
    torch.testing.assert_close(losses["done"], bce)


def test_mdn_sampling_temperature():
    rnn = MDNRNN(z_size=4, num_actions=3, hidden=8, mixtures=5)
    out = rnn(torch.randn(1, 1, 4), torch.zeros(1, 1))
    # Near tau = 0 a draw is the mean of each dimension's most likely component.
    cold = MDNRNN.sample(out, temperature=1e-6)
    best = out["log_pi"].argmax(-1, keepdim=True)
    torch.testing.assert_close(cold, out["mean"].gather(-1, best).squeeze(-1), atol=1e-2, rtol=0)
    # At tau = 1, many draws have the mixture's mean and variance.
    many = {key: value.expand(20_000, *value.shape[1:]) if key != "state" else value
            for key, value in out.items()}
    draws = MDNRNN.sample(many, generator=torch.Generator().manual_seed(0))
    pi, mean, sigma = out["log_pi"].exp(), out["mean"], out["log_sigma"].exp()
    mixture_mean = (pi * mean).sum(-1)
    mixture_var = (pi * (sigma ** 2 + mean ** 2)).sum(-1) - mixture_mean ** 2
    torch.testing.assert_close(draws.mean(0), mixture_mean[0], atol=0.05, rtol=0)
    torch.testing.assert_close(draws.var(0), mixture_var[0], atol=0.05, rtol=0.05)
    # At tau = 2: weights softmax(log_pi / 2), variances sigma^2 x 2.
    hot = MDNRNN.sample(many, temperature=2.0, generator=torch.Generator().manual_seed(1))
    pi = torch.softmax(out["log_pi"] / 2, dim=-1)
    hot_mean = (pi * mean).sum(-1)
    hot_var = (pi * (2 * sigma ** 2 + mean ** 2)).sum(-1) - hot_mean ** 2
    torch.testing.assert_close(hot.mean(0), hot_mean[0], atol=0.05, rtol=0)
    torch.testing.assert_close(hot.var(0), hot_var[0], atol=0.05, rtol=0.05)


def test_controller_flat_parameters_and_action():
    controller = LinearController(input_size=5, num_actions=3)
    assert controller.num_parameters == 18
    params = np.arange(18, dtype=np.float64) / 10
    controller.set_flat(params)
    np.testing.assert_array_equal(controller.get_flat(), params.astype(np.float32))
    features = torch.tensor([[1.0, 0.0, -1.0, 2.0, 0.5]])
    weight, bias = params[:15].reshape(3, 5), params[15:]
    expected = weight @ features[0].numpy() + bias
    np.testing.assert_allclose(controller(features)[0].detach().numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="expected 18 controller parameters, got shape"):
        controller.set_flat(np.zeros(17))


def test_the_agent_acts_greedily_and_steps_m_with_the_action_it_played():
    import gymnasium as gym
    from ray.rllib.core.columns import Columns

    from custom_models.worldmodels.rl_module import WorldModelsRLM

    module = WorldModelsRLM(observation_space=gym.spaces.Box(0, 255, (64, 64, 3), np.uint8),
                            action_space=gym.spaces.Discrete(7),
                            model_config={"z_size": 8, "hidden": 16})
    module.controller.set_flat(np.random.default_rng(0).normal(size=(8 + 16 + 1) * 7))
    obs = torch.randint(0, 256, (2, 3, 64, 64, 3), dtype=torch.uint8)  # [B, T, ...]
    state = {k: torch.as_tensor(v).repeat(2, 1) for k, v in module.get_initial_state().items()}
    out = module.forward_inference({Columns.OBS: obs, Columns.STATE_IN: state})
    assert out[Columns.ACTIONS].shape == (2, 3) and out[Columns.STATE_OUT]["h"].shape == (2, 16)

    # By hand: z_t = V's mean, a_t = argmax C([z_t, h_t]), h_{t+1} from M's LSTM on (z_t, a_t).
    h, c = torch.zeros(1, 2, 16), torch.zeros(1, 2, 16)
    for t in range(3):
        z = module.vae.encode(obs[:, t])[0]
        scores = module.controller(torch.cat([z, h[0]], -1))
        torch.testing.assert_close(out[Columns.ACTION_DIST_INPUTS][:, t], scores)
        assert torch.equal(out[Columns.ACTIONS][:, t], scores.argmax(-1))
        one_hot = torch.nn.functional.one_hot(scores.argmax(-1), 7).float()
        _, (h, c) = module.rnn.lstm(torch.cat([z, one_hot], -1).unsqueeze(1), (h, c))
    torch.testing.assert_close(out[Columns.STATE_OUT]["h"], h[0])
    torch.testing.assert_close(out[Columns.STATE_OUT]["c"], c[0])


def test_dreaming_follows_m_and_c_and_stops_at_the_first_predicted_end():
    import gymnasium as gym

    from custom_models.worldmodels.imagine import imagine
    from custom_models.worldmodels.rl_module import WorldModelsRLM

    module = WorldModelsRLM(observation_space=gym.spaces.Box(0, 255, (64, 64, 3), np.uint8),
                            action_space=gym.spaces.Discrete(5),
                            model_config={"z_size": 4, "hidden": 8})
    module.controller.set_flat(np.random.default_rng(1).normal(size=(4 + 8 + 1) * 5))
    with torch.no_grad():  # M predicts a reward of 1 every step and an end once h_0 > 0
        module.rnn.reward.weight.zero_()
        module.rnn.reward.bias.fill_(1.0)
        module.rnn.done.weight.zero_()
        module.rnn.done.weight[0, 0] = 100.0
        module.rnn.done.bias.fill_(0.0)
    z0 = torch.randn(3, 4)
    dream = imagine(module, z0, horizon=12, generator=torch.Generator().manual_seed(0))
    assert dream["z"].shape == (3, 13, 4) and dream["actions"].shape == (3, 12)

    # By hand, with the same draws: M's end probability after each step decides who is alive.
    generator = torch.Generator().manual_seed(0)
    state, z, ends = None, z0, []
    for t in range(12):
        h = torch.zeros(3, 8) if state is None else state[0][0]
        action = module.controller(torch.cat([z, h], -1)).argmax(-1)
        assert torch.equal(dream["actions"][:, t], action)
        out = module.rnn(z.unsqueeze(1), action.unsqueeze(1), state)
        state = out["state"]
        ends.append(torch.sigmoid(out["done_logit"][:, 0]) > 0.5)
        z = MDNRNN.sample(out, 1.15, generator)[:, 0]
        torch.testing.assert_close(dream["z"][:, t + 1], z)
    ended = torch.stack(ends, 1)
    first_end = torch.where(ended.any(1), ended.float().argmax(1), torch.tensor(12))
    for b in range(3):  # alive through the step that ends, and never after
        alive = dream["alive"][b]
        assert alive[:first_end[b] + 1].all() and not alive[first_end[b] + 1:].any()
        assert dream["return"][b] == min(first_end[b].item() + 1, 12)
