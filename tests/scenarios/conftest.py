"""Fixtures of the scenario tests: the demo round, a scenario with every kind of
variant (ones that fail too) and a sweep, and its comparison, computed once."""

from __future__ import annotations

from typing import Any

import pytest

from volmatch.models import Round, load_round
from volmatch.scenarios.demo import demo_round_path
from volmatch.scenarios.model import Scenario, parse_scenario
from volmatch.scenarios.runner import run_scenario

_DOC: dict[str, Any] = {
    "name": "test",
    "base": "x.json",
    "seed": 3,
    "variants": [
        {
            "name": "nepal-a2",
            "changes": [
                {
                    "update": "placements",
                    "where": {"country": "NP"},
                    "set": {"required_languages.en": "A2"},
                }
            ],
        },
        {
            "name": "myanmar-paused",
            "changes": [{"remove": "placements", "where": {"country": "MM"}}],
        },
        {
            "name": "french",
            "changes": [
                {
                    "generate": "volunteers",
                    "count": 15,
                    "like": {"training": "pre-deployment"},
                    "choose": {"languages.fr": ["B2", "C1"]},
                }
            ],
        },
        {
            "name": "overlocked",
            "changes": [
                {
                    "policy": {
                        "locked": [
                            {"volunteer": "V001", "placement": "P003"},
                            {"volunteer": "V002", "placement": "P003"},
                        ]
                    }
                }
            ],
        },
        {
            "name": "too-urgent",
            "changes": [
                {"update": "placements", "where": {"country": "KE"}, "set": {"priority": 6}}
            ],
        },
    ],
    "sweeps": [{"name": "urgency", "parameter": "policy.weights.priority", "values": [0, 400]}],
}


@pytest.fixture(scope="package")
def base() -> Round:
    return load_round(demo_round_path())


@pytest.fixture(scope="package")
def scenario() -> Scenario:
    return parse_scenario(_DOC)


@pytest.fixture(scope="package")
def comparison(base: Round, scenario: Scenario) -> Any:
    return run_scenario(base, scenario)
