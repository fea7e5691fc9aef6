"""Notification e-mails reach a real SMTP server (tests/notifications/smtp_server.py, a process of its own)
once, say only what they may, survive refusals, outages, dropped connections, restarts and a second
instance, and go to a maildir where no server is configured."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import ipaddress
import json
import mailbox
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from referral_service.app import notification_delivery
from referral_service.audit.models import AuditEvent
from referral_service.cli import main
from referral_service.db import create_database_engine, create_session_factory
from referral_service.domains import installed_domains
from referral_service.identity.roles import Role
from referral_service.keys.fields import seal
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.logging import configure_logging
from referral_service.notifications.audit_actions import NotificationAuditAction
from referral_service.notifications.config import NotificationConfig, SmtpSecurity
from referral_service.notifications.delivery import (
    Delivery,
    SendRun,
    delivery_summary,
    release,
    send_due,
)
from referral_service.notifications.kinds import EmailMode, NotificationKind
from referral_service.notifications.models import EmailState, Notification, StaffContact
from referral_service.notifications.render import Item, render_digest, render_one
from referral_service.notifications.service import Occurrence, notify, notify_complainant
from referral_service.notifications.smtp import DeliveryFailure, FailureCode, Mailer, mailer_for
from referral_service.settings import Settings, SettingsError, load_settings
from referral_service.web.i18n import LANGUAGES, catalogue
from tests.browser.support import free_port
from tests.identity.support import DemoDirectory

SENDER = "benachrichtigungen@opferhilfe.example"
PUBLIC_URL = "https://opferhilfe.example"
LOGIN = ("mailer", "s3cret-for-tests")
NOW = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)

# Kinds of these tests only; the installed domains' own are rendered in the last tests.
ASSIGNED = NotificationKind(
    "test.assigned",
    "test.assigned",
    {Role.WR_VOLUNTEER: EmailMode.IMMEDIATE, Role.WR_BRANCH_LEAD: EmailMode.DIGEST},
)
ANSWERED = NotificationKind("test.answered", "test.answered", to_complainant=True)
# Declared when the rows were written, installed no more.
REMOVED = NotificationKind("test.removed", "test.removed", {Role.WR_VOLUNTEER: EmailMode.IMMEDIATE})
# Installed, but its texts are missing from the catalogues.
UNTRANSLATED = NotificationKind(
    "test.untranslated", "test.untranslated", {Role.WR_VOLUNTEER: EmailMode.IMMEDIATE}
)
KIND_TEXTS = {
    "de": {
        "test.assigned": "Neue Vermittlung in Ihrer Außenstelle",
        "test.assigned.subject": "Neue Vermittlung {reference}",
        "test.answered": "Antwort der Beschwerdestelle",
        "test.answered.subject": "Neuigkeiten zu Ihrer Beschwerde {reference}",
    },
    "en": {
        "test.assigned": "New referral in your branch",
        "test.assigned.subject": "New referral {reference}",
        "test.answered": "Reply from the complaints office",
        "test.answered.subject": "News about your complaint {reference}",
    },
}
# The complaint domain's address book in these tests: subject id -> address (absent: none left).
COMPLAINANTS: dict[uuid.UUID, str] = {}


def with_test_kinds(language: str) -> Mapping[str, str]:
    return {**catalogue(language), **KIND_TEXTS[language]}


async def complainant_address(_session: object, _keys: CaseKeys, subject_id: uuid.UUID) -> str | None:
    return COMPLAINANTS.get(subject_id)


# --- the SMTP servers, started once per module -----------------------------------------------------


@dataclasses.dataclass
class Servers:
    ports: dict[str, int]
    spools: dict[str, Path]
    certificate: Path
    untrusted: Path

    def received(self, name: str) -> list[tuple[dict[str, object], EmailMessage]]:
        found = []
        for meta in sorted(self.spools[name].glob("*.json"), key=lambda path: int(path.stem)):
            message = BytesParser(policy=policy.default).parsebytes(meta.with_suffix(".eml").read_bytes())
            assert isinstance(message, EmailMessage)
            found.append((json.loads(meta.read_text()), message))
        return found


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


SERVER = (sys.executable, "-m", "tests.notifications.smtp_server")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    folder = tmp_path_factory.mktemp("smtp")
    cert, key = _self_signed(folder, "server")
    untrusted, _ = _self_signed(folder, "other")
    tls = ["--tls", str(cert), str(key), "--auth", ":".join(LOGIN)]
    modes = {
        "accept": ["--mode", "accept", *tls],
        "implicit": ["--mode", "accept", *tls, "--implicit-tls"],
        "refuse": ["--mode", "refuse"],
        "drop": ["--mode", "drop"],
    }
    ports = {name: free_port() for name in modes}
    processes = [
        subprocess.Popen(
            [*SERVER, "--port", str(ports[name]), "--spool", str(folder / name), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        for name, args in modes.items()
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().startswith(b"ready"), "the SMTP server did not start"
        # "down": a port with nothing listening.
        ports["down"] = free_port()
        yield Servers(ports, {name: folder / name for name in modes}, cert, untrusted)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def smtp(servers: Servers) -> Servers:
    """The servers with empty spools."""
    for spool in servers.spools.values():
        for path in spool.glob("*"):
            path.unlink()
    return servers


def smtp_config(servers: Servers, name: str, **variables: str) -> NotificationConfig:
    """The configuration operators would write, for server `name` (plain SMTP unless told otherwise)."""
    environ = {
        "REFERRAL_SMTP_HOST": "127.0.0.1",
        "REFERRAL_SMTP_PORT": str(servers.ports[name]),
        "REFERRAL_SMTP_SECURITY": "none",
        "REFERRAL_SMTP_FROM": SENDER,
        "REFERRAL_PUBLIC_URL": PUBLIC_URL,
        **{f"REFERRAL_{variable}": value for variable, value in variables.items()},
    }
    return NotificationConfig.from_settings(load_settings(environ))


def sender(engine: AsyncEngine, keys: CaseKeys, config: NotificationConfig) -> Delivery:
    return Delivery(
        engine=engine,
        case_keys=keys,
        config=config,
        mailer=mailer_for(config),
        catalogue=with_test_kinds,
        kinds={kind.code: kind for kind in (ASSIGNED, ANSWERED)},
        complainant_addresses={ANSWERED.code: complainant_address},
    )


# --- data ------------------------------------------------------------------------------------------


@pytest.fixture
def keys(settings: Settings) -> CaseKeys:
    return CaseKeys(lambda: load_key_provider(settings))


async def give_addresses(
    engine: AsyncEngine, keys: CaseKeys, addresses: Mapping[uuid.UUID, tuple[str, str]]
) -> None:
    """Staff addresses (encrypted, as the preferences page stores them) and e-mail languages."""
    async with create_session_factory(engine)() as session, session.begin():
        for user_id, (address, language) in addresses.items():
            contact = StaffContact(user_id=user_id, language=language)
            seal(contact, await keys.create(session, "staff_contact"), email=address)
            session.add(contact)


async def occur(
    engine: AsyncEngine,
    recipients: Sequence[uuid.UUID],
    reference: str,
    *,
    now: dt.datetime = NOW,
    kind: NotificationKind = ASSIGNED,
    deadline: dt.date | None = None,
) -> list[Notification]:
    subject = uuid.uuid4()
    occurrence = Occurrence(kind, subject, reference, f"/vermittlungen/{subject}", deadline)
    async with create_session_factory(engine)() as session, session.begin():
        return await notify(session, occurrence, recipients, now=now)


async def rows(engine: AsyncEngine) -> dict[str, Notification]:
    """Every notification by its reference (and recipient, where one reference has several)."""
    async with create_session_factory(engine)() as session:
        found = (await session.exec(select(Notification))).all()
    return {f"{row.reference}/{row.recipient_user_id}": row for row in found} | {
        row.reference: row for row in found
    }


async def address_reads(engine: AsyncEngine) -> list[AuditEvent]:
    async with create_session_factory(engine)() as session:
        stmt = select(AuditEvent).where(AuditEvent.action == NotificationAuditAction.ADDRESS_READ.value)
        return list((await session.exec(stmt.order_by(col(AuditEvent.id)))).all())


def text_of(message: EmailMessage) -> str:
    return str(message.get_content()).replace("\r\n", "\n")


def users(directory: DemoDirectory, *names: str) -> list[uuid.UUID]:
    return [directory.account(name).user_id for name in names]


# --- tests -----------------------------------------------------------------------------------------


async def test_an_email_goes_out_once_over_starttls_with_login_in_the_recipients_language(
    engine: AsyncEngine, keys: CaseKeys, demo_directory: DemoDirectory, smtp: Servers
) -> None:
    dresden, leipzig = users(demo_directory, "volunteer.dresden", "volunteer.leipzig")
    await give_addresses(
        engine,
        keys,
        {dresden: ("erika.ehrenamt@example.org", "de"), leipzig: ("max.helfer@example.org", "en")},
    )
    written = await occur(engine, [dresden, leipzig], "VM-2026-00012", deadline=dt.date(2026, 12, 7))
    config = smtp_config(
        smtp,
        "accept",
        SMTP_SECURITY="starttls",
        SMTP_USERNAME=LOGIN[0],
        SMTP_PASSWORD=LOGIN[1],
        SMTP_CA_FILE=str(smtp.certificate),
    )
    delivery = sender(engine, keys, config)

    assert await send_due(delivery, now=NOW) == SendRun(sent=2)
    assert await send_due(delivery, now=NOW + dt.timedelta(days=1)) == SendRun()

    received = {message["To"]: (envelope, message) for envelope, message in smtp.received("accept")}
    assert sorted(received) == ["erika.ehrenamt@example.org", "max.helfer@example.org"]
    by_recipient = {row.recipient_user_id: row for row in written}
    for user, address, language in (
        (dresden, "erika.ehrenamt@example.org", "de"),
        (leipzig, "max.helfer@example.org", "en"),
    ):
        envelope, message = received[address]
        assert envelope == {"mail_from": SENDER, "rcpt_tos": [address], "tls": True, "login": LOGIN[0]}
        assert message["Message-ID"] == f"<{by_recipient[user].id}@opferhilfe.example>"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Content-Language"] == language
        assert message["From"] == SENDER
        assert message.get_content_type() == "text/plain"
        assert message.get_content_charset() == "utf-8"
    german, english = received["erika.ehrenamt@example.org"][1], received["max.helfer@example.org"][1]
    assert german["Subject"] == "Neue Vermittlung VM-2026-00012"
    assert english["Subject"] == "New referral VM-2026-00012"
    link = f"{PUBLIC_URL}{written[0].link}"
    german_body, english_body = text_of(german), text_of(english)
    assert german_body.startswith("Guten Tag,\n")
    assert "Neue Vermittlung in Ihrer Außenstelle: VM-2026-00012" in german_body
    assert "Frist: 07.12.2026" in german_body
    assert f"{PUBLIC_URL}/benachrichtigungen/einstellungen" in german_body
    assert english_body.startswith("Hello,\n")
    assert "Deadline: 2026-12-07" in english_body
    assert link in german_body
    assert link in english_body

    stored = await rows(engine)
    assert {stored[f"VM-2026-00012/{user}"].email_state for user in (dresden, leipzig)} == {EmailState.SENT}
    assert stored[f"VM-2026-00012/{dresden}"].email_sent_at == NOW
    # Each decryption of an address is in the audit log, which never names the address.
    reads = await address_reads(engine)
    assert sorted(event.target_id for event in reads) == sorted(str(row.id) for row in written)
    assert all(
        json.loads(event.details) == {"kind": "test.assigned", "recipient": "staff"} for event in reads
    )
    assert not any("@" in event.details for event in reads)


async def test_tls_from_the_first_byte_a_wrong_password_and_an_unknown_certificate(smtp: Servers) -> None:
    def message(number: int) -> EmailMessage:
        composed = EmailMessage()
        composed["Message-ID"] = f"<tls-{number}@opferhilfe.example>"
        composed.set_content("Guten Tag")
        return composed

    trusted = {"SMTP_CA_FILE": str(smtp.certificate)}
    login = {"SMTP_USERNAME": LOGIN[0], "SMTP_PASSWORD": LOGIN[1]}
    implicit = mailer_for(smtp_config(smtp, "implicit", SMTP_SECURITY="tls", **trusted, **login))
    await implicit.send(message(1), "erika@example.org")
    await implicit.close()
    [(envelope, _)] = smtp.received("implicit")
    assert envelope["tls"] is True
    assert envelope["login"] == LOGIN[0]

    failing = {
        FailureCode.AUTH: mailer_for(
            smtp_config(
                smtp, "accept", SMTP_SECURITY="starttls", **trusted, SMTP_USERNAME="mailer", SMTP_PASSWORD="x"
            )
        ),
        FailureCode.TLS: mailer_for(
            smtp_config(smtp, "implicit", SMTP_SECURITY="tls", SMTP_CA_FILE=str(smtp.untrusted))
        ),
    }
    # A server that offers no STARTTLS is never written to in clear text.
    no_starttls = mailer_for(smtp_config(smtp, "refuse", SMTP_SECURITY="starttls", **trusted))
    for code, failing_mailer in [*failing.items(), (FailureCode.TLS, no_starttls)]:
        with pytest.raises(DeliveryFailure) as caught:
            await failing_mailer.send(message(2), "erika@example.org")
        assert (caught.value.code, caught.value.permanent, caught.value.server_wide) == (code, False, True)
    assert len(smtp.received("accept")) == 0


async def test_refusals_and_messages_without_address_or_kind_are_dead_letters_at_once(
    engine: AsyncEngine, keys: CaseKeys, demo_directory: DemoDirectory, smtp: Servers
) -> None:
    dresden, leipzig = users(demo_directory, "volunteer.dresden", "volunteer.leipzig")
    await give_addresses(
        engine, keys, {dresden: ("nobody@example.org", "de"), leipzig: ("data.refused@example.org", "de")}
    )
    await occur(engine, [dresden, leipzig], "VM-2026-00001")
    await occur(engine, [dresden], "VM-2026-00002", kind=REMOVED)
    await occur(engine, [dresden], "VM-2026-00004", kind=UNTRANSLATED)
    gone, injected = uuid.uuid4(), uuid.uuid4()  # a complaint erased since: no address any more
    COMPLAINANTS[injected] = "erika@example.org\r\nBcc: everyone@example.org"
    async with create_session_factory(engine)() as session, session.begin():
        for subject, reference in ((gone, "BS-2026-00003"), (injected, "BS-2026-00005")):
            occurrence = Occurrence(ANSWERED, subject, reference, "/beschwerde/status")
            await notify_complainant(session, occurrence, language="de", now=NOW)

    delivery = sender(engine, keys, smtp_config(smtp, "refuse"))
    delivery = dataclasses.replace(delivery, kinds={**delivery.kinds, UNTRANSLATED.code: UNTRANSLATED})
    assert await send_due(delivery, now=NOW) == SendRun(dead=6)
    assert await send_due(delivery, now=NOW + dt.timedelta(days=1)) == SendRun()

    stored = await rows(engine)
    examined = [f"VM-2026-00001/{dresden}", f"VM-2026-00001/{leipzig}", "VM-2026-00002", "VM-2026-00004"]
    outcome = {
        key: (stored[key].email_state, stored[key].email_error, stored[key].email_attempts)
        for key in [*examined, "BS-2026-00003", "BS-2026-00005"]
    }
    assert outcome == {
        # Refused at RCPT and after DATA: for good, after one attempt.
        f"VM-2026-00001/{dresden}": (EmailState.DEAD, FailureCode.REFUSED, 1),
        f"VM-2026-00001/{leipzig}": (EmailState.DEAD, FailureCode.REFUSED, 1),
        # A kind no domain declares any more, or one without its texts.
        "VM-2026-00002": (EmailState.DEAD, FailureCode.UNKNOWN_KIND, 0),
        "VM-2026-00004": (EmailState.DEAD, FailureCode.UNKNOWN_KIND, 0),
        "BS-2026-00003": (EmailState.DEAD, FailureCode.NO_ADDRESS, 0),
        # An address that would add a header is no address.
        "BS-2026-00005": (EmailState.DEAD, FailureCode.NO_ADDRESS, 0),
    }
    # Only the addresses actually decrypted are audited.
    reads = await address_reads(engine)
    assert sorted(json.loads(event.details)["recipient"] for event in reads) == [
        "complainant",
        "staff",
        "staff",
    ]


async def test_a_server_that_is_down_is_tried_with_backoff_until_dead_then_released_and_sent(
    engine: AsyncEngine, keys: CaseKeys, demo_directory: DemoDirectory, smtp: Servers
) -> None:
    [dresden] = users(demo_directory, "volunteer.dresden")
    await give_addresses(engine, keys, {dresden: ("erika.ehrenamt@example.org", "de")})
    [row] = await occur(engine, [dresden], "VM-2026-00020")
    down = sender(engine, keys, smtp_config(smtp, "down", NOTIFY_MAX_ATTEMPTS="3"))
    minutes = dt.timedelta(minutes=1)

    async def state() -> tuple[str, int, dt.datetime | None, str | None]:
        stored = (await rows(engine))["VM-2026-00020"]
        return stored.email_state, stored.email_attempts, stored.email_next_at, stored.email_error

    assert await send_due(down, now=NOW) == SendRun(retried=1)
    assert await state() == (EmailState.PENDING, 1, NOW + minutes, FailureCode.UNREACHABLE)
    assert await send_due(down, now=NOW + 0.9 * minutes) == SendRun()  # not due yet
    assert await send_due(down, now=NOW + minutes) == SendRun(retried=1)
    assert await state() == (EmailState.PENDING, 2, NOW + 6 * minutes, FailureCode.UNREACHABLE)
    assert await send_due(down, now=NOW + 6 * minutes) == SendRun(dead=1)
    assert await state() == (EmailState.DEAD, 3, None, FailureCode.UNREACHABLE)

    later = NOW + dt.timedelta(hours=2)
    async with create_session_factory(engine)() as session, session.begin():
        summary = await delivery_summary(session, later)
        assert (summary.pending, summary.dead, summary.sent, summary.oldest_pending_age) == (0, 1, 0, None)
        released = await release(session, row.id, later)
        assert released is not None
        assert released.kind == "test.assigned"
        assert await release(session, row.id, later) is None  # pending: nothing to release
        assert await release(session, uuid.uuid4(), later) is None
        summary = await delivery_summary(session, later)
        assert (summary.pending, summary.dead, summary.oldest_pending_age) == (1, 0, later - NOW)
    assert await state() == (EmailState.PENDING, 0, later, None)

    up = sender(engine, keys, smtp_config(smtp, "accept"))
    assert await send_due(up, now=later) == SendRun(sent=1)
    assert [message["Message-ID"] for _, message in smtp.received("accept")] == [
        f"<{row.id}@opferhilfe.example>"
    ]


async def test_a_connection_dropped_mid_message_is_tried_again_and_delivered_once(
    engine: AsyncEngine, keys: CaseKeys, demo_directory: DemoDirectory, smtp: Servers
) -> None:
    [dresden] = users(demo_directory, "volunteer.dresden")
    await give_addresses(engine, keys, {dresden: ("erika.ehrenamt@example.org", "de")})
    [row] = await occur(engine, [dresden], "VM-2026-00030")
    delivery = sender(engine, keys, smtp_config(smtp, "drop"))
    # A run out of time hands back what it claimed and did not start, without counting an attempt.
    assert await send_due(delivery, now=NOW, budget_seconds=0) == SendRun()
    assert (await rows(engine))["VM-2026-00030"].email_state == EmailState.PENDING

    assert await send_due(delivery, now=NOW) == SendRun(retried=1)
    assert (await rows(engine))["VM-2026-00030"].email_error == FailureCode.DROPPED
    assert await send_due(delivery, now=NOW + dt.timedelta(minutes=1)) == SendRun(sent=1)
    assert [message["Message-ID"] for _, message in smtp.received("drop")] == [
        f"<{row.id}@opferhilfe.example>"
    ]


class Dies:
    """A mailer whose process stops while it hands over a message (shutdown, OOM kill)."""

    async def send(self, message: EmailMessage, recipient: str) -> None:
        raise asyncio.CancelledError

    async def close(self) -> None:
        return None


class BreaksOnce:
    """A mailer that fails in a way it does not know (a bug) on its first message."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer, self.broken = mailer, False

    async def send(self, message: EmailMessage, recipient: str) -> None:
        if not self.broken:
            self.broken = True
            raise RuntimeError("unexpected")
        await self.mailer.send(message, recipient)

    async def close(self) -> None:
        await self.mailer.close()


