"""Schemathesis against the app's own OpenAPI document, in process (ASGI), with a
bounded number of examples: no 500s, and every response matches the documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.service.helpers import make_keys, placements, round_doc, settings_for, volunteers
from volmatch.api.service import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# The app object exists at import (no I/O happens until it starts) so that schemathesis
# can read its OpenAPI document; the fixture points it at a fresh database and starts it.
APP = create_app(settings_for("sqlite://"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str]]]:
    from fastapi.testclient import TestClient
    from schemathesis.python import asgi

    db = Path(tmp_path_factory.mktemp("st")) / "st.db"
    APP.state.settings = settings_for(f"sqlite:///{db}", max_body_bytes=100_000)
    # Start the app once (TestClient runs its lifespan) and hand schemathesis a client
    # that reuses it: by default it would start a client, and the app, for every call.
    with TestClient(APP), asgi.get_client(APP) as c:
        keys = make_keys(APP)
        co = keys.auth("coordinator")
        for p in placements():
            c.post("/placements", json=p, headers=co)
        c.post("/volunteers", json={"volunteers": volunteers()}, headers=co)
        c.post("/rounds", json={"document": round_doc()}, headers=co)
        yield c, co


@schema.parametrize()
@settings(
    max_examples=8,
    # Generated cases only: schemathesis' explicit "coverage" examples run ~1500 calls.
    phases=[Phase.generate],
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, served: tuple[Any, dict[str, str]]) -> None:
    client, headers = served
    case.call_and_validate(session=client, headers=headers, checks=CHECKS)
