"""Each published Saxon year, generated as complaints, recounts to every figure the office published
(pure Python, no app or database); and the recount notices a figure that the complaints do not meet."""

from __future__ import annotations

import copy

import pytest

from tests.complaints.published.year import check, complaints_for, load, published_years


@pytest.mark.parametrize("year", published_years())
def test_generated_year_matches_every_published_figure(year: int) -> None:
    figures = load(year)
    specs = complaints_for(figures)

    assert check(figures, specs) == []
    # The recount is not blind: a published count one off is reported as such.
    total = figures["figures"]["complaints_total"]["value"]
    changed = copy.deepcopy(figures)
    changed["figures"]["complaints_total"]["value"] = total + 1
    assert check(changed, specs) == [f"complaints_total: published {total + 1}, counted {total}"]


def test_2017_counts_as_the_office_does() -> None:
    specs = complaints_for(load(2017))
    complaints = [s for s in specs if s.is_complaint]

    assert len(complaints) == 202
    assert len(specs) - len(complaints) == 414  # sonstige Anliegen, counted apart
    assert sum(len(s.categories) for s in complaints) == 208  # mentions, several areas per complaint
    assert sum(1 for s in complaints if s.outcome is None) == 4  # still being examined
    figures = load(2017)
    figures["shares"]["written_channels"]["base"] = "complaints_total"  # 195/202 is 96.5 %, not 98 %
    assert check(figures, specs) == ["share written_channels: published 98 %, counted 195/202"]
