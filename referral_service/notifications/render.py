"""What a notification e-mail says: the one place where subject and body are written.

Every message, single or digest, to staff or to a complainant, is rendered here from nothing but the
kind, the case's reference, the deadline and the page's path of each notification, its language and
the texts of the catalogue (the application passes `referral_service.web.i18n.catalogue`: the kernel
cannot read the web layer's files itself). No other value can be passed in, so no name, description or
address of a case can reach a message. The frame ("Guten Tag,", why the message came, where the
preferences are) is in `referral_service/web/locales/<language>/emails.json`, the event's name and
subject in the declaring domain's catalogue ("<label_key>", "<label_key>.subject").
"""

from __future__ import annotations

import datetime as dt
import email.utils
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from referral_service.notifications.kinds import NotificationKind

Catalogue = Callable[[str], Mapping[str, str]]
# Where staff choose which notifications they get, and how (the preferences page).
PREFERENCES_PATH = "/benachrichtigungen/einstellungen"


@dataclass(frozen=True, slots=True)
class Item:
    """One notification as a message shows it."""

    kind: NotificationKind
    reference: str
    deadline: dt.date | None
    # The page's path; the message links it under the service's public address.
    link: str


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str
    language: str


def render_one(item: Item, *, language: str, public_url: str, catalogue: Catalogue) -> Rendered:
    """The e-mail for one notification: to a staff member, or to a complainant (`kind.to_complainant`)."""
    texts = catalogue(language)
    label = texts[item.kind.label_key]
    subject = texts[f"{item.kind.label_key}.subject"].format(reference=item.reference)
    if item.kind.to_complainant:
        lines = [
            texts["email.complainant.news"].format(reference=item.reference, event=label),
            *_deadline(item, texts),
            "",
            texts["email.complainant.open"].format(url=public_url + item.link),
            "",
            texts["email.complainant.reason"],
        ]
    else:
        lines = [
            f"{label}: {item.reference}",
            *_deadline(item, texts),
            texts["email.open"].format(url=public_url + item.link),
            "",
            texts["email.reason"],
            *_preferences(public_url, texts),
        ]
    return Rendered(subject=subject, body=_framed(lines, texts), language=language)


def render_digest(
    items: Sequence[Item], *, day: dt.date, language: str, public_url: str, catalogue: Catalogue
) -> Rendered:
    """A staff member's daily digest: every notification of the day in one message, oldest first."""
    texts = catalogue(language)
    lines = [texts["email.digest.intro"], ""]
    for item in items:
        lines += [
            f"- {texts[item.kind.label_key]}: {item.reference}",
            *(f"  {line}" for line in _deadline(item, texts)),
            f"  {public_url}{item.link}",
        ]
    lines += ["", texts["email.digest.reason"], *_preferences(public_url, texts)]
    subject = texts["email.digest.subject"].format(date=_date(day, texts))
    return Rendered(subject=subject, body=_framed(lines, texts), language=language)


def compose(
    rendered: Rendered, *, sender: str, recipient: str, message_id: str, date: dt.datetime
) -> EmailMessage:
    """The message as it is sent: plain UTF-8 text, marked automatic, with a Message-ID of ours (the
    same for every attempt, so a receiving server can recognise a repeat)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = email.utils.format_datetime(date)
    message["Message-ID"] = message_id
    # RFC 3834: no vacation replies or other automatic answers to a machine.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.body, charset="utf-8", cte="quoted-printable")
    # After the content: setting it replaces every Content-* header.
    message["Content-Language"] = rendered.language
    return message


def _framed(lines: list[str], texts: Mapping[str, str]) -> str:
    return "\n".join([texts["email.greeting"], "", *lines, "", "-- ", texts["email.automatic"], ""])


def _deadline(item: Item, texts: Mapping[str, str]) -> list[str]:
    if item.deadline is None:
        return []
    return [texts["email.deadline"].format(date=_date(item.deadline, texts))]


def _preferences(public_url: str, texts: Mapping[str, str]) -> list[str]:
    return [texts["email.preferences"].format(url=public_url + PREFERENCES_PATH)]


def _date(day: dt.date, texts: Mapping[str, str]) -> str:
    return day.strftime(texts["email.date_format"])
