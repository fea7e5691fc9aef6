"""Report charts as SVG: well-formed, accessible, proportional, escaped, and blind to withheld values."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from referral_service.reporting.render import ColumnOut, RowOut, TableOut
from referral_service.reporting.suppression import Protection
from referral_service.reporting.tables import COUNT_AND_SHARE, count_row
from referral_service.web.charts import LABEL_CHARS, LABEL_LINES, PLOT_PERCENT, Bar, bar_chart
from referral_service.web.i18n import Translator
from referral_service.web.reports import chart_column, table_chart

NS = {"svg": "http://www.w3.org/2000/svg"}


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own output, parsed to prove it is well-formed


def _rows(svg: ET.Element) -> list[ET.Element]:
    return svg.findall("svg:g", NS)


def _label_lines(row: ET.Element) -> list[str]:
    found = row.find("svg:text[@class='chart-label']", NS)
    assert found is not None
    return list(found.itertext())


def _label(row: ET.Element) -> str:
    return " ".join(_label_lines(row))


def _value(row: ET.Element) -> str:
    found = row.find("svg:text[@class='chart-value']", NS)
    assert found is not None
    return found.text or ""


def _bar_width(row: ET.Element) -> float | None:
    bar = row.find("svg:rect[@class='chart-bar']", NS)
    if bar is None:
        return None
    assert bar.attrib["width"].endswith("%")  # of the chart's width, whatever the screen
    return float(bar.attrib["width"].removesuffix("%"))


def _chart(bars: list[Bar], **kwargs: float) -> ET.Element:
    return _parse(
        bar_chart(
            bars,
            chart_id="chart-7",
            title="Diagramm: Eingangswege",
            description="Die Werte stehen in der Tabelle.",
            withheld_text="geheimgehalten",
            **kwargs,
        )
    )


def test_the_chart_is_an_image_with_a_title_and_a_description() -> None:
    svg = _chart([Bar("Brief", 12, "12"), Bar("E-Mail", 6, "6")])
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.attrib["role"] == "img"
    title, desc = svg.find("svg:title", NS), svg.find("svg:desc", NS)
    assert title is not None
    assert desc is not None
    assert svg.attrib["aria-labelledby"] == title.attrib["id"] == "chart-7-title"
    assert svg.attrib["aria-describedby"] == desc.attrib["id"] == "chart-7-desc"
    assert title.text == "Diagramm: Eingangswege"
    # No inline style: the Content-Security-Policy refuses it. Colours are presentation attributes.
    assert not [element for element in svg.iter() if "style" in element.attrib]
    # No viewBox: the text keeps the page's size on any screen; heights are in em, so they grow with it.
    assert "viewBox" not in svg.attrib
    assert svg.attrib["height"].endswith("em")


def test_bars_are_proportional_to_the_values() -> None:
    svg = _chart([Bar("a", 40, "40"), Bar("b", 10, "10"), Bar("c", 25, "25"), Bar("d", 0, "0")])
    widths = [_bar_width(row) for row in _rows(svg)]
    assert widths == [PLOT_PERCENT, PLOT_PERCENT / 4, PLOT_PERCENT * 25 / 40, 0]
    assert [_value(row) for row in _rows(svg)] == ["40", "10", "25", "0"]


def test_shares_are_drawn_against_one_whole() -> None:
    svg = _chart([Bar("a", 0.5, "50,0 %"), Bar("b", 0.25, "25,0 %")], maximum=1.0)
    assert [_bar_width(row) for row in _rows(svg)] == [PLOT_PERCENT / 2, PLOT_PERCENT / 4]


def test_a_withheld_value_has_a_marker_and_no_bar() -> None:
    svg = _chart([Bar("Brief", 30, "30"), Bar("Telefon", None, "."), Bar("E-Mail", 15, "15")])
    brief, phone, mail = _rows(svg)
    assert _bar_width(phone) is None
    assert phone.find("svg:rect[@class='chart-withheld']", NS) is not None
    assert _value(phone) == "geheimgehalten"
    # The scale rests on published values only: the largest one fills the plot.
    assert _bar_width(brief) == PLOT_PERCENT
    assert _bar_width(mail) == PLOT_PERCENT / 2


def test_labels_are_escaped_cleaned_and_shortened() -> None:
    hostile = '<script>alert("x")</script> & Söhne'
    markup = bar_chart(
        [
            Bar(hostile, 3, "3"),
            Bar("Zeile\x00mit\x1bSteuerzeichen", 4, "4"),
            Bar("Beratungsscheck psychotraumatologische Erstberatung", 5, "5"),
            Bar("L" * 200, 6, "6"),
        ],
        chart_id="c",
        title="<b>Titel</b>",
        description="a & b",
        withheld_text="geheimgehalten",
    )
    assert "<script>" not in markup
    assert "<b>" not in markup
    svg = _parse(markup)
    first, second, third, fourth = _rows(svg)
    assert _label(first) == hostile
    assert _label(second) == "Zeile mit Steuerzeichen"
    # Long labels wrap into lines that fit a narrow screen; overlong ones end with an ellipsis.
    assert _label_lines(third) == ["Beratungsscheck", "psychotraumatologische", "Erstberatung"]
    lines = _label_lines(fourth)
    assert len(lines) == LABEL_LINES
    assert all(len(line) <= LABEL_CHARS for line in lines)
    assert lines[-1].endswith("\N{HORIZONTAL ELLIPSIS}")
    title = svg.find("svg:title", NS)
    assert title is not None
    assert title.text == "<b>Titel</b>"


def test_nothing_published_draws_empty_bars() -> None:
    svg = _chart([Bar("a", None, "."), Bar("b", 0, "0")])
    assert [_bar_width(row) for row in _rows(svg)] == [None, 0]


def _table(key: str, columns: list[ColumnOut], rows: list[RowOut]) -> TableOut:
    return TableOut(key=key, title=f"Tabelle {key}", columns=columns, rows=rows)


def test_a_report_table_chart_never_sees_a_suppressed_count() -> None:
    # "telefon" counts 3 people: withheld (primary), and "brief" with it (complementary).
    protection = Protection(
        values={"all": 43, "brief": 7, "telefon": 3, "web": 33},
        suppressed=frozenset({"brief", "telefon"}),
        hidden=frozenset(),
    )
    rows = [
        count_row(protection, "web", "Online-Formular", "web", "all"),
        count_row(protection, "brief", "Brief", "brief", "all"),
        count_row(protection, "telefon", "Telefon", "telefon", "all"),
        count_row(protection, "all", "insgesamt", "all", "all", total=True),
    ]
    table = _table(
        "channels",
        [ColumnOut(c.key, c.label, c.kind.value) for c in COUNT_AND_SHARE],
        [RowOut(r.key, r.label, r.total, dict(r.values)) for r in rows],
    )
    markup = table_chart(table, 2, Translator("de"))
    assert markup is not None
    svg = _parse(markup)
    web, brief, phone = _rows(svg)  # the total row is not drawn
    assert [_label(row) for row in (web, brief, phone)] == ["Online-Formular", "Brief", "Telefon"]
    assert _bar_width(web) == PLOT_PERCENT
    for withheld in (brief, phone):
        assert _bar_width(withheld) is None
        assert _value(withheld) == "geheimgehalten"
    texts = [element.text for element in svg.iter() if element.text]
    assert "3" not in texts
    assert "7" not in texts
    assert "43" not in texts
    assert svg.attrib["aria-labelledby"] == "chart-2-title"
    english = table_chart(table, 2, Translator("en"))
    assert english is not None
    assert "withheld" in english


def test_which_column_a_table_charts() -> None:
    count = ColumnOut("count", "Anzahl", "count")
    share = ColumnOut("share", "Anteil", "share")
    assert chart_column(_table("t", [count, share], [])) == "count"
    cross = [ColumnOut("bodily_harm", "Körperverletzung", "count"), ColumnOut("total", "insgesamt", "count")]
    assert chart_column(_table("t", cross, [])) == "total"
    durations = [ColumnOut("cases", "Fälle", "count"), ColumnOut("median_hours", "Median", "hours")]
    assert chart_column(_table("t", durations, [])) == "median_hours"
    assert chart_column(_table("t", [share], [])) is None
    one_row = _table(
        "t", [count], [RowOut("a", "a", False, {"count": 4}), RowOut("t", "t", True, {"count": 4})]
    )
    assert table_chart(one_row, 1, Translator("de")) is None


def test_values_in_the_chart_read_as_in_the_table() -> None:
    hours = ColumnOut("median_hours", "Median in Stunden", "hours")
    table = _table(
        "durations",
        [hours],
        [
            RowOut("a", "bis zur Annahme", False, {"median_hours": 12.5}),
            RowOut("b", "bis zum Erstkontakt", False, {"median_hours": 50.0}),
        ],
    )
    svg = _parse(str(table_chart(table, 1, Translator("de"))))
    assert [_value(row) for row in _rows(svg)] == ["12,5", "50,0"]
