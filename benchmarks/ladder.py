"""The benchmark ladder: volmatch against its baselines at growing pool sizes.

    python -m benchmarks.ladder                # quick ladder: 1,000 x 200 and 10,000 x 2,000
    python -m benchmarks.ladder --full         # adds 50,000 x 10,000 and 100,000 x 20,000
    python -m benchmarks.ladder --sizes 5000x1000 --skip cpsat,hr --out /tmp/bench

For each size and variant (`pure`: the default policy; `rules`: every policy rule on)
the parent process

1. generates the round with `python -m benchmarks.generate` into a temporary JSON file,
2. runs one fresh *child* process that times, in one process, volmatch's whole path
   (`models.load_round` -> `matching.solve_round` -> `api.io.write_result`) and then, on
   the very same eligible pairs and scores, every baseline of `benchmarks.baselines`,
3. runs `volmatch solve FILE --out OUT` as a subprocess for the end-to-end time
   including interpreter start-up, and its peak resident memory (`os.wait4`).

Why a fresh child per size: peak memory is a per-process high-water mark. Inside the
child each method's peak is taken by resetting the kernel's high-water mark
(`/proc/self/clear_refs`) before it and reading `VmHWM` after it, so a method's peak
is the peak resident set of the process *while that method ran* (it includes what the
process already held: the round and its pairs). Where the reset is not allowed, the
figure falls back to the process's peak so far and the JSON says so.

Results: a rich table on the terminal, `results/ladder-<timestamp>.json` and
`results/latest.json`, and `results/ladder.png` (time and memory against the number of
eligible pairs, log-log).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

QUICK_SIZES: tuple[tuple[int, int], ...] = ((1_000, 200), (10_000, 2_000))
FULL_SIZES: tuple[tuple[int, int], ...] = (*QUICK_SIZES, (50_000, 10_000), (100_000, 20_000))
VARIANTS: tuple[str, ...] = ("pure", "rules")
BASELINES: tuple[str, ...] = ("flow", "greedy", "cpsat", "hr", "stable", "cli")
"""Methods that `--skip` accepts (volmatch's in-process run always runs)."""

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCHEMA = 1

RULES_NOTE = (
    "rules variant: the generator's rules=True round (2% of volunteers in couples sharing a "
    "group, plus benchmarks.generate.rules_policy, empty until the policy-constraints rules "
    "are in the contract); volmatch enforces the groups, the baselines solve the bare model "
    "(their figures equal the pure variant's; the flow optimum is an upper bound here)"
)


# ------------------------------------------------------------------------ memory


class PeakMeter:
    """Peak resident memory of this process over a stretch of code.

    Linux keeps a high-water mark of the resident set (`VmHWM`); writing 5 to
    `/proc/self/clear_refs` resets it to the current size. That gives each stage its own
    peak without a process per stage.
    """

    def __init__(self) -> None:
        self.resettable = self._reset()

    @staticmethod
    def _reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
        except OSError:
            return False
        return True

    def reset(self) -> None:
        """Start a new stretch (no-op where the kernel refuses the reset)."""
        if self.resettable:
            self._reset()

    @staticmethod
    def peak_mb() -> float:
        """High-water mark of the resident set since the last reset, in MiB."""
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    @staticmethod
    def current_mb() -> float:
        """Resident set now, in MiB."""
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")


# ------------------------------------------------------------------------ records


@dataclass
class MethodRecord:
    """One method's outcome at one size and variant (a row of the table)."""

    method: str
    status: str
    seconds: dict[str, float] = field(default_factory=dict)
    """Stage -> wall seconds; `total` is the method's whole time."""
    objective: int | None = None
    bound: int | None = None
    matched: int | None = None
    peak_rss_mb: float | None = None
    gap_to_bound: float | None = None
    """(bound - objective) / bound, with the method's own bound or the flow optimum."""
    pct_of_flow: float | None = None
    """objective / min-cost-flow optimum (the exact optimum of the pure problem)."""
    note: str = ""


@dataclass
class RunRecord:
    """Everything measured at one size and variant."""

    volunteers: int
    placements: int
    variant: str
    seed: int
    pairs: int = 0
    pairs_per_volunteer: float = 0.0
    slots: int = 0
    document_mb: float = 0.0
    generate_seconds: float = 0.0
    peak_reset_supported: bool = True
    load_average: float | None = None
    """1-minute load average just before the measurement (2 cores: above ~1 means other
    work shared the CPU and the timings are inflated)."""
    note: str = ""
    methods: list[MethodRecord] = field(default_factory=list)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _stage_seconds(stats: dict[str, Any]) -> dict[str, float]:
    """Per-stage seconds from `Result.stats` (under `seconds`, or at top level)."""
    raw = stats.get("seconds", stats)
    return {k: float(v) for k, v in raw.items() if isinstance(v, int | float)}


# ------------------------------------------------------------------------ child


def _pair_positions(
    keys: np.ndarray, owner_v: np.ndarray, owner_p: np.ndarray, pos: np.ndarray, n_v: int
) -> np.ndarray:
    """Per pair, the 0-based position given by the (volunteer, placement, position)
    triples, or -1 where the pair is not named."""
    out = np.full(len(keys), -1, dtype=np.int64)
    if len(owner_v) == 0 or len(keys) == 0:
        return out
    want = np.asarray(owner_p, np.int64) * max(n_v, 1) + np.asarray(owner_v, np.int64)
    order = np.argsort(keys, kind="stable")
    at = np.clip(np.searchsorted(keys, want, sorter=order), 0, len(keys) - 1)
    hit = keys[order[at]] == want
    out[order[at[hit]]] = np.asarray(pos, np.int64)[hit]
    return out


def _volmatch_stable(
    solve_round: Callable[..., Any], r: Any, hr_pairs: set[tuple[str, str]] | None, meter: PeakMeter
) -> MethodRecord:
    """volmatch's own stable mode, compared pair for pair with PyPI `matching`'s
    resident-optimal matching where that ran (both are the volunteer-optimal stable
    matching of the same lists, so they must agree)."""
    try:
        st, seconds = _timed(lambda: solve_round(r, mode="stable"))
    except Exception as exc:  # e.g. the stable mode is not there yet
        return MethodRecord("volmatch stable", "error", note=f"{type(exc).__name__}: {exc}"[:300])
    note = ""
    if hr_pairs is not None:
        got = {(a.volunteer, a.placement) for a in st.assignments}
        note = (
            "same matching as matching HR"
            if got == hr_pairs
            else f"DIFFERS from matching HR in {len(got ^ hr_pairs)} pairs"
        )
    return MethodRecord(
        "volmatch stable",
        st.status,
        {**_stage_seconds(st.stats), "total": seconds},
        st.objective,
        st.bound,
        len(st.assignments),
        meter.peak_mb(),
        note=note,
    )


def _fastest(runs: list[MethodRecord]) -> MethodRecord:
    """The run with the least total time, its note listing every run's total; peak
    memory is the largest of the runs."""
    best = min(runs, key=lambda m: m.seconds.get("total", float("inf")))
    if len(runs) > 1:
        best.peak_rss_mb = max((m.peak_rss_mb or 0.0) for m in runs) or best.peak_rss_mb
        best.note = "fastest of " + ", ".join(f"{m.seconds['total']:.2f}" for m in runs) + " s"
    return best


def _fastest_baseline(runs: list[Any]) -> Any:
    """The fastest of repeated runs of a baseline (same result each time)."""
    best = min(runs, key=lambda b: b.seconds)
    if len(runs) > 1:
        best = replace(
            best,
            note=((best.note + "; ") if best.note else "")
            + "fastest of "
            + ", ".join(f"{b.seconds:.2f}" for b in runs)
            + " s",
        )
    return best


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Measure volmatch and the baselines on one round file, in this process."""
    from benchmarks import baselines as bl
    from volmatch import matching, models

    try:
        from volmatch.api.io import read_round as _read_round
        from volmatch.api.io import write_result as _write_result

        def read(path: Path) -> Any:
            return _read_round(path, long_lived=True)  # as `volmatch solve` reads it

        def write(r: Any, res: Any, out: Path) -> None:
            _write_result(r, res, out)
    except ImportError:  # the CLI package is optional for the core benchmark

        def read(path: Path) -> Any:
            return models.load_round(path, long_lived=True)

        def write(r: Any, res: Any, out: Path) -> None:
            out.write_text(res.model_dump_json(indent=2), encoding="utf-8")

    path = Path(spec["round"])
    out_path = Path(spec["result"])
    skip = set(spec["skip"])
    meter = PeakMeter()
    methods: list[MethodRecord] = []

    # volmatch: parse to written result, as `volmatch solve` does it; with repeats,
    # the fastest run is reported (the first run of a process pays for fresh memory
    # pages that later runs, and the baselines measured after it, get for free)
    repeat = max(1, int(spec.get("repeat", 1)))

    def measure_volmatch() -> MethodRecord:
        gc.collect()
        meter.reset()
        t0 = time.perf_counter()
        r = read(path)
        t1 = time.perf_counter()
        res = matching.solve_round(r)
        t2 = time.perf_counter()
        write(r, res, out_path)
        t3 = time.perf_counter()
        t_load, t_solve_round, t_out = t1 - t0, t2 - t1, t3 - t2
        stages = _stage_seconds(res.stats)
        seconds = {
            "load": t_load,
            **stages,
            "output": t_out,
            "total": t_load + t_solve_round + t_out,
        }
        rec = MethodRecord(
            "volmatch",
            res.status,
            seconds,
            res.objective,
            res.bound,
            len(res.assignments),
            meter.peak_mb(),
        )
        del res, r
        gc.collect()
        return rec

    vm_runs = [measure_volmatch() for _ in range(repeat)]
    vm = _fastest(vm_runs)
    methods.append(vm)
    r = models.load_round(path)

    # the same pairs and scores for the baselines (timed again, directly)
    meter.reset()
    c, t_compile = _timed(lambda: matching.compile_round(r))
    pairs, t_pairs = _timed(lambda: matching.find_pairs(c))
    scores, t_scores = _timed(lambda: matching.score_pairs(c, pairs))
    direct = {"compile": t_compile, "eligibility": t_pairs, "scoring": t_scores}
    pv = np.asarray(pairs.v)
    pp = np.asarray(pairs.p)
    total = np.asarray(scores.total, dtype=np.int64)
    cap = np.asarray(c.capacity, dtype=np.int64)
    n_v = c.n_volunteers
    args = (pv, pp, total, cap, n_v)

    def add_baseline(name: str, fn: Callable[[], Any]) -> Any:
        gc.collect()
        meter.reset()
        try:
            b = fn()
        except Exception as exc:  # one broken method must not lose the others' figures
            methods.append(MethodRecord(name, "error", note=f"{type(exc).__name__}: {exc}"[:300]))
            return None
        peak = b.peak_rss_mb if b.peak_rss_mb is not None else meter.peak_mb()
        if len(b.chosen):
            bl.check_assignment(pv, pp, cap, b.chosen, n_v)
        methods.append(
            MethodRecord(
                name,
                b.status,
                {"build": b.build_seconds, "solve": b.solve_seconds, "total": b.seconds},
                b.objective,
                b.bound,
                b.matched,
                peak,
                note=b.note,
            )
        )
        return b

    def skipped(name: str, why: str) -> None:
        methods.append(MethodRecord(name, "skipped", note=why))

    flow = None
    if "flow" in skip:
        skipped("min-cost flow", "--skip flow")
    else:
        flow = add_baseline(
            "min-cost flow",
            lambda: _fastest_baseline([bl.min_cost_flow(*args) for _ in range(repeat)]),
        )
    if "greedy" in skip:
        skipped("greedy by score", "--skip greedy")
    else:
        add_baseline("greedy by score", lambda: bl.greedy_by_score(*args))
    pure = spec["variant"] == "pure"
    if not pure:
        why = "bare model is the same as the pure variant's"
        skipped("CP-SAT bare", why)
        skipped("matching HR", why)
    else:
        if "cpsat" in skip:
            skipped("CP-SAT bare", spec["skip_reason"].get("cpsat", "--skip cpsat"))
        else:
            limit = float(spec["cpsat_limit"])
            add_baseline("CP-SAT bare", lambda: bl.cpsat_bare(*args, time_limit_s=limit))
        hr = None
        if "hr" in skip:
            skipped("matching HR", spec["skip_reason"].get("hr", "--skip hr"))
        else:
            keys = c.pair_keys(pv, pp)
            vpos = _pair_positions(keys, c.pref_v, c.pref_p, c.pref_pos, n_v)
            ppos = _pair_positions(keys, c.rank_v, c.rank_p, c.rank_pos, n_v)
            hr = add_baseline(
                "matching HR",
                lambda: bl.hospital_resident(
                    *args,
                    volunteer_pref_pos=vpos,
                    placement_rank_pos=ppos,
                    timeout_s=float(spec["hr_timeout"]),
                ),
            )
        if "stable" in skip:
            skipped("volmatch stable", spec["skip_reason"].get("stable", "--skip stable"))
        else:
            hr_pairs = None
            if hr is not None and hr.status == "stable":
                hr_pairs = {
                    (c.volunteer_ids[int(pv[i])], c.placement_ids[int(pp[i])])
                    for i in hr.chosen.tolist()
                }
            gc.collect()
            meter.reset()
            methods.append(_volmatch_stable(matching.solve_round, r, hr_pairs, meter))

    best = flow.objective if flow is not None and flow.status == "optimal" else None
    for m in methods:
        if m.objective is None:
            continue
        if best:
            m.pct_of_flow = m.objective / best
        ref = m.bound if m.bound is not None else best
        if ref:
            m.gap_to_bound = (ref - m.objective) / ref
    if best is not None and pure and vm.objective != best:
        vm.note = f"objective differs from the flow optimum {best}"
    vm.note = (
        (vm.note + "; " if vm.note else "")
        + "eligibility/scoring re-timed directly: "
        + ", ".join(f"{k} {v:.2f}s" for k, v in direct.items())
    )
    return {
        "pairs": len(pv),
        "slots": int(cap.sum()),
        "peak_reset_supported": meter.resettable,
        "direct_seconds": direct,
        "methods": [asdict(m) for m in methods],
    }


# ------------------------------------------------------------------------ parent


def _venv_bin(name: str) -> Path | None:
    here = Path(sys.executable).parent / name
    if here.exists():
        return here
    found = shutil.which(name)
    return Path(found) if found else None


def _run_cli(round_file: Path, out: Path) -> MethodRecord:
    """`volmatch solve ROUND --out OUT --quiet` as a subprocess: wall time from spawn
    to exit and the child's own peak RSS from `os.wait4`."""
    exe = _venv_bin("volmatch")
    if exe is None:
        return MethodRecord("volmatch CLI", "unavailable", note="no volmatch script installed")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(exe), "solve", str(round_file), "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return MethodRecord(
            "volmatch CLI", f"exit {proc.returncode}", {"total": wall}, note=tail[0][:200]
        )
    doc = json.loads(out.read_text(encoding="utf-8"))
    return MethodRecord(
        "volmatch CLI",
        doc["status"],
        {"total": wall},
        doc["objective"],
        doc["bound"],
        len(doc["assignments"]),
        usage.ru_maxrss / 1024,
        note="subprocess, includes interpreter start-up; peak from wait4",
    )


