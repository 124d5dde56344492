"""Shared fixtures. Ray is started once per session, locally, with no dashboard, and only by the
tests that ask for it."""

from __future__ import annotations

import os

import pytest

# Keep Ray quiet and local in tests: no usage stats, no dashboard.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


@pytest.fixture(scope="session")
def ray_local():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield ray
    ray.shutdown()
