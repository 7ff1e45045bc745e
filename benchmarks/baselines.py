"""What a user could run instead of volmatch, on exactly the same candidate pairs.

Every baseline is a pure function of the same arrays: `pv` and `pp` (volunteer and
placement index of each eligible pair), `score` (positive int64 score of each pair),
`capacity` (slots per placement) and `n_volunteers`. They solve the *bare* problem:
each volunteer at most once, each placement at most its capacity, maximise the total
score. That is volmatch's pure policy, so the min-cost-flow optimum is the floor that
volmatch is measured against and an upper bound for any rule added on top.

* `min_cost_flow` - OR-Tools' network simplex-free cost-scaling min-cost flow: the exact
  optimum of the bare problem (the assignment LP is a network, so it is integral).
* `greedy_by_score` - best pair first while both sides are free: what a coordinator
  sorting a spreadsheet does.
* `cpsat_bare` - CP-SAT with one Boolean per pair and a time limit: what a naive
  constraint model does. The model is filled into the proto in bulk from numpy (not
  through `new_bool_var`/`add`), so the time limit is spent solving, not building;
  building the same model through the Python API costs about 5x more (see ANCHORS.md).
* `hospital_resident` - the PyPI `matching` package (v1.4) hospital-resident algorithm,
  the usual tool for stable matching (installed beside volmatch by the `test` and `bench`
  extras: ours is `volmatch.matching`). It runs in a worker process of this interpreter,
  which gets the large thread stack the package needs and measures its own peak memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

I64 = NDArray[np.int64]

MATCHING_VERSION = "1.4.3"
"""The `matching` release the hospital-resident baseline installs."""

_HR_WORKER = Path(__file__).resolve().parent / "_hr_worker.py"


@dataclass(frozen=True)
class BaselineResult:
    """What one baseline achieved on one set of pairs.

    `objective` is the sum of the chosen pairs' scores; `bound` is a proven upper bound
    where the method gives one (the optimum for min-cost flow, CP-SAT's best bound);
    `seconds` is the wall time on the arrays, `build_seconds` + `solve_seconds`.
    `chosen` holds the indices (into the pair arrays) of the chosen pairs.
    """

    method: str
    status: str
    objective: int | None
    matched: int
    bound: int | None
    seconds: float
    build_seconds: float
    solve_seconds: float
    chosen: I64 = field(repr=False)
    note: str = ""
    peak_rss_mb: float | None = None
    """Peak resident memory of a worker process, where the method runs in one."""


def _as_arrays(
    pv: ArrayLike, pp: ArrayLike, score: ArrayLike, capacity: ArrayLike
) -> tuple[I64, I64, I64, I64]:
    return (
        np.asarray(pv, dtype=np.int64),
        np.asarray(pp, dtype=np.int64),
        np.asarray(score, dtype=np.int64),
        np.asarray(capacity, dtype=np.int64),
    )


def check_assignment(
    pv: ArrayLike, pp: ArrayLike, capacity: ArrayLike, chosen: ArrayLike, n_volunteers: int
) -> None:
    """Raise `AssertionError` unless `chosen` places each volunteer at most once and
    fills no placement beyond its capacity: every baseline's answer is checked so that
    a fast wrong answer can never make it into the table."""
    idx = np.asarray(chosen, dtype=np.int64)
    v = np.asarray(pv, dtype=np.int64)[idx]
    p = np.asarray(pp, dtype=np.int64)[idx]
    cap = np.asarray(capacity, dtype=np.int64)
    if np.bincount(v, minlength=n_volunteers).max(initial=0) > 1:
        raise AssertionError("a volunteer is placed twice")
    if np.any(np.bincount(p, minlength=len(cap)) > cap):
        raise AssertionError("a placement is filled beyond its capacity")


def _number(ids: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids and each entry's rank among them (np.unique's return_inverse,
    without the sort)."""
    seen = np.zeros(max(size, int(ids.max(initial=-1)) + 1), dtype=np.bool_)
    seen[ids] = True
    return np.flatnonzero(seen), (np.cumsum(seen) - 1)[ids]


def min_cost_flow(
    pv: ArrayLike, pp: ArrayLike, score: ArrayLike, capacity: ArrayLike, n_volunteers: int
) -> BaselineResult:
    """Exact optimum of the bare problem by OR-Tools' `SimpleMinCostFlow`.

    Network: source -> each volunteer (capacity 1), volunteer -> placement for each pair
    (capacity 1, cost -score), placement -> sink (its capacity), and a source -> sink
    bypass so that nobody has to be placed. All arcs are added in one bulk call.
    """
    from ortools.graph.python import min_cost_flow as mcf

    t0 = time.perf_counter()
    v, p, s, cap = _as_arrays(pv, pp, score, capacity)
    # Nodes only for volunteers and placements that have a pair: a volunteer without
    # one would only send its unit through the bypass. Numbered by counting (plain
    # numpy, O(n)), as fast as the floor can be built.
    used_v, v_node = _number(v, n_volunteers)
    used_p, p_node = _number(p, len(cap))
    n_v, n_p = len(used_v), len(used_p)
    source, sink = 0, n_v + n_p + 1
    vol_nodes = np.arange(1, n_v + 1, dtype=np.int64)
    pl_nodes = np.arange(n_v + 1, n_v + n_p + 1, dtype=np.int64)
    tails = np.concatenate([np.zeros(n_v, np.int64), v_node + 1, pl_nodes, [source]])
    heads = np.concatenate([vol_nodes, p_node + n_v + 1, np.full(n_p, sink, np.int64), [sink]])
    caps = np.concatenate(
        [np.ones(n_v, np.int64), np.ones(len(v), np.int64), np.minimum(cap[used_p], n_v), [n_v]]
    )
    costs = np.concatenate([np.zeros(n_v, np.int64), -s, np.zeros(n_p + 1, np.int64)])
    flow = mcf.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_nodes_supplies(np.array([source, sink]), np.array([n_v, -n_v]))
    t1 = time.perf_counter()
    status = flow.solve()
    t2 = time.perf_counter()
    if status != flow.OPTIMAL:
        return BaselineResult(
            "min-cost flow",
            f"failed ({status})",
            None,
            0,
            None,
            t2 - t0,
            t1 - t0,
            t2 - t1,
            np.zeros(0, np.int64),
        )
    pair_flows = flow.flows(np.asarray(arcs)[n_v : n_v + len(v)])
    chosen = np.flatnonzero(pair_flows > 0).astype(np.int64)
    objective = -int(flow.optimal_cost())
    t3 = time.perf_counter()
    return BaselineResult(
        "min-cost flow",
        "optimal",
        objective,
        len(chosen),
        objective,
        t3 - t0,
        t1 - t0,
        t3 - t1,
        chosen,
    )


def greedy_by_score(
    pv: ArrayLike, pp: ArrayLike, score: ArrayLike, capacity: ArrayLike, n_volunteers: int
) -> BaselineResult:
    """Best-scoring pair first, taken when the volunteer is free and the placement has
    a slot left (ties: lower volunteer index, then lower placement index).

    The order is one numpy sort of a combined key. The scan is inherently sequential;
    it runs in chunks, dropping in bulk (numpy) the pairs whose volunteer is already
    placed or whose placement is full before scanning the rest in Python, and stops as
    soon as every slot or every volunteer is taken.
    """
    t0 = time.perf_counter()
    v, p, s, cap = _as_arrays(pv, pp, score, capacity)
    n_p = max(len(cap), 1)
    top = int(s.max(initial=0))
    order = np.argsort((top - s) * (max(n_volunteers, 1) * n_p) + v * n_p + p, kind="stable")
    t1 = time.perf_counter()
    free_v = bytearray(b"\x01") * n_volunteers
    free_np = np.frombuffer(free_v, dtype=np.uint8) if n_volunteers else np.zeros(0, np.uint8)
    left_np = cap.copy()
    left = left_np.data  # a memoryview: plain-int indexing, shared with left_np
    slots_left = int(cap.sum())
    people_left = len(np.unique(v))
    taken: list[int] = []
    chunk = 1 << 16
    for lo in range(0, len(order), chunk):
        if slots_left <= 0 or people_left <= 0:
            break
        idx = order[lo : lo + chunk]
        live = idx[(free_np[v[idx]] > 0) & (left_np[p[idx]] > 0)]
        for k, vi, pi in zip(live.tolist(), v[live].tolist(), p[live].tolist(), strict=True):
            if free_v[vi] and left[pi] > 0:
                free_v[vi] = 0
                left[pi] -= 1
                taken.append(k)
                slots_left -= 1
                people_left -= 1
                if slots_left == 0 or people_left == 0:
                    break
    chosen = np.sort(np.asarray(taken, dtype=np.int64))
    t2 = time.perf_counter()
    return BaselineResult(
        "greedy by score",
        "feasible",
        int(s[chosen].sum()),
        len(chosen),
        None,
        t2 - t0,
        t1 - t0,
        t2 - t1,
        chosen,
    )


_CPSAT_STATUS = {0: "unknown", 1: "invalid", 2: "feasible", 3: "infeasible", 4: "optimal"}


def cpsat_bare(
    pv: ArrayLike,
    pp: ArrayLike,
    score: ArrayLike,
    capacity: ArrayLike,
    n_volunteers: int,
    *,
    time_limit_s: float = 15.0,
    workers: int = 2,
    seed: int = 0,
) -> BaselineResult:
    """CP-SAT on the bare pair model: one Boolean per pair, at most one pair per
    volunteer, at most `capacity` pairs per placement, maximise the total score.

    The proto is filled in bulk (a template variable extended n times, constraint
    literal lists from numpy); no hint and default presolve, as a naive user would run
    it. Reports CP-SAT's status ("unknown" = no solution within the limit), the best
    objective found and the proven bound.
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    v, p, s, cap = _as_arrays(pv, pp, score, capacity)
    model = cp_model.CpModel()
    proto = model.proto
    template = cp_model.CpModel().proto.variables.add()
    template.domain.extend([0, 1])
    proto.variables.extend([template] * len(v))
    by_v = np.argsort(v, kind="stable")
    v_bounds = np.flatnonzero(np.diff(v[by_v])) + 1
    for group in np.split(by_v, v_bounds):
        if len(group) > 1:
            proto.constraints.add().at_most_one.literals.extend(group.tolist())
    by_p = np.argsort(p, kind="stable")
    p_bounds = np.flatnonzero(np.diff(p[by_p])) + 1
    for group in np.split(by_p, p_bounds):
        if len(group) == 0:
            continue
        pl = int(p[group[0]])
        lin = proto.constraints.add().linear
        lin.vars.extend(group.tolist())
        lin.coeffs.extend([1] * len(group))
        lin.domain.extend([0, int(cap[pl])])
    # CP-SAT minimises: minimise -score and negate back.
    proto.objective.vars.extend(range(len(v)))
    proto.objective.coeffs.extend((-s).tolist())
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    t1 = time.perf_counter()
    status_code = solver.solve(model)
    t2 = time.perf_counter()
    status = _CPSAT_STATUS.get(int(status_code), str(status_code))
    objective: int | None = None
    bound: int | None = None
    chosen = np.zeros(0, np.int64)
    if status in ("feasible", "optimal"):
        values = np.asarray(solver.response_proto.solution, dtype=np.int64)
        chosen = np.flatnonzero(values > 0).astype(np.int64)
        objective = int(s[chosen].sum())
    if status != "invalid" and len(v):
        bound = int(np.floor(-solver.best_objective_bound + 1e-6))
    return BaselineResult(
        "CP-SAT bare",
        status,
        objective,
        len(chosen),
        bound,
        t2 - t0,
        t1 - t0,
        t2 - t1,
        chosen,
        note=f"{workers} workers, {time_limit_s:g} s limit",
    )


def preference_lists(
    pv: ArrayLike,
    pp: ArrayLike,
    score: ArrayLike,
    volunteer_pref_pos: ArrayLike,
    placement_rank_pos: ArrayLike,
) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Both sides' ranked lists of their eligible partners, as the contract's stable
    mode defines them.

    A volunteer ranks the placements named in its `preferences` first (in that order),
    then the rest by descending score, ties by placement index (= id order); a placement
    ranks by its `ranking`, then descending score, ties by volunteer index.
    `volunteer_pref_pos[i]` is the 0-based position of pair i's placement in the
    volunteer's preferences, or -1; `placement_rank_pos` likewise for the host ranking.
    """
    v, p, s = (np.asarray(a, dtype=np.int64) for a in (pv, pp, score))
    big = np.iinfo(np.int64).max
    vpos = np.asarray(volunteer_pref_pos, dtype=np.int64)
    ppos = np.asarray(placement_rank_pos, dtype=np.int64)
    vkey = np.where(vpos >= 0, vpos, big)
    pkey = np.where(ppos >= 0, ppos, big)
    residents: dict[int, list[int]] = {}
    order = np.lexsort((p, -s, vkey, v))
    vs, ps = v[order], p[order]
    cuts = np.flatnonzero(np.diff(vs)) + 1
    for owner, ranked in zip(np.split(vs, cuts), np.split(ps, cuts), strict=True):
        if len(owner):
            residents[int(owner[0])] = ranked.tolist()
    hospitals: dict[int, list[int]] = {}
    order = np.lexsort((v, -s, pkey, p))
    vs, ps = v[order], p[order]
    cuts = np.flatnonzero(np.diff(ps)) + 1
    for owner, ranked in zip(np.split(ps, cuts), np.split(vs, cuts), strict=True):
        if len(owner):
            hospitals[int(owner[0])] = ranked.tolist()
    return residents, hospitals


def hospital_resident(
    pv: ArrayLike,
    pp: ArrayLike,
    score: ArrayLike,
    capacity: ArrayLike,
    n_volunteers: int,
    *,
    volunteer_pref_pos: ArrayLike,
    placement_rank_pos: ArrayLike,
    timeout_s: float = 600.0,
) -> BaselineResult:
    """Resident-optimal (= volunteer-optimal) stable matching by PyPI `matching`.

    The lists of `preference_lists` go to a worker process as JSON; `build_seconds` is
    the worker's `create_from_dictionaries` (which deep-copies the player graph),
    `solve_seconds` its `solve`. Interpreter
    start-up and JSON transfer are not counted but are in the result's `note`.
    """
    v, p, s, cap = _as_arrays(pv, pp, score, capacity)
    residents, hospitals = preference_lists(v, p, s, volunteer_pref_pos, placement_rank_pos)
    payload = json.dumps(
        {
            "residents": residents,
            "hospitals": hospitals,
            "capacities": {int(h): int(cap[h]) for h in hospitals},
        }
    )
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(_HR_WORKER)],
            input=payload,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        wall = time.perf_counter() - t0
        return BaselineResult(
            "matching HR",
            "timeout",
            None,
            0,
            None,
            wall,
            wall,
            0.0,
            np.zeros(0, np.int64),
            note=f"stopped after {timeout_s:g} s",
        )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return BaselineResult(
            "matching HR",
            "error",
            None,
            0,
            None,
            wall,
            wall,
            0.0,
            np.zeros(0, np.int64),
            note=tail[0][:200],
        )
    out = json.loads(proc.stdout)
    pairs_v: list[int] = []
    pairs_p: list[int] = []
    for h, members in out["matching"].items():
        pairs_v.extend(members)
        pairs_p.extend([int(h)] * len(members))
    n_v = max(n_volunteers, 1)
    keys = p * n_v + v
    order = np.argsort(keys)
    want = np.asarray(pairs_p, dtype=np.int64) * n_v + np.asarray(pairs_v, dtype=np.int64)
    chosen = np.sort(order[np.searchsorted(keys, want, sorter=order)]) if len(want) else want
    build, solve = float(out["build_seconds"]), float(out["solve_seconds"])
    return BaselineResult(
        "matching HR",
        "stable",
        int(s[chosen].sum()),
        len(chosen),
        None,
        build + solve,
        build,
        solve,
        chosen.astype(np.int64),
        note=f"worker wall {wall:.2f} s incl. start-up and JSON; peak is the worker's",
        peak_rss_mb=float(out["peak_rss_mb"]),
    )
