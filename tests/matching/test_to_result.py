"""A solution dressed as the contract's result (`matching.to_result`): the objects it
builds without re-validation are exactly what validation builds, and the result is
what the contract asks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from benchmarks.generate import generate_round
from volmatch.matching.prepared import prepare
from volmatch.matching.solve import solve_prepared
from volmatch.matching.to_result import build_result
from volmatch.matching.validate import validate_result
from volmatch.models import AssignmentOut, OpenSlot, Result, UnmatchedVolunteer, parse_round


@pytest.mark.parametrize("mode", ["optimal", "stable"])
def test_result_objects_are_those_validation_builds(mode: str) -> None:
    d: dict[str, Any] = generate_round(400, 80, seed=0)
    d.setdefault("policy", {})["mode"] = mode
    r = parse_round(d)
    prep = prepare(r)
    sol = solve_prepared(prep)
    result = build_result(prep, sol, mode)
    assert validate_result(r, result) == []
    parts: list[tuple[list[Any], type[BaseModel]]] = [
        (result.assignments, AssignmentOut),
        (result.unmatched_volunteers, UnmatchedVolunteer),
        (result.open_slots, OpenSlot),
    ]
    for items, cls in parts:
        assert len(items) > 0
        for x in items:
            again = cls.model_validate(x.model_dump())
            assert type(x) is cls
            assert x == again
            assert x.model_fields_set == again.model_fields_set == set(cls.model_fields)
            assert x.__pydantic_extra__ is None and x.__pydantic_private__ is None
            assert x.model_dump_json() == again.model_dump_json()
    assert Result.model_validate(result.model_dump()) == result
    ids = [a.volunteer for a in result.assignments]
    assert ids == sorted(ids)  # ordered by volunteer id
    assert result.objective == sol.objective == sum(a.score for a in result.assignments)
    assert all(sum(a.breakdown.values()) == a.score for a in result.assignments)
