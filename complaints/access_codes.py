"""Access codes and complainant session tokens.

An access code is 24 symbols of Crockford's base32 (no I, L, O, U), 120 random bits, shown once in
groups of four ("7KQ2-M9XD-…") for reading aloud or copying from a letter. Typing is forgiven: case,
spaces and dashes do not matter, and O/I/L are read as 0/1/1.

Stored is a keyed hash, `hmac-sha256$v1$<hex>`: HMAC-SHA256 of the 24 symbols under a key derived by
HKDF-SHA256 from the service secret (info "complaint-access-code:v1"), compared in constant time. A
slow password hash would add nothing: it exists to make guessing a low-entropy password from a stolen
table expensive, and 120 random bits cannot be guessed at any speed; without the service secret the
stored digests cannot even be tested offline. It costs microseconds where Argon2id cost 300 ms of
CPU and 64 MiB per attempt, which let anyone tie up the public server with wrong codes.

Codes stored before (Argon2id, `$argon2id$…`) are still accepted and re-stored as the keyed hash on
their first successful use (`is_current`). Whatever is stored, an unknown reference, an erased code or
a malformed typed code costs one HMAC compared against a dummy, so "no such complaint" and "wrong code"
take the same work.

A session token ("rsc_" + 256 random bits) is what the complainant's client sends as a bearer token
afterwards; only its SHA-256 is stored.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from referral_service.identity.config import PasswordHashing
from referral_service.identity.passwords import verify_password

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_SYMBOLS = 24
GROUP = 4
ENTROPY_BITS = CODE_SYMBOLS * 5  # 120
_TYPING_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1"})
SESSION_PREFIX = "rsc_"

KEYED_HASH_PREFIX = "hmac-sha256$v1$"
LEGACY_ARGON2_PREFIX = "$argon2id$"
_HKDF_INFO = b"complaint-access-code:v1"
# Compared against when nothing valid is stored; no HMAC output is all zeros in practice (2^-256).
_DUMMY_DIGEST = "0" * 64
# Stands in for a typed code that cannot be one, so that it is hashed like any other.
_MALFORMED = "malformed-access-code"
# Argon2 takes the cost of a verification from the stored hash; these only build the hasher.
_LEGACY_HASHING = PasswordHashing()


def new_access_code() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))
    return "-".join(symbols[i : i + GROUP] for i in range(0, CODE_SYMBOLS, GROUP))


def normalise_access_code(raw: str) -> str | None:
    """The 24 symbols of a typed code, or None if it cannot be one (still verified, for timing)."""
    symbols = "".join(raw.split()).replace("-", "").upper().translate(_TYPING_FIXES)
    if len(symbols) != CODE_SYMBOLS or any(symbol not in ALPHABET for symbol in symbols):
        return None
    return symbols


@functools.lru_cache(maxsize=4)
def _code_key(service_secret: bytes) -> bytes:
    # A key of its own: the service secret also keys the throttle and TOTP, a digest here must not
    # be comparable with anything computed there.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(service_secret)


def _digest(symbols: str, service_secret: bytes) -> str:
    return hmac.new(_code_key(service_secret), symbols.encode(), hashlib.sha256).hexdigest()


def hash_access_code(code: str, service_secret: bytes) -> str:
    """What is stored for `code`: its keyed hash in the current format."""
    symbols = normalise_access_code(code)
    if symbols is None:  # pragma: no cover - only ever called with a code that was just accepted
        raise ValueError("not an access code")
    return KEYED_HASH_PREFIX + _digest(symbols, service_secret)


def is_current(stored_hash: str) -> bool:
    """False for a code stored in an older format, which is re-stored when it is next used."""
    return stored_hash.startswith(KEYED_HASH_PREFIX)


async def verify_access_code(stored_hash: str | None, typed: str, service_secret: bytes) -> bool:
    """True when `typed` is the code stored as `stored_hash`. With `stored_hash=None` (unknown
    reference) or an unusable one (erased), a dummy is compared instead: the same work, always False."""
    symbols = normalise_access_code(typed)
    if stored_hash is not None and stored_hash.startswith(LEGACY_ARGON2_PREFIX):
        ok = await verify_password(stored_hash, symbols or _MALFORMED, _LEGACY_HASHING)
        return ok and symbols is not None
    current = stored_hash is not None and is_current(stored_hash)
    expected = stored_hash[len(KEYED_HASH_PREFIX) :] if stored_hash is not None and current else _DUMMY_DIGEST
    matches = hmac.compare_digest(_digest(symbols or _MALFORMED, service_secret).encode(), expected.encode())
    return matches and current and symbols is not None


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
