"""What our replay buffers drop from RLlib's episodes: what no algorithm of ours replays."""

from __future__ import annotations

import gymnasium as gym
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

_NO_INFO: dict = {}  # stands in for every stored step's info dict (never replayed)


def trim_for_replay(episode: SingleAgentEpisode, space: gym.Space | None) -> gym.Space:
    """Drop from an episode chunk what neither DQN nor DreamerV3 replays; return the shared space.

    Per-step info dicts cost about a frame's worth of bytes a step, and each episode carries its
    own observation-space object, whose low/high arrays cost as much as several gray frames
    (`mario-rllib bench replay` weighs them). Infos are replaced by one shared empty dict, and
    every episode gets the first episode's space object (`space`, None at first). Frames,
    actions, rewards and flags are kept.
    """
    episode.infos.data = [_NO_INFO] * len(episode.infos.data)
    if episode.is_done:  # kept only to append a next chunk, which a done episode never gets
        episode._last_added_observation = episode._last_added_infos = None
    if space is None:
        return episode.observation_space
    if episode.observation_space == space:
        episode.observation_space = space
    return space
