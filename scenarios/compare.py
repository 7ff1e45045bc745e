"""What changed between the base and a variant: KPIs, who moved and why, open slots.

`summarise` runs where the variant was solved (a worker) and keeps only what the
comparison needs, so that 50 results of a 10,000-volunteer round do not travel back
whole. `Comparison` puts the summaries side by side with deltas against the base.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from volmatch.matching import Prepared
from volmatch.matching.failures import pair_failures
from volmatch.models import Result
from volmatch.models.reasons import Reason, part, text_of

HEADLINE_KPIS: tuple[str, ...] = (
    "objective",
    "volunteers",
    "volunteers_matched",
    "match_rate",
    "slots",
    "slots_filled",
    "fill_rate",
    "urgent_slots_filled",
    "urgent_fill_rate",
    "mean_score",
    "mean_preference_rank",
    "placements_fully_open",
    "eligible_pairs",
)
"""The KPIs of the side-by-side table and the charts (all in `Result.kpis` except
`objective`)."""
OUTCOME_KPIS = ("placed_host_reliability",)
"""Headline KPIs that a result has only where earlier outcomes were given with
`policy.host_reliability_kpi` on (`matching.lifecycle.outcome_kpis`)."""
MOVE_KINDS = ("moved", "newly_matched", "newly_unmatched", "added", "removed")
Said = tuple[str, Reason]
"""A reason as its English sentence and its structured parts."""
FULL_SHOWN = 3
"""How many of a full placement's volunteers a move's reason names (then "...")."""


@dataclass(frozen=True)
class BaseFacts:
    """What every variant is compared with: the base's assignment and reasons."""

    assignment: dict[str, tuple[str, int]]
    """volunteer -> (placement, score)."""
    unmatched: dict[str, list[str]]
    """volunteer -> reasons."""
    unmatched_details: dict[str, list[Reason]] = field(default_factory=dict)
    """volunteer -> the same reasons as structured parts (`models.reasons`)."""


def base_facts(result: Result | None) -> BaseFacts:
    if result is None:
        return BaseFacts({}, {})
    return BaseFacts(
        {a.volunteer: (a.placement, a.score) for a in result.assignments},
        {u.volunteer: list(u.reasons) for u in result.unmatched_volunteers},
        {u.volunteer: list(u.details) for u in result.unmatched_volunteers},
    )


def _said(reasons: list[str], details: list[Reason]) -> list[Said]:
    """Reasons given as text and parts, paired (the text as the result has it)."""
    if len(details) != len(reasons):
        details = [part("solver", text=r) for r in reasons]
    return list(zip(reasons, details, strict=True))


def _new(r: Reason) -> Said:
    return text_of(r), r


def kpi_names(base: dict[str, Any]) -> tuple[str, ...]:
    """The headline KPIs of a comparison: `HEADLINE_KPIS`, plus the outcome KPIs where
    the base has them."""
    kpis = base.get("kpis") or {}
    return HEADLINE_KPIS + tuple(k for k in OUTCOME_KPIS if k in kpis)


def _headline(result: Result) -> dict[str, Any]:
    names = HEADLINE_KPIS + tuple(k for k in OUTCOME_KPIS if k in result.kpis)
    k = {name: result.kpis.get(name) for name in names}
    k["objective"] = result.objective
    return k


def open_slots_table(prep: Prepared, result: Result) -> dict[str, dict[str, int]]:
    """country -> priority (as text) -> slots open; only non-zero cells."""
    c = prep.compiled
    out: dict[str, dict[str, int]] = {}
    for o in result.open_slots:
        p = c.placements[c.pindex[o.placement]]
        cell = out.setdefault(p.country, {})
        cell[str(p.priority)] = cell.get(str(p.priority), 0) + o.open
    return {k: dict(sorted(v.items(), reverse=True)) for k, v in sorted(out.items())}


