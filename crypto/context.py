"""Where an encrypted value lives; bound into the ciphertext so values cannot be moved."""

from __future__ import annotations

import struct
from functools import lru_cache

_pack_length = struct.Struct(">I").pack


@lru_cache(maxsize=4096)
def _column_prefix(table: str, column: str) -> bytes:
    encoded_table, encoded_column = table.encode("utf-8"), column.encode("utf-8")
    # An empty part would bind a value to "any" table or column and defeat the binding.
    if not (encoded_table and encoded_column):
        raise ValueError("FieldContext parts must be non-empty")
    return (
        _pack_length(len(encoded_table)) + encoded_table + _pack_length(len(encoded_column)) + encoded_column
    )


class FieldContext(tuple[str, str, str, bytes]):
    """Table, column and row a value belongs to. Immutable and hashable.

    Built once per field value, so it is a tuple (cheap to create) whose canonical encoding, the
    length-prefixed UTF-8 of table, column and row id, is computed here and not on every cipher call;
    the table/column part is cached because a service has few columns but many rows.
    """

    __slots__ = ()

    def __new__(cls, table: str, column: str, row_id: str) -> FieldContext:
        try:
            row = row_id.encode("utf-8")
            prefix = _column_prefix(table, column)
        except (AttributeError, UnicodeEncodeError, TypeError):
            raise ValueError("FieldContext parts must be str encodable as UTF-8") from None
        if not row:
            raise ValueError("FieldContext parts must be non-empty")
        return tuple.__new__(cls, (table, column, row_id, prefix + _pack_length(len(row)) + row))

    @property
    def table(self) -> str:
        return self[0]

    @property
    def column(self) -> str:
        return self[1]

    @property
    def row_id(self) -> str:
        return self[2]

    @property
    def _encoded(self) -> bytes:
        """Canonical encoding: the context part of the associated data."""
        return self[3]

    def __repr__(self) -> str:
        return f"FieldContext(table={self[0]!r}, column={self[1]!r}, row_id={self[2]!r})"

    def __getnewargs__(self) -> tuple[str, str, str]:  # type: ignore[override]
        return (self[0], self[1], self[2])