async def test_after_a_restart_waiting_rows_are_sent_and_a_claimed_one_is_never_sent_again(
    database_url: str, keys: CaseKeys, demo_directory: DemoDirectory, smtp: Servers
) -> None:
    [dresden] = users(demo_directory, "volunteer.dresden")
    first = create_database_engine(database_url)
    await give_addresses(first, keys, {dresden: ("erika.ehrenamt@example.org", "de")})
    await occur(first, [dresden], "VM-2026-00040")
    [waiting] = await occur(first, [dresden], "VM-2026-00041", now=NOW + dt.timedelta(seconds=1))
    dying = dataclasses.replace(sender(first, keys, smtp_config(smtp, "accept")), mailer=Dies())
    with pytest.raises(asyncio.CancelledError):
        await send_due(dying, now=NOW + dt.timedelta(seconds=1), batch_size=1)
    await first.dispose()

    second = create_database_engine(database_url)
    try:
        delivery = sender(second, keys, smtp_config(smtp, "accept"))
        assert await send_due(delivery, now=NOW + dt.timedelta(minutes=5)) == SendRun(sent=1)
        # The claim may have reached the server before the process stopped: given up as uncertain.
        assert await send_due(delivery, now=NOW + dt.timedelta(minutes=31)) == SendRun(uncertain=1)
        # A failure the mailer cannot name: perhaps sent, so uncertain at once; the batch goes on.
        await occur(second, [dresden], "VM-2026-00042", now=NOW + dt.timedelta(days=1))
        await occur(second, [dresden], "VM-2026-00043", now=NOW + dt.timedelta(days=1, seconds=1))
        breaks = dataclasses.replace(delivery, mailer=BreaksOnce(delivery.mailer))
        assert await send_due(breaks, now=NOW + dt.timedelta(days=1, seconds=1)) == SendRun(
            sent=1, uncertain=1
        )
        assert await send_due(delivery, now=NOW + dt.timedelta(days=2)) == SendRun()
        stored = await rows(second)
    finally:
        await second.dispose()
    assert (stored["VM-2026-00040"].email_state, stored["VM-2026-00040"].email_error) == (
        EmailState.UNCERTAIN,
        FailureCode.INTERRUPTED,
    )
    assert stored["VM-2026-00041"].email_state == EmailState.SENT
    assert stored["VM-2026-00042"].email_state == EmailState.UNCERTAIN
    assert [message["Message-ID"] for _, message in smtp.received("accept")] == [
        f"<{waiting.id}@opferhilfe.example>",
        f"<{stored['VM-2026-00043'].id}@opferhilfe.example>",
    ]


