"""Service settings, read once from the environment into a frozen object.

Nothing here runs at import time: `load_settings(environ)` is called by the CLI (or a test) and the
result is handed to `create_app(settings)`. Production fails closed: every secret must be configured
explicitly, development values are refused.

These are the kernel's settings. Each domain reads its own REFERRAL_* variables from `Settings.environ`
(its `Domain.load_settings`), with the readers below, so a bad value fails the same way.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import socket
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from referral_service.values import EMAIL

ENV_PREFIX = "REFERRAL_"
# The service's calendar: dates people enter, deadlines, report periods, reference years and the times
# pages show are local to Germany, not UTC.
LOCAL_TIMEZONE = zoneinfo.ZoneInfo("Europe/Berlin")

E = TypeVar("E", bound=StrEnum)

# Development only. Production refuses this value (and any missing secret) at start.
DEVELOPMENT_SECRET_KEY = b"development-only-secret-key-do-not-use-in-production!"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    CONSOLE = "console"
    JSON = "json"


class SettingsError(ValueError):
    """The environment does not describe a startable service. Messages name variables, never values."""


@dataclass(frozen=True, slots=True)
class Operator:
    """Who runs this deployment (the Betreiber), for the Impressum, the privacy notice and the
    accessibility statement. It differs per state, so it is configured, never written into the texts.
    Multi-line values are tuples of lines (the variables separate lines with "|")."""

    name: str
    address: tuple[str, ...]
    email: str
    phone: str | None = None
    website: str | None = None
    # Who represents the operator (§ 5 DDG: for a public body its head), when set.
    representative: str | None = None
    data_protection_officer: tuple[str, ...] = ()
    supervisory_authority: tuple[str, ...] = ()
    # Where people report barriers; without its own variable, the operator's name, e-mail and phone.
    accessibility_contact: tuple[str, ...] = ()
    accessibility_enforcement_body: tuple[str, ...] = ()


# Development only, and marked as such on every page that shows it. Production names its own operator.
DEMO_OPERATOR = Operator(
    name="Beispiel-Betreiber Zentrale Beschwerdestelle (Demo)",
    address=("Musterstraße 1", "01099 Beispielstadt"),
    email="kontakt@beispiel-betreiber.example",
    phone="0351 0000000 (Demo)",
    representative="Erika Beispiel, Leiterin (Demo)",
    data_protection_officer=(
        "Datenschutzbeauftragte des Beispiel-Betreibers (Demo)",
        "Musterstraße 1, 01099 Beispielstadt",
        "datenschutz@beispiel-betreiber.example",
    ),
    supervisory_authority=(
        "Beispiel-Landesbeauftragte für den Datenschutz (Demo)",
        "Aufsichtsweg 2, 01099 Beispielstadt",
        "poststelle@datenschutz-beispiel.example",
    ),
    accessibility_contact=(
        "Kontaktstelle Barrierefreiheit des Beispiel-Betreibers (Demo)",
        "barrierefreiheit@beispiel-betreiber.example",
        "0351 0000000 (Demo)",
    ),
    accessibility_enforcement_body=(
        "Beispiel-Durchsetzungsstelle für barrierefreie Informationstechnik (Demo)",
        "Schlichtungsgasse 3, 01099 Beispielstadt",
        "durchsetzungsstelle@beispiel-land.example",
    ),
)


def default_instance_id() -> str:
    """This process's name among several instances: host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Settings:
    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///var/referral-service.sqlite3"
    host: str = "127.0.0.1"
    port: int = 8000
    log_format: LogFormat = LogFormat.CONSOLE
    log_level: str = "INFO"
    var_dir: Path = Path("var")
    keyring_path: Path = Path("var/dev-keyring.json")
    audit_signing_key_path: Path = Path("var/dev-audit-signing-key.pem")
    secret_key: bytes = field(default=DEVELOPMENT_SECRET_KEY, repr=False)
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_echo: bool = False
    max_request_body_bytes: int = 12 * 1024 * 1024
    background_jobs: bool = True
    audit_checkpoint_interval_seconds: int = 300
    audit_sequence_interval_seconds: float = 1.0
    # Counters several instances must share (the public rate limits) live in Redis when this is set;
    # otherwise in each process's memory (fine for one process, the embedded default).
    redis_url: str | None = field(default=None, repr=False)
    redis_namespace: str = "referral-service"
    # Names this process in the log of every background job it leads (`job.led`), so that an operator can
    # tell which of several instances did the work. Default: host name and process id.
    instance_id: str = field(default_factory=default_instance_id)
    # No background job waits longer than this between runs (None: each job's own interval, minutes to a
    # day). For tests and demonstrations that want the hourly and daily jobs to run now.
    job_interval_max_seconds: float | None = None
    # On SIGTERM, requests in flight get this long to finish (no new connection is accepted meanwhile);
    # then the background jobs end their transaction, and the pools close.
    shutdown_grace_seconds: int = 20
    # On SIGTERM, before that: this long `/health/ready` answers 503 while everything is still served, so
    # that a load balancer takes the instance out before it stops accepting (health/draining.py).
    shutdown_drain_seconds: int = 0
    # Reverse proxies whose X-Forwarded-For / -Proto `serve` believes (IP addresses and networks);
    # none by default, so no client can choose the address the rate limits count.
    trusted_proxies: tuple[str, ...] = ()
    # Prometheus metrics on this port of `host` (referral_service/metrics); None: no metrics port.
    metrics_port: int | None = 9464
    # The OTEL_* variables as they were at start-up: traces only when they name an OTLP endpoint.
    telemetry: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False, hash=False)
    operator: Operator = DEMO_OPERATOR
    # Every REFERRAL_* variable as it was at start-up, for the domains to read their own settings from.
    # Out of repr: it holds the secret key's text too.
    environ: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False, hash=False)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