class _Lookup:
    """Pair and fill lookups on a solved variant, for the reasons of moves."""

    def __init__(self, prep: Prepared, result: Result) -> None:
        c, pairs = prep.compiled, prep.pairs
        self.prep = prep
        self.keys = c.pair_keys(pairs.v, pairs.p)  # sorted: pairs are placement-major
        self.at = {a.placement: [] for a in result.assignments}  # type: dict[str, list[str]]
        for a in result.assignments:
            self.at[a.placement].append(a.volunteer)

    def pair(self, vid: str, pid: str) -> int | None:
        c = self.prep.compiled
        key = c.pair_keys(np.array([c.vindex[vid]]), np.array([c.pindex[pid]]))[0]
        i = int(np.searchsorted(self.keys, key))
        return i if i < len(self.keys) and self.keys[i] == key else None

    def why_not(self, vid: str, pid: str, now: str | None) -> Reason:
        """Why volunteer `vid` is not at `pid` (its base placement) in the variant."""
        c = self.prep.compiled
        if pid not in c.pindex:
            return part("variant_placement_gone", placement=pid)
        i = self.pair(vid, pid)
        if i is None:
            failures = pair_failures(c, c.vindex[vid], c.pindex[pid])
            return part("variant_not_eligible", placement=pid, failure_parts=[*failures.values()])
        score = int(self.prep.scores.total[i])
        taken = self.at.get(pid, [])
        cap = c.placements[c.pindex[pid]].slots
        if len(taken) >= cap:
            code = "variant_full_more" if len(taken) > FULL_SHOWN else "variant_full"
            return part(
                code,
                placement=pid,
                score=score,
                slots=cap,
                volunteers=sorted(taken)[:FULL_SHOWN],
            )
        if now is not None:
            return part("variant_higher_total", now=now, placement=pid, score=score)
        return part("variant_policy_keeps_out", placement=pid, score=score)


def moves(prep: Prepared, result: Result, base: BaseFacts) -> list[dict[str, Any]]:
    """Every volunteer placed differently from the base, by volunteer id, with reasons:
    `reasons` in English and `details`, the same reasons as structured parts
    (`models.reasons`), one per reason, for the pages."""
    c = prep.compiled
    now = {a.volunteer: (a.placement, a.score) for a in result.assignments}
    why_unmatched = {
        u.volunteer: _said(list(u.reasons), list(u.details)) for u in result.unmatched_volunteers
    }
    look = _Lookup(prep, result)
    out: list[dict[str, Any]] = []
    base_ids = set(base.assignment) | set(base.unmatched)
    for vid in sorted(base_ids | set(c.vindex)):
        was, got = base.assignment.get(vid), now.get(vid)
        row: dict[str, Any] = {
            "volunteer": vid,
            "base": was[0] if was else None,
            "variant": got[0] if got else None,
            "base_score": was[1] if was else None,
            "variant_score": got[1] if got else None,
        }
        why: list[Said]
        if vid not in c.vindex:
            row["kind"] = "removed"
            why = [
                _new(
                    part("variant_removed_was_at", placement=was[0])
                    if was
                    else part("variant_removed_was_unmatched")
                )
            ]
        elif vid not in base_ids:
            row["kind"] = "added"
            why = (
                [_new(part("variant_new_placed", placement=got[0], score=got[1]))]
                if got
                else [_new(part("variant_new_unplaced")), *why_unmatched.get(vid, [])]
            )
        elif was and got and was[0] != got[0]:
            row["kind"] = "moved"
            now_at = part(
                "variant_now_at",
                placement=got[0],
                score=got[1],
                was_placement=was[0],
                was_score=was[1],
            )
            why = [_new(now_at), _new(look.why_not(vid, was[0], got[0]))]
        elif was and not got:
            row["kind"] = "newly_unmatched"
            why = [
                _new(part("variant_was_at", placement=was[0])),
                _new(look.why_not(vid, was[0], None)),
                *why_unmatched.get(vid, []),
            ]
        elif got and not was:
            row["kind"] = "newly_matched"
            in_base = _said(base.unmatched.get(vid, []), base.unmatched_details.get(vid, []))
            why = [_new(part("variant_placed_at", placement=got[0], score=got[1]))] + [
                ("in the base: " + t, part("variant_in_base", reason_parts=[r])) for t, r in in_base
            ]
        else:
            continue
        row["reasons"] = [t for t, _ in why]
        row["details"] = [r for _, r in why]
        out.append(row)
    return out


