"""A real OpenID provider for the tests: panva's certified `oidc-provider` (npm, pinned in package.json)
on Debian's node, one subprocess per pytest worker (fixtures.py), no mocks.

The npm package is installed once into the user's cache, never into the repository; without node, npm
or a reachable registry the tests that need the provider skip (CI: fail) through `OIDC`. The provider
signs with keys made here (`signing_keys`, private), so forged-token tests can sign with its real key;
`restart(jwks=...)` rotates them on the same port. The login and consent pages are plain HTML forms, so
`complete_authorization` and `end_session` drive the provider side with httpx as a browser would.
"""

from __future__ import annotations

import fcntl
import html.parser
import json
import os
import selectors
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from joserfc.jwk import ECKey, RSAKey

from tests.browser.support import free_port
from tests.components import OIDC

HERE = Path(__file__).resolve().parent
# The pin in package.json names the cache directory, so a new pin installs afresh.
VERSION: str = json.loads((HERE / "package.json").read_text())["dependencies"]["oidc-provider"]
API_AUDIENCE = "https://referral.test/api"
READY_TIMEOUT = 30.0
INSTALL_TIMEOUT = 300.0
REGISTRY = "a reachable npm registry (npm config get registry)"
NPM_RETRIES = ["--fetch-retries=1", "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=5000"]
HTTP_TIMEOUT = 10.0


def cache_directory() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "referral-service"
    return cache / f"oidc-provider-{VERSION}"


def install() -> Path:
    """The directory whose node_modules holds oidc-provider; installs it on first use. Two xdist
    workers may get here at once: the lock makes the second wait for the first one's install."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        OIDC.skip_or_fail("node or npm missing")
    directory = cache_directory()
    directory.mkdir(parents=True, exist_ok=True)
    # Written last, so an interrupted install is redone instead of reused half-done.
    complete = directory / "installed"
    with open(directory / "install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if complete.exists():
            return directory
        shutil.copyfile(HERE / "package.json", directory / "package.json")
        try:
            done = subprocess.run(
                # Few, short retries: without a registry the tests skip after seconds, not minutes.
                [npm, "install", "--omit=dev", "--no-audit", "--no-fund", *NPM_RETRIES],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            OIDC.skip_or_fail(
                f"npm install of oidc-provider {VERSION} took over {INSTALL_TIMEOUT:.0f} s", REGISTRY
            )
        if done.returncode != 0:
            # The error code only: the rest names temporary log files, and the reason should read the
            # same from every worker (the closing line of the run groups skips by reason).
            lines = done.stderr.strip().splitlines() or ["no output"]
            code = next((line for line in lines if line.startswith("npm error code")), lines[-1])
            OIDC.skip_or_fail(
                f"npm install of oidc-provider {VERSION} failed (no registry?): {code}", REGISTRY
            )
        complete.write_text(VERSION)
    return directory


def generate_signing_keys() -> list[dict[str, Any]]:
    """Private JWKs: RSA 2048 (RS256, the default) first, then EC P-256 (ES256)."""
    rsa = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, private=True, auto_kid=True)
    ec = ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"}, private=True, auto_kid=True)
    return [rsa.as_dict(private=True), ec.as_dict(private=True)]


class _Forms(html.parser.HTMLParser):
    """The forms of a page: action and the named inputs' values (what a browser would submit)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1][1][values["name"]] = values.get("value", "")


def _form(page: httpx.Response) -> tuple[str, dict[str, str]]:
    parser = _Forms()
    parser.feed(page.text)
    if not parser.forms:
        raise AssertionError(f"no form on {page.url} ({page.status_code}): {page.text[:500]}")
    action, fields = parser.forms[0]
    return urljoin(str(page.url), action), fields


