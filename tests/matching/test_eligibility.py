"""Eligibility (`matching.eligibility`): each hard rule of the contract on a pair that
passes it and one that fails it (with the reason the explanation gives), the bitset
path against the dense one and the independent validator, and the batched rule tables
against the per-volunteer ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import doc, plc, vol
from tests.strategies import round_docs
from volmatch.matching import compile_round, dense_pairs, find_pairs, solve_round
from volmatch.matching.eligibility import (
    RULES,
    first_in_most,
    requirement_index,
    separable_rule_masks,
    set_bits_by_row,
    unique_rows,
    unpack_members,
    volunteer_rule_failures,
    volunteer_rule_table,
)
from volmatch.matching.explain import pair_failure_details
from volmatch.matching.validate import pair_violations
from volmatch.models import parse_round


def eligible(d: dict[str, Any]) -> bool:
    return len(find_pairs(compile_round(parse_round(d)))) == 1


def failure(d: dict[str, Any]) -> dict[str, str]:
    c = compile_round(parse_round(d))
    return pair_failure_details(c, 0, 0)


CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any], str]] = [
    # rule, passing (vol, plc), failing (vol, plc), words in the reason
    (
        "skills",
        {"skills": {"teaching": 3}},
        {"required_skills": {"teaching": 3}},
        {"skills": {"teaching": 2}},
        {"required_skills": {"teaching": 3}},
        "teaching 3 (has 2)",
    ),
    (
        "languages",
        {"languages": {"fr": "B2"}},
        {"required_languages": {"fr": "B2"}},
        {"languages": {"fr": "B1"}},
        {"required_languages": {"fr": "B2"}},
        "French B2 (has B1)",
    ),
    (
        "training",
        {"training": ["pre-deployment", "security"]},
        {"required_training": ["security"]},
        {"training": ["pre-deployment"]},
        {"required_training": ["security"]},
        "'security'",
    ),
    (
        "length",
        {"min_months": 6, "max_months": 9},
        {"min_months": 9, "max_months": 12},
        {"min_months": 6, "max_months": 8},
        {"min_months": 9, "max_months": 12},
        "serves 6-8 months",
    ),
    (
        "dates",
        {"available_until": "2027-10-01"},
        {"min_months": 6},
        {"available_until": "2027-09-30"},
        {"min_months": 6},
        "available 2027-03-01..2027-09-30",
    ),
    (
        "country",
        {"nationality": "CN"},
        {"country": "NP"},
        {"nationality": "NP"},
        {"country": "NP"},
        "own country (Nepal)",
    ),
    (
        "security",
        {"security_clearance": 2},
        {"security_level": 2},
        {"security_clearance": 1},
        {"security_level": 2},
        "clearance 2, has 1",
    ),
    (
        "age",
        {"birth_date": "1999-04-01"},
        {"age_max": 28},
        {"birth_date": "1999-03-31"},
        {"age_max": 27},
        "ages 0-27; they are 28",
    ),
]


@pytest.mark.parametrize(
    ("rule", "pv", "pp", "fv", "fp", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_rule_passes_and_fails_with_a_reason(
    rule: str,
    pv: dict[str, Any],
    pp: dict[str, Any],
    fv: dict[str, Any],
    fp: dict[str, Any],
    words: str,
) -> None:
    assert eligible(doc([vol(**pv)], [plc(**pp)]))
    bad = doc([vol(**fv)], [plc(**fp)])
    assert not eligible(bad)
    reasons = failure(bad)
    assert list(reasons) == [rule]
    assert words in reasons[rule]


def test_excluded_country_fails() -> None:
    d = doc([vol(excluded_countries=["NP"])], [plc(country="NP")])
    assert not eligible(d)
    assert "which they excluded" in failure(d)["country"]


def test_own_country_allowed_when_not_international_only() -> None:
    d = doc([vol(nationality="NP")], [plc(country="NP")], international_only=False)
    assert eligible(d)


def test_policy_training_is_required() -> None:
    d = doc([vol(training=[])], [plc()])
    assert not eligible(d)
    result = solve_round(parse_round(d))
    assert "'pre-deployment'" in result.unmatched_volunteers[0].reasons[0]


def test_age_needs_a_birth_date() -> None:
    d = doc([vol()], [plc(age_min=18)])
    assert not eligible(d)
    assert "no birth date" in failure(d)["age"]


def test_forbidden_pair_fails() -> None:
    d = doc([vol()], [plc()], forbidden=[{"volunteer": "V1", "placement": "P1"}])
    assert not eligible(d)
    assert list(failure(d)) == ["forbidden"]


def test_start_is_latest_of_both_and_months_the_longest_that_fit() -> None:
    d = doc(
        [vol(available_from="2027-04-15", available_until="2028-01-31", max_months=12)],
        [plc(start_earliest="2027-04-01", start_latest="2027-05-01", max_months=12)],
    )
    a = solve_round(parse_round(d)).assignments[0]
    assert str(a.start) == "2027-04-15" and a.months == 9  # 15 Jan + ... 15 Jan 2028 fits


def test_start_after_latest_start_fails() -> None:
    d = doc([vol(available_from="2027-05-02")], [plc(start_latest="2027-05-01")])
    assert list(failure(d)) == ["dates"]


@given(round_docs())
def test_bitset_eligibility_equals_rule_by_rule_check(d: dict[str, Any]) -> None:
    r = parse_round(d)
    c = compile_round(r)
    fast, dense = find_pairs(c), dense_pairs(c)
    assert np.array_equal(fast.v, dense.v) and np.array_equal(fast.p, dense.p)
    assert np.array_equal(fast.start, dense.start)
    assert np.array_equal(fast.months, dense.months)
    # and both agree with the independent plain-Python rules
    eligible = {(int(v), int(p)) for v, p in zip(fast.v, fast.p, strict=True)}
    for vi, v in enumerate(c.volunteers):
        for pi, p in enumerate(c.placements):
            assert ((vi, pi) in eligible) == (pair_violations(r, v, p) == [])


@settings(max_examples=40)
@given(round_docs(max_volunteers=12, max_placements=7))
def test_batched_rule_tables_equal_the_per_volunteer_ones_and_the_validator(
    d: dict[str, Any],
) -> None:
    r = parse_round(d)
    c = compile_round(r)
    vis = np.arange(c.n_volunteers, dtype=np.int64)[::-1]
    fails = volunteer_rule_failures(c, vis)
    counts = fails.counts()
    n_fail = fails.n_fail()
    assert n_fail.dtype == np.uint8 and list(counts) == list(RULES)
    rows = np.repeat(np.arange(len(vis)), c.n_placements)
    pis = np.tile(np.arange(c.n_placements), len(vis))
    passes = fails.passes(rows, pis)
    for k, vi in enumerate(vis.tolist()):
        table = volunteer_rule_table(c, vi)
        expect = np.sum([(~t).astype(np.int64) for t in table.values()], axis=0)
        assert np.array_equal(n_fail[k], expect)
        for rule, ok in table.items():
            assert counts[rule][k] == int((~ok).sum())
            got = passes[rule][k * c.n_placements : (k + 1) * c.n_placements]
            assert np.array_equal(got, ok)
        # each rule's verdict is the validator's, pair by pair (for the volunteers who
        # have the policy's training: the others are explained by that alone)
        if not c.policy_trained[vi]:
            continue
        for pi, p in enumerate(c.placements):
            broken = pair_violations(r, c.volunteers[vi], p)
            assert [rule for rule in RULES if not table[rule][pi]] == broken
    # the placements' masks, one placement at a time and by classes
    index = requirement_index(c)
    by_class = separable_rule_masks(c)
    for pi in range(c.n_placements):
        one = index.placement_masks(pi)
        assert set(by_class) == set(one) - {"dates"}
        for rule, (masks, cls) in by_class.items():
            assert np.array_equal(masks[cls[pi]], one[rule])
    rows_, members = set_bits_by_row(np.stack([m[0] for m, _ in by_class.values()]))
    for k, (masks, _) in enumerate(by_class.values()):
        expect_m = unpack_members(masks[0], c.n_volunteers)
        assert np.array_equal(members[rows_ == k], expect_m)


@settings(max_examples=60)
@given(st.data())
def test_first_in_most_is_argmax_of_the_counts(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 200))
    k = data.draw(st.integers(1, 6))
    n_rows = data.draw(st.integers(1, 4))
    words = (n + 63) // 64
    masks = []
    for _ in range(k):
        bits = np.array(
            data.draw(st.lists(st.booleans(), min_size=n_rows * n, max_size=n_rows * n)),
            dtype=bool,
        ).reshape(n_rows, n)
        packed = np.zeros((n_rows, words * 8), dtype=np.uint8)
        packed[:, : (n + 7) // 8] = np.packbits(bits, axis=1, bitorder="little")
        masks.append(packed.view(np.uint64))
    got = first_in_most(masks, n)
    for row in range(n_rows):
        total = sum(
            np.unpackbits(m[row].view(np.uint8), bitorder="little")[:n].astype(np.int64)
            for m in masks
        )
        assert got[row] == int(np.argmax(total))


def test_unique_rows_is_numpys() -> None:
    rng = np.random.default_rng(1)
    for width, base in ((1, 7), (3, 50), (4, 2000), (6, 2000)):
        rows = rng.integers(0, base, (500, width)).astype(np.int32)
        uniq, inv = unique_rows(rows, base)
        expect_u, expect_i = np.unique(rows, axis=0, return_inverse=True)
        assert np.array_equal(uniq, expect_u)
        assert np.array_equal(inv, expect_i.reshape(-1))
