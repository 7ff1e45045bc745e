"""Logs carry request and job ids, never personal data or keys."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from tests.api.service.helpers import (
    SQLITE_ONLY,
    seed,
    solved_round,
    volunteers,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SQLITE_ONLY
def test_logs_carry_ids_not_personal_data(client: Any) -> None:
    from volmatch.api.service.logs import LOGGER, JsonFormatter

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        seed(client)
        co = client.keys.auth("coordinator")
        rid = solved_round(client)
        client.get("/volunteers/V1/export", headers={**co, "X-Request-ID": "req-123"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    text = buf.getvalue()
    for v in volunteers():
        assert v.get("name", "~") not in text
    assert "2000-01-02" not in text
    assert client.keys.coordinator.split("_", 2)[2] not in text
    assert any(x.get("request_id") == "req-123" and x["event"] == "request" for x in lines)
    assert any(x.get("job_id") == rid and x["event"] == "job finished" for x in lines)
