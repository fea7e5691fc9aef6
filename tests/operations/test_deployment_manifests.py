"""The Helm chart in deploy/helm/referral-service, linted and rendered by Helm's own library and every
manifest checked against the Kubernetes API schemas: what an operator gets from `helm install`.

The tools (helm-python-sdk: Helm v4 as a shared library, about 250 MB; kubernetes-validate with the
API schemas) are no project dependency: this test installs them, pinned, once into a virtualenv of
their own under the user's cache directory (tests/operations/chart_tool.py runs there).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from crypto.providers import LocalKeyringProvider
from referral_service.audit.checkpoint import CheckpointSigner
from tests.operations.support import (
    cli,
    drop_redis_namespace,
    free_port,
    redis_or_skip,
    scratch_database,
    start_service,
    stop_all,
)

pytestmark = pytest.mark.operations

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "referral-service"
EXAMPLE_VALUES = CHART / "ci" / "example-values.yaml"
TOOL = Path(__file__).with_name("chart_tool.py")
TOOL_PACKAGES = ("helm-python-sdk==0.2.2", "kubernetes-validate==1.37.0", "PyYAML>=6")
# The chart's kubeVersion floor and the newest API the schemas know.
KUBE_VERSIONS = ("1.30.0", "1.37.0")
SECRET_SETTINGS = {
    "REFERRAL_DATABASE_URL",
    "REFERRAL_SECRET_KEY",
    "REFERRAL_REDIS_URL",
    "REFERRAL_SMTP_PASSWORD",
}

Render = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def chart_python() -> Path:
    """The tools' interpreter; the marker file is written last, so a broken install is redone."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "referral-service"
    pins = hashlib.sha256(" ".join(TOOL_PACKAGES).encode()).hexdigest()[:12]
    venv = cache / f"chart-tools-{pins}"
    complete = venv / "installed"
    if not complete.exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        install = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", *TOOL_PACKAGES],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if install.returncode != 0:
            pytest.fail(f"cannot install the chart tools {TOOL_PACKAGES}: {install.stderr[-2000:]}")
        complete.write_text(" ".join(TOOL_PACKAGES), encoding="utf-8")
    return venv / "bin" / "python"


@pytest.fixture(scope="session")
def render(chart_python: Path) -> Render:
    """Lint and render the chart with the example values (or none) and `overrides`, schema-checked."""

    def run(overrides: dict[str, Any] | None = None, *, example: bool = True) -> dict[str, Any]:
        done = subprocess.run(
            [
                str(chart_python),
                str(TOOL),
                str(CHART),
                str(EXAMPLE_VALUES) if example else "",
                json.dumps(overrides or {}),
                *KUBE_VERSIONS,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    return run


@pytest.fixture(scope="session")
def installed(render: Render) -> dict[str, Any]:
    """The example installation: lint-clean, rendered, every manifest valid."""
    result = render()
    assert result["lint_errors"] == []
    assert result["render_error"] is None
    assert result["invalid"] == []
    return result


def objects(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [doc["object"] for doc in result["documents"] if doc["object"]["kind"] == kind]


def one(result: dict[str, Any], kind: str, *, hook: bool | None = None) -> dict[str, Any]:
    found = [
        obj
        for obj in objects(result, kind)
        if hook is None or ("helm.sh/hook" in obj["metadata"].get("annotations", {})) == hook
    ]
    assert len(found) == 1, f"{len(found)} {kind} manifests"
    return found[0]


def test_example_installation_renders_every_part_and_each_is_valid(installed: dict[str, Any]) -> None:
    kinds = sorted(doc["object"]["kind"] for doc in installed["documents"])
    assert kinds == sorted(
        [
            "ConfigMap",  # the pods' settings
            "ConfigMap",  # the migration hook's copy
            "Deployment",
            "Ingress",
            "Job",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
        ]
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"replicaCount": "two"}, "'two' is not of type 'integer'"),
        # A misspelt field: the strict schemas refuse what Kubernetes would silently drop.
        ({"resources": {"limit": {"memory": "512Mi"}}}, "'limit' was unexpected"),
    ],
)
def test_the_schema_check_catches_an_invalid_manifest(
    render: Render, overrides: dict[str, Any], message: str
) -> None:
    result = render(overrides)
    assert result["render_error"] is None
    assert [(item["kind"], item["version"]) for item in result["invalid"]] == [
        ("Deployment", version) for version in KUBE_VERSIONS
    ]
    assert all(message in item["error"] for item in result["invalid"])


def test_pods_run_unprivileged_on_a_read_only_root(installed: dict[str, Any]) -> None:
    for pod in (
        one(installed, "Deployment")["spec"]["template"]["spec"],
        one(installed, "Job")["spec"]["template"]["spec"],
    ):
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        scratch = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
        for container in pod.get("initContainers", []) + pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert set(container["resources"]) == {"requests", "limits"}
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])
            if container["name"] != "keys":
                # Python and its libraries need a writable temporary directory on a read-only root.
                writable = {m["mountPath"] for m in container["volumeMounts"] if m["name"] in scratch}
                assert "/tmp" in writable  # noqa: S108 - the container's path, not this host's


