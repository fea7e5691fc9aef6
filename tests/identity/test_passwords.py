"""Argon2id hashing and the password policy."""

from __future__ import annotations

import pytest

from referral_service.identity.config import IdentityConfig, PasswordHashing
from referral_service.identity.errors import PasswordPolicyError
from referral_service.identity.passwords import (
    check_policy,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from tests.identity.support import FAST_HASHING


async def test_hash_and_verify() -> None:
    stored = await hash_password("correct horse battery staple", FAST_HASHING)
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert await verify_password(stored, "correct horse battery staple", FAST_HASHING)
    assert not await verify_password(stored, "correct horse battery stapler", FAST_HASHING)
    assert not await verify_password("not a hash", "anything", FAST_HASHING)


async def test_unknown_user_verifies_a_dummy_hash_and_fails() -> None:
    assert not await verify_password(None, "timing-equaliser-never-a-real-password", FAST_HASHING)


def test_default_cost_is_rfc_9106_second_recommendation() -> None:
    params = IdentityConfig().password_hashing
    assert (params.time_cost, params.memory_cost_kib, params.parallelism) == (3, 65536, 4)


async def test_rehash_is_needed_when_the_cost_changes() -> None:
    stored = await hash_password("correct horse battery staple", FAST_HASHING)
    assert not needs_rehash(stored, FAST_HASHING)
    assert needs_rehash(stored, PasswordHashing(time_cost=2, memory_cost_kib=1024, parallelism=1))
    assert needs_rehash("garbage", FAST_HASHING)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-11-ch", "at least 12 characters"),
        (" " * 20, "not only spaces"),
        ("officer.dresden-2026", "must not contain the username"),
        ("x" * 1025, "at most 1024 characters"),
    ],
)
def test_policy_refuses(password: str, problem: str) -> None:
    with pytest.raises(PasswordPolicyError) as refused:
        check_policy(password, IdentityConfig(), username="officer.dresden")
    assert problem in refused.value.detail
    assert password.strip() not in refused.value.detail or not password.strip()


def test_policy_accepts_a_long_passphrase() -> None:
    check_policy("Twelve chars", IdentityConfig(), username="officer.dresden")


def test_generated_passwords_meet_the_policy_and_differ() -> None:
    generated = {generate_password(username="abc") for _ in range(200)}
    assert len(generated) == 200
    for password in generated:
        check_policy(password, IdentityConfig(), username="abc")
        assert "abc" not in password
        assert not set(password) & set("01lo")  # nothing to misread when typed from a screen
