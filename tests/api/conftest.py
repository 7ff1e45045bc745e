"""Fixtures shared by the service and the page tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.service.lifecycle.helpers import Gate


@pytest.fixture(name="gate")
def gate_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    """Every backfill solve of this test held until `gate.release` is set (at the end at
    the latest, so that no runner thread is left waiting)."""
    gate = Gate(monkeypatch)
    yield gate
    gate.release.set()
