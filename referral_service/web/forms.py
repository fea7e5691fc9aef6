"""Reading HTML forms and collecting errors to show next to their fields.

Pages validate their input field by field with messages from the catalogue (`errors` maps a field name
to a message key), then hand a complete request type to the service. The template shows each message
next to its field (`aria-describedby`, `aria-invalid`) and all of them in a summary at the top.
When the service refuses, the page undoes what the refused use case did (`refusable`) and shows the
form again with the refusal next to the field it concerns (`refusal_message`).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from litestar import Request
from litestar.datastructures import FormMultiDict, MultiDict
from sqlalchemy.ext.asyncio import AsyncSession

from referral_service.problems import DomainError, ErrorKind
from referral_service.values import DATE, MONTH, ValueKind
from referral_service.web.formatting import parse_local_datetime
from referral_service.web.i18n import N_, translator_for

E = TypeVar("E", bound=StrEnum)


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The posted form; an empty one for any other body (e.g. JSON)."""
    return await request.form()


@dataclass
class FormInput:
    """The posted values (for re-displaying the form) and the errors found so far. A GET form's query
    parameters read the same way."""

    form: FormMultiDict | MultiDict[Any]
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def text(
        self, name: str, *, required: bool = False, max_length: int = 200, pattern: str | None = None
    ) -> str | None:
        raw = self.form.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        self.values[name] = value
        if not value:
            if required:
                self.errors[name] = N_("form.error.required")
            return None
        if len(value) > max_length:
            self.errors[name] = N_("form.error.too_long")
            return None
        if pattern is not None and not re.fullmatch(pattern, value):
            self.errors[name] = f"form.error.pattern.{name}"
            return None
        return value

    def choice(self, name: str, enum: type[E], *, required: bool = True) -> E | None:
        raw = self.form.get(name)
        value = raw if isinstance(raw, str) else ""
        self.values[name] = value
        if not value:
            if required:
                self.errors[name] = N_("form.error.choose")
            return None
        try:
            return enum(value)
        except ValueError:
            self.errors[name] = N_("form.error.choose")
            return None

    def choices(self, name: str, enum: type[E]) -> list[E]:
        chosen: list[E] = []
        raw_values = [v for v in self.form.getall(name, []) if isinstance(v, str)]
        self.values[name] = raw_values
        for value in raw_values:
            try:
                chosen.append(enum(value))
            except ValueError:
                self.errors[name] = N_("form.error.choose")
        return chosen

    def uuid_choice(self, name: str, *, required: bool = True) -> uuid.UUID | None:
        """The id of an entry chosen in a list (a person, a unit): "choose one" when none (if required)
        or a wrong one."""
        raw = self.form.get(name)
        value = raw.strip() if isinstance(raw, str) else ""
        self.values[name] = value
        if not value and not required:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.errors[name] = N_("form.error.choose")
            return None

    def flag(self, name: str) -> bool:
        value = self.form.get(name) in {"on", "true", "1", "yes"}
        self.values[name] = value
        return value

    def value(self, name: str, kind: ValueKind, *, required: bool = False) -> str | None:
        """A value of a kind (e-mail, phone, postcode, date, ...) by the rule the API applies too, in the
        API's form (`11.2026` is read as `2026-11`); the kind's message when it breaks the rule."""
        text = self.text(name, required=required, max_length=kind.max_length + 16)
        if text is None:
            return None
        value = kind.normalise(text)
        if not kind.accepts(value):
            self.errors[name] = kind.message_key
            return None
        return value

    def date(self, name: str, *, required: bool = False) -> dt.date | None:
        value = self.value(name, DATE, required=required)
        return dt.date.fromisoformat(value) if value is not None else None

    def month(self, name: str, *, required: bool = False) -> str | None:
        return self.value(name, MONTH, required=required)

    def local_datetime(self, name: str, *, required: bool = False) -> dt.datetime | None:
        value = self.text(name, required=required, max_length=32)
        if value is None:
            return None
        try:
            return parse_local_datetime(value)
        except (ValueError, OverflowError):  # OverflowError: year 1 moved into UTC
            self.errors[name] = N_("form.error.datetime")
            return None

    def error(self, name: str, key: str) -> None:
        self.errors.setdefault(name, key)

    @property
    def ok(self) -> bool:
        return not self.errors


async def form_input(request: Request[Any, Any, Any]) -> FormInput:
    return FormInput(await read_form(request))


def keep(values: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: values[name] for name in names if name in values}


@dataclass(slots=True)
class Refusal:
    """What the use case in a `refusable` block was refused with; `error` stays None when it was not."""

    error: DomainError | None = None


@asynccontextmanager
async def refusable(
    session: AsyncSession,
    *refusals: type[DomainError],
    not_found_is_refusal: bool = False,
    keep_prior_work: bool = False,
) -> AsyncIterator[Refusal]:
    """Run a use case whose refusal the page shows on its form instead of an error page.

    A refusal (one of `refusals`; any `DomainError` when none are named) ends the block, is kept in
    the yielded `Refusal`, and its changes are undone: the whole transaction is rolled back, or with
    `keep_prior_work` only what the block did (a savepoint), so that what the request did before it,
    such as an audited read, is still committed. "Not found" means the page's own record is gone and
    propagates to the 404 page, unless it concerns a value the form chose (`not_found_is_refusal`);
    a server-side failure always propagates.
    """
    refusal = Refusal()
    caught = refusals or (DomainError,)
    try:
        if keep_prior_work:
            async with session.begin_nested():
                yield refusal
        else:
            yield refusal
    except caught as exc:
        if (exc.kind is ErrorKind.NOT_FOUND and not not_found_is_refusal) or exc.kind.value >= 500:
            raise
        if not keep_prior_work:
            await session.rollback()
        refusal.error = exc


def refusal_message(request: Request[Any, Any, Any], exc: DomainError, prefix: str, generic: str) -> str:
    """The catalogue's message for a refusal by its stable code (`<prefix>.<code>`), else `generic`."""
    key = f"{prefix}.{exc.code}"
    return key if translator_for(request).has(key) else generic
