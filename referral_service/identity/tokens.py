"""Random credentials and their stored form.

Tokens carry a recognisable prefix so that secret scanners (and people) can tell what a leaked
string is; only the SHA-256 hex digest is stored. Tokens are 256-bit random, so an unsalted fast
hash is enough: nobody can guess a preimage, and lookup by digest needs no constant-time compare.
"""

from __future__ import annotations

import hashlib
import secrets

SESSION_PREFIX = "rss_"
API_TOKEN_PREFIX = "rst_"  # noqa: S105 - a prefix, not a secret
SESSION_COOKIE = "__Host-rs_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "_csrf"


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
