"""The PPO peer in `mario-rllib bench peer`: the training loop of uvipen's (Viet Nguyen,
vietnh1009) "Super-mario-bros-PPO-pytorch", the PPO loop people actually run on Mario.

It keeps that loop's own habits on purpose (one process per env behind a pipe, float frames, a
tensor sent per env step, the whole rollout kept as float tensors): it is the baseline our PPO is
measured against, end to end.

Rewritten here from the project's published description and layout (`train.py`, `src/env.py`,
`src/model.py`), as it runs on a CPU:

- env: gym-super-mario-bros 1-1 (`SuperMarioBros-1-1-v0`) with `SIMPLE_MOVEMENT` through the
  joypad bits; `CustomReward` (the score's change / 40 added, +-50 at the end for a flag or not,
  all / 10; its 4-4 and 7-4 rules do not apply to 1-1), its frames gray and resized to 84x84 with
  OpenCV, / 255; `CustomSkipFrame` (4 frames, the max of the last 2, a stack of 4 kept in the env,
  a reset inside `step` at the end of an episode);
- 8 env processes, each serving ("step", action) or ("reset", None) requests on a pipe;
- the network: 4 convs of 32 3x3 filters (stride 2, padding 1), a 512-unit linear layer, an actor
  and a critic head, orthogonal init;
- each iteration: 512 steps per env (the policy sampled from the softmax), GAE with gamma 0.9 and
  tau 1.0, then 10 epochs of 16 minibatches over the 4,096 samples: the clipped surrogate
  (epsilon 0.2), a smooth-L1 critic loss, entropy at 0.01, gradients clipped at 0.5, Adam at 1e-4;
- `OMP_NUM_THREADS=1`: one torch thread in the learner's process.

Left out: its evaluation process (it plays the shared model in a loop beside training, which would
only slow the peer down) and its TensorBoard and checkpoint files. Nothing here is used for
training.
"""

from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

from mario_rllib.bench.env import Throughput
from mario_rllib.env.actions import controller_bytes

SKIP = 4
ACTION_SET = "simple"  # uvipen's default `--action_type simple`: SIMPLE_MOVEMENT, 7 actions


def process_frame(frame: np.ndarray) -> np.ndarray:
    """uvipen's `process_frame`: an RGB screen to a (1, 84, 84) gray frame in [0, 1] (float64)."""
    import cv2

    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (84, 84))[None, :, :] / 255.0


class UvipenEnv:
    """gym-super-mario-bros with uvipen's `CustomReward` and `CustomSkipFrame` (1-1 only)."""

    def __init__(self, stage: str = "1-1"):
        from mario_rllib.env.nes import reference_env

        self.env = reference_env(stage)
        self.codes = controller_bytes(ACTION_SET)
        self.curr_score = 0
        self.states = np.zeros((SKIP, 84, 84), dtype=np.float32)
        self.nes_frames = 0  # counted for the benchmark, not in uvipen's loop

    def _reward_step(self, action: int):  # CustomReward.step
        state, reward, done, info = self.env.step(self.codes[action])
        self.nes_frames += 1
        state = process_frame(state)
        reward += (info["score"] - self.curr_score) / 40.0
        self.curr_score = info["score"]
        if done:
            reward += 50 if info["flag_get"] else -50
        return state, reward / 10.0, done, info

    def _reward_reset(self) -> np.ndarray:  # CustomReward.reset
        self.curr_score = 0
        return process_frame(self.env.reset())

    def step(self, action: int):  # CustomSkipFrame.step
        total_reward, last_states = 0.0, []
        for i in range(SKIP):
            state, reward, done, info = self._reward_step(action)
            total_reward += reward
            if i >= SKIP / 2:
                last_states.append(state)
            if done:
                self.reset()
                return self.states[None].astype(np.float32), total_reward, done, info
        self.states[:-1] = self.states[1:]
        self.states[-1] = np.max(np.concatenate(last_states, 0), 0)
        return self.states[None].astype(np.float32), total_reward, done, info

    def reset(self) -> np.ndarray:  # CustomSkipFrame.reset
        state = self._reward_reset()
        self.states = np.concatenate([state for _ in range(SKIP)], 0)
        return self.states[None].astype(np.float32)

    def close(self) -> None:
        self.env.close()


def _serve(conn, stage: str) -> None:
    """One env process: uvipen's `MultipleEnvironments.run`, plus what the benchmark asks
    ("frames": NES frames emulated so far; "close")."""
    env = UvipenEnv(stage)
    try:
        while True:
            request, action = conn.recv()
            if request == "step":
                conn.send(env.step(action.item()))
            elif request == "reset":
                conn.send(env.reset())
            elif request == "frames":
                conn.send(env.nes_frames)
            else:
                break
    finally:
        env.close()


