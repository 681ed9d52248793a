"""The cluster files: the KubeRay RayJob manifest, its schema, the Ray image, and the CLI they call."""

import copy
import json
import re
import shlex
from pathlib import Path

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


# --- the HTTP service on Kubernetes -------------------------------------------------------------

KUBERNETES = ROOT / "deploy" / "kubernetes" / "stance.yaml"


@pytest.fixture(scope="module")
def kubernetes() -> dict[str, dict]:
    """The manifest's workloads by name."""
    docs = [d for d in yaml.safe_load_all(KUBERNETES.read_text(encoding="utf-8")) if d]
    return {d["metadata"]["name"] + "/" + d["kind"]: d for d in docs}


def _container(workload: dict) -> dict:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def _bento_port() -> int:
    import bentoml

    config = Path(bentoml.__file__).parent / "_internal/configuration/v2/default_configuration.yaml"
    return yaml.safe_load(config.read_text())["services"]["http"]["port"]


def test_the_replicas_probe_the_services_real_routes_on_the_bento_port(kubernetes):
    from service.middleware import OPEN_PATHS

    port = _bento_port()
    for name in ("stance/Deployment", "stance-store/StatefulSet"):
        container = _container(kubernetes[name])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": port}, name
        for probe in ("readinessProbe", "livenessProbe"):
            get = container[probe]["httpGet"]
            # Open paths: a probe carries no token, and the service answers them without one.
            assert get["path"] in OPEN_PATHS and get["port"] == "http", (name, probe)
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_replicas_scale_out_and_one_server_holds_the_store(kubernetes):
    classify, store = kubernetes["stance/Deployment"], kubernetes["stance-store/StatefulSet"]
    assert classify["spec"]["replicas"] >= 2
    assert _env(_container(classify))["STANCE_STORE"] == "off"
    assert "STANCE_DB" not in _env(_container(classify))
    assert store["spec"]["replicas"] == 1 and _env(_container(store))["STANCE_WORKERS"] == "1"
    (mount,) = _container(store)["volumeMounts"]
    assert _env(_container(store))["STANCE_DB"].startswith(mount["mountPath"] + "/")
    assert mount["name"] in {t["metadata"]["name"] for t in store["spec"]["volumeClaimTemplates"]}
    for service in ("stance/Service", "stance-store/Service"):
        selector = kubernetes[service]["spec"]["selector"]
        target = classify if service.startswith("stance/") else store
        assert selector == target["spec"]["template"]["metadata"]["labels"]


def test_cpu_requests_are_workers_times_threads_and_every_variable_is_read(kubernetes):
    from service import corpus, limits
    from stance import store
    from stance.backends import batching

    read = {limits.WORKERS_ENV, batching.THREADS_ENV, corpus.STORE_ENV, store.DB_ENV}
    for name in ("stance/Deployment", "stance-store/StatefulSet"):
        container = _container(kubernetes[name])
        env = _env(container)
        assert set(env) <= read, f"{name} sets variables the service never reads: {set(env) - read}"
        cores = int(env[limits.WORKERS_ENV]) * int(env[batching.THREADS_ENV])
        assert float(container["resources"]["requests"]["cpu"]) == cores, name
