"""A stored result read a page at a time: the assignments table sorted and filtered by
country, host and priority, the unmatched volunteers and open slots with their reasons,
for results of 50,000 volunteers and more.

A result is one JSON document (`results.result`); parsing it costs about a second at
10,000 volunteers on a busy machine, far too much for every page view. So a result is
read once into a `ResultView` (columns as numpy arrays, strings ranked once so that
sorting and filtering are integer operations) and kept in a small `ResultViews` cache on
the application. Stored results never change but for an erasure (which rewrites ids in
place), so a cached view is keyed by the round id and the erasures table's count and
latest time: any erasure makes every view be read again.

The web pages and any API that pages a result use these functions; the rules of what
a caller may see (host keys see no rounds) stay with the caller.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from volmatch.api.service.errors import ApiError, invalid, not_found
from volmatch.api.service.tables import Erasure, Job, ResultRow, RoundRow

SortKey = Literal["volunteer", "name", "placement", "host", "country", "priority", "score",
                  "start", "months"]
SORT_KEYS: tuple[SortKey, ...] = ("volunteer", "name", "placement", "host", "country",
                                  "priority", "score", "start", "months")
PER_PAGE_DEFAULT = 50
"""Rows a table page shows unless asked: a screenful, and quick to render."""
PER_PAGE_MAX = 500
"""The most rows one page may ask for: a page stays quick to render and to send."""
VIEWS_KEPT = 4
"""Results kept parsed per process: the coordinator's current round, its re-runs and a
planner's base; each costs tens of MB at 50,000 volunteers."""


@dataclass(frozen=True)
class AssignmentQuery:
    """Which page of the assignments table to show: filters (all optional, combined
    with AND), a sort column and direction, the page (1-based) and its size."""

    country: str | None = None
    host: str | None = None
    priority: int | None = None
    search: str | None = None
    """Part of a volunteer id, a name, a placement id or title (case-insensitive)."""
    sort: SortKey = "volunteer"
    descending: bool = False
    page: int = 1
    per_page: int = PER_PAGE_DEFAULT

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> AssignmentQuery:
        """From query-string parameters (`country`, `host`, `priority`, `q`, `sort`
        with a leading `-` for descending, `page`, `per_page`); blank ones are absent.
        A bad value is a 422 naming the parameter."""

        def text(name: str) -> str | None:
            value = (params.get(name) or "").strip()
            return value or None

        def number(name: str, low: int, high: int) -> int | None:
            raw = text(name)
            if raw is None:
                return None
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise invalid("query", name, name, f"{raw!r} is not a whole number "
                              f"from {low} to {high}")
            return int(raw)

        sort = text("sort") or "volunteer"
        descending = sort.startswith("-")
        sort = sort.lstrip("-")
        if sort not in SORT_KEYS:
            raise invalid("query", "sort", "sort",
                          f"{sort!r} is not a column; sort by one of {', '.join(SORT_KEYS)}")
        return cls(
            country=(text("country") or "").upper() or None,
            host=text("host"),
            priority=number("priority", 1, 5),
            search=text("q"),
            sort=sort,  # type: ignore[arg-type]
            descending=descending,
            page=number("page", 1, 10**9) or 1,
            per_page=number("per_page", 1, PER_PAGE_MAX) or PER_PAGE_DEFAULT,
        )


@dataclass(frozen=True)
class Page:
    """One page of rows, with how many rows match and where the page sits."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _ranks(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values sorted, and each value's position among them (its rank)."""
    uniq, inverse = np.unique(np.asarray(values, dtype=object), return_inverse=True)
    return uniq, inverse.astype(np.int64)


