"""Charts drawn on the server as inline SVG: no JavaScript, no external assets, nothing the page's
Content-Security-Policy would refuse (colours are SVG presentation attributes, not `style=`).

A chart only shows what its table already says. It is an image with a title and a description
(`role="img"`, `<title>`, `<desc>`) that points to the table, which stays on the page as the accessible
equivalent. A withheld value (small-cell suppression) gets no bar, only a marker and the word for
"withheld": the chart never sees the value, so it cannot reveal it, nor can the scale (computed from
the published values only). A value that is not applicable (no cases) gets neither bar nor marker,
only its words: there is nothing hidden to mark. The SVG is built with ElementTree, so every label is
escaped and the output is well-formed XML.

The chart has no viewBox: it is as wide as its container, bars are percentages of that width, and all
heights and text positions are in `em`, so the text keeps the page's size (and grows with it when a
reader enlarges the text) instead of shrinking with the chart on a narrow screen. Labels are wrapped
here, short enough for a 320 px wide screen.
"""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

SVG_NAMESPACE = "http://www.w3.org/2000/svg"

# Bars use at most this share of the width (in %); the rest holds the value at the longest bar's end.
PLOT_PERCENT = 75.0
# Label lines: about 32 characters fit in 18 em, the width left on a 320 px screen.
LABEL_CHARS = 32
LABEL_LINES = 3
# Vertical layout, in em of the chart's font size (set in site.css).
LINE = 1.3
BAR_GAP = 0.25
BAR_HEIGHT = 1.2
ROW_GAP = 1.0
TOP = 0.1

# The stylesheet's colours (WCAG 2.1 AA: bars 9.4:1, marker 9.3:1, text 16:1 on white).
BAR_COLOUR = "#004b76"
MARKER_COLOUR = "#474747"
TEXT_COLOUR = "#1b1b1b"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    # None: withheld. Never drawn and never written into the SVG.
    value: float | None
    # The value as the table shows it (formatted for the page's language).
    text: str
    # False: nothing to state (a share of no cases); value is None then.
    applicable: bool = True


def bar_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    description: str,
    withheld_text: str,
    not_applicable_text: str = "",
    maximum: float | None = None,
) -> Markup:
    """A horizontal bar chart: per bar its label above, the bar, and its value at the bar's end.

    Bars are proportional to `maximum` (default: the largest published value); a share's maximum is 1.
    """
    published = [bar.value for bar in bars if bar.value is not None]
    scale = maximum if maximum is not None else max(published, default=0)
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NAMESPACE,
            "class": "chart-bars",
            "width": "100%",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title",
            "aria-describedby": f"{chart_id}-desc",
            "fill": TEXT_COLOUR,
        },
    )
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = _clean(title)
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = _clean(description)
    top = TOP
    for bar in bars:
        row = ET.SubElement(svg, "g", {"class": "chart-row"})
        lines = label_lines(_clean(bar.label))
        label = ET.SubElement(row, "text", {"class": "chart-label", "x": "0", "y": _em(top + LINE - 0.3)})
        label.text = lines[0]
        for line in lines[1:]:
            ET.SubElement(label, "tspan", {"x": "0", "dy": _em(LINE)}).text = line
        bar_top = top + len(lines) * LINE + BAR_GAP
        value_place = {"y": _em(bar_top + BAR_HEIGHT - 0.28)}
        if not bar.applicable:
            value_place |= {"x": "0"}
            value_text = not_applicable_text or bar.text
        elif bar.value is None:
            ET.SubElement(
                row,
                "rect",
                {
                    "class": "chart-withheld",
                    "x": "1",
                    "y": _em(bar_top),
                    "width": _em(BAR_HEIGHT),
                    "height": _em(BAR_HEIGHT),
                    "fill": "none",
                    "stroke": MARKER_COLOUR,
                    "stroke-width": "2",
                    "stroke-dasharray": "3 2",
                },
            )
            value_place |= {"x": _em(BAR_HEIGHT + 0.5)}
            value_text = withheld_text
        else:
            length = bar_percent(bar.value, scale)
            ET.SubElement(
                row,
                "rect",
                {
                    "class": "chart-bar",
                    "x": "0",
                    "y": _em(bar_top),
                    "width": f"{_number(length)}%",
                    "height": _em(BAR_HEIGHT),
                    "fill": BAR_COLOUR,
                },
            )
            value_place |= {"x": f"{_number(length)}%", "dx": "0.4em"}
            value_text = bar.text
        value = ET.SubElement(row, "text", {"class": "chart-value", **value_place})
        value.text = _clean(value_text)
        top = bar_top + BAR_HEIGHT + ROW_GAP
    svg.set("height", _em(top - ROW_GAP + 0.2))
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704 - built and escaped by ElementTree


def bar_percent(value: float, scale: float) -> float:
    """Length of a bar for `value` in % of the chart's width: the scale's maximum is `PLOT_PERCENT`."""
    if scale <= 0 or value <= 0:
        return 0.0
    return round(min(value / scale, 1.0) * PLOT_PERCENT, 3)


def label_lines(label: str) -> list[str]:
    """A label wrapped into at most `LABEL_LINES` lines (the table shows it in full)."""
    lines = textwrap.wrap(label, LABEL_CHARS) or [""]
    if len(lines) > LABEL_LINES:
        last = lines[LABEL_LINES - 1]
        lines = [*lines[: LABEL_LINES - 1], last[: LABEL_CHARS - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"]
    return lines


def _em(value: float) -> str:
    return f"{_number(value)}em"


def _number(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _clean(text: str) -> str:
    """Printable characters only: XML 1.0 cannot carry most control characters, even escaped."""
    return "".join(ch if ch.isprintable() else " " for ch in text)
