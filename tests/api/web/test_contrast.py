"""Contrast AA, computed from the pages' own CSS colours (WCAG 2 relative luminance):
every text colour on every light background at 4.5:1, the bar's white on its blue, and
the non-text parts a person must see (input borders, the focus ring) at 3:1."""

from __future__ import annotations

import re
from importlib.resources import files

_STATIC = files("volmatch.api.web") / "static"
_CSS = "\n".join(
    (_STATIC / name).read_text(encoding="utf-8") for name in ("app.css", "coordinator.css")
)
_VARS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})", _CSS))


def _colour(value: str) -> str:
    found = re.fullmatch(r"var\(--([a-z-]+)\)", value.strip())
    return _VARS[found.group(1)] if found else value.strip()


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    h = "".join(c * 2 for c in h) if len(h) == 3 else h

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(h[i : i + 2], 16) / 255) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two #rrggbb colours."""
    lo, hi = sorted((_luminance(a), _luminance(b)))
    return (hi + 0.05) / (lo + 0.05)


BRAND, ON_BRAND = _VARS["brand"], _VARS["brand-ink"]
_BACKGROUNDS = {_colour(v) for v in re.findall(r"background:\s*([^;}\s]+)", _CSS)}
LIGHT = sorted(c for c in _BACKGROUNDS if c.startswith("#") and c != BRAND)
"""Every background of the pages but the bar's blue: cards, tables, notices, rows."""
TEXT = sorted({_colour(v) for v in re.findall(r"(?<![-\w])color:\s*([^;}]+)", _CSS)} - {ON_BRAND})
"""Every text colour the CSS sets, but the bar's white (checked on the bar)."""


def test_the_colours_are_read_from_the_css() -> None:
    assert len(LIGHT) >= 5 and len(TEXT) >= 5
    assert all(re.fullmatch(r"#[0-9a-fA-F]{3,6}", c) for c in LIGHT + TEXT)


def test_every_text_colour_is_aa_on_every_light_background() -> None:
    low = [(f, b, round(ratio(f, b), 2)) for f in TEXT for b in LIGHT if ratio(f, b) < 4.5]
    assert low == []
    assert ratio(ON_BRAND, BRAND) >= 4.5


def test_input_borders_and_the_focus_ring_stand_out_at_three_to_one() -> None:
    border = re.search(r"input, select, textarea \{[^}]*border: 1px solid (#[0-9a-fA-F]+)", _CSS)
    assert border is not None
    assert min(ratio(border.group(1), b) for b in LIGHT) >= 3
    focus, inner = _VARS["focus"], _VARS["focus-inner"]
    assert "box-shadow: 0 0 0 2px var(--focus-inner)" in _CSS
    for background in [*LIGHT, BRAND]:
        assert max(ratio(focus, background), ratio(inner, background)) >= 3, background
