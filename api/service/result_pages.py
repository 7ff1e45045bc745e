"""A stored result read a page at a time: the assignments table sorted and filtered by
country, host and priority, the unmatched volunteers and open slots with their reasons,
for results of 50,000 volunteers and more.

A result is one JSON document (`results.result`); parsing it costs about a second at
10,000 volunteers on a busy machine, far too much for any page view, the first one
included. So when a result is stored, the worker also stores it laid out for paging
(`result_views`): a `ResultView`, columns as numpy arrays (strings ranked once so that
sorting and filtering are integer operations) and each row's JSON, decoded only when a
page shows it. Reading one back is loading arrays, not parsing; it is then kept in a
small `ResultViews` cache on the application. Results stored without a view (before
revision 0006, or erased since) are read from the result itself once, on their first
view, and the view built then is stored (`store_view`). Stored results never
change but for an erasure (which rewrites ids in place and drops the round's stored
view), so a cached view is keyed by the round id and the erasures table's count and
latest time: any erasure makes every view be read again.

The web pages and any API that pages a result use these functions; the rules of what
a caller may see (host keys see no rounds) stay with the caller.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from volmatch.api.service.db import Database
from volmatch.api.service.errors import ApiError, invalid, not_found
from volmatch.api.service.logs import get_logger
from volmatch.api.service.settings import VIEWS_BUILT_AT_START
from volmatch.api.service.tables import Erasure, Job, ResultRow, ResultViewRow, RoundRow

log = get_logger("result_pages")

SortKey = Literal[
    "volunteer", "name", "placement", "host", "country", "priority", "score", "start", "months"
]
SORT_KEYS: tuple[SortKey, ...] = (
    "volunteer",
    "name",
    "placement",
    "host",
    "country",
    "priority",
    "score",
    "start",
    "months",
)
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
                raise invalid(
                    "query", name, name, f"{raw!r} is not a whole number from {low} to {high}"
                )
            return int(raw)

        sort = text("sort") or "volunteer"
        descending = sort.startswith("-")
        sort = sort.lstrip("-")
        if sort not in SORT_KEYS:
            raise invalid(
                "query",
                "sort",
                "sort",
                f"{sort!r} is not a column; sort by one of {', '.join(SORT_KEYS)}",
            )
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


def _ranks(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values sorted, and each value's position among them (its rank)."""
    uniq, inverse = np.unique(_text(values), return_inverse=True)
    return uniq, inverse.astype(np.int64)


def _text(values: Sequence[str]) -> np.ndarray:
    """Strings as a numpy unicode array (stored without pickling; empty stays 1 wide)."""
    return np.array(list(values), dtype=str) if len(values) else np.array([], dtype="<U1")


