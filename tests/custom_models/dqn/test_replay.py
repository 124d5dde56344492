"""Our replay buffer by hand: single frames in, stacked n-step transitions out, prioritized
importance weights, beta annealing. No Ray."""

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from custom_models.dqn.replay import StackedFramePrioritizedEpisodeReplayBuffer

FRAME = (2, 2, 1)  # tiny frames: frame t is filled with the value 10 + t


def episode(rewards, terminated=True):
    space = gym.spaces.Box(0, 255, FRAME, np.uint8)
    frames = [np.full(FRAME, 10 + t, np.uint8) for t in range(len(rewards) + 1)]
    return SingleAgentEpisode(observations=frames, observation_space=space,
                              actions=[1] * len(rewards), action_space=gym.spaces.Discrete(2),
                              rewards=list(rewards), terminated=terminated, len_lookback_buffer=0)


def buffer(**kwargs):
    replay = StackedFramePrioritizedEpisodeReplayBuffer(capacity=100, num_frames=4, **kwargs)
    replay.rng = np.random.default_rng(0)
    return replay


def by_start(samples):
    return {s.t_started: s for s in samples}


@pytest.mark.parametrize("compress", [True, False], ids=["lz4", "arrays"])
def test_n_step_returns_and_stacked_frames_by_hand(compress):
    replay = buffer(alpha=1.0, compress_frames=compress)
    replay.add(episode([1.0, 2.0, 4.0, 8.0, 16.0]))
    samples = by_start(replay.sample(200, n_step=3, gamma=0.5, beta=0.0))
    # Every step of a finished episode starts a transition: the last two with the k < 3 steps
    # left before the end (RLlib's own buffer never replays them).
    assert set(samples) == {0, 1, 2, 3, 4}
    rewards = {t: s.get_rewards(0) for t, s in samples.items()}
    assert rewards == {0: 1 + 0.5 * 2 + 0.25 * 4, 1: 2 + 0.5 * 4 + 0.25 * 8,
                       2: 4 + 0.5 * 8 + 0.25 * 16, 3: 8 + 0.5 * 16, 4: 16}
    n_steps = {t: s.get_extra_model_outputs("n_step", 0) for t, s in samples.items()}
    assert n_steps == {0: 3, 1: 3, 2: 3, 3: 2, 4: 1}  # the learner bootstraps with gamma**k
    assert [samples[t].is_terminated for t in range(5)] == [False, False, True, True, True]
    first = samples[0]
    obs, next_obs = first.get_observations(0), first.get_observations(1)
    assert obs.shape == (2, 2, 4) and obs.dtype == np.uint8
    assert obs[0, 0].tolist() == [0, 0, 0, 10]  # zeros before the episode's first frame
    assert next_obs[0, 0].tolist() == [10, 11, 12, 13]  # frames 0..3 (t + n = 3)
    assert samples[2].get_observations(1)[0, 0].tolist() == [12, 13, 14, 15]
    assert samples[4].get_observations(0)[0, 0].tolist() == [11, 12, 13, 14]
    assert samples[4].get_observations(1)[0, 0].tolist() == [12, 13, 14, 15]  # the last frame
    # The buffer itself holds single frames (as LZ4 blocks when compressed).
    stored = replay.episodes[0].get_observations(0)
    assert isinstance(stored, bytes) is compress
    assert replay._frame(stored).shape == FRAME
    assert replay.stored_frame_bytes() == (
        sum(len(f) for f in replay.episodes[0].observations.data) if compress else 6 * 4)


def test_a_truncated_episode_ends_with_short_transitions_that_bootstrap():
    replay = buffer(alpha=1.0)
    replay.add(episode([1.0, 1.0, 1.0, 1.0], terminated=False).to_numpy())
    replay.episodes[0].is_truncated = True
    samples = by_start(replay.sample(200, n_step=3, gamma=0.9, beta=0.0))
    assert set(samples) == {0, 1, 2, 3}
    assert samples[3].get_rewards(0) == 1.0 and samples[3].get_extra_model_outputs("n_step", 0) == 1
    assert samples[2].get_rewards(0) == pytest.approx(1.9)
    assert [samples[t].is_truncated for t in range(4)] == [False, True, True, True]
    assert not any(samples[t].is_terminated for t in range(4))


