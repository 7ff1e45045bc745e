"""Fixtures of the sheets tests: the fixture round, read once per module."""

from __future__ import annotations

import pytest

from tests.api.sheets.helpers import ROUND_JSON
from volmatch.models import load_round


@pytest.fixture(scope="module")
def fixture_round():  # type: ignore[no-untyped-def]
    return load_round(ROUND_JSON)
