"""Request dependencies: a missing, malformed or unknown API key is a 401."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.service.helpers import (
    SQLITE_ONLY,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SQLITE_ONLY
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer vm_abc_def"}],
)
def test_missing_or_bad_key_is_401(client: Any, headers: dict[str, str]) -> None:
    r = client.get("/placements", headers=headers)
    assert r.status_code == 401
    assert "key" in r.json()["detail"]
