"""The baseline of the referral benchmark: a bare Litestar app that decodes the same JSON body into the
same request type and answers 201, with no database, auth, encryption or audit."""

from __future__ import annotations

import uuid

from litestar import Litestar, post
from litestar.params import JSONBody

from referral_service.referrals.schemas import ReferralCreate


@post("/api/v1/referrals")
async def create(data: JSONBody[ReferralCreate]) -> dict[str, str]:
    return {"id": str(uuid.uuid4()), "status": "submitted"}


app = Litestar([create])
