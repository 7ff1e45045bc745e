"""Scenario files: errors collected with variant and change, sweeps expanded to named
variants, and the example files load and apply to the demo round."""

from __future__ import annotations

import pytest

from tests.scenarios.helpers import placements_by_id, sample_round
from volmatch.scenarios.changes import VariantInvalid, apply_variant, check_scenario
from volmatch.scenarios.demo import demo_round_path
from volmatch.scenarios.model import ScenarioError, load_scenario, parse_scenario


def test_scenario_errors_are_collected_with_variant_and_change() -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(
            {
                "base": "x.json",
                "variants": [
                    {"name": "a", "changes": [{"policy": {"seed": 1}}, {"frobnicate": 1}]},
                    {"name": "b", "changes": [{"update": "volunteers", "set": {}}]},
                    {"name": "a", "changes": []},
                ],
            }
        )
    text = [str(e) for e in exc.value.errors]
    assert any(t.startswith("variant 'a' change 2: a change needs exactly one") for t in text)
    assert any(t.startswith("variant 'b' change 1:") for t in text)
    assert any("two variants share this name" in t for t in text)
    s = parse_scenario(
        {
            "base": "x.json",
            "variants": [
                {
                    "name": "c",
                    "changes": [
                        {
                            "update": "volunteers",
                            "where": {"colour": "red"},
                            "set": {"min_months": 7},
                        }
                    ],
                }
            ],
        }
    )
    with pytest.raises(ScenarioError, match="variant 'c' change 1: colour: volunteers have no"):
        check_scenario(s)


def test_sweeps_expand_to_named_variants() -> None:
    s = parse_scenario(
        {
            "base": "x.json",
            "sweeps": [
                {
                    "name": "w",
                    "parameter": "policy.weights.priority",
                    "range": {"start": 0, "stop": 980, "step": 20},
                },
                {
                    "name": "en",
                    "values": ["A1", "A2"],
                    "changes": [
                        {
                            "update": "placements",
                            "where": {"country": "NP"},
                            "set": {"required_languages.en": "$value"},
                        }
                    ],
                },
            ],
        }
    )
    assert len(s.variants) == 52
    assert s.variants[0].name == "w=0" and s.variants[49].name == "w=980"
    assert [v.name for v in s.variants[50:]] == ["en=A1", "en=A2"]
    r = apply_variant(sample_round(), s.variants[51], 0)
    assert placements_by_id(r)["P1"].required_languages == {"en": "A2"}
    assert apply_variant(sample_round(), s.variants[7], 0).policy.weights.priority == 140
    with pytest.raises(ScenarioError, match="exactly one of values and range"):
        parse_scenario({"base": "x.json", "sweeps": [{"name": "z", "parameter": "policy.seed"}]})


def test_example_files_load_and_apply_to_the_demo_round() -> None:
    from pathlib import Path

    from volmatch.models import load_round

    base = load_round(demo_round_path())
    for path in sorted(Path(demo_round_path()).parents[1].glob("examples/*.yaml")):
        s = load_scenario(path)
        assert s.base_path() == demo_round_path()
        check_scenario(s)
        for v in s.variants:
            try:
                apply_variant(base, v, s.seed)
            except VariantInvalid:
                assert path.name == "infeasible.yaml"
