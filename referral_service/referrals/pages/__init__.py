"""Web pages of the referral domain: the police station's referrals and the WEISSER RING's cases.

HTTP and presentation only, like `controllers.py`: every read and change goes through `service`, which
applies the caller's scope and content rules and audits the reads of personal data, so a page never
shows more than the API would show the same person. Forms post back here; on success the browser is
sent on (Post/Redirect/Get) with a confirmation code, on failure the page comes back with the messages
next to the fields. A failed use case rolls the request's transaction back before the page is drawn.

- `police.py`: the station's list, a new referral with the consent step, a referral's page, corrections
- `weisser_ring.py`: the branch inbox, the state office's queue, the case page and its steps
- `report.py`: the cooperation-agreement report
- `forms.py`: reading the forms into the service's input types; `common.py`: areas and the step shape
"""

from __future__ import annotations

from litestar import Controller

from referral_service.referrals.pages.common import POLICE_AREA, REPORT_AREA, STATE_OFFICE_AREA, WR_AREA
from referral_service.referrals.pages.police import PolicePages
from referral_service.referrals.pages.report import CooperationReportPage
from referral_service.referrals.pages.weisser_ring import WeisserRingPages

AREAS = [POLICE_AREA, WR_AREA, STATE_OFFICE_AREA, REPORT_AREA]


def referral_page_handlers() -> list[type[Controller]]:
    return [PolicePages, WeisserRingPages, CooperationReportPage]


__all__ = ["AREAS", "referral_page_handlers"]
