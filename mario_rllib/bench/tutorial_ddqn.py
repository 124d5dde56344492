"""The peer in `mario-rllib bench peer`: the official PyTorch Mario tutorial's Double DQN loop.

It keeps the tutorial's own habits on purpose (float frames, the stack in the env, a replay of
stacked float states, one process): it is the baseline our pipeline is measured against.

Rewritten here from the tutorial's published description ("Train a Mario-playing RL Agent",
pytorch.org/tutorials/intermediate/mario_rl_tutorial.html), as a single process does it:

- env: gym-super-mario-bros 1-1 (its old-gym env, right / right+A through the joypad bits),
  `SkipFrame(4)` summing rewards, grayscale and resize to 84x84 as float tensors in [0, 1] (the
  tutorial uses torchvision's `Grayscale`, `Resize` and `Normalize(0, 255)`; the same operations
  in plain torch here), and a 4-frame stack in the env;
- agent: `MarioNet` (the Nature CNN: conv 32x8s4, 64x4s2, 64x3s1, 512, actions), an online and a
  target copy; epsilon-greedy acting; a replay memory of (state, next_state, action, reward,
  done) with float stacked frames; `learn()` every 3 steps on 32 samples: the TD estimate
  online(s)[a], the double-Q target r + gamma (1 - done) target(s')[argmax online(s')],
  SmoothL1 loss, Adam at 0.00025; target sync every `sync_every` steps.

Only what is timed differs from a training run: burn-in and memory are small, and the exploration
rate is fixed. Nothing here is used for training.
"""

from __future__ import annotations

import collections
import copy
import time

import numpy as np
import torch
from torch import nn

from mario_rllib.bench.env import Throughput
from mario_rllib.env.actions import controller_bytes

SKIP = 4
STACK = 4
GRAY = torch.tensor([0.2989, 0.587, 0.114]).view(3, 1, 1)  # torchvision's rgb_to_grayscale


class MarioNet(nn.Module):
    """The tutorial's network: the Nature CNN, online and target."""

    def __init__(self, actions: int):
        super().__init__()
        self.online = nn.Sequential(
            nn.Conv2d(STACK, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, actions),
        )
        self.target = copy.deepcopy(self.online)
        for p in self.target.parameters():
            p.requires_grad = False

    def forward(self, x, model: str):
        return self.online(x) if model == "online" else self.target(x)


class TutorialEnv:
    """gym-super-mario-bros with the tutorial's wrappers: skip 4, gray, 84x84 float, stack 4."""

    def __init__(self):
        from mario_rllib.env.nes import reference_env

        self.env = reference_env("1-1")
        self.codes = controller_bytes("right_only")[1:3]  # the tutorial's [["right"], ["right", "A"]]
        self.frames: collections.deque = collections.deque(maxlen=STACK)
        self.nes_frames = 0  # counted for the benchmark, not in the tutorial

    @staticmethod
    def observe(screen: np.ndarray) -> torch.Tensor:
        # The tutorial's `GrayScaleObservation` + `ResizeObservation(84)`: an HWC uint8 screen to
        # a CHW float tensor, grayscale, resized (antialiased), scaled to [0, 1].
        chw = torch.tensor(np.transpose(screen, (2, 0, 1)).copy(), dtype=torch.float32)
        gray = (chw * GRAY).sum(0, keepdim=True)
        small = nn.functional.interpolate(gray[None], size=(84, 84), mode="bilinear",
                                          antialias=True)[0, 0]
        return small / 255.0

    def reset(self) -> np.ndarray:
        frame = self.observe(self.env.reset())
        for _ in range(STACK):
            self.frames.append(frame)
        return self.state()

    def state(self) -> np.ndarray:
        return torch.stack(list(self.frames)).numpy()  # gym's FrameStack (LazyFrames) -> array

    def step(self, action: int):
        total, done, info = 0.0, False, {}
        for _ in range(SKIP):
            screen, reward, done, info = self.env.step(self.codes[action])
            self.nes_frames += 1
            total += reward
            if done:
                break
        self.frames.append(self.observe(screen))
        return self.state(), total, done, info

    def close(self):
        self.env.close()


