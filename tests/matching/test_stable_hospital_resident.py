"""Cross-check stable mode against the PyPI `matching` package's hospital-resident solver.

It is installed beside volmatch by the `test` extra and runs in a worker process through
`benchmarks.baselines.hospital_resident`.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from benchmarks import baselines as bl
from benchmarks.generate import generate_round
from volmatch.matching.prepared import prepare
from volmatch.matching.stable import solve_stable
from volmatch.models import parse_round


def _with_lists(d: dict[str, Any], seed: int) -> dict[str, Any]:
    """Give some volunteers preferences and some placements rankings, so that the
    explicit lists, not only the scores, decide."""
    rnd = random.Random(seed)
    pids = [p["id"] for p in d["placements"]]
    vids = [v["id"] for v in d["volunteers"]]
    for v in d["volunteers"]:
        if rnd.random() < 0.5:
            v["preferences"] = rnd.sample(pids, min(len(pids), rnd.randint(1, 5)))
    for p in d["placements"]:
        if rnd.random() < 0.5:
            p["ranking"] = rnd.sample(vids, min(len(vids), rnd.randint(1, 10)))
    for v in d["volunteers"]:
        v.pop("group", None)
    return d


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_volunteer_optimal_matches_hospital_resident(seed: int) -> None:
    d = _with_lists(generate_round(240, 40, seed=seed), seed)
    d.setdefault("policy", {})["mode"] = "stable"
    r = parse_round(d)
    prep = prepare(r)
    c, pairs = prep.compiled, prep.pairs
    assert len(pairs) > 100
    # positions in the explicit lists, computed here with plain dicts
    pref = {(v.id, p): k for v in r.volunteers for k, p in enumerate(v.preferences)}
    rank = {(p.id, v): k for p in r.placements for k, v in enumerate(p.ranking)}
    ids = [
        (c.volunteer_ids[int(a)], c.placement_ids[int(b)])
        for a, b in zip(pairs.v.tolist(), pairs.p.tolist(), strict=True)
    ]
    vpos = np.asarray([pref.get(k, -1) for k in ids])
    ppos = np.asarray([rank.get((p, v), -1) for v, p in ids])
    hr = bl.hospital_resident(
        pairs.v,
        pairs.p,
        prep.scores.total,
        c.capacity,
        c.n_volunteers,
        volunteer_pref_pos=vpos,
        placement_rank_pos=ppos,
    )
    assert hr.status == "stable", hr.note
    ours = solve_stable(prep)
    assert np.array_equal(np.sort(hr.chosen), np.sort(ours.chosen))
    assert hr.objective == ours.objective
