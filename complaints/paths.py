"""The paths of the complaint pages that are linked from outside the pages themselves.

The pages declare their routes with these, and notifications link to them: the use cases that write a
notification cannot import the pages (which import the use cases), and a second copy of a path would
drift from the route it names.
"""

from __future__ import annotations

import uuid

# The complaints office's area: its queue and, below it, the case pages.
OFFICE = "/beschwerdestelle"
# A police unit's statement requests (police supervisors).
STATEMENTS = "/stellungnahmen"
# Where complainants enter their reference and access code (a form: nothing of the case in the path).
COMPLAINANT_ACCESS = "/beschwerde/status"


def case_page(complaint_id: uuid.UUID) -> str:
    """A complaint's page in the office (the lead sees every one, a handler those assigned to them)."""
    return f"{OFFICE}/beschwerden/{complaint_id}"


def statement_request_page(request_id: uuid.UUID) -> str:
    """One statement request as the police unit it is addressed to sees it."""
    return f"{STATEMENTS}/{request_id}"
