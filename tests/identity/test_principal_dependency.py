"""The `principal` and `credential` dependencies fail closed: a handler that asks for the caller on a
route the guard did not authenticate (a public route) is refused, never handed an anonymous caller."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from referral_service.identity.errors import NotAuthenticatedError
from referral_service.identity.http import provide_credential, provide_principal


@pytest.mark.parametrize("provide", [provide_principal, provide_credential])
@pytest.mark.parametrize("scope", [{}, {"user": "admin.sachsen", "auth": "a-token"}])
def test_no_authenticated_caller_means_refusal(provide: Any, scope: dict[str, Any]) -> None:
    with pytest.raises(NotAuthenticatedError):
        provide(SimpleNamespace(scope=scope))
