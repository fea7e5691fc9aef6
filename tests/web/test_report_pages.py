"""Report pages: the reporting service's tables as HTML, with the period chosen by a GET form, and a chart
beside each table."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock
from tests.reporting.support import insert
from tests.reporting.test_cooperation_report import second_quarter_2025
from tests.web.support import Client, assert_html, get_page, sign_in

SVG = {"svg": "http://www.w3.org/2000/svg"}


async def test_the_state_office_reads_the_cooperation_report(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.WR_STATE_OFFICE, identity_clock)
    # The report is in the menu; the start page lists the routing queue first.
    start = (await get_page(https_client, "/")).text
    assert start.index('<a href="/weisser-ring/landesbuero">') < start.index(
        '<a href="/berichte/kooperation">'
    )
    report = await get_page(https_client, "/berichte/kooperation?year=2026&quarter=4")
    assert_html(report)
    assert 'href="/berichte/kooperation"' in report.text
    assert "<table>" in report.text
    assert "<caption id=" in report.text
    for chosen in ("csv", "csv-de", "xlsx"):
        assert (
            f'href="/api/v1/reports/cooperation?year=2026&amp;quarter=4&amp;format={chosen}"' in report.text
        )
    # No referrals at all: medians and shares of no cases are "x" (not applicable), never "." (withheld).
    durations = report.text[report.text.index("Zeit ab Übermittlung") :]
    durations = durations[: durations.index("</table>")]
    assert re.findall(r'<td class="number">([^<]*)</td>', durations) == ["0", "x", "0", "x"]
    assert "Ein „x“ steht, wo es nichts anzugeben gibt" in report.text
    wrong = await get_page(https_client, "/berichte/kooperation?year=2026&directorate=pd-atlantis")
    assert_html(wrong, 422)
    assert 'id="f-directorate-error"' in wrong.text


async def test_the_complaints_lead_and_the_auditor_read_the_annual_report(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    assert_html(await get_page(https_client, "/berichte/beschwerden?year=2026"))
    assert_html(await get_page(https_client, "/berichte/kooperation?year=2026"), 403)
    https_client.cookies.clear()
    await sign_in(https_client, demo_directory, Role.AUDITOR, identity_clock)
    for path in ("/berichte/beschwerden", "/berichte/kooperation"):
        assert_html(await get_page(https_client, path))
    https_client.cookies.clear()
    await sign_in(https_client, demo_directory, Role.POLICE_OFFICER, identity_clock)
    assert_html(await get_page(https_client, "/berichte/beschwerden"), 403)


def _charts(page_html: str) -> list[ET.Element]:
    """Every chart on the page, parsed as XML (which fails unless it is well-formed)."""
    return [
        ET.fromstring(found)  # noqa: S314 - our own page
        for found in re.findall(r'<div class="chart">(<svg .*?</svg>)</div>', page_html, flags=re.S)
    ]


def _chart_rows(svg: ET.Element) -> dict[str, ET.Element]:
    rows = {}
    for row in svg.findall("svg:g", SVG):
        label = row.find("svg:text[@class='chart-label']", SVG)
        assert label is not None
        rows[" ".join(label.itertext())] = row
    return rows


async def test_report_tables_come_with_charts_that_keep_withheld_values_secret(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock, engine: AsyncEngine
) -> None:
    await insert(engine, second_quarter_2025(demo_directory))
    await sign_in(https_client, demo_directory, Role.WR_STATE_OFFICE, identity_clock)
    state = await get_page(https_client, "/berichte/kooperation?year=2025&quarter=2")
    assert_html(state)
    charts = _charts(state.text)
    assert len(charts) >= 4
    for number, svg in enumerate(charts):
        assert svg.attrib["role"] == "img"
        title = svg.find("svg:title", SVG)
        assert title is not None
        assert (title.text or "").startswith("Diagramm: ")
        assert f'id="{svg.attrib["aria-labelledby"]}"' in state.text
        assert number == 0 or svg.attrib["aria-labelledby"] != charts[0].attrib["aria-labelledby"]
    by_directorate = _chart_rows(charts[0])
    dresden, leipzig = by_directorate["Polizeidirektion Dresden"], by_directorate["Polizeidirektion Leipzig"]
    bar = dresden.find("svg:rect[@class='chart-bar']", SVG)
    other = leipzig.find("svg:rect[@class='chart-bar']", SVG)
    assert bar is not None
    assert other is not None
    # Dresden 18, Leipzig 12 referrals: bars in that proportion.
    ratio = float(other.attrib["width"].removesuffix("%")) / float(bar.attrib["width"].removesuffix("%"))
    assert ratio == pytest.approx(12 / 18, abs=0.001)

    # The offence mix: the table's total row as a bar per offence area, withheld areas without a bar.
    mix = next(svg for svg in charts if svg.attrib["aria-labelledby"].endswith("-mix-title"))
    areas = _chart_rows(mix)
    assert areas["Nachstellung"].find("svg:rect[@class='chart-withheld']", SVG) is not None
    assert [text.text for text in areas["Betrug"].findall("svg:text", SVG)] == ["Betrug", "5"]

    # In Dresden's own report the station with three referrals is withheld, in the table and the chart.
    directorate = await get_page(
        https_client, "/berichte/kooperation?year=2025&quarter=2&directorate=pd-dresden"
    )
    assert_html(directorate)
    rows = _chart_rows(_charts(directorate.text)[0])
    mitte = rows["Polizeirevier Dresden-Mitte"]
    assert mitte.find("svg:rect[@class='chart-bar']", SVG) is None
    assert mitte.find("svg:rect[@class='chart-withheld']", SVG) is not None
    assert [text.text for text in mitte.findall("svg:text", SVG)] == [
        "Polizeirevier Dresden-Mitte",
        "geheimgehalten",
    ]


async def test_charts_speak_the_page_language(
    https_client: Client, demo_directory: DemoDirectory, identity_clock: FakeClock
) -> None:
    await sign_in(https_client, demo_directory, Role.COMPLAINTS_LEAD, identity_clock)
    https_client.cookies.set("rs_lang", "en")
    report = await get_page(https_client, "/berichte/beschwerden?year=2026")
    assert_html(report)
    charts = _charts(report.text)
    assert charts
    title = charts[0].find("svg:title", SVG)
    assert title is not None
    assert (title.text or "").startswith("Chart: ")
