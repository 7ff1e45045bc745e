"""Small factories for hand-written rounds."""

from __future__ import annotations

import copy
from typing import Any


def vol(id: str = "V1", **kw: Any) -> dict[str, Any]:
    v: dict[str, Any] = {
        "id": id,
        "nationality": "CN",
        "languages": {"en": "B2"},
        "skills": {"teaching": 3},
        "training": ["pre-deployment"],
        "available_from": "2027-03-01",
        "available_until": "2028-06-30",
    }
    v.update(kw)
    return v


def plc(id: str = "P1", **kw: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "id": id,
        "host": "H1",
        "country": "NP",
        "start_earliest": "2027-04-01",
        "start_latest": "2027-05-01",
    }
    p.update(kw)
    return p


def doc(vols: list[dict[str, Any]], pls: list[dict[str, Any]], **policy: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"volunteers": copy.deepcopy(vols), "placements": copy.deepcopy(pls)}
    if policy:
        d["policy"] = policy
    return d


COUNTRIES = ("NP", "KE", "SN", "VN", "GH", "TZ", "KH", "RW")


def big_round_and_result(
    n_volunteers: int, n_placements: int, placed_share: float = 0.9
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A valid round document and a result of its shape (not solved: made up, with every
    placement taking enough slots), for tests of paging and rendering large results."""
    pls = [
        plc(
            f"P{k:05d}",
            host=f"H{k % 37:02d}",
            country=COUNTRIES[k % len(COUNTRIES)],
            title=f"need {k}",
            priority=1 + k % 5,
            slots=max(1, -(-n_volunteers // n_placements)),
        )
        for k in range(n_placements)
    ]
    vols = [vol(f"V{k:06d}", name=f"Person {k}") for k in range(n_volunteers)]
    n_placed = int(n_volunteers * placed_share)
    assignments = [
        {
            "volunteer": f"V{k:06d}",
            "placement": f"P{k % n_placements:05d}",
            "score": 500 + (k * 7919) % 600,
            "start": "2027-04-01",
            "months": 6 + k % 7,
            "breakdown": {"placed": 500, "skills": (k * 7919) % 600},
        }
        for k in range(n_placed)
    ]
    unmatched = [
        {
            "volunteer": f"V{k:06d}",
            "reasons": ["eligible for 0 placement(s)"],
            "cost": None,
            "best_placement": None,
            "details": [{"code": "no_placement_accepts", "params": {"placements": n_placements}}],
        }
        for k in range(n_placed, n_volunteers)
    ]
    result = {
        "status": "optimal",
        "mode": "optimal",
        "objective": sum(a["score"] for a in assignments),
        "bound": sum(a["score"] for a in assignments),
        "assignments": assignments,
        "unmatched_volunteers": unmatched,
        "open_slots": [],
        "kpis": {"volunteers": n_volunteers, "volunteers_matched": n_placed},
        "stats": {},
    }
    return {"volunteers": vols, "placements": pls}, result
