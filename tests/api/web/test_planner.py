"""Planner pages through the app (TestClient): pick a round, check a scenario (errors by
line), add common changes from the form, run it as a job, read the comparison and its
charts; other roles and forged forms are turned away."""

from __future__ import annotations

import re
import time
from typing import Any

import yaml

from tests.api.service.helpers import held_scenario_run, round_doc
from tests.api.web.helpers import csrf_of, sign_in

SCENARIO = """\
name: Two questions
variants:
  - name: urgent-double
    changes:
      - policy: {weights.priority: 400}
  - name: overlocked
    changes:
      - policy:
          locked:
            - {volunteer: V1, placement: P3}
            - {volunteer: V2, placement: P3}
sweeps:
  - name: urgency
    parameter: policy.weights.priority
    values: [0, 400]
"""


def _round(c: Any) -> str:
    r = c.post(
        "/rounds",
        json={"name": "spring", "document": round_doc()},
        headers=c.keys.auth("coordinator"),
    )
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _planner(c: Any) -> str:
    rid = _round(c)
    assert sign_in(c, c.keys.planner).status_code == 303
    return rid


RELAX_SN = {"lang_country": "SN", "lang_language": "fr", "lang_level": "A2", "lang_name": ""}
"""The scenario form's fields relaxing French to A2 in Senegal."""


def _post(c: Any, rid: str, **data: str) -> Any:
    token = csrf_of(c.get(f"/planner/rounds/{rid}").text)
    return c.post(f"/planner/rounds/{rid}", data={"csrf_token": token, **data})


def _textarea(html: str) -> str:
    import html as h

    found = re.search(r'<textarea id="scenario"[^>]*>(.*?)</textarea>', html, re.S)
    assert found
    return h.unescape(found.group(1))


def _wait(c: Any, location: str, timeout: float = 60) -> str:
    end = time.monotonic() + timeout
    while True:
        page = c.get(location)
        assert page.status_code == 200, page.text
        if 'http-equiv="refresh"' not in page.text:
            return str(page.text)
        assert time.monotonic() < end, "the run did not finish"
        time.sleep(0.1)


def test_pick_a_round_check_run_and_compare(web: Any) -> None:
    rid = _planner(web)
    start = web.get("/planner")
    assert start.status_code == 200 and "spring" in start.text
    assert f'href="/planner/rounds/{rid}"' in start.text
    checked = _post(web, rid, scenario=SCENARIO, action="check")
    assert checked.status_code == 200
    assert "valid: 4 variants" in checked.text
    ran = _post(web, rid, scenario=SCENARIO, action="run")
    assert ran.status_code == 303
    location = ran.headers["location"]
    assert location.startswith("/planner/runs/")
    page = _wait(web, location)
    assert "Key figures, each variant against the base" in page
    assert "urgent-double" in page
    assert "not solved" in page and "infeasible" in page  # the failed variant is shown
    assert "Who moved, and why" in page
    chart = web.get(f"{location}/charts/kpis.png")
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/png"
    assert chart.content[:8] == b"\x89PNG\r\n\x1a\n"
    sweep = web.get(f"{location}/charts/sweep-urgency.png")
    assert sweep.status_code == 200 and sweep.content[:4] == b"\x89PNG"
    assert f'src="{location}/charts/sweep-urgency.png?lang=en"' in page
    assert web.get(f"{location}/charts/sweep-nope.png").status_code == 404
    assert location.rsplit("/", 1)[1] in web.get("/planner").text  # listed as recent
    # The run's progress as server-sent events (the page's bar): a finished run ends
    # the stream at once; the same run through the API, stored as a durable job.
    events = web.get(f"{location}/events").text
    assert '"done": 5' in events and 'event: end\ndata: {"status": "done"}' in events
    run = web.get(
        f"/scenario-runs/{location.rsplit('/', 1)[1]}", headers=web.keys.auth("planner")
    ).json()
    assert run["status"] == "done" and run["attempts"] == 1 and run["comparison"]
    # In French, the engine's words too: key figures, kinds of move, statuses.
    french = web.get(f"{location}?lang=fr").text
    for text in ("objectif (score total)", "nouvelle affectation", "irréalisable"):
        assert text in french, text
    assert "objective (total score)" not in french and "newly matched" not in french
    # the charts in the page's language, asked for by their own URL (no cached mix-up)
    assert f'src="{location}/charts/kpis.png?lang=fr"' in french
    english_png = web.get(f"{location}/charts/kpis.png?lang=en").content
    assert web.get(f"{location}/charts/kpis.png?lang=fr").content != english_png


