"""Coordinator pages through the app (TestClient): dashboard, pool upload with its
error table and nothing stored, a round from the policy form, its result paged, sorted
and filtered on the server, explain, advice, lock and re-run with the moves listed,
publish, the workbook; other roles get the 404 page, forms without CSRF the 403 page."""

from __future__ import annotations

import html
import io
import json
import re
from typing import Any

from tests.api.service.helpers import placements, round_doc, seed, volunteers, wait_round
from tests.api.web.helpers import csrf_of, sign_in


def _coordinator(web: Any) -> str:
    """Sign the coordinator in; the CSRF token of their session."""
    assert sign_in(web, web.keys.coordinator).status_code == 303
    return csrf_of(web.get("/coordinator/pool").text)


def _start_round(web: Any, csrf: str, **fields: str) -> str:
    form = {
        "csrf_token": csrf,
        "name": "spring",
        "mode": "optimal",
        "time_limit_s": "10",
        "international_only": "on",
        **fields,
    }
    r = web.post("/coordinator/rounds/new", data=form)
    assert r.status_code == 303, r.text
    rid = r.headers["location"].rsplit("/", 1)[1]
    assert wait_round(web, rid, web.keys.auth("coordinator"))["status"] == "done"
    return rid


def test_dashboard_shows_pool_needs_and_rounds(web: Any) -> None:
    seed(web)
    csrf = _coordinator(web)
    page = web.get("/coordinator")
    assert page.status_code == 200
    assert f'<strong class="big">{len(volunteers())}</strong>' in page.text
    assert "No round yet." in page.text
    rid = _start_round(web, csrf)
    page = web.get("/coordinator")
    assert f"/coordinator/rounds/{rid}" in page.text and "spring" in page.text
    countries = {p["country"] for p in placements()}
    assert all(f'<th scope="row">{c}</th>' in page.text for c in countries)


def test_pool_upload_lists_every_error_and_stores_nothing(web: Any) -> None:
    csrf = _coordinator(web)
    doc = round_doc()
    doc["volunteers"][0]["nationality"] = "Atlantis"
    doc["placements"][0]["slots"] = 0
    r = web.post(
        "/coordinator/pool",
        data={"csrf_token": csrf},
        files={"file": ("pool.json", json.dumps(doc).encode(), "application/json")},
    )
    assert r.status_code == 422
    rows = re.findall(r'<tr class="error-row">(.*?)</tr>', r.text, re.S)
    assert len(rows) == 2
    assert "nationality" in r.text and "slots" in r.text
    assert "nothing was stored" in r.text
    assert web.get("/volunteers", headers=web.keys.auth("coordinator")).json() == []
    good = round_doc()
    r = web.post(
        "/coordinator/pool",
        data={"csrf_token": csrf},
        files={"file": ("pool.json", json.dumps(good).encode(), "application/json")},
    )
    assert r.status_code == 200, r.text
    assert f"Volunteers: {len(good['volunteers'])} new, 0 replaced" in r.text
    stored = web.get("/volunteers", headers=web.keys.auth("coordinator")).json()
    assert len(stored) == len(good["volunteers"])


def test_pool_upload_without_csrf_is_the_403_page(web: Any) -> None:
    _coordinator(web)
    r = web.post(
        "/coordinator/pool", files={"file": ("pool.json", json.dumps(round_doc()).encode(), "x")}
    )
    assert r.status_code == 403
    assert web.get("/volunteers", headers=web.keys.auth("coordinator")).json() == []


def test_policy_form_errors_are_beside_their_fields(web: Any) -> None:
    seed(web)
    csrf = _coordinator(web)
    r = web.post(
        "/coordinator/rounds/new",
        data={"csrf_token": csrf, "mode": "optimal", "time_limit_s": "soon", "w_skills": "-3"},
    )
    assert r.status_code == 422
    assert 'id="time_limit_s-error"' in r.text
    assert web.get("/rounds", headers=web.keys.auth("coordinator")).json() == []
    r = web.post(
        "/coordinator/rounds/new",
        data={"csrf_token": csrf, "mode": "optimal", "time_limit_s": "10", "w_skills": "-3"},
    )
    assert r.status_code == 422
    assert 'id="w_skills-error"' in r.text


