"""How a domain joins the application: one `Domain` declaration per package, found through entry points.

A domain package declares `DOMAIN = Domain(...)` (in its `registration.py`) and names it in
pyproject.toml under `[project.entry-points."referral_service.domains"]`. The application factory, the
command line, the template loader and the translations iterate over `installed_domains()`; no kernel
module names a domain, so adding one touches only its own package and pyproject.toml.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

import click
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.principal import Principal
from referral_service.jobs import PeriodicJob
from referral_service.keys.service import CaseKeys
from referral_service.metrics.gauges import Gauge
from referral_service.notifications.kinds import NotificationKind
from referral_service.reporting.service import DomainReport
from referral_service.retention.providers import RetentionProvider
from referral_service.settings import Settings

if TYPE_CHECKING:
    # Only an annotation here; importing the web package at run time would make a cycle (its i18n reads
    # the domains' catalogues through this module).
    from referral_service.web.render import Area

ENTRY_POINT_GROUP = "referral_service.domains"

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class AppContext:
    """What the kernel hands each domain while it builds one application."""

    settings: Settings
    engine: AsyncEngine


@dataclass(frozen=True, slots=True)
class DomainParts:
    """What a domain mounts in one application."""

    route_handlers: Sequence[ControllerRouterHandler] = ()
    page_handlers: Sequence[ControllerRouterHandler] = ()
    # Working areas of the pages, in menu order.
    areas: Sequence[Area] = ()
    jobs: Sequence[PeriodicJob] = ()
    # Entries for the application's state (`request.app.state.<name>`).
    state: Mapping[str, object] = field(default_factory=dict)


def _no_retention(_: object) -> Sequence[RetentionProvider]:
    return ()


def _no_reports(_: object) -> Sequence[DomainReport]:
    return ()


def _no_gauges(_: object) -> Sequence[Gauge]:
    return ()


@dataclass(frozen=True, slots=True)
class PlainLanguagePage:
    """A domain's page in Leichte Sprache, served at `/leichte-sprache/<slug>` and listed on the overview
    `/leichte-sprache`. Leichte Sprache is German by nature (an English version would be another text
    for other readers), so `title` and `summary` are German, like the template's text, and not in the
    catalogues. The template extends "public/plain_language_layout.html" and fills its `plain` block."""

    slug: str
    template: str
    # Written in Leichte Sprache: the overview's link and the page's heading, and one or two sentences
    # below the link that say what the page explains.
    title: str
    summary: str


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One count of work waiting for a user, for the start page and the navigation's badges: "3 new
    referrals", linked to the list that shows exactly those cases."""

    # The area it belongs to (its path) and the list with the filter that shows the counted cases.
    area: str
    link: str
    # Catalogue key of the label; the catalogues hold "<key>.one" and "<key>.other", each with {count}.
    label_key: str
    count: int
    # Past a deadline: styled as urgent (the label says so in words too).
    urgent: bool = False
    # Part of the area's badge in the navigation, which adds up these items: a domain marks items that
    # never count the same case twice.
    badge: bool = False


class CountedWork(Protocol):
    """How a domain describes one of its counts: the list (an area's path with the pages' filter
    names and values) that shows the counted cases, its label, and how it shows."""

    @property
    def area(self) -> str: ...
    @property
    def label_key(self) -> str: ...
    @property
    def query(self) -> Sequence[tuple[str, str]]: ...
    @property
    def urgent(self) -> bool: ...
    @property
    def badge(self) -> bool: ...