class WaitsForTheOther:
    """Holds an instance's first message until the other instance is sending too: both have claimed a
    batch and send at the same time, whatever the timing of the machine."""

    def __init__(self, mailer: Mailer, barrier: asyncio.Barrier) -> None:
        self.mailer, self.barrier, self.met = mailer, barrier, False

    async def send(self, message: EmailMessage, recipient: str) -> None:
        if not self.met:
            self.met = True
            await asyncio.wait_for(self.barrier.wait(), timeout=30)
        await self.mailer.send(message, recipient)

    async def close(self) -> None:
        await self.mailer.close()


async def test_two_instances_sending_at_once_deliver_every_message_exactly_once(
    database_url: str, engine: AsyncEngine, keys: CaseKeys, demo_directory: DemoDirectory, smtp: Servers
) -> None:
    [dresden] = users(demo_directory, "volunteer.dresden")
    await give_addresses(engine, keys, {dresden: ("erika.ehrenamt@example.org", "de")})
    written = [row for number in range(8) for row in await occur(engine, [dresden], f"VM-2026-{number:05d}")]
    engines = [create_database_engine(database_url) for _ in range(2)]
    both_sending = asyncio.Barrier(2)

    async def instance(own: AsyncEngine) -> int:
        delivery, sent = sender(own, keys, smtp_config(smtp, "accept")), 0
        delivery = dataclasses.replace(delivery, mailer=WaitsForTheOther(delivery.mailer, both_sending))
        while True:
            run = await send_due(delivery, now=NOW, batch_size=2)
            sent += run.sent
            if not run.skipped and run.sent == 0:
                return sent

    try:
        counts = await asyncio.gather(*(instance(own) for own in engines))
    finally:
        for own in engines:
            await own.dispose()
    assert sum(counts) == 8
    assert min(counts) > 0, "both instances sent"
    received = sorted(message["Message-ID"] for _, message in smtp.received("accept"))
    assert received == sorted(f"<{row.id}@opferhilfe.example>" for row in written)