def test_probes_and_shutdown_fit_the_service(installed: dict[str, Any]) -> None:
    deployment = one(installed, "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["serve"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health/live"
    settings = one(installed, "ConfigMap", hook=False)["data"]
    assert {port["name"]: port["containerPort"] for port in container["ports"]} == {
        "http": int(settings["REFERRAL_PORT"]),
        "metrics": int(settings["REFERRAL_METRICS_PORT"]),
    }
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == settings["REFERRAL_METRICS_PORT"]
    # The load balancer stops sending during the preStop sleep; then SIGTERM leaves requests in flight
    # REFERRAL_SHUTDOWN_GRACE_SECONDS; the pod must not be killed before both have passed.
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pre_stop > 0
    assert pod["terminationGracePeriodSeconds"] > pre_stop + int(settings["REFERRAL_SHUTDOWN_GRACE_SECONDS"])


def test_a_drain_lengthens_the_grace_period(render: Render) -> None:
    result = render({"env": {"REFERRAL_SHUTDOWN_DRAIN_SECONDS": "15"}})
    pod = one(result, "Deployment")["spec"]["template"]["spec"]
    settings = one(result, "ConfigMap", hook=False)["data"]
    stopping = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"] + 15
    assert pod["terminationGracePeriodSeconds"] > stopping + int(settings["REFERRAL_SHUTDOWN_GRACE_SECONDS"])
    spread = {constraint["topologyKey"] for constraint in pod["topologySpreadConstraints"]}
    assert spread == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_service_budget_and_ingress_reach_the_pods(installed: dict[str, Any]) -> None:
    deployment = one(installed, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    service = one(installed, "Service")
    budget = one(installed, "PodDisruptionBudget")
    for selector in (service["spec"]["selector"], budget["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= pod_labels.items()
    assert budget["spec"]["minAvailable"] == 1
    # Only HTTP is offered; metrics are scraped on the pods, never through the Service or the ingress.
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]
    backend = one(installed, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": "http"}}


def test_migrations_run_as_a_hook_before_the_pods(installed: dict[str, Any]) -> None:
    job = one(installed, "Job")
    hook_settings = one(installed, "ConfigMap", hook=True)
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    # The hook's ConfigMap must exist before the Job, and carry exactly the pods' settings.
    weight = int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert int(hook_settings["metadata"]["annotations"]["helm.sh/hook-weight"]) < weight
    assert hook_settings["data"] == one(installed, "ConfigMap", hook=False)["data"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate"]
    assert container["envFrom"] == [{"configMapRef": {"name": hook_settings["metadata"]["name"]}}]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_secrets_are_references_only(installed: dict[str, Any]) -> None:
    assert objects(installed, "Secret") == []
    settings = one(installed, "ConfigMap", hook=False)["data"]
    assert settings["REFERRAL_ENV"] == "production"
    assert SECRET_SETTINGS.isdisjoint(settings)
    for workload in (one(installed, "Deployment"), one(installed, "Job")):
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        env = {item["name"]: item for item in container["env"]}
        assert {"REFERRAL_DATABASE_URL", "REFERRAL_SECRET_KEY", "REFERRAL_REDIS_URL"} <= set(env)
        for item in env.values():
            assert set(item) == {"name", "valueFrom"}
            assert item["valueFrom"]["secretKeyRef"]["name"] == "referral-service-secrets"


def test_keys_reach_the_service_as_owner_only_files(installed: dict[str, Any]) -> None:
    pod = one(installed, "Deployment")["spec"]["template"]["spec"]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["key-secret"]["secret"]["secretName"] == "referral-service-keys"
    assert volumes["keys"]["emptyDir"]["medium"] == "Memory"
    (init,) = pod["initContainers"]
    assert "umask 077" in init["command"][-1]
    settings = one(installed, "ConfigMap", hook=False)["data"]
    (container,) = pod["containers"]
    key_mount = next(mount for mount in container["volumeMounts"] if mount["name"] == "keys")
    assert key_mount["readOnly"] is True
    for path in (settings["REFERRAL_KEYRING_PATH"], settings["REFERRAL_AUDIT_SIGNING_KEY_PATH"]):
        assert Path(path).parent == Path(key_mount["mountPath"])
    # The Secret itself never reaches the service container, only the init container's copies.
    assert "key-secret" not in {mount["name"] for mount in container["volumeMounts"]}


@pytest.mark.parametrize(
    ("overrides", "example", "message"),
    [
        ({}, False, "env.REFERRAL_PUBLIC_URL is required in production"),
        ({"image": {"repository": ""}}, True, "image.repository is required"),
        ({"env": {"REFERRAL_PUBLIC_URL": ""}}, True, "env.REFERRAL_PUBLIC_URL is required in production"),
        ({"keyMaterial": {"existingSecret": ""}}, True, "keyMaterial.existingSecret is required"),
        (
            {"secrets": {"redisUrlKey": ""}},
            True,
            "secrets.redisUrlKey is required with more than one replica",
        ),
        ({"env": {"REFERRAL_SECRET_KEY": "c2VjcmV0"}}, True, "env.REFERRAL_SECRET_KEY is a secret"),
        ({"env": {"REFERRAL_ENV": "development"}}, True, "env.REFERRAL_ENV is set by the chart"),
    ],
)
def test_an_incomplete_or_unsafe_installation_is_refused(
    render: Render, overrides: dict[str, Any], example: bool, message: str
) -> None:
    result = render(overrides, example=example)
    assert result["render_error"] is not None
    assert message in result["render_error"]


def container_env(
    container: dict[str, Any], config_maps: dict[str, dict[str, str]], secret: dict[str, str]
) -> dict[str, str]:
    """The environment Kubernetes gives `container`: its ConfigMaps, then its Secret references."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= config_maps[source["configMapRef"]["name"]]
    for item in container.get("env", []):
        env[item["name"]] = secret[item["valueFrom"]["secretKeyRef"]["key"]]
    return env


def test_the_rendered_settings_migrate_and_start_the_service_in_production(
    installed: dict[str, Any], tmp_path: Path
) -> None:
    """The chart's settings are all a production start needs, and the init container's copy of the
    key Secret is what the service accepts (the Secret as mounted, group-readable, it refuses)."""
    redis_url = redis_or_skip()
    config_maps = {cm["metadata"]["name"]: cm["data"] for cm in objects(installed, "ConfigMap")}
    pod = one(installed, "Deployment")["spec"]["template"]["spec"]
    (job_container,) = one(installed, "Job")["spec"]["template"]["spec"]["containers"]
    (container,) = pod["containers"]
    (init,) = pod["initContainers"]
    mounts = {m["name"]: m["mountPath"] for m in init["volumeMounts"]}

    # The key Secret as the kubelet mounts it with the pod's fsGroup: group-readable (0440).
    source = tmp_path / "source"
    source.mkdir(mode=0o700)
    LocalKeyringProvider.create(source / "keyring.json")
    CheckpointSigner.generate_key_file(source / "audit-signing-key.pem")
    mounted, copies, var_dir = tmp_path / "secret", tmp_path / "keys", tmp_path / "var"
    for directory in (mounted, copies, var_dir):
        directory.mkdir(mode=0o700)
    for item in next(v for v in pod["volumes"] if v["name"] == "key-secret")["secret"]["items"]:
        target = mounted / item["path"]
        shutil.copyfile(source / Path(item["key"]).name, target)
        target.chmod(0o440)
    command = (
        init["command"][-1].replace(mounts["key-secret"], str(mounted)).replace(mounts["keys"], str(copies))
    )
    subprocess.run([*init["command"][:-1], command], check=True, timeout=30)
    assert sorted(path.name for path in copies.iterdir()) == ["audit-signing-key.pem", "keyring.json"]
    assert {stat.S_IMODE(path.stat().st_mode) for path in copies.iterdir()} == {0o400}

    host_paths = {
        # The container's paths, here on this host; the ports and Redis namespace of this test's own.
        "REFERRAL_KEYRING_PATH": str(copies / "keyring.json"),
        "REFERRAL_AUDIT_SIGNING_KEY_PATH": str(copies / "audit-signing-key.pem"),
        "REFERRAL_VAR_DIR": str(var_dir),
        "REFERRAL_METRICS_PORT": str(free_port()),
        "REFERRAL_SMTP_HOST": "127.0.0.1",
        "REFERRAL_REDIS_NAMESPACE": f"chart-{uuid.uuid4().hex[:12]}",
    }
    base = {name: value for name, value in os.environ.items() if not name.startswith("REFERRAL_")}
    with scratch_database() as database_url:
        secret = {
            "database-url": database_url,
            "secret-key": base64.b64encode(secrets.token_bytes(32)).decode(),
            "redis-url": redis_url,
        }
        job_env = base | container_env(job_container, config_maps, secret) | host_paths
        pod_env = base | container_env(container, config_maps, secret) | host_paths
        try:
            refused = cli(
                pod_env | {"REFERRAL_KEYRING_PATH": str(mounted / "keyring.json")}, "keys", "status"
            )
            assert refused.returncode != 0
            assert "must not be accessible to group or others" in refused.stderr

            migrated = cli(job_env, "migrate")
            assert migrated.returncode == 0, migrated.stderr[-3000:]
            service = start_service(pod_env, free_port())
            ready = httpx.get(service.url + "/health/ready", timeout=5)
            assert ready.status_code == 200
            assert ready.json()["database"] == "postgresql"
        finally:
            stop_all()
            drop_redis_namespace(pod_env)
