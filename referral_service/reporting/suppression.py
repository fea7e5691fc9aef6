"""Small-cell suppression with complementary suppression.

A report publishes counts bound by additive relations: a row total is the sum of its cells, a column
total the sum of its column, the grand total the sum of either. A count from 1 to threshold - 1 is
*sensitive* and must not be published (primary suppression). Withholding it is not enough: with the
totals published, a lone withheld cell in a row is the row total minus the rest. Complementary
suppression withholds further cells until no withheld value can be computed from what is published.

The criterion is exact for the structures reports use (see `docs/reporting.md` for the proof):

- Every relation reads `total = part_1 + ... + part_n`. Within one *structure* each cell occurs in at
  most two relations, and the signs can be balanced, so the relations are the node equations of a
  graph: relations are nodes, each cell is an edge between its two relations (a cell of only one
  relation ends in a shared "free" node). Two-way tables with row, column and grand totals, lists with
  a total, nested subtotals and "of which" counts with a hidden remainder all have this shape.
- The relations restricted to the withheld cells span exactly the cut space of the graph formed by the
  withheld edges. A withheld cell can be computed (its unit vector lies in that space) if and only if
  its edge is a *bridge*: it lies on no cycle of withheld edges.
- So the algorithm withholds the sensitive cells, and then, for each withheld edge that is a bridge,
  withholds the cheapest path that closes a cycle through it (Dijkstra; withheld edges cost nothing,
  interior counts cost their value, zeros and totals cost far more). Adding edges never turns a cycle
  edge back into a bridge, so each step removes at least one bridge and the loop ends.

Structures of one report are linked only through shared cells (the number of cases appears in several
tables). A shared cell withheld in one structure is withheld in all, and the structures and shared
cells must form a forest; then nothing can be computed from the union either (the proof peels leaf
structures off one at a time). Both conditions are checked here.

Cells may be *hidden*: never shown (the remainder of an "of which" count), but protected like any other
when sensitive, because they could be derived. Zero is published: it is not a small number of people,
except in a *line* (a row or column of a two-way table) that holds a withheld cell: there the zeros
would locate the withheld cases (a station's row of zeros with one "." says which offence its few
cases concern), so they are withheld and protected like sensitive cells. A zero in a line whose total
is zero stays published: that total already tells the reader it is zero.

The threshold (counts from 1 to threshold - 1 are sensitive) is the one of the report being produced:
`produce_report` sets it from the configuration (`using_threshold`), and `SuppressionProblem`, shares
and medians take it as their default, so a domain's builder needs no parameter for it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

THRESHOLD = 5
# Below this no configuration is accepted: with a threshold of 2 only single cases would be withheld,
# and a published 2 lets each of two people infer the other's case.
MINIMUM_THRESHOLD = 3

_threshold: ContextVar[int] = ContextVar("report_threshold", default=THRESHOLD)


def current_threshold() -> int:
    """The small-cell threshold of the report being produced (default `THRESHOLD`)."""
    return _threshold.get()


@contextmanager
def using_threshold(threshold: int) -> Iterator[None]:
    """Produce a report under `threshold` (refused below `MINIMUM_THRESHOLD`, a programming error
    here: the configuration is checked when it is read)."""
    if threshold < MINIMUM_THRESHOLD:
        raise ValueError(f"threshold below {MINIMUM_THRESHOLD}")
    token = _threshold.set(threshold)
    try:
        yield
    finally:
        _threshold.reset(token)


# Costs of withholding a cell as a complement: prefer small interior counts, then zeros, then totals,
# and cells shared between tables last (withholding one spreads to every table that shows it).
_ZERO_COST = 10**6
_MARGIN_COST = 10**9
_SHARED_COST = 10**12


class SuppressionStructureError(ValueError):
    """The relations do not have the shape the exact criterion needs (a programming error)."""


@dataclass(frozen=True, slots=True)
class Relation:
    """`total = sum(parts)`."""

    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Protection:
    """The outcome: which cells may be published. Hidden cells are never published."""

    values: Mapping[str, int]
    suppressed: frozenset[str]
    hidden: frozenset[str]

    def published(self, name: str) -> int | None:
        """The value to publish, or None when it is withheld."""
        if name in self.suppressed or name in self.hidden:
            return None
        return self.values[name]

    def is_published(self, name: str) -> bool:
        return name not in self.suppressed and name not in self.hidden


@dataclass
class SuppressionProblem:
    """Cells, and the structures (groups of relations) that bind them."""

    threshold: int = field(default_factory=current_threshold)
    values: dict[str, int] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)
    margins: set[str] = field(default_factory=set)
    structures: list[list[Relation]] = field(default_factory=list)
    # Rows and columns of two-way tables, (total, cells): a zero in a line with a withheld cell is
    # withheld too, unless one of its lines totals zero.
    lines: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    # Zeros withheld because of such a line; protected like sensitive cells.
    locating_zeros: set[str] = field(default_factory=set)

    def cell(self, name: str, value: int, *, margin: bool = False, hidden: bool = False) -> str:
        """Declare a count. Declaring the same name again must give the same value (a shared cell)."""
        if value < 0:
            raise ValueError(f"count {name} is negative")
        known = self.values.get(name)
        if known is not None and known != value:
            raise SuppressionStructureError(f"cell {name} declared with two values")
        self.values[name] = value
        if margin:
            self.margins.add(name)
        if hidden:
            self.hidden.add(name)
        return name

    def structure(self, *relations: Relation) -> None:
        for relation in relations:
            for name in (relation.total, *relation.parts):
                if name not in self.values:
                    raise SuppressionStructureError(f"cell {name} is not declared")
            if sum(self.values[p] for p in relation.parts) != self.values[relation.total]:
                raise SuppressionStructureError(f"{relation.total} is not the sum of its parts")
        self.structures.append(list(relations))

    def sensitive(self, name: str) -> bool:
        return 0 < self.values[name] < self.threshold or name in self.locating_zeros

    def solve(self) -> Protection:
        """Withhold, protect, and repeat while withheld cells make zeros in their lines locating."""
        known_zero = {name for total, line in self.lines if self.values[total] == 0 for name in line}
        while True:
            protection = self._solve_once()
            locating = {
                name
                for _, line in self.lines
                if any(cell in protection.suppressed for cell in line)
                for name in line
                if self.values[name] == 0 and name not in known_zero
            }
            if locating <= self.locating_zeros:
                return protection
            self.locating_zeros |= locating

    def _solve_once(self) -> Protection:
        shared = _shared_cells(self.structures)
        _check_forest(self.structures, shared)
        graphs = [_Graph.build(relations) for relations in self.structures]
        in_structure = {name for graph in graphs for name in graph.edges}
        forced: set[str] = set()
        while True:
            withheld: set[str] = set()
            for graph in graphs:
                withheld |= graph.protect(self, forced & set(graph.edges), shared)
            newly = (withheld & shared) - forced
            if not newly:
                break
            forced |= newly
        # Cells outside every relation only need primary suppression.
        withheld |= {n for n in self.values if n not in in_structure and self.sensitive(n)}
        return Protection(
            values=dict(self.values),
            suppressed=frozenset(withheld - self.hidden),
            hidden=frozenset(self.hidden),
        )


@dataclass(frozen=True, slots=True)
class CrossTable:
    """Cell names of a two-way table declared with `add_cross_table`."""

    name: str
    grand_total: str

    def cell(self, row: str, column: str) -> str:
        return f"{self.name}:{row}:{column}"

    def row_total(self, row: str) -> str:
        return f"{self.name}:{row}:*"

    def column_total(self, column: str) -> str:
        return f"{self.name}:*:{column}"


def add_cross_table(
    problem: SuppressionProblem,
    name: str,
    rows: Sequence[str],
    columns: Sequence[str],
    counts: Mapping[tuple[str, str], int],
    *,
    grand_total: str | None = None,
) -> CrossTable:
    """A rows x columns table with row totals, column totals and a grand total, as one structure.

    `grand_total` names the grand total cell (so other tables can share it)."""
    table = CrossTable(name, grand_total or f"{name}:*:*")
    for row in rows:
        for column in columns:
            problem.cell(table.cell(row, column), counts.get((row, column), 0))
        problem.cell(table.row_total(row), sum(counts.get((row, c), 0) for c in columns), margin=True)
    for column in columns:
        problem.cell(table.column_total(column), sum(counts.get((r, column), 0) for r in rows), margin=True)
    problem.cell(table.grand_total, sum(counts.get((r, c), 0) for r in rows for c in columns), margin=True)
    problem.structure(
        *(Relation(table.row_total(r), tuple(table.cell(r, c) for c in columns)) for r in rows),
        *(Relation(table.column_total(c), tuple(table.cell(r, c) for r in rows)) for c in columns),
        Relation(table.grand_total, tuple(table.column_total(c) for c in columns)),
        Relation(table.grand_total, tuple(table.row_total(r) for r in rows)),
    )
    problem.lines.extend((table.row_total(r), tuple(table.cell(r, c) for c in columns)) for r in rows)
    problem.lines.extend((table.column_total(c), tuple(table.cell(r, c) for r in rows)) for c in columns)
    return table


def add_part(problem: SuppressionProblem, total: str, name: str, value: int, *, margin: bool = False) -> str:
    """An "of which" count: part of `total`, with the remainder hidden (never shown, still protected)."""
    problem.cell(name, value, margin=margin)
    rest = problem.cell(f"{name}:rest", problem.values[total] - value, hidden=True)
    problem.structure(Relation(total, (name, rest)))
    return name


def _shared_cells(structures: Sequence[Sequence[Relation]]) -> set[str]:
    seen: dict[str, int] = {}
    for relations in structures:
        for name in {n for r in relations for n in (r.total, *r.parts)}:
            seen[name] = seen.get(name, 0) + 1
    return {name for name, count in seen.items() if count > 1}


def _check_forest(structures: Sequence[Sequence[Relation]], shared: set[str]) -> None:
    """Structures and shared cells, as a bipartite graph, must have no cycle."""
    parent: dict[object, object] = {}

    def find(node: object) -> object:
        while parent.setdefault(node, node) != node:
            node = parent[node]
        return node

    for index, relations in enumerate(structures):
        names = {n for r in relations for n in (r.total, *r.parts)} & shared
        for name in names:
            a, b = find(("structure", index)), find(("cell", name))
            if a == b:
                raise SuppressionStructureError("structures are linked in a cycle through shared cells")
            parent[a] = b


@dataclass
class _Graph:
    """One structure as a graph: node per relation plus a free node; edge per cell."""

    edges: dict[str, tuple[int, int]]
    nodes: int

    @staticmethod
    def build(relations: Sequence[Relation]) -> _Graph:
        occurrences: dict[str, list[tuple[int, int]]] = {}
        for index, relation in enumerate(relations):
            members = [(relation.total, -1), *((part, 1) for part in relation.parts)]
            if len({name for name, _ in members}) != len(members):
                raise SuppressionStructureError("a cell occurs twice in one relation")
            for name, sign in members:
                occurrences.setdefault(name, []).append((index, sign))
        free = len(relations)
        edges: dict[str, tuple[int, int]] = {}
        links: dict[int, list[tuple[int, int]]] = {}
        for name, places in occurrences.items():
            if len(places) > 2:
                raise SuppressionStructureError(f"cell {name} occurs in more than two relations")
            if len(places) == 1:
                edges[name] = (places[0][0], free)
                continue
            (a, sign_a), (b, sign_b) = places
            if a == b:  # pragma: no cover - refused above
                raise SuppressionStructureError("a cell occurs twice in one relation")
            edges[name] = (a, b)
            # Balanced signs: node signs s with s_a*sign_a = -s_b*sign_b, i.e. s_b = -s_a*sign_a*sign_b.
            parity = -sign_a * sign_b
            links.setdefault(a, []).append((b, parity))
            links.setdefault(b, []).append((a, parity))
        _check_balanced(len(relations), links)
        return _Graph(edges=edges, nodes=free + 1)

    def protect(self, problem: SuppressionProblem, forced: set[str], shared: set[str]) -> set[str]:
        names = list(self.edges)  # declaration order: deterministic results
        withheld = {n for n in names if n in problem.hidden or problem.sensitive(n) or n in forced}

        def must_be_safe(name: str) -> bool:
            return name not in problem.hidden or problem.sensitive(name)

        while True:
            bridges = _bridges(self.nodes, [(n, self.edges[n]) for n in names if n in withheld])
            target = next((n for n in names if n in bridges and must_be_safe(n)), None)
            if target is None:
                return withheld
            path = self._cheapest_cycle_path(target, names, withheld, problem, shared)
            if path is None:  # pragma: no cover - every structure we build has a cycle through each cell
                raise SuppressionStructureError(f"cell {target} cannot be protected")
            withheld |= set(path)

    def _cheapest_cycle_path(
        self,
        target: str,
        names: Sequence[str],
        withheld: set[str],
        problem: SuppressionProblem,
        shared: set[str],
    ) -> list[str] | None:
        start, goal = self.edges[target]
        adjacency: dict[int, list[tuple[int, str]]] = {}
        for name in names:
            if name == target:
                continue
            a, b = self.edges[name]
            adjacency.setdefault(a, []).append((b, name))
            adjacency.setdefault(b, []).append((a, name))
        best: dict[int, int] = {start: 0}
        came: dict[int, tuple[int, str]] = {}
        queue: list[tuple[int, int, int]] = [(0, 0, start)]
        tie = 0
        while queue:
            cost, _, node = heapq.heappop(queue)
            if node == goal:
                path: list[str] = []
                while node != start:
                    node, name = came[node]
                    path.append(name)
                return path
            if cost > best.get(node, cost):
                continue
            for neighbour, name in adjacency.get(node, []):
                step = 0 if name in withheld else _cost(name, problem, shared)
                if cost + step < best.get(neighbour, cost + step + 1):
                    best[neighbour] = cost + step
                    came[neighbour] = (node, name)
                    tie += 1
                    heapq.heappush(queue, (cost + step, tie, neighbour))
        return None


def _cost(name: str, problem: SuppressionProblem, shared: set[str]) -> int:
    value = problem.values[name]
    cost = value if value > 0 else _ZERO_COST
    if name in problem.margins:
        cost += _MARGIN_COST
    if name in shared:
        cost += _SHARED_COST
    return cost


def _check_balanced(count: int, links: Mapping[int, Iterable[tuple[int, int]]]) -> None:
    sign: dict[int, int] = {}
    for root in range(count):
        if root in sign:
            continue
        sign[root] = 1
        stack = [root]
        while stack:
            node = stack.pop()
            for other, parity in links.get(node, ()):
                wanted = sign[node] * parity
                if other not in sign:
                    sign[other] = wanted
                    stack.append(other)
                elif sign[other] != wanted:
                    raise SuppressionStructureError("relations cannot be balanced into a graph")


def _bridges(node_count: int, edges: Sequence[tuple[str, tuple[int, int]]]) -> set[str]:
    """Names of the bridge edges of a multigraph (iterative Tarjan; parallel edges are not bridges)."""
    adjacency: dict[int, list[tuple[int, str]]] = {}
    for name, (a, b) in edges:
        adjacency.setdefault(a, []).append((b, name))
        adjacency.setdefault(b, []).append((a, name))
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    found: set[str] = set()
    counter = 0
    for root in range(node_count):
        if root in order or root not in adjacency:
            continue
        order[root] = low[root] = counter
        counter += 1
        # (node, edge name used to reach it, iterator index)
        stack: list[tuple[int, str | None, int]] = [(root, None, 0)]
        while stack:
            node, via, index = stack[-1]
            neighbours = adjacency[node]
            if index < len(neighbours):
                stack[-1] = (node, via, index + 1)
                other, name = neighbours[index]
                if name == via:
                    continue
                if other in order:
                    low[node] = min(low[node], order[other])
                else:
                    order[other] = low[other] = counter
                    counter += 1
                    stack.append((other, name, 0))
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent] and via is not None:
                        found.add(via)
    return found
