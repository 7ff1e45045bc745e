"""The app itself: `/health` answers without a key and every response carries a
request id."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.service.helpers import (
    SQLITE_ONLY,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SQLITE_ONLY
def test_health_needs_no_key(client: Any) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.headers["x-request-id"]
