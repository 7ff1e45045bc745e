"""Load benchmark of the matching service: a real `volmatch serve` under many concurrent
users, on SQLite or PostgreSQL.

It starts the server on a fresh database (an SQLite file in a temporary folder, or a
PostgreSQL database of its own, dropped at the end), seeds the bundled demo (300
volunteers, 96 placements of 24 hosts) with a key per host, and then, for each level
of concurrent users, runs that many asyncio users for `--duration` seconds (the client
is aiohttp, whose C parser keeps the client's own CPU small: an httpx client of a few
hundred connections spent more CPU than the server and measured itself, at a fifth of
the throughput `ab` measured on the same server):

- hosts (60%): replace one of their needs (`PUT /placements/{id}`), list their needs,
  read one;
- coordinators reading (35%): rounds, a round, a volunteer, a host's needs, the
  published assignment;
- coordinators submitting rounds (5%): `POST /rounds`, a snapshot of a few stored
  volunteers and needs, solved by the worker.

Each user waits a random think time (uniform, mean `--think`) between requests; a
request has `--timeout` seconds. Errors are answers other than the expected 2xx;
timeouts are requests that got no answer in time. After each level, one `GET` is timed
("the server answers within 1 s after the burst"). The table goes to stdout and the
JSON to `benchmarks/results/load-<backend>-<timestamp>.json`, with the 1-minute load
average sampled every second during each level.

    python -m benchmarks.load_bench --backend sqlite --users 200,400
    python -m benchmarks.load_bench --backend postgresql --users 200,1000 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.report import RESULTS, ROOT, stamp, write_results

try:
    import aiohttp
except ImportError:  # pragma: no cover - the bench extra brings it
    raise SystemExit("the load benchmark needs aiohttp: pip install -e '.[bench]'") from None

DEMO = ROOT / "scenarios" / "demo" / "round.json"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MIX = "host=0.60,reader=0.35,submitter=0.05"
"""Share of each kind of user (`--mix`)."""


@dataclass
class Level:
    """What one level of concurrent users measured."""

    users: int
    duration_s: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"read": [], "write": []})
    errors: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    load: list[float] = field(default_factory=list)
    after_burst_get_ms: float | None = None

    def record(self, kind: str, ms: float) -> None:
        self.latencies[kind].append(ms)

    def summary(self) -> dict[str, Any]:
        def pct(xs: list[float], q: float) -> float | None:
            if not xs:
                return None
            xs = sorted(xs)
            return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1)

        total = sum(len(v) for v in self.latencies.values())
        out: dict[str, Any] = {
            "users": self.users,
            "duration_s": round(self.duration_s, 1),
            "requests": total + sum(self.errors.values()) + self.timeouts,
            "ok": total,
            "rps": round(total / self.duration_s, 1) if self.duration_s else None,
            "errors": dict(sorted(self.errors.items())),
            "error_count": sum(self.errors.values()),
            "timeouts": self.timeouts,
            "after_burst_get_ms": self.after_burst_get_ms,
            "load_avg_1m_max": max(self.load) if self.load else None,
            "load_avg_1m_mean": round(statistics.mean(self.load), 2) if self.load else None,
        }
        for kind, xs in self.latencies.items():
            out[kind] = {
                "n": len(xs),
                "p50_ms": pct(xs, 0.50),
                "p95_ms": pct(xs, 0.95),
                "p99_ms": pct(xs, 0.99),
                "max_ms": pct(xs, 1.0),
            }
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_database(backend: str, workdir: Path, pg_url: str) -> tuple[str, Any]:
    """The database URL to serve, and a function that removes it afterwards."""
    if backend == "sqlite":
        return f"sqlite:///{workdir / 'load.db'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"volmatch_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(pg_url).set(database=name).render_as_string(hide_password=False), drop


def make_keys(url: str, hosts: list[str]) -> dict[str, str]:
    """A coordinator key and one key per host, created in the database directly."""
    from volmatch.api.service.auth import create_key
    from volmatch.api.service.db import database_for, migrate
    from volmatch.api.service.settings import Settings

    db = database_for(Settings(db_url=url))
    migrate(db)
    keys: dict[str, str] = {}
    with db.write() as s:
        keys["coordinator"] = create_key(s, "coordinator", label="load")[1]
        for h in hosts:
            keys[h] = create_key(s, "host", h, label="load")[1]
    db.dispose()
    return keys


def start_workers(url: str, workdir: Path, count: int) -> list[subprocess.Popen[bytes]]:
    """`count` separate `volmatch worker` processes (their logs beside the server's)."""
    exe = str(Path(sys.executable).with_name("volmatch"))
    env = {**os.environ, "VOLMATCH_LOG_LEVEL": "WARNING"}
    return [
        subprocess.Popen(
            [exe, "worker", "--db", url],
            cwd=workdir,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(workdir / f"worker{k}.log").open("wb"),
        )
        for k in range(count)
    ]


def start_server(
    url: str, port: int, workdir: Path, processes: int, workers: int
) -> subprocess.Popen[bytes]:
    exe = str(Path(sys.executable).with_name("volmatch"))
    args = [
        exe,
        "serve",
        "--port",
        str(port),
        "--db",
        url,
        "--processes",
        str(processes),
        "--embedded-workers",
        str(workers),
    ]
    env = {**os.environ, "VOLMATCH_LOG_LEVEL": "WARNING"}
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(args, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=log)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start; see " + str(workdir / "server.log"))


def seed(base: str, keys: dict[str, str], demo: dict[str, Any]) -> None:
    co = {"Authorization": f"Bearer {keys['coordinator']}"}
    with httpx.Client(base_url=base, timeout=120) as c:
        r = c.post("/volunteers", json={"volunteers": demo["volunteers"]}, headers=co)
        r.raise_for_status()
        for p in demo["placements"]:
            c.put(f"/placements/{p['id']}", json=p, headers=co).raise_for_status()
        rid = c.post("/rounds", json={"name": "seed"}, headers=co).json()["id"]
        end = time.monotonic() + 120
        while c.get(f"/rounds/{rid}", headers=co).json()["status"] != "done":
            if time.monotonic() > end:
                raise SystemExit("the seed round was not solved in 120 s")
            time.sleep(0.2)
        c.post(f"/rounds/{rid}/publish", headers=co).raise_for_status()


async def user(
    kind: str,
    n: int,
    client: Any,
    keys: dict[str, str],
    demo: dict[str, Any],
    level: Level,
    deadline: float,
    think: float,
    rng: random.Random,
) -> None:
    placements = demo["placements"]
    hosts = sorted({p["host"] for p in placements})
    host = hosts[n % len(hosts)]
    mine = [p for p in placements if p["host"] == host]
    who = host if kind == "host" else "coordinator"
    auth = {"Authorization": f"Bearer {keys[who]}"}
    vids = [v["id"] for v in demo["volunteers"]]
    pids = [p["id"] for p in placements]
    rounds: list[str] = []
    await asyncio.sleep(rng.uniform(0, 2 * think))  # users arrive spread out
    while time.monotonic() < deadline:
        if kind == "host":
            step = rng.random()
            if step < 0.4:
                p = rng.choice(mine)
                body = {**p, "priority": rng.randint(1, 5)}
                req = ("write", "PUT", f"/placements/{p['id']}", body, (200,))
            elif step < 0.7:
                req = ("read", "GET", "/placements", None, (200,))
            else:
                req = ("read", "GET", f"/placements/{rng.choice(mine)['id']}", None, (200,))
        elif kind == "reader":
            step = rng.random()
            if step < 0.2:
                req = ("read", "GET", "/rounds?limit=20", None, (200,))
            elif step < 0.4 and rounds:
                req = ("read", "GET", f"/rounds/{rng.choice(rounds)}", None, (200,))
            elif step < 0.6:
                req = ("read", "GET", f"/volunteers/{rng.choice(vids)}", None, (200,))
            elif step < 0.8:
                req = ("read", "GET", f"/placements?host={rng.choice(hosts)}", None, (200,))
            else:
                req = ("read", "GET", "/assignments", None, (200,))
        else:
            body = {
                "name": f"load {n}",
                "volunteers": rng.sample(vids, 20),
                "placements": rng.sample(pids, 8),
            }
            req = ("write", "POST", "/rounds", body, (202,))
        rw, method, path, body, ok = req
        t0 = time.perf_counter()
        try:
            async with client.request(method, path, json=body, headers=auth) as r:
                payload = await r.read()
                status = r.status
        except TimeoutError:
            level.timeouts += 1
        except aiohttp.ClientError as exc:
            key = type(exc).__name__
            level.errors[key] = level.errors.get(key, 0) + 1
        else:
            ms = (time.perf_counter() - t0) * 1000
            if status in ok:
                level.record(rw, ms)
                if kind == "reader" and path.startswith("/rounds?"):
                    rounds = [x["id"] for x in json.loads(payload)][:20]
            else:
                key = f"{method} {path.split('?')[0].split('/')[1]} {status}"
                level.errors[key] = level.errors.get(key, 0) + 1
        await asyncio.sleep(rng.uniform(0, 2 * think))


async def sample_load(level: Level, stop: asyncio.Event) -> None:
    while not stop.is_set():
        level.load.append(round(os.getloadavg()[0], 2))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def parse_mix(text: str) -> list[tuple[str, float]]:
    mix = [(k, float(v)) for k, v in (part.split("=") for part in text.split(","))]
    unknown = {k for k, _ in mix} - {"host", "reader", "submitter"}
    if unknown:
        raise SystemExit(f"--mix: unknown kinds {sorted(unknown)}")
    return mix


async def run_level(
    base: str,
    users: int,
    duration: float,
    think: float,
    timeout: float,
    keys: dict[str, str],
    demo: dict[str, Any],
    seed_: int,
    mix: list[tuple[str, float]],
) -> Level:
    level = Level(users=users, duration_s=duration)
    rng = random.Random(seed_)
    kinds: list[str] = []
    for kind, share in mix:
        kinds += [kind] * round(users * share)
    kinds = (kinds + ["reader"] * users)[:users]
    connector = aiohttp.TCPConnector(limit=users + 10)
    async with aiohttp.ClientSession(
        base_url=base, connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as client:
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_load(level, stop))
        t0 = time.monotonic()
        deadline = t0 + duration
        await asyncio.gather(
            *[
                user(
                    kind, n, client, keys, demo, level, deadline, think, random.Random(rng.random())
                )
                for n, kind in enumerate(kinds)
            ]
        )
        level.duration_s = time.monotonic() - t0
        stop.set()
        await sampler
    co = {"Authorization": f"Bearer {keys['coordinator']}"}
    t0 = time.perf_counter()
    r = httpx.get(f"{base}/placements/{demo['placements'][0]['id']}", headers=co, timeout=30)
    if r.status_code == 200:
        level.after_burst_get_ms = round((time.perf_counter() - t0) * 1000, 1)
    return level


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| users | s | requests | req/s | errors | timeouts | read p50 / p99 ms | "
        "write p50 / p99 ms | GET after ms | load avg 1m (max) |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(
            f"| {r['users']} | {r['duration_s']} | {r['requests']} | {r['rps']} | "
            f"{r['error_count']} | {r['timeouts']} | {r['read']['p50_ms']} / "
            f"{r['read']['p99_ms']} | {r['write']['p50_ms']} / {r['write']['p99_ms']} | "
            f"{r['after_burst_get_ms']} | {r['load_avg_1m_mean']} ({r['load_avg_1m_max']}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--users", default="200,400", help="Levels of concurrent users.")
    ap.add_argument("--duration", type=float, default=30.0, help="Seconds per level.")
    ap.add_argument("--think", type=float, default=1.0, help="Mean think time (s).")
    ap.add_argument("--timeout", type=float, default=60.0, help="Per-request timeout (s).")
    ap.add_argument("--processes", type=int, default=1, help="API processes (PostgreSQL).")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Embedded job workers (0: none, in each API process).",
    )
    ap.add_argument(
        "--worker-processes", type=int, default=0, help="Separate `volmatch worker` processes."
    )
    ap.add_argument("--pg-url", default=os.environ.get("VOLMATCH_TEST_PG_URL", PG_DEFAULT))
    ap.add_argument("--mix", default=MIX, help=f"Kinds of users and shares (default {MIX}).")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    hosts = sorted({p["host"] for p in demo["placements"]})
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url, drop = make_database(args.backend, workdir, args.pg_url)
        server = None
        workers: list[subprocess.Popen[bytes]] = []
        try:
            keys = make_keys(url, hosts)
            port = free_port()
            server = start_server(url, port, workdir, args.processes, args.workers)
            workers = start_workers(url, workdir, args.worker_processes)
            base = f"http://127.0.0.1:{port}"
            seed(base, keys, demo)
            for k, users in enumerate(int(u) for u in args.users.split(",")):
                level = asyncio.run(
                    run_level(
                        base,
                        users,
                        args.duration,
                        args.think,
                        args.timeout,
                        keys,
                        demo,
                        args.seed + k,
                        parse_mix(args.mix),
                    )
                )
                rows.append(level.summary())
                print(table(rows[-1:]).splitlines()[-1], flush=True)
            log = (workdir / "server.log").read_text(encoding="utf-8", errors="replace")
        finally:
            for w in workers:
                w.terminate()
                w.wait(timeout=30)
            if server is not None:
                t0 = time.monotonic()
                server.terminate()
                server.wait(timeout=60)
                stop_s = round(time.monotonic() - t0, 2)
            drop()
    doc = {
        "backend": args.backend,
        "processes": args.processes,
        "embedded_workers": args.workers,
        "worker_processes": args.worker_processes,
        "think_s": args.think,
        "mix": args.mix,
        "timeout_s": args.timeout,
        "cores": os.cpu_count(),
        "levels": rows,
        "sigterm_exit_s": stop_s,
        "server_log_errors": sum(1 for line in log.splitlines() if '"level": "error"' in line),
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print()
    print(
        f"backend {args.backend}, {args.processes} API process(es), {args.workers} "
        f"embedded worker(s), {args.worker_processes} worker process(es), think "
        f"{args.think} s, timeout {args.timeout} s; SIGTERM to exit {stop_s} s"
    )
    print(table(rows))
    write_results(doc, args.out / f"load-{args.backend}-{stamp()}.json")


if __name__ == "__main__":
    main()
