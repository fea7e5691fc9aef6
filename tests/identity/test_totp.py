"""TOTP per RFC 6238 and the encryption of TOTP secrets at rest."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from referral_service.identity import totp

RFC_SECRET = b"12345678901234567890"  # RFC 6238 Appendix B, SHA-1


@pytest.mark.parametrize(
    ("unix_time", "eight_digits"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc_6238_test_vectors(unix_time: int, eight_digits: str) -> None:
    moment = dt.datetime.fromtimestamp(unix_time, dt.UTC)
    # Six digits are the last six of the RFC's eight-digit values.
    assert totp.current_code(RFC_SECRET, moment) == eight_digits[-6:]


def test_window_accepts_one_step_either_side_only() -> None:
    now = dt.datetime(2026, 3, 1, 12, 0, 15, tzinfo=dt.UTC)
    step = totp.time_step(now)
    for offset in (-1, 0, 1):
        assert (
            totp.matching_step(RFC_SECRET, totp.code_at_step(RFC_SECRET, step + offset), now) == step + offset
        )
    for offset in (-2, 2):
        assert totp.matching_step(RFC_SECRET, totp.code_at_step(RFC_SECRET, step + offset), now) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_never_match(code: str) -> None:
    assert totp.matching_step(RFC_SECRET, code, dt.datetime.now(dt.UTC)) is None


def test_codes_with_spaces_are_accepted() -> None:
    now = dt.datetime.now(dt.UTC)
    code = totp.current_code(RFC_SECRET, now)
    assert totp.matching_step(RFC_SECRET, f"{code[:3]} {code[3:]}", now) == totp.time_step(now)


def test_base32_round_trip_and_provisioning_uri() -> None:
    secret = totp.new_secret()
    assert len(secret) == 20
    assert totp.from_base32(totp.to_base32(secret).lower()) == secret
    uri = totp.provisioning_uri(secret, "admin.sachsen", "referral-service")
    assert uri.startswith("otpauth://totp/referral-service%3Aadmin.sachsen?secret=")
    assert "algorithm=SHA1&digits=6&period=30" in uri


SERVICE_SECRET = b"x" * 32


def test_secrets_are_encrypted_and_bound_to_their_user() -> None:
    user, other = uuid.uuid4(), uuid.uuid4()
    secret = totp.new_secret()
    blob = totp.encrypt_secret(secret, user_id=user, service_secret=SERVICE_SECRET)
    assert secret not in blob
    assert blob != totp.encrypt_secret(secret, user_id=user, service_secret=SERVICE_SECRET)  # fresh nonce
    assert totp.decrypt_secret(blob, user_id=user, service_secret=SERVICE_SECRET) == secret
    with pytest.raises(totp.TotpSecretError):
        totp.decrypt_secret(blob, user_id=other, service_secret=SERVICE_SECRET)
    with pytest.raises(totp.TotpSecretError):
        totp.decrypt_secret(blob, user_id=user, service_secret=b"y" * 32)
    with pytest.raises(totp.TotpSecretError):
        totp.decrypt_secret(blob, user_id=user, service_secret=SERVICE_SECRET, pending=True)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(totp.TotpSecretError):
        totp.decrypt_secret(tampered, user_id=user, service_secret=SERVICE_SECRET)
    with pytest.raises(totp.TotpSecretError):
        totp.decrypt_secret(b"\x02" + blob[1:], user_id=user, service_secret=SERVICE_SECRET)
