"""Test helpers for identity: a controllable clock, cheap hashing, the seeded demo directory, tokens.

The fixtures in `tests/conftest.py` build on these; tests of any domain can use them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.db import utcnow
from referral_service.identity import credentials, repository, totp
from referral_service.identity.config import IdentityConfig, PasswordHashing
from referral_service.identity.demo import DEMO_USERS, demo_password, demo_totp_secret, seed_demo
from referral_service.identity.roles import Role, UnitKind, requires_totp
from referral_service.referrals.routing import seed_demo_routes
from referral_service.settings import DEVELOPMENT_SECRET_KEY

# Argon2id at its minimum cost: tests check behaviour, not hashing strength.
FAST_HASHING = PasswordHashing(time_cost=1, memory_cost_kib=1024, parallelism=1)

AuthHeaders = Callable[[Role | str], Awaitable[dict[str, str]]]


class FakeClock:
    """A clock tests move by hand (session timeouts, throttle locks, TOTP steps)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.current = start or utcnow()

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += dt.timedelta(**delta)


def test_identity_config(clock: FakeClock, **overrides: object) -> IdentityConfig:
    values: dict[str, object] = {"clock": clock.now, "password_hashing": FAST_HASHING}
    values.update(overrides)
    return IdentityConfig(**values)  # type: ignore[arg-type]


test_identity_config.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@dataclass(frozen=True)
class DemoUnit:
    id: uuid.UUID
    code: str
    path: str
    kind: UnitKind


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: Role
    user_id: uuid.UUID
    unit: DemoUnit
    totp_secret: bytes | None

    def totp_code(self, at: dt.datetime) -> str:
        assert self.totp_secret is not None, f"{self.username} has no second factor"
        return totp.current_code(self.totp_secret, at)

    def login_body(self, clock: FakeClock | None = None, **extra: str) -> dict[str, str]:
        body = {"username": self.username, "password": self.password}
        if self.totp_secret is not None and clock is not None:
            body["totp_code"] = self.totp_code(clock.now())
        body.update(extra)
        return body


@dataclass
class DemoDirectory:
    """The seeded Saxon demo organisation: units by code, accounts by username."""

    units: dict[str, DemoUnit] = field(default_factory=dict)
    accounts: dict[str, DemoAccount] = field(default_factory=dict)

    def account(self, who: Role | str) -> DemoAccount:
        """The demo account with this username, or the first demo user holding this role."""
        if isinstance(who, Role):
            return next(account for account in self.accounts.values() if account.role is who)
        return self.accounts[who]

    def unit(self, code: str) -> DemoUnit:
        return self.units[code]


async def seed_demo_organisation(engine: AsyncEngine) -> None:
    """The demo organisation as `demo_directory` expects it: the development secret (the `settings`
    fixture's), cheap hashing. Built once into a template database (tests/databases.py)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await seed_demo(session, config=test_identity_config(FakeClock()), secret=DEVELOPMENT_SECRET_KEY)
        await session.commit()


async def seed_demo_routing(engine: AsyncEngine) -> None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        assert await seed_demo_routes(session) > 0
        await session.commit()


async def seed_demo_directory(engine: AsyncEngine, config: IdentityConfig, secret: bytes) -> DemoDirectory:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await seed_demo(session, config=config, secret=secret)
        await session.commit()
    return await find_demo_directory(engine, secret)


async def find_demo_directory(engine: AsyncEngine, secret: bytes) -> DemoDirectory:
    """The demo organisation already in the database, with the logins `secret` derives."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        directory = DemoDirectory()
        for unit in await repository.list_units(session, repository.unit_visibility(None)):
            directory.units[unit.code] = DemoUnit(unit.id, unit.code, unit.path, UnitKind(unit.kind))
        by_id = {unit.id: unit for unit in directory.units.values()}
        for demo_user in DEMO_USERS:
            user = await repository.get_user_by_username(session, demo_user.username)
            assert user is not None
            directory.accounts[user.username] = DemoAccount(
                username=user.username,
                password=demo_password(secret, user.username),
                role=demo_user.role,
                user_id=user.id,
                unit=by_id[user.unit_id],
                totp_secret=demo_totp_secret(secret, user.username)
                if requires_totp([demo_user.role])
                else None,
            )
    return directory


async def mint_token(engine: AsyncEngine, user_id: uuid.UUID, config: IdentityConfig) -> str:
    """A bearer token written straight into the database: a shortcut past password and TOTP checks,
    for tests whose subject is not authentication."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        token, _ = await credentials.create_api_token(session, user_id, config)
        await session.commit()
    return token
