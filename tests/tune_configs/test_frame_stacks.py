"""The frame stacks the module acts on are the ones it learns from and is evaluated on.

A real `SingleAgentEnvRunner` (in this process, on the real emulator) samples in short chunks, so
that episodes are cut many times, and records what its RLModule was fed. The ground truth is built
independently from the frames of the returned episode chunks: the stack for step t of an episode
is its frames t-3..t, with zeros only before the episode's first frame. It must equal:
  - what the module was fed while acting (RLlib's env-to-module frame stacking);
  - PPO: the learner connector's stacks for the same steps (RLlib's FrameStackingLearner, with
    PPO's learner pipeline, bootstrap step included);
  - DQN and latent DQN (64x64 RGB frames, 3 channels each, stacked by our channel-aware
    connector): the replay buffer's stacks for o_t and o_t+n;
  - `evaluate`: the stacks its connector pipeline builds when it replays the episode.
"""

from __future__ import annotations

import copy
from collections import defaultdict

import numpy as np
import pytest
from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

from custom_models.dqn.replay import StackedFramePrioritizedEpisodeReplayBuffer
from mario_rllib.env import register_mario_envs
from mario_rllib.evaluate import build_policy, make_trained_env
from tune_configs import load_experiment

NUM_FRAMES = 4


def sample_and_record(algo: str, *, calls: int, fragment: int | str):
    """Sample `calls` times with two envs; return the runner, the returned episode chunks and
    {(episode id, t): stack the module was fed to act at step t}."""
    register_mario_envs()
    config = (load_experiment(algo).build_config("debug", envs_per_runner=2)
              .env_runners(rollout_fragment_length=fragment))
    runner = SingleAgentEnvRunner(config=config)
    fed: dict[tuple[str, int], np.ndarray] = {}
    forward = runner.module.forward_exploration

    def recording_forward(batch, **kwargs):
        # Row i of the batch is env i's running episode (the runner's own bookkeeping).
        for row, episode in zip(batch["obs"].numpy(), runner._ongoing_episodes, strict=True):
            fed[(episode.id_, episode.t)] = row.copy()
        return forward(batch, **kwargs)

    runner.module.forward_exploration = recording_forward
    chunks = []
    for _ in range(calls):
        chunks.extend(runner.sample(explore=True))
    return runner, config, chunks, fed


def frames_by_step(chunks) -> dict[str, dict[int, np.ndarray]]:
    """episode id -> {t: frame}, from the chunks' own observations (no lookback)."""
    frames: dict[str, dict[int, np.ndarray]] = defaultdict(dict)
    for chunk in chunks:
        for i in range(len(chunk) + 1):
            frames[chunk.id_][chunk.t_started + i] = np.asarray(chunk.get_observations(i))
    return frames


def true_stack(frames: dict[int, np.ndarray], t: int) -> np.ndarray:
    zeros = np.zeros_like(frames[t])
    return np.concatenate([frames[s] if s >= 0 else zeros for s in range(t - 3, t + 1)], axis=-1)


def assert_stacks_equal(got: dict, frames, what: str) -> None:
    assert got, f"no {what} stacks recorded"
    wrong = [(episode_id[:6], t) for (episode_id, t), stack in got.items()
             if not np.array_equal(stack, true_stack(frames[episode_id], t))]
    assert not wrong, f"{len(wrong)} of {len(got)} {what} stacks differ from the episode's " \
                      f"frames t-3..t, e.g. (episode, t) {wrong[:5]}"


@pytest.fixture(scope="module")
def ppo_run():
    # Fragments of 7 steps per env: every chunk boundary falls mid-episode somewhere.
    runner, config, chunks, fed = sample_and_record("ppo", calls=30, fragment=7)
    yield runner, config, chunks, fed
    runner.stop()


@pytest.fixture(scope="module")
def dqn_run():
    # DQN's own fragment: n_step (3) steps per env per sample() call.
    runner, config, chunks, fed = sample_and_record("dqn", calls=70, fragment="auto")
    yield runner, config, chunks, fed
    runner.stop()


@pytest.fixture(scope="module")
def latent_dqn_run():
    # Its own fragment: n_step (1) step per env per sample() call.
    runner, config, chunks, fed = sample_and_record("latent_dqn", calls=170, fragment="auto")
    yield runner, config, chunks, fed
    runner.stop()


@pytest.mark.parametrize("run", ["ppo_run", "dqn_run", "latent_dqn_run"])
def test_acting_stacks_are_the_episodes_last_four_frames(run, request):
    _, _, chunks, fed = request.getfixturevalue(run)
    frames = frames_by_step(chunks)
    fed = {key: stack for key, stack in fed.items() if key[1] in frames[key[0]]}
    assert len(fed) > 300
    assert_stacks_equal(fed, frames, "acting")
    # Mid-episode chunk starts were checked, not only episode starts.
    assert sum(1 for c in chunks if c.t_started > NUM_FRAMES) > 20


