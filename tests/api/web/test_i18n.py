"""The French catalogue covers every string of the shared pages and the host partners'
pages, with the same placeholders, and the catalogue template holds them all. (The
coordinators' and planners' pages go through gettext too; French for them is welcome
but not required, so their strings are left out here.)"""

from __future__ import annotations

import re
from pathlib import Path

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
