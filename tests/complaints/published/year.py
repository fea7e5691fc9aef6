"""A published year of the Saxon complaints office as complaints: test data for the annual report.

`load(year)` reads `saxony_<year>.json` (every published figure with its source and report row, see
docs/reporting.md, "The complaints annual report: counting rules"). `complaints_for(figures)` builds
one `ComplaintSpec` per complaint and per "sonstiges Anliegen" such that recounting them by the office's
rules gives back every published figure; `check(figures, specs)` is that recount, returning the
differences (none when the specs fit). Pure Python: no app, no database.

The office publishes marginals only (how many by channel, by area, by outcome), never a complaint's
combination of them, so any assignment that meets every marginal is consistent with the report. The
generator spreads each marginal over the complaints with its own stride, so that the dimensions are
not lined up (the staff complaints are not all e-mails), and it is deterministic.

Figures a year's report does not give are filled in one documented way (`FILL`), never at random:

- channel: e-mail (every report since 2020 says most complaints came in writing, electronically);
- category: conduct on duty, one mention (named as the main subject in every year's press release);
- follow-up complaints, criminal / disciplinary follow-ups: none;
- processing time: every answered complaint within one month, unless a figure says otherwise;
- complaints without a published outcome (total minus the published outcomes): still in progress;
- "sonstige Anliegen": only their number; they get the default channel and category and no decision,
  so any report row that counts them among complaints is wrong by their number.

How a "keine Entscheidung" is entered: the office counts a complaint it forwarded (to the prosecutor,
to another authority) among them (docs/reporting.md, rule 7), and so does the recount here; our report
shows forwarded complaints apart and keeps them out of the processing time. So a complaint without a
decision, without a criminal investigation and answered after more than two months is entered as
forwarded to the prosecutor (`ComplaintSpec.forward_reason`, closed on its answer day): it changes no
published processing-time figure, and the report's no decision + forwarded gives the office's figure
back (2017: 3 of the 15).

Which complaint carries a follow-up: criminal investigations go to complaints without a decision
first (the office cannot decide while the prosecutor examines the matter: 2020, 2022), disciplinary
proceedings to justified, then partly justified ones.

Dates: answered complaints are received between 2 January and 28 September and answered 14, 45 or 90
days later, so that every answer falls in the same year; complaints still in progress are received in
December and have no answer. So the received cohort and the decided cohort of the year agree on the
outcomes, whichever of the two a report counts.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from complaints.domain import (
    Category,
    Channel,
    ComplainantKind,
    ComplaintType,
    ForwardReason,
    NoDecisionReason,
    Outcome,
)

HERE = Path(__file__).parent
# Days from receipt to answer: within one month, within two months, later (the report's bands are at
# most 30 and at most 60 days).
WITHIN_ONE_MONTH_DAYS = 14
WITHIN_TWO_MONTHS_DAYS = 45
LATER_DAYS = 90
FILL_CHANNEL = Channel.EMAIL
FILL_CATEGORY = Category.CONDUCT_ON_DUTY

Figures = Mapping[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class ComplaintSpec:
    """One complaint (or "sonstiges Anliegen") as the office would have entered it."""

    complaint_type: ComplaintType
    complainant_kind: ComplainantKind
    from_police_staff: bool
    channel: Channel
    categories: tuple[Category, ...]  # the primary category first
    outcome: Outcome | None  # None: still in progress (or, for a sonstiges Anliegen, none recorded)
    no_decision_reason: NoDecisionReason | None
    received_on: dt.date
    decided_on: dt.date | None
    criminal_investigation: bool = False
    disciplinary_proceedings: bool = False
    # Entered as forwarded (closed on `decided_on`, no outcome stored); the office's "keine Entscheidung".
    forward_reason: ForwardReason | None = None

    @property
    def is_complaint(self) -> bool:
        """Counted among "Beschwerden insgesamt": complaints and follow-up complaints."""
        return self.complaint_type is not ComplaintType.OTHER_CONCERN


def load(year: int) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads((HERE / f"saxony_{year}.json").read_text(encoding="utf-8"))
    return figures


def published_years() -> list[int]:
    return sorted(int(path.stem.rsplit("_", 1)[1]) for path in HERE.glob("saxony_*.json"))


def value(figures: Figures, key: str) -> int | None:
    """A published count, or a count chosen to match a published share; None when the year has neither."""
    for section in ("figures", "chosen"):
        entry = figures.get(section, {}).get(key)
        if entry is not None:
            return int(entry["value"])
    return None


def complaints_for(figures: Figures) -> list[ComplaintSpec]:
    year = int(figures["year"])
    total = _required(figures, "complaints_total")
    outcomes = _outcomes(figures, total)
    answered = total - outcomes.count(None)
    in_progress_count = total - answered

    staff = _marks(total, value(figures, "from_police_staff") or 0, stride=7)
    follow_up = _marks(total, value(figures, "follow_ups") or 0, stride=11)
    channels = _spread(_channel_counts(figures, total), total, stride=5)
    categories = _mentions(_category_counts(figures, total), total)
    criminal = _flags(outcomes, value(figures, "criminal_investigation") or 0, (Outcome.NO_DECISION,))
    disciplinary = _flags(
        outcomes,
        value(figures, "disciplinary_proceedings") or 0,
        (Outcome.JUSTIFIED, Outcome.PARTLY_JUSTIFIED),
    )
    durations = _durations(figures, answered)

    specs: list[ComplaintSpec] = []
    answered_index = in_progress_index = 0
    for i in range(total):
        outcome = outcomes[i]
        if outcome is None:
            received = dt.date(year, 12, 1) + dt.timedelta(days=in_progress_index % 31)
            in_progress_index += 1
            decided = None
        else:
            received = dt.date(year, 1, 2) + dt.timedelta(days=answered_index * 270 // max(answered, 1))
            decided = received + dt.timedelta(days=durations[answered_index])
            answered_index += 1
        reason = forward = None
        if outcome is Outcome.NO_DECISION:
            if not criminal[i] and durations[answered_index - 1] > WITHIN_TWO_MONTHS_DAYS:
                forward = ForwardReason.TO_PROSECUTOR
            elif criminal[i]:
                reason = NoDecisionReason.PROCEEDINGS_PENDING
            else:
                reason = NoDecisionReason.FACTS_NOT_ESTABLISHED
        specs.append(
            ComplaintSpec(
                complaint_type=ComplaintType.FOLLOW_UP if follow_up[i] else ComplaintType.COMPLAINT,
                complainant_kind=ComplainantKind.POLICE_EMPLOYEE if staff[i] else ComplainantKind.CITIZEN,
                from_police_staff=staff[i],
                channel=channels[i],
                categories=categories[i],
                outcome=outcome,
                no_decision_reason=reason,
                received_on=received,
                decided_on=decided,
                criminal_investigation=criminal[i],
                disciplinary_proceedings=disciplinary[i],
                forward_reason=forward,
            )
        )
    assert in_progress_count == sum(1 for s in specs if s.outcome is None)
    other = value(figures, "other_concerns") or 0
    specs.extend(
        ComplaintSpec(
            complaint_type=ComplaintType.OTHER_CONCERN,
            complainant_kind=ComplainantKind.CITIZEN,
            from_police_staff=False,
            channel=FILL_CHANNEL,
            categories=(Category.OTHER,),
            outcome=None,
            no_decision_reason=None,
            received_on=dt.date(year, 1, 2) + dt.timedelta(days=j * 360 // max(other, 1)),
            decided_on=None,
        )
        for j in range(other)
    )
    return specs


def recount(specs: Iterable[ComplaintSpec]) -> Counter[str]:
    """Every figure of the office's report, counted from the specs by the office's rules."""
    counts: Counter[str] = Counter()
    for spec in specs:
        if not spec.is_complaint:
            counts["other_concerns"] += 1
            continue
        counts["complaints_total"] += 1
        counts["from_police_staff" if spec.from_police_staff else "from_citizens"] += 1
        counts["follow_ups"] += spec.complaint_type is ComplaintType.FOLLOW_UP
        counts[f"channel.{spec.channel.value}"] += 1
        for category in spec.categories:
            counts[f"category.{category.value}"] += 1
        if spec.outcome is None:
            counts["in_progress"] += 1
        else:
            counts[f"outcome.{spec.outcome.value}"] += 1
            counts["answered"] += 1
            assert spec.decided_on is not None
            days = (spec.decided_on - spec.received_on).days
            counts["within_one_month"] += days <= 30
            counts["within_two_months"] += days <= 60
        counts["criminal_investigation"] += spec.criminal_investigation
        counts["criminal_within_no_decision"] += (
            spec.criminal_investigation and spec.outcome is Outcome.NO_DECISION
        )
        counts["disciplinary_proceedings"] += spec.disciplinary_proceedings
    return counts


def check(figures: Figures, specs: Sequence[ComplaintSpec]) -> list[str]:
    """The differences between the year's figures and the specs (empty: every figure is met)."""
    year = int(figures["year"])
    counts = recount(specs)
    problems = [f"{problem} ({spec})" for spec in specs for problem in _invalid(spec, year)]
    for section in ("figures", "chosen"):
        for key, entry in figures.get(section, {}).items():
            expected = int(entry["value"])
            if "sum_of" in entry:
                got = sum(value(figures, part) or 0 for part in entry["sum_of"])
            elif key.startswith(("unit.", "complaints_total_")):
                continue  # units and earlier years' totals: recorded, not generated
            else:
                got = counts[key]
            if got != expected:
                problems.append(f"{key}: published {expected}, counted {got}")
    for key, entry in figures.get("shares", {}).items():
        numerator = sum(counts[part] for part in entry["numerator"])
        base = counts[entry["base"]]
        percent = round(100 * entry["value"])
        # "about 80 %": a whole percent, so the exact share lies within half a percent of it.
        if base == 0 or not math.isclose(100 * numerator / base, percent, abs_tol=0.5):
            problems.append(f"share {key}: published {percent} %, counted {numerator}/{base}")
    return problems


