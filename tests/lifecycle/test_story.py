"""The life of the demo round after its match, as a coordinator who works in files
lives it: publish, five declines, a backfill, a wave of late volunteers and a new need,
deployment, outcomes, the programme report, and the outcomes feeding the next round."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from volmatch.api.cli import app
from volmatch.matching import prepare, solve_round, validate_result
from volmatch.matching.lifecycle import add_wave, apply_outcomes, propose_backfill
from volmatch.models import Result, load_round, round_to_dict
from volmatch.models.lifecycle import Outcome
from volmatch.scenarios.demo import demo_round_path

runner = CliRunner()
T0 = dt.datetime(2027, 2, 1, 9, 0)


def _run(*args: str) -> None:
    res = runner.invoke(app, [*args, "--quiet"])
    assert res.exit_code == 0, res.output


def _event(v: str, p: str, frm: str | None, to: str, day: int, **kw: Any) -> dict[str, Any]:
    return {
        "volunteer": v,
        "placement": p,
        "from": frm,
        "to": to,
        "round": "R1",
        "at": (T0 + dt.timedelta(days=day)).isoformat(),
        "by": "coordinator:c1",
        **kw,
    }


def test_the_demo_round_after_its_match(tmp_path: Path) -> None:
    # 1. Publish: every assignment becomes an offer.
    rnd = tmp_path / "round.json"
    rnd.write_text(demo_round_path().read_text())
    published = tmp_path / "result.json"
    _run("solve", str(rnd), "--out", str(published))
    offers = {
        a["volunteer"]: a["placement"] for a in json.loads(published.read_text())["assignments"]
    }
    events = [_event(v, p, None, "offered", 0) for v, p in offers.items()]

    # 2. Five volunteers decline; everyone else accepts.
    declined = sorted(offers)[:5]
    events += [_event(v, offers[v], "offered", "declined", 2, reason="visa") for v in declined]
    events += [
        _event(v, p, "offered", "accepted", 3) for v, p in offers.items() if v not in declined
    ]

    # 3. Backfill: accepted people stay where they are, the freed slots are re-matched.
    proposal = tmp_path / "proposal.json"
    _run(
        "backfill",
        str(rnd),
        "--result",
        str(published),
        "--declined",
        ",".join(declined),
        "--out",
        str(proposal),
    )
    prop = json.loads(proposal.read_text())
    now = {a["volunteer"]: a["placement"] for a in prop["assignments"]}
    assert all(now[v] == p for v, p in offers.items() if v not in declined)
    assert not set(declined) & set(now)
    assert prop["moves"] == []
    assert len(prop["new_offers"]) == len(now) - (len(offers) - 5) > 0
    assert all(o["replaces"] for o in prop["new_offers"])  # each fills a declined slot
    assert prop["total_change"] == sum(o["score"] for o in prop["new_offers"])
    assert validate_result(load_round(rnd), Result.model_validate(prop)) == []
    for o in prop["new_offers"]:
        events += [
            _event(o["volunteer"], o["placement"], None, "offered", 4),
            _event(o["volunteer"], o["placement"], "offered", "accepted", 6),
        ]

    # 4. A wave: late volunteers (two clones of a placed volunteer) and one new need;
    #    every acceptance of the first wave is frozen.
    doc = round_to_dict(load_round(rnd))
    first = next(v for v in doc["volunteers"] if v["id"] == sorted(now)[0])
    need = next(p for p in doc["placements"] if p["id"] == now[first["id"]])
    late = [{**first, "id": f"LATE{k}", "name": None} for k in (1, 2)]
    new_need = {**need, "id": "PNEW", "slots": 2}
    wave = add_wave(load_round(rnd), late, [new_need])
    wave_file = tmp_path / "round-wave2.json"
    wave_file.write_text(json.dumps(round_to_dict(wave)))
    everyone = {**now, **{v: offers[v] for v in declined}}  # declined people stay out
    wave_prop = propose_backfill(prepare(wave), everyone, declined=declined)
    assert set(wave_prop.frozen) == set(now)
    wave_offers = {o.volunteer: o.placement for o in wave_prop.new_offers}
    assert {"LATE1", "LATE2"} & set(wave_offers)
    for v, p in wave_offers.items():
        events += [
            _event(v, p, None, "offered", 20, wave=2),
            _event(v, p, "offered", "accepted", 21, wave=2),
        ]
    now.update(wave_offers)

    # 5. Deployment and its end: most complete, one extends, two return early.
    holders = sorted(now)
    early = {holders[0]: "skills_mismatch", holders[1]: "health"}
    extended = holders[2]
    outcomes = []
    for v in holders:
        p = now[v]
        w = 2 if v in wave_offers else 1
        events += [
            _event(v, p, "accepted", "pre_departure", 30, wave=w),
            _event(v, p, "pre_departure", "deployed", 60, wave=w),
        ]
        if v in early:
            events.append(_event(v, p, "deployed", "ended_early", 120, reason=early[v], wave=w))
            outcomes.append(
                {
                    "volunteer": v,
                    "placement": p,
                    "completed": False,
                    "ended_early_reason": early[v],
                    "host_rating": 2,
                }
            )
            continue
        if v == extended:
            events.append(_event(v, p, "deployed", "extended", 300, wave=w))
        events.append(
            _event(v, p, "extended" if v == extended else "deployed", "completed", 400, wave=w)
        )
        outcomes.append(
            {
                "volunteer": v,
                "placement": p,
                "completed": True,
                "host_rating": 5,
                "volunteer_rating": 4,
            }
        )

    # 6. The programme report from the file of events and outcomes.
    programme = tmp_path / "programme.json"
    programme.write_text(
        json.dumps({"rounds": {"R1": wave_file.name}, "events": events, "outcomes": outcomes})
    )
    out = tmp_path / "report"
    _run("report", str(programme), "--out", str(out))
    rep = json.loads((out / "report.json").read_text())
    t = rep["totals"]
    n_offers = len(offers) + len(prop["new_offers"]) + len(wave_offers)
    assert t["offered"] == n_offers
    assert t["declined"] == 5 and t["decline_reasons"] == {"visa": 5}
    assert t["accepted"] == t["deployed"] == len(holders) == n_offers - 5
    assert t["completed"] == len(holders) - 2
    assert t["ended_early"] == 2 and t["early_return_reasons"] == {
        "health": 1,
        "skills_mismatch": 1,
    }
    assert set(rep["wave"]) == {"R1/1", "R1/2"}
    assert sum(g["offered"] for g in rep["country"].values()) == n_offers
    assert rep["outcomes"]["completed"] == len(holders) - 2
    for name in (
        "report.xlsx",
        "round.png",
        "country.png",
        "host.png",
        "sector.png",
        "reasons.png",
    ):
        assert (out / name).stat().st_size > 0

    # 7. The next round: the skills mismatch is not repeated (the policy switch on).
    nxt = wave.model_copy(
        update={"policy": wave.policy.model_copy(update={"exclude_skills_mismatch": True})}
    )
    bad_v = holders[0]
    host = next(p.host for p in wave.placements if p.id == now[bad_v])
    nxt = apply_outcomes(nxt, [Outcome.model_validate(o) for o in outcomes])
    again = solve_round(nxt)
    assert all(
        not (
            a.volunteer == bad_v
            and next(p.host for p in wave.placements if p.id == a.placement) == host
        )
        for a in again.assignments
    )
