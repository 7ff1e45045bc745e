"""Server CPU per request: what one request of each kind costs the API process, a figure
that, unlike latencies on a shared machine, hardly depends on the load.

It starts one `volmatch serve` process (as `load_bench` does: a fresh database, the demo
seeded, a key per host), sends `--requests` requests of each kind, `--concurrency` at a
time, and divides the server process's CPU time (user + system, all its threads, from
`/proc/PID/stat`) by the requests. The database server's own CPU is not counted: fewer
round trips show as less server CPU here and as less work for PostgreSQL besides.

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
    RESULTS,
    ROOT,
    free_port,
    make_database,
    make_keys,
    seed,
    start_server,
)

WARM_UP = 50
"""Requests of each kind sent before measuring: pools filled, statements prepared."""


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
            for label, method, path, body, who in kinds(demo, keys):
                auth = {"Authorization": f"Bearer {keys[who]}"}
                asyncio.run(send(base, method, path, body, auth, WARM_UP, args.concurrency))
                c0, t0 = cpu_s(server.pid), time.perf_counter()
                bad = asyncio.run(
                    send(base, method, path, body, auth, args.requests, args.concurrency)
                )
                c1, t1 = cpu_s(server.pid), time.perf_counter()
                row = {
                    "request": label,
                    "cpu_ms_per_request": round((c1 - c0) * 1000 / args.requests, 2),
                    "wall_s": round(t1 - t0, 2),
                    "not_2xx": bad,
                }
                rows.append(row)
                print(f"| {label} | {row['cpu_ms_per_request']} | {bad} |", flush=True)
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
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = args.out / f"request-cpu-{args.backend}-{stamp}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"\nload average 1m {load_before} -> {doc['load_avg_1m_after']}")
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
