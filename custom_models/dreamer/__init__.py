"""DreamerV3 for Mario: RLlib's world model, actor and critic, fed uint8 frames, with the metrics a
user needs to trust the world model.

[1] Mastering Diverse Domains through World Models - 2023, D. Hafner, J. Pasukonis, J. Ba,
    T. Lillicrap, https://arxiv.org/pdf/2301.04104v1.pdf

    rl_module.py   MarioDreamerV3RLM: RLlib's DreamerV3 module (encoder, RSSM, decoder, reward and
                   continue heads, actor, critic) on uint8 64x64x3 frames
    learner.py     MarioDreamerV3Learner: RLlib's losses, plus world-model and actor/critic metrics
    metrics.py     SSIM, lambda-returns, the two-hot decoding: the maths the metrics use
    imagine.py     observe K real frames, then roll the world model open-loop for H steps
    replay.py      MarioEpisodeReplayBuffer: only what DreamerV3 replays
    algorithm.py   MarioDreamerV3: RLlib's DreamerV3 with that buffer, its training ratio counted
"""

import warnings

with warnings.catch_warnings():
    # RLlib's DreamerV3 package builds a debugging CartPole on import, which warns about its own
    # float64 bounds and observations: noise, not about Mario. Import DreamerV3 from here.
    warnings.simplefilter("ignore")
    from ray.rllib.algorithms.dreamerv3 import DreamerV3, DreamerV3Config
    from ray.rllib.algorithms.dreamerv3.dreamerv3_catalog import DreamerV3Catalog

__all__ = ["DreamerV3", "DreamerV3Catalog", "DreamerV3Config"]
