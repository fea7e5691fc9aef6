"""HTTP controllers of the identity API (`/api/v1/auth`, `/api/v1/auth/oidc`, `/api/v1/org-units`,
`/api/v1/users`)."""

from __future__ import annotations

from referral_service.identity.controllers.auth import AuthController
from referral_service.identity.controllers.oidc import OidcLogoutController
from referral_service.identity.controllers.units import OrgUnitController
from referral_service.identity.controllers.users import UserController

IDENTITY_CONTROLLERS = [AuthController, OidcLogoutController, OrgUnitController, UserController]

__all__ = [
    "IDENTITY_CONTROLLERS",
    "AuthController",
    "OidcLogoutController",
    "OrgUnitController",
    "UserController",
]
