"""Host partner pages through the app: my needs with the eligible counts (checked
against the matching core's dense, rule-by-rule pairs), the need form (saved through
the API's rules, the API's field errors beside the inputs), the live feasibility line,
another host's need as the 404 page, and the matched volunteers after publication."""

from __future__ import annotations

import re
from typing import Any

from tests.api.service.helpers import seed, solved_round, volunteers
from tests.api.web.helpers import counts_ready, csrf_of, sign_in
from volmatch.matching import compile_round, dense_pairs
from volmatch.models import Placement, Policy, Round, Volunteer

NEW_NEED = {
    "id": "P9",
    "title": "Maths teacher",
    "country": "KE",
    "slots": "2",
    "priority": "4",
    "security_level": "0",
    "start_earliest": "2027-04-01",
    "start_latest": "2027-06-01",
    "min_months": "6",
    "max_months": "12",
    "required_skills.code": ["teaching", ""],
    "required_skills.level": ["2", "1"],
    "required_languages.code": ["en"],
    "required_languages.level": ["B1"],
    "required_training": "",
    "sdg_targets": "4.1, 17.6",
    "summary": "Two schools lost their maths teachers.",
    "beneficiaries": "300",
}


def _dense_count(placement: dict[str, Any], docs: list[dict[str, Any]] | None = None) -> int:
    """Eligible volunteers of the test pool (or of `docs`) for `placement`, by checking
    every rule on every pair (an independent path from the pages' count)."""
    pool = [
        Volunteer.model_validate({k: v for k, v in d.items() if k != "preferences"})
        for d in (volunteers() if docs is None else docs)
    ]
    r = Round(volunteers=pool, placements=[Placement.model_validate(placement)], policy=Policy())
    return len(dense_pairs(compile_round(r)))