def _generate(n_v: int, n_p: int, seed: int, rules: bool, path: Path) -> float:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.generate",
        "--volunteers",
        str(n_v),
        "--placements",
        str(n_p),
        "--seed",
        str(seed),
        "--out",
        str(path),
    ]
    if rules:
        cmd.append("--rules")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=_repo_root())
    return time.perf_counter() - t0


def _wait_for_quiet(max_wait_s: float, log: Callable[[str], None]) -> float:
    """Wait up to `max_wait_s` for the 1-minute load average to drop below half the
    cores (other people's jobs inflate every timing); return the load then."""
    limit = max((os.cpu_count() or 1) * 0.5, 0.5)
    deadline = time.monotonic() + max_wait_s
    load = os.getloadavg()[0]
    while load >= limit and time.monotonic() < deadline:
        time.sleep(min(15.0, max(deadline - time.monotonic(), 0.1)))
        load = os.getloadavg()[0]
    if load >= limit:
        log(
            f"warning: load average {load:.2f} on {os.cpu_count()} cores; "
            "timings will be inflated (see --wait-idle)"
        )
    return load


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def run_size(
    n_v: int,
    n_p: int,
    variant: str,
    args: argparse.Namespace,
    workdir: Path,
    log: Callable[[str], None],
) -> RunRecord:
    """Generate, measure in a child, run the CLI: one row group of the table."""
    rec = RunRecord(n_v, n_p, variant, args.seed)
    if variant == "rules":
        rec.note = RULES_NOTE
    round_file = workdir / f"round-{n_v}x{n_p}-{variant}.json"
    log(f"{n_v:,} x {n_p:,} {variant}: generating")
    rec.generate_seconds = _generate(n_v, n_p, args.seed, variant == "rules", round_file)
    rec.document_mb = round_file.stat().st_size / 2**20
    skip = set(args.skip)
    reasons: dict[str, str] = {}
    if n_v > args.cpsat_max_volunteers and "cpsat" not in skip:
        skip.add("cpsat")
        reasons["cpsat"] = (
            f"above {args.cpsat_max_volunteers:,} volunteers (ANCHORS: no "
            "solution within minutes; raise --cpsat-max-volunteers)"
        )
    if n_v > args.hr_max_volunteers and "hr" not in skip:
        skip.add("hr")
        reasons["hr"] = (
            f"above {args.hr_max_volunteers:,} volunteers (ANCHORS: ~107 s at "
            "10k; raise --hr-max-volunteers)"
        )
    spec = {
        "round": str(round_file),
        "result": str(workdir / f"result-{n_v}x{n_p}-{variant}.json"),
        "variant": variant,
        "skip": sorted(skip),
        "skip_reason": reasons,
        "cpsat_limit": args.cpsat_limit,
        "hr_timeout": args.hr_timeout,
        # a rules round's search runs to its time limit: repeating it shows nothing
        "repeat": args.repeat if variant == "pure" else 1,
    }
    rec.load_average = _wait_for_quiet(args.wait_idle, log)
    log(
        f"{n_v:,} x {n_p:,} {variant}: volmatch and baselines (load average {rec.load_average:.2f})"
    )
    spec_file = workdir / "spec.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    child_out = workdir / "child.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.ladder",
            "--child",
            str(spec_file),
            "--child-out",
            str(child_out),
        ],
        cwd=_repo_root(),
        check=False,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        rec.note = (rec.note + "; " if rec.note else "") + "child failed: " + " | ".join(tail)
        rec.methods.append(MethodRecord("volmatch", "error", note=" | ".join(tail)[:300]))
    else:
        got = json.loads(child_out.read_text(encoding="utf-8"))
        rec.pairs = got["pairs"]
        rec.slots = got["slots"]
        rec.peak_reset_supported = got["peak_reset_supported"]
        rec.methods = [MethodRecord(**m) for m in got["methods"]]
    rec.pairs_per_volunteer = rec.pairs / n_v
    if "cli" in skip:
        rec.methods.insert(1, MethodRecord("volmatch CLI", "skipped", note="--skip cli"))
    else:
        log(f"{n_v:,} x {n_p:,} {variant}: volmatch solve (subprocess)")
        cli = _run_cli(round_file, workdir / f"cli-{n_v}x{n_p}-{variant}.json")
        flow = next(
            (m for m in rec.methods if m.method == "min-cost flow" and m.status == "optimal"), None
        )
        if cli.objective is not None and flow is not None and flow.objective:
            cli.pct_of_flow = cli.objective / flow.objective
            if cli.bound:
                cli.gap_to_bound = (cli.bound - cli.objective) / cli.bound
        rec.methods.insert(1, cli)
    round_file.unlink(missing_ok=True)
    return rec


