"""The OpenAPI document carries what the service enforces: id patterns and length limits
on path and query parameters, the models' id patterns and closed code lists, the list
limits of the settings, the Idempotency-Key header and the 503 answer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.service.helpers import SQLITE_ONLY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ID = "^[A-Za-z0-9_.-]{1,64}$"


@SQLITE_ONLY
def test_the_schema_carries_the_patterns_and_limits(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    comps = doc["components"]["schemas"]

    def param(path: str, method: str, name: str) -> dict[str, Any]:
        ps = doc["paths"][path][method]["parameters"]
        return next(p for p in ps if p["name"] == name)["schema"]

    assert param("/placements/{placement_id}", "put", "placement_id")["pattern"] == ID
    assert param("/volunteers/{volunteer_id}", "get", "volunteer_id")["maxLength"] == 64
    assert param("/rounds/{round_id}", "get", "round_id")["pattern"] == "^[0-9a-f]{32}$"
    assert param("/keys/{key_id}/revoke", "post", "key_id")["pattern"] == "^[0-9a-f]{12}$"
    assert param("/rounds/{round_id}/explain", "get", "volunteer")["pattern"] == ID
    assert param("/rounds", "post", "Idempotency-Key")["anyOf"][0]["maxLength"] == 200

    placement = comps.get("Placement") or comps["Placement-Input"]
    assert placement["properties"]["id"]["pattern"] == ID
    assert placement["properties"]["host"]["pattern"] == ID
    assert "NP" in placement["properties"]["country"]["enum"]
    assert "np" not in placement["properties"]["country"]["enum"]
    volunteer = comps.get("Volunteer") or comps["Volunteer-Input"]
    assert "BR" in volunteer["properties"]["nationality"]["enum"]
    upload = comps.get("VolunteersUpload") or comps["VolunteersUpload-Input"]
    assert upload["properties"]["volunteers"]["maxItems"] == 50  # the fixture's setting
    assert "503" in doc["paths"]["/placements"]["get"]["responses"]
    # What the schema says is what the service does.
    co = client.keys.auth("coordinator")
    assert client.get("/placements/" + "P" * 65, headers=co).status_code == 422
    assert client.get("/rounds/not-a-round-id", headers=co).status_code == 422