class TutorialAgent:
    """The tutorial's `Mario` agent: act, cache, recall, learn."""

    def __init__(self, actions: int, memory: int, seed: int, exploration_rate: float = 0.1,
                 batch_size: int = 32, gamma: float = 0.9, burnin: int = 100,
                 learn_every: int = 3, sync_every: int = 10_000):
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.actions = actions
        self.net = MarioNet(actions)
        self.exploration_rate = exploration_rate
        self.memory: collections.deque = collections.deque(maxlen=memory)
        self.batch_size, self.gamma = batch_size, gamma
        self.burnin, self.learn_every, self.sync_every = burnin, learn_every, sync_every
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=0.00025)
        self.loss_fn = nn.SmoothL1Loss()
        self.curr_step = 0
        self.learn_seconds = 0.0
        self.learn_calls = 0

    def act(self, state: np.ndarray) -> int:
        if self.rng.random() < self.exploration_rate:
            action = int(self.rng.integers(self.actions))
        else:
            with torch.no_grad():
                values = self.net(torch.tensor(state).unsqueeze(0), model="online")
            action = int(torch.argmax(values, dim=1).item())
        self.curr_step += 1
        return action

    def cache(self, state, next_state, action, reward, done) -> None:
        self.memory.append((torch.tensor(state), torch.tensor(next_state), torch.tensor([action]),
                            torch.tensor([reward]), torch.tensor([done])))

    def recall(self):
        picks = self.rng.integers(len(self.memory), size=self.batch_size)
        batch = [self.memory[i] for i in picks]
        state, next_state, action, reward, done = map(torch.stack, zip(*batch, strict=True))
        return state, next_state, action.squeeze(), reward.squeeze(), done.squeeze()

    def learn(self) -> float | None:
        if self.curr_step % self.sync_every == 0:
            self.net.target.load_state_dict(self.net.online.state_dict())
        if self.curr_step < self.burnin or self.curr_step % self.learn_every != 0:
            return None
        start = time.perf_counter()
        state, next_state, action, reward, done = self.recall()
        td_est = self.net(state, model="online")[np.arange(self.batch_size), action]
        with torch.no_grad():
            best = torch.argmax(self.net(next_state, model="online"), dim=1)
            next_q = self.net(next_state, model="target")[np.arange(self.batch_size), best]
            td_tgt = reward + (1 - done.float()) * self.gamma * next_q
        loss = self.loss_fn(td_est, td_tgt)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.learn_seconds += time.perf_counter() - start
        self.learn_calls += 1
        return loss.item()


class TutorialLoop:
    """The tutorial's loop, runnable in turns (`run(seconds)`) like `mario_rllib.bench`'s targets:
    act, step, cache, and with `learn`, `learn()` every 3 steps. The burn-in happens here."""

    def __init__(self, seed: int = 0, learn: bool = False):
        self.env = TutorialEnv()
        self.agent = TutorialAgent(actions=2, memory=2_000, seed=seed)
        self.learn = learn
        self.state = self.env.reset()
        while self.agent.curr_step < self.agent.burnin + 10:
            self._step(learn=True)
        self.agent.learn_seconds, self.agent.learn_calls = 0.0, 0

    def _step(self, learn: bool) -> None:
        action = self.agent.act(self.state)
        next_state, reward, done, info = self.env.step(action)
        self.agent.cache(self.state, next_state, action, reward, done)
        if learn:
            self.agent.learn()
        self.state = self.env.reset() if done or info.get("flag_get") else next_state

    def run(self, seconds: float) -> Throughput:
        steps, frames_before = 0, self.env.nes_frames
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            self._step(self.learn)
            steps += 1
        return Throughput(steps, self.env.nes_frames - frames_before, elapsed)

    @property
    def learner_samples_per_s(self) -> float | None:
        if not self.agent.learn_calls:
            return None
        return self.agent.learn_calls * self.agent.batch_size / self.agent.learn_seconds

    def close(self) -> None:
        self.env.close()
