"""One rule per kind of value: what a page accepts, the API accepts, and the other way round."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar, post
from litestar.datastructures import MultiDict
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from referral_service.problems import EXCEPTION_HANDLERS
from referral_service.validation import check_request_body, field_errors
from referral_service.values import DATE, DAY_OR_MONTH, EMAIL, KINDS, MONTH, PHONE, POSTCODE, ValueKind
from referral_service.web.forms import FormInput

SAMPLES: dict[str, tuple[list[str], list[str]]] = {
    # kind: (accepted, refused)
    "email": (
        ["anna.schmidt@web.de", "erika.mustermann+wr@example.org", "jörg@müller.de"],
        ["erika@example", "anna.schmidt@web", "a b@example.de", "@example.de", "anna@@web.de", "anna@web.1"],
    ),
    "phone": (
        ["0351 4831234", "+49 (351) 483-1234", "0171/1234567"],
        ["12345", "call me", "+49 351 abc", "-0351 123456", "0" * 40],
    ),
    "postcode": (["01067", "99999"], ["1067", "010677", "O1067", "01 067"]),
    "date": (
        ["2026-11-14", "2024-02-29", "1950-01-01"],
        ["2026-02-30", "2026-13-01", "14.11.26", "2026-11", "0000-01-01", "9999-12-31"],
    ),
    "month": (["2026-03"], ["2026-3", "2026-13", "2026-03-01", "0000-01"]),
    "day_or_month": (
        ["2026-11-14", "2026-11", "1987-06"],
        ["2026-02-30", "2026-00", "November 2026", "2026", "0000-01", "0000-01-01"],
    ),
}


def _api_accepts(kind: ValueKind, text: str) -> bool:
    """What the API says: the kind's msgspec type, and the walk that names errors by field."""
    probe = msgspec.defstruct("Probe", [("value", Annotated[str, kind.meta])], forbid_unknown_fields=True)
    return not field_errors({"value": text}, probe)


def _page_accepts(kind: ValueKind, text: str) -> bool:
    data = FormInput(MultiDict({"value": text}))
    return data.value("value", kind) is not None and data.ok


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_samples_are_judged_alike_by_page_and_api(kind: ValueKind) -> None:
    accepted, refused = SAMPLES[kind.name]
    for text in accepted:
        assert _page_accepts(kind, text), text
        assert _api_accepts(kind, text), text
    for text in refused:
        assert not _page_accepts(kind, text), text
        assert not _api_accepts(kind, text), text


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(KINDS), text=st.text(alphabet="0123456789-.@+ ()/abcdeäx", max_size=24))
def test_page_and_api_never_disagree(kind: ValueKind, text: str) -> None:
    # A page strips surrounding blanks and reads German dates first; the API takes what it was sent.
    typed = text.strip()
    if not typed:
        return
    assert _page_accepts(kind, typed) == _api_accepts(kind, kind.normalise(typed))


@pytest.mark.parametrize(
    ("typed", "kind", "read"),
    [
        ("14.11.2026", DATE, "2026-11-14"),
        ("1.3.2026", DATE, "2026-03-01"),
        ("11.2026", DAY_OR_MONTH, "2026-11"),
        ("14.11.2026", DAY_OR_MONTH, "2026-11-14"),
        ("3.2026", MONTH, "2026-03"),
    ],
)
def test_pages_read_dates_the_german_way(typed: str, kind: ValueKind, read: str) -> None:
    data = FormInput(MultiDict({"when": typed}))
    assert data.value("when", kind) == read


def test_a_refused_value_is_named_by_its_kind_on_the_page() -> None:
    data = FormInput(
        MultiDict({"email": "erika@example", "phone": "12", "postcode": "123", "born": "31.02.2000"})
    )
    data.value("email", EMAIL)
    data.value("phone", PHONE)
    data.value("postcode", POSTCODE)
    assert data.date("born") is None
    assert data.errors == {
        "email": "form.error.value.email",
        "phone": "form.error.value.phone",
        "postcode": "form.error.value.postcode",
        "born": "form.error.value.date",
    }


class _Address(msgspec.Struct, forbid_unknown_fields=True):
    postcode: Annotated[str, POSTCODE.meta]
    city: str


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    address: _Address
    email: Annotated[str, EMAIL.meta] | None = None
    born: dt.date | None = None
    tags: list[int] = msgspec.field(default_factory=list)
    previous: list[_Address] = msgspec.field(default_factory=list)


def test_every_wrong_field_is_named_at_once_in_declaration_order() -> None:
    body = {
        "address": {"postcode": "1", "colour": "red"},
        "email": "erika@example",
        "born": "2026-02-30",
        "tags": [1, "x", 3],
        "previous": [{"postcode": "01067", "city": "Dresden"}, {"city": 5}],
        "extra": True,
    }
    found = [(e.field, e.code) for e in field_errors(body, _Body)]
    assert found == [
        ("name", "value.required"),
        ("address.postcode", "value.postcode"),
        ("address.city", "value.required"),
        ("address.colour", "value.unknown_field"),
        ("email", "value.email"),
        ("born", "value.invalid"),
        ("tags[1]", "value.invalid"),
        ("previous[1].postcode", "value.required"),
        ("previous[1].city", "value.invalid"),
        ("extra", "value.unknown_field"),
    ]


def test_messages_name_the_rule_not_a_regular_expression() -> None:
    (error,) = field_errors(
        {"name": "x", "address": {"postcode": "01067", "city": "D"}, "email": "a@b"}, _Body
    )
    assert error.message == "Expected an e-mail address such as name@example.de"
    assert "$" not in str(field_errors({"name": 1, "address": {"postcode": "01067", "city": "D"}}, _Body))


def test_a_body_that_is_not_an_object_is_one_error() -> None:
    assert [(e.field, e.code) for e in field_errors([1, 2], _Body)] == [("$", "value.invalid")]


class _Dated(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    when: Annotated[str, DAY_OR_MONTH.meta]
    earlier: list[_Dated] | None = None


async def test_a_body_that_converts_is_still_refused_for_a_date_not_in_the_calendar() -> None:
    """2026-02-30 matches the date pattern, so the body converts; the kind's own check still refuses it
    before the handler runs, named by its field."""
    reached: list[_Dated] = []

    @post("/dated", status_code=200)
    async def dated(data: JSONBody[_Dated]) -> dict[str, str]:
        reached.append(data)
        return {}

    app = Litestar([dated], before_request=check_request_body, exception_handlers=EXCEPTION_HANDLERS)
    async with AsyncTestClient(app) as client:
        refused = await client.post("/dated", json={"name": "x", "when": "2026-02-30"})
        assert refused.status_code == 422
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("when", "value.day_or_month")]
        assert reached == []
        accepted = await client.post("/dated", json={"name": "x", "when": "2026-02-28"})
        assert accepted.status_code == 200
        assert len(reached) == 1
        nested = {"name": "x", "when": "2026-02-28", "earlier": [{"name": "y", "when": "2025-02-29"}]}
        refused = await client.post("/dated", json=nested)
        assert refused.status_code == 422
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
            ("earlier[0].when", "value.day_or_month")
        ]
        assert len(reached) == 1