class OidcProvider:
    def __init__(
        self,
        workdir: Path,
        *,
        accounts: dict[str, dict[str, Any]],
        clients: list[dict[str, Any]] | None = None,
        api_audience: str = API_AUDIENCE,
    ) -> None:
        self.workdir = workdir
        # Settable until start(): a client's backchannel_logout_uri names the issuer, known from here on.
        self.clients = clients or []
        # What restart() hands the new process: the accounts as set_account left them.
        self.accounts = {account: dict(claims) for account, claims in accounts.items()}
        self.api_audience = api_audience
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.discovery_url = f"{self.issuer}/.well-known/openid-configuration"
        self.signing_keys = generate_signing_keys()
        self._process: subprocess.Popen[bytes] | None = None
        self._discovery: dict[str, Any] | None = None

    # --- the process ---

    def start(self) -> None:
        directory = install()
        # Next to node_modules, so the ESM import of oidc-provider resolves there; replaced whole, as
        # another worker's node may be reading it right now.
        script = directory / "provider.mjs"
        copy = directory / f"provider.mjs.{os.getpid()}"
        shutil.copyfile(HERE / "provider.mjs", copy)
        copy.replace(script)
        config = self.workdir / "provider.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "issuer": self.issuer,
                    "jwks": {"keys": self.signing_keys},
                    "clients": self.clients,
                    "accounts": self.accounts,
                    "api_audience": self.api_audience,
                }
            )
        )
        stderr_path = self.workdir / "provider.stderr"
        with open(stderr_path, "wb") as stderr:
            self._process = subprocess.Popen(
                [shutil.which("node") or "node", str(script), str(config)],
                cwd=directory,
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
            )
        if not self._wait_ready():
            self.stop()
            raise RuntimeError(
                f"the OpenID provider did not start within {READY_TIMEOUT:.0f} s: "
                f"{stderr_path.read_text(errors='replace')[-3000:]}"
            )
        self._discovery = None

    def _wait_ready(self) -> bool:
        assert self._process is not None
        assert self._process.stdout is not None
        wanted = f"READY {self.port}".encode()
        deadline = time.monotonic() + READY_TIMEOUT
        output = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                if not selector.select(left):
                    continue
                chunk = os.read(self._process.stdout.fileno(), 4096)
                if not chunk:  # the process ended
                    return False
                output += chunk
                if wanted in output.splitlines():
                    return True
        return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def restart(self, jwks: list[dict[str, Any]] | None = None) -> None:
        """The provider again on the same port (sessions and grants are gone): with fresh keys, or with
        the private JWKs given (`provider.signing_keys` keeps them; new ones first sign from now on)."""
        self.stop()
        self.signing_keys = generate_signing_keys() if jwks is None else jwks
        self.start()

    # --- the harness routes ---

    @contextmanager
    def _http(self, jar: httpx.Cookies | None = None) -> Iterator[httpx.Client]:
        with httpx.Client(cookies=jar, follow_redirects=False, timeout=HTTP_TIMEOUT) as client:
            yield client
            if jar is not None:
                # httpx copies the jar it is given; hand the provider's cookies back to the caller.
                for cookie in client.cookies.jar:
                    jar.jar.set_cookie(cookie)

    def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            with self._http() as client:
                answer = client.get(self.discovery_url)
                answer.raise_for_status()
                self._discovery = answer.json()
        return self._discovery

    def set_account(self, account_id: str, claims: dict[str, Any]) -> None:
        """Replace an account's claims; the next sign-in (or refresh) carries the new ones."""
        with self._http() as client:
            client.post(f"{self.issuer}/_test/accounts/{account_id}", json=claims).raise_for_status()
        self.accounts[account_id] = dict(claims)

    def backchannel_tokens(self) -> list[str]:
        """The logout tokens delivered to `<issuer>/_test/backchannel/<client>` since the last call."""
        with self._http() as client:
            answer = client.get(f"{self.issuer}/_test/backchannel")
            answer.raise_for_status()
            tokens: list[str] = answer.json()
            return tokens

    # --- a user at the provider ---

    def complete_authorization(
        self,
        authorization_url: str,
        account: str,
        acr: str | None = None,
        amr: list[str] | None = None,
        jar: httpx.Cookies | None = None,
    ) -> str:
        """Sign in as `account` (consent is given by itself) and return the first URL off the provider:
        the relying party's redirect_uri with code and state, or with an error. Pass a `jar` to keep
        the provider session (for a later `end_session`); while it holds one, the provider signs that
        session's account in again without asking, as a real one does (single sign-on)."""
        url = authorization_url
        with self._http(jar) as client:
            for _ in range(20):
                if not url.startswith(self.issuer + "/"):
                    return url
                page = client.get(url)
                if page.status_code == 200:
                    action, fields = _form(page)
                    fields.update(account=account, acr=acr or "", amr=",".join(amr or []))
                    page = client.post(action, data=fields)
                if not page.is_redirect:
                    raise AssertionError(
                        f"the provider answered {page.status_code} at {page.url}: {page.text[:500]}"
                    )
                url = urljoin(str(page.url), page.headers["location"])
        raise AssertionError(f"the provider kept redirecting; last at {url}")

    def end_session(self, url: str, jar: httpx.Cookies) -> str:
        """Follow an RP-initiated logout URL, confirm the logout ("Yes, sign me out": the form's xsrf
        plus logout=yes) and return the redirect target (post_logout_redirect_uri with state)."""
        with self._http(jar) as client:
            page = client.get(url)
            if page.status_code != 200:
                raise AssertionError(f"the provider answered {page.status_code} at {url}: {page.text[:500]}")
            action, fields = _form(page)
            fields["logout"] = "yes"
            done = client.post(action, data=fields)
            if not done.is_redirect:
                raise AssertionError(
                    f"the provider answered {done.status_code} at {action}: {done.text[:500]}"
                )
            return urljoin(action, done.headers["location"])

    # --- a technical client ---

    def client_credentials_token(self, client_id: str, client_secret: str, scope: str = "api") -> str:
        with self._http() as client:
            answer = client.post(
                self.discovery()["token_endpoint"],
                data={"grant_type": "client_credentials", "scope": scope},
                auth=(client_id, client_secret),
            )
            if answer.status_code != 200:
                raise AssertionError(
                    f"client credentials refused ({answer.status_code}): {answer.text[:500]}"
                )
            token: str = answer.json()["access_token"]
            return token