def summarise(
    name: str,
    prep: Prepared,
    result: Result,
    base: BaseFacts,
    reuse: str,
) -> dict[str, Any]:
    """The comparison's view of one solved round (JSON-ready)."""
    mv = moves(prep, result, base)
    return {
        "name": name,
        "status": result.status,
        "errors": [],
        "reuse": reuse,
        "kpis": _headline(result),
        "all_kpis": result.kpis,
        "moves_count": {k: sum(1 for m in mv if m["kind"] == k) for k in MOVE_KINDS},
        "moves": mv,
        "open_slots": open_slots_table(prep, result),
        "seconds": {k: round(v, 4) for k, v in prep.timings.items()},
    }


def failed(name: str, status: str, errors: list[str]) -> dict[str, Any]:
    """The comparison's view of a variant that could not be solved."""
    return {
        "name": name,
        "status": status,
        "errors": errors,
        "reuse": None,
        "kpis": {},
        "all_kpis": {},
        "moves_count": {},
        "moves": [],
        "open_slots": {},
        "seconds": {},
    }


def _delta(a: Any, b: Any) -> Any:
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, int | float) and isinstance(b, int | float):
        d = b - a
        return round(d, 4) if isinstance(d, float) else d
    return None


def _open_delta(
    base: dict[str, dict[str, int]], var: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for country in sorted(set(base) | set(var)):
        b, v = base.get(country, {}), var.get(country, {})
        cells = {p: v.get(p, 0) - b.get(p, 0) for p in sorted(set(b) | set(v), reverse=True)}
        cells = {p: d for p, d in cells.items() if d}
        if cells:
            out[country] = cells
    return out


def by_priority(table: dict[str, dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for cells in table.values():
        for p, n in cells.items():
            out[p] = out.get(p, 0) + n
    return dict(sorted(out.items(), reverse=True))


@dataclass
class Comparison:
    """Base and variants side by side; `to_dict()` is the JSON of the report."""

    scenario: str
    description: str
    base: dict[str, Any]
    variants: list[dict[str, Any]]
    """Summaries in the scenario's order, each with `deltas` and `open_slots_delta`."""
    sweeps: list[dict[str, Any]]
    timings: dict[str, Any] = field(default_factory=dict)
    """Wall-clock facts of the run; kept out of `to_dict()` so reports are reproducible."""

    def to_dict(self, *, timings: bool = False) -> dict[str, Any]:
        def strip(s: dict[str, Any]) -> dict[str, Any]:
            return s if timings else {k: v for k, v in s.items() if k != "seconds"}

        out: dict[str, Any] = {
            "scenario": self.scenario,
            "description": self.description,
            "kpis": list(kpi_names(self.base)),
            "base": strip(self.base),
            "variants": [strip(v) for v in self.variants],
            "sweeps": self.sweeps,
        }
        if timings:
            out["timings"] = self.timings
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Comparison:
        """The comparison back from its `to_dict()` (a stored run's JSON)."""
        return cls(
            d["scenario"],
            d.get("description", ""),
            d["base"],
            list(d["variants"]),
            list(d.get("sweeps", [])),
        )

    def to_json(self, *, timings: bool = False) -> str:
        return json.dumps(self.to_dict(timings=timings), indent=2, sort_keys=False, default=str)

    def table_rows(self) -> list[dict[str, Any]]:
        """One row per round (base first): name, status, then each headline KPI with its
        delta against the base."""
        names = kpi_names(self.base)
        rows = [
            {
                "name": "base",
                "status": self.base["status"],
                **{k: (self.base["kpis"].get(k), None) for k in names},
            }
        ]
        for v in self.variants:
            rows.append(
                {
                    "name": v["name"],
                    "status": v["status"],
                    **{k: (v["kpis"].get(k), v.get("deltas", {}).get(k)) for k in names},
                }
            )
        return rows


def build_comparison(
    scenario: str,
    description: str,
    base: dict[str, Any],
    variants: list[dict[str, Any]],
    sweeps: list[dict[str, Any]],
) -> Comparison:
    """Attach deltas against the base to every variant summary."""
    names = kpi_names(base)
    for v in variants:
        if v["kpis"] and base["kpis"]:
            v["deltas"] = {k: _delta(base["kpis"].get(k), v["kpis"].get(k)) for k in names}
            v["open_slots_delta"] = _open_delta(base["open_slots"], v["open_slots"])
            v["open_by_priority"] = by_priority(v["open_slots"])
        else:
            v["deltas"], v["open_slots_delta"], v["open_by_priority"] = {}, {}, {}
    base["open_by_priority"] = by_priority(base["open_slots"])
    return Comparison(scenario, description, base, variants, sweeps)


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _fmt_delta(d: Any) -> str:
    if d is None or d == 0:
        return ""
    return f" ({'+' if d > 0 else ''}{_fmt(d)})"


def to_markdown(cmp: Comparison, kpis: tuple[str, ...] | None = None, top: int = 20) -> str:
    """The report as Markdown: KPI table with deltas, moves, open slots, failures
    (`kpis`: the columns, by default `kpi_names` of the base)."""
    kpis = kpi_names(cmp.base) if kpis is None else kpis
    lines = [f"# What-if: {cmp.scenario}", ""]
    if cmp.description:
        lines += [cmp.description, ""]
    lines += ["## KPIs (delta against the base)", ""]
    lines.append("| variant | status | " + " | ".join(kpis) + " |")
    lines.append("|---|---|" + "---:|" * len(kpis))
    for row in cmp.table_rows():
        cells = [_fmt(row[k][0]) + _fmt_delta(row[k][1]) for k in kpis]
        lines.append(f"| {row['name']} | {row['status']} | " + " | ".join(cells) + " |")
    lines += ["", "## Who moved", ""]
    lines.append("| variant | " + " | ".join(MOVE_KINDS) + " |")
    lines.append("|---|" + "---:|" * len(MOVE_KINDS))
    for v in cmp.variants:
        counts = v["moves_count"]
        lines.append(
            f"| {v['name']} | " + " | ".join(str(counts.get(k, "-")) for k in MOVE_KINDS) + " |"
        )
    for v in cmp.variants:
        if not v["moves"]:
            continue
        lines += [
            "",
            f"### {v['name']}: first {min(top, len(v['moves']))} of {len(v['moves'])}",
            "",
        ]
        for m in v["moves"][:top]:
            lines.append(f"- **{m['volunteer']}** {m['kind']}: " + "; ".join(m["reasons"]))
    lines += ["", "## Open slots by priority (delta against the base)", ""]
    prios = ["5", "4", "3", "2", "1"]
    lines.append("| round | " + " | ".join(f"priority {p}" for p in prios) + " |")
    lines.append("|---|" + "---:|" * len(prios))
    base_p = cmp.base["open_by_priority"]
    lines.append("| base | " + " | ".join(str(base_p.get(p, 0)) for p in prios) + " |")
    for v in cmp.variants:
        vp = v["open_by_priority"]
        if v["kpis"]:
            lines.append(
                f"| {v['name']} | "
                + " | ".join(
                    str(vp.get(p, 0)) + _fmt_delta(vp.get(p, 0) - base_p.get(p, 0)) for p in prios
                )
                + " |"
            )
    lines += ["", "## Open slots by country and priority (base)", ""]
    for country, cells in cmp.base["open_slots"].items():
        lines.append(f"- {country}: " + ", ".join(f"priority {p}: {n}" for p, n in cells.items()))
    bad = [v for v in cmp.variants if v["errors"]]
    if bad:
        lines += ["", "## Variants that could not be solved", ""]
        for v in bad:
            lines.append(f"- **{v['name']}** ({v['status']}):")
            lines += [f"  - {e}" for e in v["errors"]]
    return "\n".join(lines) + "\n"