@dataclass
class ResultView:
    """A round's result ready for paging: assignment columns (numpy arrays, one entry
    per assignment) with each placement's host, country, title and priority and each
    volunteer's name joined from the round document, plus the result's other parts."""

    round_id: str
    status: str
    mode: str
    objective: int
    bound: int
    kpis: dict[str, Any]
    stats: dict[str, Any]
    assignments: list[dict[str, Any]]
    unmatched: list[dict[str, Any]]
    open_slots: list[dict[str, Any]]
    moves: list[dict[str, Any]]
    policy: dict[str, Any]
    """The round's policy as its document gives it (locked and forbidden pairs ...)."""
    """Who moved from the round's previous assignment: volunteer, from, to, reason."""
    placements: dict[str, dict[str, Any]]
    names: dict[str, str]
    _codes: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _search: list[str] = field(default_factory=list, repr=False)
    _by_volunteer: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls, round_id: str, result: Mapping[str, Any], document: Mapping[str, Any]
    ) -> ResultView:
        placements = {
            str(p["id"]): {"host": str(p.get("host", "")), "country": str(p.get("country", "")),
                           "title": str(p.get("title", "")), "priority": int(p.get("priority", 3)),
                           "slots": int(p.get("slots", 1))}
            for p in document.get("placements", [])
        }
        names = {str(v["id"]): str(v.get("name") or "") for v in document.get("volunteers", [])}
        assignments = list(result.get("assignments", []))
        view = cls(
            round_id=round_id,
            status=str(result.get("status", "")),
            mode=str(result.get("mode", "")),
            objective=int(result.get("objective", 0)),
            bound=int(result.get("bound", 0)),
            kpis=dict(result.get("kpis", {})),
            stats=dict(result.get("stats", {})),
            assignments=assignments,
            unmatched=list(result.get("unmatched_volunteers", [])),
            open_slots=list(result.get("open_slots", [])),
            moves=list(result.get("moves", [])),
            policy=dict(document.get("policy") or {}),
            placements=placements,
            names=names,
        )
        unknown = {"host": "", "country": "", "title": "", "priority": 0, "slots": 0}
        at = [placements.get(a["placement"], unknown) for a in assignments]
        columns: dict[str, list[Any]] = {
            "volunteer": [a["volunteer"] for a in assignments],
            "name": [names.get(a["volunteer"], "") for a in assignments],
            "placement": [a["placement"] for a in assignments],
            "host": [p["host"] for p in at],
            "country": [p["country"] for p in at],
            "start": [str(a["start"]) for a in assignments],
        }
        for key, col in columns.items():
            uniq, codes = _ranks(col) if col else (np.array([], dtype=object),
                                                   np.array([], dtype=np.int64))
            view._codes[key] = codes
            view._values[key] = uniq
        view._codes["priority"] = np.array([p["priority"] for p in at], dtype=np.int64)
        view._codes["score"] = np.array([a["score"] for a in assignments], dtype=np.int64)
        view._codes["months"] = np.array([a["months"] for a in assignments], dtype=np.int64)
        view._search = [
            f"{a['volunteer']}\t{n}\t{a['placement']}\t{p['title']}".casefold()
            for a, n, p in zip(assignments, columns["name"], at, strict=True)
        ]
        view._by_volunteer = {a["volunteer"]: i for i, a in enumerate(assignments)}
        return view

    # -- facets -------------------------------------------------------------------------

    def choices(self, column: Literal["country", "host"]) -> list[str]:
        """The distinct values of a column among the assignments, sorted (filter lists)."""
        return [str(v) for v in self._values[column].tolist()]

    def priorities(self) -> list[int]:
        return sorted({int(p) for p in self._codes["priority"].tolist()})

    # -- pages --------------------------------------------------------------------------

    def _code_of(self, column: str, value: str) -> int | None:
        values = self._values[column]
        k = int(np.searchsorted(values, value)) if len(values) else 0
        return k if k < len(values) and values[k] == value else None

    def assignments_page(self, q: AssignmentQuery) -> Page:
        """The rows of page `q.page` after filtering and sorting (ties in volunteer id
        order); a page past the end is the last page."""
        n = len(self.assignments)
        keep = np.ones(n, dtype=bool)
        for column, value in (("country", q.country), ("host", q.host)):
            if value is not None:
                code = self._code_of(column, value)
                keep &= False if code is None else self._codes[column] == code
        if q.priority is not None:
            keep &= self._codes["priority"] == q.priority
        if q.search:
            needle = q.search.casefold()
            keep &= np.fromiter((needle in s for s in self._search), dtype=bool, count=n)
        idx = np.flatnonzero(keep)
        primary = self._codes[q.sort][idx]
        if q.descending:
            primary = -primary
        # lexsort: the last key is the primary one; the volunteer id breaks ties
        order = idx[np.lexsort((self._codes["volunteer"][idx], primary))]
        total = len(order)
        pages = max(1, math.ceil(total / q.per_page))
        page = min(q.page, pages)
        chosen = order[(page - 1) * q.per_page: page * q.per_page]
        return Page([self._row(int(i)) for i in chosen], total, page, q.per_page)

    def _row(self, i: int) -> dict[str, Any]:
        a = self.assignments[i]
        p = self.placements.get(a["placement"], {})
        return {
            "volunteer": a["volunteer"], "name": self.names.get(a["volunteer"], ""),
            "placement": a["placement"], "title": p.get("title", ""),
            "host": p.get("host", ""), "country": p.get("country", ""),
            "priority": p.get("priority"), "score": a["score"], "start": str(a["start"]),
            "months": a["months"], "breakdown": a.get("breakdown", {}),
        }

    def assignment_of(self, volunteer: str) -> dict[str, Any] | None:
        """The row of the volunteer's assignment, or None when unplaced or unknown."""
        i = self._by_volunteer.get(volunteer)
        return None if i is None else self._row(i)

    def unmatched_page(self, page: int = 1, per_page: int = PER_PAGE_DEFAULT,
                       search: str | None = None) -> Page:
        """Unplaced volunteers (by id) with their reasons, cost and best placement."""
        needle = (search or "").casefold()
        rows = [
            {**u, "name": self.names.get(u["volunteer"], "")} for u in self.unmatched
            if not needle or needle in u["volunteer"].casefold()
            or needle in self.names.get(u["volunteer"], "").casefold()
        ]
        return _slice(rows, page, per_page)

    def open_slots_page(self, page: int = 1, per_page: int = PER_PAGE_DEFAULT,
                        search: str | None = None) -> Page:
        """Placements with open slots (by id), with their reasons, cost and nearest
        volunteer, and the placement's host, country, title and priority."""
        needle = (search or "").casefold()
        rows = []
        for s in self.open_slots:
            p = self.placements.get(s["placement"], {})
            if needle and needle not in s["placement"].casefold() and needle not in str(
                    p.get("title", "")).casefold():
                continue
            rows.append({**s, **{k: p.get(k) for k in ("host", "country", "title", "priority")}})
        return _slice(rows, page, per_page)


