"""TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps) and the encryption of TOTP secrets.

SHA-1 and 6 digits because that is what every authenticator app implements; HMAC-SHA-1 remains
sound as a PRF. Secrets are encrypted with AES-256-GCM under a key derived by HKDF-SHA256 from the
service secret (info "totp-secret:v1"), with the user id as associated data, so a secret copied onto
another user's row does not decrypt.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
import struct
import uuid
from urllib.parse import quote, urlencode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, RFC 4226 §4
_VERSION = b"\x01"
_NONCE_BYTES = 12


class TotpSecretError(ValueError):
    """A stored TOTP secret does not decrypt (wrong key, wrong row, or altered)."""


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def to_base32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def from_base32(text: str) -> bytes:
    cleaned = text.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def time_step(moment: dt.datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def code_at_step(secret: bytes, step: int) -> str:
    digest = hmac.new(secret, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def current_code(secret: bytes, moment: dt.datetime) -> str:
    return code_at_step(secret, time_step(moment))


def matching_step(secret: bytes, code: str, moment: dt.datetime, window: int = 1) -> int | None:
    """The time step within ±`window` steps of `moment` whose code equals `code`, else None."""
    candidate = code.strip().replace(" ", "")
    if len(candidate) != DIGITS or not candidate.isdigit():
        return None
    now = time_step(moment)
    found: int | None = None
    # Compare every candidate step, so the time taken does not depend on which one matched.
    for step in range(now - window, now + window + 1):
        if hmac.compare_digest(code_at_step(secret, step), candidate) and found is None:
            found = step
    return found


def provisioning_uri(secret: bytes, username: str, issuer: str) -> str:
    label = quote(f"{issuer}:{username}")
    query = urlencode(
        {
            "secret": to_base32(secret),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        }
    )
    return f"otpauth://totp/{label}?{query}"


def _key(service_secret: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"totp-secret:v1").derive(
        service_secret
    )


def _associated_data(user_id: uuid.UUID, pending: bool) -> bytes:
    # A pending (unconfirmed) secret must not be usable as the active one by moving it between columns.
    return str(user_id).encode() + (b":pending" if pending else b"")


def encrypt_secret(
    secret: bytes, *, user_id: uuid.UUID, service_secret: bytes, pending: bool = False
) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_key(service_secret)).encrypt(nonce, secret, _associated_data(user_id, pending))
    return _VERSION + nonce + sealed


def decrypt_secret(blob: bytes, *, user_id: uuid.UUID, service_secret: bytes, pending: bool = False) -> bytes:
    if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _VERSION:
        raise TotpSecretError("unsupported TOTP secret format")
    nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    try:
        return AESGCM(_key(service_secret)).decrypt(nonce, sealed, _associated_data(user_id, pending))
    except InvalidTag:
        raise TotpSecretError("TOTP secret does not decrypt") from None
