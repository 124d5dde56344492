"""What this machine gives a run: the CPUs this process may use, and the torch threads of a
learner that runs in the trial's driver. The floor of the project, as the env and the metrics
are: the app, the experiments and the models may all use it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path


def available_cpus(cgroup: str = "/sys/fs/cgroup") -> int:
    """The CPUs this process may use: its affinity mask, capped by a container's CPU quota
    (cgroup v2 `cpu.max` or v1 `cpu.cfs_quota_us`), as Ray counts a node's CPUs; at least 1.
    `os.cpu_count()` counts the host's CPUs, which a container may not have."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = None
    try:
        quota_text, period_text = Path(cgroup, "cpu.max").read_text().split()
        if quota_text != "max":
            quota = int(quota_text) / int(period_text)
    except (OSError, ValueError):
        try:
            quota_us = int(Path(cgroup, "cpu", "cpu.cfs_quota_us").read_text())
            if quota_us > 0:
                quota = quota_us / int(Path(cgroup, "cpu", "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            pass
    if quota is not None:
        count = min(count or 1, int(quota))
    return max(1, count or 1)


@dataclasses.dataclass(frozen=True)
class LocalLearnerThreads:
    """`on_algorithm_init`: with the learner in the trial's driver (`num_learners=0`: the debug
    and cpu presets), give torch `threads` threads for the update (default: every CPU).

    Ray gives the 1-CPU driver actor OMP_NUM_THREADS=1, but most of our algorithms sample and learn
    in turns, so the env runners' cores idle during the update (`mario-rllib bench learner` measures the
    gain). `mario-rllib train` shares the CPUs among the trials that run at once on this machine.
    A learner actor (`num_learners >= 1`, the gpu preset) keeps the threads Ray gives it.
    """

    threads: int | None = None

    def __call__(self, *, algorithm, **kwargs) -> None:
        if algorithm.config.num_learners == 0:
            import torch

            torch.set_num_threads(self.threads or available_cpus())


def local_learner_uses_every_core(*, algorithm, **kwargs) -> None:
    """`LocalLearnerThreads()` under its former name: experiments saved by earlier versions
    pickled a reference to it, and resume only if it still exists."""
    LocalLearnerThreads()(algorithm=algorithm)
