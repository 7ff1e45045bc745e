"""The usability checks every screenshot point of the browser tests runs
(`page_checks.assert_usable`) find each fault they name, and pass a page without one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.web.page_checks import assert_usable

pytestmark = pytest.mark.browser

GOOD = """<body style="background:#fff;margin:0"><label for="a">Name</label><input id="a">
<a href="/x"><img alt="A chart" src="data:,"></a><button>Save</button>
<div style="overflow-x:auto"><div style="width:900px">a wide table scrolls in its box</div></div>
</body>"""


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ('<input id="b">', "unlabelled"),
        ("<button></button>", "nameless"),
        ('<p style="color:#999">grey on white</p>', "lowContrast"),
        ('<div style="width:900px">too wide</div>', "overflow"),
    ],
)
def test_each_fault_is_found(page: Any, fault: str, kind: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(GOOD.replace("</body>", fault + "</body>"))
    with pytest.raises(AssertionError, match=kind):
        assert_usable(page)


def test_a_page_without_faults_passes(page: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.set_content(GOOD)
    assert_usable(page)
