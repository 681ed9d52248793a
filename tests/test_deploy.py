"""The cluster files: the KubeRay RayJob manifest, its schema, the Ray image, and the CLI they call."""

import copy
import json
import re
import shlex

import jsonschema
import pytest
import yaml

from stance.cli import build_parser
from tests.conftest import ROOT

MANIFEST = ROOT / "deploy" / "kuberay" / "rayjob.yaml"
SCHEMA = ROOT / "deploy" / "kuberay" / "rayjob.schema.json"
DOCKERFILE = ROOT / "deploy" / "ray" / "Dockerfile"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def _errors(document: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def _pinned_ray() -> str:
    pins = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    return pins["ray"]


def test_the_manifest_is_a_valid_rayjob(manifest):
    assert _errors(manifest) == []


@pytest.mark.parametrize("mistake, path", [
    (lambda m: m["spec"].update(shutdownAfterJobFinish=True), "spec"),  # a typo the API server would prune
    (lambda m: m["spec"]["rayClusterSpec"]["workerGroupSpecs"][1]["rayStartParams"].update({"num-gpus": 4}),
     "num-gpus"),  # rayStartParams are strings
    (lambda m: m["spec"]["rayClusterSpec"]["workerGroupSpecs"][0].pop("groupName"), "workerGroupSpecs/0"),
    (lambda m: m["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]
     ["limits"].update(memory="8 GB"), "memory"),
    (lambda m: m["spec"].update(submissionMode="K8sMode"), "submissionMode"),
    (lambda m: m["spec"]["rayClusterSpec"]["authOptions"].update(mode="password"), "mode"),
])
def test_the_schema_rejects_mistakes(manifest, mistake, path):
    broken = copy.deepcopy(manifest)
    mistake(broken)
    errors = _errors(broken)
    assert errors and any(path in e for e in errors), errors


def test_worker_groups_fit_the_actors_the_entrypoint_asks_for(manifest):
    command = shlex.split(manifest["spec"]["entrypoint"])
    assert command[:2] == ["stance", "score"]
    args = build_parser().parse_args(command[1:])  # the entrypoint is a command the CLI accepts
    assert args.engine == "ray" and args.output.startswith("s3://")
    groups = {g["groupName"]: g for g in manifest["spec"]["rayClusterSpec"]["workerGroupSpecs"]}
    for group in groups.values():
        assert group["minReplicas"] <= group.get("replicas", 0) <= group["maxReplicas"]
        limits = group["template"]["spec"]["containers"][0]["resources"]["limits"]
        # Ray schedules by rayStartParams; Kubernetes by the limits: they must say the same.
        assert group["rayStartParams"]["num-cpus"] == limits["cpu"]
        assert group["rayStartParams"].get("num-gpus", "0") == limits.get("nvidia.com/gpu", "0")
    gpu = groups["gpu-classify"]
    gpus = gpu["maxReplicas"] * int(gpu["rayStartParams"]["num-gpus"])
    cpus = gpu["maxReplicas"] * int(gpu["rayStartParams"]["num-cpus"])
    assert args.actors * args.gpus_per_actor <= gpus and args.actors * args.cpus_per_actor <= cpus
    assert gpu["template"]["spec"]["containers"][0]["image"].endswith("-gpu")


def test_images_use_the_pinned_ray(manifest):
    ray = _pinned_ray()
    assert manifest["spec"]["rayClusterSpec"]["rayVersion"] == ray
    base = re.findall(r"rayproject/ray:([0-9.]+)-py(\d+)-(cpu|gpu)", DOCKERFILE.read_text(encoding="utf-8"))
    assert base and {version for version, _, _ in base} == {ray}
    assert {kind for _, _, kind in base} == {"cpu", "gpu"}  # the default build and the documented GPU one


def test_the_image_holds_the_package_and_the_model():
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "COPY --chown=ray:users models/minilm-stance ./models/minilm-stance" in text
    assert '".[ray]"' in text and "STANCE_MODEL_DIR=/opt/stance/models/minilm-stance" in text
    # The smoke check in the build imports what the job runs.
    assert "import stance.ray_engine" in text
