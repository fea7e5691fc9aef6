"""Small-cell suppression: no published count below 5 (zero aside), and no withheld count derivable.

Derivability is checked exactly and independently of the algorithm: a withheld cell can be computed
from the published cells and totals iff its unit vector lies in the row space of the table's relations
restricted to the withheld cells (Fraction Gaussian elimination in `tests/reporting/linear.py`).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referral_service.reporting.suppression import (
    THRESHOLD,
    CrossTable,
    Protection,
    Relation,
    SuppressionProblem,
    SuppressionStructureError,
    add_cross_table,
    add_part,
)
from tests.reporting.linear import derivable, name, table_equations

# Many small values, some zeros, some large: the interesting mix for suppression.
counts = st.one_of(st.integers(0, 4), st.integers(0, 4), st.integers(5, 40), st.just(0))


def protect_table(values: list[list[int]]) -> tuple[Protection, CrossTable]:
    problem = SuppressionProblem()
    rows = [f"r{i}" for i in range(len(values))]
    columns = [f"c{j}" for j in range(len(values[0]))]
    table = add_cross_table(
        problem,
        "t",
        rows,
        columns,
        {(rows[i], columns[j]): v for i, row in enumerate(values) for j, v in enumerate(row)},
    )
    return problem.solve(), table


def extended_cells(values: list[list[int]], table: CrossTable) -> dict[str, tuple[str, int]]:
    """Every cell of the table with margins: linear-algebra name -> (cell name, value)."""
    r, c = len(values), len(values[0])
    cells: dict[str, tuple[str, int]] = {}
    for i in range(r):
        for j in range(c):
            cells[name((i, j))] = (table.cell(f"r{i}", f"c{j}"), values[i][j])
        cells[name((i, "*"))] = (table.row_total(f"r{i}"), sum(values[i]))
    for j in range(c):
        cells[name(("*", j))] = (table.column_total(f"c{j}"), sum(row[j] for row in values))
    cells[name(("*", "*"))] = (table.grand_total, sum(map(sum, values)))
    return cells


def assert_protected(values: list[list[int]]) -> Protection:
    protection, table = protect_table(values)
    cells = extended_cells(values, table)
    withheld = [key for key, (cell, _) in cells.items() if not protection.is_published(cell)]
    for key, (cell, value) in cells.items():
        if protection.is_published(cell):
            assert value == 0 or value >= THRESHOLD, f"{key}={value} published"
            assert protection.published(cell) == value
        else:
            assert protection.published(cell) is None
    leaked = derivable(table_equations(len(values), len(values[0])), withheld)
    assert not leaked, f"derivable: {sorted(leaked)} in {values}"
    # No published zero beside a withheld cell (unless a zero total already says it is zero).
    hidden = {(i, j) for i, row in enumerate(values) for j, _ in enumerate(row) if name((i, j)) in withheld}
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            beside = any(a == i or b == j for a, b in hidden)
            if value == 0 and beside and sum(row) and sum(r[j] for r in values):
                assert (i, j) in hidden, f"zero ({i},{j}) locates a withheld cell in {values}"
    return protection


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 6).flatmap(
        lambda r: st.integers(1, 6).flatmap(
            lambda c: st.lists(st.lists(counts, min_size=c, max_size=c), min_size=r, max_size=r)
        )
    )
)
def test_random_tables_publish_no_small_cell_and_no_withheld_cell_is_derivable(
    values: list[list[int]],
) -> None:
    assert_protected(values)


def test_a_single_small_cell_takes_three_complements_in_a_rectangle() -> None:
    protection, table = protect_table([[3, 10], [7, 12]])
    assert protection.suppressed == {table.cell(r, c) for r in ("r0", "r1") for c in ("c0", "c1")}
    # The totals stay published: readers still learn 13, 19, 10, 22 and 32.
    assert [protection.published(table.row_total(r)) for r in ("r0", "r1")] == [13, 19]
    assert [protection.published(table.column_total(c)) for c in ("c0", "c1")] == [10, 22]
    assert protection.published(table.grand_total) == 32


def test_complements_prefer_small_interior_cells_over_totals_and_zeros() -> None:
    protection, table = protect_table([[2, 40, 6, 0], [9, 50, 30, 0], [20, 60, 7, 0]])
    # (r0,c0)=2 is closed by the cheapest rectangle: (r0,c2)=6, (r2,c0)=20, (r2,c2)=7... or via row 1;
    # whichever, no total and no zero is withheld while interior cells suffice.
    margins = {table.row_total(f"r{i}") for i in range(3)} | {table.column_total(f"c{j}") for j in range(4)}
    assert not protection.suppressed & (margins | {table.grand_total})
    assert not {table.cell(f"r{i}", "c3") for i in range(3)} & protection.suppressed
    assert_protected([[2, 40, 6, 0], [9, 50, 30, 0], [20, 60, 7, 0]])


def test_zero_is_published_and_a_table_without_small_cells_is_untouched() -> None:
    protection, _ = protect_table([[0, 5, 17], [8, 0, 0]])
    assert protection.suppressed == frozenset()


def test_a_small_total_is_withheld_with_its_cells() -> None:
    protection = assert_protected([[0, 3, 0], [6, 9, 12]])
    assert protection.published("t:r0:*") is None
    assert protection.published("t:r0:c1") is None


def test_an_all_small_table_withholds_everything_zeros_too() -> None:
    protection = assert_protected([[1, 2], [3, 0]])
    assert protection.published("t:r1:c1") is None


def test_zeros_do_not_locate_a_withheld_cell() -> None:
    # A station with 3 cases in one offence area: published zeros in its row would say which area.
    values = [[0, 0, 3, 0], [10, 12, 7, 9], [8, 6, 11, 5]]
    protection = assert_protected(values)
    assert all(protection.published(f"t:r0:c{j}") is None for j in range(4))
    # Zeros under a zero total say nothing the total does not: they stay published.
    protection = assert_protected([[0, 3, 0], [0, 9, 12], [0, 6, 7]])
    assert [protection.published(f"t:r{i}:c0") for i in range(3)] == [0, 0, 0]
    assert protection.published("t:r0:c2") is None


# "Of which" counts, nested subtotals and linked tables: the structures the reports use.


def relation_equations(problem: SuppressionProblem) -> list[dict[str, int]]:
    return [
        {relation.total: -1, **{part: 1 for part in relation.parts}}
        for structure in problem.structures
        for relation in structure
    ]


def assert_problem_protected(problem: SuppressionProblem) -> Protection:
    protection = problem.solve()
    unknown = sorted(protection.suppressed | protection.hidden)
    leaked = derivable(relation_equations(problem), unknown)
    must_stay_unknown = protection.suppressed | {n for n in protection.hidden if problem.sensitive(n)}
    assert not leaked & must_stay_unknown, sorted(leaked & must_stay_unknown)
    for cell, value in problem.values.items():
        if protection.is_published(cell):
            assert value == 0 or value >= THRESHOLD, f"{cell}={value} published"
    return protection


def test_an_of_which_count_is_withheld_when_its_hidden_remainder_is_small() -> None:
    problem = SuppressionProblem()
    problem.cell("total", 40, margin=True)
    add_part(problem, "total", "most", 37)  # the remainder, 3, would follow from 40 - 37
    protection = assert_problem_protected(problem)
    assert protection.published("most") is None
    assert protection.published("total") == 40


def test_nested_subtotals_protect_a_small_difference_between_two_published_counts() -> None:
    # accepted 20 of 30; contacted 15 of 20; within 72 h 14 of 15: "1 later" must not follow.
    problem = SuppressionProblem()
    for cell, value in (("submitted", 30), ("accepted", 20), ("contacted", 15), ("within", 14)):
        problem.cell(cell, value, margin=cell != "within")
    for cell, value in (("not_accepted", 10), ("not_contacted", 5), ("later", 1)):
        problem.cell(cell, value, hidden=True)
    problem.structure(
        Relation("submitted", ("accepted", "not_accepted")),
        Relation("accepted", ("contacted", "not_contacted")),
        Relation("contacted", ("within", "later")),
    )
    protection = assert_problem_protected(problem)
    assert protection.published("within") is None
    assert [protection.published(c) for c in ("submitted", "accepted", "contacted")] == [30, 20, 15]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    table=st.lists(st.lists(counts, min_size=3, max_size=3), min_size=2, max_size=4),
    shares=st.lists(st.fractions(0, 1), min_size=6, max_size=6),
)
def test_linked_structures_like_a_report_leak_nothing_together(
    table: list[list[int]], shares: list[object]
) -> None:
    """A two-way table, a chain of nested counts and "of which" counts, all sharing the grand total,
    and "of which" counts of an "of which" count: checked as one system of equations."""
    problem = SuppressionProblem()
    rows, columns = [f"r{i}" for i in range(len(table))], ["a", "b", "c"]
    grid = {(rows[i], columns[j]): v for i, row in enumerate(table) for j, v in enumerate(row)}
    total = add_cross_table(problem, "u", rows, columns, grid, grand_total="n").grand_total
    n = problem.values[total]
    fractions = [int(f * 1000) for f in shares]  # type: ignore[operator]
    accepted = n * fractions[0] // 1000
    contacted = accepted * fractions[1] // 1000
    within = contacted * fractions[2] // 1000
    problem.cell("accepted", accepted, margin=True)
    problem.cell("contacted", contacted, margin=True)
    problem.cell("within", within)
    problem.structure(
        Relation(total, ("accepted", problem.cell("na", n - accepted, hidden=True))),
        Relation("accepted", ("contacted", problem.cell("nc", accepted - contacted, hidden=True))),
        Relation("contacted", ("within", problem.cell("later", contacted - within, hidden=True))),
    )
    add_part(problem, total, "declined", n * fractions[3] // 1000)
    helped = add_part(problem, total, "helped", n * fractions[4] // 1000, margin=True)
    add_part(problem, helped, "kind", problem.values[helped] * fractions[5] // 1000)
    assert_problem_protected(problem)


def test_relations_that_are_not_a_graph_are_refused() -> None:
    problem = SuppressionProblem()
    for cell, value in (("a", 1), ("b", 1), ("c", 2)):
        problem.cell(cell, value)
    problem.structure(Relation("c", ("a", "b")), Relation("c", ("b", "a")), Relation("c", ("a", "b")))
    with pytest.raises(SuppressionStructureError):
        problem.solve()


def test_structures_linked_in_a_cycle_are_refused() -> None:
    problem = SuppressionProblem()
    for cell, value in (("x", 10), ("y", 6), ("x:rest", 4), ("y:rest", 4)):
        problem.cell(cell, value)
    problem.structure(Relation("x", ("y", "x:rest")))
    problem.structure(Relation("x", ("y", "x:rest")))
    with pytest.raises(SuppressionStructureError, match="cycle"):
        problem.solve()


def test_a_relation_that_does_not_add_up_is_refused() -> None:
    problem = SuppressionProblem()
    problem.cell("t", 10)
    problem.cell("p", 3)
    with pytest.raises(SuppressionStructureError):
        problem.structure(Relation("t", ("p",)))
