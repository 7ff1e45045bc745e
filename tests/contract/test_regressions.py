"""Faults the generated shapes found, each on the smallest round that shows it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.contract.checks import check_hard_rules, check_optimal, check_policy_rules
from tests.helpers import doc, plc, vol
from volmatch.api.cli import app
from volmatch.matching import solve_round
from volmatch.matching.claims import check_claims
from volmatch.models import parse_round

runner = CliRunner()


def _cli_json(*args: str) -> Any:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def _write(tmp_path: Path, d: dict[str, Any]) -> Path:
    path = tmp_path / "round.json"
    path.write_text(json.dumps(d))
    return path


# V1 serves 3 months and is gone by August; P1 asks 6-12 months from October: the
# lengths do not overlap (rule 4) and the dates do not fit either (rule 5, with
# dmin = 6), so a longer commitment alone would not admit V1.
LENGTH_AND_DATES = doc(
    [
        vol(
            "V1",
            available_from="2027-03-01",
            available_until="2027-08-01",
            min_months=3,
            max_months=3,
        )
    ],
    [plc("P1", start_earliest="2027-10-01", start_latest="2027-10-01")],
)


def test_length_and_dates_both_failing_are_both_said(tmp_path: Path) -> None:
    path = _write(tmp_path, LENGTH_AND_DATES)
    pair = _cli_json("explain", str(path), "--volunteer", "V1", "--json")["pairs"][0]
    assert set(pair["failed_rules"]) == {"length", "dates"}
    advice = _cli_json("advise", str(path), "--placement", "P1", "--json")
    assert advice["rules"]["length"] == {"fail": 1, "only": 0}
    assert advice["rules"]["dates"] == {"fail": 1, "only": 0}
    r = parse_round(LENGTH_AND_DATES)
    result = solve_round(r)
    (closest,) = [
        d for d in result.unmatched_volunteers[0].details if d["code"] == "closest_placement"
    ]
    assert set(closest["params"]["rules"]) == {"length", "dates"}
    assert check_claims(r, result) == []
    res = result.model_dump(mode="json")
    check_hard_rules(LENGTH_AND_DATES, res)
    check_optimal(LENGTH_AND_DATES, res)


def test_backfill_reasons_of_the_declined_and_the_withdrawn_have_details(tmp_path: Path) -> None:
    # every reason is also a structured part, in the same order (the contract's result)
    d = doc([vol("V1"), vol("V2")], [plc("P1"), plc("P2")])
    path = _write(tmp_path, d)
    res_path, out = tmp_path / "result.json", tmp_path / "proposal.json"
    runner.invoke(app, ["solve", str(path), "--out", str(res_path), "--quiet"])
    placed = {
        a["volunteer"]: a["placement"] for a in json.loads(res_path.read_text())["assignments"]
    }
    other = next(p for p in ("P1", "P2") if p != placed["V1"])
    args = ["backfill", str(path), "--result", str(res_path), "--declined", "V1"]
    res = runner.invoke(app, [*args, "--withdrawn", other, "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    prop = json.loads(out.read_text())
    (v1,) = [u for u in prop["unmatched_volunteers"] if u["volunteer"] == "V1"]
    assert [d["code"] for d in v1["details"]] == ["declined_offer"]
    assert v1["reasons"] == [f"declined the offer at {placed['V1']}, or let it expire"]
    (gone,) = [o for o in prop["open_slots"] if o["placement"] == other]
    assert [d["code"] for d in gone["details"]] == ["withdrawn_by_host"]
    assert gone["reasons"] == ["withdrawn by the host"]


def test_a_forced_move_does_not_lift_the_move_limit_for_everyone() -> None:
    # V1's previous pair breaks a hard rule now (P1 asks for a skill V1 lacks), so V1
    # moves whatever max_moves says; the limit of 0 must still keep V2 at P2 although
    # V2 prefers P3 (it was dropped for the round, with a conflict blaming "the locks")
    d = doc(
        [vol("V1"), vol("V2", preferences=["P3"])],
        [plc("P1", required_skills={"wash": 2}), plc("P2", slots=2), plc("P3")],
        max_moves=0,
    )
    d["previous"] = [{"volunteer": "V1", "placement": "P1"}, {"volunteer": "V2", "placement": "P2"}]
    res = solve_round(parse_round(d)).model_dump(mode="json")
    assert {(a["volunteer"], a["placement"]) for a in res["assignments"]} == {
        ("V1", "P2"),
        ("V2", "P2"),
    }
    assert not res.get("conflicts")
    check_hard_rules(d, res)
    check_policy_rules(d, res)


def test_a_dropped_move_limit_does_not_blame_locks_the_round_has_not() -> None:
    # a couple split over two placements before: together now, one of them moves, so
    # max_moves 0 cannot hold, and no lock is involved
    d = doc(
        [vol("V1", group="c1"), vol("V2", group="c1")], [plc("P1", slots=2), plc("P2")], max_moves=0
    )
    d["previous"] = [{"volunteer": "V1", "placement": "P1"}, {"volunteer": "V2", "placement": "P2"}]
    res = solve_round(parse_round(d)).model_dump(mode="json")
    (conflict,) = res["conflicts"]
    assert conflict["rule"] == "max_moves"
    assert "(the locks)" not in conflict["message"]
    check_hard_rules(d, res)


def test_previous_pairs_beyond_the_slots_do_not_lift_the_move_limit() -> None:
    # V1 and V2 were both at P1, which now has one slot: one of them moves whatever
    # max_moves says; the limit of 0 must still keep V3 at P2 although V3 prefers P3
    d = doc(
        [vol("V1"), vol("V2"), vol("V3", preferences=["P3"])],
        [plc("P1"), plc("P2"), plc("P3"), plc("P4")],
        max_moves=0,
    )
    d["previous"] = [
        {"volunteer": "V1", "placement": "P1"},
        {"volunteer": "V2", "placement": "P1"},
        {"volunteer": "V3", "placement": "P2"},
    ]
    res = solve_round(parse_round(d)).model_dump(mode="json")
    at = {a["volunteer"]: a["placement"] for a in res["assignments"]}
    assert at["V3"] == "P2" and "P1" in (at.get("V1"), at.get("V2"))
    assert not res.get("conflicts")
    check_hard_rules(d, res)
    check_policy_rules(d, res)


def test_a_path_of_minus_one_point_is_a_path(tmp_path: Path) -> None:
    # V1 at P2 costs 1 point (V3 moves from P2 to P1 and gains 1 on the way back): the
    # residual network's distance of -1 was read as "no path", and explain said a lock
    # holds V1 in a round without locks; advise gave no regret
    fixture = Path(__file__).parent / "fixtures" / "path_of_minus_one_point.json"
    d = json.loads(fixture.read_text())
    for mode, code in (("optimal", "pair_regret"), ("stable", "pair_regret_hard_rules")):
        path = _write(tmp_path, {**d, "policy": {**d["policy"], "mode": mode}})
        pairs = _cli_json("explain", str(path), "--volunteer", "V1", "--json")["pairs"]
        (p2,) = [p for p in pairs if p["placement"] == "P2"]
        assert (p2["regret"], p2["reason"]["code"]) == (1, code)
    path = _write(tmp_path, d)
    recs = _cli_json("advise", str(path), "--volunteer", "V1", "--json")["recommendations"]
    assert {r["placement"]: r["regret"] for r in recs} == {"P1": 0, "P2": 1}


def test_an_open_slot_after_a_decline_says_declined_not_the_coordinator_forbade(
    tmp_path: Path,
) -> None:
    # one volunteer, one placement, V1 declines: P1's closest volunteer was said to be
    # forbidden by the coordinator, who forbade nothing
    path = _write(tmp_path, doc([vol("V1")], [plc("P1")]))
    res_path, out = tmp_path / "result.json", tmp_path / "proposal.json"
    runner.invoke(app, ["solve", str(path), "--out", str(res_path), "--quiet"])
    args = ["backfill", str(path), "--result", str(res_path), "--declined", "V1"]
    res = runner.invoke(app, [*args, "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    (slot,) = json.loads(out.read_text())["open_slots"]
    assert slot["reasons"][-1] == "closest: V1, who declined the offer at P1, or let it expire"
    assert [d["code"] for d in slot["details"]][-1] == "closest_declined"
    assert not any("forbade" in s or "forbidden" in s for s in slot["reasons"])
