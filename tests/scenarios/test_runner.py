"""Running scenarios: comparison numbers, determinism, failures reported, Dask = local."""

from __future__ import annotations

from typing import Any

import pytest

from volmatch.matching import solve_round, validate_result
from volmatch.models import Round
from volmatch.scenarios.changes import apply_variant
from volmatch.scenarios.compare import HEADLINE_KPIS, to_markdown
from volmatch.scenarios.model import Scenario
from volmatch.scenarios.runner import run_scenario


def test_kpis_and_moves_equal_separate_solves(
    base: Round, scenario: Scenario, comparison: Any
) -> None:
    base_res = solve_round(base)
    assert comparison.base["kpis"]["objective"] == base_res.objective
    base_at = {a.volunteer: a.placement for a in base_res.assignments}
    by_name = {v["name"]: v for v in comparison.variants}
    for v in scenario.variants:
        row = by_name[v.name]
        if row["status"] in ("invalid", "infeasible"):
            continue
        r = apply_variant(base, v, scenario.seed)
        res = solve_round(r)
        assert validate_result(r, res) == []
        assert row["kpis"]["objective"] == res.objective
        for k in HEADLINE_KPIS:
            if k != "objective":
                assert row["kpis"][k] == res.kpis[k], (v.name, k)
            want = res.objective if k == "objective" else res.kpis[k]
            was = comparison.base["kpis"][k]
            if isinstance(want, int | float) and isinstance(was, int | float):
                assert row["deltas"][k] == pytest.approx(want - was, abs=1e-4)
        now = {a.volunteer: a.placement for a in res.assignments}
        moved = {vid for vid in set(base_at) & set(now) if base_at[vid] != now[vid]}
        assert {m["volunteer"] for m in row["moves"] if m["kind"] == "moved"} == moved
        base_ids = {x.id for x in base.volunteers}
        newly = {vid for vid in now if vid not in base_at and vid in base_ids}
        assert {m["volunteer"] for m in row["moves"] if m["kind"] == "newly_matched"} == newly
        assert all(m["reasons"] for m in row["moves"])
        open_total = sum(n for cells in row["open_slots"].values() for n in cells.values())
        assert open_total == sum(o.open for o in res.open_slots)


def test_failures_are_reported_not_raised(comparison: Any) -> None:
    by_name = {v["name"]: v for v in comparison.variants}
    assert by_name["overlocked"]["status"] == "infeasible"
    assert any("P003" in e for e in by_name["overlocked"]["errors"])
    assert by_name["too-urgent"]["status"] == "invalid"
    assert all(
        e.startswith("variant 'too-urgent' change 1: placements P")
        for e in by_name["too-urgent"]["errors"]
    )
    assert "Variants that could not be solved" in to_markdown(comparison)


def test_sweep_and_changes_are_described(comparison: Any) -> None:
    (sweep,) = comparison.sweeps
    assert sweep["variants"] == ["urgency=0", "urgency=400"]
    by_name = {v["name"]: v for v in comparison.variants}
    assert by_name["urgency=400"]["value"] == 400
    assert by_name["urgency=400"]["reuse"] == "rescored"
    assert by_name["nepal-a2"]["changes"] == [
        "update placements where country=NP: required_languages.en=A2"
    ]


def test_same_file_same_seed_same_report(base: Round, scenario: Scenario, comparison: Any) -> None:
    again = run_scenario(base, scenario, workers=2)
    assert again.to_json() == comparison.to_json()


def test_dask_local_cluster_equals_local_run(
    base: Round, scenario: Scenario, comparison: Any
) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = run_scenario(base, scenario, client.get_executor())
    assert on_dask.to_json() == comparison.to_json()
