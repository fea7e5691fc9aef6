"""Where an encrypted value lives; bound into the ciphertext so values cannot be moved."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

_pack_length = struct.Struct(">I").pack


@dataclass(frozen=True, slots=True)
class FieldContext:
    """Table, column and row a value belongs to."""

    table: str
    column: str
    row_id: str
    # The canonical encoding is computed once here rather than on every encrypt/decrypt call:
    # encoding is most of the per-call cost for short fields.
    _encoded: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            table = self.table.encode("utf-8")
            column = self.column.encode("utf-8")
            row = self.row_id.encode("utf-8")
        except (AttributeError, UnicodeEncodeError):
            raise ValueError("FieldContext parts must be str encodable as UTF-8") from None
        # An empty part would bind a value to "any row" (or column) and defeat the binding.
        if not (table and column and row):
            raise ValueError("FieldContext parts must be non-empty")
        encoded = b"".join(
            (_pack_length(len(table)), table, _pack_length(len(column)), column, _pack_length(len(row)), row)
        )
        object.__setattr__(self, "_encoded", encoded)
