"""`mario-rllib train` and `--resume`: an experiment from `tune_configs/` run as a Tune experiment.

With no address, Ray starts locally in this process (dashboard on 127.0.0.1 only). With
`--address auto` (or inside `ray job submit`, which sets RAY_ADDRESS) the same command runs on the
cluster. Tune writes, under `<storage_path>/<name>/`: one directory per trial with checkpoints,
`progress.csv`, `result.json` and TensorBoard event files, plus the experiment state that `--resume`
restores. Nothing existing is ever deleted or overwritten.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import ray
from ray import tune
from ray.tune.search.variant_generator import generate_variants

from mario_rllib.env import ENV_OPTIONS, register_mario_envs
from mario_rllib.init_from import plant, resolve_init
from mario_rllib.machine import LocalLearnerThreads, available_cpus
from mario_rllib.metrics import (
    FLAG_RATE,
    STOP_FLAG_RATE,
    STOP_ITERS,
    STOP_TIMESTEPS,
    TUNE_METRIC,
    X_POS_MAX_MEAN,
)
from mario_rllib.population import (
    SCHEDULERS,
    SEARCHERS,
    Mutation,
    build_scheduler,
    build_searcher,
    config_differences,
    find_mutation,
)
from mario_rllib.progress import MarioStopper, ProgressCSV, ProgressLine
from mario_rllib.storage import (
    Location,
    check_writable,
    keep_credentials_out_of_ray,
    locate,
    location_of,
    one_line,
)
from tune_configs import DEFAULT_ALGO, load_experiment
from tune_configs.common import (
    ENV_KEYS,
    RESOURCE_PRESETS,
    experiment_setting_types,
    resolve_settings_with_sources,
)
from tune_configs.settings import RESOURCES, parse_value
from tune_configs.spaces import Space, parse_space

EXPERIMENT_FILE = "mario_rllib_experiment.json"
"""Written into each experiment directory at start: what `--resume` needs to know (the algorithm)."""


@dataclass
class TrainRequest:
    """Everything `mario-rllib train` was asked for, before any of it touches Ray."""

    algo: str = DEFAULT_ALGO
    preset: str = "cpu"
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    """Settings of the experiment file (levels, num_env_runners, lr, ...) -> value. A value given
    as text (a flag's, e.g. {"envs_per_runner": "16"}) is parsed by the setting's type."""
    sets: list[str] = field(default_factory=list)
    """`--set NAME=VALUE` items, parsed by the setting's type."""
    search: list[str] = field(default_factory=list)
    """`--search` items: `NAME=V1,V2` (a grid: every combination is a trial) or a distribution
    that Tune draws from, `NAME=loguniform:1e-5:1e-3` (`tune_configs.spaces`)."""
    num_samples: int = 1
    """Trials per grid point, with seeds seed, seed+1, ... (the emulator is deterministic, so
    repeats with one seed would be one run counted several times)."""
    stop_timesteps: int | None = None
    stop_flag_rate: float | None = None
    stop_iters: int | None = None
    checkpoint_every: int = 10
    keep_checkpoints: int = 5
    max_failures: int = 3
    """Tune restores a failed trial (its node lost, its actor killed) from its last checkpoint
    up to this many times (`FailureConfig`); a crashed env runner is RLlib's to restart."""
    storage_path: str = "ray_results"
    name: str | None = None
    address: str | None = None
    init_from: str | None = None
    """A shipped agent's name or a checkpoint: the RLModule starts from its weights
    (mario_rllib/init_from.py)."""
    scheduler: str | None = None
    """`--scheduler`: asha or pbt (mario_rllib/population.py); None: Tune's FIFO."""
    mutate: list[str] = field(default_factory=list)
    """`--mutate NAME=SPACE` items: what PBT perturbs, in `--search`'s drawn forms."""
    perturb_every: int | None = None
    """PBT ranks the population every N iterations (None: every checkpoint)."""
    grace_period: int = 10
    """ASHA stops no trial before this many iterations."""
    searcher: str | None = None
    """`--searcher optuna`; None: Tune's random search, seeded by `seed`."""
    max_concurrent_trials: int | None = None


def experiment_name(levels: str, algo: str, seed: int) -> str:
    """`{level}__{algo}__{seed}__{timestamp}`, as cleanrl names runs."""
    level = levels.replace(",", "+")
    return f"{level}__{algo}__{seed}__{time.strftime('%Y%m%d-%H%M%S')}"


def stop_criteria(request: TrainRequest, default: Mapping[str, Any]) -> dict[str, Any]:
    """The `--stop-*` flags if any is given (Tune stops a trial when any criterion is met)."""
    stop = {}
    if request.stop_timesteps is not None:
        stop[STOP_TIMESTEPS] = request.stop_timesteps
    if request.stop_flag_rate is not None:
        stop[STOP_FLAG_RATE] = request.stop_flag_rate
    if request.stop_iters is not None:
        stop[STOP_ITERS] = request.stop_iters
    return stop or dict(default)


def _split(item: str, flag: str, example: str) -> tuple[str, str]:
    name, sep, text = item.partition("=")
    if not sep or not name.strip() or not text.strip():
        raise ValueError(f"bad {flag} {item!r}: expected NAME=VALUE{example}")
    return name.strip(), text.strip()


def not_searchable(experiment: ModuleType) -> dict[str, str]:
    """Settings `--search` refuses, and why: the env's (recorded twice: in the env config and in
    the module's checkpoint config), the resources (one placement for every trial), schedules
    (lists: commas would split them), the flags of their own, and what the experiment file says
    it cannot search (its `NOT_SEARCHABLE` hook)."""
    why = {key: "an env setting: run one experiment per value" for key in ENV_KEYS}
    why.update({key: "a resource: every trial of an experiment has the same"
                for preset in RESOURCE_PRESETS.values() for key in preset})
    why.update({key: "a list: run one experiment per value with --set"
                for key, value in experiment.DEFAULTS.items() if isinstance(value, list)})
    why.update(getattr(experiment, "NOT_SEARCHABLE", {}))
    why.update({"seed": "use --num-samples N for seeds seed..seed+N-1"})
    return why


def resolve_request(request: TrainRequest) -> tuple[ModuleType, dict[str, Any],
                                                    dict[str, list[Any]]]:
    """The experiment module, the overrides (flags and --set, parsed by each setting's type) and
    the grid (--search); one-line ValueErrors for anything malformed."""
    experiment = load_experiment(request.algo)
    types = experiment_setting_types(experiment)
    overrides: dict[str, Any] = {}
    for name, value in request.overrides.items():
        flag = "--" + ("level" if name == "levels" else name.replace("_", "-"))
        overrides[name] = parse_value(name, value, types, flag) if isinstance(value, str) else value
    for item in request.sets:
        name, text = _split(item, "--set", " (e.g. lr=3e-4)")
        overrides[name] = parse_value(name, text, types)
    search: dict[str, Space] = {}
    refused = not_searchable(experiment)
    for item in request.search:
        name, text = _split(item, "--search", ",V2,... or NAME=FORM:... (e.g. lr=1e-4,3e-4 or "
                            "lr=loguniform:1e-5:1e-3)")
        if name in refused:
            raise ValueError(f"cannot search over {name!r}: {refused[name]}")
        space = parse_space(name, text, types)
        if name in overrides or name in search:
            raise ValueError(f"bad --search {item!r}: {name} is set twice")
        search[name] = space
    return experiment, overrides, search


def search_points(search: Mapping[str, Space]) -> Iterator[dict[str, Any]]:
    """The points of a search that `build_param_space` builds and validates: every point of the
    grids (the user asked for each), with every choice and both ends of every range (a rule is
    an interval), one drawn setting at a time, the others at their first end."""
    grids = {name: space for name, space in search.items() if not space.drawn}
    drawn = {name: space.ends() for name, space in search.items() if space.drawn}
    first = {name: ends[0] for name, ends in drawn.items()}
    varied = [first] + [{**first, name: end} for name, ends in drawn.items() for end in ends[1:]]
    for values in itertools.product(*(space.values for space in grids.values())):
        for point in varied:
            yield {**dict(zip(grids, values, strict=True)), **point}


def resolve_mutations(request: TrainRequest, experiment: ModuleType, overrides: Mapping[str, Any],
                      search: Mapping[str, Space]) -> dict[str, Mutation]:
    """The `--mutate` items, each found where RLlib's config holds it
    (`population.find_mutation`), after the scheduler's and searcher's flags are checked
    together; one-line ValueErrors."""
    if request.scheduler is not None and request.scheduler not in SCHEDULERS:
        raise ValueError(f"unknown scheduler {request.scheduler!r}: expected one of "
                         f"{', '.join(SCHEDULERS)}")
    if request.searcher is not None and request.searcher not in SEARCHERS:
        raise ValueError(f"unknown searcher {request.searcher!r}: expected one of "
                         f"{', '.join(SEARCHERS)}")
    pbt = request.scheduler == "pbt"
    if request.mutate and not pbt:
        raise ValueError("bad --mutate: only --scheduler pbt mutates settings")
    if request.perturb_every is not None and not pbt:
        raise ValueError("bad --perturb-every: only --scheduler pbt perturbs")
    if pbt:
        if not request.mutate:
            raise ValueError("bad --scheduler pbt: name what it mutates, e.g. "
                             "--mutate lr=loguniform:1e-5:1e-3")
        if request.num_samples * math.prod(len(s.values) for s in search.values()
                                           if not s.drawn) < 2:
            raise ValueError("bad --scheduler pbt: a population needs 2 trials or more "
                             "(--num-samples N)")
        every = request.perturb_every or request.checkpoint_every
        if every < 1 or every % request.checkpoint_every:
            raise ValueError(f"bad --perturb-every {every}: PBT clones checkpoints, so it must be "
                             f"a multiple of --checkpoint-every ({request.checkpoint_every})")
        if request.searcher is not None:
            raise ValueError("bad --searcher: PBT picks its own points; use one or the other")
    if request.searcher is not None:
        grids = [name for name, space in search.items() if not space.drawn]
        if grids or not search:
            raise ValueError(f"bad --searcher {request.searcher}: it draws from distributions; "
                             + (f"--search {grids[0]}=V1,V2 is a grid (use choice:V1,V2)"
                                if grids else "give it some with --search NAME=loguniform:...")
                             )
    types = experiment_setting_types(experiment)
    refused = not_searchable(experiment)
    mutations: dict[str, Mutation] = {}
    for item in request.mutate:
        name, text = _split(item, "--mutate", " (e.g. lr=loguniform:1e-5:1e-3)")
        if name in refused:
            raise ValueError(f"cannot mutate {name!r}: {refused[name]}")
        if name in overrides or name in search or name in mutations:
            raise ValueError(f"bad --mutate {item!r}: {name} is set twice")
        space = parse_space(name, text, types)
        if not space.drawn:
            raise ValueError(f"bad --mutate {item!r}: expected a distribution or a choice, e.g. "
                             f"{name}=choice:{text}")
        mutations[name] = find_mutation(name, space, lambda value, name=name: experiment.build_config(
            request.preset, seed=request.seed, **overrides, **{name: value}))
    return mutations


def build_param_space(request: TrainRequest):
    """The experiment's AlgorithmConfig, with Tune grid searches where asked, after every point
    of the grid was built and validated (RLlib's `validate()` and our settings' rules)."""
    experiment, overrides, search = resolve_request(request)
    mutations = resolve_mutations(request, experiment, overrides, search)
    search = {**search, **{name: mutation.space for name, mutation in mutations.items()}}
    # With a searcher, Tune asks it for --num-samples points, one seed for all (common random
    # numbers for the comparison); without, each sample is a seed of its own.
    seeds = [request.seed + i for i in range(1 if request.searcher else request.num_samples)]
    for point in search_points(search):
        try:
            experiment.build_config(request.preset, seed=seeds[0], **overrides, **point).validate()
        except ValueError as error:
            where = f" (search point {point})" if point else ""
            raise ValueError(one_line(error) + where) from error
    spaces = {name: space.to_tune() for name, space in search.items()}
    # --num-samples N: N seeds, each a grid point of its own, where Tune draws the distributions
    # anew: N draws per point of the other grids, each with its own seed.
    seed: Any = seeds[0] if len(seeds) == 1 else tune.grid_search(seeds)
    return experiment, experiment.build_config(request.preset, seed=seed, **overrides, **spaces)


def first_point(request: TrainRequest):
    """The config of the first point of the request's grid, with its first seed: one module."""
    experiment, overrides, search = resolve_request(request)
    first = {name: space.ends()[0] for name, space in search.items()}
    return experiment.build_config(request.preset, seed=request.seed, **overrides, **first)


def print_config(request: TrainRequest, print_fn: Callable[[str], None] = print) -> None:
    """`train --print-config`: every setting with its value and what set it, then what RLlib's
    resulting config changes from RLlib's own defaults. Builds and validates the config (every
    search point) as `train` does; starts no Ray and writes nothing."""
    experiment, config = build_param_space(request)
    _, overrides, search = resolve_request(request)
    settings, sources = resolve_settings_with_sources(
        experiment.DEFAULTS, experiment.PRESETS, request.preset,
        {**overrides, **{name: space.to_tune() for name, space in search.items()}},
        getattr(experiment, "RULES", {}))
    sources["seed"], settings["seed"] = "--seed", request.seed
    for name in search:
        sources[name] = "--search"
    for name, mutation in resolve_mutations(request, experiment, overrides, search).items():
        sources[name] = f"--mutate (at {'.'.join(mutation.path)})"
        settings[name] = mutation.space.text()
    print_fn(f"settings of {request.algo}, preset {request.preset} (each: value, what set it "
             f"(the experiment's default, a preset, a flag or --set, --search), what it is):")
    width = max(map(len, settings))
    meanings = {**{option.name: option.meaning for option in ENV_OPTIONS},
                **{name: setting.meaning for name, setting in {**RESOURCES,
                                                               **experiment.SETTINGS}.items()}}
    for name in sorted(settings):
        value = search[name].text() if name in search else settings[name]
        meaning = meanings.get(name, "")
        print_fn(f"  {name:<{width}}  {value!r:<28} {sources[name]:<16} {meaning}".rstrip())
    defaults = type(config)().to_dict()
    print_fn(f"RLlib's {type(config).__name__}, where it differs from RLlib's defaults:")
    for key, value in sorted(config.to_dict().items()):
        if key not in defaults or _differs(defaults[key], value):
            print_fn(f"  {key}: {value!r}")


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except Exception:  # arrays and the like: compare their text
        return repr(a) != repr(b)


def resources_per_trial(config) -> dict[str, float]:
    """CPUs and GPUs one trial asks Ray for, counted as RLlib places it: the driver (with a local
    learner when num_learners is 0), the env runners and the remote learners. `config` is an
    AlgorithmConfig or its dict (a trial's params.json)."""
    if isinstance(config, Mapping):
        config = SimpleNamespace(**config)
    cpus = config.num_cpus_for_main_process + config.num_env_runners * config.num_cpus_per_env_runner
    if config.num_learners == 0:
        gpus = config.num_gpus_per_learner
    else:
        gpus = config.num_learners * config.num_gpus_per_learner
        if not config.num_gpus_per_learner:
            per_learner = config.num_cpus_per_learner
            cpus += config.num_learners * (1 if per_learner == "auto" else per_learner)
    return {"CPU": cpus, "GPU": gpus}


def check_fits_this_machine(config, what: str) -> None:
    """With a local Ray, a trial that asks for more than the machine has waits PENDING forever:
    say so now, in one line. `what` names what asks (e.g. "preset 'gpu' with these flags")."""
    import torch

    need = resources_per_trial(config)
    have = {"CPU": available_cpus(), "GPU": torch.cuda.device_count()}
    if any(need[key] > have[key] + 1e-9 for key in need):
        raise ValueError(
            f"{what} asks for {need['CPU']:g} CPUs and {need['GPU']:g} GPUs per trial, but "
            f"this machine has {have['CPU']} CPUs and {have['GPU']} GPUs: lower "
            f"--num-env-runners, --num-learners or --gpus-per-learner, or pass --address of a "
            f"cluster"
        )


def learner_threads(config, trials: int) -> int:
    """Torch threads for each local learner: the machine's CPUs shared by the trials that run
    at once on it (as many as fit, at most `trials`)."""
    cpus = available_cpus()
    at_once = max(1, min(trials, int(cpus // max(resources_per_trial(config)["CPU"], 1e-9))))
    return max(1, cpus // at_once)


DASHBOARD_VARIABLE = "MARIO_RLLIB_DASHBOARD"
"""`MARIO_RLLIB_DASHBOARD=0`: a local Ray without its dashboard (about 2 s and a process less per
start; the tests run so). Unset or 1: with it."""


def local_dashboard() -> bool:
    """Whether a local Ray starts its dashboard (MARIO_RLLIB_DASHBOARD); a one-line ValueError
    for a value other than 0 or 1."""
    value = os.environ.get(DASHBOARD_VARIABLE, "1")
    if value not in ("0", "1"):
        raise ValueError(f"bad {DASHBOARD_VARIABLE}={value!r}: expected 1 (a local Ray with its "
                         f"dashboard, the default) or 0 (without)")
    return value == "1"


def init_ray(address: str | None) -> None:
    """Connect to `address` (a cluster), to RAY_ADDRESS, or start a local Ray bound to 127.0.0.1;
    a one-line ValueError if the cluster does not answer."""
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address is None and not os.environ.get("RAY_ADDRESS"):
        # A Ray of our own ("local": never one that `ray start` left running on this machine),
        # its dashboard and job API on loopback only: they run code for whoever reaches them.
        ray.init(address="local", dashboard_host="127.0.0.1", include_dashboard=local_dashboard())
        return
    target = address or os.environ["RAY_ADDRESS"]
    if target.startswith(("http://", "https://")):
        raise ValueError(
            f"bad --address {target!r}: that is a job API address; submit there with "
            f"`mario-rllib submit --address {target} -- TRAIN_FLAGS`, or give train 'auto' or "
            f"ray://HOST:10001")
    if target == "auto":  # where `ray start` records its head; ray.init would retry for ~25 s
        current = Path(tempfile.gettempdir(), "ray", "ray_current_cluster")
        if not current.is_file():
            raise ValueError(f"cannot connect to Ray at {target!r}: no running Ray cluster on "
                             f"this machine (start one with `ray start --head`, or pass "
                             f"--address ray://HOST:10001)")
        _reach(target, current.read_text().strip())
    elif target.startswith("ray://"):
        _reach(target, target.removeprefix("ray://"))
    try:
        ray.init(address=target)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise ValueError(f"cannot connect to Ray at {target!r}: {one_line(error)}") from error


def _reach(address: str, host_port: str) -> None:
    """A one-line ValueError unless something listens at HOST:PORT (within 5 s)."""
    host, _, port = host_port.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot reach Ray at {address!r}: {one_line(error)}") from error


def check_request(request: TrainRequest) -> None:
    """One-line ValueErrors for the numbers, the name and the storage path of a request; no Ray
    is started and nothing is left behind (the storage check makes and removes a directory)."""
    counts = {"--num-samples": request.num_samples, "--checkpoint-every": request.checkpoint_every,
              "--keep-checkpoints": request.keep_checkpoints,
              "--stop-timesteps": request.stop_timesteps, "--stop-iters": request.stop_iters,
              "--perturb-every": request.perturb_every, "--grace-period": request.grace_period,
              "--max-concurrent-trials": request.max_concurrent_trials}
    for flag, value in counts.items():
        if value is not None and value < 1:
            raise ValueError(f"bad {flag} {value}: expected an integer >= 1")
    if request.max_failures < 0:
        raise ValueError(f"bad --max-failures {request.max_failures}: expected an integer >= 0")
    rate = request.stop_flag_rate
    if rate is not None and not 0 < rate <= 1:
        raise ValueError(f"bad --stop-flag-rate {rate:g}: expected a number in (0, 1]")
    if not 0 <= request.seed < 2**31:
        raise ValueError(f"bad --seed {request.seed}: expected an integer from 0 to 2**31 - 1")
    if request.name is not None:
        check_experiment_name(request.name)
    check_storage_path(request.storage_path, "--storage-path")


def check_experiment_name(name: str) -> None:
    """An experiment's name is one directory under the storage path, never a path out of it."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"bad --name {name!r}: expected one directory name (no '/', not '.' "
                         f"or '..'), e.g. long-run-s0")


def check_storage_path(path: str, flag: str) -> Location:
    """The Location of `--storage-path`, or a one-line ValueError unless this process can write
    there: a local directory (or shared mount) that exists or can be made, or a bucket prefix
    (`s3://`, `gs://`) that exists with credentials that may write (mario_rllib/storage.py)."""
    location = locate(path, flag)
    check_writable(location, flag, path)
    return location


@ray.remote(num_cpus=0)
def _read_marker(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def check_every_node_sees(storage: Location, given: str) -> None:
    """A one-line ValueError unless every alive node of the cluster sees the local directory
    `storage` as this process does: a marker written here must be read back by a task on each
    node. Tune places a trial's driver on any node, and each driver writes its checkpoints under
    the storage path (Ray checks it at the first checkpoint, in
    ray/train/_internal/storage.py); a directory on one node's own disk fails there, after the
    experiment has started. Nothing is left behind."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [node for node in ray.nodes() if node["Alive"]]
    if len(nodes) < 2:
        return
    made = not storage.exists()
    storage.make_dir()
    marker, token = storage / f".mario-rllib-shared-{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        marker.write_text(token)
        seen = ray.get([_read_marker.options(scheduling_strategy=NodeAffinitySchedulingStrategy(
            node["NodeID"], soft=False)).remote(marker.path) for node in nodes], timeout=120)
    finally:
        storage.fs.delete_file(marker.path)
    blind = [node for node, text in zip(nodes, seen, strict=True) if text != token]
    if blind:
        if made:
            storage.fs.delete_dir(storage.path)
        where = ", ".join(f"{node['NodeManagerAddress']} ({node['NodeID'][:8]})" for node in blind)
        raise ValueError(
            f"bad --storage-path {given!r}: {len(blind)} of the cluster's {len(nodes)} nodes do "
            f"not see it ({where}), and a trial may run on any node; give a bucket "
            f"(s3://BUCKET/PREFIX, gs://BUCKET/PREFIX) or a shared mount that every node sees")


def train(request: TrainRequest) -> int:
    """Run the experiment through Tune; return 0 when every trial finished, 1 otherwise."""
    check_request(request)
    # Everything that can be wrong with the request fails here, before Ray starts.
    experiment, config = build_param_space(request)
    local = request.address is None and not os.environ.get("RAY_ADDRESS")
    if local:
        check_fits_this_machine(config, f"preset {request.preset!r} with these flags")
        trials = len(list(generate_variants(config.to_dict()))) * (
            request.num_samples if request.searcher else 1)
        config.callbacks(on_algorithm_init=LocalLearnerThreads(learner_threads(config, trials)))
    init = resolve_init(request.init_from, request.algo, first_point(request)) \
        if request.init_from else None
    stop = stop_criteria(request, experiment.STOP)
    storage = locate(request.storage_path, "--storage-path")
    name = request.name or experiment_name(config.env_config["levels"], request.algo, request.seed)
    experiment_dir = storage / name
    if experiment_dir.exists():
        raise ValueError(
            f"experiment directory {str(experiment_dir)!r} exists: continue it with "
            f"`mario-rllib train --resume {experiment_dir}` or pick another --name"
        )
    init_ray(request.address)  # nothing is written before the cluster answers
    keep_credentials_out_of_ray()
    if not local and storage.local:
        check_every_node_sees(storage, request.storage_path)
    experiment_dir.make_dir()
    _, overrides, search = resolve_request(request)
    mutations = resolve_mutations(request, experiment, overrides, search)
    searched = {name: space.text() for name, space in search.items()}
    changed = {name: value for name, value in {**overrides, **searched}.items()
               if name != "levels"}
    tuning = {"scheduler": request.scheduler, "searcher": request.searcher,
              "mutate": {name: {"space": m.space.text(), "path": ".".join(m.path)}
                         for name, m in mutations.items()}}
    (experiment_dir / EXPERIMENT_FILE).write_text(json.dumps({
        "algo": request.algo, "preset": request.preset,
        "stop": stop, "argv": sys.argv[1:],
        "settings": changed,  # what flags, --set and --search changed from the preset's values
        **({"init_from": init.record()} if init else {}),
        **({"tune": tuning} if request.scheduler or request.searcher else {}),
    }, indent=2) + "\n")
    if init:
        plant(init, experiment_dir, config)

    register_mario_envs()
    print(f"experiment {name}: {request.algo} on {config.env_config['levels']}, "
          f"preset {request.preset}, stop at {_describe_stop(stop)}", flush=True)
    print(f"  writing to {experiment_dir}" + (f"  (TensorBoard: tensorboard --logdir {storage})"
                                              if storage.local else ""), flush=True)
    if init:
        print(f"  {init.describe()}", flush=True)
    if hasattr(experiment, "describe"):  # what an iteration does, where it is not obvious
        print(f"  {experiment.describe(config)}", flush=True)
    # Tune's own output (a configuration box, result paths, tables) gives way to ProgressLine:
    # with its legacy reporter, verbose=0 is silent.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    tuner = tune.Tuner(
        config.algo_class,  # a class: a name would make Tune import every RLlib algorithm
        param_space=config,
        tune_config=tune.TuneConfig(
            trial_dirname_creator=trial_dirname,
            # Tune's random search, seeded (--search's draws repeat with --seed), or --searcher.
            search_alg=build_searcher(request.searcher, request.seed,
                                      request.max_concurrent_trials),
            num_samples=request.num_samples if request.searcher else 1,
            scheduler=build_scheduler(
                request.scheduler, mutations=mutations,
                perturb_every=request.perturb_every or request.checkpoint_every,
                max_iters=request.stop_iters, grace_period=request.grace_period,
                seed=request.seed),
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=str(storage),
            stop=MarioStopper(stop),
            checkpoint_config=tune.CheckpointConfig(
                checkpoint_frequency=request.checkpoint_every,
                checkpoint_at_end=True,
                num_to_keep=request.keep_checkpoints,
            ),
            failure_config=tune.FailureConfig(max_failures=request.max_failures),
            callbacks=[ProgressLine(), ProgressCSV()],
            verbose=0,  # our ProgressLine replaces Tune's tables
        ),
    )
    return _report(tuner.fit(), experiment_dir, stop)


def resume(experiment_dir: str, address: str | None = None) -> int:
    """Continue the unfinished and errored trials of an experiment from their last checkpoints.

    `Tuner.restore` is given the experiment's own trainable and `resume_errored=True`; restoring
    with the wrong arguments silently starts trials over (ray-project/ray#43266), which
    tests/test_experiment.py guards against by checking that the step counter goes on.
    """
    path = locate(experiment_dir, "--resume")
    if not path.is_dir():
        raise ValueError(
            f"cannot resume {experiment_dir!r}: no such directory (expected an experiment "
            f"directory, e.g. ray_results/1-1__ppo__0__20261122-101500)"
        )
    meta_file = path / EXPERIMENT_FILE
    if not meta_file.is_file() or not tune.Tuner.can_restore(str(path)):
        raise ValueError(
            f"cannot resume {experiment_dir!r}: it holds no mario-rllib Tune experiment "
            f"({EXPERIMENT_FILE} and Tune's experiment state are missing)"
        )
    meta = json.loads(meta_file.read_text())
    trainable = load_experiment(meta["algo"]).build_config().algo_class
    check_trials_load(path, trainable)
    if address is None and not os.environ.get("RAY_ADDRESS"):
        for trial in path.children("trial_*"):
            if (trial / "params.json").is_file():
                check_fits_this_machine(json.loads((trial / "params.json").read_text()),
                                        f"experiment {path.name!r} (preset {meta['preset']!r})")
    init_ray(address)
    keep_credentials_out_of_ray()
    register_mario_envs()
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # Tune's own tables: see train()
    print(f"resuming experiment {path.name} ({meta['algo']}), stop at "
          f"{_describe_stop(meta['stop'])}", flush=True)
    tuner = tune.Tuner.restore(
        str(path), trainable=trainable, resume_unfinished=True,
        resume_errored=True,
    )
    return _report(tuner.fit(), path, meta["stop"])


def check_trials_load(path: Location, trainable: type) -> None:
    """A one-line ValueError unless every trial of Tune's newest experiment state loads.

    Tune pickles each trial's config, with references to our code. If one no longer loads (an
    experiment saved by another version), `Tuner.restore` logs the error, starts the experiment
    over with an empty config, and writes a newer experiment state that hides the old trials:
    nothing is resumed and the experiment looks lost. Checked here first, nothing is touched.
    """
    from ray.tune.execution.experiment_state import _find_newest_experiment_checkpoint
    from ray.tune.experiment.trial import Trial
    from ray.tune.registry import register_trainable

    register_trainable(trainable.__name__, trainable)  # as Tuner.restore does
    state_file = _find_newest_experiment_checkpoint(path.path, path.fs)
    if state_file is None:
        return
    for trial_state, _ in json.loads(Location(path.fs, state_file, path.scheme).read_text())["trial_data"]:
        try:
            Trial.from_json_state(trial_state)
        except Exception as error:  # unpickling fails in as many ways as code can change
            raise ValueError(
                f"cannot resume {str(path)!r}: a trial's saved config does not load with this "
                f"version of mario-rllib ({type(error).__name__}: {one_line(error)}); "
                f"nothing was changed") from error


def trial_dirname(trial) -> str:
    """Short trial directories: `trial_<id>` (Tune's default repeats every searched value)."""
    return f"trial_{trial.trial_id}"


def _describe_stop(stop: Mapping[str, Any]) -> str:
    return " or ".join(f"{key.split('/')[-1]} >= {value:,}" if isinstance(value, int)
                       else f"{key.split('/')[-1]} >= {value}" for key, value in stop.items())


def _report(results, experiment_dir: Location, stop: Mapping[str, Any]) -> int:
    """A line per trial, then the best trial and its settings where there are several, then what
    to run next. Exit status 1 unless every trial finished."""
    unfinished = []
    stopper = MarioStopper(stop)
    for result in results:
        metrics = result.metrics or {}
        if result.error is not None:
            status = f"ERROR {type(result.error).__name__}"
        elif metrics.get("done") and not stopper("", metrics):
            status = (f"stopped early by the scheduler at iteration "
                      f"{metrics.get('training_iteration')}")
        elif metrics.get("done"):
            status = "done"
        else:  # interrupted (Ctrl-C) before its stop criteria
            status = "interrupted"
        if status != "done" and not status.startswith("stopped early"):
            unfinished.append(result)
        checkpoint = (location_of(result.checkpoint.filesystem, result.checkpoint.path)
                      if result.checkpoint else "none")
        print(f"trial {Path(result.path).name}: {status}; last checkpoint: {checkpoint}",
              flush=True)
    best = best_trial(results)
    if best:
        print(best, flush=True)
    good = [result for result in results if result.checkpoint is not None]
    if good:
        first = location_of(good[0].checkpoint.filesystem, good[0].checkpoint.path)
        print(f"evaluate:  mario-rllib evaluate {first}", flush=True)
    if unfinished:
        print(f"resume:    mario-rllib train --resume {experiment_dir}", flush=True)
    failed = [result for result in unfinished if result.error is not None]
    if failed:
        errors = (experiment_dir / Path(r.path).name / "error.txt" for r in failed)
        print(f"errors:    {', '.join(map(str, errors))}",
              file=sys.stderr, flush=True)
    print(f"plot:      mario-rllib plot {experiment_dir}", flush=True)
    return 1 if unfinished else 0


def best_trial(results) -> str | None:
    """`best trial trial_x: flag rate 0.12, x_pos 1,432 (last 100 episodes); lr=0.000128 ...`:
    the trial with the highest `TUNE_METRIC` at its last result, and the settings in which the
    trials' final configs differ (after PBT: the mutated values it ended with); None for one
    trial."""
    ranked = [result for result in results if result.metrics and result.config]
    if len(ranked) < 2:
        return None
    runners = [result.metrics.get("env_runners", {}) for result in ranked]
    scores = [r.get(TUNE_METRIC.split("/")[1], 0.0) for r in runners]
    index = max(range(len(ranked)), key=scores.__getitem__)
    best, best_runners = ranked[index], runners[index]
    varied = {".".join(path) for other in ranked if other is not best
              for path, _, _ in config_differences(best.config, other.config)}
    values = []
    for name in sorted(varied):
        value: Any = best.config
        for key in name.split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        values.append(f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}")
    flag, x_pos = best_runners.get(FLAG_RATE, math.nan), best_runners.get(X_POS_MAX_MEAN, math.nan)
    return (f"best trial {Path(best.path).name}: flag rate {flag:.2f}, x_pos {x_pos:,.0f} (last "
            f"100 episodes); " + (", ".join(values) or "the same settings"))


