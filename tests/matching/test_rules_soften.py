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
    d = doc(
        vols,
        [plc("P1", slots=3), plc("P2", slots=3)],
        max_same_nationality_per_placement=2,
        max_moves=0,
    )
    d["previous"] = [{"volunteer": f"V{i}", "placement": "P1"} for i in range(3)]
    r = parse_round(d)
    result = solve_round(r)
    assert any(c.get("softened") for c in result.conflicts)  # type: ignore[attr-defined]
    pure = solve_round(parse_round({k: v for k, v in d.items() if k not in ("policy", "previous")}))
    assert result.bound == pure.objective >= result.objective


def test_two_locks_over_a_nationality_cap_are_named_record_by_record() -> None:
    """Two locks putting two CN volunteers where the cap is one: the conflict names
    those locks and that cap, and no rule the round does not use (no groups)."""
    import pytest

    from tests.helpers import doc, plc, vol
    from volmatch.models import InfeasibleRound

    vols = [vol("V001"), vol("V002"), vol("V003", nationality="KE")]
    pls = [plc("P009", slots=3), plc("P010", host="H2")]
    d = doc(
        vols,
        pls,
        max_same_nationality_per_placement=1,
        max_per_host=3,
        locked=[
            {"volunteer": "V001", "placement": "P009"},
            {"volunteer": "V002", "placement": "P009"},
        ],
    )
    with pytest.raises(InfeasibleRound) as exc:
        solve_round(parse_round(d))
    conflicts = exc.value.conflicts
    assert {c.rule for c in conflicts} == {"locked", "nationality_per_placement"}
    msg = conflicts[0].message
    assert msg == "locks V001->P009 and V002->P009: 2 volunteers of CN at P009 where the cap is 1"
    locked = next(c for c in conflicts if c.rule == "locked")
    assert set(locked.volunteers) == {"V001", "V002"} and locked.placements == ("P009",)
    assert "groups" not in str(exc.value)


def test_a_conflict_is_minimal_among_many_locks() -> None:
    """Five locks, two of them over a host cap of one: only those two and the cap."""
    import pytest

    from tests.helpers import doc, plc, vol
    from volmatch.models import InfeasibleRound

    vols = [vol(f"V{i}", nationality=n) for i, n in enumerate(["CN", "KE", "ID", "IN", "BR"])]
    pls = [plc("P1", host="H1"), plc("P2", host="H1"), plc("P3", host="H2", slots=3)]
    locks = [("V0", "P1"), ("V1", "P2"), ("V2", "P3"), ("V3", "P3"), ("V4", "P3")]
    d = doc(vols, pls, max_per_host=2, locked=[{"volunteer": v, "placement": p} for v, p in locks])
    # H1's two locks keep its cap of two; H2's three break it
    with pytest.raises(InfeasibleRound) as exc:
        solve_round(parse_round(d))
    msg = exc.value.conflicts[0].message
    assert msg.startswith("locks V2->P3, V3->P3 and V4->P3: 3 volunteers at host H2")
    assert "V0" not in msg and "V1" not in msg
