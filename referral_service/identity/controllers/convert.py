"""Table rows to response types."""

from __future__ import annotations

from referral_service.identity import schemas, totp
from referral_service.identity.config import IdentityConfig
from referral_service.identity.models import OrgUnit
from referral_service.identity.roles import UnitKind
from referral_service.identity.service import UserView


def unit_out(unit: OrgUnit) -> schemas.OrgUnit:
    return schemas.OrgUnit(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        kind=UnitKind(unit.kind),
        parent_id=unit.parent_id,
        path=unit.path,
    )


def user_out(view: UserView) -> schemas.User:
    user = view.user
    return schemas.User(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        unit_id=user.unit_id,
        active=user.active,
        roles=sorted(view.roles),
        totp_enabled=user.totp_secret is not None,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def provisioned_out(view: UserView, config: IdentityConfig) -> schemas.UserProvisioned:
    provisioning = None
    if view.new_totp_secret is not None:
        provisioning = schemas.TotpProvisioning(
            secret=totp.to_base32(view.new_totp_secret),
            uri=totp.provisioning_uri(view.new_totp_secret, view.user.username, config.totp_issuer),
        )
    return schemas.UserProvisioned(user=user_out(view), totp=provisioning)