def test_result_page_sorts_filters_pages_explains_and_publishes(web: Any) -> None:
    seed(web)
    csrf = _coordinator(web)
    rid = _start_round(web, csrf)
    co = web.keys.auth("coordinator")
    result = web.get(f"/rounds/{rid}/result", headers=co).json()
    page = web.get(f"/coordinator/rounds/{rid}?sort=-score&per_page=1")
    assert page.status_code == 200
    best = max(result["assignments"], key=lambda a: (a["score"], [-ord(c) for c in a["volunteer"]]))
    body = page.text.split('id="assignments"')[1].split("</table>")[0]
    assert f'<td data-label="Volunteer">{best["volunteer"]}</td>' in body
    assert body.count("<tr>") == 2  # the header and one row
    country = placements()[0]["country"]
    filtered = web.get(f"/coordinator/rounds/{rid}?country={country}")
    there = {p["id"] for p in placements() if p["country"] == country}
    n = sum(1 for a in result["assignments"] if a["placement"] in there)
    assert f"{n} assignment" in filtered.text
    assert web.get(f"/coordinator/rounds/{rid}?sort=birth_date").status_code == 200
    v = result["assignments"][0]["volunteer"]
    explained = web.get(f"/coordinator/rounds/{rid}/explain?volunteer={v}")
    assert explained.status_code == 200 and "qualify for" in explained.text
    p = result["assignments"][0]["placement"]
    advice = web.get(f"/coordinator/rounds/{rid}/advice?placement={p}")
    assert advice.status_code == 200 and v in advice.text
    # the page lists the API's recommendations, in its order, with its costs
    recs = web.get(f"/placements/{p}/recommendations?round={rid}", headers=co).json()
    table = advice.text.split('id="advice"')[1].split("</table>")[0]
    shown = re.findall(r'volunteer=([^&"]+)&amp;placement', table)
    assert shown == [x["volunteer"] for x in recs["recommendations"]]
    assert f"{recs['eligible']} volunteer" in advice.text
    from volmatch.api.service.warm import warm_rounds

    # the round was prepared once, by the worker, which handed it to the advice pages;
    # the explanations are priced from that (not from the arrays stored with the
    # result: a second build); the API agrees with them and shares it
    priced = web.app.state.priced_rounds
    assert warm_rounds(web.app).builds == 1 and priced.builds == 1
    api = web.get(f"/rounds/{rid}/explain?volunteer={v}&placement={p}", headers=co).json()
    assert api["pairs"][0]["outcome"] in explained.text
    assert priced.builds == 1 and priced.stored.builds == 0
    book = web.get(f"/coordinator/rounds/{rid}/result.xlsx")
    assert book.status_code == 200 and book.content[:2] == b"PK"
    r = web.post(f"/coordinator/rounds/{rid}/publish", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert "published" in web.get(r.headers["location"]).text
    assert (
        web.post(f"/coordinator/rounds/{rid}/publish", data={"csrf_token": csrf}).status_code == 409
    )


def test_lock_a_pair_and_rerun_lists_the_moves(web: Any) -> None:
    seed(web)
    csrf = _coordinator(web)
    rid = _start_round(web, csrf)
    co = web.keys.auth("coordinator")
    result = web.get(f"/rounds/{rid}/result", headers=co).json()
    doc = web.get(f"/rounds/{rid}/document", headers=co).json()
    placed = {a["volunteer"]: a["placement"] for a in result["assignments"]}
    # an eligible pair the result did not choose: lock it, so somebody moves
    from volmatch.matching import prepare
    from volmatch.models import parse_round

    prep = prepare(parse_round(doc))
    c = prep.compiled
    pairs = [
        (c.volunteer_ids[v], c.placement_ids[p])
        for v, p in zip(prep.pairs.v.tolist(), prep.pairs.p.tolist(), strict=True)
    ]
    v, p = next((v, p) for v, p in pairs if v in placed and placed[v] != p)
    page = web.get(f"/coordinator/rounds/{rid}?lock={v}:{p}")
    assert f'name="lock" value="{v}:{p}"' in page.text
    r = web.post(
        f"/coordinator/rounds/{rid}/rerun",
        data={"csrf_token": csrf, "lock": f"{v}:{p}", "max_moves": "5"},
    )
    assert r.status_code == 303, r.text
    new = r.headers["location"].rsplit("/", 1)[1]
    assert wait_round(web, new, co)["status"] == "done"
    again = web.get(f"/rounds/{new}/result", headers=co).json()
    assert {"volunteer": v, "placement": p} in [
        {"volunteer": a["volunteer"], "placement": a["placement"]} for a in again["assignments"]
    ]
    page = web.get(f"/coordinator/rounds/{new}")
    assert 'id="moves"' in page.text and v in page.text.split('id="moves"')[1]
    assert "at most 5 allowed" in page.text
    bad = web.post(
        f"/coordinator/rounds/{rid}/rerun", data={"csrf_token": csrf, "lock": "NOBODY:P1"}
    )
    assert bad.status_code == 422 and "NOBODY" in bad.text


def test_other_roles_get_the_404_page(web: Any) -> None:
    seed(web)
    csrf = _coordinator(web)
    rid = _start_round(web, csrf)
    web.cookies.clear()
    assert sign_in(web, web.keys.host1).status_code == 303
    for path in (
        "/coordinator",
        "/coordinator/pool",
        f"/coordinator/rounds/{rid}",
        f"/coordinator/rounds/{rid}/result.xlsx",
    ):
        r = web.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"]
    web.cookies.clear()
    assert web.get("/coordinator").status_code == 303  # signed out: the sign-in page


def test_unknown_rounds_are_the_404_page(web: Any) -> None:
    _coordinator(web)
    assert web.get("/coordinator/rounds/" + "0" * 32).status_code == 404
    assert web.get("/coordinator/rounds/not-a-round").status_code == 404


def test_a_workbook_upload(web: Any) -> None:
    from volmatch.api.sheets import round_workbook_bytes
    from volmatch.models import parse_round

    csrf = _coordinator(web)
    data = round_workbook_bytes(parse_round(round_doc()))
    r = web.post(
        "/coordinator/pool",
        data={"csrf_token": csrf},
        files={"file": ("pool.xlsx", io.BytesIO(data), "application/octet-stream")},
    )
    assert r.status_code == 200, r.text
    assert "Stored pool.xlsx" in r.text


def test_the_result_page_readies_the_explanations_ahead(web: Any) -> None:
    """Opening a result readies its explanations in a thread: the arrays stored with
    the result read, or where it has none (stored before their format), the round
    priced; the first Explain uses that (or waits for it) instead of pricing again; the
    chosen pairs read from the result's paging view are the stored result's
    assignments."""
    import time

    import numpy as np

    from volmatch.api.service.auth import Principal
    from volmatch.api.service.rounds_service import PricedRounds, _priced
    from volmatch.api.service.tables import ResultPairsRow
    from volmatch.api.service.warm import WarmRounds, warm_rounds

    seed(web)
    rid = _start_round(web, _coordinator(web))
    priced = web.app.state.priced_rounds
    result = web.get(f"/rounds/{rid}/result", headers=web.keys.auth("coordinator")).json()
    v = result["assignments"][0]["volunteer"]

    def ready_after_view(count: Any) -> None:
        assert count() == 0
        assert web.get(f"/coordinator/rounds/{rid}").status_code == 200
        end = time.monotonic() + 60
        while count() == 0:
            assert time.monotonic() < end
            time.sleep(0.05)
        assert web.get(f"/coordinator/rounds/{rid}/explain?volunteer={v}").status_code == 200
        assert web.get(f"/coordinator/rounds/{rid}").status_code == 200  # not again
        assert count() == 1

    web.app.state.warm = WarmRounds()  # no hand-over: its worker ran elsewhere
    ready_after_view(lambda: priced.stored.builds)
    assert priced.builds == 0
    with web.app.state.db.write() as s:  # a result stored before the arrays' format
        s.query(ResultPairsRow).delete()
    web.app.state.priced_rounds = priced = PricedRounds(  # as in a new process
        views=web.app.state.result_views, warm=lambda: warm_rounds(web.app)
    )
    ready_after_view(lambda: priced.builds)
    who = Principal("k", "coordinator")
    from_view = _priced(web.app.state.db, rid, who, web.app.state.result_views)
    from_result = _priced(web.app.state.db, rid, who)
    assert np.array_equal(from_view[2], from_result[2])
    assert len(from_view[2]) == len(result["assignments"])
    assert from_view[3]["status"] == result["status"]


def test_advice_on_a_need_withdrawn_since_the_round_says_so(web: Any) -> None:
    seed(web)
    rid = _start_round(web, _coordinator(web))
    p = placements()[0]["id"]
    assert web.delete(f"/placements/{p}", headers=web.keys.auth("coordinator")).status_code == 204
    page = web.get(f"/coordinator/rounds/{rid}/advice?placement={p}")
    assert page.status_code == 200
    assert "no longer stored" in page.text and 'id="advice"' not in page.text


def test_a_result_stored_without_its_view_gets_it_on_the_first_view(web: Any) -> None:
    """A result stored before revision 0006 has no paging view: its first page view
    says at once that the result is being prepared (in the page's language) and
    parses the result in the background, storing the view, so that the page then
    shows it and another process reads arrays."""
    import time

    from sqlalchemy import delete

    from volmatch.api.service.result_pages import ResultViews
    from volmatch.api.service.tables import ResultViewRow

    seed(web)
    rid = _start_round(web, _coordinator(web))
    db = web.app.state.db
    with db.write() as s:
        s.execute(delete(ResultViewRow).where(ResultViewRow.round_id == rid))
    views = web.app.state.result_views
    views.clear()
    built = views.builds
    preparing = web.get(f"/coordinator/rounds/{rid}", headers={"Accept-Language": "fr"})
    assert preparing.status_code == 200
    assert 'id="preparing"' in preparing.text and 'id="assignments"' not in preparing.text
    assert f'data-ready="/coordinator/rounds/{rid}/view-ready"' in preparing.text
    assert "en cours de préparation" in preparing.text
    for _ in range(600):  # the build's thread; the page's script asks the same way
        if web.get(f"/coordinator/rounds/{rid}/view-ready").json()["ready"]:
            break
        time.sleep(0.05)
    assert views.builds == built + 1 and views.stored == 1
    first = web.get(f"/coordinator/rounds/{rid}")
    assert first.status_code == 200 and 'id="preparing"' not in first.text
    with db.read() as s:
        assert s.get(ResultViewRow, rid) is not None

    def parsed(*_: Any) -> Any:
        raise AssertionError("the result was parsed again")

    web.app.state.result_views = ResultViews(build=parsed)  # as in a new process
    again = web.get(f"/coordinator/rounds/{rid}")
    assert again.status_code == 200

    def table(page: Any) -> str:
        return str(page.text.split('id="assignments"')[1].split("</table>")[0])

    assert table(again) == table(first)


def _prepared_then_shown(web: Any, rid: str, part: str, query: str, shown: str) -> str:
    """The round's `part` page (explain, advice) with `query`: first, in French, the
    part being prepared (not `shown`); then, once /PART-ready says so (asked as the
    page's script asks, while the background work runs), in English, with `shown`."""
    import time

    page = web.get(f"/coordinator/rounds/{rid}/{part}?{query}&lang=fr")
    assert page.status_code == 200 and 'id="preparing"' in page.text
    assert f'data-ready="/coordinator/rounds/{rid}/{part}-ready"' in page.text
    assert "en cours de préparation" in page.text and shown not in page.text
    for _ in range(1200):
        if web.get(f"/coordinator/rounds/{rid}/{part}-ready").json()["ready"]:
            break
        time.sleep(0.05)
    page = web.get(f"/coordinator/rounds/{rid}/{part}?{query}&lang=en")
    assert page.status_code == 200 and shown in page.text
    return str(page.text)


def test_an_explanation_that_needs_a_pricing_says_it_is_being_prepared(web: Any) -> None:
    """A round without the arrays stored with its result (stored before their format,
    or erased since) that this process has not priced: its explain page says at once,
    in the page's language, that the explanations are being prepared, prices the round
    in the background, and shows the explanation once /explain-ready says so."""
    from volmatch.api.service.rounds_service import PricedRounds
    from volmatch.api.service.tables import ResultPairsRow
    from volmatch.api.service.warm import WarmRounds, warm_rounds

    seed(web)
    rid = _start_round(web, _coordinator(web))
    result = web.get(f"/rounds/{rid}/result", headers=web.keys.auth("coordinator")).json()
    v = result["assignments"][0]["volunteer"]
    with web.app.state.db.write() as s:
        s.query(ResultPairsRow).delete()
    web.app.state.warm = WarmRounds()
    web.app.state.priced_rounds = priced = PricedRounds(  # as in a new process
        views=web.app.state.result_views, warm=lambda: warm_rounds(web.app)
    )
    page = _prepared_then_shown(web, rid, "explain", f"volunteer={v}", "qualify for")
    assert priced.builds == 1 and "Nothing to explain" not in page


def test_advice_on_a_round_not_built_here_says_it_is_being_prepared(web: Any) -> None:
    """The advice page of a round whose advice base this process has not built (an
    older round after a restart) says at once, in the page's language, that the
    recommendations are being prepared, builds the base in the background, and shows
    them once /advice-ready says so."""
    from volmatch.api.service.warm import WarmRounds

    seed(web)
    rid = _start_round(web, _coordinator(web))
    p = placements()[0]["id"]
    web.app.state.warm = warm = WarmRounds()  # as in a new process
    _prepared_then_shown(web, rid, "advice", f"placement={p}", 'id="advice"')
    assert warm.builds == 1


def test_explanations_and_advice_share_one_build_of_the_round(web: Any) -> None:
    """The explain page prices the round through the advice pages' warm rounds (the
    build the embedded worker starts when it stores a result): the advice page then
    finds it built, and the round is prepared once for both."""
    from volmatch.api.service.auth import Principal
    from volmatch.api.service.warm import warm_rounds

    seed(web)
    rid = _start_round(web, _coordinator(web))
    result = web.get(f"/rounds/{rid}/result", headers=web.keys.auth("coordinator")).json()
    a = result["assignments"][0]
    page = web.get(f"/coordinator/rounds/{rid}/explain?volunteer={a['volunteer']}")
    assert page.status_code == 200 and "qualify for" in page.text
    warm = warm_rounds(web.app)
    bases = list(warm._bases.values())
    assert len(bases) == 1
    priced = web.app.state.priced_rounds
    with priced.use(web.app.state.db, rid, Principal("k", "coordinator")) as (prep, pr, *_):
        assert prep is bases[0].prep and pr is bases[0].pricing
    advice = web.get(f"/coordinator/rounds/{rid}/advice?placement={a['placement']}")
    assert advice.status_code == 200
    assert list(warm._bases.values()) == bases and priced.builds == 1


def _hard_rules_optimum(doc: dict[str, Any], lock: tuple[str, str] | None = None) -> int:
    """The best total under the hard rules alone (policy rules and mode dropped), with
    `lock` forced: a re-solve by the min-cost flow, not the residual network."""
    from volmatch.matching import prepare
    from volmatch.matching.pure import solve_pure
    from volmatch.models import parse_round

    policy = {
        k: v
        for k, v in (doc.get("policy") or {}).items()
        if k in ("weights", "international_only", "required_training", "locked", "forbidden")
    }
    if lock is not None:
        policy["locked"] = [*policy.get("locked", []), {"volunteer": lock[0], "placement": lock[1]}]
    prep = prepare(parse_round({**doc, "policy": policy, "previous": []}))
    return int(prep.scores.total[solve_pure(prep).chosen].sum())


def _cells(page: str, table: str) -> list[list[str]]:
    body = page.split(f'id="{table}"')[1].split("</table>")[0].split("<tbody>")[1]
    return [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in body.split("<tr>")[1:]
    ]


def _check_not_pure_explanations(web: Any, rid: str, intro: str) -> int:
    """The explain page of a round that is not the pure optimum says what its costs are
    measured against (the hard-rules optimum, re-solved here), how far below it the round
    is, and for each need the bound that follows for this round, re-solved with the pair
    forced for the first need the volunteer does not hold."""
    co = web.keys.auth("coordinator")
    result = web.get(f"/rounds/{rid}/result", headers=co).json()
    doc = web.get(f"/rounds/{rid}/document", headers=co).json()
    optimum = _hard_rules_optimum(doc)
    total = sum(a["score"] for a in result["assignments"])
    gap = optimum - total
    assert gap >= 0
    placed = {a["volunteer"]: a["placement"] for a in result["assignments"]}
    checked = 0
    for v in sorted({x["id"] for x in doc["volunteers"]}):
        page = html.unescape(web.get(f"/coordinator/rounds/{rid}/explain?volunteer={v}").text)
        assert 'id="not-pure"' in page and intro in page
        assert f"whose total score is {optimum}; this round's is {total}, {gap} points" in page
        assert "Cost: how much the round's best total drops" not in page
        if 'id="eligible"' not in page:
            continue
        for need, _, cost, at_least, _ in _cells(page, "eligible"):
            need = need.split()[0]
            if placed.get(v) == need:
                assert at_least == "0"
                continue
            if cost == "–":
                continue
            assert int(at_least) == max(0, int(cost) - gap)
            if checked < 2:  # the cost is the hard-rules optimum's exact drop
                assert optimum - _hard_rules_optimum(doc, (v, need)) == int(cost)
                checked += 1
        if checked >= 2:
            break
    assert checked == 2
    return gap


def test_explain_in_stable_mode_says_what_its_costs_are(web: Any) -> None:
    seed(web)
    rid = _start_round(web, _coordinator(web), mode="stable")
    _check_not_pure_explanations(web, rid, "This round is a stable matching")
    status = web.get(f"/coordinator/rounds/{rid}?lang=fr").text.split("</dd>")[0]
    assert status.endswith("(appariement stable)")  # the status, then the mode, in French


def test_explain_under_policy_rules_says_what_its_costs_are(web: Any) -> None:
    seed(web)
    rid = _start_round(web, _coordinator(web), max_per_host="1")
    # one volunteer per host: 2,200 points below the hard-rules optimum
    gap = _check_not_pure_explanations(web, rid, "This round was solved with policy rules")
    assert gap > 0
    v = sorted(x["id"] for x in volunteers())[0]
    fr = html.unescape(web.get(f"/coordinator/rounds/{rid}/explain?volunteer={v}&lang=fr").text)
    assert "Ce tour a été résolu avec des règles de politique" in fr
    assert f"soit {gap} points de moins" in fr and "Ce tour-ci, au moins" in fr


def test_explain_of_the_pure_optimum_states_exact_costs(web: Any) -> None:
    seed(web)
    rid = _start_round(web, _coordinator(web))
    result = web.get(f"/rounds/{rid}/result", headers=web.keys.auth("coordinator")).json()
    v = result["assignments"][0]["volunteer"]
    page = html.unescape(web.get(f"/coordinator/rounds/{rid}/explain?volunteer={v}").text)
    assert 'id="not-pure"' not in page
    assert "Cost: how much the round's best total drops" in page


def test_the_worker_hands_its_prepared_round_to_the_warm_rounds(web: Any, monkeypatch: Any) -> None:
    """The embedded worker's prepared round and solution become the round's warm advice
    base (no second preparation), and explain exactly as a round prepared again from
    the stored document and result, in each mode."""
    import time

    from volmatch.api.service import advice
    from volmatch.api.service.auth import Principal
    from volmatch.api.service.rounds_service import _priced
    from volmatch.api.service.warm import warm_rounds
    from volmatch.matching.explain import explain_volunteer

    def rebuilt(*_: Any) -> Any:
        raise AssertionError("the round was prepared again")

    monkeypatch.setattr(advice, "_build", rebuilt)
    seed(web)
    csrf = _coordinator(web)
    warm = warm_rounds(web.app)
    who = Principal("k", "coordinator")
    for fields in ({}, {"mode": "stable"}, {"max_per_host": "1"}):
        rid = _start_round(web, csrf, **fields)
        end = time.monotonic() + 30
        while not any(key[0] == rid for key in list(warm._bases)):
            assert time.monotonic() < end
            time.sleep(0.02)
        base = next(b for key, b in warm._bases.items() if key[0] == rid)
        prep, pr, chosen, _ = _priced(web.app.state.db, rid, who)  # prepared again
        c = prep.compiled
        assert base.prep.compiled.volunteer_ids == c.volunteer_ids
        assert base.pricing.exact == pr.exact == (not fields)
        for vi in range(c.n_volunteers):
            mine = explain_volunteer(base.pricing, base.chosen, vi)
            again = explain_volunteer(pr, chosen, vi)
            assert json.dumps(mine, default=str) == json.dumps(again, default=str)


def _rounds_in_each_mode(web: Any) -> list[str]:
    """Rounds solved from the seeded pool: optimal (the pure optimum), stable, and with a
    policy rule (rules mode)."""
    seed(web)
    csrf = _coordinator(web)
    rids = [_start_round(web, csrf, **fields) for fields in ({}, {"mode": "stable"})]
    rids.append(_start_round(web, csrf, max_per_host="1"))
    return rids


def test_a_pair_is_explained_from_the_arrays_stored_with_the_result(
    web: Any, monkeypatch: Any
) -> None:
    """A round this process never priced is explained from the arrays stored with its
    result (`stored_explain`): its document is neither parsed nor compiled (only one
    volunteer's record and the placements shown are read), and every row is that of the
    round prepared again from its document, in each mode, for every volunteer, with the
    page's limit, for one placement and for all; unknown ids are the same 404s."""
    from volmatch.api.service import advice, rounds_service
    from volmatch.api.service.auth import Principal
    from volmatch.api.service.errors import ApiError
    from volmatch.api.service.rounds_service import PricedRounds, _priced, explain_round
    from volmatch.matching.explain import explain_volunteer

    def parsed(*_: Any, **__: Any) -> Any:
        raise AssertionError("the round's document was parsed")

    who = Principal("k", "coordinator")
    db, rids = web.app.state.db, _rounds_in_each_mode(web)
    for rid, pure in zip(rids, (True, False, False), strict=True):
        prep, pr, chosen, _ = _priced(db, rid, who)  # prepared again from the document
        c = prep.compiled
        priced = PricedRounds()  # a process that never priced the round
        with monkeypatch.context() as m:
            for module in (advice, rounds_service):
                m.setattr(module, "parse_round", parsed, raising=False)
            m.setattr(advice, "_stored_round", parsed)
            m.setattr(rounds_service, "_priced", parsed)
            m.setattr(rounds_service, "_priced_warm", parsed)
            for vi, vid in enumerate(c.volunteer_ids):
                rows, facts = explain_round(db, rid, who, vid, None, priced)
                again = explain_volunteer(pr, chosen, vi)
                assert json.dumps(rows) == json.dumps(again, default=str)
                best = pr.net.at[pr.net.at >= 0]
                assert facts == {"exact": pure, "optimum": int(prep.scores.total[best].sum())}
                shown, _ = explain_round(db, rid, who, vid, None, priced, ineligible_limit=2)
                assert (
                    shown
                    == [x for x in rows if x["eligible"]]
                    + [x for x in rows if not x["eligible"]][:2]
                )
                pid = c.placement_ids[vi % c.n_placements]
                one, _ = explain_round(db, rid, who, vid, pid, priced)
                assert one == [x for x in rows if x["placement"] == pid]
            for bad in ((vid, "nowhere"), ("nobody", None)):
                try:
                    explain_round(db, rid, who, bad[0], bad[1], priced)
                except ApiError as exc:
                    assert exc.status == 404
                else:
                    raise AssertionError(f"{bad} explained")


def test_another_process_explains_from_the_pairs_stored_with_the_result(
    web: Any, monkeypatch: Any
) -> None:
    """A process that did not solve the round (a separate worker's, or after a restart)
    builds its warm round from the pairs and scores stored with the result, without
    finding and scoring the pairs again, and explains exactly as a round prepared again
    from the stored document and result, in each mode."""
    from volmatch.api.service import advice
    from volmatch.api.service.auth import Principal
    from volmatch.api.service.rounds_service import _priced
    from volmatch.api.service.tables import ResultPairsRow
    from volmatch.api.service.warm import WarmRounds
    from volmatch.matching.explain import explain_volunteer

    def prepared(*_: Any) -> Any:
        raise AssertionError("the round was prepared again")

    who = Principal("k", "coordinator")
    db, rids = web.app.state.db, _rounds_in_each_mode(web)
    with monkeypatch.context() as m:
        m.setattr(advice, "_prepared", prepared)
        for rid, pure in zip(rids, (True, False, False), strict=True):
            with db.read() as s:
                assert s.get(ResultPairsRow, rid) is not None
                _, base = advice.advice_base_for(s, WarmRounds(), rid)  # a new process's
            prep, pr, chosen, _ = _priced(db, rid, who)  # prepared again
            c = prep.compiled
            assert base.prep.compiled.volunteer_ids == c.volunteer_ids
            assert base.pricing.exact == pr.exact == pure
            assert (base.chosen == chosen).all()
            for vi in range(c.n_volunteers):
                mine = explain_volunteer(base.pricing, base.chosen, vi)
                again = explain_volunteer(pr, chosen, vi)
                assert json.dumps(mine, default=str) == json.dumps(again, default=str)
    # without the stored pairs (a result stored before revision 0008) it is prepared
    with db.write() as s:
        s.query(ResultPairsRow).delete()
    with db.read() as s:
        _, base = advice.advice_base_for(s, WarmRounds(), rids[0])
    assert base.pricing.exact


def test_a_failed_round_says_why_in_the_pages_language(web: Any) -> None:
    """Two volunteers locked to a need of one slot: the round fails, and its page says
    why in English as the worker stored it, in French by the message's shape."""
    from tests.helpers import doc, plc, vol

    co = web.keys.auth("coordinator")
    d = doc([vol("V1"), vol("V2")], [plc("P1")])
    d["policy"] = {
        "locked": [{"volunteer": "V1", "placement": "P1"}, {"volunteer": "V2", "placement": "P1"}]
    }
    r = web.post("/rounds", json={"name": "over-locked", "document": d}, headers=co)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    assert wait_round(web, rid, co)["status"] == "failed"
    assert sign_in(web, web.keys.coordinator).status_code == 303
    english = html.unescape(web.get(f"/coordinator/rounds/{rid}?lang=en").text)
    assert "round cannot be solved: 1 conflict(s)" in english
    assert "locked: 2 volunteers are locked to P1, which has 1 slot(s)" in english
    french = html.unescape(web.get(f"/coordinator/rounds/{rid}?lang=fr").text)
    assert "le tour ne peut pas être résolu : 1 conflit(s)" in french
    assert "locked: 2 volontaires sont fixés à P1, qui a 1 place(s)" in french
    assert "cannot be solved" not in french and "are locked to" not in french