def _lines(rows: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows as JSON texts end to end (bytes) with where each starts: a page decodes its
    own rows only."""
    texts = [json.dumps(r, separators=(",", ":")).encode() for r in rows]
    ends = np.cumsum([len(t) for t in texts], dtype=np.int64)
    return (
        np.frombuffer(b"".join(texts), dtype=np.uint8),
        np.concatenate([np.zeros(1, dtype=np.int64), ends]),
    )


_HEADER_KEYS = ("status", "mode", "objective", "bound", "kpis", "stats", "moves")
VIEW_FORMAT = 1
"""The layout of a stored view: a view stored under another is read from the result."""


class ResultView:
    """A round's result ready for paging. Everything lives in numpy arrays (one entry
    per assignment, unplaced volunteer, open slot, placement or volunteer), so that it
    is stored as it is (`to_bytes`, beside the result) and read back without parsing:
    filter and sort columns with strings ranked once, the placements' host, country,
    title and priority and the volunteers' names from the round document, and each
    row's JSON, decoded when a page shows it."""

    def __init__(
        self, round_id: str, header: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> None:
        self.round_id = round_id
        self.status = str(header.get("status", ""))
        self.mode = str(header.get("mode", ""))
        self.objective = int(header.get("objective", 0))
        self.bound = int(header.get("bound", 0))
        self.kpis: dict[str, Any] = dict(header.get("kpis", {}))
        self.stats: dict[str, Any] = dict(header.get("stats", {}))
        self.moves: list[dict[str, Any]] = list(header.get("moves", []))
        """Who moved from the round's previous assignment: volunteer, from, to, reason."""
        self.policy: dict[str, Any] = dict(header.get("policy") or {})
        """The round's policy as its document gives it (locked and forbidden pairs ...)."""
        self._a = arrays
        self._decoded: dict[str, list[dict[str, Any]]] = {}

    @classmethod
    def build(
        cls, round_id: str, result: Mapping[str, Any], document: Mapping[str, Any]
    ) -> ResultView:
        by_id = {str(p["id"]): p for p in document.get("placements", [])}
        pids = sorted(by_id)
        pl = [by_id[i] for i in pids]
        vols = sorted(
            (str(v["id"]), str(v.get("name") or "")) for v in document.get("volunteers", [])
        )
        names = dict(vols)
        unknown: Mapping[str, Any] = {}
        assignments = list(result.get("assignments", []))
        unmatched = list(result.get("unmatched_volunteers", []))
        open_slots = list(result.get("open_slots", []))
        at = [by_id.get(a["placement"], unknown) for a in assignments]
        arrays: dict[str, np.ndarray] = {
            "p_id": _text(pids),
            "p_host": _text([str(p.get("host", "")) for p in pl]),
            "p_country": _text([str(p.get("country", "")) for p in pl]),
            "p_title": _text([str(p.get("title", "")) for p in pl]),
            "p_priority": np.array([int(p.get("priority", 3)) for p in pl], dtype=np.int64),
            "p_slots": np.array([int(p.get("slots", 1)) for p in pl], dtype=np.int64),
            "v_id": _text([v for v, _ in vols]),
            "v_name": _text([n for _, n in vols]),
        }
        columns: dict[str, list[str]] = {
            "volunteer": [a["volunteer"] for a in assignments],
            "name": [names.get(a["volunteer"], "") for a in assignments],
            "placement": [a["placement"] for a in assignments],
            "host": [str(p.get("host", "")) for p in at],
            "country": [str(p.get("country", "")) for p in at],
            "start": [str(a["start"]) for a in assignments],
        }
        for key, col in columns.items():
            arrays[f"values_{key}"], arrays[f"codes_{key}"] = _ranks(col)
        # a placement the document lacks has priority 0, a placement without one 3
        arrays["codes_priority"] = np.array(
            [int(p.get("priority", 3)) if p else 0 for p in at], dtype=np.int64
        )
        arrays["codes_score"] = np.array([a["score"] for a in assignments], dtype=np.int64)
        arrays["codes_months"] = np.array([a["months"] for a in assignments], dtype=np.int64)
        arrays["a_search"] = _text(
            [
                f"{a['volunteer']}\t{n}\t{a['placement']}\t{p.get('title', '')}".casefold()
                for a, n, p in zip(assignments, columns["name"], at, strict=True)
            ]
        )
        # assignment of the k-th volunteer id in sorted order (ids are unique in a result)
        arrays["a_by_volunteer"] = np.argsort(arrays["codes_volunteer"], kind="stable")
        u_names = [names.get(u["volunteer"], "") for u in unmatched]
        o_titles = [str(by_id.get(s["placement"], unknown).get("title", "")) for s in open_slots]
        arrays["u_name"] = _text(u_names)
        arrays["u_find_id"] = _text([u["volunteer"].casefold() for u in unmatched])
        arrays["u_find_name"] = _text([n.casefold() for n in u_names])
        arrays["o_find_id"] = _text([s["placement"].casefold() for s in open_slots])
        arrays["o_find_title"] = _text([t.casefold() for t in o_titles])
        for key, rows in (("a", assignments), ("u", unmatched), ("o", open_slots)):
            arrays[f"{key}_lines"], arrays[f"{key}_at"] = _lines(rows)
        header = {k: result[k] for k in _HEADER_KEYS if k in result}
        header["policy"] = dict(document.get("policy") or {})
        view = cls(round_id, header, arrays)
        view._decoded = {"a": assignments, "u": unmatched, "o": open_slots}
        return view

    # -- storing ------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The view as stored beside its result: numpy's npz, no pickled objects,
        compressed (fixed-width string columns shrink about 13 times: 0.4 MB at 10,000
        volunteers instead of 5 MB, for 13 ms more to read back)."""
        header = {
            "format": VIEW_FORMAT,
            "status": self.status,
            "mode": self.mode,
            "objective": self.objective,
            "bound": self.bound,
            "kpis": self.kpis,
            "stats": self.stats,
            "moves": self.moves,
            "policy": self.policy,
        }
        buf = io.BytesIO()
        np.savez_compressed(
            buf, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **self._a
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, round_id: str, data: bytes) -> ResultView | None:
        """A stored view, or None when it was stored in another layout."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        header = json.loads(arrays.pop("header").tobytes())
        if header.get("format") != VIEW_FORMAT:
            return None
        return cls(round_id, header, arrays)

    # -- whole parts (decoded once, when asked) -----------------------------------------

    def _rows(self, key: str) -> list[dict[str, Any]]:
        rows = self._decoded.get(key)
        if rows is None:
            lines, at = self._a[f"{key}_lines"].tobytes(), self._a[f"{key}_at"].tolist()
            rows = self._decoded[key] = [json.loads(lines[a:b]) for a, b in itertools.pairwise(at)]
        return rows

    def _row_at(self, key: str, i: int) -> dict[str, Any]:
        decoded = self._decoded.get(key)
        if decoded is not None:
            return decoded[i]
        at = self._a[f"{key}_at"]
        out: dict[str, Any] = json.loads(
            self._a[f"{key}_lines"][int(at[i]) : int(at[i + 1])].tobytes()
        )
        return out

    @property
    def assignments(self) -> list[dict[str, Any]]:
        return self._rows("a")

    @property
    def unmatched(self) -> list[dict[str, Any]]:
        return self._rows("u")

    @property
    def open_slots(self) -> list[dict[str, Any]]:
        return self._rows("o")

    @cached_property
    def placements(self) -> dict[str, dict[str, Any]]:
        """Every placement of the round by id: host, country, title, priority, slots."""
        a = self._a
        return {
            pid: {"host": h, "country": c, "title": t, "priority": pr, "slots": sl}
            for pid, h, c, t, pr, sl in zip(
                a["p_id"].tolist(),
                a["p_host"].tolist(),
                a["p_country"].tolist(),
                a["p_title"].tolist(),
                a["p_priority"].tolist(),
                a["p_slots"].tolist(),
                strict=True,
            )
        }

    @cached_property
    def names(self) -> dict[str, str]:
        """Every volunteer's name by id."""
        return dict(zip(self._a["v_id"].tolist(), self._a["v_name"].tolist(), strict=True))

    def name_of(self, volunteer: str) -> str:
        k = _find(self._a["v_id"], volunteer)
        return "" if k is None else str(self._a["v_name"][k])

    def placement_of(self, placement: str) -> dict[str, Any] | None:
        """A placement's host, country, title, priority and slots; None when unknown."""
        k = _find(self._a["p_id"], placement)
        if k is None:
            return None
        a = self._a
        return {
            "host": str(a["p_host"][k]),
            "country": str(a["p_country"][k]),
            "title": str(a["p_title"][k]),
            "priority": int(a["p_priority"][k]),
            "slots": int(a["p_slots"][k]),
        }

    @property
    def n_placements(self) -> int:
        return len(self._a["p_id"])

    @property
    def n_assignments(self) -> int:
        return len(self._a["codes_score"])

    # -- facets -------------------------------------------------------------------------

    def choices(self, column: Literal["country", "host"]) -> list[str]:
        """The distinct values of a column among the assignments, sorted (filter lists)."""
        return [str(v) for v in self._a[f"values_{column}"].tolist()]

    def priorities(self) -> list[int]:
        return sorted({int(p) for p in np.unique(self._a["codes_priority"]).tolist()})

    # -- pages --------------------------------------------------------------------------

    def assignments_page(self, q: AssignmentQuery) -> Page:
        """The rows of page `q.page` after filtering and sorting (ties in volunteer id
        order); a page past the end is the last page."""
        a = self._a
        n = len(a["codes_score"])
        keep = np.ones(n, dtype=bool)
        for column, value in (("country", q.country), ("host", q.host)):
            if value is not None:
                code = _find(a[f"values_{column}"], value)
                keep &= False if code is None else a[f"codes_{column}"] == code
        if q.priority is not None:
            keep &= a["codes_priority"] == q.priority
        if q.search:
            keep &= np.strings.find(a["a_search"], q.search.casefold()) >= 0
        idx = np.flatnonzero(keep)
        primary = a[f"codes_{q.sort}"][idx]
        if q.descending:
            primary = -primary
        # lexsort: the last key is the primary one; the volunteer id breaks ties
        order = idx[np.lexsort((a["codes_volunteer"][idx], primary))]
        total = len(order)
        pages = max(1, math.ceil(total / q.per_page))
        page = min(q.page, pages)
        chosen = order[(page - 1) * q.per_page : page * q.per_page]
        return Page([self._row(int(i)) for i in chosen], total, page, q.per_page)

    def _row(self, i: int) -> dict[str, Any]:
        a = self._row_at("a", i)
        p = self.placement_of(a["placement"]) or {}
        return {
            "volunteer": a["volunteer"],
            "name": self.name_of(a["volunteer"]),
            "placement": a["placement"],
            "title": p.get("title", ""),
            "host": p.get("host", ""),
            "country": p.get("country", ""),
            "priority": p.get("priority"),
            "score": a["score"],
            "start": str(a["start"]),
            "months": a["months"],
            "breakdown": a.get("breakdown", {}),
        }

    @property
    def total_score(self) -> int:
        """The sum of the assignments' scores: the round's total on the score scale."""
        return int(self._a["codes_score"].sum())

    def assignment_of(self, volunteer: str) -> dict[str, Any] | None:
        """The row of the volunteer's assignment, or None when unplaced or unknown."""
        k = _find(self._a["values_volunteer"], volunteer)
        return None if k is None else self._row(int(self._a["a_by_volunteer"][k]))

    def chosen_pairs(self) -> tuple[list[str], list[str]]:
        """The assignments' volunteer and placement ids, in the result's order."""
        a = self._a
        return (
            a["values_volunteer"][a["codes_volunteer"]].tolist(),
            a["values_placement"][a["codes_placement"]].tolist(),
        )

    def unmatched_page(
        self, page: int = 1, per_page: int = PER_PAGE_DEFAULT, search: str | None = None
    ) -> Page:
        """Unplaced volunteers (by id) with their reasons, cost and best placement."""
        a = self._a
        idx = np.arange(len(a["u_name"]))
        if search:
            idx = idx[_finds(a["u_find_id"], a["u_find_name"], search)]
        return _paged(
            idx, page, per_page, lambda i: {**self._row_at("u", i), "name": str(a["u_name"][i])}
        )

    def open_slots_page(
        self, page: int = 1, per_page: int = PER_PAGE_DEFAULT, search: str | None = None
    ) -> Page:
        """Placements with open slots (by id), with their reasons, cost and nearest
        volunteer, and the placement's host, country, title and priority."""
        a = self._a
        idx = np.arange(len(a["o_find_id"]))
        if search:
            idx = idx[_finds(a["o_find_id"], a["o_find_title"], search)]

        def row(i: int) -> dict[str, Any]:
            s = self._row_at("o", i)
            p = self.placement_of(s["placement"]) or {}
            return {**s, **{k: p.get(k) for k in ("host", "country", "title", "priority")}}

        return _paged(idx, page, per_page, row)


def _find(values: np.ndarray, value: str) -> int | None:
    """The position of `value` in the sorted array `values`, or None."""
    k = int(np.searchsorted(values, value)) if len(values) else 0
    return k if k < len(values) and values[k] == value else None


def _finds(first: np.ndarray, second: np.ndarray, search: str) -> np.ndarray:
    """Where the search (case-insensitive) is part of either casefolded text."""
    needle = search.casefold()
    found: np.ndarray = (np.strings.find(first, needle) >= 0) | (
        np.strings.find(second, needle) >= 0
    )
    return found


def _paged(idx: np.ndarray, page: int, per_page: int, row: Callable[[int], dict[str, Any]]) -> Page:
    pages = max(1, math.ceil(len(idx) / per_page))
    page = min(max(1, page), pages)
    chosen = idx[(page - 1) * per_page : page * per_page].tolist()
    return Page([row(i) for i in chosen], len(idx), page, per_page)


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


def view_row(
    round_id: str, result: Mapping[str, Any], document: Mapping[str, Any]
) -> ResultViewRow:
    """The row to store beside a round's result (with it, in its transaction)."""
    return ResultViewRow(
        round_id=round_id, data=ResultView.build(round_id, result, document).to_bytes()
    )


def erasures_mark(session: Session) -> tuple[int, str]:
    """The erasures table's count and latest time: changes with every erasure, the one
    thing that rewrites a stored round or result."""
    count, latest = session.execute(select(func.count(), func.max(Erasure.erased_at))).one()
    return int(count or 0), str(latest)


def store_view(db: Database, round_id: str, mark: tuple[int, str], view: ResultView) -> bool:
    """Store `view`, built from a round's result read under the erasures mark `mark`, as
    that round's `result_views` row, unless the round has one already or an erasure
    happened since (the view would hold ids and names it removed). The round's row is
    locked first, as the worker and an erasure do, so that an erasure of this round
    commits wholly before (the mark differs) or after (it drops this row). Whether it
    was stored."""
    with db.write() as session:
        q = select(RoundRow.id).where(RoundRow.id == round_id)
        if session.get_bind().dialect.name == "postgresql":
            q = q.with_for_update()
        if session.execute(q).first() is None or erasures_mark(session) != mark:
            return False
        if session.get(ResultRow, round_id) is None or session.scalar(
            select(ResultViewRow.round_id).where(ResultViewRow.round_id == round_id)
        ):
            return False
        session.add(ResultViewRow(round_id=round_id, data=view.to_bytes()))
    return True


def build_missing_views(
    db: Database, stop: threading.Event, limit: int = VIEWS_BUILT_AT_START
) -> int:
    """Build and store (`store_view`) the paging views of up to `limit` stored results
    that have none, newest first, one at a time, until `stop`: a service calls this on
    a thread of its own at start, so that the first view of such a result reads arrays
    instead of parsing it. How many were stored."""
    with db.read() as session:
        missing = list(
            session.scalars(
                select(ResultRow.round_id)
                .outerjoin(ResultViewRow, ResultViewRow.round_id == ResultRow.round_id)
                .where(ResultViewRow.round_id.is_(None))
                .order_by(ResultRow.created_at.desc(), ResultRow.round_id.desc())
                .limit(limit)
            )
        )
    stored = 0
    for round_id in missing:
        if stop.is_set():
            break
        try:
            with db.read() as session:
                mark = erasures_mark(session)
                result = session.scalar(
                    select(ResultRow.result).where(ResultRow.round_id == round_id)
                )
                document = session.scalar(select(RoundRow.document).where(RoundRow.id == round_id))
            if result is None or document is None:
                continue
            view = ResultView.build(round_id, result, document)
            del result, document
            stored += store_view(db, round_id, mark, view)
        except Exception as exc:  # that result's first view builds it instead
            log.warning("building a result's view failed", extra={"exc_type": type(exc).__name__})
    if missing:
        log.info("missing result views built", extra={"missing": len(missing), "stored": stored})
    return stored


class ResultViews:
    """Parsed results kept per process (at most `kept`, least recently used dropped),
    each valid until the next erasure; safe to share between request threads.

    With `db`, a view built from a result stored without one (before revision 0006, or
    erased since) is stored too (`store_view`), so that it is parsed once, not once per
    process and again whenever the cache dropped it."""

    def __init__(
        self,
        kept: int = VIEWS_KEPT,
        build: Callable[[str, Mapping[str, Any], Mapping[str, Any]], ResultView] = ResultView.build,
        db: Callable[[], Database | None] | None = None,
    ) -> None:
        self._kept = kept
        self._build = build
        self._db = db
        self.stored = 0
        """How many views built here were stored (tests check it)."""
        self._lock = threading.Lock()
        self._views: OrderedDict[str, tuple[tuple[int, str], ResultView]] = OrderedDict()
        self.builds = 0
        """How many views were built (read from the database): tests check the cache."""
        self._preparing: set[str] = set()
        """Rounds whose view `ready` builds in the background."""

    def _cached(self, round_id: str, mark: tuple[int, str]) -> ResultView | None:
        with self._lock:
            hit = self._views.get(round_id)
            if hit is None or hit[0] != mark:
                return None
            self._views.move_to_end(round_id)
            return hit[1]

    def get(self, session: Session, round_id: str) -> ResultView:
        """The view of a round's result: 404 for an unknown round, 409 while it has no
        result. Reads the result only when it is not cached or an erasure happened."""
        mark = erasures_mark(session)
        hit = self._cached(round_id, mark)
        if hit is not None:
            return hit
        job = session.get(Job, round_id)
        if job is None:
            raise not_found("round", round_id)
        view = None
        if job.status == "done":
            data = session.scalar(
                select(ResultViewRow.data).where(ResultViewRow.round_id == round_id)
            )
            view = None if data is None else ResultView.from_bytes(round_id, data)
        if view is None:  # stored before revision 0006, or erased since: the result
            result = stored_result(session, round_id, job)
            # the document by a query of its own: the round's row may be loaded without it
            document = session.scalar(select(RoundRow.document).where(RoundRow.id == round_id))
            if document is None:
                raise not_found("round", round_id)
            view = self._build(round_id, result, document)
            self._store(round_id, mark, view)
        with self._lock:
            self.builds += 1
            self._views[round_id] = (mark, view)
            self._views.move_to_end(round_id)
            while len(self._views) > self._kept:
                self._views.popitem(last=False)
        return view

    def ready(self, session: Session, round_id: str) -> ResultView | None:
        """`get` where that reads arrays (the view cached or stored), else None with the
        view's build (parsing the whole result: 0.6-2 s at 10,000 volunteers) started
        on a thread of its own, once per round: a page shows at once that the result
        is being prepared instead of waiting for it. Needs `db` (else `get`)."""
        db = self._db() if self._db is not None else None
        if db is None:
            return self.get(session, round_id)
        hit = self._cached(round_id, erasures_mark(session))
        if hit is not None:
            return hit
        if session.scalar(
            select(ResultViewRow.round_id).where(ResultViewRow.round_id == round_id)
        ) is not None or not session.scalar(
            select(ResultRow.round_id).where(ResultRow.round_id == round_id)
        ):
            return self.get(session, round_id)  # arrays to read, or get's 404 / 409
        with self._lock:
            if round_id in self._preparing:
                return None
            self._preparing.add(round_id)

        def build() -> None:
            try:
                with db.read() as s:
                    self.get(s, round_id)
            except Exception as exc:  # the page's next view builds it again
                log.warning(
                    "preparing a result's view failed", extra={"exc_type": type(exc).__name__}
                )
            finally:
                with self._lock:
                    self._preparing.discard(round_id)

        threading.Thread(target=build, daemon=True, name="volmatch-result-view").start()
        return None

    def _store(self, round_id: str, mark: tuple[int, str], view: ResultView) -> None:
        db = self._db() if self._db is not None else None
        if db is None:
            return
        try:
            stored = store_view(db, round_id, mark, view)
        except Exception as exc:  # the page is shown all the same; the next view retries
            log.warning("storing a result's view failed", extra={"exc_type": type(exc).__name__})
            return
        if stored:
            with self._lock:
                self.stored += 1

    def clear(self) -> None:
        with self._lock:
            self._views.clear()
