"""A result read a page at a time: every page equals filtering and sorting the whole
result in plain Python; the cache reads a result once and again after an erasure."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import big_round_and_result, plc, vol
from volmatch.api.service.errors import ApiError
from volmatch.api.service.result_pages import (
    PER_PAGE_MAX,
    SORT_KEYS,
    AssignmentQuery,
    ResultView,
    ResultViews,
)

DOC, RESULT = big_round_and_result(300, 40, placed_share=0.8)
VIEW = ResultView.build("r", RESULT, DOC)
STORED = ResultView.from_bytes("r", VIEW.to_bytes())
"""The same view as stored beside the result and read back (rows decoded on demand)."""
PLACEMENTS = {p["id"]: p for p in DOC["placements"]}
NAMES = {v["id"]: v["name"] for v in DOC["volunteers"]}


def _expected(q: AssignmentQuery) -> tuple[list[str], int]:
    """The volunteer ids of page `q`, computed naively from the whole result."""
    rows = []
    for a in RESULT["assignments"]:
        p = PLACEMENTS[a["placement"]]
        row = {
            **a,
            "name": NAMES[a["volunteer"]],
            "host": p["host"],
            "country": p["country"],
            "priority": p["priority"],
            "title": p["title"],
        }
        if q.country and row["country"] != q.country:
            continue
        if q.host and row["host"] != q.host:
            continue
        if q.priority and row["priority"] != q.priority:
            continue
        hay = f"{a['volunteer']}\t{row['name']}\t{a['placement']}\t{row['title']}".casefold()
        if q.search and q.search.casefold() not in hay:
            continue
        rows.append(row)
    rows.sort(key=lambda r: r["volunteer"])  # ties: volunteer id order
    rows.sort(key=lambda r: r[q.sort], reverse=q.descending)
    pages = max(1, -(-len(rows) // q.per_page))
    page = min(q.page, pages)
    return [r["volunteer"] for r in rows[(page - 1) * q.per_page : page * q.per_page]], len(rows)


@settings(max_examples=150, deadline=None)
@given(
    country=st.sampled_from([None, "NP", "KE", "XX"]),
    host=st.sampled_from([None, "H01", "H05", "nobody"]),
    priority=st.sampled_from([None, 1, 3, 5]),
    search=st.sampled_from([None, "v0001", "person 2", "need 3", "zzz"]),
    sort=st.sampled_from(SORT_KEYS),
    descending=st.booleans(),
    page=st.integers(1, 30),
    per_page=st.integers(1, 60),
    stored=st.booleans(),
)
def test_every_page_is_the_naive_filter_and_sort(stored: bool, **kw: Any) -> None:
    q = AssignmentQuery(**kw)
    assert STORED is not None
    page = (STORED if stored else VIEW).assignments_page(q)
    ids, total = _expected(q)
    # Python's sort keeps ties in their order when reversing too: volunteer id order
    assert [r["volunteer"] for r in page.rows] == ids
    assert page.total == total


def test_rows_carry_the_placement_and_the_name() -> None:
    page = VIEW.assignments_page(AssignmentQuery(sort="score", descending=True, per_page=3))
    top = max(RESULT["assignments"], key=lambda a: (a["score"],))
    assert page.rows[0]["score"] == top["score"]
    row = page.rows[0]
    p = PLACEMENTS[row["placement"]]
    assert (row["host"], row["country"], row["title"], row["priority"]) == (
        p["host"],
        p["country"],
        p["title"],
        p["priority"],
    )
    assert row["name"] == NAMES[row["volunteer"]]
    assert page.pages == -(-len(RESULT["assignments"]) // 3)


def test_a_page_past_the_end_is_the_last_page() -> None:
    page = VIEW.assignments_page(AssignmentQuery(page=10**6, per_page=100))
    assert page.page == page.pages == 3
    assert len(page.rows) == 240 - 200


def test_facets_list_what_the_filters_can_take() -> None:
    assert VIEW.choices("country") == sorted({p["country"] for p in DOC["placements"]})
    assert VIEW.priorities() == [1, 2, 3, 4, 5]
    assert "H00" in VIEW.choices("host")


@pytest.mark.parametrize("stored", [False, True])
def test_unmatched_and_open_slots_pages(stored: bool) -> None:
    view = STORED if stored else VIEW
    assert view is not None
    page = view.unmatched_page(page=2, per_page=25)
    assert page.total == 60 and page.pages == 3
    assert page.rows[0]["volunteer"] == "V000265"
    assert page.rows[0]["name"] == "Person 265"
    assert page.rows[0]["details"] == RESULT["unmatched_volunteers"][25]["details"]
    assert view.unmatched_page(search="PERSON 299").rows[0]["volunteer"] == "V000299"
    assert view.unmatched_page(search="v00029").total == 10
    assert view.open_slots_page().total == 0


def test_a_stored_view_reads_back_the_same() -> None:
    """Every part a page or the explanation uses, from the stored bytes as built."""
    doc, result = big_round_and_result(60, 12, placed_share=0.5)
    result["open_slots"] = [
        {
            "placement": "P00003",
            "open": 2,
            "reasons": ["r"],
            "cost": None,
            "nearest": "V000059",
            "details": [],
        },
        {
            "placement": "P00007",
            "open": 1,
            "reasons": ["s"],
            "cost": 5,
            "nearest": None,
            "details": [],
        },
    ]
    result["moves"] = [{"volunteer": "V000001", "from": "P00002", "to": "P00001", "reason": "x"}]
    doc["policy"] = {"locked": [{"volunteer": "V000001", "placement": "P00001"}]}
    built = ResultView.build("r", result, doc)
    back = ResultView.from_bytes("r", built.to_bytes())
    assert back is not None
    for view in (built, back):
        assert view.assignments == result["assignments"]
        assert view.unmatched == result["unmatched_volunteers"]
        assert view.open_slots == result["open_slots"]
        assert (view.status, view.objective, view.moves, view.policy, view.kpis) == (
            "optimal",
            result["objective"],
            result["moves"],
            doc["policy"],
            result["kpis"],
        )
        assert view.names == {v["id"]: v["name"] for v in doc["volunteers"]}
        assert view.placements["P00003"] == {
            "host": "H03",
            "country": "VN",
            "title": "need 3",
            "priority": 4,
            "slots": 5,
        }
        assert view.n_placements == 12 and view.n_assignments == 30
        assert view.name_of("V000059") == "Person 59" and view.name_of("nobody") == ""
        assert view.placement_of("nowhere") is None
        assert view.assignment_of("V000007")["placement"] == "P00007"  # type: ignore[index]
        assert view.assignment_of("V000059") is None
        assert view.chosen_pairs() == (
            [a["volunteer"] for a in result["assignments"]],
            [a["placement"] for a in result["assignments"]],
        )
        slots = view.open_slots_page(search="NEED 7")
        assert [(r["placement"], r["title"], r["host"]) for r in slots.rows] == [
            ("P00007", "need 7", "H07")
        ]
        assert view.open_slots_page(per_page=1, page=2).rows[0]["placement"] == "P00007"
    assert ResultView.from_bytes("r", ResultView.build("r", {}, {}).to_bytes()) is not None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "birth_date"}, "sort"),
        ({"page": "0"}, "page"),
        ({"priority": "9"}, "priority"),
        ({"per_page": str(PER_PAGE_MAX + 1)}, "per_page"),
        ({"page": "two"}, "page"),
    ],
)
def test_bad_parameters_are_422_naming_them(params: dict[str, str], field: str) -> None:
    with pytest.raises(ApiError) as err:
        AssignmentQuery.parse(params)
    assert err.value.status == 422
    assert err.value.errors[0].field == field


def test_parse_reads_the_query_string() -> None:
    q = AssignmentQuery.parse(
        {
            "country": "np",
            "host": "",
            "priority": "4",
            "q": " Ana ",
            "sort": "-score",
            "page": "3",
            "per_page": "20",
        }
    )
    assert q == AssignmentQuery(
        country="NP",
        host=None,
        priority=4,
        search="Ana",
        sort="score",
        descending=True,
        page=3,
        per_page=20,
    )


def test_fifty_thousand_rows_page_from_the_end() -> None:
    doc, result = big_round_and_result(50_000, 10_000)
    view = ResultView.build("big", result, doc)
    page = view.assignments_page(
        AssignmentQuery(sort="volunteer", descending=True, per_page=PER_PAGE_MAX, page=90)
    )
    assert page.total == 45_000 and page.pages == 90
    assert page.rows[-1]["volunteer"] == "V000000"
    kenya = view.assignments_page(AssignmentQuery(country="KE", priority=2))
    assert kenya.total == sum(
        1
        for a in result["assignments"]
        if (p := int(a["placement"][1:])) % 8 == 1 and 1 + p % 5 == 2
    )


# -- the cache against a real database ---------------------------------------------------


@pytest.fixture(name="database")
def database_fixture(tmp_path: Path) -> Any:
    from volmatch.api.service.db import migrate, open_database

    db = open_database(f"sqlite:///{tmp_path / 'pages.db'}")
    migrate(db)
    yield db
    db.dispose()


def _store(db: Any, status: str = "done", view: bool = False) -> str:
    from volmatch.api.service.result_pages import view_row
    from volmatch.api.service.tables import Job, ResultRow, RoundRow

    doc = {"volunteers": [vol("V1", name="Ana"), vol("V2")], "placements": [plc("P1")]}
    result = {
        "status": "optimal",
        "mode": "optimal",
        "objective": 1000,
        "bound": 1000,
        "assignments": [
            {
                "volunteer": "V1",
                "placement": "P1",
                "score": 1000,
                "start": "2027-04-01",
                "months": 6,
                "breakdown": {},
            }
        ],
        "unmatched_volunteers": [{"volunteer": "V2", "reasons": ["full"]}],
        "open_slots": [],
        "kpis": {},
        "stats": {},
    }
    rid = uuid.uuid4().hex
    with db.write() as s:
        s.add(
            RoundRow(
                id=rid,
                source="document",
                created_by="k",
                n_volunteers=2,
                n_placements=1,
                document=doc,
            )
        )
        s.flush()
        s.add(Job(round_id=rid, status=status, progress={}, attempts=1))
        if status == "done":
            s.add(ResultRow(round_id=rid, result=result, worker="w"))
            if view:
                s.flush()
                s.add(view_row(rid, result, doc))
    return rid


def _no_build(*_: Any) -> ResultView:
    raise AssertionError("the result was parsed")


def test_a_stored_view_is_read_without_parsing_the_result(database: Any) -> None:
    views = ResultViews(build=_no_build)
    rid = _store(database, view=True)
    with database.read() as s:
        view = views.get(s, rid)
    assert view.assignment_of("V1")["name"] == "Ana"  # type: ignore[index]
    assert view.unmatched_page().rows[0]["reasons"] == ["full"]


def test_the_cache_reads_a_result_once(database: Any) -> None:
    views = ResultViews()
    rid = _store(database)
    for _ in range(3):
        with database.read() as s:
            view = views.get(s, rid)
    assert views.builds == 1
    assert view.assignment_of("V1")["name"] == "Ana"  # type: ignore[index]


def test_an_erasure_makes_the_cache_read_again(database: Any) -> None:
    """And drops the round's stored view, which names the volunteer."""
    from volmatch.api.service.privacy import erase_volunteer
    from volmatch.api.service.tables import ResultViewRow

    views = ResultViews()
    rid = _store(database, view=True)
    other = _store(database, view=True)
    with database.read() as s:
        views.get(s, rid)
    with database.write() as s:
        from volmatch.api.service.tables import VolunteerRow

        s.add(VolunteerRow(id="V1", data=vol("V1", name="Ana")))
        s.flush()
        erase_volunteer(s, "V1")
    with database.read() as s:
        view = views.get(s, rid)
        assert s.get(ResultViewRow, rid) is None and s.get(ResultViewRow, other) is None
    assert views.builds == 2
    assert view.assignment_of("V1") is None
    assert view.assignments[0]["volunteer"].startswith("erased-")
    assert "Ana" not in view.names.values()


