"""The rules benchmark family: its shapes build rounds the contract accepts, with the
groups, budgets and previous assignments they promise, and a row per solve (small
rounds only: the family itself is never part of the test run)."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.rules_family import SHAPES, Shape, add_groups, build_round, measure
from volmatch.models import parse_round

SMALL = (300, 60)


def test_at_least_eight_shapes_with_distinct_names() -> None:
    names = [s.name for s in SHAPES]
    assert len(names) >= 8
    assert len(set(names)) == len(names)
    assert "current" in names


@pytest.mark.parametrize("size", [2, 3])
def test_groups_have_the_size_and_share_asked(size: int) -> None:
    vols = [{"id": f"V{i}"} for i in range(1000)]
    add_groups(vols, 0.1, size, seed=3)
    counts = Counter(v["group"] for v in vols if "group" in v)
    assert set(counts.values()) == {size}
    assert sum(counts.values()) == (100 // size) * size


@pytest.mark.parametrize("shape", [s for s in SHAPES if s.build is None], ids=lambda s: s.name)
def test_every_shape_builds_a_valid_round(shape: Shape) -> None:
    doc = build_round(shape, *SMALL, seed=1, limit=1.0)
    r = parse_round(doc)
    for key, value in shape.policy.items():
        got = getattr(r.policy, key)
        assert (list(got) if isinstance(got, tuple) else got) == value
    if shape.group_share:
        assert any(v.group for v in r.volunteers)
    if shape.budget_share is not None:
        assert r.policy.budget is not None and r.policy.budget.total > 0
    if shape.rematch_moves is not None:
        assert r.previous and r.policy.max_moves is not None


def test_a_row_reports_objective_bound_gap_and_where_time_went(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import benchmarks.rules_family as fam

    monkeypatch.setattr(fam, "ROUNDS", tmp_path)
    shape = next(s for s in SHAPES if s.name == "couples5-country")
    row = measure(shape, "200x40", seed=1, limit=1.0)
    assert row["violations"] == 0
    assert row["objective"] <= row["bound"]
    assert 0.0 <= row["gap"] < 1.0
    assert {"setup", "search"} <= set(row["solver_stages"])
    assert list(tmp_path.glob("couples5-country-200x40-s1.json"))
