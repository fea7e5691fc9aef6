"""Access codes and complainant session tokens.

An access code is 24 symbols of Crockford's base32 (no I, L, O, U), 120 random bits, shown once in
groups of four ("7KQ2-M9XD-…") for reading aloud or copying from a letter. Typing is forgiven: case,
spaces and dashes do not matter, and O/I/L are read as 0/1/1. Only an Argon2id hash is stored (the
identity module's hasher, in a worker thread); with an unknown reference a dummy hash is verified
instead, so "no such complaint" takes as long as "wrong code".

A session token ("rsc_" + 256 random bits) is what the complainant's client sends as a bearer token
afterwards; only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets

from referral_service.identity.config import PasswordHashing
from referral_service.identity.passwords import hash_password, verify_password

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_SYMBOLS = 24
GROUP = 4
ENTROPY_BITS = CODE_SYMBOLS * 5  # 120
_TYPING_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1"})
SESSION_PREFIX = "rsc_"


def new_access_code() -> str:
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))
    return "-".join(symbols[i : i + GROUP] for i in range(0, CODE_SYMBOLS, GROUP))


def normalise_access_code(raw: str) -> str | None:
    """The 24 symbols of a typed code, or None if it cannot be one (still verified, for timing)."""
    symbols = "".join(raw.split()).replace("-", "").upper().translate(_TYPING_FIXES)
    if len(symbols) != CODE_SYMBOLS or any(symbol not in ALPHABET for symbol in symbols):
        return None
    return symbols


async def hash_access_code(code: str, params: PasswordHashing) -> str:
    symbols = normalise_access_code(code)
    if symbols is None:  # pragma: no cover - only ever called with a fresh code
        raise ValueError("not an access code")
    return await hash_password(symbols, params)


async def verify_access_code(stored_hash: str | None, typed: str, params: PasswordHashing) -> bool:
    """True when `typed` is the code; with `stored_hash=None` a dummy hash is verified (same cost)."""
    symbols = normalise_access_code(typed)
    # A malformed code still costs one verification, so its answer comes no faster than a wrong one's.
    ok = await verify_password(stored_hash, symbols or "malformed-access-code", params)
    return ok and symbols is not None and stored_hash is not None


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
