"""`referral-service users ...` and `referral-service demo`.

Passwords are read from a hidden prompt or, for scripts, from the first line of stdin
(`--password-stdin`); never from an argument, which would land in shell history and `ps`.
Changes made here are audited with the SYSTEM actor, like any other change.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.cli_support import load_cli_settings as _settings
from referral_service.db import create_engine, create_session_factory
from referral_service.identity import repository, service, totp
from referral_service.identity.config import IdentityConfig
from referral_service.identity.demo import demo_logins, seed_demo
from referral_service.identity.oidc import provisioning
from referral_service.identity.oidc.config import OidcProvider, load_oidc_config
from referral_service.identity.roles import Role
from referral_service.identity.service import UserView
from referral_service.problems import DomainError
from referral_service.settings import Settings

T = TypeVar("T")

_NO_REQUEST: dict[str, str | None] = {"request_id": None, "client_hash": None}
_ROLE_CHOICE = click.Choice([role.value for role in Role])


def run_in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction; domain errors become a clear message."""

    async def main() -> T:
        engine = create_engine(settings)
        try:
            async with create_session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None


def _read_password(from_stdin: bool, prompt: str = "Password") -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return password


def _describe(view: UserView) -> str:
    state = "active" if view.user.active else "disabled"
    roles = ",".join(sorted(view.roles))
    return f"{view.user.username}\t{state}\t{roles}\t{view.user.id}"


def _print_totp(view: UserView, config: IdentityConfig) -> None:
    if view.new_totp_secret is not None:
        click.echo(f"TOTP secret (shown once): {totp.to_base32(view.new_totp_secret)}")
        click.echo(totp.provisioning_uri(view.new_totp_secret, view.user.username, config.totp_issuer))


@click.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.argument("username")
@click.option("--display-name", required=True, help="Name shown to colleagues (keep it minimal).")
@click.option("--unit", "unit_code", required=True, help="Code of the user's organisation unit.")
@click.option("--role", "roles", multiple=True, required=True, type=_ROLE_CHOICE, help="Role (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def create_user(
    username: str, display_name: str, unit_code: str, roles: tuple[str, ...], password_stdin: bool
) -> None:
    """Create a user. Prints a TOTP secret when a role requires a second factor."""
    settings, config = _settings(), IdentityConfig()
    password = _read_password(password_stdin)

    async def work(session: AsyncSession) -> UserView:
        unit = await repository.get_unit_by_code(session, unit_code)
        if unit is None:
            raise click.ClickException("no unit with that code")
        return await service.create_user(
            session,
            None,
            username=username,
            display_name=display_name,
            unit_id=unit.id,
            roles=[Role(role) for role in roles],
            password=password,
            config=config,
            secret=settings.secret_key,
            audit=_NO_REQUEST,
        )

    view = run_in_transaction(settings, work)
    click.echo(f"created {_describe(view)}")
    _print_totp(view, config)


@users.command("list")
@click.option("--unit", "unit_code", help="Only users of this unit.")
def list_users(unit_code: str | None) -> None:
    """List users: username, state, roles, id."""
    settings = _settings()

    async def work(session: AsyncSession) -> list[UserView]:
        unit_id = None
        if unit_code:
            unit = await repository.get_unit_by_code(session, unit_code)
            if unit is None:
                raise click.ClickException("no unit with that code")
            unit_id = unit.id
        return await service.list_users(session, None, unit_id=unit_id, limit=100_000)

    for view in run_in_transaction(settings, work):
        click.echo(_describe(view))


def _set_active(username: str, active: bool) -> None:
    settings, config = _settings(), IdentityConfig()

    async def work(session: AsyncSession) -> UserView:
        view = await service.get_user_by_username(session, username)
        return await service.set_active(session, None, view.user.id, active, config=config, audit=_NO_REQUEST)

    click.echo(_describe(run_in_transaction(settings, work)))


@users.command("disable")
@click.argument("username")
def disable_user(username: str) -> None:
    """Disable a user and end all their sessions and tokens."""
    _set_active(username, False)


@users.command("enable")
@click.argument("username")
def enable_user(username: str) -> None:
    """Enable a disabled user."""
    _set_active(username, True)


@users.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--reset-totp", is_flag=True, help="Also replace the second factor (prints the new secret).")
def reset_password(username: str, password_stdin: bool, reset_totp: bool) -> None:
    """Set a new password; the user is signed out everywhere."""
    settings, config = _settings(), IdentityConfig()
    password = _read_password(password_stdin, "New password")

    async def work(session: AsyncSession) -> UserView:
        view = await service.get_user_by_username(session, username)
        return await service.reset_password(
            session,
            None,
            view.user.id,
            password,
            reset_totp=reset_totp,
            config=config,
            secret=settings.secret_key,
            audit=_NO_REQUEST,
        )

    view = run_in_transaction(settings, work)
    click.echo(f"password reset for {view.user.username}")
    _print_totp(view, config)


