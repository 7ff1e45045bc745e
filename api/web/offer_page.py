"""The volunteer's offer page (`GET /offers/{token}`, the personal link of
`service/routers/offer_links.py`) in the reader's language: every string through
gettext, English and French like the host partners' pages. The language comes from
`?lang=` (then kept in a cookie), else the cookie, else Accept-Language (`i18n`).

The page stands alone (no account, no navigation, its styles inline), so it is sent
without the pages' Content-Security-Policy; the token in its path is never sent on
(no-referrer) and the page is never cached.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from volmatch.api.web.error_text import N_, localize
from volmatch.api.web.i18n import LANGUAGES, page_language, translator
from volmatch.api.web.options import need_options
from volmatch.api.web.render import environment, remember_language

REASON_LABELS: dict[str, str] = {
    "personal": N_("Personal reasons"),
    "health": N_("Health"),
    "other_offer": N_("I took another offer"),
    "dates": N_("The dates do not suit me"),
    "location": N_("The location does not suit me"),
    "role_fit": N_("The role does not fit me"),
    "visa": N_("Visa or travel documents"),
    "other": N_("Another reason"),
}
"""The decline reasons a volunteer may pick (a host's decline and no reply are not
theirs), each with its msgid."""

NO_ANSWER = N_("choose whether you accept or decline the offer")
"""The 422's message where the form chose neither accept nor decline."""
NO_REASON = N_("choose a reason for declining from the list")
"""The 422's message where a decline names no reason of the list."""
TOO_LONG = N_("your note is longer than 2000 characters: shorten it")
"""The 422's message where the note is longer than the form allows (the textarea stops
at 2000 characters; another client may send more, which is refused, not cut)."""
LINK_REFUSALS = (
    N_("this link is not valid"),
    N_("this link was used already: the offer has been answered"),
    N_("this link was replaced by a newer one"),
    N_("this offer has expired"),
)
"""The lifecycle service's fixed refusals of a link (`lifecycle.links`), as msgids; the
one naming the offer's state is a shape of `error_text`."""

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _shown(error: str, gettext: Any) -> str:
    """A refusal in the page's language: a fixed message by itself, else by its shape."""
    text = str(gettext(error))
    return text if text != error else localize(error, gettext)


def offer_page(
    request: Request,
    status: int = 200,
    *,
    offer: dict[str, Any] | None = None,
    error: str | None = None,
    answered: str | None = None,
) -> HTMLResponse:
    """The page: the offer and its form, a refusal (`error`, the service's English
    message, shown translated where the catalogue has its shape), or the thanks after
    an answer (`answered`: `accept` or `decline`)."""
    lang = page_language(request)
    tr = translator(lang)
    _ = tr.gettext
    done = None
    if answered is not None and offer is not None:
        text = (
            _("You have accepted the offer of placement %(placement)s.")
            if answered == "accept"
            else _("You have declined the offer of placement %(placement)s.")
        )
        done = (
            (text % {"placement": offer["placement"]})
            + " "
            + _("Your coordinator will be in touch.")
        )
    if offer is not None:
        countries = dict(need_options(lang).countries)
        offer = {**offer, "country_name": countries.get(offer["country"], offer["country"])}
    html = (
        environment()
        .get_template("offer_reply.html")
        .render(
            _=_,
            ngettext=tr.ngettext,
            lang=lang,
            languages=LANGUAGES,
            offer=offer,
            error=None if error is None else _shown(error, _),
            done=done,
            reasons=[(code, _(label)) for code, label in REASON_LABELS.items()],
        )
    )
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    remember_language(request, response)
    return response