def _invalid(spec: ComplaintSpec, year: int) -> list[str]:
    problems = []
    if not spec.categories or len(set(spec.categories)) != len(spec.categories):
        problems.append("categories must be one or more distinct areas")
    if spec.from_police_staff != (spec.complainant_kind is ComplainantKind.POLICE_EMPLOYEE):
        problems.append("from_police_staff and complainant_kind disagree")
    if (spec.outcome is None) != (spec.decided_on is None):
        problems.append("an outcome needs a decision date and a decision date an outcome")
    entered_without_decision = spec.outcome is Outcome.NO_DECISION and spec.forward_reason is None
    if entered_without_decision != (spec.no_decision_reason is not None):
        problems.append("a reason belongs to 'no decision' (not forwarded) and only to it")
    if spec.forward_reason is not None and (
        spec.outcome is not Outcome.NO_DECISION
        or spec.criminal_investigation
        or spec.disciplinary_proceedings
    ):
        problems.append("only a complaint without a decision and without follow-ups is forwarded")
    if spec.received_on.year != year or (spec.decided_on is not None and spec.decided_on.year != year):
        problems.append(f"received and decided in {year}")
    return problems


def _required(figures: Figures, key: str) -> int:
    found = value(figures, key)
    if found is None:
        raise ValueError(f"{figures['year']}: '{key}' is needed to generate the year")
    return found


