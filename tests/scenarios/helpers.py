"""A small round and one-variant scenarios for the scenario tests."""

from __future__ import annotations

from typing import Any

from tests.helpers import doc, plc, vol
from volmatch.models import Round, parse_round
from volmatch.scenarios.model import Variant, parse_scenario


def sample_round() -> Round:
    return parse_round(
        doc(
            [
                vol(
                    "V1",
                    languages={"en": "B2", "fr": "A2"},
                    skills={"teaching": 4},
                    preferences=["P1", "P2"],
                ),
                vol("V2", languages={"en": "B1"}, skills={"teaching": 2}, nationality="KE"),
                vol(
                    "V3",
                    languages={"en": "C1", "fr": "C1"},
                    skills={"nursing": 3},
                    training=["pre-deployment", "security"],
                ),
            ],
            [
                plc("P1", country="NP", host="H01", slots=3, required_languages={"en": "B1"}),
                plc("P2", country="MM", host="H02", required_skills={"teaching": 3}),
                plc("P3", country="KE", host="H01", priority=5, ranking=["V1", "V3"]),
            ],
            locked=[{"volunteer": "V1", "placement": "P2"}],
        )
    )


def make_variant(*changes: dict[str, Any], name: str = "v") -> Variant:
    s = parse_scenario({"base": "x.json", "variants": [{"name": name, "changes": list(changes)}]})
    return s.variants[0]


def placements_by_id(r: Round) -> dict[str, Any]:
    return {p.id: p for p in r.placements}
