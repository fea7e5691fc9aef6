"""Shared fixtures. `database_url` runs a test once on SQLite and once on PostgreSQL.

PostgreSQL comes from REFERRAL_TEST_POSTGRES_URL (default: the local `test` database). When it is
unreachable its tests skip, unless REFERRAL_TEST_REQUIRE_POSTGRES=1 (set by CI), which makes them fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Future
from pathlib import Path
from threading import Thread
from typing import Any, TypeVar, cast

import pytest
from anyio.from_thread import BlockingPortal
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.testing.client.base import BaseTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from referral_service.app import create_app
from referral_service.db import create_database_engine, utcnow
from referral_service.settings import Settings, load_settings
from tests.components import POSTGRES, closing_line
from tests.databases import PostgresDatabases, SqliteDatabases, Template, postgres_admin_dsn

ENGINES = ["sqlite", "postgresql"]
T = TypeVar("T")


OPERATIONS = "operations"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The operations tests (container image, several instances, PostgreSQL failover; tests/operations)
    take minutes and Debian packages of their own, so the suite leaves them out unless a marker
    expression asks for them (`python3 dev.py test -m operations`, as CI does); the closing summary
    says so (docs/adr/0007-operations-tests.md)."""
    if config.option.markexpr:
        return
    left_out = [item for item in items if _is_operations(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not _is_operations(item)]


def _is_operations(item: pytest.Item) -> bool:
    # The folder marks them too, so a file there that forgets `pytestmark` still stays out.
    return item.get_closest_marker(OPERATIONS) is not None or "tests/operations/" in item.nodeid


BROWSER_TESTS = "tests/browser/"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup` (dev.py's default) with the browser tests as one group: they run on one worker,
    which starts the one live server and Chromium they share, while the other workers take the rest test
    by test. The group is the largest unit, so it is dealt out first, not left for the end.

    Grouped by folder here, in the controller, rather than by an `xdist_group` mark: with pytest 9 a node
    id is built from its parts, so pytest-xdist 3.8's renaming of marked items (their group appended to
    the id, which its scheduler reads) no longer takes, and the browser tests were spread over every
    worker, each starting a server of its own and a Chromium per module."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class BrowserGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return BROWSER_TESTS if nodeid.startswith(BROWSER_TESTS) else super()._split_scope(nodeid)

    return BrowserGroupScheduling(config, log)


def _operations_left_out(config: pytest.Config) -> bool:
    """Whether this run asked for the whole suite (or the operations folder) without `-m`: then the
    operations tests were left out. Decided from the arguments, because with xdist the workers, not
    this process, collect."""
    if config.option.markexpr:
        return False
    asked = [Path(arg.split("::")[0]).resolve() for arg in config.args] or [Path.cwd()]
    operations = (Path(__file__).parent / "operations").resolve()
    return any(operations == path or operations.is_relative_to(path) for path in asked)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> Iterator[None]:
    """After pytest's own summary (so it is the last line but one): the components whose tests were
    skipped (tests/components.py) and the operations tests left out of this run."""
    yield
    line = closing_line(terminalreporter.stats.get("skipped", []))
    if line is not None:
        terminalreporter.write_line(line, yellow=True, bold=True)
    if _operations_left_out(config):
        terminalreporter.write_line(
            "NOT RUN HERE: operations tests (tests/operations) - container image, several instances, "
            "failover, deployment manifests: python3 dev.py test -m operations",
            yellow=True,
            bold=True,
        )


def _daemon_portal() -> BlockingPortal:
    """A portal on an event loop in a daemon thread that nothing ever stops (not even interpreter
    shutdown, where anyio's context manager, finalised, would wait for the dead thread forever)."""
    started: Future[BlockingPortal] = Future()

    async def serve() -> None:
        async with BlockingPortal() as portal:
            started.set_result(portal)
            await portal.sleep_until_stopped()

    Thread(target=asyncio.run, args=(serve(),), daemon=True, name="test-application-portal").start()
    return started.result()


@pytest.fixture(scope="session", autouse=True)
def one_application_thread() -> Iterator[None]:
    """Every test client runs its application on one event loop in one thread for the whole test
    process, instead of starting (and ending) a thread of its own per client.

    Why: greenlet frees the state of a thread that has ended later, in the main thread; under
    coverage's greenlet tracking that cleanup can enter a weak-reference callback (the ended thread's
    `Thread` object leaving `concurrent.futures`' registry) that spins forever. With a thread per
    client, a CI run with coverage hung in most runs; with one thread per process that ends only with
    the process, no thread of ours ends during the run (docs/development.md)."""
    # Entered and never left: the portal's thread is a daemon and ends with the process. Ending it at
    # the end of the session is a thread end like any other, and one such end hung a CI run in its last
    # teardown.
    portal = _daemon_portal()
    original = BaseTestClient.portal
    BaseTestClient.portal = lambda self: contextlib.nullcontext(portal)  # type: ignore[method-assign,assignment,return-value]
    try:
        yield
    finally:
        BaseTestClient.portal = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def sqlite_databases(tmp_path_factory: pytest.TempPathFactory) -> SqliteDatabases:
    return SqliteDatabases(tmp_path_factory.mktemp("sqlite"))


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(postgres_admin_dsn())
    databases.unavailable_reason = databases.check_available()
    yield databases
    if databases.unavailable_reason is None:
        databases.drop_all()


def _postgres_or_skip(databases: PostgresDatabases) -> None:
    if databases.unavailable_reason is not None:
        POSTGRES.skip_or_fail(databases.unavailable_reason)


def _fresh_database(
    request: pytest.FixtureRequest,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
    template: Template,
) -> Iterator[str]:
    # One address per engine and template, laid anew for every test: each test still has a database of
    # its own, and the settings (so the application) of one test fit the next (see `app`).
    name = f"test_{template}"
    if request.param == "sqlite":
        yield sqlite_databases.fresh(template, name=name)
        return
    _postgres_or_skip(postgres_databases)
    url = postgres_databases.fresh(template, name=name)
    yield url
    if not postgres_databases.keeps(url):
        postgres_databases.drop(url)


@pytest.fixture(params=ENGINES)
def database_url(
    request: pytest.FixtureRequest, sqlite_databases: SqliteDatabases, postgres_databases: PostgresDatabases
) -> Iterator[str]:
    """URL of a fresh database at the migration head, private to this test. A test that asks for
    `demo_directory` (or `routed`) gets the demo organisation (and routing table) already in it,
    copied from a template instead of seeded per test."""
    if "routed" in request.fixturenames:
        template = Template.ROUTED
    elif "demo_directory" in request.fixturenames:
        template = Template.DEMO
    else:
        template = Template.MIGRATED
    yield from _fresh_database(request, sqlite_databases, postgres_databases, template)


@pytest.fixture(params=ENGINES)
def empty_database_url(
    request: pytest.FixtureRequest, sqlite_databases: SqliteDatabases, postgres_databases: PostgresDatabases
) -> Iterator[str]:
    """URL of a fresh, empty database (no migrations applied), private to this test."""
    yield from _fresh_database(request, sqlite_databases, postgres_databases, Template.EMPTY)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_database_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The development keyring and audit keys, once per worker (tests that look at them make their own)."""
    return tmp_path_factory.mktemp("shared") / "var"


@pytest.fixture
def settings(database_url: str, var_dir: Path) -> Settings:
    """Without background jobs: tests run the jobs' work themselves (sequencing, checkpoints,
    escalation, retention) when they need it; a job loop racing them at start-up makes results a
    matter of timing. The jobs themselves are tested with settings of their own (tests/test_jobs.py,
    tests/audit/test_log.py)."""
    return load_settings(
        {
            "REFERRAL_DATABASE_URL": database_url,
            "REFERRAL_VAR_DIR": str(var_dir),
            "REFERRAL_BACKGROUND_JOBS": "false",
        }
    )


class Applications:
    """Applications built by `create_app`, kept for the next test with the same settings.

    Building one costs a fifth of a second (Litestar prepares some 280 routes), more than most tests
    themselves; the settings of consecutive tests are equal (see `_fresh_database`), so a test gets the
    application the previous one used, as `create_app` built it: its state as built, its in-memory
    stores (rate limits) emptied, its connection pool closed (the database under it is new).
    """

    def __init__(self) -> None:
        self._built: dict[tuple[object, ...], tuple[Litestar, dict[str, object], tuple[object, ...]]] = {}

    def get(
        self,
        settings: Settings,
        identity_config: IdentityConfig | None = None,
        domain_overrides: Mapping[str, object] | None = None,
        extra_handlers: tuple[Any, ...] = (),
        oidc_config: OidcConfig | None = None,  # noqa: F811 - not the fixture of that name
    ) -> Litestar:
        """`identity_config`, `oidc_config` and the overrides must be kept objects (`kept`): they are told
        apart by identity, and the entry holds them so that no other object can take their id.
        `extra_handlers` (module-level route handlers a test adds) make an application of their own."""
        overrides = dict(sorted((domain_overrides or {}).items()))
        held = (identity_config, oidc_config, *overrides.values())
        key = (
            settings,
            *((name, id(value)) for name, value in overrides.items()),
            id(identity_config),
            id(oidc_config),
            extra_handlers,
        )
        if key not in self._built:
            app = create_app(
                settings, identity_config=identity_config, oidc_config=oidc_config, domain_overrides=overrides
            )
            for handler in extra_handlers:
                app.register(handler)
            self._built[key] = (app, dict(app.state), held)
        app, state, _ = self._built[key]
        app.state.clear()
        app.state.update(state)
        return app

    async def release(self, app: Litestar) -> None:
        await app.state.engine.dispose()
        for name in list(app.stores._stores):  # Litestar lists no stores
            await app.stores.get(name).delete_all()


@pytest.fixture(scope="session")
def applications() -> Applications:
    return Applications()


class Kept:
    """Objects made once per worker and handed to every test that asks: the clocks tests move and the
    configurations that read them, so that the applications built on them can be kept (`Applications`);
    what every copy of a template database holds alike (`demo_directory`)."""

    def __init__(self) -> None:
        self._objects: dict[object, Any] = {}

    def get(self, key: object, build: Callable[[], T]) -> T:
        if key not in self._objects:
            self._objects[key] = build()
        return cast(T, self._objects[key])

    async def get_async(self, key: object, build: Callable[[], Awaitable[T]]) -> T:
        if key not in self._objects:
            self._objects[key] = await build()
        return cast(T, self._objects[key])

    def both_domains(self, name: str, clock: FakeClock) -> dict[str, object]:
        """Both domains' settings on `clock`, kept under `name`: the overrides for `Applications.get`."""
        from referral_service.referrals.policy import ReferralPolicy
        from tests.complaints.support import complaints_test_config

        return {
            "referrals": self.get((name, "referrals"), lambda: ReferralPolicy(clock=clock.now)),
            "complaints": self.get((name, "complaints"), lambda: complaints_test_config(clock)),
        }

    def clock(self, name: str, start: dt.datetime | None = None) -> FakeClock:
        """The clock `name`, set to `start` (default: now) for the test that asks."""
        from tests.identity.support import FakeClock

        clock = self.get(("clock", name), FakeClock)
        clock.current = start or utcnow()
        return clock


@pytest.fixture(scope="session")
def kept() -> Kept:
    return Kept()


@pytest.fixture
async def app(settings: Settings, applications: Applications) -> AsyncIterator[Litestar]:
    built = applications.get(settings)
    yield built
    await applications.release(built)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as client:
        yield client


# Identity and access. Signed-in callers for any test:
#   async def test_x(client, auth_headers):
#       response = await client.get("/api/v1/...", headers=await auth_headers(Role.POLICE_OFFICER))
# `auth_headers` seeds the Saxon demo organisation (`demo_directory`: one user per role, plus a second
# officer, volunteer and branch lead in Leipzig) and mints a bearer token straight into the database.
# Authentication tests use `https_client` (a Secure cookie needs https) on `identity_app`, whose
# clock (`identity_clock`) the test moves by hand.

from typing import TYPE_CHECKING  # noqa: E402 - appended section, see above

# The OpenID provider (a node process per worker, tests/oidc) and the service's configuration for it,
# for every test that asks: registered here once, so that no worker starts two.
from tests.oidc.fixtures import oidc_provider  # noqa: E402, F401
from tests.oidc.relying_party import oidc_config  # noqa: E402, F401

if TYPE_CHECKING:
    from referral_service.identity.config import IdentityConfig
    from referral_service.identity.oidc.config import OidcConfig
    from referral_service.identity.roles import Role
    from tests.identity.support import AuthHeaders, DemoDirectory, FakeClock


@pytest.fixture
def identity_clock(kept: Kept) -> FakeClock:
    """Now, at the start of each test (one clock object for all of them: see `Kept`)."""
    return kept.clock("identity")


@pytest.fixture
def identity_config(identity_clock: FakeClock, kept: Kept) -> IdentityConfig:
    """Production policy, but with `identity_clock` and the cheapest Argon2 cost."""
    from tests.identity.support import test_identity_config

    return kept.get("identity_config", lambda: test_identity_config(identity_clock))


@pytest.fixture
async def identity_app(
    settings: Settings, identity_config: IdentityConfig, applications: Applications
) -> AsyncIterator[Litestar]:
    built = applications.get(settings, identity_config)
    yield built
    await applications.release(built)


@pytest.fixture
async def https_client(identity_app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=identity_app, base_url="https://testserver.local") as client:
        yield client


@pytest.fixture
async def demo_directory(engine: AsyncEngine, settings: Settings, kept: Kept) -> DemoDirectory:
    """The seeded demo organisation: `.account(Role.X | "username")` (password, TOTP), `.unit(code)`.
    Already in the database (see `database_url`); this only looks it up."""
    from referral_service.settings import DEVELOPMENT_SECRET_KEY
    from tests.identity.support import find_demo_directory

    # The template was seeded with the development secret: demo passwords and TOTP secrets derive from it.
    assert settings.secret_key == DEVELOPMENT_SECRET_KEY, "demo_directory needs the development secret"
    # Every test's database is a copy of one template per engine, ids and all: looked up once (some 15
    # queries, more than many tests' own work).
    return await kept.get_async(
        ("demo_directory", engine.dialect.name), lambda: find_demo_directory(engine, settings.secret_key)
    )


@pytest.fixture
def routed(demo_directory: DemoDirectory) -> DemoDirectory:
    """The demo organisation with its postcode routing table (both already in the database)."""
    return demo_directory


@pytest.fixture
def auth_headers(
    engine: AsyncEngine, demo_directory: DemoDirectory, identity_config: IdentityConfig
) -> AuthHeaders:
    """`await auth_headers(Role.X)` or `await auth_headers("officer.leipzig")`: bearer headers for that
    demo user (a fresh token each call; valid on `app`, `identity_app` and their clients)."""
    from tests.identity.support import mint_token

    async def headers_for(who: Role | str) -> dict[str, str]:
        token = await mint_token(engine, demo_directory.account(who).user_id, identity_config)
        return {"Authorization": f"Bearer {token}"}

    return headers_for
