"""Server CPU per request: what one request of each kind costs the API process, a figure
that, unlike latencies on a shared machine, hardly depends on the load.

It starts one `volmatch serve` process (as `load_bench` does: a fresh database, the demo
seeded, a key per host), sends `--requests` requests of each kind, `--concurrency` at a
time, and divides the server process's CPU time (user + system, all its threads, from
`/proc/PID/stat`) by the requests; on PostgreSQL the same for the database backends
serving the benchmark's own database (fewer round trips are less work there too).

    python -m benchmarks.request_cpu_bench --backend postgresql
    python -m benchmarks.request_cpu_bench --backend sqlite --requests 1000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.load_bench import (
    DEMO,
    PG_DEFAULT,
    free_port,
    make_database,
    make_keys,
    seed,
    start_server,
)
from benchmarks.report import RESULTS, stamp, write_results

WARM_UP = 50
"""Requests of each kind sent before measuring: pools filled, statements prepared."""


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DatabaseCpu:
    """CPU of the PostgreSQL backends serving the benchmark's own database (found in
    `pg_stat_activity` by its name; the server runs on this machine), so that round
    trips saved show on the database's side too. None on SQLite."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.name = make_url(url).database
        self.engine = create_engine(url.split("?")[0])
        self.seen: dict[int, float] = {}

    def pids(self) -> list[int]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            own = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            rows = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": self.name}
            )
            return [int(r[0]) for r in rows if r[0] != own]

    def start(self) -> None:
        self.seen = {pid: cpu_s(pid) for pid in self.pids()}

    def used_s(self) -> float:
        total = 0.0
        for pid in set(self.seen) | set(self.pids()):
            total += max(0.0, cpu_s(pid) - self.seen.get(pid, 0.0))
        return total

    def close(self) -> None:
        self.engine.dispose()


async def send(
    base: str, method: str, path: str, body: Any, auth: dict[str, str], n: int, conc: int
) -> int:
    """`n` requests, `conc` at a time; how many were not 2xx."""
    bad = 0
    queue = list(range(n))

    async def worker(client: aiohttp.ClientSession) -> None:
        nonlocal bad
        while queue:
            queue.pop()
            async with client.request(method, path, json=body, headers=auth) as r:
                await r.read()
                bad += not 200 <= r.status < 300

    async with aiohttp.ClientSession(base_url=base) as client:
        await asyncio.gather(*[worker(client) for _ in range(conc)])
    return bad


def kinds(demo: dict[str, Any], keys: dict[str, str]) -> list[tuple[str, str, str, Any, str]]:
    """(label, method, path, body, key) of each measured request."""
    p = demo["placements"][0]
    v = demo["volunteers"][0]["id"]
    host = p["host"]
    return [
        ("GET /health (no database)", "GET", "/health", None, "coordinator"),
        ("GET /placements/{id} (host)", "GET", f"/placements/{p['id']}", None, host),
        ("GET /placements (host)", "GET", "/placements", None, host),
        ("GET /volunteers/{id}", "GET", f"/volunteers/{v}", None, "coordinator"),
        ("GET /rounds?limit=20", "GET", "/rounds?limit=20", None, "coordinator"),
        ("GET /assignments", "GET", "/assignments", None, "coordinator"),
        ("PUT /placements/{id} (host)", "PUT", f"/placements/{p['id']}", p, host),
    ]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    ap.add_argument("--requests", type=int, default=500, help="Measured requests per kind.")
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--pg-url", default=os.environ.get("VOLMATCH_TEST_PG_URL", PG_DEFAULT))
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    hosts = sorted({p["host"] for p in demo["placements"]})
    rows: list[dict[str, Any]] = []
    load_before = round(os.getloadavg()[0], 2)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url, drop = make_database(args.backend, workdir, args.pg_url)
        server = None
        try:
            keys = make_keys(url, hosts)
            port = free_port()
            server = start_server(url, port, workdir, 1, 1)
            base = f"http://127.0.0.1:{port}"
            seed(base, keys, demo)
            time.sleep(1.0)  # the seed round's background warm-up
            dbcpu = DatabaseCpu(url) if args.backend == "postgresql" else None
            print("| request | server CPU ms | database CPU ms | not 2xx |")
            print("|---|---:|---:|---:|")
            for label, method, path, body, who in kinds(demo, keys):
                auth = {"Authorization": f"Bearer {keys[who]}"}
                asyncio.run(send(base, method, path, body, auth, WARM_UP, args.concurrency))
                if dbcpu is not None:
                    dbcpu.start()
                c0, t0 = cpu_s(server.pid), time.perf_counter()
                bad = asyncio.run(
                    send(base, method, path, body, auth, args.requests, args.concurrency)
                )
                c1, t1 = cpu_s(server.pid), time.perf_counter()
                db_ms = (
                    round(dbcpu.used_s() * 1000 / args.requests, 2) if dbcpu is not None else None
                )
                row = {
                    "request": label,
                    "cpu_ms_per_request": round((c1 - c0) * 1000 / args.requests, 2),
                    "db_cpu_ms_per_request": db_ms,
                    "wall_s": round(t1 - t0, 2),
                    "not_2xx": bad,
                }
                rows.append(row)
                print(f"| {label} | {row['cpu_ms_per_request']} | {db_ms} | {bad} |", flush=True)
            if dbcpu is not None:
                dbcpu.close()
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
            drop()
    doc = {
        "backend": args.backend,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "load_avg_1m_before": load_before,
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "rows": rows,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print(f"\nload average 1m {load_before} -> {doc['load_avg_1m_after']}")
    write_results(doc, args.out / f"request-cpu-{args.backend}-{stamp()}.json")


if __name__ == "__main__":
    main()