# Variables a production deployment must set explicitly; defaults exist only for development.
PRODUCTION_REQUIRED = ("DATABASE_URL", "SECRET_KEY", "KEYRING_PATH", "AUDIT_SIGNING_KEY_PATH")
# The operator's details production must name: the demo operator's would mislead the public, and
# the Impressum and privacy notice are incomplete without them (phone, website, representative and
# the accessibility contact are optional).
OPERATOR_REQUIRED = (
    "OPERATOR_NAME",
    "OPERATOR_ADDRESS",
    "OPERATOR_EMAIL",
    "DATA_PROTECTION_OFFICER",
    "SUPERVISORY_AUTHORITY",
    "ACCESSIBILITY_ENFORCEMENT_BODY",
)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `environ` (default: the process environment)."""
    snapshot = MappingProxyType(
        {
            name: value
            for name, value in (os.environ if environ is None else environ).items()
            if name.startswith(ENV_PREFIX)
        }
    )
    # Unprefixed names of the variables that are set; a blank value counts as unset.
    env = {name[len(ENV_PREFIX) :]: value for name, value in snapshot.items() if value.strip()}
    environment = _enum(Environment, env, "ENV", Environment.DEVELOPMENT)
    production = environment is Environment.PRODUCTION

    if production:
        missing = [
            ENV_PREFIX + name for name in (*PRODUCTION_REQUIRED, *OPERATOR_REQUIRED) if name not in env
        ]
        if missing:
            raise SettingsError(f"production requires explicitly configured: {', '.join(missing)}")

    var_dir = Path(env.get("VAR_DIR", "var"))
    database_url = env.get("DATABASE_URL", f"sqlite+aiosqlite:///{var_dir / 'referral-service.sqlite3'}")
    database_url = _async_driver_url(database_url)
    if production and database_url.startswith("sqlite"):
        raise SettingsError(f"{ENV_PREFIX}DATABASE_URL must name PostgreSQL in production")

    secret_key = _secret_key(env.get("SECRET_KEY"))
    if production and secret_key == DEVELOPMENT_SECRET_KEY:
        raise SettingsError(f"{ENV_PREFIX}SECRET_KEY is the development key; production refuses it")

    return Settings(
        environment=environment,
        database_url=database_url,
        host=env.get("HOST", "127.0.0.1"),
        port=_int(env, "PORT", 8000, minimum=1, maximum=65535),
        log_format=_enum(LogFormat, env, "LOG_FORMAT", LogFormat.JSON if production else LogFormat.CONSOLE),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        var_dir=var_dir,
        keyring_path=Path(env.get("KEYRING_PATH", str(var_dir / "dev-keyring.json"))),
        audit_signing_key_path=Path(
            env.get("AUDIT_SIGNING_KEY_PATH", str(var_dir / "dev-audit-signing-key.pem"))
        ),
        secret_key=secret_key,
        db_pool_size=_int(env, "DB_POOL_SIZE", 10, minimum=1, maximum=1000),
        db_max_overflow=_int(env, "DB_MAX_OVERFLOW", 10, minimum=0, maximum=1000),
        db_echo=_bool(env, "DB_ECHO", default=False),
        max_request_body_bytes=_int(env, "MAX_REQUEST_BODY_BYTES", 12 * 1024 * 1024, minimum=1024),
        background_jobs=_bool(env, "BACKGROUND_JOBS", default=True),
        audit_checkpoint_interval_seconds=_int(
            env, "AUDIT_CHECKPOINT_INTERVAL_SECONDS", 300, minimum=5, maximum=86_400
        ),
        redis_url=_redis_url(env.get("REDIS_URL")),
        redis_namespace=env.get("REDIS_NAMESPACE", "referral-service"),
        trusted_proxies=_trusted_proxies(env.get("TRUSTED_PROXIES")),
        metrics_port=_metrics_port(snapshot, env),
        telemetry=MappingProxyType(
            {
                name: value
                for name, value in (os.environ if environ is None else environ).items()
                if name.startswith("OTEL_")
            }
        ),
        instance_id=env.get("INSTANCE_ID", "").strip() or default_instance_id(),
        job_interval_max_seconds=_seconds(env, "JOB_INTERVAL_MAX_SECONDS"),
        shutdown_grace_seconds=_int(env, "SHUTDOWN_GRACE_SECONDS", 20, minimum=1, maximum=3600),
        shutdown_drain_seconds=_int(env, "SHUTDOWN_DRAIN_SECONDS", 0, minimum=0, maximum=300),
        operator=_operator(snapshot),
        environ=snapshot,
    )


def variable(environ: Mapping[str, str], name: str) -> str | None:
    """REFERRAL_<name> from a snapshot such as `Settings.environ`; None when unset or blank."""
    value = environ.get(ENV_PREFIX + name, "")
    return value if value.strip() else None


def int_variable(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None
) -> int:
    """REFERRAL_<name> as an integer within bounds; `SettingsError` names the variable, never the value."""
    value = variable(environ, name)
    return _int({} if value is None else {name: value}, name, default, minimum=minimum, maximum=maximum)


# Beyond the e-mail rule: characters that would give a mailto: link a query or look like markup.
_NOT_IN_MAILTO = frozenset("<>\"'?&#/")


def is_production(environ: Mapping[str, str]) -> bool:
    """Whether a snapshot such as `Settings.environ` describes production (for a domain's settings)."""
    return (variable(environ, "ENV") or "").strip().lower() == Environment.PRODUCTION.value


def lines_variable(environ: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    """REFERRAL_<name> as lines: separated by "|" (one line in an env file) or by real line breaks;
    blank lines dropped. None when unset or blank."""
    value = variable(environ, name)
    if value is None:
        return None
    lines = tuple(line.strip() for line in value.replace("|", "\n").splitlines() if line.strip())
    return lines or None


def email_variable(environ: Mapping[str, str], name: str) -> str | None:
    """REFERRAL_<name> as an e-mail address (pages link it as mailto:); None when unset."""
    value = variable(environ, name)
    if value is None:
        return None
    value = value.strip()
    if not EMAIL.accepts(value) or _NOT_IN_MAILTO.intersection(value):
        raise SettingsError(f"{ENV_PREFIX}{name} must be an e-mail address")
    return value


def require_in_production(environ: Mapping[str, str], names: tuple[str, ...]) -> None:
    """Refuse a production start without these REFERRAL_<names>; the message names every missing one."""
    missing = [ENV_PREFIX + name for name in names if variable(environ, name) is None]
    if missing and is_production(environ):
        raise SettingsError(f"production requires explicitly configured: {', '.join(missing)}")


def _operator(environ: Mapping[str, str]) -> Operator:
    """The operator's details; in development each unset one keeps the demo value."""
    demo = Operator(name="", address=(), email="") if is_production(environ) else DEMO_OPERATOR
    name = variable(environ, "OPERATOR_NAME") or demo.name
    email = email_variable(environ, "OPERATOR_EMAIL") or demo.email
    phone = _text(environ, "OPERATOR_PHONE") or demo.phone
    website = _website(environ) or demo.website
    contact = lines_variable(environ, "ACCESSIBILITY_CONTACT")
    if contact is None and variable(environ, "OPERATOR_NAME") is not None:
        # A configured operator with no contact of its own: its name, e-mail and phone, never the demo's.
        contact = tuple(line for line in (name, email, phone) if line)
    return Operator(
        name=name.strip(),
        address=lines_variable(environ, "OPERATOR_ADDRESS") or demo.address,
        email=email,
        phone=phone,
        website=website,
        representative=_text(environ, "OPERATOR_REPRESENTATIVE") or demo.representative,
        data_protection_officer=lines_variable(environ, "DATA_PROTECTION_OFFICER")
        or demo.data_protection_officer,
        supervisory_authority=lines_variable(environ, "SUPERVISORY_AUTHORITY") or demo.supervisory_authority,
        accessibility_contact=contact or demo.accessibility_contact,
        accessibility_enforcement_body=lines_variable(environ, "ACCESSIBILITY_ENFORCEMENT_BODY")
        or demo.accessibility_enforcement_body,
    )


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = variable(environ, name)
    return value.strip() if value is not None else None


def _website(environ: Mapping[str, str]) -> str | None:
    value = _text(environ, "OPERATOR_WEBSITE")
    # Pages link it: only web addresses, never another scheme (javascript:, data:).
    if value is not None and (
        not value.startswith(("https://", "http://")) or any(ch.isspace() for ch in value)
    ):
        raise SettingsError(f"{ENV_PREFIX}OPERATOR_WEBSITE must be an http:// or https:// address")
    return value


def _trusted_proxies(raw: str | None) -> tuple[str, ...]:
    """Comma-separated addresses and networks ("10.0.0.5, 192.168.0.0/24") as networks; () when unset."""
    try:
        networks = [
            ipaddress.ip_network(item.strip(), strict=False)
            for item in (raw or "").split(",")
            if item.strip()
        ]
    except ValueError:
        raise SettingsError(
            f"{ENV_PREFIX}TRUSTED_PROXIES must be comma-separated IP addresses or networks"
        ) from None
    return tuple(str(network) for network in networks)


def _metrics_port(snapshot: Mapping[str, str], env: Mapping[str, str]) -> int | None:
    """REFERRAL_METRICS_PORT: 9464 when unset; 0 or set but empty turns the metrics port off (unlike
    other variables, where empty means the default: an operator blanks it to say "none")."""
    if not snapshot.get(ENV_PREFIX + "METRICS_PORT", "9464").strip():
        return None
    return _int(env, "METRICS_PORT", 9464, minimum=0, maximum=65535) or None


def _seconds(env: Mapping[str, str], name: str) -> float | None:
    """A positive duration in (fractional) seconds, at least 0.01; None when unset."""
    if name not in env:
        return None
    try:
        value = float(env[name])
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name} must be a number of seconds") from None
    if not 0.01 <= value <= 86_400:
        raise SettingsError(f"{ENV_PREFIX}{name} is out of range")
    return value


def _redis_url(url: str | None) -> str | None:
    if url is not None and not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(f"{ENV_PREFIX}REDIS_URL must be a redis://, rediss:// or unix:// URL")
    return url


def _async_driver_url(url: str) -> str:
    """Accept the plain URLs operators write and select the async drivers this service runs on."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise SettingsError(f"{ENV_PREFIX}DATABASE_URL must be a PostgreSQL or SQLite URL")


def _secret_key(raw: str | None) -> bytes:
    if raw is None:
        return DEVELOPMENT_SECRET_KEY
    try:
        # Surrounding whitespace is what a secret file or `kubectl create secret --from-file` leaves (a
        # trailing newline); it is never part of the base64 text.
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError(f"{ENV_PREFIX}SECRET_KEY must be base64") from None
    if len(key) < 32:
        raise SettingsError(f"{ENV_PREFIX}SECRET_KEY must decode to at least 32 bytes")
    return key


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    if name not in env:
        return default
    value = env[name].strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{ENV_PREFIX}{name} must be true or false")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    if name not in env:
        return default
    try:
        value = int(env[name])
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name} must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise SettingsError(f"{ENV_PREFIX}{name} is out of range")
    return value


def _enum(kind: type[E], env: Mapping[str, str], name: str, default: E) -> E:
    if name not in env:
        return default
    try:
        return kind(env[name].strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise SettingsError(f"{ENV_PREFIX}{name} must be one of: {allowed}") from None