def _texts(fig: Any) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def test_the_charts_speak_the_pages_language() -> None:
    """Titles, axes, bar labels and legend of the what-if charts through the page's
    gettext: French has no English word left; English is the charts of `volmatch
    whatif`, word for word."""
    from tests.scenarios.test_charts import _synthetic
    from volmatch.api.web.i18n import translator
    from volmatch.scenarios.charts import kpi_figure, sweep_figure

    cmp = _synthetic(with_failure=True)
    for draw in (
        lambda g: kpi_figure(cmp, g),
        lambda g: sweep_figure(cmp, cmp.sweeps[0], g),
    ):
        english = _texts(draw(translator("en").gettext))
        assert english == _texts(draw(lambda t: t))
        french = " | ".join(_texts(draw(translator("fr").gettext)))
        for word in ("écart avec la base", "base : ", "non résolu : ", "objectif (score total)"):
            assert word in french, word
        for word in ("change against", "base: ", "not solved", "no change", "better", "worse"):
            assert word not in french, word
    assert "chaque variante comparée à la base" in " ".join(
        _texts(kpi_figure(cmp, translator("fr").gettext))
    )


def test_errors_come_back_by_line(web: Any) -> None:
    rid = _planner(web)
    bad = SCENARIO.replace(
        "policy: {weights.priority: 400}",
        "update: volunteers\n        where: {colour: red}\n        set: {min_months: 7}",
    )
    r = _post(web, rid, scenario=bad, action="run")
    assert r.status_code == 422
    assert "line 5" in r.text and "colour" in r.text
    assert 'aria-invalid="true"' in r.text
    assert _textarea(r.text) == bad  # the text is kept as typed
    syntax = _post(web, rid, scenario="name: [x\nvariants: 1\n", action="check")
    assert syntax.status_code == 422 and "line 2" in syntax.text


def test_the_form_writes_the_same_yaml(web: Any) -> None:
    rid = _planner(web)
    r = _post(
        web,
        rid,
        scenario=SCENARIO,
        action="add-volunteers",
        vol_count="5",
        vol_language="fr",
        vol_level="B2",
        vol_training="",
        vol_name="",
    )
    assert r.status_code == 200, r.text
    r = _post(web, rid, scenario=_textarea(r.text), action="relax-language", **RELAX_SN)
    r = _post(
        web,
        rid,
        scenario=_textarea(r.text),
        action="add-country",
        country_new="GH",
        country_like="KE",
        country_name="",
    )
    r = _post(
        web,
        rid,
        scenario=_textarea(r.text),
        action="sweep-weight",
        sweep_weight="priority",
        sweep_values="0, 400",
        sweep_name="",
    )
    doc = yaml.safe_load(_textarea(r.text))
    assert [v["name"] for v in doc["variants"]] == [
        "urgent-double",
        "overlocked",
        "5-more-fr-B2",
        "sn-fr-A2",
        "open-gh",
    ]
    assert doc["variants"][2]["changes"][0]["set"] == {"languages.fr": "B2"}
    assert doc["variants"][3]["changes"][0]["where"] == {
        "country": "SN",
        "required_languages.fr": "> A2",
    }
    added = doc["variants"][4]["changes"][0]["records"]
    assert [p["id"] for p in added] == ["P2-GH"] and added[0]["country"] == "GH"
    assert doc["sweeps"][1:] == [
        {"name": "priority-weight", "parameter": "policy.weights.priority", "values": [0, 400]}
    ]
    checked = _post(web, rid, scenario=_textarea(r.text), action="check")
    assert checked.status_code == 200 and "valid: 9 variants" in checked.text


def test_form_errors_are_shown_beside_the_inputs(web: Any) -> None:
    rid = _planner(web)
    r = _post(
        web,
        rid,
        scenario=SCENARIO,
        action="add-country",
        country_new="XX",
        country_like="ZW",
        country_name="",
    )
    assert r.status_code == 422
    assert 'id="country_new-error"' in r.text and 'id="country_like-error"' in r.text
    assert _textarea(r.text) == SCENARIO  # nothing added


