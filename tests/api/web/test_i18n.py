"""The French catalogue covers every string of the shared pages and the host partners'
pages, with the same placeholders, and the catalogue template holds them all; the
coordinators' and planners' pages (French for them is beyond the issue) are translated
too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[3] / "api" / "web"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
_PLACEHOLDER = re.compile(r"%\(\w+\)s")


OTHER_ROLES = ("coordinator", "planner")


def _extracted() -> set[str]:
    """The strings of the shared and host pages."""
    found = set()
    for path, _, message, _, _ in extract_from_dir(str(WEB), METHODS):
        if not any(role in path for role in OTHER_ROLES):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_template_holds_every_string_of_the_pages() -> None:
    with (WEB / "locales" / "messages.pot").open("rb") as f:
        pot = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}
    assert _extracted() <= pot, "run the pybabel commands of docs/pages.md"


def test_french_translates_every_string_with_its_placeholders() -> None:
    with (WEB / "locales" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="fr")
    done = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    assert _extracted() <= set(done)
    for key in _extracted():
        m = done[key]
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        assert all(strings) and not m.fuzzy, key
        for s in strings:
            assert sorted(_PLACEHOLDER.findall(s)) == sorted(_PLACEHOLDER.findall(key)), key


def test_every_string_of_every_page_has_french() -> None:
    """Beyond the host pages the issue asks for: the coordinators' and planners' pages
    are translated too, every string with its placeholders."""
    with (WEB / "locales" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="fr")
    for m in catalog:
        if not m.id:
            continue
        key = m.id if isinstance(m.id, str) else m.id[0]
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        assert all(strings) and not m.fuzzy, key
        for s in strings:
            assert sorted(_PLACEHOLDER.findall(s)) == sorted(_PLACEHOLDER.findall(key)), key


def test_the_coordinator_and_planner_pages_speak_french(web: Any) -> None:
    from tests.api.web.helpers import sign_in

    assert sign_in(web, web.keys.coordinator).status_code == 303
    page = web.get("/coordinator?lang=fr").text
    assert '<html lang="fr">' in page and "Derniers tours" in page and "Last rounds" not in page
    page = web.get("/planner").text  # the cookie keeps the language
    assert "Tours enregistrés" in page and "Stored rounds" not in page


def _offer_link(web: Any) -> str:
    from tests.api.service.lifecycle.helpers import offers, published

    rid = published(web)
    offer = offers(web, rid)["V1"]
    r = web.post(f"/offers/{offer['id']}/link", headers=web.keys.auth("coordinator"))
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


def test_the_volunteers_offer_page_speaks_french(web: Any) -> None:
    """The personal link's page follows Accept-Language, `?lang=` and its cookie like the
    host pages; its refusals and its thanks are French too."""
    url = _offer_link(web)
    page = web.get(url, headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert page.status_code == 200
    text = page.text
    assert '<html lang="fr">' in text
    for french in ("Votre offre d'affectation", "Votre réponse", "J'accepte cette affectation"):
        assert french.replace("'", "&#39;") in text, french
    assert "Raisons personnelles" in text and "Envoyer ma réponse" in text
    for english in ("Your answer", "I accept this placement", "Personal reasons", "Send my"):
        assert english not in text, english
    assert web.get(url).text.count('<html lang="en">') == 1  # no header, no cookie: English
    switched = web.get(url + "?lang=fr")
    assert '<html lang="fr">' in switched.text
    assert switched.cookies.get("volmatch_lang") == "fr"
    r = web.post(url, data={"answer": "decline"})  # the cookie keeps French; no reason
    assert r.status_code == 422
    assert "choisissez dans la liste la raison de votre refus" in r.text
    r = web.post(url, data={"answer": "accept"})
    assert r.status_code == 200 and "Vous avez accepté l&#39;offre d&#39;affectation P1" in r.text
    r = web.get(url)
    assert r.status_code == 410
    assert "Ce lien ne peut pas être utilisé" in r.text
    assert "ce lien a déjà servi : l&#39;offre a reçu une réponse" in r.text
    web.cookies.clear()
    assert "This link cannot be used" in web.get(url).text  # English again


def test_the_documented_babel_commands_reproduce_the_shipped_catalogues(tmp_path: Path) -> None:
    """docs/pages.md's pybabel commands, run on a copy of the pages and of the engine's
    reasons (`models/reasons.py`), give back the catalogues as shipped (but for the
    creation date): same strings, same line width."""
    import shutil
    import subprocess
    import sys

    root = WEB.parents[1]
    doc = (root / "docs" / "pages.md").read_text(encoding="utf-8")
    commands = [line for line in doc.splitlines() if line.startswith(".venv/bin/pybabel ")]
    assert [c.split()[1] for c in commands] == ["extract", "update"]
    shutil.copytree(WEB, tmp_path / "api" / "web", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(root / "babel.cfg", tmp_path / "babel.cfg")
    extract = commands[0].split()
    for name in extract[extract.index("-o") + 2 :]:  # the engine's reasons beside the pages
        if (root / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(root / name, tmp_path / name)
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    for command in commands:
        args = command.split()[1:]
        subprocess.run([pybabel, *args], cwd=tmp_path, check=True, capture_output=True)
    for name in ("messages.pot", "fr/LC_MESSAGES/messages.po"):
        made, shipped = (
            [
                line
                for line in (base / "api" / "web" / "locales" / name).read_text().splitlines()
                if not line.startswith('"POT-Creation-Date:')
            ]
            for base in (tmp_path, root)
        )
        assert made == shipped, name
