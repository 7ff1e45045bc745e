"""Windows of the search (`matching.rules.neighbourhoods`): guided windows."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.generate import generate_round
from tests.matching.rounds import every_rule
from volmatch.matching.prepared import prepare
from volmatch.models import parse_round


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 1000), st.integers(0, 1000), st.integers(2, 8))
def test_guided_windows_cover_every_difference_and_keep_moves_together(
    seed_a: int, seed_b: int, size: int
) -> None:
    """Windows from a guide: every placement where it differs from the assignment is
    in exactly one window, a volunteer it moves has both ends in the same window, and
    a window outgrows `size` only when one piece alone does."""
    from volmatch.matching.rules.neighbourhoods import guided_groups

    d = every_rule(generate_round(120, 20, seed=5, rules=True), limit=4)
    r = parse_round(d)
    prep = prepare(r)
    pairs = prep.pairs

    def assignment(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(pairs))
        seen_v: set[int] = set()
        load = np.zeros(prep.compiled.n_placements, dtype=np.int64)
        out = []
        for i in order.tolist():
            v, p = int(pairs.v[i]), int(pairs.p[i])
            if v in seen_v or load[p] >= prep.compiled.capacity[p] or rng.random() < 0.5:
                continue
            seen_v.add(v)
            load[p] += 1
            out.append(i)
        return np.sort(np.array(out, dtype=np.intp))

    picked, guide = assignment(seed_a), assignment(seed_b)
    windows = guided_groups(prep, r.policy, picked, guide, size)
    where = [set(ps.tolist()) for ps, _ in windows]
    members = {}
    for name, arr in (("now", picked), ("guide", guide)):
        for i in arr.tolist():
            members.setdefault(int(pairs.p[i]), {"now": set(), "guide": set()})[name].add(
                int(pairs.v[i])
            )
    differ = {p for p, m in members.items() if m["now"] != m["guide"]}
    assert set().union(*where) == differ if where else not differ
    assert sum(len(w) for w in where) == len(differ)  # no placement twice
    at_now = {int(pairs.v[i]): int(pairs.p[i]) for i in picked.tolist()}
    at_guide = {int(pairs.v[i]): int(pairs.p[i]) for i in guide.tolist()}
    for v in set(at_now) & set(at_guide):
        a, b = at_now[v], at_guide[v]
        if a != b:
            assert any(a in w and b in w for w in where)
    for (_ps, vols), w in zip(windows, where, strict=True):
        # the guide's volunteers there come along
        assert set(vols.tolist()) == {v for v, p in at_guide.items() if p in w}
        if len(w) > size:
            # one piece: every placement reached from any other by moved volunteers
            reach, todo = {min(w)}, [min(w)]
            while todo:
                x = todo.pop()
                for v in set(at_now) & set(at_guide):
                    ends = {at_now[v], at_guide[v]}
                    if x in ends:
                        for y in ends - reach:
                            reach.add(y)
                            todo.append(y)
            assert reach == w


def test_a_group_brings_its_best_places_and_the_windows_countries() -> None:
    """A couple by country brings into a window its members' pairs at its
    `GROUP_PLACES` best countries where both can go, and in the window's countries;
    not its pairs in a country neither the window nor its best places hold."""
    from tests.helpers import doc, plc, vol
    from volmatch.matching.rules import neighbourhoods as nb

    countries = ["NP", "KE", "SN", "VN", "GH"]
    # scores fall by country: NP, KE, SN best; GH the window's country, the worst
    pls = [
        plc(f"P{i}", host=f"H{i}", country=co, desired_skills={"teaching": 5 - i})
        for i, co in enumerate(countries)
    ]
    vols = [
        vol("A", group="c", skills={"teaching": 5}),
        vol("B", group="c", skills={"teaching": 5}),
    ]
    r = parse_round(doc(vols, pls, group_together="country", max_per_host=1))
    prep = prepare(r)
    c, pairs = prep.compiled, prep.pairs
    hood = nb.Neighbourhoods(prep, np.zeros(0, dtype=np.intp), {})
    window = np.array([c.pindex["P4"]], dtype=np.intp)  # in GH
    got = hood.group_options(int(c.group[c.vindex["A"]]), window)
    where = {c.countries[int(c.country[int(pairs.p[i])])] for i in got.tolist()}
    assert nb.GROUP_PLACES == 3
    assert where == {"NP", "KE", "SN", "GH"}  # not VN
    assert len(got) == 8  # both members' pairs there
