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
