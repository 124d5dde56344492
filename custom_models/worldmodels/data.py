"""World Models' rollouts on disk: Parquet files, one row per episode, frames as uint8 bytes.

[1] Ha & Schmidhuber 2018 collect random rollouts once and train V and M on them (10,000 for
CarRacing). Here the episodes come from RLlib's env runners (`sample(num_episodes=...,
random_actions=True)`), the driver writes each batch of them as one Parquet file, and V and M
stream them back a row group at a time, so the dataset never has to fit in memory:

    episode_id str                     RLlib's id of the episode
    obs        binary                  the frames, first to last: [T+1, 64, 64, C] uint8, raw
                                       bytes (the frame shape is in the file's metadata)
    actions    list<int64>  [T]        a_t, played after obs[t]
    rewards    list<float32> [T]       r_t, received after a_t
    terminated bool                    the episode ended in the game (death or flag), not by a
                                       time limit: M learns the end only from these
    x_pos_max  int64                   the furthest x position reached

Plain Arrow types, written and read with pyarrow in the trial's own process: Ray Data would run
its read and write tasks inside the trial's placement group, where every CPU is already held by
the driver and the env runners (on a laptop, all of them), so they would wait forever. Ray Data
reads the files as they are: `ray.data.read_parquet(dir)`, then `np.frombuffer(row["obs"],
np.uint8).reshape(-1, 64, 64, 3)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

FRAME_SHAPE_KEY = b"mario_rllib.frame_shape"
EPISODE_COLUMNS = ("episode_id", "obs", "actions", "rewards", "terminated", "x_pos_max")


def episodes_table(episodes: Iterable[Any]) -> pa.Table:
    """RLlib `SingleAgentEpisode`s (complete, or cut by a time limit) -> one Arrow row each."""
    columns: dict[str, list] = {name: [] for name in EPISODE_COLUMNS}
    frame_shape = None
    for episode in episodes:
        obs = np.ascontiguousarray(episode.get_observations(), dtype=np.uint8)
        frame_shape = obs.shape[1:]
        infos = episode.get_infos()
        columns["episode_id"].append(str(episode.id_))
        columns["obs"].append(obs.tobytes())
        columns["actions"].append(np.asarray(episode.get_actions(), dtype=np.int64))
        columns["rewards"].append(np.asarray(episode.get_rewards(), dtype=np.float32))
        columns["terminated"].append(bool(episode.is_terminated))
        columns["x_pos_max"].append(
            int(max(info.get("x_pos_max", info.get("x_pos", 0)) for info in infos)))
    schema = pa.schema([("episode_id", pa.string()), ("obs", pa.large_binary()),
                        ("actions", pa.list_(pa.int64())), ("rewards", pa.list_(pa.float32())),
                        ("terminated", pa.bool_()), ("x_pos_max", pa.int64())],
                       metadata={FRAME_SHAPE_KEY: json.dumps(frame_shape).encode()})
    return pa.table(columns, schema=schema)


def write_episodes(episodes: Iterable[Any], directory: str | Path, name: str) -> int:
    """Write the episodes to `directory/name.parquet`; returns how many were written."""
    table = episodes_table(episodes)
    if table.num_rows:
        Path(directory).mkdir(parents=True, exist_ok=True)
        staged = Path(directory, f".{name}.parquet.tmp")
        pq.write_table(table, staged, compression="zstd", row_group_size=8)
        staged.replace(Path(directory, f"{name}.parquet"))  # a crash leaves no half file
    return table.num_rows


def episode_files(directory: str | Path) -> list[Path]:
    return sorted(Path(directory).glob("*.parquet"))


def iter_episodes(directory: str | Path, columns: Iterable[str] = EPISODE_COLUMNS
                  ) -> Iterator[dict[str, Any]]:
    """Each episode in `directory`, file by file and row group by row group, as a dict of
    numpy arrays (`obs`: [T+1, 64, 64, C] uint8)."""
    for path in episode_files(directory):
        yield from _file_rows(path, list(columns))


def count_episodes(directory: str | Path) -> tuple[int, int]:
    """(episodes, agent steps) in `directory`, from the files' metadata and action lists."""
    episodes = steps = 0
    for path in episode_files(directory):
        table = pq.read_table(path, columns=["actions"])
        episodes += table.num_rows
        steps += int(pc.sum(pc.list_value_length(table["actions"])).as_py() or 0)
    return episodes, steps


def iter_frame_batches(directory: str | Path, batch_size: int, *, shuffle_frames: int,
                       rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Every frame once, in batches of `batch_size` ([N, 64, 64, C] uint8; the last may be
    smaller), shuffled through a buffer of about `shuffle_frames` frames, files in random order."""
    paths = episode_files(directory)
    pending: list[np.ndarray] = []  # episodes' frames not yet shuffled in
    for index in rng.permutation(len(paths)):
        for row in _file_rows(paths[index], ["obs"]):
            pending.append(row["obs"])
            if sum(map(len, pending)) >= shuffle_frames + batch_size:
                frames = np.concatenate(pending)
                frames = frames[rng.permutation(len(frames))]
                ready = (len(frames) - shuffle_frames // 2) // batch_size * batch_size
                yield from (frames[start:start + batch_size]
                            for start in range(0, ready, batch_size))
                pending = [frames[ready:]]
    if pending:
        frames = np.concatenate(pending)
        frames = frames[rng.permutation(len(frames))]
        yield from (frames[start:start + batch_size] for start in range(0, len(frames), batch_size))


def _file_rows(path: Path, columns: list[str]) -> Iterator[dict[str, Any]]:
    parquet = pq.ParquetFile(path)
    frame_shape = tuple(json.loads(parquet.schema_arrow.metadata[FRAME_SHAPE_KEY]))
    for batch in parquet.iter_batches(columns=columns):
        for row in batch.to_pylist():
            if "obs" in row:
                row["obs"] = np.frombuffer(row["obs"], np.uint8).reshape(-1, *frame_shape)
            for name, dtype in (("actions", np.int64), ("rewards", np.float32)):
                if name in row:
                    row[name] = np.asarray(row[name], dtype=dtype)
            yield row