def work_items(counts: Sequence[CountedWork], numbers: Sequence[int]) -> list[WorkItem]:
    """The items for a domain's counts and the numbers its one query gave, in the same order."""
    return [
        WorkItem(
            area=count.area,
            link=f"{count.area}?{urlencode(count.query)}" if count.query else count.area,
            label_key=count.label_key,
            count=int(number),
            urgent=count.urgent,
            badge=count.badge,
        )
        for count, number in zip(counts, numbers, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class Domain(Generic[S]):
    """A domain's declaration. `S` is its settings object (frozen, read from REFERRAL_* variables)."""

    name: str
    # Domains come in this order (then by name): their areas in the menu, and so the first home area a
    # user with roles in two domains is sent to.
    order: int
    # Its settings from `Settings.environ`; a bad value raises `SettingsError` naming the variable.
    load_settings: Callable[[Mapping[str, str]], S]
    build: Callable[[AppContext, S], DomainParts]
    retention: Callable[[S], Sequence[RetentionProvider]] = _no_retention
    # Its reports for its settings (a report may count against a configured deadline); the names and
    # permissions must not depend on the settings, since the command line is built from the defaults.
    reports: Callable[[S], Sequence[DomainReport]] = _no_reports
    # Its gauges of waiting work for the metrics port (e.g. overdue cases by unit), for its settings.
    gauges: Callable[[S], Sequence[Gauge]] = _no_gauges
    cli: click.Group | None = None
    # `referral-service import <name> FILE`: loads cases of earlier years from a file, if the domain can.
    importer: click.Command | None = None
    # Demo data beside the demo organisation (development start and `referral-service demo`); with
    # `only_if_empty`, nothing happens where the domain already has such data.
    seed_demo: Callable[[AsyncSession, bool], Awaitable[None]] | None = None
    # Folders of Jinja templates (names below them include the domain's folder, "complaints/case.html")
    # and of translation catalogues (`<language>/<area>.json`).
    templates: Path | None = None
    locales: Path | None = None
    # Its explanation for the public in Leichte Sprache, if it has one.
    plain_language: PlainLanguagePage | None = None
    # The work waiting for the principal in the domain's areas, every count of the domain in ONE query
    # and scoped like its lists; nothing, without a query, for a principal without the domain's roles.
    work: Callable[[AsyncSession, Principal, S], Awaitable[Sequence[WorkItem]]] | None = None
    # The kinds of notification the domain sends (`referral_service.notifications`).
    notifications: Sequence[NotificationKind] = ()
    # For kinds sent to a complainant: the address of the case `subject_id` (decrypted under its key),
    # or None when there is none any more (withdrawn, erased). Called only by the e-mail sender.
    contact_address: Callable[[AsyncSession, CaseKeys, uuid.UUID], Awaitable[str | None]] | None = None


@cache
def installed_domains() -> tuple[Domain[Any], ...]:
    """Every domain registered under the entry-point group, loaded once per process."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name)
    domains: list[Domain[Any]] = []
    for point in found:
        domain = point.load()
        if not isinstance(domain, Domain):
            raise TypeError(f"entry point {point.name} ({point.value}) is not a Domain")
        domains.append(domain)
    names = [domain.name for domain in domains]
    if len(set(names)) != len(names):
        raise ValueError(f"two domains share a name: {sorted(names)}")
    return tuple(sorted(domains, key=lambda domain: (domain.order, domain.name)))


def domain_settings(settings: Settings, overrides: Mapping[str, object] | None = None) -> dict[str, Any]:
    """Each domain's settings by name: read from the environment snapshot, or taken from `overrides`
    (tests pass policies with their own clocks). Raises `SettingsError` for a bad variable."""
    overrides = overrides or {}
    domains = installed_domains()
    unknown = set(overrides) - {domain.name for domain in domains}
    if unknown:
        raise ValueError(f"no such domain: {sorted(unknown)}")
    return {
        domain.name: overrides[domain.name]
        if domain.name in overrides
        else domain.load_settings(settings.environ)
        for domain in domains
    }


def retention_providers(
    settings: Settings, configured: Mapping[str, Any] | None = None
) -> list[RetentionProvider]:
    """Every domain's retention providers, with its configured periods."""
    configured = configured if configured is not None else domain_settings(settings)
    return [
        provider for domain in installed_domains() for provider in domain.retention(configured[domain.name])
    ]


def domain_reports(settings: Settings, configured: Mapping[str, Any] | None = None) -> list[DomainReport]:
    """Every domain's reports, for its configured settings."""
    configured = configured if configured is not None else domain_settings(settings)
    return [report for domain in installed_domains() for report in domain.reports(configured[domain.name])]


def template_folders() -> list[Path]:
    return [domain.templates for domain in installed_domains() if domain.templates is not None]


def catalogue_folders() -> list[Path]:
    return [domain.locales for domain in installed_domains() if domain.locales is not None]


def plain_language_pages() -> list[PlainLanguagePage]:
    """The installed domains' pages in Leichte Sprache, in the domains' order."""
    return [domain.plain_language for domain in installed_domains() if domain.plain_language is not None]