async def test_a_daily_digest_bundles_a_users_notifications_and_sends_them_together(
    engine: AsyncEngine, keys: CaseKeys, demo_directory: DemoDirectory, smtp: Servers
) -> None:
    [lead] = users(demo_directory, "branchlead.dresden")
    await give_addresses(engine, keys, {lead: ("leitung@example.org", "de")})
    await occur(engine, [lead], "VM-2026-00051", now=dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC))
    await occur(engine, [lead], "VM-2026-00052", now=dt.datetime(2026, 12, 3, 15, 0, tzinfo=dt.UTC))
    delivery = sender(engine, keys, smtp_config(smtp, "accept"))
    seven_berlin = dt.datetime(2026, 12, 4, 6, 0, tzinfo=dt.UTC)  # 07:00 in Berlin in winter

    assert await send_due(delivery, now=seven_berlin - dt.timedelta(minutes=1)) == SendRun()
    assert await send_due(delivery, now=seven_berlin) == SendRun(sent=2)
    await occur(engine, [lead], "VM-2026-00053", now=seven_berlin + dt.timedelta(minutes=30))
    assert await send_due(delivery, now=seven_berlin + dt.timedelta(hours=1)) == SendRun()
    stored = await rows(engine)
    assert {stored[ref].email_sent_at for ref in ("VM-2026-00051", "VM-2026-00052")} == {seven_berlin}
    assert stored["VM-2026-00053"].email_state == EmailState.DIGEST
    assert await send_due(delivery, now=seven_berlin + dt.timedelta(days=1)) == SendRun(sent=1)

    [(_, first), (_, second)] = smtp.received("accept")
    assert first["Subject"] == "Ihre Benachrichtigungen vom 04.12.2026"
    assert first["Message-ID"].startswith("<digest.")
    body = text_of(first)
    assert body.index("VM-2026-00051") < body.index("VM-2026-00052")
    assert f"{PUBLIC_URL}{stored['VM-2026-00051'].link}" in body
    assert second["Subject"] == "Ihre Benachrichtigungen vom 05.12.2026"
    assert "VM-2026-00053" in text_of(second)
    # One address read for the bundle, naming its rows.
    [read, _] = await address_reads(engine)
    assert json.loads(read.details)["digest"] == [
        str(stored[ref].id) for ref in ("VM-2026-00051", "VM-2026-00052")
    ]