def _check(web: Any, data: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """The live line's answer once counted: it says "updating" (and app.js asks again)
    while the pool or round it counts against is being built."""
    import time

    deadline = time.monotonic() + 60
    while True:
        r = web.post("/host/needs/check", data=data, headers=headers)
        assert r.status_code == 200, r.text
        doc: dict[str, Any] = r.json()
        if doc["state"] != "updating":
            return doc
        assert time.monotonic() < deadline, "never counted"
        time.sleep(0.02)


def _post_form(web: Any, path: str, data: dict[str, Any]) -> Any:
    page = web.get(path)
    assert page.status_code == 200, page.text
    return web.post(path, data={**data, "csrf_token": csrf_of(page.text)})


def test_my_needs_lists_own_needs_with_their_eligible_counts(web: Any) -> None:
    from tests.api.service.helpers import placements

    seed(web)
    sign_in(web, web.keys.host1)
    counts_ready(web)
    page = web.get("/host/needs")
    assert page.status_code == 200
    assert "data-counts=" not in page.text  # counted, not "updating"
    assert "P1: Teacher" in page.text and "P2: Nurse" in page.text
    assert "P3:" not in page.text  # host H02's (a bare "P3" can be in a random token)
    for p in placements()[:2]:
        row = page.text.split(f'href="/host/needs/{p["id"]}"')[1].split("</tr>")[0]
        shown = re.findall(r'Eligible now" class="num">\s*<span class="[a-z]*">(\d+)', row)
        assert shown == [str(_dense_count(p))], p["id"]


def test_a_new_need_is_saved_through_the_api_rules(web: Any) -> None:
    seed(web)
    sign_in(web, web.keys.host1)
    r = _post_form(web, "/host/needs/new", NEW_NEED)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/host/needs?saved=P9"
    assert "Need P9 saved." in web.get(r.headers["location"]).text
    stored = web.get("/placements/P9", headers=web.keys.auth("host1")).json()["placement"]
    assert stored["host"] == "H01" and stored["slots"] == 2 and stored["priority"] == 4
    assert stored["required_skills"] == {"teaching": 2}
    assert stored["required_languages"] == {"en": "B1"}
    assert stored["sdg_targets"] == ["4.1", "17.6"]
    assert stored["needs_assessment"] == {
        "summary": "Two schools lost their maths teachers.",
        "beneficiaries": 300,
    }
    # Editing keeps the assessment's other keys and changes what the form changes.
    web.put(
        "/placements/P9",
        headers=web.keys.auth("host1"),
        json={**stored, "needs_assessment": {**stored["needs_assessment"], "counterpart": "x"}},
    )
    edit = web.get("/host/needs/P9")
    assert 'value="Maths teacher"' in edit.text
    r = web.post(
        "/host/needs/P9", data={**NEW_NEED, "slots": "3", "csrf_token": csrf_of(edit.text)}
    )
    assert r.status_code == 303
    stored = web.get("/placements/P9", headers=web.keys.auth("host1")).json()["placement"]
    assert stored["slots"] == 3
    assert stored["needs_assessment"]["counterpart"] == "x"


def test_editing_a_need_shows_its_defaults_and_keeps_what_the_form_does_not_show(
    web: Any,
) -> None:
    """The store leaves defaults out: the edit form must still show priority 3 (not the
    select's first choice, 1) and the months, and a Save keeps the host's ranking."""
    seed(web)
    sign_in(web, web.keys.host1)
    need = {
        "id": "P9", "host": "H01", "title": "Maths teacher", "country": "KE",
        "start_earliest": "2027-04-01", "start_latest": "2027-06-01",
        "priority": 3, "min_months": 6, "max_months": 12, "ranking": ["V1", "V2"],
    }  # fmt: skip
    assert web.post("/placements", headers=web.keys.auth("host1"), json=need).status_code == 201
    edit = web.get("/host/needs/P9").text
    priority = edit.split('id="priority"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\d)" selected>', priority) == ["3"]
    assert 'id="min_months" name="min_months" type="number" value="6"' in edit
    assert 'id="max_months" name="max_months" type="number" value="12"' in edit
    form = {**NEW_NEED, "priority": "3", "slots": "3", "csrf_token": csrf_of(edit)}
    assert web.post("/host/needs/P9", data=form).status_code == 303
    stored = web.get("/placements/P9", headers=web.keys.auth("host1")).json()["placement"]
    assert stored["slots"] == 3 and stored["priority"] == 3
    assert stored["ranking"] == ["V1", "V2"]


def test_field_errors_are_the_apis_beside_their_inputs(web: Any) -> None:
    sign_in(web, web.keys.host1)
    bad = {**NEW_NEED, "start_latest": "2027-01-01", "slots": "0", "sdg_targets": "99.9"}
    r = _post_form(web, "/host/needs/new", bad)
    assert r.status_code == 422
    api = web.post(
        "/placements",
        headers=web.keys.auth("host1"),
        json={
            "id": "P9",
            "host": "H01",
            "country": "KE",
            "slots": 0,
            "start_earliest": "2027-04-01",
            "start_latest": "2027-01-01",
            "sdg_targets": ["99.9"],
        },
    ).json()
    # The API names a list's item by its path (`sdg_targets.0`): the page puts it beside
    # the list's input.
    by_field = {e["field"].split(".")[0] or e["section"]: e["message"] for e in api["errors"]}
    for name in ("start_latest", "slots", "sdg_targets"):
        message = by_field[name]
        block = r.text.split(f'id="{name}"')[1].split("</div>")[0]
        assert message.replace("'", "&#39;") in block, name
        assert 'aria-invalid="true"' in r.text.split(f'id="{name}"')[1].split(">")[0]
    assert 'value="Maths teacher"' in r.text  # what was typed stays
    assert web.get("/placements/P9", headers=web.keys.auth("host1")).status_code == 404


def test_another_hosts_need_is_the_404_page(web: Any) -> None:
    seed(web)
    sign_in(web, web.keys.host1)
    r = web.get("/host/needs/P3")
    assert r.status_code == 404 and "Not found" in r.text
    page = web.get("/host/needs/P1")
    r = web.post("/host/needs/P3", data={**NEW_NEED, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 404
    # Creating a need with its id: the answer is the API's for any unknown id.
    r = _post_form(web, "/host/needs/new", {**NEW_NEED, "id": "P3"})
    assert r.status_code == 404
    assert "no placement with id &#39;P3&#39;" in r.text
    assert "French tutor" not in r.text


def test_the_live_line_counts_as_the_list_does(web: Any) -> None:
    seed(web)
    sign_in(web, web.keys.host1)
    form = web.get("/host/needs/new")
    token = csrf_of(form.text)
    data = {**NEW_NEED, "id": ""}
    doc = _check(web, data, {"X-CSRF-Token": token})
    placement = {
        "id": "X",
        "host": "H01",
        "country": "KE",
        "slots": 2,
        "start_earliest": "2027-04-01",
        "start_latest": "2027-06-01",
        "required_skills": {"teaching": 2},
        "required_languages": {"en": "B1"},
    }
    assert doc["eligible"] == _dense_count(placement)
    assert f"{doc['eligible']} volunteer" in doc["line"] and "qualif" in doc["line"]
    # An impossible language: nobody qualifies, and the line says what holds them back.
    data["required_languages.code"], data["required_languages.level"] = ["sw"], ["C2"]
    doc = _check(web, data, {"X-CSRF-Token": token})
    assert doc["eligible"] == 0 and doc["state"] == "none"
    assert "languages (+" in doc["line"]
    bad = web.post(
        "/host/needs/check",
        data={**data, "start_latest": "2020-01-01"},
        headers={"X-CSRF-Token": token},
    ).json()
    assert bad["state"] == "invalid" and "Latest start" in bad["line"]
    assert web.post("/host/needs/check", data=data).status_code == 403


def test_matched_volunteers_after_publication_show_what_a_host_may_see(web: Any) -> None:
    seed(web)
    sign_in(web, web.keys.host1)
    assert "No volunteer is matched" in web.get("/host/matches").text
    solved_round(web, publish=True)
    page = web.get("/host/matches").text
    api = web.get("/volunteers", headers=web.keys.auth("host1")).json()
    assert api, "the round placed nobody at H01"
    for v in api:
        assert v["id"] in page and v["placement"] in page
    assert "2000-01-02" not in page  # no birth date
    assert "Chen Wei" not in page or any(v["name"] == "Chen Wei" for v in api)


def test_the_host_pages_speak_french(web: Any) -> None:
    seed(web)
    sign_in(web, web.keys.host1)
    page = web.get("/host/needs/new?lang=fr").text
    assert '<html lang="fr">' in page
    for text in (
        "Nouveau besoin",
        "Volontaires demandés",
        "Début au plus tôt",
        "Enregistrer le besoin",
        "Se déconnecter",
        "Kenya",
    ):
        assert text in page, text
    assert "Save the need" not in page
    listing = web.get("/host/needs").text  # the cookie keeps the language
    assert "Mes besoins" in listing and "Éligibles aujourd&#39;hui" in listing
    token = csrf_of(page)
    doc = _check(web, {**NEW_NEED, "id": ""}, {"X-CSRF-Token": token})
    assert "du vivier" in doc["line"]


def test_matched_volunteers_in_french_name_their_languages_and_levels_in_french(
    web: Any,
) -> None:
    from volmatch.api.web.options import need_options

    seed(web)
    solved_round(web, publish=True)
    sign_in(web, web.keys.host1)
    page = web.get("/host/matches?lang=fr").text
    french = dict(need_options("fr").languages)
    api = web.get("/volunteers", headers=web.keys.auth("host1")).json()
    assert api, "the round placed nobody at H01"
    for v in api:
        for code, level in v["languages"].items():
            shown = "langue maternelle" if level == "native" else level
            assert f"{french[code]} {shown}" in page, (v["id"], code)
    assert "native" not in page
    form = web.get("/host/needs/new").text  # the cookie keeps French
    assert '<option value="native">langue maternelle</option>' in form
    assert ">native<" not in form


def test_the_counts_follow_the_pool_as_it_changes(web: Any) -> None:
    seed(web)
    sign_in(web, web.keys.host1)
    form = web.get("/host/needs/new")
    token = {"X-CSRF-Token": csrf_of(form.text)}
    data = {**NEW_NEED, "id": ""}
    before = _check(web, data, token)["eligible"]
    again = web.post("/host/needs/check", data=data, headers=token).json()["eligible"]
    assert again == before  # from the cached pool
    co = web.keys.auth("coordinator")
    new = [
        {**v, "id": "VX", "nationality": "FR"} for v in volunteers() if v["id"] == "V2"
    ]  # a teacher who speaks English: qualifies
    assert web.post("/volunteers", json={"volunteers": new}, headers=co).status_code == 200
    after = _check(web, data, token)["eligible"]
    assert after == before + 1
    assert web.delete("/volunteers/VX", headers=co).status_code in (200, 204)
    assert _check(web, data, token)["eligible"] == before


def test_a_host_accepts_or_declines_its_matched_volunteers_with_a_reason(web: Any) -> None:
    seed(web)
    solved_round(web, publish=True)
    sign_in(web, web.keys.host1)
    page = web.get("/host/matches")
    offers = web.get("/offers", headers=web.keys.auth("host1")).json()
    assert offers, "publication made no offers to H01"
    first, *rest = offers
    token = csrf_of(page.text)
    # A decline must say why; nothing is recorded without it.
    r = web.post(
        f"/host/offers/{first['id']}",
        data={"csrf_token": token, "decision": "decline", "reason": ""},
    )
    assert r.status_code == 422 and "Say why you decline" in r.text
    assert (
        web.get(f"/offers/{first['id']}", headers=web.keys.auth("host1")).json()["offer"][
            "host_decision"
        ]
        is None
    )
    r = web.post(
        f"/host/offers/{first['id']}",
        data={"csrf_token": token, "decision": "decline", "reason": "No housing free in May."},
    )
    assert r.status_code == 303 and r.headers["location"] == "/host/matches?done=decline"
    detail = web.get(f"/offers/{first['id']}", headers=web.keys.auth("host1")).json()
    assert detail["offer"]["host_decision"] == "declined"
    assert detail["offer"]["state"] == "declined"
    assert any(e["text"] == "No housing free in May." for e in detail["events"])
    if rest:
        r = web.post(
            f"/host/offers/{rest[0]['id']}", data={"csrf_token": token, "decision": "accept"}
        )
        assert r.status_code == 303
        assert (
            web.get(f"/offers/{rest[0]['id']}", headers=web.keys.auth("host1")).json()["offer"][
                "host_decision"
            ]
            == "accepted"
        )
    # Another host's offer, or a forged form: nothing happens.
    other = web.get("/offers", headers=web.keys.auth("host2")).json()
    if other:
        r = web.post(
            f"/host/offers/{other[0]['id']}", data={"csrf_token": token, "decision": "accept"}
        )
        assert r.status_code == 404
    r = web.post(f"/host/offers/{first['id']}", data={"decision": "accept"})
    assert r.status_code == 403


def test_after_a_round_the_live_line_is_the_apis_feasibility(web: Any) -> None:
    """With a solved round the pages count as `POST /placements/feasibility` does (the
    same service function, the same warm round), and the same need's count follows."""
    seed(web)
    solved_round(web)
    sign_in(web, web.keys.host1)
    token = {"X-CSRF-Token": csrf_of(web.get("/host/needs/new").text)}
    data = {**NEW_NEED, "id": ""}
    doc = _check(web, data, token)
    draft = {
        "id": "NEW",
        "host": "H01",
        "country": "KE",
        "slots": 2,
        "start_earliest": "2027-04-01",
        "start_latest": "2027-06-01",
        "required_skills": {"teaching": 2},
        "required_languages": {"en": "B1"},
    }
    api = web.post("/placements/feasibility", json=draft, headers=web.keys.auth("host1"))
    assert api.status_code == 200, api.text
    assert doc["eligible"] == api.json()["eligible"]
    assert len(web.app.state.warm._bases) == 1  # the pages and the API share the round
    listing = web.get("/host/needs")
    assert listing.status_code == 200 and "P1: Teacher" in listing.text


def _settled(web: Any) -> None:
    """Wait for the builds the service started on its own (at start, on the empty
    pool), so that what a test stores next is not built before the page asks."""
    web.app.state.warm.stop(timeout=30)
    web.app.state.pool_cache.stop(timeout=30)


def test_my_needs_shows_at_once_and_says_its_counts_are_updating(web: Any) -> None:
    """A pool not built yet does not hold the page: the list comes at once with
    "updating" where the counts go, the build starts in the background, and the counts
    endpoint (which app.js asks) then gives exactly the independent counts."""
    from tests.api.service.helpers import placements

    _settled(web)
    seed(web)
    sign_in(web, web.keys.host1)
    page = web.get("/host/needs")
    assert page.status_code == 200
    assert 'data-counts="/host/eligible-counts"' in page.text
    assert 'data-count-for="P1"' in page.text and 'data-count-for="P2"' in page.text
    assert "P1: Teacher" in page.text
    mine = {p["id"]: p for p in placements() if p["host"] == "H01"}
    assert counts_ready(web) == {pid: _dense_count(p) for pid, p in mine.items()}
    page = web.get("/host/needs")
    assert "data-counts=" not in page.text and "data-count-for" not in page.text


def test_the_counts_equal_an_independent_check_after_pool_changes(web: Any) -> None:
    """After volunteers are added, changed and erased, My needs counts the pool as it is
    now (rebuilt from the changed records only), equal to the dense rule-by-rule count."""
    from tests.api.service.helpers import placements

    seed(web)
    sign_in(web, web.keys.host1)
    mine = [p for p in placements() if p["host"] == "H01"]
    assert counts_ready(web) == {p["id"]: _dense_count(p) for p in mine}
    co = web.keys.auth("coordinator")
    pool = {v["id"]: v for v in volunteers()}
    teacher = {**pool["V2"], "id": "VX", "name": "New Teacher", "nationality": "FR"}
    no_nurse = {**pool["V4"], "skills": {"nursing": 1}}
    assert web.post("/volunteers", json={"volunteers": [teacher]}, headers=co).status_code == 200
    assert web.put("/volunteers/V4", json=no_nurse, headers=co).status_code == 200
    assert web.delete("/volunteers/V2", headers=co).status_code in (200, 204)
    now = [v for k, v in pool.items() if k not in ("V2", "V4")] + [teacher, no_nurse]
    expected = {p["id"]: _dense_count(p, now) for p in mine}
    assert expected != {p["id"]: _dense_count(p) for p in mine}  # the changes count
    assert counts_ready(web) == expected
    page = web.get("/host/needs")
    for p in mine:
        row = page.text.split(f'href="/host/needs/{p["id"]}"')[1].split("</tr>")[0]
        shown = re.findall(r'Eligible now" class="num">\s*<span class="[a-z]*">(\d+)', row)
        assert shown == [str(expected[p["id"]])], p["id"]


def test_after_a_round_the_counts_are_the_apis_and_only_the_hosts_own(web: Any) -> None:
    seed(web)
    solved_round(web)
    sign_in(web, web.keys.host1)
    counts = counts_ready(web)
    assert set(counts) == {"P1", "P2"}  # not H02's P3
    for pid, n in counts.items():
        api = web.get(f"/placements/{pid}/feasibility", headers=web.keys.auth("host1"))
        assert api.status_code == 200, api.text
        assert api.json()["eligible"] == n
    web.cookies.clear()
    assert web.get("/host/eligible-counts").status_code in (303, 401, 403)
    sign_in(web, web.keys.coordinator)
    assert web.get("/host/eligible-counts").status_code == 404


def test_the_live_line_says_updating_while_the_pool_is_built(web: Any) -> None:
    """The need form's line does not wait for the pool either: "updating" (state and a
    line in the page's language) while it is built, then the count."""
    _settled(web)
    seed(web)
    sign_in(web, web.keys.host1)
    token = {"X-CSRF-Token": csrf_of(web.get("/host/needs/new?lang=fr").text)}
    data = {**NEW_NEED, "id": ""}
    doc = web.post("/host/needs/check", data=data, headers=token).json()
    assert doc == {"state": "updating", "line": "Décompte du vivier actuel : un instant…"}
    assert "du vivier" in _check(web, data, token)["line"]


def test_the_live_line_says_what_most_fail_when_no_rule_alone_holds_anyone_back() -> None:
    from volmatch.api.web.i18n import translator
    from volmatch.api.web.routes.host import feasibility_line

    doc = {
        "eligible": 0,
        "pool": 300,
        "rules": {
            "skills": {"fail": 120, "only": 0},
            "languages": {"fail": 250, "only": 0},
            "security": {"fail": 290, "only": 0},
            "age": {"fail": 0, "only": 0},
        },
    }
    tr = translator("en")
    line, state = feasibility_line(doc, 2, tr.gettext, tr.ngettext)
    assert state == "none"
    assert line.endswith("most fail: security clearance (290), languages (250), skills (120).")
    fr = translator("fr")
    line, _ = feasibility_line(doc, 2, fr.gettext, fr.ngettext)
    assert "habilitation de sécurité (290)" in line and "most fail" not in line
    doc["rules"]["security"]["only"] = 10  # one rule alone: the gain is what counts
    line, _ = feasibility_line(doc, 2, tr.gettext, tr.ngettext)
    assert line.endswith("Held back most by: security clearance (+10).")


def test_over_the_pair_limit_the_live_line_says_it_counts_the_pool(
    tmp_path: Any, monkeypatch: Any
) -> None:
    """A round solved under the default pair limit, then the service restarted with a
    lower one (`VOLMATCH_MAX_ROUND_PAIRS`): the round's base is never built, the line
    counts against the pool, and says so, with the figures, in English and French; so
    does My needs."""
    from fastapi.testclient import TestClient

    from tests.api.service.helpers import make_keys, settings_for
    from volmatch.api.service import create_app
    from volmatch.matching.pair_limit import PAIR_LIMIT_SETTING

    url = f"sqlite:///{tmp_path / 'limit.db'}"
    first = create_app(settings_for(url))
    with TestClient(first, base_url="http://testserver", follow_redirects=False) as c:
        c.keys = make_keys(first)  # type: ignore[attr-defined]
        seed(c)
        solved_round(c)
        keys = c.keys  # type: ignore[attr-defined]
        sign_in(c, keys.host1)
        token = {"X-CSRF-Token": csrf_of(c.get("/host/needs/new?lang=en").text)}
        line = _check(c, NEW_NEED, token)["line"]
        assert "Counted against the whole pool" not in line  # within the limit: the round's
        counts_ready(c)
        assert 'id="counts-over-limit"' not in c.get("/host/needs").text
    monkeypatch.setenv(PAIR_LIMIT_SETTING, "2")
    lowered = create_app(settings_for(url))
    with TestClient(lowered, base_url="http://testserver", follow_redirects=False) as c:
        sign_in(c, keys.host1)
        token = {"X-CSRF-Token": csrf_of(c.get("/host/needs/new?lang=en").text)}
        doc = _check(c, NEW_NEED, token)
        assert "in the pool qualif" in doc["line"]
        said = re.search(r"that round has (\S+) candidate pairs, over the limit of 2 ", doc["line"])
        assert said and int(said.group(1).replace(",", "")) > 2, doc["line"]
        assert doc["line"].index("qualif") < doc["line"].index("Counted against the whole pool")
        token = {"X-CSRF-Token": csrf_of(c.get("/host/needs/new?lang=fr").text)}
        french = _check(c, NEW_NEED, token)["line"]
        assert "Décompté sur tout le vivier, pas sur le dernier tour" in french
        assert "au-delà de la limite de 2 " in french and "Counted" not in french
        counts_ready(c)  # My needs says so too, above its counts
        needs = c.get("/host/needs?lang=en").text
        assert 'id="counts-over-limit"' in needs and "over the limit of 2 one round" in needs
