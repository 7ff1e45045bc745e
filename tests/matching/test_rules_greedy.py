"""The greedy start (`matching.rules.greedy`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

import volmatch.matching.rules.setup as rules_setup
from volmatch.matching.prepared import prepare
from volmatch.matching.rules.greedy import greedy_start
from volmatch.models import parse_round


def test_greedy_start_leaves_a_second_of_one_gender_for_last() -> None:
    """Two women outscore a man for a two-slot placement: the start takes a woman and
    the man (no balance penalty), where taking by score alone would take both women."""
    import time

    from tests.helpers import doc, plc, vol

    vols = [
        vol("F1", gender="female", skills={"teaching": 5}),
        vol("F2", gender="female", skills={"teaching": 5}),
        vol("M1", gender="male", skills={"teaching": 3}),
    ]
    pls = [plc("P1", slots=2, desired_skills={"teaching": 5})]
    for balance, want in ((True, {"F1", "M1"}), (False, {"F1", "F2"})):
        r = parse_round(doc(vols, pls, gender_balance=balance, max_per_host=5))
        prep = prepare(r)
        setup = rules_setup.set_up(prep, time.perf_counter())
        setup = replace(setup, hint=np.zeros(0, dtype=np.intp))  # score order alone
        chosen = greedy_start(prep, setup, r.policy, frozenset())
        at = setup.model_pairs[chosen]
        names = {prep.compiled.volunteer_ids[int(prep.pairs.v[i])] for i in at.tolist()}
        assert names == want
