"""Latent-space Dueling Double DQN: World Models' VAE as the encoder, a latent dynamics model with
a reward head, and DQN's dueling head, replay and learner on the latent state."""
