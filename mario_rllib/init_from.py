"""`mario-rllib train --init-from AGENT`: a new experiment whose RLModule starts from the weights of
a shipped agent or of a checkpoint, instead of from random ones.

A long run need not fit in one sitting on one machine: ship what it reached, and the next run
starts there. Only the module's weights carry over. The optimizer's state, learning-rate schedule,
replay buffers and step counters start fresh; the new experiment counts its own agent steps from 0
and records where it started (`init_from` in its experiment file, with the agent steps behind the
weights when they are known), so a result can state the total.

The weights are copied into the experiment directory first (`init_module/`), and RLlib loads them
from there (`RLModuleSpec.load_state_path`: the Algorithm restores them into its learners and then
syncs its env runners). So `train --resume` and the experiment's own record never depend on the
agent's folder, which a later ship may overwrite, and every node reads them from the experiment's
storage. Loading them unpickles code, as any checkpoint does: start only from agents you trust.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mario_rllib.storage import Location

INIT_DIR = "init_module"
"""Where an experiment keeps the module it started from."""

MUST_MATCH = ("action_set", "obs_mode", "frame_skip")
"""Env settings that give the weights their meaning: what each action index presses, what each
input pixel shows, how many frames each step spans."""


@dataclasses.dataclass
class InitFrom:
    given: str
    """As the user typed it: an agent's name or a checkpoint path."""
    module_dir: Location
    """The RLModule directory it resolved to."""
    trained: dict[str, Any] | None
    """A shipped agent's `trained` record (agent.json): the agent steps, training minutes and
    experiment behind these weights; None for a checkpoint."""

    @property
    def agent_steps(self) -> int | None:
        return self.trained["agent_steps"] if self.trained else None

    def record(self) -> dict[str, Any]:
        """What the experiment file keeps."""
        return {"given": self.given, "module": str(self.module_dir),
                **{key: (self.trained or {}).get(key)
                   for key in ("experiment", "agent_steps", "train_minutes")}}

    def describe(self) -> str:
        steps = f"{self.agent_steps:,} agent steps" if self.agent_steps is not None else \
            "agent steps unknown"
        return (f"starting from the RLModule of {self.given} ({steps}); its optimizer state, "
                f"schedules and step counts start fresh")


@dataclasses.dataclass(frozen=True)
class StartedFrom:
    """What an experiment file's `init_from` says, as the tools that count a run's steps read it:
    `scripts/ship_agent.py`, `learning_check.py --milestones`, `results --record`."""

    record: dict[str, Any]
    """The experiment file's record, without this machine's path to the module (what agent.json
    and the results records publish); {} for a run from random weights."""
    agent_steps: int
    """Agent steps behind the starting weights (0 when none, or not known)."""
    train_minutes: float
    """Training minutes behind them (0 when none, or not known)."""

    @classmethod
    def of(cls, experiment_meta: dict[str, Any]) -> StartedFrom:
        started = experiment_meta.get("init_from") or {}
        return cls({key: value for key, value in started.items() if key != "module"},
                   started.get("agent_steps") or 0, started.get("train_minutes") or 0)


def resolve_init(given: str, algo: str, config) -> InitFrom:
    """Check that the module of `given` (an agent's name or a checkpoint) fits the run `config`
    builds: same algorithm, same action set, frames and frame skip, and a state of the same
    tensor names and shapes as a module built from `config`. One-line ValueErrors otherwise."""
    from ray.rllib.core import DEFAULT_MODULE_ID

    from mario_rllib.agents import resolve_agent
    from mario_rllib.evaluate import load_module

    ours = config.model_config["mario"]
    wanted = {"algo": algo, **ours["env_config"], "frame_stack": ours["frame_stack"]}
    try:
        _, meta = resolve_agent(given)
    except ValueError as error:
        raise ValueError(f"bad --init-from: {error}") from error
    if meta:  # a shipped agent says what it is without unpickling anything
        check_fits(given, meta, wanted)
    try:
        module, mario, module_dir = load_module(given)
    except ValueError as error:
        raise ValueError(f"bad --init-from: {error}") from error
    check_fits(given, {"algo": mario["algo"], **mario["env_config"],
                       "frame_stack": mario["frame_stack"]}, wanted)
    spec = config.get_rl_module_spec(
        spaces={DEFAULT_MODULE_ID: (module.observation_space, module.action_space)},
        inference_only=False)
    fresh = {name: tuple(value.shape) for name, value in spec.build().state_dict().items()}
    loaded = {name: tuple(value.shape) for name, value in module.state_dict().items()}
    if fresh != loaded:
        differ = sorted(name for name in fresh.keys() | loaded.keys()
                        if fresh.get(name) != loaded.get(name))
        raise ValueError(f"bad --init-from {given!r}: its network differs from this run's in "
                         f"{len(differ)} tensor(s), e.g. {differ[0]!r} "
                         f"({loaded.get(differ[0])} there, {fresh.get(differ[0])} here)")
    return InitFrom(given, module_dir, meta["trained"] if meta else None)


def check_fits(given: str, theirs: dict[str, Any], wanted: dict[str, Any]) -> None:
    if theirs["algo"] != wanted["algo"]:
        raise ValueError(f"bad --init-from {given!r}: it was trained with {theirs['algo']}, this "
                         f"run is {wanted['algo']} (give --algo {theirs['algo']})")
    for key in (*MUST_MATCH, "frame_stack"):
        if theirs.get(key) != wanted.get(key):
            raise ValueError(f"bad --init-from {given!r}: it was trained with {key} "
                             f"{theirs.get(key)!r}, this run has {wanted.get(key)!r}")


def plant(init: InitFrom, experiment_dir: Location, config) -> None:
    """Copy the module into the experiment and have RLlib load it when the Algorithm is built."""
    import pyarrow.fs as pafs

    target = experiment_dir / INIT_DIR
    target.make_dir()  # a local filesystem makes no parent directories while copying
    pafs.copy_files(init.module_dir.path, target.path, source_filesystem=init.module_dir.fs,
                    destination_filesystem=target.fs)
    config.rl_module(rl_module_spec=dataclasses.replace(config.rl_module_spec,
                                                        load_state_path=str(target)))
