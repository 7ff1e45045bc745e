"""A scenario typed as text: every error on the line it is about."""

from __future__ import annotations

import pytest

from volmatch.scenarios.source import ScenarioTextError, parse_scenario_text

GOOD = """\
name: t
base: somewhere-else.json
variants:
  - name: a
    changes:
      - policy: {weights.priority: 400}
sweeps:
  - name: w
    values: [A1, B2]
    changes:
      - update: placements
        where: {country: NP}
        set: {required_languages.en: $value}
"""


def _errors(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ScenarioTextError) as exc:
        parse_scenario_text(text, "R1")
    return [(e.line, e.message) for e in exc.value.errors]


def test_a_good_text_is_based_on_the_stored_round() -> None:
    s = parse_scenario_text(GOOD, "R1")
    assert s.base.round_id == "R1" and s.base.file is None
    assert [v.name for v in s.variants] == ["a", "w=A1", "w=B2"]


def test_errors_name_their_lines() -> None:
    bad = GOOD.replace(
        "policy: {weights.priority: 400}",
        "policy: {weights.priority: 400}\n      - update: volunteers\n"
        "        where: {colour: red}\n        set: {min_months: 7}",
    )
    assert [line for line, _ in _errors(bad)] == [7]
    sweep = GOOD.replace("where: {country: NP}", "where: {shade: NP}")
    lines = _errors(sweep)
    assert lines and all(line == 11 for line, _ in lines)  # the sweep's change
    assert _errors(GOOD + "bogus: 1\n")[0][0] == 14
    assert _errors("name: [x\nvariants: 1\n")[0][0] == 2  # YAML syntax
    assert _errors("- a list\n")[0][0] == 1


def test_a_scenario_without_variants_says_so() -> None:
    assert "needs variants or sweeps" in _errors("name: nothing\n")[0][1]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("variants: " + "[" * 3000 + "]" * 3000, "nested more than"),
        ("variants: []\nvariants: []\n", "given twice"),
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{n}: &{n} [" + ", ".join([f"*{p}"] * 10) + "]\n"
                for p, n in zip("abcdef", "bcdefg", strict=True)
            )
            + "variants: []\n",
            "aliases",
        ),
    ],
    ids=["deep", "repeated-key", "aliases"],
)
def test_a_page_text_is_read_within_the_file_readers_bounds(text: str, says: str) -> None:
    """The planner page's text was read with plain yaml.safe_load: 3,000 levels of
    nesting raised RecursionError (a 500), a repeated key kept the last value."""
    with pytest.raises(ScenarioTextError) as err:
        parse_scenario_text(text, "0" * 32)
    assert any(says in e.message for e in err.value.errors), err.value.errors
