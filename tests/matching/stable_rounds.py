"""Stable-mode round documents and solves shared by the stable tests."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from volmatch.matching.prepared import Prepared, prepare
from volmatch.matching.stable import solve_stable
from volmatch.models import Round, parse_round

BASE_V: dict[str, Any] = {
    "nationality": "CN",
    "training": ["pre-deployment"],
    "available_from": "2027-01-01",
    "available_until": "2028-12-31",
}
"""What every volunteer of these rounds has: eligible for every placement."""
BASE_P: dict[str, Any] = {
    "host": "H1",
    "country": "KE",
    "start_earliest": "2027-02-01",
    "start_latest": "2027-06-01",
}
"""What every placement of these rounds has."""


def doc(vols: list[dict[str, Any]], pls: list[dict[str, Any]], **policy: Any) -> dict[str, Any]:
    """A stable-mode round of these volunteers and placements."""
    return {
        "volunteers": [{**BASE_V, **v} for v in vols],
        "placements": [{**BASE_P, **p} for p in pls],
        "policy": {"mode": "stable", **policy},
    }


def with_side(d: dict[str, Any], side: str) -> dict[str, Any]:
    """A copy of the round with `stable_side` set."""
    d = copy.deepcopy(d)
    d.setdefault("policy", {})["stable_side"] = side
    return d


def matching_of(prep: Prepared, chosen: np.ndarray) -> dict[str, str]:
    """Volunteer id -> placement id of the chosen pairs."""
    c = prep.compiled
    return {
        c.volunteer_ids[int(prep.pairs.v[i])]: c.placement_ids[int(prep.pairs.p[i])]
        for i in chosen.tolist()
    }


def solve(d: dict[str, Any]) -> tuple[Round, Prepared, dict[str, str], dict[str, Any]]:
    """The round, its preparation, its stable matching and what stable mode says of it."""
    r = parse_round(d)
    prep = prepare(r)
    sol = solve_stable(prep)
    return r, prep, matching_of(prep, sol.chosen), sol.extra["stable"]  # type: ignore[return-value]
