"""PPO for Mario: `rl_module.py` (MarioActorCriticRLM). RLlib's PPO learner and algorithm as they
are; the experiment is `tune_configs/ppo_mario.py`."""
