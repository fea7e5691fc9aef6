"""Argon2id password hashing and the password policy.

Hashing runs in a worker thread: at the default cost it takes a tenth of a second of CPU, which
must not stall the event loop that serves everybody else.
"""

from __future__ import annotations

import contextlib
import functools
import secrets

import anyio.to_thread
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from referral_service.identity.config import IdentityConfig, PasswordHashing
from referral_service.identity.errors import PasswordPolicyError

# Verified for unknown users so that "no such user" takes as long as "wrong password".
_DUMMY_PASSWORD = "timing-equaliser-never-a-real-password"  # noqa: S105


@functools.lru_cache(maxsize=8)
def hasher(params: PasswordHashing) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost_kib,
        parallelism=params.parallelism,
        hash_len=params.hash_len,
        salt_len=params.salt_len,
        type=Type.ID,
    )


@functools.lru_cache(maxsize=8)
def _dummy_hash(params: PasswordHashing) -> str:
    return hasher(params).hash(_DUMMY_PASSWORD)


def check_policy(password: str, config: IdentityConfig, *, username: str | None = None) -> None:
    """Refuse passwords that are too short, too long or that contain the username.

    Length is what matters (NIST SP 800-63B); composition rules only make passwords predictable.
    """
    problems: list[str] = []
    if len(password) < config.password_min_length:
        problems.append(f"at least {config.password_min_length} characters")
    if len(password) > config.password_max_length:
        problems.append(f"at most {config.password_max_length} characters")
    if not password.strip():
        problems.append("not only spaces")
    if username and username.lower() in password.lower():
        problems.append("must not contain the username")
    if problems:
        raise PasswordPolicyError("The password does not meet the policy: " + "; ".join(problems) + ".")


# No 0/O, 1/l/I: a generated password is read out or typed from a screen.
_GENERATED_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def generate_password(*, username: str | None = None, groups: int = 5, group_length: int = 4) -> str:
    """A random one-time password such as `k7mq-x2pe-...` (5 x 4 characters: 100 bits), for an
    administrator to hand over once. Never contains `username` (the policy would refuse it)."""
    while True:
        password = "-".join(
            "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(group_length)) for _ in range(groups)
        )
        if not username or username.lower() not in password:
            return password


def hash_password_sync(password: str, params: PasswordHashing) -> str:
    return hasher(params).hash(password)


async def hash_password(password: str, params: PasswordHashing) -> str:
    return await anyio.to_thread.run_sync(hash_password_sync, password, params)


def _verify(stored_hash: str | None, password: str, params: PasswordHashing) -> bool:
    if stored_hash is None:
        with contextlib.suppress(VerificationError):
            hasher(params).verify(_dummy_hash(params), password)
        return False
    try:
        return hasher(params).verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored_hash: str | None, password: str, params: PasswordHashing) -> bool:
    """True when `password` matches; with `stored_hash=None` verifies a dummy hash and returns False."""
    return await anyio.to_thread.run_sync(_verify, stored_hash, password, params)


def needs_rehash(stored_hash: str, params: PasswordHashing) -> bool:
    try:
        return hasher(params).check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
