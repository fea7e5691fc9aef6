"""Encrypted fields through the service's key store, on both engines: what is stored, shredding, rotation."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Column, LargeBinary, String, Uuid, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crypto import DecryptionError, KeyDestroyedError, KeyringError
from referral_service.cli import main
from referral_service.db import create_database_engine, create_session_factory
from referral_service.keys.fields import (
    BLIND_INDEX,
    ENCRYPTED,
    PlaintextRefusedError,
    erase_fields,
    open_fields,
    seal,
)
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.settings import Settings, load_settings
from tests.plaintext_scan import assert_nowhere_stored, stored_bytes
from tests.test_settings import OPERATOR

VICTIM = {"name": "Ömer Yılmaz-Schröder", "phone": "+49 351 4711-0815", "note": "Übergriff im Treppenhaus 😟"}
OTHER = {"name": "Erika Mustermann", "phone": "0341 998877", "note": "Bedrohung per Telefon"}


class Base(DeclarativeBase):
    """A model of the test's own, outside the migrated schema, declared the way domain models are."""


class Person(Base):
    __tablename__ = "test_person"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    data_key_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    category: Mapped[str] = mapped_column(String(20))
    name: Mapped[bytes | None] = mapped_column(LargeBinary, info={ENCRYPTED: True})
    phone: Mapped[bytes | None] = mapped_column(LargeBinary, info={ENCRYPTED: True})
    note: Mapped[bytes | None] = mapped_column(LargeBinary, info={ENCRYPTED: True})
    phone_index: Mapped[bytes | None] = mapped_column(LargeBinary, info={BLIND_INDEX: True})

    __table_args__ = ()


assert isinstance(Person.__table__.c.name, Column)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings({"REFERRAL_DATABASE_URL": database_url, "REFERRAL_VAR_DIR": str(tmp_path / "var")})


@pytest.fixture
def case_keys(settings: Settings) -> CaseKeys:
    return CaseKeys(lambda: load_key_provider(settings))


