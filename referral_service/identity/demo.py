"""A Saxon sample organisation with one user per role, for development and demonstrations.

Demo passwords and TOTP secrets are derived from the service secret, so `serve` can print the same
logins on every start without storing them anywhere; `demo` is refused in production.
Seeding is idempotent: existing units and users (by code and username) are left as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity import repository, service, totp
from referral_service.identity.config import IdentityConfig
from referral_service.identity.roles import Role, UnitKind, requires_totp

K = UnitKind

# (code, name, kind, parent code); parents come before their children.
SAXON_UNITS: list[tuple[str, str, UnitKind, str | None]] = [
    ("sn", "Freistaat Sachsen", K.STATE, None),
    ("pd-chemnitz", "Polizeidirektion Chemnitz", K.POLICE_DIRECTORATE, "sn"),
    ("rev-chemnitz-nordost", "Polizeirevier Chemnitz-Nordost", K.POLICE_STATION, "pd-chemnitz"),
    ("rev-chemnitz-suedwest", "Polizeirevier Chemnitz-Südwest", K.POLICE_STATION, "pd-chemnitz"),
    ("rev-freiberg", "Polizeirevier Freiberg", K.POLICE_STATION, "pd-chemnitz"),
    ("pd-dresden", "Polizeidirektion Dresden", K.POLICE_DIRECTORATE, "sn"),
    ("rev-dresden-nord", "Polizeirevier Dresden-Nord", K.POLICE_STATION, "pd-dresden"),
    ("rev-dresden-mitte", "Polizeirevier Dresden-Mitte", K.POLICE_STATION, "pd-dresden"),
    ("rev-meissen", "Polizeirevier Meißen", K.POLICE_STATION, "pd-dresden"),
    ("pd-goerlitz", "Polizeidirektion Görlitz", K.POLICE_DIRECTORATE, "sn"),
    ("rev-goerlitz", "Polizeirevier Görlitz", K.POLICE_STATION, "pd-goerlitz"),
    ("rev-bautzen", "Polizeirevier Bautzen", K.POLICE_STATION, "pd-goerlitz"),
    ("rev-hoyerswerda", "Polizeirevier Hoyerswerda", K.POLICE_STATION, "pd-goerlitz"),
    ("pd-leipzig", "Polizeidirektion Leipzig", K.POLICE_DIRECTORATE, "sn"),
    ("rev-leipzig-zentrum", "Polizeirevier Leipzig-Zentrum", K.POLICE_STATION, "pd-leipzig"),
    ("rev-leipzig-suedost", "Polizeirevier Leipzig-Südost", K.POLICE_STATION, "pd-leipzig"),
    ("rev-grimma", "Polizeirevier Grimma", K.POLICE_STATION, "pd-leipzig"),
    ("pd-zwickau", "Polizeidirektion Zwickau", K.POLICE_DIRECTORATE, "sn"),
    ("rev-zwickau", "Polizeirevier Zwickau", K.POLICE_STATION, "pd-zwickau"),
    ("rev-plauen", "Polizeirevier Plauen", K.POLICE_STATION, "pd-zwickau"),
    ("rev-aue", "Polizeirevier Aue", K.POLICE_STATION, "pd-zwickau"),
    ("wr-sn", "WEISSER RING Landesbüro Sachsen", K.WR_STATE_OFFICE, "sn"),
    ("wr-dresden", "WEISSER RING Außenstelle Dresden", K.WR_BRANCH, "wr-sn"),
    ("wr-meissen", "WEISSER RING Außenstelle Meißen", K.WR_BRANCH, "wr-sn"),
    ("wr-bautzen", "WEISSER RING Außenstelle Bautzen", K.WR_BRANCH, "wr-sn"),
    ("wr-goerlitz", "WEISSER RING Außenstelle Görlitz", K.WR_BRANCH, "wr-sn"),
    ("wr-leipzig", "WEISSER RING Außenstelle Leipzig", K.WR_BRANCH, "wr-sn"),
    ("wr-chemnitz", "WEISSER RING Außenstelle Chemnitz", K.WR_BRANCH, "wr-sn"),
    ("wr-zwickau", "WEISSER RING Außenstelle Zwickau", K.WR_BRANCH, "wr-sn"),
    ("wr-vogtland", "WEISSER RING Außenstelle Vogtland/Plauen", K.WR_BRANCH, "wr-sn"),
    ("zbs-sn", "Zentrale Beschwerdestelle der Polizei Sachsen", K.COMPLAINTS_OFFICE, "sn"),
]

# Postcode ranges (inclusive, five-digit strings) served by each WR branch, keyed by branch unit code.
# Sample data for routing: a postcode outside every range goes to the state office queue.
SAXON_WR_BRANCH_POSTCODES: dict[str, list[tuple[str, str]]] = {
    "wr-dresden": [("01001", "01479"), ("01705", "01833")],
    "wr-meissen": [("01558", "01694")],
    "wr-bautzen": [("01877", "01936"), ("02601", "02699")],
    "wr-goerlitz": [("02700", "02999")],
    "wr-leipzig": [("04001", "04579"), ("04720", "04895")],
    "wr-chemnitz": [("09001", "09669")],
    "wr-zwickau": [("08001", "08199"), ("08280", "08399")],
    "wr-vogtland": [("08200", "08279"), ("08400", "08648")],
}

STATE_OFFICE_CODE = "wr-sn"


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    display_name: str
    unit_code: str
    role: Role


# One user per role, plus a second officer, volunteer and branch lead elsewhere so that cross-unit
# behaviour can be tried out (and tested).
DEMO_USERS: list[DemoUser] = [
    DemoUser("officer.dresden", "Demo Streifendienst Dresden-Nord", "rev-dresden-nord", Role.POLICE_OFFICER),
    DemoUser(
        "officer.leipzig", "Demo Streifendienst Leipzig-Zentrum", "rev-leipzig-zentrum", Role.POLICE_OFFICER
    ),
    DemoUser(
        "supervisor.dresden", "Demo Revierleitung Dresden-Nord", "rev-dresden-nord", Role.POLICE_SUPERVISOR
    ),
    DemoUser("volunteer.dresden", "Demo Ehrenamt Dresden", "wr-dresden", Role.WR_VOLUNTEER),
    DemoUser("volunteer.leipzig", "Demo Ehrenamt Leipzig", "wr-leipzig", Role.WR_VOLUNTEER),
    DemoUser("branchlead.dresden", "Demo Außenstellenleitung Dresden", "wr-dresden", Role.WR_BRANCH_LEAD),
    DemoUser("branchlead.leipzig", "Demo Außenstellenleitung Leipzig", "wr-leipzig", Role.WR_BRANCH_LEAD),
    DemoUser("stateoffice.sachsen", "Demo Landesbüro Sachsen", "wr-sn", Role.WR_STATE_OFFICE),
    DemoUser("complaints.handler", "Demo Sachbearbeitung Beschwerden", "zbs-sn", Role.COMPLAINTS_HANDLER),
    DemoUser("complaints.lead", "Demo Leitung Beschwerdestelle", "zbs-sn", Role.COMPLAINTS_LEAD),
    DemoUser("auditor.sachsen", "Demo Datenschutz und Revision", "sn", Role.AUDITOR),
    DemoUser("admin.sachsen", "Demo Administration", "sn", Role.ADMIN),
]


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    role: Role
    unit_code: str
    totp_secret: str | None  # base32, for an authenticator app


def _derive(secret: bytes, purpose: str, username: str) -> bytes:
    return hmac.new(secret, f"demo:{purpose}:{username}".encode(), hashlib.sha256).digest()


def demo_password(secret: bytes, username: str) -> str:
    letters = base64.b32encode(_derive(secret, "password", username)).decode()[:16]
    return "Demo-" + "-".join(letters[i : i + 4] for i in range(0, 16, 4))


def demo_totp_secret(secret: bytes, username: str) -> bytes:
    return _derive(secret, "totp", username)[: totp.SECRET_BYTES]


def demo_logins(secret: bytes) -> list[DemoLogin]:
    return [
        DemoLogin(
            username=user.username,
            password=demo_password(secret, user.username),
            role=user.role,
            unit_code=user.unit_code,
            totp_secret=totp.to_base32(demo_totp_secret(secret, user.username))
            if requires_totp([user.role])
            else None,
        )
        for user in DEMO_USERS
    ]


@dataclass(frozen=True, slots=True)
class SeedResult:
    units_created: int
    users_created: int


async def seed_demo(session: AsyncSession, *, config: IdentityConfig, secret: bytes) -> SeedResult:
    """Create whatever part of the demo organisation is missing (audited as the system)."""
    no_audit_request: dict[str, str | None] = {"request_id": None, "client_hash": None}
    units_created = users_created = 0
    for code, name, kind, parent_code in SAXON_UNITS:
        if await repository.get_unit_by_code(session, code) is not None:
            continue
        parent = await repository.get_unit_by_code(session, parent_code) if parent_code else None
        await service.create_unit(
            session,
            None,
            code=code,
            name=name,
            kind=kind,
            parent_id=parent.id if parent else None,
            config=config,
            audit=no_audit_request,
        )
        units_created += 1
    for user in DEMO_USERS:
        if await repository.get_user_by_username(session, user.username) is not None:
            continue
        unit = await repository.get_unit_by_code(session, user.unit_code)
        assert unit is not None
        await service.create_user(
            session,
            None,
            username=user.username,
            display_name=user.display_name,
            unit_id=unit.id,
            roles=[user.role],
            password=demo_password(secret, user.username),
            config=config,
            secret=secret,
            audit=no_audit_request,
            totp_secret=demo_totp_secret(secret, user.username) if requires_totp([user.role]) else None,
        )
        users_created += 1
    return SeedResult(units_created, users_created)
