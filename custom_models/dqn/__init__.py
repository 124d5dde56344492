"""Dueling Double DQN with prioritized replay for Mario:

    rl_module.py   MarioDuelingQRLM: Nature CNN torso, value and advantage streams, target copy
    learner.py     MarioDQNLearner: RLlib's DQN learner + importance-weight statistics, the last
                   target sync kept in its state
    replay.py      StackedFramePrioritizedEpisodeReplayBuffer: single LZ4 frames stored, stacked
                   n-step transitions sampled, every step of finished episodes replayed
    dqn.py         StackedReplayDQN: RLlib's DQN with that buffer, the training intensity as a
                   metric, a resume that goes on with its schedules
"""