def test_the_cache_keeps_the_last_few(database: Any) -> None:
    views = ResultViews(kept=2)
    rids = [_store(database) for _ in range(3)]
    with database.read() as s:
        for rid in rids:
            views.get(s, rid)
        views.get(s, rids[0])
    assert views.builds == 4


def test_unknown_and_unfinished_rounds(database: Any) -> None:
    views = ResultViews()
    running = _store(database, status="running")
    with database.read() as s:
        with pytest.raises(ApiError) as err:
            views.get(s, uuid.uuid4().hex)
        assert err.value.status == 404
        with pytest.raises(ApiError) as err:
            views.get(s, running)
        assert err.value.status == 409


def test_a_result_without_a_view_gets_one_stored_on_its_first_view(database: Any) -> None:
    """A result stored before revision 0006 is parsed once: its view is stored, so that
    the next process (or the next view once the cache dropped it) reads arrays."""
    from volmatch.api.service.tables import ResultViewRow

    views = ResultViews(db=lambda: database)
    rid = _store(database)
    with database.read() as s:
        first = views.get(s, rid)
    assert views.stored == 1
    with database.read() as s:
        assert s.get(ResultViewRow, rid) is not None
    again = ResultViews(build=_no_build, db=lambda: database)  # a new process
    with database.read() as s:
        view = again.get(s, rid)
    assert again.stored == 0
    assert view.assignments == first.assignments
    assert view.unmatched_page().rows == first.unmatched_page().rows