def test_a_running_episode_waits_for_its_next_steps():
    """Starts whose n steps have not been sampled yet are drawn again, not shortened."""
    space = gym.spaces.Box(0, 255, FRAME, np.uint8)
    running = SingleAgentEpisode(observation_space=space, action_space=gym.spaces.Discrete(2))
    running.add_env_reset(observation=np.full(FRAME, 10, np.uint8))
    for t in range(1, 6):
        running.add_env_step(np.full(FRAME, 10 + t, np.uint8), 1, float(t))
    replay = buffer(alpha=1.0)
    replay.add(running.to_numpy())
    assert set(by_start(replay.sample(200, n_step=3, gamma=0.9, beta=0.0))) == {0, 1, 2}


def test_every_step_of_finished_episodes_gets_a_td_update():
    """The priorities of all stored steps move once DQN updates them; none stays at the
    maximum (the 8 frames before a death used to keep it forever)."""
    replay = buffer(alpha=0.6)
    for length in (7, 5, 9):
        replay.add(episode([0.5] * length))
    for _ in range(60):
        replay.sample(16, n_step=3, gamma=0.9, beta=0.4)
        replay.update_priorities(np.full(16, 0.01))  # what DQN does with the TD errors
    priorities = [replay._sum_segment[tree_idx] for _, _, tree_idx in replay._indices]
    assert len(priorities) == 21 and max(priorities) < replay._max_priority ** 0.6


def test_running_episode_added_in_chunks_is_stacked_across_the_boundary():
    """Env runners hand over a running episode in chunks (same id); RLlib concatenates them in
    the buffer, which must work on compressed frames too."""
    space = gym.spaces.Box(0, 255, FRAME, np.uint8)
    running = SingleAgentEpisode(observation_space=space, action_space=gym.spaces.Discrete(2))
    running.add_env_reset(observation=np.full(FRAME, 10, np.uint8))
    for t in range(1, 4):
        running.add_env_step(np.full(FRAME, 10 + t, np.uint8), 1, float(t))
    running.to_numpy()
    successor = running.cut()
    for t in range(4, 7):
        successor.add_env_step(np.full(FRAME, 10 + t, np.uint8), 1, float(t), terminated=t == 6)
    successor.to_numpy()
    replay = buffer(alpha=1.0)
    replay.add(running)
    replay.add(successor)
    assert len(replay.episodes) == 1 and replay.get_num_timesteps() == 6
    # the per-episode byte count follows the episode as it grows
    assert replay.stored_frame_bytes() == sum(len(f) for f in replay.episodes[0].observations.data)
    samples = by_start(replay.sample(300, n_step=1, gamma=0.9, beta=0.0))
    assert set(samples) == set(range(6))
    assert samples[4].get_observations(0)[0, 0].tolist() == [11, 12, 13, 14]
    assert samples[5].get_observations(1)[0, 0].tolist() == [13, 14, 15, 16]


def test_importance_weights_by_hand():
    replay = buffer(alpha=1.0)
    replay.add(episode([0.0] * 4))
    # Priorities 1, 2, 3, 4 for t = 0..3 (set as DQN does: after a sample, for its indices).
    tree_index = {replay._indices[i][1]: replay._indices[i][2] for i in range(4)}
    replay._last_sampled_indices = [tree_index[t] for t in range(4)]
    replay.update_priorities(np.array([1.0, 2.0, 3.0, 4.0]))
    samples = replay.sample(4000, n_step=1, gamma=0.9, beta=1.0)
    # P(t) = p_t / 10; w_t = (N P(t))^-beta / max_w = (0.4 / (4 P(t))) for beta = 1.
    expected = {0: 1.0, 1: 0.5, 2: 1 / 3, 3: 0.25}
    for s in samples:
        assert s.get_extra_model_outputs("weights", 0) == pytest.approx(expected[s.t_started])
    counts = np.bincount([s.t_started for s in samples], minlength=4) / len(samples)
    assert counts == pytest.approx([0.1, 0.2, 0.3, 0.4], abs=0.03)


def test_beta_anneals_linearly_to_one_over_added_steps():
    replay = buffer(alpha=0.6, beta_anneal_steps=20)
    assert replay.annealed_beta(0.4) == pytest.approx(0.4)
    replay.add(episode([0.0] * 10))
    assert replay.annealed_beta(0.4) == pytest.approx(0.7)
    replay.add(episode([0.0] * 15))
    assert replay.annealed_beta(0.4) == pytest.approx(1.0)
    replay.sample(2, n_step=1, beta=0.4)
    assert replay.current_beta == pytest.approx(1.0)
    assert buffer(alpha=0.6).annealed_beta(0.4) == 0.4  # no annealing asked
