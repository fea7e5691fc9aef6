"""Helpers for page tests: browsers ask for HTML, forms carry the token the page rendered."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory, FakeClock

Client = AsyncTestClient[Litestar]
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)

_CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(page_html: str) -> str:
    found = _CSRF.search(page_html)
    assert found, "the page has no form token"
    return html.unescape(found.group(1))


def text_of(page_html: str) -> str:
    """The page's visible text, roughly: tags removed, entities decoded, whitespace collapsed."""
    without_tags = re.sub(
        r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page_html, flags=re.S)
    )
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()


async def get_page(client: Client, path: str, **kwargs: Any) -> Any:
    return await client.get(path, headers=HTML, follow_redirects=False, **kwargs)


async def post_form(client: Client, path: str, data: dict[str, Any], **kwargs: Any) -> Any:
    return await client.post(path, data=data, headers=HTML, follow_redirects=False, **kwargs)


async def sign_in(
    client: Client, demo_directory: DemoDirectory, who: Role | str, clock: FakeClock, *, next_path: str = ""
) -> Any:
    """Sign in through the sign-in page; returns the answer to the form (a 303 on success)."""
    form_page = await get_page(client, "/anmelden")
    assert form_page.status_code == 200, form_page.text
    account = demo_directory.account(who)
    data = {"_csrf": csrf_of(form_page.text), "username": account.username, "password": account.password}
    if account.totp_secret is not None:
        data["totp_code"] = account.totp_code(clock.now())
    if next_path:
        data["weiter"] = next_path
    response = await post_form(client, "/anmelden", data)
    assert response.status_code == 303, response.text
    return response


def assert_html(response: Any, status: int = 200) -> None:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


class _FormOutline(HTMLParser):
    """The parts of a page a person with an error meets: the title, the summary's links (target and
    text) and, in page order, every form field's id with its label's text."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.summary: list[tuple[str, str]] = []
        self.fields: list[str] = []
        self.labels: dict[str, str] = {}
        self._in: list[str] = []  # what text is being collected: "title", "summary-link", "label"
        self._text = ""
        self._target = ""
        self._in_summary = False
        self._fieldset = ""  # the id of the fieldset just opened, until its legend
        self._group_legend = ""  # a legend of a fieldset without id, for its first radio button or box
        self._named_by_legend: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if tag == "title":
            self._in.append("title")
        elif tag == "div" and "error-summary" in a.get("class", "").split():
            self._in_summary = True
        elif tag == "a" and self._in_summary:
            self._in.append("summary-link")
            self._target, self._text = a.get("href", "").removeprefix("#"), ""
        elif tag == "label" and "for" in a:
            self._in.append("label")
            self._target, self._text = a["for"], ""
        elif tag == "legend":
            # A group's label is its legend: a fieldset's with an id, or (radio buttons, check boxes)
            # that of the first box, which the summary links to.
            self._in.append("label")
            self._target, self._text = self._fieldset, ""
            self._fieldset = ""
        elif tag in ("input", "select", "textarea", "fieldset"):
            if tag == "fieldset":
                self._fieldset, self._group_legend = a.get("id", ""), ""
            elif self._group_legend and a.get("type") in ("radio", "checkbox") and a.get("id"):
                self.labels[a["id"]] = self._group_legend
                self._named_by_legend.add(a["id"])
            if tag != "fieldset":
                self._group_legend = ""
            if a.get("id") and a.get("type") not in ("hidden", "submit"):
                self.fields.append(a["id"])
        elif tag == "span" and {"required", "optional"} & set(a.get("class", "").split()) and self._in:
            self._in.append("skip")

    def handle_endtag(self, tag: str) -> None:
        if not self._in:
            if tag == "div" and self._in_summary:
                self._in_summary = False
            return
        current = self._in[-1]
        if (current == "skip" and tag == "span") or (current == "title" and tag == "title"):
            self._in.pop()
        elif current == "summary-link" and tag == "a":
            self._in.pop()
            self.summary.append((self._target, " ".join(self._text.split())))
        elif current == "label" and tag in ("label", "legend"):
            self._in.pop()
            text = " ".join(self._text.split())
            if tag == "legend" and not self._target:
                self._group_legend = text
            elif self._target not in self._named_by_legend:
                self.labels[self._target] = text

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "title":
            self.title += data
        elif self._in and self._in[-1] in ("summary-link", "label"):
            self._text += data


def assert_error_summary(page_html: str, *, expected: set[str] | None = None) -> list[str]:
    """The page reports its errors as a person needs them: `Fehler:` first in the title, a summary whose
    links go to the fields in the order the fields stand on the page, each named by the field's own label.
    Returns the linked field ids (without `f-`); with `expected`, they must be exactly those."""
    outline = _FormOutline()
    outline.feed(page_html)
    assert outline.title.strip().startswith(("Fehler:", "Error:")), outline.title
    assert outline.summary, "the page shows no error summary"
    targets = [target for target, _ in outline.summary]
    for target, text in outline.summary:
        assert target in outline.fields, f"summary link #{target} leads to no field"
        label = outline.labels.get(target, "")
        assert label, f"the field #{target} has no label"
        assert text.startswith(label + ":"), f"summary says {text!r}, the field's label is {label!r}"
    in_page = sorted(targets, key=outline.fields.index)
    assert targets == in_page, f"summary order {targets} differs from the page order {in_page}"
    names = [target.removeprefix("f-") for target in targets]
    if expected is not None:
        assert set(names) == expected, names
    return names
