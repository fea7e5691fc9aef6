"""The container image (deploy/container/Containerfile), built and run with podman as an operator would:
the base image from Debian's packages (no registry is reachable), the service image on top, `migrate` as a
one-shot container on a fresh PostgreSQL database, then `serve` read-only, as a non-root user, with
dropped capabilities, on the host's network.

The images stay in podman's local storage as the next run's cache (the base image is built only when it
is missing); every container and file the test makes is removed, also after a failure. The compose file
(deploy/compose.yaml) is checked without podman: its images come from a registry.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.complaints.support import PUBLIC, anonymous_payload
from tests.components import CONTAINER
from tests.operations.support import free_port, production_env, scratch_database

pytestmark = pytest.mark.operations

ROOT = Path(__file__).resolve().parents[2]
CONTAINER_DIR = ROOT / "deploy" / "container"
COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
BASE_IMAGE = "localhost/referral-service-base:bookworm"
IMAGE = "localhost/referral-service:operations-test"
UID = 10001
# Where the chart mounts the key files too (deploy/helm: referral-service.keyDir).
KEY_DIR = "/run/referral-service/keys"
VAR_DIR = "/var/lib/referral-service"
READY_SECONDS = 90.0
BUILD_SECONDS = 900


def _podman_environ() -> dict[str, str]:
    # A host without systemd needs this repository's containers.conf; a developer's own setting wins.
    return {"CONTAINERS_CONF": str(CONTAINER_DIR / "containers.conf"), **os.environ}


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [shutil.which("podman") or "/usr/bin/podman", *args],
        env=_podman_environ(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"podman {args[0]} failed ({done.returncode}): {done.stderr[-3000:]}")
    return done


# Prints every path on the image that must not be there: the repository's tests, its .git, a virtualenv
# or var/ from a developer's checkout, any key file, any private key.
SCAN = r"""
import os, re
# A private key itself (base64 after the header), not code that names the header.
pem = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\r?\n[A-Za-z0-9+/=]{40}")
found = []
for top, dirs, files in os.walk("/", onerror=None):
    if top.startswith(("/proc", "/sys", "/dev")):
        dirs[:] = []
        continue
    for name in dirs:
        if name in {".git", ".venv", "var", "tests"} and top in {"/opt/referral-service", "/app", "/src"}:
            found.append(os.path.join(top, name))
        if top == "/" and name in {"src", "app", "work"}:
            found.append(os.path.join(top, name))
    for name in files:
        path = os.path.join(top, name)
        if name in {"keyring.json", "dev-keyring.json", "audit-signing-key.pem"} or path.endswith(
            ("tests/conftest.py", "tests/components.py")
        ):
            found.append(path)
        elif os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) < 1_000_000:
            with open(path, "rb") as handle:
                if pem.search(handle.read()):
                    found.append(path)
