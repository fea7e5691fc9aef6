"""Rendering a page: the template plus what every page needs (language, user, areas, CSRF token).

Page controllers return `page(request, "x.html", ...)`. The base layout reads `t` (translations),
`principal` (or None), `areas` (the areas the user may open), `current_area` (the area the page
belongs to, or None), `work` (the counts of waiting work for the areas' badges, or None: see
`referral_service.web.work`), `csrf_token` (the session's, or the public form token) and `notice` (a
confirmation after a redirect, from `?meldung=<code>`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from referral_service.identity.principal import Credential, Principal
from referral_service.identity.roles import Role
from referral_service.web import formatting
from referral_service.web.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, translator_for
from referral_service.web.security import public_form_token
from referral_service.web.work import counted, work_of

NOTICE_PARAMETER = "meldung"


@dataclass(frozen=True, slots=True)
class Area:
    """A working area of the pages (e.g. the police station's referrals), offered to some roles."""

    path: str
    label_key: str
    roles: frozenset[Role]
    # A working area; the start page lists these before the others (e.g. reports).
    home: bool = True

    def open_to(self, principal: Principal) -> bool:
        return principal.has_role(*self.roles)


def areas_of(request: Request[Any, Any, Any]) -> Sequence[Area]:
    areas: Sequence[Area] = getattr(request.app.state, "web_areas", ())
    return areas


def areas_for(request: Request[Any, Any, Any], principal: Principal | None) -> list[Area]:
    if principal is None:
        return []
    return [area for area in areas_of(request) if area.open_to(principal)]


def area_of(path: str, areas: Iterable[Area]) -> Area | None:
    """The area a page belongs to: the one whose path is the longest prefix of the page's path, at a
    segment boundary ("/polizei" holds "/polizei/suche", not "/polizeiX"). Among all areas, not only
    the caller's: "/weisser-ring/landesbuero/..." belongs to the state office, never to "/weisser-ring"."""
    within = [
        area
        for area in areas
        if area.path != "/" and (path == area.path or path.startswith(area.path.rstrip("/") + "/"))
    ]
    return max(within, key=lambda area: len(area.path), default=None)


def principal_of(request: Request[Any, Any, Any]) -> Principal | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None


def session_csrf_token(request: Request[Any, Any, Any]) -> str | None:
    credential = request.scope.get("auth")
    return credential.csrf_token if isinstance(credential, Credential) else None


def _notice(request: Request[Any, Any, Any], t: Translator) -> str | None:
    code = request.query_params.get(NOTICE_PARAMETER)
    if code and len(code) <= 40 and t.has(f"notice.{code}"):
        return t(f"notice.{code}")
    return None


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status_code: int = 200,
    context: Mapping[str, Any] | None = None,
    cookies: Iterable[Cookie] = (),
    principal: Principal | None = None,
    headers: Mapping[str, str] | None = None,
) -> Template:
    t = translator_for(request)
    who = principal or principal_of(request)
    all_cookies = list(cookies)
    csrf = session_csrf_token(request)
    if csrf is None:
        csrf, cookie = public_form_token(request)
        if cookie is not None:
            all_cookies.append(cookie)
    values: dict[str, Any] = {
        "t": t,
        "lang": t.language,
        "languages": [(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        "principal": who,
        "areas": areas_for(request, who),
        "work": work_of(request),
        # A number with its words, singular or plural: counted("work.badge", 3) -> "3 warten".
        "counted": lambda key, count: counted(t, key, count),
        "csrf_token": csrf,
        "current_path": request.url.path,
        # The navigation marks this area: the page itself ("page") or a page within it ("true").
        "current_area": area_of(request.url.path, areas_of(request)),
        "notice": _notice(request, t),
        "fmt_datetime": lambda value: formatting.format_datetime(value, t),
        "fmt_date": lambda value: formatting.format_date(value, t),
        "fmt_month": lambda value: formatting.format_month(value, t),
        # (value, catalogue key) pairs -> (value, text), for select, radio and checkbox options.
        "options": lambda pairs: [(value, t(key)) for value, key in pairs],
        "errors": {},
        "values": {},
    }
    values.update(context or {})
    return Template(
        template_name=template,
        context=values,
        status_code=status_code,
        cookies=all_cookies,
        headers=dict(headers or {}),
        media_type="text/html",
    )


def see_other(path: str, *, notice: str | None = None, cookies: Iterable[Cookie] = ()) -> Response[Any]:
    """303 to a page of ours (Post/Redirect/Get), optionally with a confirmation code to show there."""
    target = path + ("?" + urlencode({NOTICE_PARAMETER: notice}) if notice else "")
    return Redirect(target, status_code=HTTP_303_SEE_OTHER, cookies=list(cookies))


def safe_next(path: str | None, default: str = "/") -> str:
    """A local path to continue to after sign-in; anything else (other hosts, schemes) gives the default."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or len(path) > 200:
        return default
    if any(ch in path for ch in "?#\r\n"):
        return default
    return path


def parse_uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def today() -> dt.date:
    return formatting.local(dt.datetime.now(dt.UTC)).date()