def test_a_view_built_before_an_erasure_is_not_stored(database: Any) -> None:
    """The erasure happened between reading the result and storing its view: the view
    names the erased volunteer, so it is not stored (the next view reads again)."""
    from volmatch.api.service.privacy import erase_volunteer
    from volmatch.api.service.result_pages import erasures_mark, store_view
    from volmatch.api.service.tables import ResultViewRow, VolunteerRow

    rid = _store(database)
    with database.read() as s:
        mark = erasures_mark(s)
        view = ResultViews().get(s, rid)
    with database.write() as s:
        s.add(VolunteerRow(id="V1", data=vol("V1", name="Ana")))
        s.flush()
        erase_volunteer(s, "V1")
    assert not store_view(database, rid, mark, view)
    with database.read() as s:
        assert s.get(ResultViewRow, rid) is None
        assert store_view(database, rid, erasures_mark(s), ResultViews().get(s, rid))


def test_the_view_stored_on_a_first_view_on_each_backend(client: Any) -> None:
    """SQLite and PostgreSQL: a solved round's view removed (as before revision 0006) is
    stored again by its first view, once, and reads back the same."""
    from sqlalchemy import delete

    from tests.api.service.helpers import seed, solved_round
    from volmatch.api.service.tables import ResultViewRow

    seed(client)
    rid = solved_round(client)
    db = client.app.state.db
    with db.write() as s:
        s.execute(delete(ResultViewRow).where(ResultViewRow.round_id == rid))
    views = ResultViews(db=lambda: db)
    with db.read() as s:
        first = views.get(s, rid)
    views.clear()
    with db.read() as s:
        again = views.get(s, rid)
        assert s.get(ResultViewRow, rid) is not None
    assert views.stored == 1
    assert again.assignments == first.assignments


