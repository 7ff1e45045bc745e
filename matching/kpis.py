"""Key figures of a round's result, computed on the compiled arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.compiled import CompiledRound
from volmatch.models.codes import GENDERS, URGENT_PRIORITY


def _share(num: NDArray[np.int64], den: NDArray[np.int64], labels: list[str]) -> dict[str, float]:
    return {
        labels[i]: round(float(num[i]) / float(den[i]), 4) for i in range(len(labels)) if den[i]
    }


def compute_kpis(
    c: CompiledRound,
    assigned_v: NDArray[np.int32] | NDArray[np.int64],
    assigned_p: NDArray[np.int32] | NDArray[np.int64],
    scores: NDArray[np.int64],
) -> dict[str, Any]:
    """Fill rate, urgent coverage, preference ranks achieved, shares matched by
    nationality and gender, mean score."""
    nv, npl = c.n_volunteers, c.n_placements
    slots = int(c.capacity.sum())
    filled = len(assigned_p)
    per_p = np.bincount(assigned_p, minlength=npl) if npl else np.zeros(0, dtype=np.int64)
    urgent = c.priority >= URGENT_PRIORITY
    urgent_slots = int(c.capacity[urgent].sum())
    urgent_filled = int(per_p[urgent].sum()) if npl else 0

    by_priority: dict[str, dict[str, int]] = {}
    for level in range(5, 0, -1):
        m = c.priority == level
        if m.any():
            by_priority[str(level)] = {
                "slots": int(c.capacity[m].sum()),
                "filled": int(per_p[m].sum()),
            }

    # preference rank achieved (1 = first choice) for matched volunteers who listed it
    got_pref: list[int] = []
    if len(c.pref_v) and filled:
        keys = c.pair_keys(c.pref_v, c.pref_p)
        want = c.pair_keys(assigned_v, assigned_p)
        order = np.argsort(keys)
        at = np.clip(np.searchsorted(keys[order], want), 0, len(keys) - 1)
        hit = keys[order][at] == want
        got_pref = (c.pref_pos[order][at][hit] + 1).tolist()
    with_prefs = int((c.pref_len[assigned_v] > 0).sum()) if filled else 0

    matched_mask = np.zeros(nv, dtype=np.int64)
    matched_mask[assigned_v] = 1
    nat_total = np.bincount(c.nationality, minlength=len(c.countries)).astype(np.int64)
    nat_matched = np.bincount(
        c.nationality, weights=matched_mask, minlength=len(c.countries)
    ).astype(np.int64)
    g_total = np.bincount(c.gender, minlength=len(GENDERS)).astype(np.int64)
    g_matched = np.bincount(c.gender, weights=matched_mask, minlength=len(GENDERS)).astype(np.int64)
    return {
        "volunteers": nv,
        "volunteers_matched": filled,
        "match_rate": round(filled / nv, 4) if nv else 0.0,
        "placements": npl,
        "slots": slots,
        "slots_filled": filled,
        "fill_rate": round(filled / slots, 4) if slots else 0.0,
        "urgent_slots": urgent_slots,
        "urgent_slots_filled": urgent_filled,
        "urgent_fill_rate": round(urgent_filled / urgent_slots, 4) if urgent_slots else 0.0,
        "slots_by_priority": by_priority,
        "placements_fully_open": int(((per_p == 0) & (c.capacity > 0)).sum()),
        "mean_score": round(float(scores.mean()), 2) if filled else 0.0,
        "mean_preference_rank": round(float(np.mean(got_pref)), 3) if got_pref else None,
        "matched_with_a_preference": len(got_pref),
        "matched_who_stated_preferences": with_prefs,
        "match_rate_by_nationality": _share(nat_matched, nat_total, c.countries),
        "match_rate_by_gender": _share(g_matched, g_total, list(GENDERS)),
    }