@pytest.fixture
async def people_engine(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return engine


async def store(engine: AsyncEngine, case_keys: CaseKeys, values: dict[str, str]) -> uuid.UUID:
    async with create_session_factory(engine)() as session, session.begin():
        key = await case_keys.create(session, "test")
        person = Person(id=uuid.uuid4(), category="violence")
        seal(person, key, **values)
        person.phone_index = case_keys.blind_index.index_phone(values["phone"])
        session.add(person)
    return person.id


async def read(engine: AsyncEngine, case_keys: CaseKeys, person_id: uuid.UUID) -> dict[str, str | None]:
    async with create_session_factory(engine)() as session:
        person = await session.get(Person, person_id)
        assert person is not None
        assert person.data_key_id is not None
        key = await case_keys.get(session, person.data_key_id)
        return open_fields(person, key)


async def test_round_trip_and_nothing_stored_in_plaintext(
    people_engine: AsyncEngine, case_keys: CaseKeys
) -> None:
    first = await store(people_engine, case_keys, VICTIM)
    second = await store(people_engine, case_keys, OTHER)
    assert await read(people_engine, case_keys, first) == VICTIM
    assert await read(people_engine, case_keys, second) == OTHER
    await assert_nowhere_stored(people_engine, *VICTIM.values(), *OTHER.values(), "4711", "Mustermann")
    assert b"violence" in await stored_bytes(people_engine), "the scan must see plain columns"


async def test_blind_index_finds_the_row_by_any_phone_format(
    people_engine: AsyncEngine, case_keys: CaseKeys
) -> None:
    person_id = await store(people_engine, case_keys, VICTIM)
    probe = case_keys.blind_index.index_phone("0049 351 47110815")
    async with create_session_factory(people_engine)() as session:
        found = (await session.execute(select(Person.id).where(Person.phone_index == probe))).scalars().all()
    assert found == [person_id]


@pytest.mark.parametrize("bad", ["Erika Mustermann", b"not ciphertext at all, just bytes"])
async def test_plaintext_cannot_be_flushed(
    people_engine: AsyncEngine, case_keys: CaseKeys, bad: object
) -> None:
    async with create_session_factory(people_engine)() as session:
        key = await case_keys.create(session, "test")
        person = Person(id=uuid.uuid4(), category="x")
        seal(person, key, name="x")
        person.phone = bad  # type: ignore[assignment]
        session.add(person)
        with pytest.raises(PlaintextRefusedError):
            await session.flush()


async def test_ciphertext_of_another_case_cannot_be_flushed(
    people_engine: AsyncEngine, case_keys: CaseKeys
) -> None:
    async with create_session_factory(people_engine)() as session:
        key_a = await case_keys.create(session, "test")
        key_b = await case_keys.create(session, "test")
        a, b = Person(id=uuid.uuid4(), category="x"), Person(id=uuid.uuid4(), category="x")
        seal(a, key_a, name="a")
        seal(b, key_b, name="b")
        b.name = a.name
        session.add_all([a, b])
        with pytest.raises(PlaintextRefusedError, match="another case"):
            await session.flush()


async def test_undeclared_field_cannot_be_sealed(case_keys: CaseKeys, people_engine: AsyncEngine) -> None:
    async with create_session_factory(people_engine)() as session:
        key = await case_keys.create(session, "test")
        with pytest.raises(PlaintextRefusedError):
            seal(Person(id=uuid.uuid4(), category="x"), key, category="violence")


async def test_value_moved_to_another_row_fails(people_engine: AsyncEngine, case_keys: CaseKeys) -> None:
    async with create_session_factory(people_engine)() as session:
        key = await case_keys.create(session, "test")
        a, b = Person(id=uuid.uuid4(), category="x"), Person(id=uuid.uuid4(), category="x")
        seal(a, key, name="Anna")
        seal(b, key, name="Berta")
        b.name = a.name
        with pytest.raises(DecryptionError):
            open_fields(b, key, ["name"])


async def test_shredding_one_case_leaves_others_readable(
    people_engine: AsyncEngine, case_keys: CaseKeys
) -> None:
    first = await store(people_engine, case_keys, VICTIM)
    second = await store(people_engine, case_keys, OTHER)
    assert await read(people_engine, case_keys, first) == VICTIM  # now cached in this instance
    async with create_session_factory(people_engine)() as session, session.begin():
        person = await session.get(Person, first)
        assert person is not None
        assert person.data_key_id is not None
        assert await case_keys.destroy(session, person.data_key_id)
        assert erase_fields(person) == ["name", "phone", "note", "phone_index"]
    with pytest.raises(KeyDestroyedError):
        await read(people_engine, case_keys, first)
    assert await read(people_engine, case_keys, second) == OTHER


async def test_shredding_is_seen_at_once_by_another_instance(
    people_engine: AsyncEngine, settings: Settings
) -> None:
    instance_a = CaseKeys(lambda: load_key_provider(settings))
    instance_b = CaseKeys(lambda: load_key_provider(settings))
    person_id = await store(people_engine, instance_a, VICTIM)
    assert await read(people_engine, instance_b, person_id) == VICTIM  # B caches the key
    async with create_session_factory(people_engine)() as session, session.begin():
        person = await session.get(Person, person_id)
        assert person is not None
        assert person.data_key_id is not None
        await instance_a.destroy(session, person.data_key_id)
    with pytest.raises(KeyDestroyedError):
        await read(people_engine, instance_b, person_id)


async def test_rotation_rewraps_without_reencrypting(
    people_engine: AsyncEngine, case_keys: CaseKeys, settings: Settings
) -> None:
    ids = [await store(people_engine, case_keys, VICTIM) for _ in range(5)]
    before = await stored_bytes(people_engine)
    new_version = case_keys.provider.add_version()
    assert await case_keys.rewrap_all(people_engine, batch_size=2) == 5
    async with create_session_factory(people_engine)() as session:
        assert await case_keys.usage_by_kek_version(session) == {new_version: 5}
        people = (await session.execute(select(Person.name))).scalars().all()
    assert all(blob is not None and blob in before for blob in people), "field ciphertext must be unchanged"
    # A fresh instance (new keyring file state) reads old cases and wraps new ones under the new KEK.
    fresh = CaseKeys(lambda: load_key_provider(settings))
    assert fresh.provider.current_version == new_version
    for person_id in ids:
        assert await read(people_engine, fresh, person_id) == VICTIM
    fresh.provider.remove_version(1)
    assert await read(people_engine, CaseKeys(lambda: load_key_provider(settings)), ids[0]) == VICTIM


async def test_an_instance_with_an_old_keyring_reloads_after_rotation(
    people_engine: AsyncEngine, settings: Settings
) -> None:
    old = CaseKeys(lambda: load_key_provider(settings))
    rotator = CaseKeys(lambda: load_key_provider(settings))
    rotator.provider.add_version()
    person_id = await store(people_engine, rotator, VICTIM)  # wrapped under version 2
    assert await read(people_engine, old, person_id) == VICTIM


def test_keys_cli_status_rotate_retire(database_url: str, tmp_path: Path) -> None:
    env = {"REFERRAL_DATABASE_URL": database_url, "REFERRAL_VAR_DIR": str(tmp_path / "var")}
    settings = load_settings(env)
    case_keys = CaseKeys(lambda: load_key_provider(settings))

    async def seed() -> None:
        engine = create_database_engine(database_url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            for _ in range(3):
                await store(engine, case_keys, VICTIM)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    runner = CliRunner()
    status = runner.invoke(main, ["keys", "status"], env=env)
    assert "KEK version 1 (current): 3 data keys" in status.output
    refused = runner.invoke(main, ["keys", "retire", "1"], env=env)
    assert refused.exit_code != 0
    assert "still wraps 3 data keys" in refused.output
    rotated = runner.invoke(main, ["keys", "rotate"], env=env)
    assert rotated.exit_code == 0, rotated.output
    assert "KEK version 2 is current; 3 data keys re-wrapped." in rotated.output
    assert "can be retired: 1" in rotated.output
    retired = runner.invoke(main, ["keys", "retire", "1"], env=env)
    assert retired.exit_code == 0, retired.output
    assert "KEK version 1" not in runner.invoke(main, ["keys", "status"], env=env).output


def test_development_creates_a_private_keyring_and_production_refuses_a_missing_one(tmp_path: Path) -> None:
    dev = load_settings({"REFERRAL_VAR_DIR": str(tmp_path / "var")})
    load_key_provider(dev)
    assert (tmp_path / "var" / "dev-keyring.json").stat().st_mode & 0o777 == 0o600
    production = load_settings(
        {
            "REFERRAL_ENV": "production",
            "REFERRAL_DATABASE_URL": "postgresql://x@y/z",
            "REFERRAL_SECRET_KEY": "a" * 44,
            "REFERRAL_KEYRING_PATH": str(tmp_path / "missing.json"),
            "REFERRAL_AUDIT_SIGNING_KEY_PATH": str(tmp_path / "a.pem"),
            **OPERATOR,
        }
    )
    with pytest.raises(KeyringError):
        load_key_provider(production)
    assert not (tmp_path / "missing.json").exists()