async def test_without_an_smtp_host_the_start_log_names_the_maildir_that_gets_the_emails(
    engine: AsyncEngine,
    keys: CaseKeys,
    demo_directory: DemoDirectory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    [dresden] = users(demo_directory, "volunteer.dresden")
    await give_addresses(engine, keys, {dresden: ("erika.ehrenamt@example.org", "de")})
    [row] = await occur(engine, [dresden], "VM-2026-00060")
    local = load_settings({"REFERRAL_VAR_DIR": str(tmp_path / "var"), "REFERRAL_LOG_FORMAT": "json"})
    # What `create_app` does at start: logging first, then the sender.
    configure_logging(local)
    try:
        built = notification_delivery(local, engine, keys)
        logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    finally:
        configure_logging(load_settings({}))
    [line] = [line for line in logged if line["event"] == "notifications.email_to_maildir"]
    assert (line["level"], line["path"]) == ("warning", str(tmp_path / "var" / "mail"))
    delivery = dataclasses.replace(
        built, catalogue=with_test_kinds, kinds={ASSIGNED.code: ASSIGNED}, complainant_addresses={}
    )
    assert await send_due(delivery, now=NOW) == SendRun(sent=1)
    [message] = mailbox.Maildir(tmp_path / "var" / "mail", create=False).values()
    assert message["To"] == "erika.ehrenamt@example.org"
    assert message["Message-ID"] == f"<{row.id}@127.0.0.1>"  # the development address
    assert "http://127.0.0.1:8000/vermittlungen/" in message.get_payload(decode=True).decode()
    assert (tmp_path / "var" / "mail" / "new").is_dir()


def test_the_send_command_for_cron(database_url: str, tmp_path: Path) -> None:
    env = {"REFERRAL_DATABASE_URL": database_url, "REFERRAL_VAR_DIR": str(tmp_path / "var")}
    result = CliRunner().invoke(main, ["notifications", "send"], env=env)
    assert result.exit_code == 0, result.output
    assert "0 sent, 0 to be tried again, 0 dead letters, 0 uncertain" in result.stdout
    assert str(tmp_path / "var" / "mail") in result.stderr
    configure_logging(load_settings({}))


def test_configuration_from_the_environment_and_what_production_refuses(tmp_path: Path) -> None:
    development = NotificationConfig.from_settings(load_settings({"REFERRAL_VAR_DIR": str(tmp_path)}))
    assert (development.smtp, development.maildir) == (None, tmp_path / "mail")
    assert (development.public_url, development.max_attempts, development.digest_hour) == (
        "http://127.0.0.1:8000",
        8,
        7,
    )
    configured = smtp_config_for(
        {"SMTP_HOST": "mail.example.org", "SMTP_USERNAME": "svc", "SMTP_PASSWORD": "pw-not-in-repr"}
    )
    assert configured.smtp is not None
    assert (configured.smtp.port, configured.smtp.security) == (587, SmtpSecurity.STARTTLS)
    assert "pw-not-in-repr" not in repr(configured)
    implicit = smtp_config_for({"SMTP_HOST": "mail.example.org", "SMTP_SECURITY": "tls"}).smtp
    assert implicit is not None
    assert implicit.port == 465

    production = {
        "ENV": "production",
        "SMTP_HOST": "mail.example.org",
        "SMTP_FROM": SENDER,
        "PUBLIC_URL": PUBLIC_URL + "/",
    }
    assert smtp_config_for(production).public_url == PUBLIC_URL
    refused = {
        "REFERRAL_SMTP_HOST": {k: v for k, v in production.items() if k != "SMTP_HOST"},
        "REFERRAL_PUBLIC_URL must be an https://": {**production, "PUBLIC_URL": "http://opferhilfe.example"},
        "REFERRAL_SMTP_SECURITY=none": {**production, "SMTP_SECURITY": "none"},
        "REFERRAL_SMTP_SECURITY must be one of": {"SMTP_HOST": "mail.example.org", "SMTP_SECURITY": "ssl"},
        "REFERRAL_SMTP_PASSWORD are set together": {"SMTP_HOST": "mail.example.org", "SMTP_USERNAME": "svc"},
        "REFERRAL_NOTIFY_DIGEST_HOUR": {"NOTIFY_DIGEST_HOUR": "24"},
        "REFERRAL_PUBLIC_URL must be an http": {"PUBLIC_URL": "https://example.org/?next=x"},
    }
    for message, variables in refused.items():
        with pytest.raises(SettingsError, match=re.escape(message)):
            smtp_config_for(variables)
    # A relay on the same host may be spoken to in clear text.
    assert smtp_config_for({**production, "SMTP_HOST": "127.0.0.1", "SMTP_SECURITY": "none"}).smtp is not None


def smtp_config_for(variables: Mapping[str, str]) -> NotificationConfig:
    environ = {f"REFERRAL_{name}": value for name, value in variables.items()}
    if environ.get("REFERRAL_ENV") == "production":
        # The kernel's own production requirements, met so that only the notification settings count.
        environ |= {
            "REFERRAL_DATABASE_URL": "postgresql://svc@db.internal/referrals",
            "REFERRAL_SECRET_KEY": base64.b64encode(b"k" * 32).decode(),
            "REFERRAL_KEYRING_PATH": "/etc/referral-service/keyring.json",
            "REFERRAL_AUDIT_SIGNING_KEY_PATH": "/etc/referral-service/audit.pem",
            "REFERRAL_OPERATOR_NAME": "Betreiber",
            "REFERRAL_OPERATOR_ADDRESS": "Straße 1|01067 Dresden",
            "REFERRAL_OPERATOR_EMAIL": "post@betreiber.example",
            "REFERRAL_DATA_PROTECTION_OFFICER": "DSB",
            "REFERRAL_SUPERVISORY_AUTHORITY": "Aufsicht",
            "REFERRAL_ACCESSIBILITY_ENFORCEMENT_BODY": "Stelle",
        }
    return NotificationConfig.from_settings(load_settings(environ))


# --- what a message may say -----------------------------------------------------------------------

_INSTALLED = [kind for domain in installed_domains() for kind in domain.notifications]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", [ASSIGNED, ANSWERED, *_INSTALLED], ids=lambda kind: kind.code)
def test_every_kind_renders_in_every_language_with_nothing_but_the_allowed_values(
    kind: NotificationKind, language: str
) -> None:
    texts = with_test_kinds(language)
    item = Item(kind, "VM-2026-00099", dt.date(2026, 12, 24), "/vermittlungen/0b9e3c1a")
    link = f"{PUBLIC_URL}{item.link}"
    rendered = [render_one(item, language=language, public_url=PUBLIC_URL, catalogue=with_test_kinds)]
    if not kind.to_complainant:
        rendered.append(
            render_digest(
                [item, item],
                day=dt.date(2026, 12, 4),
                language=language,
                public_url=PUBLIC_URL,
                catalogue=with_test_kinds,
            )
        )
    # Every word of a message comes from the catalogue's e-mail texts, the kind's texts, or the values.
    allowed = " ".join(
        [
            *(text for key, text in texts.items() if key.startswith("email.")),
            texts[kind.label_key],
            texts[f"{kind.label_key}.subject"],
            item.reference,
            link,
            f"{PUBLIC_URL}/benachrichtigungen/einstellungen",
            # The dates, a digest's bullets, the signature's separator.
            "24.12.2026 2026-12-24 04.12.2026 2026-12-04 - --",
        ]
    )
    for message in rendered:
        assert message.language == language
        assert not {"{", "}"} & set(message.subject + message.body)
        assert link in message.body
        strays = [
            word
            for word in (message.subject + " " + message.body).split()
            if word.strip(".,:") and word.strip(".,:") not in allowed
        ]
        assert strays == []
    assert item.reference in rendered[0].subject
