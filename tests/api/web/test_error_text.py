"""The API's error messages on French pages: every shape of model error a need form can
raise comes out in French (none left in English), English pages keep the API's very
words, a message of no known shape falls back to English, and a French host posting a
bad need sees French beside the inputs, the API still answering in English."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tests.api.web.helpers import csrf_of, sign_in
from volmatch.api.service.errors import request_errors
from volmatch.api.web.error_text import BY_SHAPE, BY_TYPE, localize
from volmatch.api.web.i18n import translator
from volmatch.models import Placement

BASE = {
    "id": "P1",
    "host": "H01",
    "country": "KE",
    "start_earliest": "2027-01-01",
    "start_latest": "2027-02-01",
}
BAD = [
    {"id": "bad id!"},
    {"country": "ke"},
    {"country": "XX"},
    {"slots": "abc"},
    {"slots": 0},
    {"priority": 9},
    {"required_languages": {"en": "Z9"}},
    {"required_languages": {"EN": "B2"}},
    {"required_languages": {"zz": "B2"}},
    {"required_skills": {"Teach ing": 2}},
    {"required_skills": {"teaching": "x"}},
    {"sdg_targets": ["99.1"]},
    {"min_months": 12, "max_months": 6},
    {"start_latest": "2026-01-01"},
    {"start_earliest": "2027-13-01"},
    {"title": "x" * 1000},
    {"foo": 1},
    {"age_min": 30, "age_max": 20},
    {"security_level": 9},
    {"country": None},
]


def _errors(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None, str]]:
    try:
        Placement.model_validate(doc)
    except ValidationError as exc:
        raw = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        return [
            (str(e["type"]), e.get("ctx"), item.message)
            for e, item in zip(raw, request_errors(raw, doc), strict=True)
        ]
    raise AssertionError(f"{doc} is valid")


@pytest.mark.parametrize("change", BAD, ids=[next(iter(c)) for c in BAD])
def test_every_need_error_is_french_on_french_pages(change: dict[str, Any]) -> None:
    fr, en = translator("fr").gettext, translator("en").gettext
    doc = {k: v for k, v in {**BASE, **change}.items() if v is not None}  # None: left out
    for kind, ctx, message in _errors(doc):
        assert localize(message, en, error_type=kind, ctx=ctx) == message
        french = localize(message, fr, error_type=kind, ctx=ctx)
        assert french != message, (kind, message)
        assert not any(w in french.split() for w in ("is", "must", "should", "Input")), french


def test_the_variable_parts_are_kept_and_unknown_shapes_stay_english() -> None:
    fr = translator("fr").gettext
    [(kind, ctx, message)] = _errors({**BASE, "min_months": 12, "max_months": 6})
    assert (
        localize(message, fr, error_type=kind, ctx=ctx)
        == "max_months 6 est inférieur à min_months 12"
    )
    [(kind, ctx, message)] = _errors({**BASE, "required_languages": {"en": "Z9"}})
    assert localize(message, fr, error_type=kind, ctx=ctx).endswith("'C2' ou 'native'")
    assert localize("a message nobody catalogued", fr) == "a message nobody catalogued"
    # every msgid is in the French catalogue (test_i18n checks the placeholders)
    assert all(fr(m) != m for m in BY_TYPE.values())
    assert all(fr(m) != m for _, m in BY_SHAPE)


def test_a_french_host_sees_french_errors_beside_the_inputs(web: Any) -> None:
    sign_in(web, web.keys.host1)
    page = web.get("/host/needs/new?lang=fr")
    bad = {
        "csrf_token": csrf_of(page.text),
        "id": "P9",
        "country": "ke",
        "slots": "0",
        "start_earliest": "2027-04-01",
        "start_latest": "2027-01-01",
        "sdg_targets": "99.9",
        "required_skills.code": ["teaching"],
        "required_skills.level": ["beaucoup"],
    }
    r = web.post("/host/needs/new", data=bad)
    assert r.status_code == 422
    for name, french in (
        ("slots", "doit valoir au moins 1"),
        ("country", "n&#39;est pas un code de pays"),
        ("start_latest", "précède le début au plus tôt"),
        ("sdg_targets", "cibles des ODD"),
        ("required_skills", "doit être un nombre entier"),
    ):
        block = (
            r.text.split(f'id="{name}"')[1].split("</div>")[0]
            if name != "required_skills"
            else r.text
        )
        assert french in block, name
    assert "should be" not in r.text and "is not" not in r.text
    # The API keeps English.
    api = web.post("/placements", headers=web.keys.auth("host1"), json={**BASE, "slots": 0}).json()
    assert "greater than or equal to 1" in api["errors"][0]["message"]
    # A need id taken by another: the service's answer, in French too.
    good = {k: v for k, v in bad.items() if k not in ("sdg_targets",)}
    good.update(
        country="KE", slots="1", start_latest="2027-06-01", **{"required_skills.level": ["2"]}
    )
    assert web.post("/host/needs/new", data=good).status_code == 303
    again = web.post("/host/needs/new", data=good)
    assert again.status_code == 409 and "est déjà pris par un autre besoin" in again.text


def _bad_pool_workbook() -> bytes:
    """The tests' pool as a workbook with a bad cell of each kind the loader checks, an
    unknown column, and a second sheet missing a required column."""
    import io

    from openpyxl import load_workbook

    from tests.api.service.helpers import round_doc
    from volmatch.api.sheets import round_workbook_bytes
    from volmatch.models import parse_round

    wb = load_workbook(io.BytesIO(round_workbook_bytes(parse_round(round_doc()))))
    ws = wb["Volunteers"]
    header = [c.value for c in ws[1]]
    for row, column, value in (
        (2, "nationality", "Atlantis"),
        (3, "min_months", "six"),
        (4, "available_from", "soon"),
        (5, "min_months", -3),
        (6, "available_until", "2020-01-01"),
    ):
        ws.cell(row=row, column=header.index(column) + 1, value=value)
    ws.cell(row=1, column=len(header) + 1, value="nationalty")
    places = wb["Placements"]
    places.delete_cols([c.value for c in places[1]].index("country") + 1)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_every_error_of_a_bad_workbook_is_french_on_french_pages() -> None:
    """The pool loader's messages (and its rows and columns) in French: none left in
    English; the sheet's name, the ids and the headers as the file has them."""
    from volmatch.api.sheets import read_workbook_bytes
    from volmatch.api.web.error_text import localize_item
    from volmatch.models import InvalidRound

    with pytest.raises(InvalidRound) as caught:
        read_workbook_bytes(_bad_pool_workbook())
    errors = caught.value.errors
    assert len(errors) >= 7
    fr = translator("fr").gettext
    for e in errors:
        said = localize_item(e, fr)
        assert said["message"] != e.message, e.message
        assert said["section"] == e.section
        for key in ("record", "field"):
            english = getattr(e, key)
            if english.startswith(("row ", "column ")):
                assert said[key] != english and said[key].endswith(english.split(" ", 2)[-1])
        assert localize_item(e, translator("en").gettext) == e.as_dict()
    messages = {localize_item(e, fr)["message"] for e in errors}
    assert {
        "doit être un nombre entier",
        "doit valoir au moins 1",
        "une date est attendue (une cellule de date ou un texte ISO comme 2027-03-01), reçu : "
        "'soon'",
        "available_until 2020-01-01 est avant available_from 2027-03-01",
        "la colonne obligatoire 'country' manque (la ligne 1 nomme les colonnes)",
    } <= messages
    assert any(
        m.startswith("colonne inconnue (vouliez-vous dire 'nationality' ?)") for m in messages
    )


def test_a_french_coordinator_sees_the_pool_errors_in_french(web: Any) -> None:
    assert sign_in(web, web.keys.coordinator).status_code == 303
    csrf = csrf_of(web.get("/coordinator/pool?lang=fr").text)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = web.post(
        "/coordinator/pool",
        data={"csrf_token": csrf},
        files={"file": ("pool.xlsx", _bad_pool_workbook(), xlsx)},
    )
    assert r.status_code == 422
    assert "ligne 2 (V1)" in r.text and "colonne C (nationality)" in r.text
    assert "&#39;Atlantis&#39; n&#39;est pas un code de pays ISO 3166-1 alpha-2" in r.text
    assert "Input should be" not in r.text and "expected a date" not in r.text
