"""The `ray up` files in scripts/cluster/: valid against Ray's own cluster-config schema (after
the defaults `ray up` fills in), and never exposing the dashboard. No cloud is contacted."""

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

CLUSTER_DIR = Path(__file__).resolve().parents[2] / "scripts" / "cluster"
FILES = sorted(CLUSTER_DIR.glob("*.yaml"))
CLOUD_FILES = [CLUSTER_DIR / "aws.yaml", CLUSTER_DIR / "gcp.yaml"]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_one_file_per_provider():
    assert {load(f)["provider"]["type"] for f in FILES} == {"aws", "gcp", "local"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_valid_against_rays_schema(path):
    validate_config(prepare_config(copy.deepcopy(load(path))))


def test_schema_check_is_real():
    config = load(CLUSTER_DIR / "aws.yaml")
    config["available_node_types"]["head"]["node_typo"] = {}
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(config))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_dashboard_stays_on_loopback(path):
    config = load(path)
    head_start = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head_start
    assert "0.0.0.0" not in path.read_text()
    # No firewall or security-group rule of ours opens the dashboard's port.
    assert "8265" not in yaml.safe_dump(config["provider"])
    for node_type in config["available_node_types"].values():
        assert "8265" not in yaml.safe_dump(node_type["node_config"])


@pytest.mark.parametrize("path", CLOUD_FILES, ids=lambda p: p.name)
def test_cloud_files_have_a_cpu_head_gpu_learners_and_cpu_runners(path):
    config = load(path)
    types = config["available_node_types"]
    assert set(types) == {"head", "gpu_learner", "cpu_runner"}
    assert config["head_node_type"] == "head"
    assert types["gpu_learner"]["docker"]["worker_image"].endswith("-gpu")
    assert config["docker"]["image"].endswith("-cpu")
    # The gpu preset's 16 one-CPU env runners fit the autoscaling bounds.
    assert types["cpu_runner"]["max_workers"] >= 1 and types["gpu_learner"]["max_workers"] >= 1
    # Every node installs this project.
    commands = " ".join(config["head_setup_commands"] + config["worker_setup_commands"]
                        + types["gpu_learner"]["worker_setup_commands"])
    assert commands.count("pip install -q -e ~/mario-rllib") == 3
    assert config["file_mounts"] == {"~/mario-rllib": "."}


@pytest.mark.parametrize("path", CLOUD_FILES, ids=lambda p: p.name)
def test_cloud_files_store_experiments_in_a_bucket_every_node_reaches(path):
    """A trial's driver may land on any node (ray/train/_internal/storage.py checks that the
    storage path is reachable from it): the file's command writes to a bucket, and every worker
    node type carries the role that reaches it (the head gets Ray's own: ray-autoscaler-v1 on
    AWS, ray-autoscaler-sa-v1 on GCP)."""
    config = load(path)
    scheme, credential = {"aws.yaml": ("s3://", "IamInstanceProfile"),
                          "gcp.yaml": ("gs://", "serviceAccounts")}[path.name]
    assert f"--storage-path {scheme}your-bucket/mario-runs" in path.read_text()
    assert "/home/ray/ray_results" not in path.read_text()
    for name in ("gpu_learner", "cpu_runner"):
        assert credential in config["available_node_types"][name]["node_config"], name
