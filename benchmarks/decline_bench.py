"""Changes that ask for a backfill proposal on a round with policy rules, and the writes
that arrive while it is computed: is the change answered at once, and do the other
writes wait?

The service runs in this process on a fresh SQLite file (the default database, whose
one writer a long transaction would hold), with the bundled demo pool (300 volunteers,
96 needs) published under two policy rules (a nationality share per country, gender
balance), so that every proposal is solved by the rules solver. Timed, one after the
other (each once the previous proposal is ready): `--declines` declines of an offer,
then a coordinator's `POST /rounds/{id}/backfills`, then a need withdrawn (`POST
/rounds/{id}/placements/{p}/withdraw`). Each change is posted and, 50 ms later,
`--writes` concurrent `PUT /placements`; measured are the change's status and answer
time, what it answered with (`pending`, or the proposal computed in the request as
before), each PUT's status and time, and when the proposal was ready. Table to stdout,
JSON to `benchmarks/results/decline-<timestamp>.json` with the 1-minute load average
before and after.

    python -m benchmarks.decline_bench [--declines 1] [--writes 5] [--skip asked,withdrawn]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.load_bench import DEMO
from benchmarks.report import RESULTS, stamp, write_results

POLICY = {"max_nationality_share_per_country": 0.4, "gender_balance": True}
"""Rules that send the round and its backfill to the rules solver."""
KINDS = ("declined", "asked", "withdrawn")
"""The changes timed, in this order: a decline, `POST .../backfills`, a withdrawn need."""
WRITES_AFTER_S = 0.05
"""The concurrent PUTs start this long after the change, so that it is in flight."""


def _backfill_of(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The proposal a change's answer names (a decline's answer nests it)."""
    return dict(body["backfill"] if kind == "declined" else body)


def _timed(
    c: Any, co: dict[str, str], kind: str, fire: Callable[[], Any], need: dict[str, Any], n: int
) -> dict[str, Any]:
    """Fire the change, `n` PUTs of `need` meanwhile; wait for its proposal; the row."""
    writes: list[tuple[int, float]] = []
    answer: dict[str, Any] = {}
    t0 = time.perf_counter()

    def change() -> None:
        r = fire()
        answer.update(r=r, s=time.perf_counter() - t0)

    def put() -> None:
        t = time.perf_counter()
        r = c.put(f"/placements/{need['id']}", json=need, headers=co)
        writes.append((r.status_code, time.perf_counter() - t))

    threads = [threading.Thread(target=change)]
    threads[0].start()
    time.sleep(WRITES_AFTER_S)
    threads += [threading.Thread(target=put) for _ in range(n)]
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join()
    r = answer["r"]
    assert r.status_code < 300, r.text
    backfill = _backfill_of(kind, r.json())
    answered_with = backfill["status"]
    while backfill["status"] == "pending":
        time.sleep(0.05)
        backfill = c.get(backfill["url"], headers=co).json()
    return {
        "kind": kind,
        "status": r.status_code,
        "answer_s": round(answer["s"], 3),
        "answered_with": answered_with,
        "proposal": backfill["status"],
        "proposal_ready_s": round(time.perf_counter() - t0, 3),
        "writes": [{"status": st, "s": round(s_, 3)} for st, s_ in writes],
    }


def main(argv: list[str] | None = None) -> None:
    from fastapi.testclient import TestClient

    from volmatch.api.service import Settings, create_app
    from volmatch.api.service.auth import create_key

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--declines", type=int, default=1)
    ap.add_argument("--writes", type=int, default=5, help="Concurrent PUTs per change.")
    ap.add_argument("--skip", default="", help="Kinds left out: asked, withdrawn.")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    skip = {k for k in args.skip.split(",") if k}

    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    load_before = round(os.getloadavg()[0], 2)
    cpu0 = time.process_time()
    rows: list[dict[str, Any]] = []
    print("| change | answered | proposal ready | the PUTs meanwhile |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(db_url=f"sqlite:///{tmp}/decline.db", log_level="ERROR"))
        with TestClient(app) as c:
            with app.state.db.write() as s:
                co = {"Authorization": f"Bearer {create_key(s, 'coordinator')[1]}"}
            c.post("/volunteers", json={"volunteers": demo["volunteers"]}, headers=co)
            for p in demo["placements"]:
                c.put(f"/placements/{p['id']}", json=p, headers=co).raise_for_status()
            policy = {**demo["policy"], **POLICY}
            rid = c.post("/rounds", json={"name": "rules", "policy": policy}, headers=co).json()[
                "id"
            ]
            while c.get(f"/rounds/{rid}", headers=co).json()["status"] not in ("done", "failed"):
                time.sleep(0.2)
            c.post(f"/rounds/{rid}/publish", headers=co).raise_for_status()
            offers = c.get("/offers", params={"round": rid}, headers=co).json()
            need = demo["placements"][5]
            # a need with offers, not the one the PUTs write
            gone = next(
                o["placement"] for o in offers[args.declines :] if o["placement"] != need["id"]
            )
            changes: list[tuple[str, Callable[[], Any]]] = [
                (
                    "declined",
                    lambda o=o: c.post(
                        f"/offers/{o['id']}/reply",
                        json={"answer": "decline", "reason": "personal"},
                        headers=co,
                    ),
                )
                for o in offers[: args.declines]
            ]
            changes.append(("asked", lambda: c.post(f"/rounds/{rid}/backfills", headers=co)))
            changes.append(
                (
                    "withdrawn",
                    lambda: c.post(
                        f"/rounds/{rid}/placements/{gone}/withdraw", json={}, headers=co
                    ),
                )
            )
            for kind, fire in changes:
                if kind in skip:
                    continue
                row = _timed(c, co, kind, fire, need, args.writes)
                rows.append(row)
                print(
                    f"| {kind} | {row['status']} in {row['answer_s']} s ({row['answered_with']}) "
                    f"| {row['proposal_ready_s']} s ({row['proposal']}) | "
                    + ", ".join(f"{w['status']} in {w['s']:.2f}" for w in row["writes"])
                    + " |",
                    flush=True,
                )
    doc = {
        "backend": "sqlite",
        "policy": POLICY,
        "changes": rows,
        "cpu_s": round(time.process_time() - cpu0, 1),
        "load_avg_1m_before": load_before,
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(f"\nload average 1m {load_before} -> {doc['load_avg_1m_after']}, CPU {doc['cpu_s']} s")
    write_results(doc, args.out / f"decline-{stamp()}.json")


if __name__ == "__main__":
    main()
