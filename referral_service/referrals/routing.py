"""The postcode routing table: which WEISSER RING branch serves a victim's postcode."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.identity.demo import SAXON_WR_BRANCH_POSTCODES
from referral_service.referrals import repository


async def seed_demo_routes(session: AsyncSession) -> int:
    """Replace the routing table with the Saxon demo table; returns the number of postcode ranges."""
    units = await repository.unit_ids_by_code(session, list(SAXON_WR_BRANCH_POSTCODES))
    routes = [
        (low, high, units[code])
        for code, ranges in SAXON_WR_BRANCH_POSTCODES.items()
        if code in units
        for low, high in ranges
    ]
    await repository.replace_postcode_routes(session, routes)
    return len(routes)
