"""Fixtures of the command tests: a small round file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.cli.helpers import write
from tests.helpers import doc, plc, vol


@pytest.fixture
def small(tmp_path: Path) -> Path:
    d = doc(
        [
            vol("V1", languages={"fr": "B2"}),
            vol("V2", languages={"en": "B2"}),
            vol("V3", training=[]),
        ],
        [plc("P1", required_languages={"fr": "B1"}), plc("P2", slots=2)],
    )
    return write(tmp_path, d)
