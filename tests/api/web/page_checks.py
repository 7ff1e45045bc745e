"""What every page must hold for the people who use it, checked in the real browser on
the page as rendered: a label on every input, a name on every button and link, text at
contrast AA against the background it is drawn on, and no sideways scrolling of the page
(a wide table scrolls inside its own box)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

_CHECKS = (Path(__file__).parent / "page_checks.js").read_text(encoding="utf-8")


def assert_usable(page: Any) -> None:
    """Fail, naming the elements, where the page shown lacks a label, a name, contrast AA,
    or fits its width only by scrolling sideways."""
    found = page.evaluate(_CHECKS)
    problems = {k: v for k, v in found.items() if v}
    assert not problems, f"{page.url}: {problems}"
