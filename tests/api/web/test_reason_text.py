"""The engine's reasons on the pages: rendered from their parts through the French
catalogue (every code has its translation, with the same placeholders), numbers in the
locale's figures, country and language names translated, ids as they are; in English
exactly the result's own text."""

from __future__ import annotations

import html
import re
import string
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from volmatch.api.web.reason_text import reason_texts, words
from volmatch.models.reasons import ENGLISH, HARD_RULES, TEMPLATES, WORDS, render, text_of

CATALOGUE = (
    Path(__file__).resolve().parents[3] / "api" / "web" / "locales" / "fr" / "LC_MESSAGES"
) / "messages.po"


def _french() -> dict[str, str]:
    with CATALOGUE.open("rb") as f:
        return {m.id: m.string for m in read_po(f, locale="fr") if m.id and not m.fuzzy}


def _fields(template: str) -> list[str]:
    return sorted(n for _, n, _, _ in string.Formatter().parse(template) if n)


def test_every_reason_code_has_a_french_template_with_its_placeholders() -> None:
    french = _french()
    for code, template in TEMPLATES.items():
        assert french.get(template), f"no French for reason code {code!r}"
        assert _fields(french[template]) == _fields(template), code
    for text in [*HARD_RULES.values(), *WORDS, " or ", " and ", "; ", " and {more} more"]:
        assert french.get(text), text


def _sample(name: str) -> Any:
    """A param of this name as the engine gives it."""
    if name.endswith("_parts"):
        return [{"code": "skill_at", "params": {"skill": "nursing", "level": 3}}] * 2
    if name.endswith("_nth"):
        return 1
    if name in ("volunteer", "volunteers", "group"):
        return "V7" if name != "volunteers" else ["V7", "V8"]
    if name in ("placement", "frm", "to"):
        return "P9"
    if name == "country":
        return "Senegal"
    if name == "language":
        return "Swahili"
    if name in ("has", "best"):
        return "none"
    if name == "side":
        return "placements"
    if name == "rule_text":
        return HARD_RULES["dates"]
    if name in ("rule", "rules", "modules", "text", "unit", "level", "clearance"):
        return {"unit": "country", "rules": ["dates", "age"]}.get(name, "dates")
    if "from" in name or "until" in name or "start" in name:
        return "2027-05-01"
    return 12345


def test_every_reason_renders_in_french_from_its_parts() -> None:
    fr = words("fr")
    for code, template in TEMPLATES.items():
        params = {name: _sample(name) for name in _fields(template)}
        text = render(code, params, fr)
        assert "{" not in text and "}" not in text, code
        if code != "solver":  # the rules solver's own note stays as it is written
            assert text != render(code, params), code
        for name, value in params.items():
            if name in ("volunteer", "placement", "group"):
                assert value in text, (code, name)  # ids as they are
            if value == 12345:
                assert "12\u202f345" in text, (code, name)  # French figures


def test_names_words_and_ordinals_in_french() -> None:
    said = reason_texts(
        [
            {
                "code": "fails_country_excluded",
                "params": {"placement": "P1", "country": "Senegal"},
            },
            {
                "code": "language_below",
                "params": {"language": "Swahili", "level": "B2", "has": "none"},
            },
            {
                "code": "stable_rank",
                "params": {"placement": "P1", "rank_nth": 3, "size": 5, "worst_nth": 1},
            },
            {
                "code": "rule_count",
                "params": {
                    "count": 1200,
                    "total": 2000,
                    "side": "placements",
                    "rule": "dates",
                    "rule_text": HARD_RULES["dates"],
                    "more": 3,
                },
            },
        ],
        "fr",
    )
    assert said == [
        "P1 est dans un pays que ce volontaire a exclu : Sénégal",
        "swahili en dessous de B2 (niveau : aucun)",
        "P1 classe ce volontaire 3e sur 5, et son titulaire le moins bien classé est son 1er",
        "1\u202f200 sur 2\u202f000 besoins échouent à la règle « dates » (le service tient dans "
        "les deux fenêtres de dates) et 3 de plus",
    ]


