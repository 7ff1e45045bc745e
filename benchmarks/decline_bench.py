"""A decline on a round with policy rules, and the writes that arrive while its backfill
proposal is computed: does the decline answer at once, and do the other writes wait?

The service runs in this process on a fresh SQLite file (the default database, whose
one writer a long transaction would hold), with the bundled demo pool (300 volunteers,
96 needs) published under two policy rules (a nationality share per country, gender
balance), so that the proposal is solved by the rules solver. For each of `--declines`
offers: a decline is posted and, 50 ms later, `--writes` concurrent `PUT /placements`;
measured are the decline's answer time, each PUT's status and time, and when the
proposal was ready. Table to stdout, JSON to `benchmarks/results/decline-<timestamp>.json`
with the 1-minute load average before and after.

    python -m benchmarks.decline_bench
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.load_bench import DEMO, RESULTS, ROOT

POLICY = {"max_nationality_share_per_country": 0.4, "gender_balance": True}
"""Rules that send the round and its backfill to the rules solver."""


def main(argv: list[str] | None = None) -> None:
    from fastapi.testclient import TestClient

    from volmatch.api.service import Settings, create_app
    from volmatch.api.service.auth import create_key

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--declines", type=int, default=2)
    ap.add_argument("--writes", type=int, default=5, help="Concurrent PUTs per decline.")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    load_before = round(os.getloadavg()[0], 2)
    rows: list[dict[str, Any]] = []
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
            for k in range(args.declines):
                writes: list[tuple[int, float]] = []
                answer: dict[str, Any] = {}
                t0 = time.perf_counter()

                def decline(
                    offer_id: int = offers[k]["id"], t0: float = t0, answer: dict[str, Any] = answer
                ) -> None:
                    r = c.post(
                        f"/offers/{offer_id}/reply",
                        json={"answer": "decline", "reason": "personal"},
                        headers=co,
                    )
                    answer.update(r=r, s=time.perf_counter() - t0)

                def put(writes: list[tuple[int, float]] = writes) -> None:
                    t = time.perf_counter()
                    r = c.put(f"/placements/{need['id']}", json=need, headers=co)
                    writes.append((r.status_code, time.perf_counter() - t))

                threads = [threading.Thread(target=decline)]
                threads[0].start()
                time.sleep(0.05)
                threads += [threading.Thread(target=put) for _ in range(args.writes)]
                for t in threads[1:]:
                    t.start()
                for t in threads:
                    t.join()
                backfill = answer["r"].json()["backfill"]
                status = backfill["status"]
                while backfill["status"] == "pending":
                    time.sleep(0.05)
                    backfill = c.get(backfill["url"], headers=co).json()
                row = {
                    "decline_status": answer["r"].status_code,
                    "decline_s": round(answer["s"], 3),
                    "answered_with": status,
                    "proposal_ready_s": round(time.perf_counter() - t0, 3),
                    "writes": [{"status": st, "s": round(s_, 3)} for st, s_ in writes],
                }
                rows.append(row)
                print(
                    f"| {k + 1} | {row['decline_s']} ({status}) | {row['proposal_ready_s']} | "
                    + ", ".join(f"{st} in {s_:.2f}" for st, s_ in writes)
                    + " |",
                    flush=True,
                )
    doc = {
        "backend": "sqlite",
        "policy": POLICY,
        "declines": rows,
        "load_avg_1m_before": load_before,
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"decline-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"\nload average 1m {load_before} -> {doc['load_avg_1m_after']}")
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
