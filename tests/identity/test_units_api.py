"""`/api/v1/org-units`: the tree, its paths and the rules for where a unit may hang."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from referral_service.identity.roles import Role
from tests.identity.support import DemoDirectory

UNITS = "/api/v1/org-units"
Client = AsyncTestClient[Litestar]


@pytest.fixture
async def admin(auth_headers: Any) -> dict[str, str]:
    headers: dict[str, str] = await auth_headers(Role.ADMIN)
    return headers


async def test_create_a_station_below_a_directorate(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str]
) -> None:
    parent = demo_directory.unit("pd-leipzig")
    body = {
        "code": "rev-leipzig-nord",
        "name": "Polizeirevier Leipzig-Nord",
        "kind": "police_station",
        "parent_id": str(parent.id),
    }
    response = await https_client.post(UNITS, json=body, headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["path"] == "/sn/pd-leipzig/rev-leipzig-nord/"
    assert created["parent_id"] == str(parent.id)
    assert (await https_client.get(f"{UNITS}/{created['id']}", headers=admin)).json() == created


async def test_a_new_state_is_a_root(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str]
) -> None:
    response = await https_client.post(
        UNITS, json={"code": "th", "name": "Freistaat Thüringen", "kind": "state"}, headers=admin
    )
    assert response.status_code == 201, response.text
    assert response.json()["path"] == "/th/"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            {"code": "rev-x", "name": "X", "kind": "police_station", "parent": "wr-sn"},
            422,
            "identity.invalid_parent",
        ),
        (
            {"code": "rev-x", "name": "X", "kind": "police_station", "parent": None},
            422,
            "identity.invalid_parent",
        ),
        (
            {"code": "wr-x", "name": "X", "kind": "wr_branch", "parent": "pd-dresden"},
            422,
            "identity.invalid_parent",
        ),
        ({"code": "sn2", "name": "X", "kind": "state", "parent": "sn"}, 422, "identity.invalid_parent"),
        (
            {"code": "rev-meissen", "name": "X", "kind": "police_station", "parent": "pd-dresden"},
            409,
            "identity.unit_code_taken",
        ),
        (
            {"code": "Rev_X", "name": "X", "kind": "police_station", "parent": "pd-dresden"},
            422,
            "identity.invalid_unit_code",
        ),
        ({"code": "rev-x", "name": "X", "kind": "castle", "parent": "pd-dresden"}, 422, "request.validation"),
    ],
)
async def test_invalid_units_are_refused(
    https_client: Client,
    demo_directory: DemoDirectory,
    admin: dict[str, str],
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    request = {key: value for key, value in body.items() if key != "parent"}
    request["parent_id"] = str(demo_directory.unit(body["parent"]).id) if body["parent"] else None
    response = await https_client.post(UNITS, json=request, headers=admin)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_tree_nests_the_whole_organisation(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str]
) -> None:
    tree = (await https_client.get(f"{UNITS}/tree", headers=admin)).json()
    assert [root["code"] for root in tree] == ["sn"]
    children = {child["code"]: child for child in tree[0]["children"]}
    assert set(children) == {
        "pd-chemnitz",
        "pd-dresden",
        "pd-goerlitz",
        "pd-leipzig",
        "pd-zwickau",
        "wr-sn",
        "zbs-sn",
    }
    assert [c["code"] for c in children["pd-dresden"]["children"]] == [
        "rev-dresden-mitte",
        "rev-dresden-nord",
        "rev-meissen",
    ]


async def test_list_filters_by_kind(
    https_client: Client, demo_directory: DemoDirectory, admin: dict[str, str]
) -> None:
    directorates = (
        await https_client.get(UNITS, params={"kind": "police_directorate"}, headers=admin)
    ).json()
    assert [unit["name"] for unit in directorates] == [
        "Polizeidirektion Chemnitz",
        "Polizeidirektion Dresden",
        "Polizeidirektion Görlitz",
        "Polizeidirektion Leipzig",
        "Polizeidirektion Zwickau",
    ]


async def test_only_administrators_create_units(
    https_client: Client, demo_directory: DemoDirectory, auth_headers: Any
) -> None:
    body = {
        "code": "wr-x",
        "name": "X",
        "kind": "wr_branch",
        "parent_id": str(demo_directory.unit("wr-sn").id),
    }
    response = await https_client.post(UNITS, json=body, headers=await auth_headers(Role.WR_STATE_OFFICE))
    assert response.status_code == 403
