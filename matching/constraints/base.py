"""What every policy rule module shares: the pair variables and the model context."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from volmatch.matching.compiled import CompiledRound
from volmatch.matching.eligibility import Pairs
from volmatch.matching.scoring import Scores
from volmatch.models import Policy

IntP = NDArray[np.intp]


@dataclass
class PairVars:
    """One boolean per candidate pair of the model: 1 = the volunteer goes there."""

    idx: IntP
    """Indices of the modelled pairs in the round's `Pairs`."""
    v: NDArray[np.int32]
    p: NDArray[np.int32]
    score: NDArray[np.int64]
    x: list[Any]
    """A boolean variable per pair, or the constant 1 for a pair held fixed (a window
    of the neighbourhood search keeps most of the assignment as constants)."""

    def __len__(self) -> int:
        return len(self.x)

    held: NDArray[np.bool_] | None = None
    """Which pairs are constants (None: none is)."""

    def fixed_only(self, ids: IntP) -> bool:
        """Whether these pairs are all constants, so that a local rule over them has
        nothing to decide (in a window, the assignment there already keeps it)."""
        return self.held is not None and bool(self.held[ids].all())

    def variables(self) -> list[tuple[int, cp_model.IntVar]]:
        """(position, variable) of the pairs that are not constants."""
        return [(i, x) for i, x in enumerate(self.x) if not isinstance(x, int)]

    def value(self, solver: cp_model.CpSolver) -> NDArray[np.bool_]:
        """Which modelled pairs the solver chose."""
        solution = np.asarray(solver.response_proto.solution, dtype=np.int64)
        out = np.ones(len(self.x), dtype=np.bool_)
        pos = self.variables()
        if pos:
            at = np.array([i for i, _ in pos], dtype=np.intp)
            out[at] = solution[[x.index for _, x in pos]] > 0
        return out

    def total(
        self, which: IntP | NDArray[np.bool_] | None = None, coef: NDArray[np.int64] | None = None
    ) -> Any:
        """Sum (or weighted sum) of the chosen variables: a CP-SAT linear expression,
        typed Any because OR-Tools' stubs do not let expressions compose under mypy."""
        ids = np.arange(len(self.x)) if which is None else np.asarray(which)
        if ids.dtype == np.bool_:
            ids = np.flatnonzero(ids)
        xs = [self.x[i] for i in ids.tolist()]
        if coef is None:
            return cp_model.LinearExpr.sum(xs)
        return cp_model.LinearExpr.weighted_sum(xs, coef[ids].tolist())


@dataclass
class Penalty:
    """A soft rule's term: `weight` points lost per unit of `expr`."""

    rule: str
    expr: cp_model.LinearExprT
    weight: int


@dataclass
class RuleContext:
    """What a rule needs to add its constraints."""

    model: cp_model.CpModel
    vars: PairVars
    compiled: CompiledRound
    pairs: Pairs
    """All eligible pairs of the round (the model may hold only some of them)."""
    scores: Scores
    policy: Policy
    enforce: dict[str, cp_model.IntVar] = field(default_factory=dict)
    """Per rule, the literal its hard constraints are enforced by (all true in a normal
    solve; assumptions when looking for the rules behind an infeasibility)."""
    outside: dict[str, dict[Any, int]] = field(default_factory=dict)
    """Chosen pairs left out of the model, counted (a window of the search): per host
    country (`country`), per country and nationality (`country_nat`), per host
    (`host`). Empty for a whole model."""
    notes: dict[str, Any] = field(default_factory=dict)
    """Facts rules leave for the result (shortfalls, forced moves ...)."""
    by_record: bool = False
    """Whether each record a rule binds (a lock, a placement and nationality, a host, a
    group) gets an enforcement literal of its own, so that a conflict can be named
    record by record; otherwise one literal per rule."""
    records: dict[tuple[str, tuple[int, ...]], cp_model.IntVar] = field(default_factory=dict)
    """With `by_record`: (rule, record key) -> its enforcement literal."""

    def on(self, rule: str) -> cp_model.IntVar:
        """The enforcement literal of a rule (created on first use)."""
        lit = self.enforce.get(rule)
        if lit is None:
            lit = self.model.new_bool_var(f"rule:{rule}")
            self.enforce[rule] = lit
        return lit

    def on_record(self, rule: str, key: tuple[int, ...]) -> cp_model.IntVar:
        """The enforcement literal of one record of a rule (`by_record`), else the
        rule's. Keys: a lock (volunteer, placement), a cap (placement, nationality),
        a host (host,), a group (group,) as indices of the compiled round."""
        if not self.by_record:
            return self.on(rule)
        lit = self.records.get((rule, key))
        if lit is None:
            lit = self.model.new_bool_var(f"rule:{rule}:{key}")
            self.records[(rule, key)] = lit
        return lit


def segments(keys: NDArray[np.int64] | NDArray[np.int32]) -> Iterator[tuple[int, IntP]]:
    """(key, indices) for each distinct key, keys ascending, indices ascending."""
    if len(keys) == 0:
        return
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    # slices of one array: np.split's per-part machinery costs more than the work here
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(sk)) + 1, [len(sk)])).tolist()
    starts = sk[bounds[:-1]].tolist()
    for key, a, b in zip(starts, bounds[:-1], bounds[1:], strict=True):
        yield key, order[a:b]
