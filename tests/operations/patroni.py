"""A three-node PostgreSQL cluster under Patroni, with one etcd as its consensus store, from Debian's
packages, for the failover test: every part a real process on loopback, in a temporary directory.

    with patroni_cluster() as cluster:          # waits until two standbys stream, one synchronous
        cluster.database_url("referral")        # multi-host URL that finds the primary
        old = cluster.kill_primary()            # SIGKILL its Patroni and its postmaster
        new = cluster.wait_for_primary(other_than=old)
        cluster.switch_over(candidate)          # planned; cluster.stop_etcd() / start_etcd()

Patroni is tuned to fail over quickly (ttl 10 s, loop_wait 1 s) and runs with synchronous replication,
so a commit is acknowledged only once a standby has it. PostgreSQL runs as the `postgres` OS user (it
refuses root); fsync is off because only processes are killed, never the machine: the operating system
keeps what a killed process wrote.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.components import FAILOVER, postgres_server_binaries
from tests.operations.support import free_port

NODES = ("pg1", "pg2", "pg3")
TTL_SECONDS = 10
LOOP_WAIT_SECONDS = 1
RETRY_TIMEOUT_SECONDS = 4
START_SECONDS = 90.0
POLL_SECONDS = 0.1
OS_USER = "postgres"


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; tests in CI run as root.
    return ["runuser", "-u", OS_USER, "--", *command] if os.geteuid() == 0 else command


def _require_components() -> Path:
    bindir = postgres_server_binaries()
    for program in ("patroni", "etcd"):
        if shutil.which(program) is None:
            FAILOVER.skip_or_fail(f"{program} missing")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            FAILOVER.skip_or_fail(f"the {OS_USER} OS user missing (PostgreSQL refuses to run as root)")
        if shutil.which("runuser") is None:
            FAILOVER.skip_or_fail("runuser missing", install="apt-get install util-linux")
    return bindir


def _system_env() -> dict[str, str]:
    """A plain environment for Debian's programs: not this virtualenv's Python path, no REFERRAL_*."""
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def running(self) -> bool:
        return self.popen.poll() is None

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def _spawn(name: str, command: list[str], log_path: Path) -> Process:
    with log_path.open("ab") as log:
        popen = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_system_env(),
            cwd=log_path.parent,
            start_new_session=True,  # its own process group, killed as one
        )
    return Process(name, popen, log_path)


@dataclass
class Node:
    name: str
    root: Path
    pg_port: int
    api_port: int
    patroni: Process | None = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def postmaster_pid(self) -> int | None:
        """The running postmaster's pid, from its pid file (None when there is none or it is gone)."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        # A pid file outlives a killed postmaster: only believe a process that runs on this data dir.
        return pid if str(self.data_dir).encode() in cmdline else None


