"""Encrypted fields of models: declared once on the column, sealed and opened through one helper.

A model marks a column with `encrypted_field()` (ciphertext) or `blind_index_field()` (equality index);
`EncryptedRecord` gives it a row id generated at construction, before anything is encrypted, and the
id of its case's data key. A flush guard refuses any encrypted column that does not hold ciphertext
under the row's own data key, so plaintext cannot reach the database by mistake.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, LargeBinary, event, inspect
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

from crypto import DataKey, DecryptionError, FieldCipher, FieldContext

ENCRYPTED = "encrypted"
BLIND_INDEX = "blind_index"


class PlaintextRefusedError(ValueError):
    """An encrypted column was about to be written with something other than its ciphertext."""


def encrypted_field() -> Any:
    return Field(default=None, sa_column=Column(LargeBinary, nullable=True, info={ENCRYPTED: True}))


def blind_index_field() -> Any:
    return Field(
        default=None, sa_column=Column(LargeBinary, nullable=True, index=True, info={BLIND_INDEX: True})
    )


class EncryptedRecord(SQLModel):
    """Base of every table holding personal data: a row id known before encryption, and its data key."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # `foreign_key=` (not a ForeignKey object) so that every table built from this base gets its own.
    data_key_id: uuid.UUID | None = Field(default=None, foreign_key="data_keys.id")


def encrypted_columns(model: type[Any] | Any) -> tuple[str, ...]:
    table = model.__table__
    return tuple(column.name for column in table.columns if column.info.get(ENCRYPTED))


def blind_index_columns(model: type[Any] | Any) -> tuple[str, ...]:
    table = model.__table__
    return tuple(column.name for column in table.columns if column.info.get(BLIND_INDEX))


def _context(row: Any, column: str) -> FieldContext:
    return FieldContext(row.__table__.name, column, str(row.id))


def seal(row: Any, key: DataKey, **values: str | None) -> None:
    """Encrypt `values` (text) into the row's declared encrypted columns under the case key."""
    declared = encrypted_columns(row)
    if row.data_key_id is None:
        row.data_key_id = key.id
    elif row.data_key_id != key.id:
        raise PlaintextRefusedError("the row belongs to another case key")
    for name, value in values.items():
        if name not in declared:
            raise PlaintextRefusedError(f"{type(row).__name__}.{name} is not an encrypted field")
        setattr(
            row, name, None if value is None else FieldCipher.encrypt_text(key, value, _context(row, name))
        )


def open_fields(row: Any, key: DataKey, names: Iterable[str] | None = None) -> dict[str, str | None]:
    """Decrypt the named (default: all) encrypted fields. Any failure raises; nothing returns ciphertext."""
    result: dict[str, str | None] = {}
    for name in names if names is not None else encrypted_columns(row):
        blob = getattr(row, name)
        result[name] = None if blob is None else FieldCipher.decrypt_text(key, blob, _context(row, name))
    return result


def erase_fields(row: Any) -> list[str]:
    """Clear every encrypted column and blind index of the row (after its key is destroyed). Returns the
    names of the columns that held a value."""
    cleared = []
    for name in (*encrypted_columns(row), *blind_index_columns(row)):
        if getattr(row, name) is not None:
            cleared.append(name)
            setattr(row, name, None)
    return cleared


@event.listens_for(Session, "before_flush")
def _refuse_plaintext(session: Session, _context: Any, _instances: Any) -> None:
    for row in (*session.new, *session.dirty):
        table = getattr(row, "__table__", None)
        if table is None:
            continue
        names = encrypted_columns(row)
        if not names:
            continue
        state = inspect(row)
        for name in names:
            if row in session.dirty and not state.attrs[name].history.has_changes():
                continue
            value = getattr(row, name)
            if value is None:
                continue
            if not isinstance(value, bytes):
                raise PlaintextRefusedError(
                    f"{table.name}.{name} must hold ciphertext, not {type(value).__name__}"
                )
            try:
                key_id = FieldCipher.key_id_of(value)
            except DecryptionError:
                raise PlaintextRefusedError(f"{table.name}.{name} does not hold ciphertext") from None
            if key_id != row.data_key_id:
                raise PlaintextRefusedError(f"{table.name}.{name} is encrypted under another case's key")