print("\n".join(found))
"""


@pytest.fixture(scope="module")
def image() -> str:
    """The service image, built now (its layers cached from earlier runs where they exist); the build's
    figures are printed: seconds for this build, for an immediate rebuild, and the image's size."""
    for tool in ("podman", "runc", "mmdebstrap"):
        if shutil.which(tool) is None:
            CONTAINER.skip_or_fail(f"{tool} missing")
    if podman("image", "exists", BASE_IMAGE, check=False).returncode != 0:
        done = subprocess.run(
            [str(CONTAINER_DIR / "base-image.sh"), BASE_IMAGE],
            env=_podman_environ(),
            capture_output=True,
            text=True,
            timeout=BUILD_SECONDS,
            check=False,
        )
        assert done.returncode == 0, f"base image: {done.stderr[-3000:]}"
    build = [
        "build",
        "--network=host",
        "--format=docker",
        f"--build-arg=BASE_IMAGE={BASE_IMAGE}",
        f"--ignorefile={CONTAINER_DIR / '.containerignore'}",
        f"--file={CONTAINER_DIR / 'Containerfile'}",
        f"--tag={IMAGE}",
    ]
    # This machine's trust store for pip, where a proxy intercepts TLS; a build secret, in no layer.
    bundle = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
    if Path(bundle).is_file():
        build.append(f"--secret=id=pip_cert,src={bundle}")
    seconds = []
    for _ in range(2):
        start = time.monotonic()
        done = podman(*build, str(ROOT), timeout=BUILD_SECONDS)
        seconds.append(round(time.monotonic() - start, 1))
    cached = "Using cache" in done.stdout
    size = json.loads(podman("image", "inspect", IMAGE).stdout)[0]["Size"]
    print(
        "container image:",
        json.dumps({"build_seconds": seconds[0], "rebuild_seconds": seconds[1], "size_mb": size // 10**6}),
    )
    assert cached, "the rebuild of unchanged sources reused no layer"
    return IMAGE


def test_image_runs_no_root_process_and_carries_no_secret_or_test(image: str) -> None:
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == f"{UID}:{UID}"
    assert config["Entrypoint"] == ["referral-service"]
    assert config["Cmd"] == ["serve"]
    # Kept only in the docker format (--format docker): the OCI format would silently drop it.
    assert "/opt/referral-service/healthcheck.py" in inspected["Healthcheck"]["Test"]
    settings = dict(item.split("=", 1) for item in config["Env"])
    assert settings["REFERRAL_ENV"] == "production"
    assert not {"REFERRAL_SECRET_KEY", "REFERRAL_DATABASE_URL", "REFERRAL_REDIS_URL"} & settings.keys()

    offline = ["run", "--rm", "--read-only", "--network=none", "--no-healthcheck"]
    # As root, to read every file (the image's user cannot read all of them, which is no proof).
    python = "--entrypoint=/opt/referral-service/bin/python"
    done = podman(*offline, "--user=0", python, image, "-c", SCAN, timeout=300)
    assert done.stdout.split() == [], done.stdout
    site_packages = "/opt/referral-service/lib/python3.11/site-packages"
    packages = podman(*offline, "--entrypoint=/bin/ls", image, site_packages).stdout.split()
    assert {"referral_service", "complaints", "crypto", "migrations"} <= set(packages)
    assert "tests" not in packages


@contextlib.contextmanager
def container(name: str) -> Iterator[str]:
    """Removes the container `name` afterwards, whatever happened."""
    try:
        yield name
    finally:
        podman("rm", "--force", "--time=0", name, check=False)


def _env_file(path: Path, env: dict[str, str]) -> Path:
    """The REFERRAL_* settings as an env file (mode 0600): secrets never on a command line."""
    path.touch(mode=0o600)
    lines = [f"{name}={value}\n" for name, value in env.items() if name.startswith("REFERRAL_")]
    path.write_text("".join(lines))
    return path


def _key_dir(workdir: Path, env: dict[str, str]) -> Path:
    """Copies of the key files, owned by the image's user and readable by it alone, as an operator
    provides them (the service refuses key files others may read)."""
    keys = workdir / "keys"
    keys.mkdir(mode=0o700)
    for source, name in (
        (env["REFERRAL_KEYRING_PATH"], "keyring.json"),
        (env["REFERRAL_AUDIT_SIGNING_KEY_PATH"], "audit-signing-key.pem"),
    ):
        shutil.copyfile(source, keys / name)
        os.chmod(keys / name, 0o400)
        os.chown(keys / name, UID, UID)
    os.chown(keys, UID, UID)
    return keys


def _wait_ready(name: str, url: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            state = json.loads(podman("inspect", "--format={{json .State}}", name).stdout)
            if not state["Running"]:
                logs = podman("logs", name, check=False)
                raise AssertionError(f"the container exited ({state['ExitCode']}): {logs.stderr[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(url + "/health/ready").status_code == 200:
                    return
            time.sleep(0.2)
    raise AssertionError(f"not ready within {READY_SECONDS} s: {podman('logs', name).stderr[-3000:]}")


def test_migrate_then_serve_read_only_as_non_root(image: str, tmp_path: Path) -> None:
    port = free_port()
    name = f"referral-service-test-{uuid.uuid4().hex[:8]}"
    with scratch_database() as database_url, container(name):
        host_env = production_env(tmp_path, database_url)
        keys = _key_dir(tmp_path, host_env)
        env_file = _env_file(
            tmp_path / "service.env",
            host_env
            | {
                "REFERRAL_HOST": "127.0.0.1",
                "REFERRAL_PORT": str(port),
                "REFERRAL_KEYRING_PATH": f"{KEY_DIR}/keyring.json",
                "REFERRAL_AUDIT_SIGNING_KEY_PATH": f"{KEY_DIR}/audit-signing-key.pem",
                "REFERRAL_VAR_DIR": VAR_DIR,
            },
        )
        hardening = [
            "--network=host",
            "--read-only",
            "--cap-drop=all",
            "--security-opt=no-new-privileges",
            f"--env-file={env_file}",
        ]
        # The one-shot job needs the database, not the keys.
        migrated = podman("run", "--rm", "--no-healthcheck", *hardening, image, "migrate", timeout=180)
        assert "database at revision" in migrated.stdout + migrated.stderr

        start = time.monotonic()
        podman(
            "run", "--detach", f"--name={name}", *hardening,
            f"--volume={keys}:{KEY_DIR}:ro",
            # No systemd here to time the checks; `podman healthcheck run` below runs it once.
            "--health-interval=disable",
            image,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        _wait_ready(name, url)
        ready_seconds = round(time.monotonic() - start, 1)

        status = podman("exec", name, "cat", "/proc/1/status").stdout
        uids = re.search(r"^Uid:\s+(.*)$", status, re.MULTILINE)
        assert uids is not None
        assert set(uids.group(1).split()) == {str(UID)}, status
        assert re.search(r"^CapEff:\s+0+$", status, re.MULTILINE), status
        # As root too: the file system refuses, whatever the permissions would allow.
        for user, path in itertools.product(("0", str(UID)), ("/x", "/opt/referral-service/bin/x", "/etc/x")):
            touched = podman("exec", f"--user={user}", name, "touch", path, check=False)
            assert touched.returncode != 0
            assert "Read-only file system" in touched.stderr
        assert podman("healthcheck", "run", name, check=False).returncode == 0

        with httpx.Client(base_url=url, timeout=10.0) as client:
            # The pages' templates are in the image, and the configured operator is shown.
            assert "Betreiber (Test)" in client.get("/impressum").text
            # A write that takes the key files: the keyring mounted read-only is readable by the user.
            submitted = client.post(PUBLIC, json=anonymous_payload())
            assert submitted.status_code == 201, submitted.text
            assert client.get("/health/live").status_code == 200

        start = time.monotonic()
        podman("stop", "--time=30", name, timeout=60)
        stop_seconds = round(time.monotonic() - start, 1)
        state: dict[str, Any] = json.loads(podman("inspect", "--format={{json .State}}", name).stdout)
        # SIGTERM is a requested stop: a graceful shutdown that ends with 0, not a kill after the timeout.
        assert state["ExitCode"] == 0, podman("logs", name).stderr[-3000:]
        logs = podman("logs", name)
        assert host_env["REFERRAL_SECRET_KEY"] not in logs.stdout + logs.stderr
        print("container run:", json.dumps({"ready_seconds": ready_seconds, "stop_seconds": stop_seconds}))


# ---- the compose file: parsed, not run (its PostgreSQL, Redis and HAProxy images need a registry)

SECRET_NAMES = re.compile(r"SECRET|PASSWORD|DATABASE_URL|REDIS_URL|TOKEN|PRIVATE", re.IGNORECASE)


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {str(name): str(value) for name, value in environment.items()}


def test_compose_runs_two_hardened_replicas_behind_the_proxy_after_migrate() -> None:
    services = _compose()["services"]
    image = services["migrate"]["image"]
    replicas = {name: s for name, s in services.items() if s["image"] == image and s["command"] == ["serve"]}
    assert len(replicas) == 2, sorted(services)
    for name, service in replicas.items():
        assert service["read_only"] is True, name
        assert service["user"] == f"{UID}:{UID}", name
        assert service["cap_drop"] == ["ALL"], name
        assert any(mount.startswith("/tmp") for mount in service["tmpfs"]), name  # noqa: S108
        assert "/opt/referral-service/healthcheck.py" in service["healthcheck"]["test"], name
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert {"keyring", "audit-signing-key"} <= set(service["secrets"]), name
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"

    proxy_config = (COMPOSE_FILE.parent / "compose" / "haproxy.cfg").read_text()
    for name in replicas:
        assert re.search(rf"^\s*server\s+\S+\s+{name}:8000\b.*\bcheck\b", proxy_config, re.MULTILINE), name
    assert "/health/ready" in proxy_config
    # The service believes X-Forwarded-For only from the proxy's fixed address.
    proxy_address = services["proxy"]["networks"]["backend"]["ipv4_address"]
    for service in replicas.values():
        assert _environment(service)["REFERRAL_TRUSTED_PROXIES"] == proxy_address


def test_compose_holds_no_secret_value() -> None:
    compose = _compose()
    for name, service in compose["services"].items():
        for variable, value in _environment(service).items():
            if SECRET_NAMES.search(variable):
                # Only a reference to a file (PostgreSQL's *_FILE convention), never the value itself.
                assert variable.endswith("_FILE"), (name, variable)
                assert value.startswith("/run/secrets/"), (name, variable)
        for env_file in service.get("env_file", []):
            if env_file.startswith("${"):
                continue  # the operator's file outside the checkout
            # A settings file in the repository: no secret's name in it, let alone its value.
            lines = (COMPOSE_FILE.parent / env_file).read_text().splitlines()
            names = [line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")]
            assert names, env_file
            assert not [n for n in names if SECRET_NAMES.search(n)], env_file
    for name, secret in compose["secrets"].items():
        # Files the operator provides outside the checkout, never inline content.
        assert set(secret) == {"file"}, name
        assert secret["file"].startswith("${"), name
