"""Rules that span records (`models.checks`), whether the loader or a round built in
code meets them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import doc, plc, vol
from volmatch.models import InvalidRound, Placement, Round, Volunteer, parse_round


def errors_of(d: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(InvalidRound) as exc:
        parse_round(d)
    return [(e.section, e.record, e.field) for e in exc.value.errors]


def test_lock_and_forbid_of_the_same_pair_is_an_error() -> None:
    pair = {"volunteer": "V1", "placement": "P1"}
    d = doc([vol("V1")], [plc("P1")], locked=[pair], forbidden=[pair])
    assert ("policy", "policy", "locked[0]") in errors_of(d)


def test_volunteer_locked_to_two_placements_is_an_error() -> None:
    d = doc(
        [vol("V1")],
        [plc("P1"), plc("P2")],
        locked=[{"volunteer": "V1", "placement": "P1"}, {"volunteer": "V1", "placement": "P2"}],
    )
    assert ("policy", "policy", "locked[1].volunteer") in errors_of(d)


def test_a_round_built_in_code_is_checked_across_records() -> None:
    v = Volunteer.model_validate(vol("V1", preferences=["P9"]))
    p = Placement.model_validate(plc("P1"))
    with pytest.raises(ValueError, match="unknown placement id 'P9'"):
        Round(volunteers=(v,), placements=(p,))
    ok = Volunteer.model_validate(vol("V1"))
    assert Round(volunteers=(ok,), placements=(p,)).placements == (p,)
