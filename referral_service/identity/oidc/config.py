"""Which OpenID providers may sign people in, and how their claims become units and roles.

Read once at start from the TOML file named by REFERRAL_OIDC_PROVIDERS_FILE (docs/identity.md shows
one). A bad file refuses the start with `SettingsError`, which names the file and the field, never a
value: the file holds client secrets by reference (`client_secret_file`) and never inline.

Each provider is bound to a part of the organisation tree (`root_unit`): whatever its claims say, it
can only sign people into that unit and the units below it, so the WEISSER RING's provider can never
make anyone a police officer.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from referral_service.identity.roles import Role
from referral_service.settings import ENV_PREFIX, SettingsError, is_production, variable

PROVIDERS_FILE_VARIABLE = "OIDC_PROVIDERS_FILE"
PROVIDER_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
UNIT_CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")

# Signatures by the provider's private key only. HMAC algorithms would make the client secret a signing
# key (anyone holding it could mint ID tokens), and "none" is no signature at all.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "PS256", "ES256")
MAX_CLOCK_SKEW_SECONDS = 300


class Provisioning(StrEnum):
    # A first sign-in creates the user (in the unit and with the roles the claims give).
    JIT = "jit"
    # Only users an administrator bound to the provider's subject beforehand may sign in.
    BIND = "bind"


@dataclass(frozen=True, slots=True)
class ApiClients:
    """Other systems that call the API with the provider's client-credentials access tokens."""

    audience: str  # the `aud` the provider puts into access tokens meant for this service
    # client_id -> username of the technical account whose unit and (narrow) roles the client acts with
    clients: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class OidcProvider:
    key: str  # in the sign-in URL: /anmelden/mit/<key>
    label: str  # on the button: "Anmelden mit <label>"
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    root_unit: str
    roles: Mapping[str, Role]  # value of `role_claim` -> role
    units: Mapping[str, str] = field(default_factory=dict)  # value of `unit_claim` -> unit code
    unit_claim: str = "unit"
    role_claim: str = "groups"
    username_claim: str = "preferred_username"
    display_name_claim: str = "name"
    scopes: tuple[str, ...] = ("openid", "profile")
    signing_algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    clock_skew: dt.timedelta = dt.timedelta(seconds=60)
    provisioning: Provisioning = Provisioning.BIND
    # The provider's proof of a second factor: an `acr` value, or one of these `amr` values.
    mfa_acr_values: frozenset[str] = frozenset()
    mfa_amr_values: frozenset[str] = frozenset()
    api: ApiClients | None = None

    def unit_code(self, claim_value: str) -> str | None:
        """The unit code a unit claim names: through `units` when it is configured, else the value."""
        if self.units:
            return self.units.get(claim_value)
        return claim_value if UNIT_CODE_PATTERN.match(claim_value) else None

    def proves_second_factor(self, claims: Mapping[str, Any]) -> bool:
        acr = claims.get("acr")
        amr = claims.get("amr")
        if isinstance(acr, str) and acr in self.mfa_acr_values:
            return True
        return isinstance(amr, list) and any(isinstance(v, str) and v in self.mfa_amr_values for v in amr)


@dataclass(frozen=True, slots=True)
class OidcConfig:
    providers: tuple[OidcProvider, ...] = ()
    # Where the browser reaches this service (redirect URIs are built from it); None: from the request.
    public_url: str | None = None

    def provider(self, key: str) -> OidcProvider | None:
        return next((p for p in self.providers if p.key == key), None)

    def api_provider(self, issuer: str) -> OidcProvider | None:
        """The provider whose client-credentials tokens carry this issuer, if it has API clients."""
        return next((p for p in self.providers if p.issuer == issuer and p.api is not None), None)


