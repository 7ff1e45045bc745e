"""The reasons of a backfill proposal, checked by the independent checker
(`matching.claims` with `BackfillFacts`): a decline or a withdrawal is said as one
(`declined_offer`, `closest_declined`, `pairwise_declined`, `closest_withdrawn`,
`rule_count_withdrawn` ...), true against the coordinator's own records, and no reason
calls the backfill's bars the coordinator's forbid."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import doc, plc, vol
from tests.strategies import round_docs
from volmatch.matching import prepare, solve_round
from volmatch.matching.claims import BackfillFacts, check_claims
from volmatch.matching.lifecycle import backfill_round
from volmatch.matching.lifecycle.document import backfill_document
from volmatch.models import Result, Round, parse_round

BACKFILL_CODES = {
    "declined_offer",
    "withdrawn_by_host",
    "closest_declined",
    "closest_declined_and",
    "pairwise_declined",
    "closest_withdrawn",
    "closest_withdrawn_and",
    "rule_count_withdrawn",
}


def _codes(res: Result) -> set[str]:
    """Every code the result's reasons use, nested parts included."""
    seen: set[str] = set()

    def walk(x: Any) -> None:
        if isinstance(x, dict):
            if "code" in x and "params" in x:
                seen.add(x["code"])
            for y in x.values():
                walk(y)
        elif isinstance(x, list):
            for y in x:
                walk(y)

    for u in res.unmatched_volunteers:
        walk(list(u.details))
    for o in res.open_slots:
        walk(list(o.details or []))
    return seen


def _backfill(
    d: dict[str, Any],
    rnd: random.Random,
    withdraw: bool,
    forbid_declined: bool,
    lock: bool = False,
) -> tuple[Round, Result, BackfillFacts]:
    """A random backfill of round `d`: some offers declined, some accepted, maybe needs
    withdrawn, maybe the coordinator forbids declined people somewhere after publishing,
    maybe one published pair locked in the round (its volunteer declines half the time).
    The backfill round, the proposal document and the coordinator's records."""
    offers = {a.volunteer: a.placement for a in solve_round(parse_round(d)).assignments}
    ids = sorted(offers)
    locked = rnd.choice(ids) if lock and ids else None
    if locked is not None:  # the optimum chose the pair already: the same result
        pair = {"volunteer": locked, "placement": offers[locked]}
        d.setdefault("policy", {})["locked"] = [pair]
        d["policy"]["forbidden"] = [f for f in d["policy"].get("forbidden", []) if f != pair]
    declined = [v for v in ids if rnd.random() < 0.4]
    rest = [v for v in ids if v not in declined]
    accepted = None if rnd.random() < 0.3 else [v for v in rest if rnd.random() < 0.5]
    pids = [p["id"] for p in d["placements"]]
    withdrawn = [p for p in pids if withdraw and rnd.random() < 0.3]
    if forbid_declined:
        have = d.setdefault("policy", {}).setdefault("forbidden", [])
        for v in declined:
            pair = {"volunteer": v, "placement": rnd.choice([offers[v], *pids])}
            if pair not in have and v != locked:
                have.append(pair)
    r = parse_round(d)
    prep = prepare(r)
    _, res = backfill_document(
        prep, offers, declined=declined, accepted=accepted, withdrawn=withdrawn, reserves=0
    )
    br = backfill_round(prep, offers, declined=declined, accepted=accepted, withdrawn=withdrawn)
    if locked is not None:  # a lock holds until its volunteer declines or its need goes
        at = {a.volunteer: a.placement for a in res.assignments}
        if locked in declined:
            assert locked not in at
        elif offers[locked] not in withdrawn:
            assert at[locked] == offers[locked]
        else:
            assert at.get(locked) != offers[locked]
    facts = BackfillFacts(
        published=r, declined={v: offers[v] for v in declined}, withdrawn=frozenset(withdrawn)
    )
    return br, res, facts


