"""Reserve lists (`matching.lifecycle.reserves`): every cost equals the drop of the
optimum when that volunteer is forced into a slot of the placement (scipy MILP)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from tests.helpers import doc as make_doc
from tests.helpers import plc, vol
from tests.strategies import round_docs
from volmatch.matching import prepare, solve_round
from volmatch.matching.lifecycle import reserve_lists
from volmatch.matching.pure import solve_pure
from volmatch.models import parse_round


def _optimum(prep: Any, force: int | None) -> float:
    pv, pp, w = prep.pairs.v, prep.pairs.p, prep.scores.total
    n = len(pv)
    c = prep.compiled
    rows_v = coo_matrix((np.ones(n), (pv, np.arange(n))), shape=(c.n_volunteers, n))
    rows_p = coo_matrix((np.ones(n), (pp, np.arange(n))), shape=(c.n_placements, n))
    lo = np.zeros(n)
    if force is not None:
        lo[force] = 1
    res = milp(
        -w.astype(float),
        constraints=[
            LinearConstraint(rows_v, -np.inf, 1),
            LinearConstraint(rows_p, -np.inf, c.capacity),
        ],
        integrality=np.ones(n),
        bounds=Bounds(lo, np.ones(n)),
    )
    return -res.fun


@settings(max_examples=30)
@given(round_docs(max_volunteers=8, max_placements=4))
def test_reserve_costs_are_exact(doc: dict[str, Any]) -> None:
    prep = prepare(parse_round(doc))
    chosen = solve_pure(prep).chosen
    best = _optimum(prep, None) if len(prep.pairs) else 0.0
    placed = set(prep.pairs.v[chosen].tolist())
    c = prep.compiled
    for rl in reserve_lists(prep, chosen, size=10):
        assert rl.exact
        pi = c.pindex[rl.placement]
        costs = [r.cost for r in rl.reserves]
        assert costs == sorted(costs)
        for r in rl.reserves:
            vi = c.vindex[r.volunteer]
            assert vi not in placed
            i = int(np.flatnonzero((prep.pairs.v == vi) & (prep.pairs.p == pi))[0])
            assert round(best - _optimum(prep, i)) == r.cost
        # every unplaced eligible volunteer is on the list (size 10 covers them all)
        eligible = {int(v) for v in prep.pairs.v[prep.pairs.p == pi]} - placed
        assert {c.vindex[r.volunteer] for r in rl.reserves} == eligible


@settings(max_examples=20)
@given(round_docs(max_volunteers=8, max_placements=4))
def test_stable_mode_reserves_are_its_unplaced_with_the_pure_rounds_cost(
    doc: dict[str, Any],
) -> None:
    doc["policy"]["mode"] = "stable"
    r = parse_round(doc)
    prep = prepare(r)
    chosen = solve_round(r)
    c = prep.compiled
    placed = {c.vindex[a.volunteer] for a in chosen.assignments}
    at = [
        int(
            np.flatnonzero(
                (prep.pairs.v == c.vindex[a.volunteer]) & (prep.pairs.p == c.pindex[a.placement])
            )[0]
        )
        for a in chosen.assignments
    ]
    best = _optimum(prep, None) if len(prep.pairs) else 0.0
    pure_placed = set(prep.pairs.v[solve_pure(prep).chosen].tolist())
    for rl in reserve_lists(prep, np.array(at, dtype=np.int64), size=10):
        assert not rl.exact
        pi = c.pindex[rl.placement]
        for x in rl.reserves:
            i = int(
                np.flatnonzero((prep.pairs.v == c.vindex[x.volunteer]) & (prep.pairs.p == pi))[0]
            )
            assert round(best - _optimum(prep, i)) == x.cost
        # its unplaced whom the pure optimum leaves unplaced too
        eligible = {int(v) for v in prep.pairs.v[prep.pairs.p == pi]} - placed - pure_placed
        assert {c.vindex[x.volunteer] for x in rl.reserves} == eligible


def test_one_placement_asked_gives_its_list_alone() -> None:
    r = parse_round(make_doc([vol("V1"), vol("V2"), vol("V3")], [plc("P1"), plc("P2")]))
    prep = prepare(r)
    chosen = solve_pure(prep).chosen
    whole = {x.placement: x for x in reserve_lists(prep, chosen)}
    [one] = reserve_lists(prep, chosen, placements=["P2"], size=1)
    assert one.placement == "P2" and one.reserves == whole["P2"].reserves[:1]


@settings(max_examples=15)
@given(round_docs(max_volunteers=8, max_placements=4), st.sampled_from(["optimal", "stable"]))
def test_the_results_reserves_are_the_engines_lists(doc: dict[str, Any], mode: str) -> None:
    doc["policy"]["mode"] = mode
    r = parse_round(doc)
    res = solve_round(r, reserves=2)
    prep = prepare(r)
    c = prep.compiled
    at = [
        int(
            np.flatnonzero(
                (prep.pairs.v == c.vindex[a.volunteer]) & (prep.pairs.p == c.pindex[a.placement])
            )[0]
        )
        for a in res.assignments
    ]
    want = [x.as_dict() for x in reserve_lists(prep, np.array(at, dtype=np.int64), size=2)]
    assert res.model_extra is not None
    assert res.model_extra["reserves"] == want
    assert res.model_extra["reserves_method"] == "residual_network"
    assert all(len(x["reserves"]) <= 2 for x in want)
    assert "reserves" not in (solve_round(r).model_extra or {})
