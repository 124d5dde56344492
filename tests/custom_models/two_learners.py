"""Run by `test_two_learners.py` in a process of its own: each algorithm's `debug` experiment with
two learner actors (torch DDP over gloo, on CPU), on a local Ray that declares enough CPUs for them
(the tests' shared Ray declares 2). Prints one JSON line per algorithm: the top-level parts of the
module whose weights moved on learner 0, and the parameters that differ between learners;
or the error that stopped it.

Usage: python two_learners.py ALGO=ITERATIONS ...
"""

from __future__ import annotations

import json
import sys

import ray
import torch
from ray.rllib.core import DEFAULT_MODULE_ID

from mario_rllib.env import register_mario_envs
from tune_configs import load_experiment


def learners_weights(algorithm) -> list[dict[str, torch.Tensor]]:
    """Every learner's module parameters, by name, on the CPU."""
    def weights(learner):
        module = learner.module[DEFAULT_MODULE_ID].unwrapped()
        return {name: tensor.detach().cpu().clone() for name, tensor in module.named_parameters()}
    return [result.get() for result in algorithm.learner_group.foreach_learner(weights)]


def main(runs: list[str]) -> None:
    ray.init(address="local", num_cpus=6, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    register_mario_envs()
    for run in runs:
        algo, iterations = run.split("=")
        config = load_experiment(algo).build_config("debug", num_learners=2, gpus_per_learner=0,
                                                    seed=0)
        algorithm = config.build_algo()
        try:
            start = learners_weights(algorithm)[0]
            for _ in range(int(iterations)):
                algorithm.train()
            first, *others = learners_weights(algorithm)
        except Exception as error:  # the next algorithm still runs
            print(json.dumps({"algo": algo, "error": f"{type(error).__name__}: {error}"[-2000:]}),
                  flush=True)
            continue
        finally:
            algorithm.stop()
        print(json.dumps({
            "algo": algo, "learners": 1 + len(others),
            "moved": sorted({name.split(".")[0] for name in first
                             if not torch.equal(first[name], start[name])}),
            "differ": sorted({name for other in others for name in first
                              if not torch.equal(first[name], other[name])}),
        }), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