NO_PROVIDERS = OidcConfig()


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, production: bool, what: str) -> str:
    """https, or plain http to this machine outside production (development, the tests' provider)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.netloc:
        return url
    if parts.scheme == "http" and not production and _is_loopback(parts.hostname):
        return url
    raise SettingsError(f"{what} must be an https URL" + ("" if production else " (or http to localhost)"))


class _Reader:
    """Field access on one provider table; errors name the file, the provider and the field."""

    def __init__(self, source: str, index: int, table: Mapping[str, Any]) -> None:
        self.table = table
        self.where = f"{source}: provider {index + 1}"

    def fail(self, name: str, problem: str) -> SettingsError:
        return SettingsError(f"{self.where}: {name} {problem}")

    def text(self, name: str, default: str | None = None) -> str:
        value = self.table.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "must be a non-empty string")
        return value.strip()

    def texts(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.table.get(name, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(name, "must be a list of strings")
        return tuple(value)

    def mapping(self, name: str) -> Mapping[str, str]:
        value = self.table.get(name, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
            raise self.fail(name, "must be a table of strings")
        return value


def _provider(source: str, index: int, table: Mapping[str, Any], *, production: bool) -> OidcProvider:
    read = _Reader(source, index, table)
    key = read.text("key")
    if not PROVIDER_KEY_PATTERN.match(key):
        raise read.fail("key", "must be 2-32 lowercase letters, digits or hyphens")
    issuer = check_url(read.text("issuer"), production=production, what=f"{read.where}: issuer")
    secret_file = Path(read.text("client_secret_file"))
    try:
        # A trailing newline is what an editor or `echo` leaves; it is never part of a secret.
        secret = secret_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise read.fail("client_secret_file", "cannot be read") from error
    if len(secret) < 16:
        raise read.fail("client_secret_file", "must hold a secret of at least 16 characters")
    root_unit = read.text("root_unit")
    if not UNIT_CODE_PATTERN.match(root_unit):
        raise read.fail("root_unit", "must be a unit code")
    try:
        roles = {claim: Role(role) for claim, role in read.mapping("roles").items()}
    except ValueError as error:
        raise read.fail("roles", "names a role that does not exist") from error
    if not roles:
        raise read.fail("roles", "must map at least one claim value to a role")
    units = read.mapping("units")
    if not all(UNIT_CODE_PATTERN.match(code) for code in units.values()):
        raise read.fail("units", "must map claim values to unit codes")
    algorithms = read.texts("signing_algorithms", DEFAULT_ALGORITHMS)
    if not algorithms or not set(algorithms) <= ASYMMETRIC_ALGORITHMS:
        raise read.fail("signing_algorithms", "must name asymmetric algorithms only (no HS*, no none)")
    skew = table.get("clock_skew_seconds", 60)
    if not isinstance(skew, int) or isinstance(skew, bool) or not 0 <= skew <= MAX_CLOCK_SKEW_SECONDS:
        raise read.fail("clock_skew_seconds", f"must be a whole number from 0 to {MAX_CLOCK_SKEW_SECONDS}")
    try:
        provisioning = Provisioning(table.get("provisioning", Provisioning.BIND.value))
    except ValueError as error:
        raise read.fail("provisioning", "must be 'jit' or 'bind'") from error
    scopes = read.texts("scopes", ("openid", "profile"))
    if "openid" not in scopes:
        raise read.fail("scopes", "must include openid")
    api = None
    if "api" in table:
        api_table = table["api"]
        if not isinstance(api_table, dict):
            raise read.fail("api", "must be a table")
        api_read = _Reader(source, index, api_table)
        clients = api_read.mapping("clients")
        if not clients:
            raise read.fail("api.clients", "must name at least one client")
        api = ApiClients(audience=api_read.text("audience"), clients=MappingProxyType(dict(clients)))
    return OidcProvider(
        key=key,
        label=read.text("label"),
        issuer=issuer,
        client_id=read.text("client_id"),
        client_secret=secret,
        root_unit=root_unit,
        roles=MappingProxyType(roles),
        units=MappingProxyType(dict(units)),
        unit_claim=read.text("unit_claim", "unit"),
        role_claim=read.text("role_claim", "groups"),
        username_claim=read.text("username_claim", "preferred_username"),
        display_name_claim=read.text("display_name_claim", "name"),
        scopes=scopes,
        signing_algorithms=algorithms,
        clock_skew=dt.timedelta(seconds=skew),
        provisioning=provisioning,
        mfa_acr_values=frozenset(read.texts("mfa_acr_values")),
        mfa_amr_values=frozenset(read.texts("mfa_amr_values")),
        api=api,
    )


def load_oidc_config(environ: Mapping[str, str]) -> OidcConfig:
    """The providers of REFERRAL_OIDC_PROVIDERS_FILE; none when it is unset (local accounts only)."""
    production = is_production(environ)
    public = variable(environ, "PUBLIC_URL")
    public_url = None
    if public is not None:
        public_url = check_url(public, production=production, what=f"{ENV_PREFIX}PUBLIC_URL").rstrip("/")
    path = variable(environ, PROVIDERS_FILE_VARIABLE)
    if path is None:
        return OidcConfig(public_url=public_url)
    source = f"{ENV_PREFIX}{PROVIDERS_FILE_VARIABLE}"
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise SettingsError(f"{source} cannot be read") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"{source} is not valid TOML") from error
    tables = document.get("provider", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SettingsError(f"{source}: providers must be [[provider]] tables")
    providers = tuple(_provider(source, i, t, production=production) for i, t in enumerate(tables))
    keys = [p.key for p in providers]
    if len(set(keys)) != len(keys):
        raise SettingsError(f"{source}: two providers have the same key")
    return OidcConfig(providers=providers, public_url=public_url)