@users.command("grant")
@click.argument("username")
@click.argument("role", type=_ROLE_CHOICE)
def grant_role(username: str, role: str) -> None:
    """Grant a role."""
    settings, config = _settings(), IdentityConfig()

    async def work(session: AsyncSession) -> UserView:
        view = await service.get_user_by_username(session, username)
        return await service.grant_role(
            session,
            None,
            view.user.id,
            Role(role),
            config=config,
            secret=settings.secret_key,
            audit=_NO_REQUEST,
        )

    view = run_in_transaction(settings, work)
    click.echo(_describe(view))
    _print_totp(view, config)


@users.command("revoke")
@click.argument("username")
@click.argument("role", type=_ROLE_CHOICE)
def revoke_role(username: str, role: str) -> None:
    """Revoke a role."""
    settings = _settings()

    async def work(session: AsyncSession) -> UserView:
        view = await service.get_user_by_username(session, username)
        return await service.revoke_role(session, None, view.user.id, Role(role), audit=_NO_REQUEST)

    click.echo(_describe(run_in_transaction(settings, work)))


@users.command("totp-code")
@click.argument("username")
def totp_code(username: str) -> None:
    """Development only: print a user's current TOTP code, to sign in by hand."""
    settings, config = _settings(), IdentityConfig()
    if settings.is_production:
        raise click.ClickException("totp-code is refused in production")

    async def work(session: AsyncSession) -> str:
        view = await service.get_user_by_username(session, username)
        if view.user.totp_secret is None:
            raise click.ClickException("this user has no second factor")
        key = totp.decrypt_secret(
            view.user.totp_secret, user_id=view.user.id, service_secret=settings.secret_key
        )
        return totp.current_code(key, config.now())

    click.echo(run_in_transaction(settings, work))


def _oidc_provider(settings: Settings, key: str) -> OidcProvider:
    provider = load_oidc_config(settings.environ).provider(key)
    if provider is None:
        raise click.ClickException("no OpenID provider with that key is configured")
    return provider


@users.command("bind-oidc")
@click.argument("username")
@click.argument("provider_key", metavar="PROVIDER")
@click.argument("subject")
def bind_oidc(username: str, provider_key: str, subject: str) -> None:
    """Let a user sign in through an OpenID provider: bind them to the provider's subject (`sub`).

    Only a keyed hash of the subject is stored."""
    settings, config = _settings(), IdentityConfig()
    provider = _oidc_provider(settings, provider_key)

    async def work(session: AsyncSession) -> UserView:
        user = await provisioning.bind_username(
            session, username, provider, subject, config=config, secret=settings.secret_key, audit=_NO_REQUEST
        )
        return await service.get_user_by_username(session, user.username)

    click.echo(f"bound {_describe(run_in_transaction(settings, work))}")


@users.command("unbind-oidc")
@click.argument("username")
@click.argument("provider_key", metavar="PROVIDER")
def unbind_oidc(username: str, provider_key: str) -> None:
    """Remove a user's binding to an OpenID provider and end the sessions it signed in."""
    settings, config = _settings(), IdentityConfig()
    provider = _oidc_provider(settings, provider_key)

    async def work(session: AsyncSession) -> UserView:
        user = await provisioning.unbind_username(
            session, username, provider.key, config=config, audit=_NO_REQUEST
        )
        return await service.get_user_by_username(session, user.username)

    click.echo(f"unbound {_describe(run_in_transaction(settings, work))}")


def seed_and_describe(settings: Settings, *, only_if_empty: bool) -> str:
    """Seed the demo organisation (optionally only into an empty directory) and describe the logins."""
    config = IdentityConfig()

    async def work(session: AsyncSession) -> set[str]:
        if not only_if_empty or await repository.count_users(session) == 0:
            await seed_demo(session, config=config, secret=settings.secret_key)
        present = set()
        for login in demo_logins(settings.secret_key):
            if await repository.get_user_by_username(session, login.username) is not None:
                present.add(login.username)
        return present

    present = run_in_transaction(settings, work)
    lines = ["Demo logins (development only; as seeded):"]
    for login in demo_logins(settings.secret_key):
        if login.username not in present:
            continue
        line = f"  {login.username:<22} {login.password}  {login.role.value:<20} {login.unit_code}"
        if login.totp_secret:
            line += f"  TOTP {login.totp_secret}"
        lines.append(line)
    if len(lines) == 1:
        return "No demo users in this database (run `referral-service demo`)."
    lines.append(
        "  TOTP: add the secret to an authenticator app, or `referral-service users totp-code USERNAME`."
    )
    return "\n".join(lines)


@click.command()
def demo() -> None:
    """Create the Saxon sample organisation and one user per role (idempotent; not in production)."""
    settings = _settings()
    if settings.is_production:
        raise click.ClickException("demo data is refused in production")
    click.echo(seed_and_describe(settings, only_if_empty=False))
