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
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

ENV_PREFIX = "REFERRAL_"

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
        missing = [ENV_PREFIX + name for name in PRODUCTION_REQUIRED if name not in env]
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
        key = base64.b64decode(raw, validate=True)
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
