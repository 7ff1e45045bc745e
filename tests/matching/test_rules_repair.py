"""A result never claims `feasible` while it breaks a hard rule (`matching.rules.repair`):
when CP-SAT finds nothing in its time, the greedy start is repaired, or the result says
`infeasible` and names the rule it breaks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from ortools.sat.python import cp_model

from tests.helpers import doc, plc, vol
from volmatch.matching import solve_round, validate_result
from volmatch.matching.prepared import prepare
from volmatch.matching.previous import previous_pairs
from volmatch.matching.rules import tiers
from volmatch.matching.rules.repair import hard_breaches, repair
from volmatch.matching.validate import rule_violations
from volmatch.models import parse_round


class _NothingFound:
    """A CP-SAT solver that runs out of time before its first solution."""

    def solve(self, model: cp_model.CpModel) -> int:
        return int(cp_model.UNKNOWN)

    def stop_search(self) -> None:
        """(A search that finds nothing has nothing to stop.)"""


@pytest.fixture
def cpsat_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiers, "cpsat_solver", lambda *a, **k: _NothingFound())


def _share_round() -> dict[str, Any]:
    """Two CN and two KE volunteers kept where they were (no move allowed), a share of
    40% (+1) per country: inserted best first, the second CN does not fit until the KE
    are in, so the greedy start moves one volunteer where none may move."""
    vols = [
        vol("V0", skills={"teaching": 5}),
        vol("V1", skills={"teaching": 5}),
        vol("V2", nationality="KE"),
        vol("V3", nationality="KE"),
    ]
    pls = [plc("P1", slots=2, desired_skills={"teaching": 1}), plc("P2", slots=2, host="H2")]
    d = doc(vols, pls, max_nationality_share_per_country=0.4, max_moves=0)
    d["previous"] = [
        {"volunteer": "V0", "placement": "P1"},
        {"volunteer": "V1", "placement": "P1"},
        {"volunteer": "V2", "placement": "P2"},
        {"volunteer": "V3", "placement": "P2"},
    ]
    return d


@pytest.mark.usefixtures("cpsat_finds_nothing")
def test_a_start_that_breaks_the_move_limit_is_repaired() -> None:
    r = parse_round(_share_round())
    result = solve_round(r)
    assert result.status == "feasible"
    assert validate_result(r, result) == [] and rule_violations(r, result) == []
    assert len(result.assignments) == 4


@pytest.mark.usefixtures("cpsat_finds_nothing")
def test_locks_over_a_cap_are_reported_infeasible_with_the_rule_named() -> None:
    """Two CN locked where the cap is one, and CP-SAT out of time before it proves it:
    the result says `infeasible` and names the cap, never `feasible`."""
    vols = [vol("V001"), vol("V002"), vol("V003", nationality="KE")]
    pls = [plc("P009", slots=3), plc("P010", host="H2")]
    d = doc(
        vols,
        pls,
        max_same_nationality_per_placement=1,
        locked=[
            {"volunteer": "V001", "placement": "P009"},
            {"volunteer": "V002", "placement": "P009"},
        ],
    )
    result = solve_round(parse_round(d))
    assert result.status == "infeasible"
    assert result.rules["broken"] == ["nationality_per_placement"]  # type: ignore[attr-defined]
    broken = [c for c in result.conflicts if c.get("broken")]  # type: ignore[attr-defined]
    assert [c["rule"] for c in broken] == ["nationality_per_placement"]


def test_repair_takes_out_the_lowest_scores_until_the_caps_hold() -> None:
    """Everyone at one placement of one host: the repair keeps the cap's worth of each
    nationality and of the host, the best scores, and the result breaks nothing."""
    vols = [
        vol(f"V{i}", nationality=n, skills={"teaching": 1 + i % 5})
        for i, n in enumerate(["CN", "CN", "CN", "KE", "KE", "ID"])
    ]
    d = doc(
        vols,
        [plc("P1", slots=6, desired_skills={"teaching": 1})],
        max_same_nationality_per_placement=2,
        max_per_host=4,
    )
    r = parse_round(d)
    prep = prepare(r)
    prev = previous_pairs(prep.compiled, prep.pairs)
    everyone = np.arange(len(prep.pairs), dtype=np.intp)
    none = np.zeros(0, dtype=np.intp)
    assert hard_breaches(prep, r.policy, prev, everyone, none) == [
        "nationality_per_placement",
        "max_per_host",
    ]
    kept = repair(prep, r.policy, prev, everyone, none)
    assert hard_breaches(prep, r.policy, prev, kept, none) == []
    assert len(kept) == 4
    # what went out scores no more than what stayed, within each nationality
    nat = prep.compiled.nationality[prep.pairs.v]
    score = prep.scores.total
    for n in np.unique(nat).tolist():
        out = np.setdiff1d(everyone[nat == n], kept)
        stay = np.intersect1d(everyone[nat == n], kept)
        if len(out) and len(stay):
            assert score[out].max() <= score[stay].min()
