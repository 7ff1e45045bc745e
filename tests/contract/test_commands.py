"""Generated rounds through the command line as DOMAIN.md describes it: `validate`,
`solve`, `candidates`, `explain`, `advise` and `backfill` exit 0 on valid rounds and
say what the oracle says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from typer.testing import CliRunner

from tests.contract.checks import check_hard_rules, check_optimal
from tests.contract.oracle import Round, best_total, eligible_pairs, failed_rules
from tests.contract.shapes import pure_rounds
from volmatch.api.cli import app

runner = CliRunner()
RULE_NAMES = ("skills", "languages", "training", "length", "dates", "country", "security", "age")
"""`explain`'s and `advise`'s names of hard rules 1-8 (9, `forbidden`, is the pair's)."""


def _run(*args: str) -> str:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, (args, res.output)
    return res.stdout


def _check_explain(path: Path, doc: dict[str, Any], res: dict[str, Any]) -> None:
    r = Round.of(doc)
    pairs = eligible_pairs(r)
    best = best_total(r, pairs)
    placed = {a["volunteer"]: a["placement"] for a in res["assignments"]}
    for v in r.volunteers:
        out = json.loads(_run("explain", str(path), "--volunteer", v["id"], "--json"))
        by_p = {x["placement"]: x for x in out["pairs"]}
        assert set(by_p) == {p["id"] for p in r.placements}
        for p in r.placements:
            got = by_p[p["id"]]
            fails = failed_rules(r, v, p)
            assert got["eligible"] == (not fails), (v["id"], p["id"], got, fails)
            if fails:
                names = {RULE_NAMES[k - 1] if k <= 8 else "forbidden" for k in fails}
                assert set(got["failed_rules"]) == names, (v["id"], p["id"], got, names)
                continue
            assert got["score"] == pairs[v["id"], p["id"]].score
            forced = best_total(r, pairs, must_place={v["id"]: p["id"]})
            if placed.get(v["id"]) == p["id"]:
                assert got["reason"]["code"] == "pair_assigned", got
            elif forced is None:
                assert got["reason"]["code"] == "pair_locked_out", got
            else:
                assert best is not None and got["regret"] == best - forced, (got, best, forced)


def _check_advise(path: Path, doc: dict[str, Any]) -> None:
    r = Round.of(doc)
    for p in r.placements:
        out = json.loads(_run("advise", str(path), "--placement", p["id"], "--json"))
        fails = [failed_rules(r, v, p) for v in r.volunteers]
        assert out["eligible"] == sum(not f for f in fails), (p["id"], out)
        for k, name in enumerate(RULE_NAMES, 1):
            assert out["rules"][name]["fail"] == sum(k in f for f in fails), (p["id"], name)
            assert out["rules"][name]["only"] == sum(f == [k] for f in fails), (p["id"], name)
    pairs = eligible_pairs(r)
    best = best_total(r, pairs)
    for v in r.volunteers:
        out = json.loads(_run("advise", str(path), "--volunteer", v["id"], "--json"))
        for rec in out["recommendations"]:
            assert rec["score"] == pairs[v["id"], rec["placement"]].score, rec
            forced = best_total(r, pairs, must_place={v["id"]: rec["placement"]})
            if rec["regret"] is not None and forced is not None and best is not None:
                assert rec["regret"] == best - forced, (v["id"], rec, best, forced)


def _check_backfill(path: Path, doc: dict[str, Any], res_path: Path, tmp: Path) -> None:
    res = json.loads(res_path.read_text())
    locked = {x["volunteer"] for x in (doc.get("policy") or {}).get("locked", [])}
    free = [a for a in res["assignments"] if a["volunteer"] not in locked]
    if not free:
        return
    declined = free[0]["volunteer"]
    out = tmp / "proposal.json"
    _run(
        "backfill", str(path), "--result", str(res_path), "--declined", declined, "--out", str(out)
    )
    prop = json.loads(out.read_text())
    assert declined not in {a["volunteer"] for a in prop["assignments"]}
    kept = {
        (a["volunteer"], a["placement"]) for a in res["assignments"] if a["volunteer"] != declined
    }
    assert kept <= {(a["volunteer"], a["placement"]) for a in prop["assignments"]}
    # the declined volunteer stays in the round, placed nowhere
    policy = dict(doc.get("policy") or {})
    policy["forbidden"] = [
        *policy.get("forbidden", []),
        *({"volunteer": declined, "placement": p["id"]} for p in doc["placements"]),
    ]
    check_hard_rules({**doc, "policy": policy}, prop)


@settings(max_examples=12)
@given(doc=pure_rounds(max_v=4, max_p=3))
def test_commands_say_what_the_contract_says(doc: dict[str, Any], tmp_path_factory: Any) -> None:
    tmp = tmp_path_factory.mktemp("round")
    path = tmp / "round.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    _run("validate", str(path))
    res_path = tmp / "result.json"
    _run("solve", str(path), "--out", str(res_path), "--quiet")
    res = json.loads(res_path.read_text())
    check_hard_rules(doc, res)
    check_optimal(doc, res, costs=False)
    lines = [json.loads(x) for x in _run("candidates", str(path)).splitlines() if x.strip()]
    pairs = eligible_pairs(Round.of(doc))
    assert {(c["volunteer"], c["placement"]) for c in lines} == set(pairs)
    for c in lines:
        want = pairs[c["volunteer"], c["placement"]]
        assert c["score"] == want.score and c["months"] == want.months, (c, want)
        assert {k: x for k, x in c["breakdown"].items() if x} == {
            k: x for k, x in want.breakdown.items() if x
        }
    _check_explain(path, doc, res)
    _check_advise(path, doc)
    _check_backfill(path, doc, res_path, tmp)
