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


def test_a_couple_takes_the_pairs_its_hint_offers_in_the_country() -> None:
    """A couple by country whose hint puts A at P1 and B at P2 (both in Nepal), with
    C hinted at P3, also in Nepal: B's best pair in Nepal is P3, but the start keeps
    the hint's plan (B at P2), so C keeps P3, where taking B's best pair would have
    moved C off the hint."""
    import time

    from tests.helpers import doc, plc, vol
    from volmatch.matching.previous import pair_index

    vols = [
        vol("A", group="c", skills={"teaching": 5}),
        vol("B", group="c", skills={"teaching": 3, "cooking": 2}),
        vol("C"),
    ]
    pls = [
        plc("P1", desired_skills={"teaching": 5}),
        plc("P2", host="H2", desired_skills={"cooking": 3}),
        plc("P3", host="H3", desired_skills={"cooking": 2}),
    ]
    r = parse_round(doc(vols, pls, group_together="country", max_per_host=5))
    prep = prepare(r)
    c = prep.compiled
    setup = rules_setup.set_up(prep, time.perf_counter())
    want = [("A", "P1"), ("B", "P2"), ("C", "P3")]
    hint = pair_index(
        c,
        prep.pairs,
        np.array([c.vindex[v] for v, _ in want], dtype=np.int64),
        np.array([c.pindex[p] for _, p in want], dtype=np.int64),
    )
    assert (hint >= 0).all()
    # B's best pair in Nepal is P3, not the hint's; A's hinted pair comes before C's
    sc = {
        int(prep.pairs.p[i]): int(prep.scores.total[i])
        for i in np.flatnonzero(prep.pairs.v == c.vindex["B"])
    }
    assert sc[c.pindex["P3"]] > sc[c.pindex["P2"]]
    assert int(prep.scores.total[hint[0]]) > int(prep.scores.total[hint[2]])
    setup = replace(setup, hint=np.sort(hint).astype(np.intp))
    chosen = setup.model_pairs[greedy_start(prep, setup, r.policy, frozenset())]
    got = {
        (c.volunteer_ids[int(prep.pairs.v[i])], c.placement_ids[int(prep.pairs.p[i])])
        for i in chosen.tolist()
    }
    assert got == set(want)
