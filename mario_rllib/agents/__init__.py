"""Agents shipped with the package: trained RLModules that play right after the install.

Each agent is a folder here:
    <name>/agent.json        what it is and how well it plays (read without unpickling anything):
                             stage, action set, observation mode, frame stack and skip, how it
                             acts (greedy, or sampled with a seed per episode), agent steps, the
                             settings that trained it, and its evaluation over 100 episodes
    <name>/module/           the RLModule, as `RLModule.save_to_path` writes it, its weights stored
                             as float16 (half the bytes; loaded into the float32 module as it is
                             built). Plain RLlib loads it, given an absolute path (a relative
                             one is read as a URI): `RLModule.from_checkpoint(AGENTS_DIR / ...)`
    <name>/reference.npz     frame stacks the agent saw when it was shipped and its action logits
                             on them, so a test can check that today's code loads the same agent

`mario-rllib play NAME` and `mario-rllib evaluate NAME` take a name from here wherever they take a
checkpoint path. `scripts/ship_agent.py` makes a folder from a checkpoint.

A shipped module is pickled code, like any checkpoint; these come with the package itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mario_rllib.storage import is_uri

AGENTS_DIR = Path(__file__).resolve().parent
METADATA_FILE, MODULE_DIR, REFERENCE_FILE = "agent.json", "module", "reference.npz"
DEFAULT_AGENT = "ppo-1-1"
"""What `mario-rllib play` plays when no agent is named."""


def shipped_agents() -> dict[str, dict[str, Any]]:
    """name -> metadata of every agent shipped in this package, by name."""
    return {path.parent.name: json.loads(path.read_text())
            for path in sorted(AGENTS_DIR.glob(f"*/{METADATA_FILE}"))}


def resolve_agent(text: str) -> tuple[Path | str, dict[str, Any] | None]:
    """A shipped agent's name -> (its module directory, its metadata); anything else is a
    checkpoint path -> (that path, None); a bucket URI -> (that URI, None). A name has no '/':
    `./ppo-1-1` is always a path."""
    agents = shipped_agents()
    if "/" not in text and text in agents:
        return AGENTS_DIR / text / MODULE_DIR, agents[text]
    if is_uri(text):  # a checkpoint in a bucket: s3://..., gs://...
        return text, None
    path = Path(text).expanduser()
    if "/" not in text and not path.exists():
        names = ", ".join(agents) or "none in this install"
        raise ValueError(f"no agent or checkpoint {text!r}: expected a shipped agent ({names}) "
                         f"or a checkpoint directory of `mario-rllib train`")
    return path.resolve(), None  # a path that does not exist is refused where it is read


def describe(name: str, meta: dict[str, Any]) -> str:
    """One agent's metadata, as `mario-rllib play --list` prints it."""
    evaluation = meta["evaluation"]
    low, high = evaluation["flag_rate_ci95"]
    trained = meta["trained"]
    return "\n".join([
        f"{name}: {meta['algo'].upper()} on {meta['stage']}, {meta['action_set']} actions, "
        f"{meta['obs_mode']} frames x {meta['frame_stack']} stacked, frame skip "
        f"{meta['frame_skip']}; acts {meta['policy']}",
        f"  trained {trained['agent_steps']:,} agent steps ({trained['experiment']}"
        + (f", which started from {trained['started_from']['given']} at "
           f"{trained['started_from']['agent_steps']:,}" if "started_from" in trained else "")
        + f", preset {trained['preset']}, seed {trained['seed']}); settings: "
        + (", ".join(f"{k}={v}" for k, v in trained["settings"].items()) or "the defaults"),
        f"  evaluated on {evaluation['episodes']} episodes (seeds {evaluation['seeds']}"
        + (f", at most {evaluation['max_episode_steps']:,} steps each"
           if evaluation.get("max_episode_steps") else "")
        + f"): flag rate {evaluation['flag_rate']:.2f} (95% CI {low:.2f}-{high:.2f}), furthest "
        f"x_pos mean {evaluation['x_pos_mean']:,.0f}",
        f"  replay its best episode: mario-rllib play {name} --seed "
        f"{evaluation['best_episode_seed']} --episodes 1 --video {name}.gif",
    ])
