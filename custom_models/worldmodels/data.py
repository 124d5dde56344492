"""World Models' rollouts on disk: one Parquet row per episode, frames uint8, through Ray Data.

[1] Ha & Schmidhuber 2018 collect random rollouts once and train V and M on them (10,000 for
CarRacing). Here the episodes come from RLlib's env runners (`sample(num_episodes=...,
random_actions=True)`) and are written with Ray Data, so that V streams frames and M streams
whole episodes from Parquet files without holding the dataset in memory:

    episode_id str                    RLlib's id of the episode
    obs       [T+1, 64, 64, 3] uint8  the frames, first to last (a variable-shaped tensor)
    actions   [T] int64               a_t, played after obs[t]
    rewards   [T] float32             r_t, received after a_t
    terminated bool                   the episode ended in the game (death or flag), not by a
                                      time limit: M learns the end only from these
    x_pos_max int                     the furthest x position reached
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


def episode_rows(episodes: Iterable[Any]) -> list[dict[str, Any]]:
    """RLlib `SingleAgentEpisode`s (complete or cut by a time limit) -> Parquet rows."""
    rows = []
    for episode in episodes:
        infos = episode.get_infos()
        rows.append({
            "episode_id": str(episode.id_),
            "obs": np.asarray(episode.get_observations(), dtype=np.uint8),
            "actions": np.asarray(episode.get_actions(), dtype=np.int64),
            "rewards": np.asarray(episode.get_rewards(), dtype=np.float32),
            "terminated": bool(episode.is_terminated),
            "x_pos_max": int(max(info.get("x_pos_max", info.get("x_pos", 0)) for info in infos)),
        })
    return rows


def write_episodes(episodes: Iterable[Any], directory: str | Path) -> int:
    """Append the episodes to the Parquet dataset in `directory`; returns how many were written."""
    import ray

    rows = episode_rows(episodes)
    if rows:
        ray.data.from_items(rows).write_parquet(str(directory))
    return len(rows)


def read_episodes(directory: str | Path):
    """The episodes written to `directory`, as a streaming `ray.data.Dataset`."""
    import ray

    return ray.data.read_parquet(str(directory))


def read_frames(directory: str | Path):
    """Every frame of every episode, one row each (`obs`: [64, 64, 3] uint8), for V."""
    return read_episodes(directory).select_columns(["obs"]).flat_map(
        lambda row: [{"obs": frame} for frame in row["obs"]])