def evaluate_targets(runs: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """The issue's targets, checked on the pure variant at the sizes they name."""
    out: list[dict[str, Any]] = []

    def method(run: RunRecord, name: str) -> MethodRecord | None:
        return next((m for m in run.methods if m.method == name), None)

    for run in runs:
        if run.variant != "pure":
            continue
        size = f"{run.volunteers:,} x {run.placements:,}"
        vm, flow, cli = (
            method(run, "volmatch"),
            method(run, "min-cost flow"),
            method(run, "volmatch CLI"),
        )
        if vm is None or "total" not in vm.seconds:
            continue
        if (
            (run.volunteers, run.placements) in ((50_000, 10_000), (100_000, 20_000))
            and flow is not None
            and "total" in flow.seconds
        ):
            ratio = vm.seconds["total"] / flow.seconds["total"]
            out.append(
                {
                    "target": "volmatch solve (parse to written result) <= 2x bare min-cost flow, "
                    "status optimal",
                    "size": size,
                    "value": f"{ratio:.2f}x, {vm.status}",
                    "met": bool(ratio <= 2.0 and vm.status == "optimal"),
                }
            )
        if (run.volunteers, run.placements) == (100_000, 20_000):
            peak = cli.peak_rss_mb if cli is not None and cli.peak_rss_mb else vm.peak_rss_mb
            if peak is not None:
                out.append(
                    {
                        "target": "peak memory < 4 GiB",
                        "size": size,
                        "value": f"{peak / 1024:.2f} GiB",
                        "met": bool(peak < 4096),
                    }
                )
            es = vm.seconds.get("eligibility", 0.0) + vm.seconds.get("scoring", 0.0)
            with_compile = es + vm.seconds.get("compile", 0.0)
            out.append(
                {
                    "target": "eligibility + scoring < 5 s",
                    "size": size,
                    "value": f"{es:.2f} s ({with_compile:.2f} s with compile)",
                    "met": bool(es < 5.0),
                }
            )
    return out


# ------------------------------------------------------------------------ output

_STAGE_COLUMNS = ("load", "compile", "eligibility", "scoring", "solve", "post", "output")


def _row_cells(run: RunRecord, m: MethodRecord) -> list[str]:
    s = dict(m.seconds)
    if "build" in s:  # baselines: model building counts as their "compile"
        s["compile"] = s.pop("build")
    post = s.get("explain", 0.0) + s.get("kpis", 0.0)
    if "explain" in s or "kpis" in s:
        s["post"] = post

    def sec(k: str) -> str:
        return f"{s[k]:.2f}" if k in s else ""

    def num(x: float | int | None, fmt: str) -> str:
        return "" if x is None else format(x, fmt)

    return [
        f"{run.volunteers:,} x {run.placements:,}",
        run.variant,
        m.method,
        f"{run.pairs:,}",
        *(sec(k) for k in _STAGE_COLUMNS),
        sec("total"),
        num(m.peak_rss_mb, ",.0f"),
        num(m.objective, ","),
        "" if m.gap_to_bound is None else f"{100 * m.gap_to_bound:.2f}%",
        "" if m.pct_of_flow is None else f"{100 * m.pct_of_flow:.1f}%",
        num(m.matched, ","),
        m.status,
    ]


HEADERS = (
    "size",
    "variant",
    "method",
    "pairs",
    *_STAGE_COLUMNS,
    "total s",
    "peak MB",
    "objective",
    "gap",
    "% of flow",
    "matched",
    "status",
)


def print_table(runs: Sequence[RunRecord], targets: Sequence[dict[str, Any]]) -> None:
    """The rich table on the terminal, then the targets."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(shutil.get_terminal_size((240, 40)).columns, 240))
    table = Table(title="volmatch benchmark ladder (seconds; peak resident MB)", show_lines=False)
    for h in HEADERS:
        table.add_column(
            h,
            justify="left" if h in ("size", "variant", "method", "status") else "right",
            no_wrap=True,
        )
    for run in runs:
        for k, m in enumerate(run.methods):
            table.add_row(*_row_cells(run, m), end_section=k == len(run.methods) - 1)
    console.print(table)
    for run in runs:
        load = "" if run.load_average is None else f", load average {run.load_average:.2f}"
        console.print(
            f"  {run.volunteers:,} x {run.placements:,} {run.variant}: {run.pairs:,} pairs "
            f"({run.pairs_per_volunteer:.1f} per volunteer), {run.slots:,} slots, document "
            f"{run.document_mb:.1f} MB generated in {run.generate_seconds:.1f} s{load}",
            highlight=False,
            soft_wrap=True,
        )
        for m in run.methods:
            if m.note:
                console.print(
                    f"  {run.volunteers:,} x {run.placements:,} {run.variant}, "
                    f"{m.method}: {m.note}",
                    highlight=False,
                    soft_wrap=True,
                )
    if targets:
        t = Table(title="targets (pure policy)")
        for h in ("target", "size", "value", "met"):
            t.add_column(h)
        for x in targets:
            t.add_row(x["target"], x["size"], x["value"], "yes" if x["met"] else "NO")
        console.print(t)


def markdown_table(runs: Sequence[RunRecord]) -> str:
    """The same table as Markdown, for the README."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for run in runs:
        for m in run.methods:
            lines.append("| " + " | ".join(_row_cells(run, m)) + " |")
    return "\n".join(lines)


def plot(runs: Sequence[RunRecord], path: Path) -> None:
    """Time and peak memory against eligible pairs, log-log, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[int, float, float | None, bool]]] = {}
    for run in runs:
        for m in run.methods:
            if "total" not in m.seconds or run.pairs == 0:
                continue
            name = m.method if run.variant == "pure" else f"{m.method} (rules)"
            if run.variant != "pure" and not m.method.startswith("volmatch"):
                continue
            exact = m.status in ("optimal", "stable")
            series.setdefault(name, []).append(
                (run.pairs, m.seconds["total"], m.peak_rss_mb, exact)
            )
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(13, 5.5))
    for name, pts in sorted(series.items()):
        pts.sort()
        x = [p[0] for p in pts]
        style = "--" if name.endswith("(rules)") else "-"
        (line,) = ax_t.plot(x, [p[1] for p in pts], style, marker="o", label=name)
        hollow = [p for p in pts if not p[3]]
        if hollow:
            ax_t.plot(
                [p[0] for p in hollow],
                [p[1] for p in hollow],
                "o",
                mfc="white",
                color=line.get_color(),
                ms=9,
            )
        mem = [(p[0], p[2]) for p in pts if p[2]]
        if mem:
            ax_m.plot(
                [p[0] for p in mem],
                [p[1] for p in mem],
                style,
                marker="o",
                color=line.get_color(),
                label=name,
            )
    for ax, ylabel in ((ax_t, "wall time (s)"), (ax_m, "peak resident memory (MiB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("eligible pairs")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)

    def short(n: int) -> str:
        return f"{n / 1000:g}k" if n >= 1000 else str(n)

    sizes = sorted(
        {(r.pairs, f"{short(r.volunteers)}×{short(r.placements)}") for r in runs if r.pairs}
    )
    for ax in (ax_t, ax_m):
        top = ax.secondary_xaxis("top")
        top.set_xticks(
            [x for x, _ in sizes], labels=[lab for _, lab in sizes], fontsize=7, rotation=30
        )
        top.minorticks_off()
    ax_t.set_title("time vs pool size (hollow: not proven optimal / stable)")
    ax_m.set_title("peak memory vs pool size")
    ax_t.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _machine() -> dict[str, Any]:
    from importlib.metadata import version

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "ortools": version("ortools"),
    }
    try:
        with open("/proc/meminfo") as fh:
            info["memory_gib"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    return info


def load_runs(path: Path) -> tuple[list[RunRecord], list[dict[str, Any]]]:
    """The runs and targets of a results JSON written by `main`."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    runs = []
    for raw in doc["runs"]:
        methods = [MethodRecord(**m) for m in raw.pop("methods")]
        runs.append(RunRecord(**raw, methods=methods))
    return runs, doc.get("targets", [])


README = Path(__file__).resolve().parent / "README.md"
_README_START = "<!-- latest results: start (benchmarks.ladder --render JSON --readme) -->"
_README_END = "<!-- latest results: end -->"


def readme_section(path: Path) -> str:
    """The README's "latest results" block for a results JSON."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    runs, targets = load_runs(path)
    m = doc["machine"]
    loads = [r.load_average for r in runs if r.load_average is not None]
    lines = [
        _README_START,
        "",
        f"Run `{' '.join(doc['command'])}`, {doc['started']} to {doc['finished']}, on "
        f"{m['cpus']} cores / {m.get('memory_gib', '?')} GiB, Python {m['python']}, numpy "
        f"{m['numpy']}, OR-Tools {m['ortools']}. 1-minute load average before the "
        f"measurements: {min(loads):.1f} to {max(loads):.1f}"
        + (" (other jobs shared the CPU: timings are inflated)." if max(loads) >= 1 else ".")
        if loads
        else "",
        "",
        "| target (pure policy) | size | value | met |",
        "|---|---|---|---|",
        *(
            f"| {t['target']} | {t['size']} | {t['value']} | {'yes' if t['met'] else '**no**'} |"
            for t in targets
        ),
        "",
        markdown_table(runs),
        "",
        "![time and peak memory against eligible pairs](results/ladder.png)",
        "",
        _README_END,
    ]
    return "\n".join(lines)


def update_readme(path: Path, readme: Path = README) -> None:
    """Replace the README's latest-results block (between its markers) with `path`'s."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(_README_START), text.find(_README_END)
    if start < 0 or end < 0:
        raise SystemExit(f"{readme} has no latest-results markers")
    block = readme_section(path)
    readme.write_text(text[:start] + block + text[end + len(_README_END) :], encoding="utf-8")


def render(path: Path, png: Path | None, readme: bool = False) -> int:
    """Re-print an earlier run's table and Markdown, redraw its plot, and optionally put
    it into the README."""
    runs, targets = load_runs(path)
    print_table(runs, targets)
    print()
    print(markdown_table(runs))
    if png is not None:
        plot(runs, png)
    if readme:
        update_readme(path)
    return 0


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """`1000x200,10000x2000` -> [(1000, 200), (10000, 2000)]."""
    sizes: list[tuple[int, int]] = []
    for part in text.split(","):
        a, _, b = part.strip().lower().replace("_", "").partition("x")
        sizes.append((int(a), int(b)))
    return sizes


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.ladder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--full",
        action="store_true",
        help="all four sizes (adds 50,000 x 10,000 and 100,000 x 20,000)",
    )
    ap.add_argument("--sizes", type=parse_sizes, help="explicit sizes, e.g. 1000x200,5000x1000")
    ap.add_argument("--variants", default="pure,rules", help="pure, rules or both")
    ap.add_argument("--skip", default="", help=f"comma list of {', '.join(BASELINES)}")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory")
    ap.add_argument("--cpsat-limit", type=float, default=20.0, help="CP-SAT time limit (s)")
    ap.add_argument("--cpsat-max-volunteers", type=int, default=10_000)
    ap.add_argument("--hr-max-volunteers", type=int, default=1_000)
    ap.add_argument("--hr-timeout", type=float, default=600.0)
    ap.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="S",
        help="before each size, wait up to S seconds for the machine to be idle",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="N",
        help="time volmatch and min-cost flow N times each, report the fastest",
    )
    ap.add_argument("--no-plot", action="store_true")
    ap.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="print the table (and Markdown) of an earlier run and redraw its plot",
    )
    ap.add_argument(
        "--readme",
        action="store_true",
        help="with --render: write the table into benchmarks/README.md",
    )
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ladder (or, with the internal `--child`, one measurement)."""
    args = build_parser().parse_args(argv)
    if args.child is not None:
        spec = json.loads(args.child.read_text(encoding="utf-8"))
        got = run_child(spec)
        args.child_out.write_text(json.dumps(got), encoding="utf-8")
        return 0
    if args.render is not None:
        return render(
            args.render, None if args.no_plot else args.out / "ladder.png", readme=args.readme
        )
    args.skip = [s for s in (x.strip() for x in args.skip.split(",")) if s]
    unknown = set(args.skip) - set(BASELINES)
    if unknown:
        raise SystemExit(f"--skip: unknown method(s) {', '.join(sorted(unknown))}")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if set(variants) - set(VARIANTS):
        raise SystemExit("--variants: use pure, rules or pure,rules")
    sizes = args.sizes or list(FULL_SIZES if args.full else QUICK_SIZES)

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    started = dt.datetime.now(dt.UTC)
    runs: list[RunRecord] = []
    with tempfile.TemporaryDirectory(prefix="volmatch-bench-") as tmp:
        for n_v, n_p in sizes:
            for variant in variants:
                runs.append(run_size(n_v, n_p, variant, args, Path(tmp), log))
    targets = evaluate_targets(runs)
    print_table(runs, targets)
    doc = {
        "schema": SCHEMA,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": ["python", "-m", "benchmarks.ladder", *(argv or sys.argv[1:])],
        "machine": _machine(),
        "peak_memory_method": "VmHWM per method after a /proc/self/clear_refs reset, in a "
        "fresh child process per size; CLI: ru_maxrss from wait4",
        "runs": [asdict(r) for r in runs],
        "targets": targets,
        "markdown": markdown_table(runs),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(doc, indent=2)
    (args.out / f"ladder-{stamp}.json").write_text(text, encoding="utf-8")
    (args.out / "latest.json").write_text(text, encoding="utf-8")
    log(f"results: {args.out / f'ladder-{stamp}.json'} and latest.json")
    if not args.no_plot:
        plot(runs, args.out / "ladder.png")
        log(f"plot: {args.out / 'ladder.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