def test_missing_views_are_built_newest_first_and_bounded(database: Any) -> None:
    """Results stored without a view (before revision 0006) get theirs stored in the
    background at start, newest first and at most `limit`: their first view then reads
    arrays, as a view built from the result itself."""
    import datetime as dt
    import threading

    from volmatch.api.service.result_pages import build_missing_views
    from volmatch.api.service.tables import ResultRow, ResultViewRow

    rids = [_store(database) for _ in range(3)]
    has_view = _store(database, view=True)
    running = _store(database, status="running")
    with database.write() as s:  # stored a day apart, the oldest first
        for day, rid in enumerate(rids):
            row = s.get(ResultRow, rid)
            assert row is not None
            row.created_at = dt.datetime(2026, 1, 1 + day, tzinfo=dt.UTC)
    stop = threading.Event()
    assert build_missing_views(database, stop, limit=2) == 2
    with database.read() as s:
        assert [s.get(ResultViewRow, rid) is not None for rid in rids] == [False, True, True]
        assert s.get(ResultViewRow, running) is None
    assert build_missing_views(database, stop) == 1  # the rest; none twice
    assert build_missing_views(database, stop) == 0
    views = ResultViews(build=_no_build)  # a new process: reads every stored view
    with database.read() as s:
        for rid in [*rids, has_view]:
            assert views.get(s, rid).assignment_of("V1")["name"] == "Ana"  # type: ignore[index]
    with database.write() as s:
        s.delete(s.get(ResultViewRow, rids[0]))
    stop.set()  # a stopping service builds none
    assert build_missing_views(database, stop) == 0


def test_a_starting_service_builds_the_missing_views(tmp_path: Path) -> None:
    import time

    from fastapi.testclient import TestClient

    from tests.api.service.helpers import settings_for
    from volmatch.api.service import create_app
    from volmatch.api.service.db import migrate, open_database
    from volmatch.api.service.tables import ResultViewRow

    url = f"sqlite:///{tmp_path / 'start.db'}"
    db = open_database(url)
    migrate(db)
    rid = _store(db)
    db.dispose()
    app = create_app(settings_for(url, embedded_worker=False, results_watch_s=0))
    with TestClient(app):
        end = time.monotonic() + 20
        while True:
            with app.state.db.read() as s:
                if s.get(ResultViewRow, rid) is not None:
                    break
            assert time.monotonic() < end
            time.sleep(0.02)