def _outcomes(figures: Figures, total: int) -> list[Outcome | None]:
    """One outcome per complaint (None: in progress), spread over the complaints."""
    counts: dict[Outcome | None, int] = {o: value(figures, f"outcome.{o.value}") or 0 for o in Outcome}
    counts[None] = total - sum(counts.values())
    published = value(figures, "in_progress")
    if counts[None] < 0 or (published is not None and published != counts[None]):
        raise ValueError(f"{figures['year']}: the outcomes do not add up to the total")
    return _spread(counts, total, stride=3)


def _channel_counts(figures: Figures, total: int) -> dict[Channel, int]:
    counts = {ch: value(figures, f"channel.{ch.value}") for ch in Channel}
    if all(n is None for n in counts.values()):
        return {FILL_CHANNEL: total}
    return {ch: n or 0 for ch, n in counts.items()}


def _category_counts(figures: Figures, total: int) -> dict[Category, int]:
    counts = {cat: value(figures, f"category.{cat.value}") for cat in Category}
    if all(n is None for n in counts.values()):
        return {FILL_CATEGORY: total}
    return {cat: n or 0 for cat, n in counts.items()}


def _coprime_stride(n: int, stride: int) -> int:
    while math.gcd(n, stride) != 1:
        stride += 1
    return stride