def test_other_roles_and_forged_forms_are_turned_away(web: Any) -> None:
    rid = _round(web)
    assert sign_in(web, web.keys.host1).status_code == 303
    assert web.get("/planner").status_code == 404
    assert web.get(f"/planner/rounds/{rid}").status_code == 404
    web.cookies.clear()
    assert sign_in(web, web.keys.planner).status_code == 303
    forged = web.post(f"/planner/rounds/{rid}", data={"scenario": SCENARIO, "action": "run"})
    assert forged.status_code == 403
    assert "/planner/runs/" not in web.get("/planner").text  # nothing was started
    assert web.get("/planner/rounds/nope").status_code == 404
    assert web.get("/planner/runs/nope").status_code == 404


def test_coordinators_reach_the_scenarios_too(web: Any) -> None:
    rid = _round(web)
    assert sign_in(web, web.keys.coordinator).status_code == 303
    page = web.get("/planner")
    assert page.status_code == 200 and f'href="/planner/rounds/{rid}"' in page.text
    assert '<a href="/planner" aria-current="page">Scenarios</a>' in page.text


def test_a_running_scenario_is_cancelled_from_its_page(web: Any) -> None:
    """The run page of an unfinished run has Cancel (asking first); the cancel needs the
    form's token, then the page says the run was cancelled and its events end."""
    rid = _planner(web)
    run_id = "0f0f0f0f-0000-4000-8000-000000000002"
    with web.app.state.db.write() as s:  # held by a worker elsewhere, lease valid
        s.add(held_scenario_run(run_id, rid, "long", 1, 9))
    page = web.get(f"/planner/runs/{run_id}")
    assert f'action="/planner/runs/{run_id}/cancel"' in page.text
    assert "data-confirm=" in page.text and "Cancel the run" in page.text
    assert web.post(f"/planner/runs/{run_id}/cancel", data={}).status_code == 403
    assert (
        web.get(f"/scenario-runs/{run_id}", headers=web.keys.auth("planner")).json()["status"]
        == "running"
    )  # the forged form changed nothing
    r = web.post(f"/planner/runs/{run_id}/cancel", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == f"/planner/runs/{run_id}"
    page = web.get(f"/planner/runs/{run_id}")
    assert "This scenario run was cancelled" in page.text and "Cancel the run" not in page.text
    assert (
        'event: end\ndata: {"status": "cancelled"}'
        in web.get(f"/planner/runs/{run_id}/events").text
    )
    # a second cancel (another tab) leaves it as it is
    r = web.post(f"/planner/runs/{run_id}/cancel", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    assert (
        web.post("/planner/runs/nope/cancel", data={"csrf_token": csrf_of(page.text)}).status_code
        == 404
    )
    web.cookies.clear()
    sign_in(web, web.keys.host1)
    assert web.post(f"/planner/runs/{run_id}/cancel", data={"csrf_token": "x"}).status_code in (
        403,
        404,
    )


def test_every_word_the_engine_gives_the_run_page_is_marked_for_translation() -> None:
    from volmatch.api.web.routes.planner import ENGINE_WORDS
    from volmatch.scenarios.charts import CHART_KPIS
    from volmatch.scenarios.compare import MOVE_KINDS

    assert {k.label for k in CHART_KPIS} <= set(ENGINE_WORDS)
    assert {k.replace("_", " ") for k in MOVE_KINDS} <= set(ENGINE_WORDS)


def test_the_form_adds_only_to_a_text_read_within_bounds() -> None:
    """The form's "add" read the editor's text with plain yaml.safe_load: 3,000 levels of
    nesting raised RecursionError (a 500) instead of asking to fix the YAML."""
    from volmatch.api.web.planner_form import FormErrors, add_entry

    for text in ("variants: " + "[" * 3000 + "]" * 3000, "variants: []\nvariants: []\n"):
        try:
            add_entry(text, "variants", {"name": "more"})
        except FormErrors as exc:
            assert "fix the YAML first" in exc.errors["yaml"]
        else:
            raise AssertionError("accepted")


def test_the_form_describes_a_variant_in_the_pages_language(web: Any) -> None:
    """The description the form writes into the planner's scenario is in the page's
    language (English pages: as before); the YAML's keys and values stay the same."""
    rid = _planner(web)
    web.get("/planner?lang=fr")  # the cookie keeps French
    form = {"vol_count": "5", "vol_language": "fr", "vol_level": "B2", "vol_training": ""}
    r = _post(web, rid, scenario=SCENARIO, action="add-volunteers", vol_name="", **form)
    assert r.status_code == 200, r.text
    added = yaml.safe_load(_textarea(r.text))["variants"][-1]
    assert added["description"] == "5 volontaires de plus parlant fr au niveau B2"
    assert added["changes"][0]["set"] == {"languages.fr": "B2"}
    r = _post(web, rid, scenario=_textarea(r.text), action="relax-language", **RELAX_SN)
    added = yaml.safe_load(_textarea(r.text))["variants"][-1]
    assert added["description"] == "fr ramené au niveau A2 pour SN"


def test_the_forms_errors_are_in_the_pages_language(web: Any) -> None:
    rid = _planner(web)
    form = {"sweep_weight": "colour", "sweep_values": "a, b", "sweep_name": ""}
    r = _post(web, rid, scenario=SCENARIO, action="sweep-weight", **form)
    assert r.status_code == 422 and "whole numbers separated by commas" in r.text
    web.get("/planner?lang=fr")
    r = _post(web, rid, scenario=SCENARIO, action="sweep-weight", **form)
    assert r.status_code == 422
    assert "des nombres entiers séparés par des virgules, par ex. 0, 200, 400" in r.text
    assert "l&#39;un de placed, skills" in r.text and "whole numbers" not in r.text
    good = {"sweep_weight": "priority", "sweep_values": "0, 400", "sweep_name": ""}
    r = _post(web, rid, scenario="[", action="sweep-weight", **good)
    assert "corrigez d&#39;abord le YAML : le formulaire y ajoute" in r.text


def test_the_editors_errors_are_in_the_pages_language(web: Any) -> None:
    """The YAML editor's errors by line: English as the engine words them, French by
    their shapes (the frame "variant 'x' change 2", then the message)."""
    import html as h

    rid = _planner(web)
    field = SCENARIO.replace(
        "policy: {weights.priority: 400}", "update: volunteers\n        set: {colour: red}"
    )
    key = SCENARIO.replace("  - name: urgent-double\n", "  - name: urgent-double\n    chnges: []\n")
    syntax = "name: x\n  variants: a\nb"

    def said(text: str) -> str:
        return h.unescape(_post(web, rid, scenario=text, action="check").text)

    assert "variant 'urgent-double' change 1: colour: volunteers have no field 'colour'" in (
        said(field)
    )
    assert "variant 'urgent-double': unknown key(s) chnges" in said(key)
    assert "YAML: mapping values are not allowed here" in said(syntax)
    web.get("/planner?lang=fr")
    french = said(field)
    assert (
        "variante 'urgent-double', changement 1 : colour : les volontaires n'ont pas de champ "
        "'colour'" in french
    )
    assert "have no field" not in french
    assert "variante 'urgent-double' : clé(s) inconnue(s) : chnges" in said(key)
    assert "YAML : une valeur de dictionnaire n'est pas admise ici" in said(syntax)


def test_scenario_errors_keep_their_english_and_read_in_french() -> None:
    from volmatch.api.web.error_text import localize_scenario_error
    from volmatch.api.web.i18n import translator

    en, fr = translator("en").gettext, translator("fr").gettext
    cases = {
        "scenario: seed must be a non-negative integer, not 'abc'": (
            "scénario : seed doit être un entier positif ou nul, pas 'abc'"
        ),
        "variant 'a=1' change 2: count: Input should be greater than or equal to 1": (
            "variante 'a=1', changement 2 : count : doit valoir au moins 1"
        ),
        "variant 'a': two variants share this name": "variante 'a' : deux variantes portent ce nom",
        "variant 'a': a message of no known shape": "variante 'a' : a message of no known shape",
    }
    for message, french in cases.items():
        assert localize_scenario_error(message, en) == message
        assert localize_scenario_error(message, fr) == french
