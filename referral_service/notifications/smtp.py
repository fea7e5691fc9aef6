"""Handing a composed e-mail to an SMTP server, or in development to a local maildir.

A `Mailer` either takes a message or raises `DeliveryFailure` with a code of ours: the server's reply
text is never kept, since it can echo the recipient's address. The failure says whether trying again
can help (`permanent`) and whether the next message would fail the same way (`server_wide`: down,
TLS, login), so that a sender stops its batch instead of timing out once per message.
"""

from __future__ import annotations

import asyncio
import mailbox
import ssl
from email.message import EmailMessage
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import aiosmtplib

from referral_service.logging import get_logger
from referral_service.notifications.config import NotificationConfig, SmtpConfig, SmtpSecurity

log = get_logger(__name__)


class FailureCode(StrEnum):
    """What `Notification.email_error` holds: our codes, never a server's words."""

    # The server refused the recipient or the message (5xx: for good; 4xx: for now).
    REFUSED = "refused"
    # No connection, or the server turned us away before any message (down, 421, timeout).
    UNREACHABLE = "unreachable"
    # The connection ended while a message was being handed over, before the server took it.
    DROPPED = "dropped"
    # The TLS handshake failed, the certificate did not verify, or STARTTLS was not offered.
    TLS = "tls"
    # The server refused our login.
    AUTH = "auth"
    # No address to send to: the staff member removed theirs or left, the case was erased.
    NO_ADDRESS = "no_address"
    # The row names a kind no installed domain declares (any more).
    UNKNOWN_KIND = "unknown_kind"
    # A sender claimed it and never reported back: perhaps sent (state `uncertain`).
    INTERRUPTED = "interrupted"


class DeliveryFailure(Exception):
    def __init__(self, code: FailureCode, *, permanent: bool = False, server_wide: bool = False) -> None:
        super().__init__(code.value)
        self.code = code
        self.permanent = permanent
        self.server_wide = server_wide


class Mailer(Protocol):
    async def send(self, message: EmailMessage, recipient: str) -> None:
        """Hand over one message for `recipient`, or raise `DeliveryFailure`."""

    async def close(self) -> None:
        """End the connection, if any (after a batch)."""


def mailer_for(config: NotificationConfig) -> Mailer:
    """The configured mailer; says in the log where e-mails go, the maildir loudly."""
    if config.smtp is None:
        # Development without REFERRAL_SMTP_HOST: nothing is sent, and whoever starts it must know.
        log.warning("notifications.email_to_maildir", path=str(config.maildir))
        return MaildirMailer(config.maildir)
    log.info("notifications.email_to_smtp", host=config.smtp.host, port=config.smtp.port)
    return SmtpMailer(config.smtp, config.sender)


class MaildirMailer:
    """Development: each message becomes a file in a standard Maildir (tmp/new/cur), for any mail reader."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, message: EmailMessage, recipient: str) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        # Owner-only, like the rest of the development state: the messages hold staff addresses.
        self.folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        mailbox.Maildir(self.folder, create=True).add(message)

    async def close(self) -> None:
        return None


class SmtpMailer:
    """One connection for a batch, opened at its first message and opened again after any failure (a
    refused message leaves the session in a state not worth repairing)."""

    def __init__(self, config: SmtpConfig, sender: str) -> None:
        self.config = config
        self.sender = sender
        self._client: aiosmtplib.SMTP | None = None

    async def send(self, message: EmailMessage, recipient: str) -> None:
        client = await self._connected()
        try:
            await client.send_message(message, sender=self.sender, recipients=[recipient])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            await self.close()
            raise DeliveryFailure(FailureCode.REFUSED, permanent=all(c >= 500 for c in codes)) from None
        except aiosmtplib.SMTPSenderRefused:
            # Our own sender address: every message would be refused alike; a configuration to fix.
            await self.close()
            raise DeliveryFailure(FailureCode.REFUSED, server_wide=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            # A refusal of this message (DATA, size, content); 5xx is the server's last word.
            await self.close()
            raise DeliveryFailure(FailureCode.REFUSED, permanent=exc.code >= 500) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            # Disconnected or timed out mid-transaction: the server has not said it took the message
            # (RFC 5321 6.1), so it is tried again; the Message-ID lets a receiver drop a repeat.
            await self.close()
            raise DeliveryFailure(FailureCode.DROPPED) from None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        config = self.config
        # STARTTLS and the login are separate steps here (not aiosmtplib's on-connect ones), so that a
        # failure is told by the step it happened in.
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.security is SmtpSecurity.TLS,
            start_tls=False,
            tls_context=self._tls_context(),
            timeout=config.timeout_seconds,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPConnectError as exc:
            # With implicit TLS the handshake is part of connecting.
            code = FailureCode.TLS if isinstance(exc.__cause__, ssl.SSLError) else FailureCode.UNREACHABLE
            raise DeliveryFailure(code, server_wide=True) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            raise DeliveryFailure(FailureCode.UNREACHABLE, server_wide=True) from None
        try:
            await self._secure_and_log_in(client)
        except DeliveryFailure:
            client.close()
            raise
        self._client = client
        return client

    async def _secure_and_log_in(self, client: aiosmtplib.SMTP) -> None:
        config = self.config
        if config.security is SmtpSecurity.STARTTLS:
            try:
                await client.ehlo()
                if not client.supports_extension("starttls"):
                    # Never fall back to clear text: the envelope names the recipient.
                    raise DeliveryFailure(FailureCode.TLS, server_wide=True)
                await client.starttls()
            except (ssl.SSLError, ssl.CertificateError, aiosmtplib.SMTPException, OSError, TimeoutError):
                raise DeliveryFailure(FailureCode.TLS, server_wide=True) from None
        if config.username is not None and config.password is not None:
            try:
                await client.login(config.username, config.password)
            except aiosmtplib.SMTPAuthenticationError:
                raise DeliveryFailure(FailureCode.AUTH, server_wide=True) from None
            except aiosmtplib.SMTPException as exc:
                # No AUTH offered (or no mechanism in common) is a login that cannot happen.
                code = FailureCode.UNREACHABLE if isinstance(exc, ConnectionError) else FailureCode.AUTH
                raise DeliveryFailure(code, server_wide=True) from None
            except (OSError, TimeoutError):
                raise DeliveryFailure(FailureCode.UNREACHABLE, server_wide=True) from None

    def _tls_context(self) -> ssl.SSLContext | None:
        if self.config.security is SmtpSecurity.NONE:
            return None
        # Verified against the system's certificates or the configured CA, the host name included.
        ca_file = str(self.config.ca_file) if self.config.ca_file is not None else None
        return ssl.create_default_context(cafile=ca_file)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
