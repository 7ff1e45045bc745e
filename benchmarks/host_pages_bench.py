"""The host partners' pages on a large pool: server time of "My needs" (every need of
the host with its eligible-now count) and of one live feasibility check, against the
API's own `GET /placements` of the same host in the same process (the baseline).

    python -m benchmarks.host_pages_bench [--volunteers 10000] [--placements 2000] [--repeat 5]

Stores a generated pool in a temporary SQLite database, signs a host in, and times
requests through the app (no network). The counts are taken against a round or pool
built once per version off the request path (`advice.ready_feasibilities`): a view
that finds it not built yet shows the list at once with "updating" (column "updating
shown") and starts the build; the row under it is how long after that view the counts
endpoint (`/host/eligible-counts`, which app.js asks) answered ready. Timed: the first
view in the process (the pool stored after the service started, so not built), repeat
views, the first view after one of the host's needs changed, the live line; the first
view after one volunteer's record changed (the pool read again for that record only);
then the same after a solved round is stored (the counts then come from the advice
service's warm round), the need form and the edit form; the matched volunteers after
the round is published; then the first view in a new process on the same database,
signed in as soon as it has started. Prints a table and writes JSON to
benchmarks/results/host-pages-<size>.json.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.generate import generate_round
from benchmarks.report import RESULTS, write_results

READY_POLL_S = 0.02
"""How often the benchmark asks whether the counts are ready (finer than app.js's 1 s,
so that the time measured is the build's, not the polling's)."""
FIRST = "GET /host/needs, first in the process"
AFTER_CHANGE = "GET /host/needs, first after a volunteer changed"
AFTER_ROUND = "GET /host/needs after a round, first"
AFTER_START = "GET /host/needs, first after a restart (round stored)"


def _store(app: Any, doc: dict[str, Any]) -> None:
    from volmatch.api.service.queries import upsert
    from volmatch.api.service.tables import Host, PlacementRow, VolunteerRow, utcnow

    now = utcnow()
    with app.state.db.write() as s:
        upsert(
            s,
            Host.__table__,
            [
                {"id": h, "name": h, "created_at": now}
                for h in sorted({p["host"] for p in doc["placements"]})
            ],
            [],
        )
        upsert(
            s,
            VolunteerRow.__table__,
            [{"id": v["id"], "data": v, "updated_at": now} for v in doc["volunteers"]],
            [],
        )
        upsert(
            s,
            PlacementRow.__table__,
            [
                {"id": p["id"], "host_id": p["host"], "data": p, "updated_at": now}
                for p in doc["placements"]
            ],
            [],
        )


def _time(call: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = call()
        out.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text[:300]
    return out


def main() -> None:
    from fastapi.testclient import TestClient

    from volmatch.api.service import Settings, create_app
    from volmatch.api.service.auth import create_key

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--volunteers", type=int, default=10_000)
    ap.add_argument("--placements", type=int, default=2_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    doc = generate_round(args.volunteers, args.placements, seed=0)
    host, n_needs = Counter(p["host"] for p in doc["placements"]).most_common(1)[0]
    need = next(p for p in doc["placements"] if p["host"] == host)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            Settings(db_url=f"sqlite:///{tmp}/bench.db", log_level="WARNING", embedded_worker=False)
        )
        with TestClient(app) as c:
            _store(app, doc)
            with app.state.db.write() as s:
                key = create_key(s, "host", host)[1]
                coordinator_key = create_key(s, "coordinator", None)[1]
            page = c.get("/sign-in")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            c.post(
                "/sign-in", data={"key": key, "csrf_token": token.group(1)}, follow_redirects=False
            )  # the first view of the page is timed below
            form = c.get("/host/needs/new")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf
            check = {
                "id": "",
                "country": need["country"],
                "slots": "1",
                "start_earliest": need["start_earliest"],
                "start_latest": need["start_latest"],
                "required_languages.code": list(need.get("required_languages", {})),
                "required_languages.level": list(need.get("required_languages", {}).values()),
            }
            auth = {"Authorization": f"Bearer {key}"}
            marked: dict[str, bool] = {}

            def view(name: str) -> list[float]:
                """One timed view of My needs, noting whether it showed "updating"."""
                t0 = time.perf_counter()
                r = c.get("/host/needs")
                took = time.perf_counter() - t0
                assert r.status_code == 200, r.text[:300]
                marked[name] = "data-counts=" in r.text
                return [took]

            def until_ready() -> list[float]:
                """From now until the counts endpoint answers ready (asked every
                READY_POLL_S, as app.js does more slowly)."""
                t0 = time.perf_counter()
                while not c.get("/host/eligible-counts").json()["ready"]:
                    time.sleep(READY_POLL_S)
                return [time.perf_counter() - t0]

            runs = {
                "GET /placements (API, baseline)": _time(
                    lambda: c.get("/placements", headers=auth), args.repeat
                ),
                FIRST: view(FIRST),
                "  counts ready (pool built in the background), after": until_ready(),
                "GET /host/needs (page, again)": _time(lambda: c.get("/host/needs"), args.repeat),
            }
            changed = {**need, "slots": int(need.get("slots", 1)) + 1}
            assert c.put(f"/placements/{need['id']}", json=changed, headers=auth).status_code == 200
            runs |= {
                "GET /host/needs, first after a need changed (counts)": _time(
                    lambda: c.get("/host/needs"), 1
                ),
                "POST /host/needs/check (live line)": _time(
                    lambda: c.post(
                        "/host/needs/check", data=check, headers={"X-CSRF-Token": csrf.group(1)}
                    ),
                    args.repeat,
                ),
            }
            # one volunteer's record changes: the pool is read again for that record only
            coordinator = {"Authorization": f"Bearer {coordinator_key}"}
            moved = {**doc["volunteers"][0], "available_from": need["start_earliest"]}
            r = c.put(f"/volunteers/{moved['id']}", json=moved, headers=coordinator)
            assert r.status_code in (200, 201), r.text[:300]
            runs |= {
                AFTER_CHANGE: view(AFTER_CHANGE),
                "  counts ready (changed record read again), after": until_ready(),
            }
            # after a round: the counts are the advice service's, against its warm round
            from benchmarks.pages_bench import _store as store_round
            from volmatch.matching import solve_round
            from volmatch.models import parse_round

            result = solve_round(parse_round(doc)).model_dump(mode="json")
            round_id = store_round(app, doc, result, pool=False)
            runs |= {
                AFTER_ROUND: view(AFTER_ROUND),
                "  counts ready (warm round built in the background), after": until_ready(),
                "GET /host/needs after a round, again": _time(
                    lambda: c.get("/host/needs"), args.repeat
                ),
                "POST /host/needs/check after a round (live line)": _time(
                    lambda: c.post(
                        "/host/needs/check", data=check, headers={"X-CSRF-Token": csrf.group(1)}
                    ),
                    args.repeat,
                ),
                "GET /host/needs/new (need form)": _time(
                    lambda: c.get("/host/needs/new"), args.repeat
                ),
                "GET /host/needs/{id} (edit form)": _time(
                    lambda: c.get(f"/host/needs/{need['id']}"), args.repeat
                ),
            }
            # after publication: the host's matched volunteers and their offers
            r = c.post(f"/rounds/{round_id}/publish", headers=coordinator)
            assert r.status_code == 201, r.text[:300]
            runs |= {
                "GET /host/matches (after publication)": _time(
                    lambda: c.get("/host/matches"), args.repeat
                ),
            }
        # a restart: the new process builds the latest round's base as it starts
        app2 = create_app(
            Settings(db_url=f"sqlite:///{tmp}/bench.db", log_level="WARNING", embedded_worker=False)
        )
        with TestClient(app2) as c2:
            page = c2.get("/sign-in")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert token
            c2.post(
                "/sign-in", data={"key": key, "csrf_token": token.group(1)}, follow_redirects=False
            )
            c = c2  # `view` and `until_ready` ask through `c`
            runs |= {
                AFTER_START: view(AFTER_START),
                "  counts ready (round built since the start), after": until_ready(),
            }
    base = statistics.median(runs["GET /placements (API, baseline)"])
    rows = [
        {
            "request": name,
            "median_s": statistics.median(t),
            "min_s": min(t),
            "x_baseline": statistics.median(t) / base,
            "updating_shown": marked.get(name),
        }
        for name, t in runs.items()
    ]
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    t = Table(
        title=f"host pages, {args.volunteers:,} volunteers x {args.placements:,} needs "
        f"({n_needs} needs of host {host}); load average {' '.join(load)}"
    )
    for col in ("request", "median s", "min s", "x baseline", "updating shown"):
        t.add_column(col, justify="left" if col == "request" else "right")
    for row in rows:
        t.add_row(
            row["request"],
            f"{row['median_s']:.3f}",
            f"{row['min_s']:.3f}",
            f"{row['x_baseline']:.1f}",
            {None: "", True: "yes", False: "no"}[row["updating_shown"]],
        )
    Console().print(t)
    write_results(
        {"load_average": load, "host": host, "needs": n_needs, "rows": rows},
        RESULTS / f"host-pages-{args.volunteers}x{args.placements}.json",
    )


if __name__ == "__main__":
    main()
