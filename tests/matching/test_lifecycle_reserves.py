"""Reserve lists (`matching.lifecycle.reserves`): every cost equals the drop of the
optimum when that volunteer is forced into a slot of the placement (scipy MILP)."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from tests.strategies import round_docs
from volmatch.matching import prepare
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