def test_ppo_learner_stacks_equal_the_acting_stacks(ppo_run):
    runner, config, chunks, fed = ppo_run
    frames = frames_by_step(chunks)
    learner = config.build_learner(
        spaces={"default_policy": (runner.module.observation_space, runner.module.action_space)})
    episodes = copy.deepcopy(chunks)  # PPO's pipeline appends a bootstrap step to each
    batch = learner._learner_connector(rl_module=learner.module, batch={}, episodes=episodes,
                                       shared_data={})["default_policy"]
    rows = batch["obs"].numpy()
    # One row per step of each chunk, plus the bootstrap row (the chunk's last observation).
    assert len(rows) == sum(len(c) + 1 for c in chunks)
    learned, start = {}, 0
    for chunk in chunks:
        for i in range(len(chunk) + 1):
            learned[(chunk.id_, chunk.t_started + i)] = rows[start + i]
        start += len(chunk) + 1
    assert_stacks_equal(learned, frames, "learner")
    acted = {key: fed[key] for key in learned if key in fed}
    assert len(acted) > 300
    assert all(np.array_equal(acted[key], learned[key]) for key in acted)


@pytest.mark.parametrize("run", ["dqn_run", "latent_dqn_run"])
def test_dqn_replay_stacks_equal_the_acting_stacks(run, request):
    _, config, chunks, fed = request.getfixturevalue(run)
    frames = frames_by_step(chunks)
    replay = StackedFramePrioritizedEpisodeReplayBuffer(capacity=10_000, num_frames=NUM_FRAMES)
    replay.add(copy.deepcopy(chunks))
    n_step = config.n_step
    obs, next_obs = {}, {}
    for sample in replay.sample(3_000, n_step=n_step, gamma=0.9, beta=0.4):
        key = (sample.id_, sample.t_started)
        obs[key] = sample.get_observations(0)
        next_obs[(sample.id_, sample.t_started + int(sample.get_extra_model_outputs("n_step", 0)))] \
            = sample.get_observations(1)
    assert_stacks_equal(obs, frames, "replayed o_t")
    assert_stacks_equal(next_obs, frames, "replayed o_t+n")
    acted = [key for key in obs if key in fed]
    assert len(acted) > 100
    assert all(np.array_equal(obs[key], fed[key]) for key in acted)


@pytest.mark.parametrize("run", ["ppo_run", "dqn_run", "latent_dqn_run"])
def test_evaluate_builds_the_same_stacks(run, request):
    runner, _, chunks, _ = request.getfixturevalue(run)
    frames = frames_by_step(chunks)
    by_id = defaultdict(list)
    for chunk in chunks:
        by_id[chunk.id_].append(chunk)
    # Replay whole episodes (seen from their reset) through evaluate's connector pipelines.
    whole = [sorted(parts, key=lambda c: c.t_started) for parts in by_id.values()
             if min(c.t_started for c in parts) == 0]
    assert whole
    module = runner.module
    mario = module.model_config["mario"]
    env, _ = make_trained_env(mario)
    policy = build_policy(module, mario, env, explore=False)
    env.close()
    seen = {}
    inference = module.forward_inference
    for parts in whole:
        episode_id = parts[0].id_
        steps = [(c.get_actions(i), c.t_started + i + 1) for c in parts for i in range(len(c))]
        policy.start(frames[episode_id][0])
        for action, t_next in steps:
            def recording_forward(batch, _t=t_next - 1, _id=episode_id):
                seen[(_id, _t)] = batch["obs"].numpy()[0].copy()
                return inference(batch)

            module.forward_inference = recording_forward
            try:
                policy.act()
            finally:
                module.forward_inference = inference
            policy.observe(int(action), frames[episode_id][t_next], 0.0, False, False)
    assert len(seen) > 50
    assert_stacks_equal(seen, frames, "evaluate")


def test_dqn_stochastic_evaluation_is_epsilon_greedy_at_the_experiments_epsilon(dqn_run):
    """`evaluate --stochastic` on DQN: epsilon 0.05 (recorded in the checkpoint), not the
    module's training schedule at step 0 (epsilon 1.0, i.e. random play)."""
    runner, _, chunks, _ = dqn_run
    module = runner.module
    mario = module.model_config["mario"]
    assert mario["evaluation_epsilon"] == 0.05
    env, _ = make_trained_env(mario)
    greedy = build_policy(module, mario, env, explore=False)
    stochastic = build_policy(module, mario, env, explore=True, seed=1)
    env.close()
    first = chunks[0].get_observations(0)
    greedy.start(first)
    stochastic.start(first)
    best = greedy.act()
    actions = np.array([stochastic.act() for _ in range(2_000)])
    # Other actions: epsilon x 4/5 of the time (a random draw among 5 can be the greedy one).
    assert np.mean(actions != best) == pytest.approx(0.05 * 4 / 5, abs=0.015)