def _spread(counts: Mapping[T, int], n: int, *, stride: int) -> list[T]:
    """`counts` as a list of n labels, the blocks interleaved: label j of the blocks goes to place
    j * stride mod n (a permutation, as the stride is coprime to n)."""
    labels = [label for label, count in counts.items() for _ in range(count)]
    if len(labels) != n:
        raise ValueError(f"{len(labels)} values for {n} complaints")
    if n == 0:
        return []
    stride = _coprime_stride(n, stride)
    placed = list(labels)  # every place is written once below (None is a label too: "in progress")
    for j, label in enumerate(labels):
        placed[j * stride % n] = label
    return placed


def _marks(n: int, count: int, *, stride: int) -> list[bool]:
    return _spread({True: count, False: n - count}, n, stride=stride)


def _mentions(counts: Mapping[Category, int], n: int) -> list[tuple[Category, ...]]:
    """Category mentions dealt out round-robin: complaint i gets mentions i, i + n, i + 2n, ...

    Mentions are listed area by area, so two mentions n apart belong to different areas as long as no
    area is mentioned more than n times; every complaint gets at least one when there are n or more."""
    mentions = [category for category, count in counts.items() for _ in range(count)]
    if len(mentions) < n or any(count > n for count in counts.values()):
        raise ValueError("each complaint concerns at least one area and each area at most once")
    order = _spread({i: 1 for i in range(n)}, n, stride=13)  # a permutation: primary areas interleaved
    result: list[list[Category]] = [[] for _ in range(n)]
    for j, category in enumerate(mentions):
        result[order[j % n]].append(category)
    return [tuple(areas) for areas in result]


def _flags(outcomes: Sequence[Outcome | None], count: int, preferred: Sequence[Outcome]) -> list[bool]:
    """`count` flags on decided complaints, those with a preferred outcome first (in that order)."""
    rank: dict[Outcome | None, int] = {outcome: place for place, outcome in enumerate(preferred)}
    ranked = sorted(
        (i for i, outcome in enumerate(outcomes) if outcome is not None),
        key=lambda i: rank.get(outcomes[i], len(preferred)),
    )
    if count > len(ranked):
        raise ValueError("more follow-ups than decided complaints")
    chosen = set(ranked[:count])
    return [i in chosen for i in range(len(outcomes))]


def _durations(figures: Figures, answered: int) -> list[int]:
    within_two = value(figures, "within_two_months")
    within_one = value(figures, "within_one_month")
    if within_two is None:
        within_two = answered
    if within_one is None:
        within_one = within_two
    if not 0 <= within_one <= within_two <= answered:
        raise ValueError("processing-time figures must nest: one month <= two months <= answered")
    return _spread(
        {
            WITHIN_ONE_MONTH_DAYS: within_one,
            WITHIN_TWO_MONTHS_DAYS: within_two - within_one,
            LATER_DAYS: answered - within_two,
        },
        answered,
        stride=17,
    )
