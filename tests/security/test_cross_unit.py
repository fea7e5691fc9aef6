"""Object scope across units: a record outside the caller's units is "not found", never "forbidden".

Users and units are scoped for everyone but administrators and auditors (see docs/permissions.md):
a supervisor of Polizeirevier Dresden-Nord or the lead of the WR branch Dresden sees their own unit
and what lies below it, and nothing in Leipzig.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory

Client = AsyncTestClient[Litestar]


def assert_not_found(response: Any, code: str) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("who", "own", "foreign"),
    [
        ("supervisor.dresden", "officer.dresden", "officer.leipzig"),
        ("branchlead.dresden", "volunteer.dresden", "volunteer.leipzig"),
        ("branchlead.leipzig", "volunteer.leipzig", "volunteer.dresden"),
    ],
)
async def test_users_of_another_unit_are_not_found(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any, who: str, own: str, foreign: str
) -> None:
    headers = await auth_headers(who)
    own_user = demo_directory.account(own)
    foreign_user = demo_directory.account(foreign)

    assert (await https_client.get(f"/api/v1/users/{own_user.user_id}", headers=headers)).status_code == 200
    assert_not_found(
        await https_client.get(f"/api/v1/users/{foreign_user.user_id}", headers=headers),
        "identity.user_not_found",
    )
    # Asking for the foreign unit explicitly does not widen the scope either.
    listed = await https_client.get(
        "/api/v1/users", params={"unit_id": str(foreign_user.unit.id)}, headers=headers
    )
    assert listed.status_code == 200
    assert listed.json() == []
    usernames = {
        user["username"] for user in (await https_client.get("/api/v1/users", headers=headers)).json()
    }
    assert own in usernames
    assert foreign not in usernames
    assert {demo_directory.account(name).unit.path for name in usernames} <= {
        path
        for path in (u.path for u in demo_directory.units.values())
        if path.startswith(own_user.unit.path)
    }


async def test_units_of_another_subtree_are_not_found(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    headers = await auth_headers("branchlead.dresden")
    own = demo_directory.unit("wr-dresden")
    assert (await https_client.get(f"/api/v1/org-units/{own.id}", headers=headers)).status_code == 200
    for foreign in ("wr-leipzig", "wr-sn", "rev-dresden-nord", "sn"):
        response = await https_client.get(
            f"/api/v1/org-units/{demo_directory.unit(foreign).id}", headers=headers
        )
        assert_not_found(response, "identity.unit_not_found")
    listed = (await https_client.get("/api/v1/org-units", headers=headers)).json()
    assert [unit["code"] for unit in listed] == ["wr-dresden"]


async def test_the_state_office_sees_its_branches_only(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    tree = (
        await https_client.get("/api/v1/org-units/tree", headers=await auth_headers(Role.WR_STATE_OFFICE))
    ).json()
    assert [root["code"] for root in tree] == ["wr-sn"]
    assert {child["code"] for child in tree[0]["children"]} == {
        "wr-bautzen",
        "wr-chemnitz",
        "wr-dresden",
        "wr-goerlitz",
        "wr-leipzig",
        "wr-meissen",
        "wr-vogtland",
        "wr-zwickau",
    }


async def test_a_supervisor_cannot_reach_another_station_by_guessing_ids(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    headers = await auth_headers(Role.POLICE_SUPERVISOR)
    for code in ("rev-dresden-mitte", "pd-dresden", "rev-leipzig-zentrum"):
        response = await https_client.get(
            f"/api/v1/org-units/{demo_directory.unit(code).id}", headers=headers
        )
        assert_not_found(response, "identity.unit_not_found")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.AUDITOR])
async def test_administrators_and_auditors_see_the_whole_directory(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any, role: Role
) -> None:
    headers = await auth_headers(role)
    users = (await https_client.get("/api/v1/users", headers=headers)).json()
    assert {user["username"] for user in users} == set(demo_directory.accounts)
    units = (await https_client.get("/api/v1/org-units", headers=headers)).json()
    assert len(units) == len(demo_directory.units)
    assert units[0]["code"] == "sn"  # sorted by path: the tree in pre-order


async def test_complaints_staff_see_every_unit_but_no_users(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    # The complaints office names any police unit as "unit concerned".
    headers = await auth_headers(Role.COMPLAINTS_HANDLER)
    units = (
        await https_client.get("/api/v1/org-units", params={"kind": "police_station"}, headers=headers)
    ).json()
    assert len(units) == 15
    assert (await https_client.get("/api/v1/users", headers=headers)).status_code == 403


async def test_an_administrator_cannot_administer_themselves(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    admin = demo_directory.account(Role.ADMIN)
    headers = await auth_headers(Role.ADMIN)
    url = f"/api/v1/users/{admin.user_id}"
    for response in (
        await https_client.patch(url, json={"active": False}, headers=headers),
        await https_client.delete(f"{url}/roles/admin", headers=headers),
        await https_client.post(
            f"{url}/reset-password", json={"password": "A-new-passphrase"}, headers=headers
        ),
    ):
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "identity.self_administration"
