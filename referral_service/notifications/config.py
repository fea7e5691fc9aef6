"""How notification e-mails leave the service: SMTP or, in development, a local maildir.

Read from REFERRAL_* variables (`Settings.environ`) when the application or the `notifications send`
command is built; a bad value is a `SettingsError` naming the variable. Without REFERRAL_SMTP_HOST a
development service writes every e-mail into the maildir `<var dir>/mail` (and says so in its start
log), so nothing leaves a developer's machine by accident. Production refuses to start without an SMTP
server: a production service that quietly wrote its e-mails to disk would look healthy while nobody
was told anything, so the operator must choose a server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from referral_service.settings import (
    ENV_PREFIX,
    Settings,
    SettingsError,
    email_variable,
    int_variable,
    is_production,
    require_in_production,
    variable,
)

# Production names these; development has a default for each.
PRODUCTION_REQUIRED = ("SMTP_HOST", "SMTP_FROM", "PUBLIC_URL")
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:8000"
# `.invalid` can never be delivered to: a development default that cannot leak into real mail.
DEVELOPMENT_SENDER = "benachrichtigungen@referral-service.invalid"


class SmtpSecurity(StrEnum):
    # Plain connection upgraded with STARTTLS (submission, port 587); refused if the server lacks it.
    STARTTLS = "starttls"
    # TLS from the first byte (submissions, port 465).
    TLS = "tls"
    # Unencrypted: in production only to a relay on the same host.
    NONE = "none"


_DEFAULT_PORT = {SmtpSecurity.STARTTLS: 587, SmtpSecurity.TLS: 465, SmtpSecurity.NONE: 25}


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    # Certificates to trust instead of the system's (an internal CA); the server's name is always checked.
    ca_file: Path | None = None
    # Per SMTP step (connect, each command); a sender's batch is bounded by `delivery.SEND_BUDGET`.
    timeout_seconds: float = 30.0


@dataclass(frozen=True, slots=True)
class NotificationConfig:
    # None: development without a server, e-mails go to `maildir`.
    smtp: SmtpConfig | None
    maildir: Path
    sender: str
    # Where the service is reached from outside ("https://opferhilfe.example"), for the links in e-mails.
    public_url: str = DEVELOPMENT_PUBLIC_URL
    # Attempts per e-mail before it is a dead letter (temporary failures only).
    max_attempts: int = 8
    # Local hour (Europe/Berlin) at which the daily digests go out.
    digest_hour: int = 7

    @classmethod
    def from_settings(cls, settings: Settings) -> NotificationConfig:
        environ = settings.environ
        require_in_production(environ, PRODUCTION_REQUIRED)
        return cls(
            smtp=_smtp(environ),
            maildir=settings.var_dir / "mail",
            sender=email_variable(environ, "SMTP_FROM") or DEVELOPMENT_SENDER,
            public_url=_public_url(environ),
            max_attempts=int_variable(environ, "NOTIFY_MAX_ATTEMPTS", 8, minimum=1, maximum=100),
            digest_hour=int_variable(environ, "NOTIFY_DIGEST_HOUR", 7, minimum=0, maximum=23),
        )

    @property
    def message_id_domain(self) -> str:
        """The right-hand side of our Message-IDs: the service's own host name."""
        return urlsplit(self.public_url).hostname or "localhost"


def _smtp(environ: Mapping[str, str]) -> SmtpConfig | None:
    host = variable(environ, "SMTP_HOST")
    if host is None:
        return None
    host = host.strip()
    raw_security = (variable(environ, "SMTP_SECURITY") or SmtpSecurity.STARTTLS.value).strip().lower()
    try:
        security = SmtpSecurity(raw_security)
    except ValueError:
        allowed = ", ".join(member.value for member in SmtpSecurity)
        raise SettingsError(f"{ENV_PREFIX}SMTP_SECURITY must be one of: {allowed}") from None
    username, password = variable(environ, "SMTP_USERNAME"), variable(environ, "SMTP_PASSWORD")
    if (username is None) != (password is None):
        raise SettingsError(f"{ENV_PREFIX}SMTP_USERNAME and {ENV_PREFIX}SMTP_PASSWORD are set together")
    if security is SmtpSecurity.NONE and not _loopback(host) and (is_production(environ) or username):
        # The recipients' addresses (and a password) would cross the network in clear text.
        raise SettingsError(
            f"{ENV_PREFIX}SMTP_SECURITY=none is only allowed for a relay on this host"
            " (production, or with a password)"
        )
    ca_file = variable(environ, "SMTP_CA_FILE")
    if ca_file is not None and not Path(ca_file).is_file():
        raise SettingsError(f"{ENV_PREFIX}SMTP_CA_FILE must name a readable certificate file")
    return SmtpConfig(
        host=host,
        port=int_variable(environ, "SMTP_PORT", _DEFAULT_PORT[security], minimum=1, maximum=65535),
        security=security,
        username=username,
        password=password,
        ca_file=Path(ca_file) if ca_file is not None else None,
        timeout_seconds=int_variable(environ, "SMTP_TIMEOUT_SECONDS", 30, minimum=1, maximum=300),
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _public_url(environ: Mapping[str, str]) -> str:
    value = (variable(environ, "PUBLIC_URL") or DEVELOPMENT_PUBLIC_URL).strip().rstrip("/")
    parts = urlsplit(value)
    schemes = ("https",) if is_production(environ) else ("https", "http")
    if (
        parts.scheme not in schemes
        or not parts.hostname
        or parts.username
        or parts.query
        or parts.fragment
        or any(ch.isspace() for ch in value)
    ):
        wanted = "an https:// address" if is_production(environ) else "an http:// or https:// address"
        raise SettingsError(f"{ENV_PREFIX}PUBLIC_URL must be {wanted} without query or fragment")
    return value