def test_english_is_the_results_own_text() -> None:
    assert words("en") is ENGLISH
    reason = {
        "code": "costs",
        "params": {
            "volunteer": "V1",
            "cost": 1200,
            "placement": "P2",
            "score": 900,
            "hop_parts": [{"code": "hop_was_open", "params": {"placement": "P2"}}],
        },
    }
    assert reason_texts([reason], "en") == [text_of(reason)]
    assert "1200" in text_of(reason)


def _cells(page: str, table_id: str) -> list[str]:
    body = page.split(f'id="{table_id}"')[1].split("</table>")[0]
    return [html.unescape(t) for t in re.findall(r"<li>(.*?)</li>", body, re.S)]


def test_the_result_page_shows_reasons_in_its_language(web: Any) -> None:
    """English: exactly the result's `reasons`; French: the same parts in French."""
    from tests.api.service.helpers import plc, seed, wait_round
    from tests.api.web.helpers import csrf_of, sign_in

    seed(web)
    need = plc("P4", host="H02", slots=3, country="SN", required_languages={"sw": "C1"})
    assert web.post("/placements", json=need, headers=web.keys.auth("host2")).status_code == 201
    assert sign_in(web, web.keys.coordinator).status_code == 303
    csrf = csrf_of(web.get("/coordinator/pool").text)
    form = {"csrf_token": csrf, "name": "r", "mode": "optimal", "time_limit_s": "10"}
    r = web.post("/coordinator/rounds/new", data=form)
    rid = r.headers["location"].rsplit("/", 1)[1]
    co = web.keys.auth("coordinator")
    assert wait_round(web, rid, co)["status"] == "done"
    result = web.get(f"/rounds/{rid}/result", headers=co).json()
    side = [("unmatched", x) for x in result["unmatched_volunteers"]]
    side += [("open-slots", x) for x in result["open_slots"]]
    assert {t for t, _ in side} == {"unmatched", "open-slots"}
    en = web.get(f"/coordinator/rounds/{rid}?lang=en").text
    fr = web.get(f"/coordinator/rounds/{rid}?lang=fr").text
    for table in ("unmatched", "open-slots"):
        rows = [x for t, x in side if t == table]
        assert _cells(en, table) == [t for x in rows for t in x["reasons"]]
        french = _cells(fr, table)
        assert french == [t for x in rows for t in reason_texts(x["details"], "fr")]
        assert not set(french) & set(_cells(en, table))
    assert "aucun volontaire ne parle swahili au niveau C1 ou plus" in html.unescape(fr)
    # explain: a pair's outcome and the rules a need fails, from their parts
    explained = html.unescape(web.get(f"/coordinator/rounds/{rid}/explain?volunteer=V2").text)
    assert "languages</strong>: P3 exige français B1 (niveau : aucun)" in explained
    assert "non retenu : donner ce besoin à ce volontaire baisse" in explained
    english = html.unescape(web.get(f"/coordinator/rounds/{rid}/explain?lang=en&volunteer=V2").text)
    api = web.get(f"/rounds/{rid}/explain?volunteer=V2", headers=co).json()["pairs"]
    for pair in api:
        for text in [pair.get("outcome"), *pair.get("failed_rules", {}).values()]:
            assert text is None or text in english


def test_the_rules_solvers_group_note_has_parts_and_reads_in_french() -> None:
    """A group no placement takes whole: the rules solver's note is a reason with parts
    (no longer free text), its English as before, its French from the catalogue."""
    from tests.helpers import doc, plc, vol
    from volmatch.matching import solve_round
    from volmatch.matching.claims import check_claims
    from volmatch.models import parse_round

    r = parse_round(
        doc(
            [vol("V1", group="g"), vol("V2", group="g", languages={"fr": "B2"})],
            [
                plc("P1", required_languages={"en": "B1"}),
                plc("P2", required_languages={"fr": "B1"}),
            ],
        )
    )
    result = solve_round(r)
    u = {x.volunteer: x for x in result.unmatched_volunteers}["V1"]
    assert u.details[0] == {
        "code": "group_unplaceable",
        "params": {"group": "g", "count": 2, "volunteers": ["V1", "V2"]},
    }
    assert u.reasons[0] == "group 'g': no placement accepts all 2 members (V1, V2)"
    assert reason_texts(u.details[:1], "fr") == [
        "groupe « g » : aucun besoin n'accepte ses 2 membres à la fois (V1, V2)"
    ]
    assert check_claims(r, result) == []
