"""What is stored of an access code: a keyed hash under a sub-key of the service secret, never the code;
codes stored as Argon2id hashes before still open their complaint and are re-stored as keyed hashes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from complaints.access_codes import normalise_access_code
from referral_service.identity.passwords import hash_password_sync
from referral_service.settings import Settings
from tests.complaints.support import PUBLIC, Client, audit_events, complainant_headers, submit, wrong
from tests.identity.support import FAST_HASHING
from tests.plaintext_scan import assert_nowhere_stored

SESSION = f"{PUBLIC}/session"


async def stored_code_hash(engine: AsyncEngine, reference: str) -> str:
    async with engine.connect() as connection:
        found = await connection.execute(
            text("SELECT access_code_hash FROM complaints WHERE reference = :reference"),
            {"reference": reference},
        )
        return str(found.scalar_one())


async def store_code_hash(engine: AsyncEngine, reference: str, value: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE complaints SET access_code_hash = :value WHERE reference = :reference"),
            {"value": value, "reference": reference},
        )


def expected_keyed_hash(secret: bytes, symbols: str) -> str:
    """HKDF-SHA256 (info "complaint-access-code:v1") then HMAC-SHA256, written out independently."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"complaint-access-code:v1").derive(
        secret
    )
    return "hmac-sha256$v1$" + hmac.new(key, symbols.encode(), hashlib.sha256).hexdigest()


async def test_a_new_complaint_stores_a_keyed_hash_of_its_code_and_nothing_else(
    client: Client, engine: AsyncEngine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    receipt = await submit(client)
    code = receipt["access_code"]
    symbols = normalise_access_code(code)
    assert symbols is not None

    stored = await stored_code_hash(engine, receipt["reference"])
    assert stored == expected_keyed_hash(settings.secret_key, symbols)
    # Keyed: without the service secret the digest cannot even be tested against a guess.
    assert stored != expected_keyed_hash(b"another-service-secret-of-32-bytes!", symbols)

    await complainant_headers(client, receipt["reference"], code)
    assert (
        await client.post(SESSION, json={"reference": receipt["reference"], "access_code": wrong(code)})
    ).status_code == 404
    await assert_nowhere_stored(engine, code, symbols)
    logged = capsys.readouterr()
    assert symbols not in logged.out + logged.err
    assert code not in logged.out + logged.err


async def test_a_code_stored_as_argon2id_still_opens_and_is_then_stored_as_a_keyed_hash(
    client: Client, engine: AsyncEngine, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    receipt = await submit(client)
    reference, code = receipt["reference"], receipt["access_code"]
    symbols = normalise_access_code(code)
    assert symbols is not None
    legacy = hash_password_sync(symbols, FAST_HASHING)
    assert legacy.startswith("$argon2id$")
    await store_code_hash(engine, reference, legacy)

    # A wrong code is refused and changes nothing.
    refused = await client.post(SESSION, json={"reference": reference, "access_code": wrong(code)})
    assert (refused.status_code, refused.json()["code"]) == (404, "complaint.access_denied")
    assert await stored_code_hash(engine, reference) == legacy

    # The right code, typed as people type it, opens the complaint and the code is re-stored.
    typed = code.lower().replace("-", " ")
    headers = await complainant_headers(client, reference, typed)
    assert (await client.get(f"{PUBLIC}/me", headers=headers)).json()["reference"] == reference
    assert await stored_code_hash(engine, reference) == expected_keyed_hash(settings.secret_key, symbols)
    opened = [
        event for event in await audit_events(engine, "complaint:access:open") if event.outcome == "success"
    ]
    assert [json.loads(event.details).get("access_code_rehashed") for event in opened] == [True]

    # From now on the keyed hash answers: the right code opens, a wrong one is still refused.
    await complainant_headers(client, reference, code)
    refused = await client.post(SESSION, json={"reference": reference, "access_code": wrong(code)})
    assert (refused.status_code, refused.json()["code"]) == (404, "complaint.access_denied")
    await assert_nowhere_stored(engine, code, symbols)
    logged = capsys.readouterr()
    assert symbols not in logged.out + logged.err
    assert code not in logged.out + logged.err