@st.composite
def dense_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A small round where most pairs are eligible (the dates always fit), so that many
    volunteers are placed and can decline: skills, languages, countries and age ranges
    keep some pairs out, for the reasons to name."""
    nv, npl = draw(st.integers(2, 8)), draw(st.integers(1, 4))
    countries = ("NP", "KE", "SN")
    vols = [
        vol(
            f"V{i}",
            nationality=draw(st.sampled_from(("CN", "KE"))),
            skills={"teaching": draw(st.integers(1, 5))},
            languages={"fr": draw(st.sampled_from(("A2", "B2", "C1")))},
            **(
                {"birth_date": draw(st.sampled_from(("1990-05-01", "2004-05-01")))}
                if draw(st.booleans())
                else {}
            ),
        )
        for i in range(nv)
    ]
    pls = []
    for k in range(npl):
        extra: dict[str, Any] = {}
        if draw(st.booleans()):
            extra["required_skills"] = {"teaching": draw(st.integers(2, 4))}
        if draw(st.integers(0, 3)) == 0:
            extra["required_languages"] = {"fr": "B2"}
        if draw(st.integers(0, 3)) == 0:
            extra["age_min"] = 25
        pls.append(
            plc(
                f"P{k}",
                country=draw(st.sampled_from(countries)),
                slots=draw(st.integers(1, 2)),
                desired_skills={"teaching": 5},
                priority=draw(st.integers(1, 5)),
                **extra,
            )
        )
    forbidden = draw(
        st.lists(st.tuples(st.integers(0, nv - 1), st.integers(0, npl - 1)), max_size=2)
    )
    policy: dict[str, Any] = {"international_only": True}
    if forbidden:
        policy["forbidden"] = [
            {"volunteer": f"V{v}", "placement": f"P{q}"} for v, q in sorted(set(forbidden))
        ]
    return doc(vols, pls, **policy)


SEEN: set[str] = set()
"""Backfill codes the property tests met: the test after them asks for every one."""


@given(
    st.one_of(round_docs(max_volunteers=9, max_placements=5), dense_docs()),
    st.randoms(use_true_random=False),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_every_claim_of_a_backfill_proposal_holds(
    d: dict[str, Any], rnd: random.Random, withdraw: bool, forbid_declined: bool, lock: bool
) -> None:
    """Also with a lock in the round, held or released (a decline, a withdrawn need)."""
    br, res, facts = _backfill(d, rnd, withdraw, forbid_declined, lock)
    assert check_claims(br, res, backfill=facts) == []
    SEEN.update(_codes(res) & BACKFILL_CODES)


@settings(max_examples=25)
@given(dense_docs(), st.randoms(use_true_random=False), st.booleans())
def test_every_cost_of_a_backfill_proposal_is_a_re_solve(
    d: dict[str, Any], rnd: random.Random, withdraw: bool
) -> None:
    """With `resolve`, the checker re-solves the backfill round for every cost claimed."""
    br, res, facts = _backfill(d, rnd, withdraw, True)
    assert check_claims(br, res, resolve=True, backfill=facts) == []
    SEEN.update(_codes(res) & BACKFILL_CODES)


def test_the_property_tests_met_every_backfill_code_but_the_unreachable() -> None:
    """The generated backfills say every backfill code (a sanity check of the strategy):
    but `closest_withdrawn_and`, which the backfill round cannot give (it bars only
    pairs that keep every hard rule, so a withdrawn need is closest only alone)."""
    if len(SEEN) == 0:  # run alone (-k): nothing to look at
        return
    assert BACKFILL_CODES - {"closest_withdrawn_and"} <= SEEN, sorted(BACKFILL_CODES - SEEN)


# -- the checker catches what is false -------------------------------------------------


def _declined_round() -> tuple[Round, Result, BackfillFacts]:
    """V1 declined P1; V2 cannot take P1 (skills); P2 wants a skill nobody has."""
    d = doc(
        [vol("V1", skills={"teaching": 4}), vol("V2", skills={"teaching": 1})],
        [plc("P1", required_skills={"teaching": 3}), plc("P2", required_skills={"wash": 2})],
    )
    r = parse_round(d)
    prep = prepare(r)
    offers = {"V1": "P1"}
    _, res = backfill_document(prep, offers, declined=["V1"], accepted=[])
    br = backfill_round(prep, offers, declined=["V1"], accepted=[])
    return br, res, BackfillFacts(published=r, declined={"V1": "P1"})


def _with_detail(res: Result, placement: str, k: int, params: dict[str, Any]) -> Result:
    from volmatch.models.reasons import text_of

    slots = []
    for o in res.open_slots:
        if o.placement == placement:
            details = list(o.details or [])
            details[k] = {**details[k], "params": {**details[k]["params"], **params}}
            o = o.model_copy(update={"details": details, "reasons": [text_of(x) for x in details]})
        slots.append(o)
    return res.model_copy(update={"open_slots": slots})


def test_a_true_backfill_document_passes_and_its_codes_are_checked() -> None:
    br, res, facts = _declined_round()
    slots = {o.placement: o for o in res.open_slots}
    assert slots["P1"].details[-1]["code"] == "closest_declined"
    assert check_claims(br, res, backfill=facts) == []


def test_a_decline_said_of_the_wrong_offer_or_person_is_caught() -> None:
    br, res, facts = _declined_round()
    wrong_offer = _with_detail(res, "P1", -1, {"placement": "P2"})
    assert "P1: closest_declined: declined there" in check_claims(br, wrong_offer, backfill=facts)
    wrong_person = _with_detail(res, "P1", -1, {"volunteer": "V2"})
    got = check_claims(br, wrong_person, backfill=facts)
    assert "P1: closest_declined: declined there" in got
    assert "P1: closest_declined: fails exactly those rules" in got


def test_a_decline_counted_wrong_is_caught() -> None:
    br, res, facts = _declined_round()
    [k] = [i for i, x in enumerate(res.open_slots[0].details or []) if x["code"] == "pairwise_only"]
    parts = [{"code": "pairwise_declined", "params": {"count": 2}}]
    bad = _with_detail(res, "P1", k, {"rule_parts": parts})
    assert "P1: pairwise_only: counts per rule" in check_claims(br, bad, backfill=facts)


def test_a_decline_said_as_the_coordinators_forbid_is_caught() -> None:
    """The old wording ('the coordinator forbade this volunteer at P1'), true of the
    backfill round's encoding but false of the coordinator, is caught with the facts."""
    from volmatch.matching.to_result import build_result

    br, res, facts = _declined_round()
    raw = build_result(prepare(br), _solution_of(br, res), "optimal")
    assert check_claims(br, raw) == []  # without the facts: the encoding's truth
    got = check_claims(br, raw, backfill=facts)
    assert "P1: closest_volunteer: a forbid is the coordinator's" in got
    assert "P1: pairwise_only: counts per rule" in got


def test_backfill_codes_outside_a_backfill_are_refused() -> None:
    br, res, _ = _declined_round()
    assert "P1: closest_declined: said outside a backfill" in check_claims(br, res)
    [v1] = [u for u in res.unmatched_volunteers if u.volunteer == "V1"]
    assert v1.details[0]["code"] == "declined_offer"
    assert "V1: declined_offer: said outside a backfill" in check_claims(br, res)


def _solution_of(r: Round, res: Result) -> Any:
    """The `Solution` of result `res` of round `r` (its assignments as pair indices)."""
    import numpy as np

    from volmatch.matching.prepared import Solution
    from volmatch.matching.previous import pair_index

    prep = prepare(r)
    c = prep.compiled
    v = np.array([c.vindex[a.volunteer] for a in res.assignments], dtype=np.int64)
    p = np.array([c.pindex[a.placement] for a in res.assignments], dtype=np.int64)
    chosen = np.sort(pair_index(c, prep.pairs, v, p)).astype(np.intp)
    return Solution(chosen=chosen, status="optimal", objective=res.objective, bound=res.bound)
