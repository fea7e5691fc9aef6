"""Exact linear algebra for the suppression tests (independent of the algorithm under test).

A withheld value can be derived from what is published iff its unit vector lies in the row space of
the published relations restricted to the withheld cells. Fractions, so nothing is decided by rounding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

# An equation: coefficients per cell name (sum of coefficient * value = 0).
Equation = Mapping[str, int]


def row_echelon(rows: Iterable[dict[int, Fraction]]) -> list[tuple[int, dict[int, Fraction]]]:
    """Reduced rows, each with its pivot column; pivot rows are normalised to 1 at the pivot."""
    basis: list[tuple[int, dict[int, Fraction]]] = []
    for row in rows:
        row = _reduce(row, basis)
        if not row:
            continue
        pivot = min(row)
        scale = row[pivot]
        row = {column: value / scale for column, value in row.items()}
        # Keep the basis fully reduced so that `_reduce` needs one pass.
        updated = []
        for other_pivot, other in basis:
            factor = other.get(pivot)
            if factor:
                other = _axpy(other, row, -factor)
            updated.append((other_pivot, other))
        basis = [*updated, (pivot, row)]
    return basis


def _axpy(target: dict[int, Fraction], source: dict[int, Fraction], factor: Fraction) -> dict[int, Fraction]:
    result = dict(target)
    for column, value in source.items():
        new = result.get(column, Fraction(0)) + factor * value
        if new:
            result[column] = new
        else:
            result.pop(column, None)
    return result


def _reduce(
    row: dict[int, Fraction], basis: Sequence[tuple[int, dict[int, Fraction]]]
) -> dict[int, Fraction]:
    for pivot, base in basis:
        factor = row.get(pivot)
        if factor:
            row = _axpy(row, base, -factor)
    return row


def derivable(equations: Sequence[Equation], unknown: Sequence[str]) -> set[str]:
    """The unknown cells whose value the equations determine (published cells are known constants)."""
    index = {name: i for i, name in enumerate(unknown)}
    rows = []
    for equation in equations:
        row = {index[name]: Fraction(c) for name, c in equation.items() if name in index and c}
        if row:
            rows.append(row)
    basis = row_echelon(rows)
    found = set()
    for name, column in index.items():
        if not _reduce({column: Fraction(1)}, basis):
            found.add(name)
    return found


def table_equations(row_count: int, column_count: int) -> list[Equation]:
    """Row, column and grand-total relations of a table; cells (i, j), (i, '*'), ('*', j), ('*', '*')."""
    equations: list[Equation] = []
    for i in range(row_count):
        equation = {name((i, j)): 1 for j in range(column_count)}
        equation[name((i, "*"))] = -1
        equations.append(equation)
    for j in range(column_count):
        equation = {name((i, j)): 1 for i in range(row_count)}
        equation[name(("*", j))] = -1
        equations.append(equation)
    grand = name(("*", "*"))
    equations.append({**{name((i, "*")): 1 for i in range(row_count)}, grand: -1})
    equations.append({**{name(("*", j)): 1 for j in range(column_count)}, grand: -1})
    return equations


def name(cell: tuple[object, object]) -> str:
    return f"{cell[0]}/{cell[1]}"
