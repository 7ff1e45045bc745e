"""Worker for the hospital-resident baseline: PyPI `matching` in a process of its own.

It is executed as a script (never imported), so that the package's peak memory is its
own and its deep recursion gets a thread of its own.
Reads `{"residents": {id: [placements]}, "hospitals": {id: [volunteers]},
"capacities": {id: n}}` as JSON on stdin and writes the resident-optimal matching with
its timings as JSON on stdout.

The package deep-copies its player graph recursively and so overflows Python's
default recursion limit and thread stack from about a thousand players: the game runs
in a thread with a 1 GiB stack and a raised recursion limit.
"""

import json
import resource
import sys
import threading
import time


def _run(data, out):
    from matching.games import HospitalResident

    residents = {int(k): v for k, v in data["residents"].items()}
    hospitals = {int(k): v for k, v in data["hospitals"].items()}
    capacities = {int(k): v for k, v in data["capacities"].items()}
    t0 = time.perf_counter()
    game = HospitalResident.create_from_dictionaries(residents, hospitals, capacities)
    t1 = time.perf_counter()
    matching = game.solve(optimal="resident")
    t2 = time.perf_counter()
    out["build_seconds"] = t1 - t0
    out["solve_seconds"] = t2 - t1
    out["matching"] = {
        str(h.name): sorted(r.name for r in members) for h, members in matching.items()
    }


def main():
    data = json.load(sys.stdin)
    sys.setrecursionlimit(10**7)
    threading.stack_size(1 << 30)
    out = {}
    errors = []

    def target():
        try:
            _run(data, out)
        except BaseException as exc:  # reported to the parent, which marks the run failed
            errors.append(f"{type(exc).__name__}: {exc}")

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if errors:
        sys.stderr.write(errors[0] + "\n")
        return 1
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
