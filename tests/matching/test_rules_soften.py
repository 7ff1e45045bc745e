"""Rules that cannot all hold (`matching.rules.soften`): a rule dropped for the round,
and the bound that still holds then."""

from __future__ import annotations

from volmatch.matching import solve_round
from volmatch.models import parse_round


def test_a_softened_round_reports_the_bound_of_the_flow_without_rules() -> None:
    """When a rule is dropped for the round, the relaxation (which assumed it) no longer
    bounds the result: the bound is the optimum without any rule."""
    from tests.helpers import doc, plc, vol

    vols = [vol(f"V{i}", nationality="CN") for i in range(3)]
    d = doc(vols, [plc("P1", slots=3), plc("P2", slots=3)],
            max_same_nationality_per_placement=2, max_moves=0)
    d["previous"] = [{"volunteer": f"V{i}", "placement": "P1"} for i in range(3)]
    r = parse_round(d)
    result = solve_round(r)
    assert any(c.get("softened") for c in result.conflicts)  # type: ignore[attr-defined]
    pure = solve_round(parse_round({k: v for k, v in d.items() if k not in ("policy",
                                                                             "previous")}))
    assert result.bound == pure.objective >= result.objective
