"""The pool cache: built off the request path, read again only for the changed
records, and after any change equal to a pool compiled from scratch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.service.helpers import placements, store, volunteers
from volmatch.api.service import pool_cache as pc
from volmatch.api.service.pool import store_volunteers
from volmatch.matching.feasibility import feasibility
from volmatch.models import Placement, Volunteer


def _counts(compiled: Any) -> list[dict[str, object]]:
    return [feasibility(compiled, Placement.model_validate(p)).as_dict() for p in placements()]


def _put(db: Any, docs: list[dict[str, Any]]) -> None:
    with db.write() as s:
        store_volunteers(s, [Volunteer.model_validate(d) for d in docs])


def test_a_change_reads_again_only_the_changed_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = store(f"sqlite:///{tmp_path / 'pool.db'}")
    _put(db, volunteers())
    cache = pc.PoolCache()
    with db.read() as s:
        assert cache.ready(s) is None
        first = cache.compiled(s)
        assert cache.ready(s) is first and cache.compiled(s) is first
    validated: list[str] = []
    real = pc.pool_volunteer

    def counting(data: dict[str, Any]) -> Volunteer:
        validated.append(data["id"])
        return real(data)

    monkeypatch.setattr(pc, "pool_volunteer", counting)
    changed = {**volunteers()[3], "skills": {"nursing": 1}}
    _put(db, [changed, {**volunteers()[1], "id": "V9"}])
    with db.read() as s:
        assert cache.ready(s) is None
        again = cache.compiled(s)
        assert sorted(validated) == ["V4", "V9"]
        fresh = pc.PoolCache().compiled(s)
    assert again.volunteer_ids == fresh.volunteer_ids == sorted([*first.volunteer_ids, "V9"])
    assert _counts(again) == _counts(fresh) != _counts(first)


def test_warm_builds_on_a_background_thread(tmp_path: Path) -> None:
    db, _ = store(f"sqlite:///{tmp_path / 'pool.db'}")
    _put(db, volunteers())
    cache = pc.PoolCache()
    cache.warm(db)
    cache.stop(timeout=30)
    with db.read() as s:
        built = cache.ready(s)
        assert built is not None
        assert _counts(built) == _counts(pc.PoolCache().compiled(s))
    db.dispose()