@dataclass
class PatroniCluster:
    root: Path
    bindir: Path
    scope: str = field(default_factory=lambda: f"referral-failover-{uuid.uuid4().hex[:8]}")
    etcd_client_port: int = field(default_factory=free_port)
    etcd_peer_port: int = field(default_factory=free_port)
    nodes: dict[str, Node] = field(default_factory=dict)
    etcd: Process | None = None

    # --- start ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self.start_etcd()
        for name in NODES:
            node = Node(name, self.root / name, free_port(), free_port())
            node.root.mkdir()
            _chown(node.root)
            self.nodes[name] = node
        first, *others = self.nodes.values()
        # The first node bootstraps (initdb); the others copy it (pg_basebackup) once it leads.
        self._start_patroni(first)
        self.wait_for_primary()
        for node in others:
            self._start_patroni(node)
        self.wait_streaming(len(NODES) - 1)

    def start_etcd(self) -> None:
        data = self.root / "etcd"
        client = f"http://127.0.0.1:{self.etcd_client_port}"
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        self.etcd = _spawn(
            "etcd",
            _as_postgres([
                "etcd", "--name", "etcd0", "--data-dir", str(data),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"etcd0={peer}", "--initial-cluster-state", "new",
                "--initial-cluster-token", self.scope, "--log-level", "warn",
            ]),
            self.root / "etcd.log",
        )  # fmt: skip
        self._poll(
            lambda: _get_json(client + "/health").get("health") == "true",
            "etcd healthy",
            process=self.etcd,
        )

    def _start_patroni(self, node: Node) -> None:
        config = node.root / "patroni.yml"
        config.write_text(json.dumps(self._config(node), indent=2))  # YAML is a superset of JSON
        _chown(config)
        node.patroni = _spawn(node.name, _as_postgres(["patroni", str(config)]), node.root / "patroni.log")

    def _config(self, node: Node) -> dict[str, Any]:
        hba = [
            "local all all trust",
            "host all all 127.0.0.1/32 trust",
            "host replication all 127.0.0.1/32 trust",
        ]
        return {
            "scope": self.scope,
            "name": node.name,
            "log": {"level": "INFO"},
            "restapi": {
                "listen": f"127.0.0.1:{node.api_port}",
                "connect_address": f"127.0.0.1:{node.api_port}",
            },
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd_client_port}"]},
            "bootstrap": {
                "dcs": {
                    "ttl": TTL_SECONDS,
                    "loop_wait": LOOP_WAIT_SECONDS,
                    "retry_timeout": RETRY_TIMEOUT_SECONDS,
                    "maximum_lag_on_failover": 1_048_576,
                    # Commits wait for a synchronous standby, and only that standby may be promoted:
                    # what a client was told is committed survives the loss of the primary. Not strict:
                    # with no standby left the primary goes on alone; strict mode would hold every
                    # commit (requests waiting until their clients give up) instead.
                    "synchronous_mode": True,
                    "postgresql": {"use_pg_rewind": False, "use_slots": True},
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C"}],
                "pg_hba": hba,
            },
            "postgresql": {
                "listen": f"127.0.0.1:{node.pg_port}",
                "connect_address": f"127.0.0.1:{node.pg_port}",
                "data_dir": str(node.data_dir),
                "bin_dir": str(self.bindir),
                "pgpass": str(node.root / "pgpass"),
                "authentication": {
                    "superuser": {"username": "postgres"},
                    "replication": {"username": "postgres"},
                },
                "pg_hba": hba,
                "parameters": {
                    "unix_socket_directories": str(node.root),
                    "fsync": "off",
                    "full_page_writes": "off",
                    "shared_buffers": "16MB",
                    "max_connections": 50,
                    "wal_level": "replica",
                    "hot_standby": "on",
                    "max_wal_senders": 10,
                    "max_replication_slots": 10,
                    "wal_keep_size": "64MB",
                },
            },
            "tags": {"nofailover": False, "noloadbalance": False},
        }

    # --- state ---------------------------------------------------------------------------------------

    def members(self) -> list[dict[str, Any]]:
        """The cluster as any living node's Patroni sees it (`GET /cluster`), empty when none answers."""
        for node in self.nodes.values():
            if node.patroni is not None and node.patroni.running():
                found = _get_json(node.api + "/cluster").get("members")
                if found:
                    return list(found)
        return []

    def primary(self) -> Node | None:
        for member in self.members():
            if member.get("role") == "leader" and member.get("state") == "running":
                return self.nodes[member["name"]]
        return None

    def wait_for_primary(self, other_than: Node | None = None, seconds: float = START_SECONDS) -> Node:
        found: list[Node] = []

        def led() -> bool:
            node = self.primary()
            if node is None or node is other_than:
                return False
            # Patroni reports the role before PostgreSQL takes writes; the REST check asks PostgreSQL.
            if _status(node.api + "/primary") != 200:
                return False
            found.append(node)
            return True

        self._poll(led, "a primary", seconds=seconds)
        return found[-1]

    def wait_streaming(self, count: int, seconds: float = START_SECONDS) -> Node:
        """Until `count` standbys stream from the primary, one of them synchronous; that one."""
        synchronous: list[Node] = []

        def streaming() -> bool:
            members = self.members()
            standbys = [m for m in members if m.get("role") in {"replica", "sync_standby"}]
            running = [m for m in standbys if m.get("state") in {"running", "streaming"}]
            synchronous[:] = [self.nodes[m["name"]] for m in running if m.get("role") == "sync_standby"]
            return len(running) >= count and bool(synchronous)

        self._poll(streaming, f"{count} standbys streaming, one synchronous", seconds=seconds)
        return synchronous[0]

    def _poll(
        self, predicate: Any, what: str, *, seconds: float = START_SECONDS, process: Process | None = None
    ) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if process is not None and not process.running():
                raise RuntimeError(f"{process.name} exited: {process.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"not within {seconds} s: {what}\n{self.logs()}")
            time.sleep(POLL_SECONDS)

    def logs(self, chars: int = 2000) -> str:
        parts = [f"--- {p.name}\n{p.tail(chars)}" for p in self._processes()]
        return "\n".join(parts)

    def _processes(self) -> list[Process]:
        found = [self.etcd] if self.etcd else []
        return found + [n.patroni for n in self.nodes.values() if n.patroni is not None]

    # --- connections ---------------------------------------------------------------------------------

    def database_url(self, database: str) -> str:
        """The service's URL: every node, and asyncpg keeps the connection to the one that is primary."""
        hosts = "&".join(f"host=127.0.0.1:{node.pg_port}" for node in self.nodes.values())
        return f"postgresql://postgres@/{database}?{hosts}&target_session_attrs=primary"

    def dsn(self, node: Node, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{node.pg_port}/{database}"

    # --- failure -------------------------------------------------------------------------------------

    def kill_primary(self) -> Node:
        """SIGKILL the primary's Patroni and then its postmaster: no clean hand-over, the leader key
        must expire before a standby may take over."""
        node = self.primary()
        assert node is not None, "no primary to kill"
        assert node.patroni is not None
        postmaster = node.postmaster_pid()
        assert postmaster is not None, "the primary's postmaster is not running"
        node.patroni.kill_group()
        os.kill(postmaster, signal.SIGKILL)
        return node

    def stop_etcd(self) -> None:
        """SIGKILL the consensus store: the primary can no longer renew its leader key, so Patroni
        demotes it after retry_timeout and no node is primary until etcd is back."""
        assert self.etcd is not None
        self.etcd.kill_group()

    def wait_all_standbys(self, seconds: float = START_SECONDS) -> None:
        """Until every node's PostgreSQL runs as a standby (each Patroni asked itself: etcd may be down)."""

        def standbys() -> bool:
            states = [_get_json(node.api + "/patroni") for node in self.nodes.values()]
            return all(s.get("role") == "replica" and s.get("state") == "running" for s in states)

        self._poll(standbys, "every node a standby", seconds=seconds)

    def switch_over(self, candidate: Node) -> Node:
        """A planned switch-over to `candidate` (a synchronous standby): Patroni shuts the primary down,
        promotes the candidate and makes the old primary its standby. The old primary."""
        leader = self.primary()
        assert leader is not None, "no primary to hand over"
        response = httpx.post(
            leader.api + "/switchover",
            json={"leader": leader.name, "candidate": candidate.name},
            timeout=START_SECONDS,
        )
        assert response.status_code == 200, response.text
        return leader

    # --- cleanup -------------------------------------------------------------------------------------

    def stop(self) -> None:
        for process in self._processes():
            process.kill_group()  # Patroni first: it must not start a PostgreSQL again
        for node in self.nodes.values():
            if (pid := node.postmaster_pid()) is not None:
                # Immediate shutdown: the postmaster takes its backends with it.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 20
        for node in self.nodes.values():
            while (pid := node.postmaster_pid()) is not None and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, OS_USER, OS_USER)


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=2.0)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2.0).status_code
    except httpx.HTTPError:
        return None


@contextlib.contextmanager
def patroni_cluster() -> Iterator[PatroniCluster]:
    """A running cluster (a primary and two streaming standbys), stopped and removed afterwards."""
    bindir = _require_components()
    # Not under pytest's tmp_path: that is private to the user running the tests.
    root = Path(tempfile.mkdtemp(prefix="referral-failover-"))
    _chown(root)
    cluster = PatroniCluster(root, bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