class UvipenNet(nn.Module):
    """uvipen's `PPO` network."""

    def __init__(self, num_inputs: int, num_actions: int):
        super().__init__()
        self.conv1 = nn.Conv2d(num_inputs, 32, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.conv4 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.linear = nn.Linear(32 * 6 * 6, 512)
        self.critic_linear = nn.Linear(512, 1)
        self.actor_linear = nn.Linear(512, num_actions)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.orthogonal_(module.weight, nn.init.calculate_gain("relu"))
                nn.init.constant_(module.bias, 0)

    def forward(self, x):
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            x = nn.functional.relu(conv(x))
        x = self.linear(x.view(x.size(0), -1))
        return self.actor_linear(x), self.critic_linear(x)


class UvipenLoop:
    """uvipen's `train()`, an iteration at a time (`iterate()`), so that it can take turns with
    ours. `processes`, `local_steps`, `epochs` and `minibatches` are uvipen's 8, 512, 10 and 16
    unless made smaller for a smoke run."""

    def __init__(self, seed: int = 123, processes: int = 8, local_steps: int = 512,
                 epochs: int = 10, minibatches: int = 16, lr: float = 1e-4, gamma: float = 0.9,
                 tau: float = 1.0, beta: float = 0.01, epsilon: float = 0.2, stage: str = "1-1"):
        self.local_steps, self.epochs, self.minibatches = local_steps, epochs, minibatches
        self.gamma, self.tau, self.beta, self.epsilon = gamma, tau, beta, epsilon
        # Processes of their own, started fresh: the benchmark's process holds a Ray driver's
        # threads, which a fork would copy mid-flight.
        context = mp.get_context("spawn")
        self.conns, self.processes = [], []
        for _ in range(processes):
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child, stage), daemon=True)
            process.start()
            child.close()
            self.conns.append(parent)
            self.processes.append(process)
        torch.manual_seed(seed)
        self.model = UvipenNet(SKIP, len(controller_bytes(ACTION_SET)))
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        for conn in self.conns:
            conn.send(("reset", None))
        self.curr_states = torch.from_numpy(np.concatenate([conn.recv() for conn in self.conns], 0))
        self.update_seconds = 0.0

    def _frames(self) -> int:
        for conn in self.conns:
            conn.send(("frames", None))
        return sum(conn.recv() for conn in self.conns)

    def iterate(self) -> Throughput:
        """One iteration of uvipen's loop on 1 torch thread: a rollout of `local_steps` per env,
        then the PPO epochs; the agent steps, NES frames and seconds it took."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # uvipen's OMP_NUM_THREADS=1
        frames_before = self._frames()
        try:
            start = time.perf_counter()
            self._iterate()
            elapsed = time.perf_counter() - start
        finally:
            torch.set_num_threads(threads)
        return Throughput(self.local_steps * len(self.conns), self._frames() - frames_before,
                          elapsed)

    def _iterate(self) -> None:
        old_log_policies, actions, values, states, rewards, dones = [], [], [], [], [], []
        for _ in range(self.local_steps):
            states.append(self.curr_states)
            logits, value = self.model(self.curr_states)
            values.append(value.squeeze())
            old_m = Categorical(nn.functional.softmax(logits, dim=1))
            action = old_m.sample()
            actions.append(action)
            old_log_policies.append(old_m.log_prob(action))
            for conn, act in zip(self.conns, action, strict=True):
                conn.send(("step", act))
            state, reward, done, _ = zip(*[conn.recv() for conn in self.conns], strict=True)
            self.curr_states = torch.from_numpy(np.concatenate(state, 0))
            rewards.append(torch.FloatTensor(reward))
            dones.append(torch.FloatTensor(done))
        start = time.perf_counter()
        _, next_value = self.model(self.curr_states)
        next_value = next_value.squeeze()
        old_log_policies = torch.cat(old_log_policies).detach()
        actions = torch.cat(actions)
        values = torch.cat(values).detach()
        states = torch.cat(states)
        gae, returns = 0, []
        # As uvipen writes it: `values` is flat (steps x envs), so zip pairs step t's rewards
        # with the t-th single value, not step t's values (the same work, kept as it runs).
        for value, reward, done in list(zip(values, rewards, dones, strict=False))[::-1]:
            gae = gae * self.gamma * self.tau
            gae = gae + reward + self.gamma * next_value.detach() * (1 - done) - value.detach()
            next_value = value
            returns.append(gae + value)
        returns = torch.cat(returns[::-1]).detach()
        advantages = returns - values
        samples = self.local_steps * len(self.conns)
        for _ in range(self.epochs):
            indices = torch.randperm(samples)
            for j in range(self.minibatches):
                batch = indices[int(j * samples / self.minibatches):
                                int((j + 1) * samples / self.minibatches)]
                logits, value = self.model(states[batch])
                new_m = Categorical(nn.functional.softmax(logits, dim=1))
                ratio = torch.exp(new_m.log_prob(actions[batch]) - old_log_policies[batch])
                actor_loss = -torch.mean(torch.min(
                    ratio * advantages[batch],
                    torch.clamp(ratio, 1.0 - self.epsilon, 1.0 + self.epsilon) * advantages[batch]))
                critic_loss = nn.functional.smooth_l1_loss(returns[batch], value.squeeze())
                total_loss = actor_loss + critic_loss - self.beta * torch.mean(new_m.entropy())
                self.optimizer.zero_grad()
                total_loss.backward()
                nn.utils.clip_grad_norm_(self.model.parameters(), 0.5)
                self.optimizer.step()
        self.update_seconds += time.perf_counter() - start

    def close(self) -> None:
        for conn in self.conns:
            conn.send(("close", None))
            conn.close()
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