def _slice(rows: list[dict[str, Any]], page: int, per_page: int) -> Page:
    pages = max(1, math.ceil(len(rows) / per_page))
    page = min(max(1, page), pages)
    return Page(rows[(page - 1) * per_page: page * per_page], len(rows), page, per_page)


def stored_result(session: Session, round_id: str, job: Job) -> dict[str, Any]:
    """The stored result of a round whose job is `job`: a 409 while it has none (still
    queued or running, cancelled, failed; an infeasible round's 409 carries its
    conflicts)."""
    if job.status == "failed" and job.error and job.error.get("kind") == "infeasible":
        raise ApiError(409, job.error["detail"], extra={"conflicts": job.error["conflicts"]})
    if job.status != "done":
        raise ApiError(409, f"round {round_id!r} has no result: it is {job.status}")
    res = session.get(ResultRow, round_id)
    if res is None:
        raise ApiError(409, f"round {round_id!r} has no result")
    return res.result


def erasures_mark(session: Session) -> tuple[int, str]:
    """The erasures table's count and latest time: changes with every erasure, the one
    thing that rewrites a stored round or result."""
    count, latest = session.execute(
        select(func.count(), func.max(Erasure.erased_at))).one()
    return int(count or 0), str(latest)


class ResultViews:
    """Parsed results kept per process (at most `kept`, least recently used dropped),
    each valid until the next erasure; safe to share between request threads."""

    def __init__(self, kept: int = VIEWS_KEPT,
                 build: Callable[[str, Mapping[str, Any], Mapping[str, Any]], ResultView]
                 = ResultView.build) -> None:
        self._kept = kept
        self._build = build
        self._lock = threading.Lock()
        self._views: OrderedDict[str, tuple[tuple[int, str], ResultView]] = OrderedDict()
        self.builds = 0
        """How many views were built (read from the database): tests check the cache."""

    def get(self, session: Session, round_id: str) -> ResultView:
        """The view of a round's result: 404 for an unknown round, 409 while it has no
        result. Reads the result only when it is not cached or an erasure happened."""
        mark = erasures_mark(session)
        with self._lock:
            hit = self._views.get(round_id)
            if hit is not None and hit[0] == mark:
                self._views.move_to_end(round_id)
                return hit[1]
        job = session.get(Job, round_id)
        # the document by a query of its own: the round's row may be loaded without it
        document = session.scalar(select(RoundRow.document).where(RoundRow.id == round_id))
        if job is None or document is None:
            raise not_found("round", round_id)
        view = self._build(round_id, stored_result(session, round_id, job), document)
        with self._lock:
            self.builds += 1
            self._views[round_id] = (mark, view)
            self._views.move_to_end(round_id)
            while len(self._views) > self._kept:
                self._views.popitem(last=False)
        return view

    def clear(self) -> None:
        with self._lock:
            self._views.clear()
