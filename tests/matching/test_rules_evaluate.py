"""Tier values and rule breaches counted on arrays (`matching.rules.evaluate`)."""

from __future__ import annotations

import numpy as np

from benchmarks.generate import generate_round
from tests.matching.rounds import every_rule
from volmatch.matching.prepared import prepare
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.models import parse_round


def test_breaches_names_the_rule_an_assignment_breaks() -> None:
    d = every_rule(generate_round(200, 40, seed=5, rules=True), limit=2)
    d["policy"]["max_per_host"] = 1
    r = parse_round(d)
    prep = prepare(r)
    ev = Evaluator(prep, r.policy, {})
    none = np.zeros(0, dtype=np.intp)
    assert ev.breaches(none, none) == []
    pairs = prep.pairs
    # two volunteers at placements of one host: over max_per_host
    host_of = prep.compiled.host[pairs.p]
    h = int(np.bincount(host_of).argmax())
    at_h = np.flatnonzero(host_of == h)
    two = [int(at_h[0])]
    two += [int(i) for i in at_h[1:] if pairs.v[i] != pairs.v[two[0]]][:1]
    assert "max_per_host" in ev.breaches(np.array(two, dtype=np.intp), none)
    # one volunteer twice
    mine = np.flatnonzero(pairs.v == pairs.v[0])[:2]
    if len(mine) == 2:
        assert "one placement per volunteer" in ev.breaches(mine.astype(np.intp), none)
    # a lock left out
    assert ev.breaches(none, np.array([0], dtype=np.intp)) == ["locked"]
