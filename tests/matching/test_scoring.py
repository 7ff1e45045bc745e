"""Scores of eligible pairs (`matching.scoring`): each component on hand-made pairs with
known points, and the total the sum of its components."""

from __future__ import annotations

from typing import Any

from hypothesis import given

from tests.helpers import doc, plc, vol
from tests.strategies import round_docs
from volmatch.matching import COMPONENTS, prepare
from volmatch.models import parse_round


def breakdown(d: dict[str, Any]) -> dict[tuple[str, str], dict[str, int]]:
    prep = prepare(parse_round(d))
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    return {
        (c.volunteer_ids[int(pairs.v[i])], c.placement_ids[int(pairs.p[i])]): scores.breakdown(i)
        for i in range(len(pairs))
    }


def test_each_component_scores_its_fit_times_its_weight() -> None:
    got = breakdown(
        doc(
            [vol("V1", skills={"teaching": 3}, preferences=["P2", "P1"])],
            [
                plc("P1", desired_skills={"teaching": 5}, priority=3, ranking=["V1"]),
                plc("P2", desired_languages={"en": "C2"}, priority=5),
            ],
        )
    )
    # skills 300 x 3/5; languages asked for nothing: full; priority (3 - 1) / 4 x 200;
    # preference: second of two choices, 1/2 x 200; ranking: first of one, 100
    assert got[("V1", "P1")] == {
        "placed": 500,
        "skills": 180,
        "languages": 200,
        "preference": 100,
        "ranking": 100,
        "priority": 100,
    }
    # languages: B2 (rank 4) of C2 (rank 6) asked; first choice; priority 5: full
    assert got[("V1", "P2")] == {
        "placed": 500,
        "skills": 300,
        "languages": 133,
        "preference": 200,
        "priority": 200,
    }


def test_weights_scale_the_components() -> None:
    got = breakdown(
        doc(
            [vol("V1", skills={"teaching": 3})],
            [plc("P1", desired_skills={"teaching": 5}, priority=1)],
            weights={"placed": 1, "skills": 1000, "languages": 0},
        )
    )
    assert got[("V1", "P1")] == {"placed": 1, "skills": 600}


@given(round_docs())
def test_the_total_is_the_sum_of_the_components(d: dict[str, Any]) -> None:
    prep = prepare(parse_round(d))
    scores = prep.scores
    assert list(scores.components) == list(COMPONENTS)
    assert (sum(scores.components.values()) == scores.total).all()
    assert (scores.total > 0).all()
