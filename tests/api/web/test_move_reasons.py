"""The moves' "why" as structured parts: a re-run's moves (`detail` beside `reason`) and
a what-if comparison's moves (`details` beside `reasons`), the English text unchanged
and made from the parts, and rendered in French on the pages; French plurals of the
counted reasons ("1 a refusé son offre", "2 ont refusé leur offre")."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.helpers import doc, plc, vol
from volmatch.api.web.reason_text import reason_texts
from volmatch.matching import prepare, solve_round
from volmatch.models import parse_round
from volmatch.models.reasons import part, text_of
from volmatch.scenarios.compare import base_facts, moves
from volmatch.scenarios.runner import solve_prepared


def _rerun_doc() -> dict[str, Any]:
    """V1 moves to a better fit (no move cost); V2's previous pair now lacks a skill."""
    d = doc(
        [vol("V1", skills={"teaching": 4}), vol("V2")],
        [
            plc("P1", desired_skills={"teaching": 5}),
            plc("P2", desired_skills={"teaching": 4}),
            plc("P3", required_skills={"nursing": 3}),
            plc("P4"),
        ],
        move_cost=0,
    )
    d["previous"] = [
        {"volunteer": "V1", "placement": "P1"},
        {"volunteer": "V2", "placement": "P3"},
    ]
    return d


def test_a_reruns_moves_carry_their_parts_and_the_same_english() -> None:
    result = solve_round(parse_round(_rerun_doc()))
    mv = {m["volunteer"]: m for m in result.moves}  # type: ignore[attr-defined]
    assert set(mv) == {"V1", "V2"}
    for m in mv.values():
        assert m["reason"] == text_of(m["detail"])
    assert mv["V1"]["detail"]["code"] == "move_scores_higher"
    assert mv["V1"]["detail"]["params"]["placement"] == "P2"
    assert mv["V1"]["reason"].startswith("moved: the round scores higher with them at P2 (score ")
    assert mv["V2"]["detail"]["code"] == "move_breaks_rule"
    assert mv["V2"]["reason"] == (
        "the previous pair breaks a hard rule now: skills: P3 requires skills nursing 3 (has none)"
    )
    fr = reason_texts([mv["V2"]["detail"], mv["V1"]["detail"]], "fr")
    assert fr[0] == (
        "la paire précédente enfreint désormais une règle impérative : "
        "skills : P3 exige les compétences nursing 3 (niveau : aucun)"
    )
    assert fr[1].startswith("déplacé·e : le tour obtient un score plus élevé avec ce volontaire")


def _variant_moves() -> list[dict[str, Any]]:
    """A base of four volunteers and three needs; the variant drops P1, adds V9 and makes
    P2 ask for nursing (V2 has none)."""
    vols = [vol("V1"), vol("V2"), vol("V3", skills={"nursing": 3, "teaching": 3})]
    pls = [plc("P1"), plc("P2"), plc("P3", required_skills={"nursing": 4})]
    base = parse_round(doc(vols, pls))
    base_result = solve_round(base)
    variant = parse_round(
        doc(
            [*vols, vol("V9", skills={"teaching": 5})],
            [plc("P2", desired_skills={"teaching": 5}), pls[2], plc("P5")],
        )
    )
    prep = prepare(variant)
    return moves(prep, solve_prepared(prep), base_facts(base_result))


def test_a_variants_moves_carry_their_parts_and_the_same_english() -> None:
    mv = _variant_moves()
    assert mv
    for m in mv:
        assert len(m["details"]) == len(m["reasons"]), m
        for text, detail in zip(m["reasons"], m["details"], strict=True):
            assert text == text_of(detail), m
        french = reason_texts(m["details"], "fr")
        assert not set(french) & set(m["reasons"]), m
    codes = {d["code"] for m in mv for d in m["details"]}
    assert "variant_new_placed" in codes or "variant_new_unplaced" in codes


def test_each_variant_reason_reads_in_french() -> None:
    cases = [
        (part("variant_placement_gone", placement="P1"), "P1 n'est pas dans cette variante"),
        (
            part("variant_full_more", placement="P2", score=900, slots=4, volunteers=["V1", "V2"]),
            "P2 (score 900 ici) est complet : ses 4 place(s) sont allées à V1, V2 ...",
        ),
        (
            part("variant_now_at", placement="P2", score=1200, was_placement="P1", was_score=900),
            "maintenant à P2 (score 1\u202f200), était à P1 (score 900)",
        ),
        (
            part("variant_in_base", reason_parts=[part("no_placements")]),
            "dans la base : le tour n'a aucun besoin",
        ),
    ]
    for reason, french in cases:
        assert reason_texts([reason], "fr") == [french]
    assert text_of(cases[1][0]) == ("P2 (score 900 here) is full: its 4 slot(s) went to V1, V2 ...")


def test_a_count_of_declines_agrees_in_french() -> None:
    def said(n: int) -> tuple[str, str]:
        r = part("pairwise_only", count=n, rule_parts=[part("pairwise_declined", count=n)])
        return text_of(r), reason_texts([r], "fr")[0]

    en1, fr1 = said(1)
    assert en1 == (
        "1 volunteer(s) meet every requirement but the pair-wise rules: "
        "1 declined their offer, or let it expire"
    )
    assert fr1 == (
        "1 volontaire remplit chaque exigence sauf les règles par paire : "
        "1 a refusé son offre, ou l'a laissée expirer"
    )
    _, fr2 = said(2)
    assert fr2 == (
        "2 volontaires remplissent chaque exigence sauf les règles par paire : "
        "2 ont refusé leur offre, ou l'ont laissée expirer"
    )


def test_the_rerun_page_gives_the_moves_why_in_its_language(web: Any) -> None:
    """A round whose document has a previous assignment: its result page lists the
    moves, their why in English as the result says it, in French from its parts."""
    from tests.api.service.helpers import wait_round
    from tests.api.web.helpers import sign_in

    co = web.keys.auth("coordinator")
    r = web.post("/rounds", json={"name": "moves", "document": _rerun_doc()}, headers=co)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    assert wait_round(web, rid, co)["status"] == "done"
    moves_of = web.get(f"/rounds/{rid}/result", headers=co).json()["moves"]
    assert sign_in(web, web.keys.coordinator).status_code == 303

    def why(lang: str) -> list[str]:
        page = web.get(f"/coordinator/rounds/{rid}?lang={lang}").text
        table = page.split('id="moves"')[1].split("</table>")[0]
        cells = re.findall(r"<td data-label=\"[^\"]*\">(.*?)</td>", table, re.S)
        return [html.unescape(c) for c in cells[3::4]]  # volunteer, from, to, why

    assert why("en") == [m["reason"] for m in moves_of]
    french = " ".join(why("fr"))
    assert "la paire précédente enfreint désormais une règle impérative" in french
    assert "déplacé·e : le tour obtient un score plus élevé" in french
    assert "the previous pair" not in french and "moved:" not in french


def test_a_backfill_proposals_moves_carry_their_parts_and_read_in_french() -> None:
    """A vacancy chain after a decline: the pending offer that moves says why with parts
    (English unchanged), and reads in French on the Advice page's proposal."""
    from volmatch.matching.lifecycle import propose_backfill

    r = parse_round(
        doc(
            [
                vol("V1", skills={"teaching": 4}),
                vol("V2", skills={"teaching": 4}),
                vol("V3", skills={"teaching": 2}),
            ],
            [
                plc("P1", required_skills={"teaching": 4}, desired_skills={"teaching": 5}),
                plc("P2", desired_skills={"teaching": 2}),
            ],
        )
    )
    prop = propose_backfill(prepare(r), {"V1": "P1", "V2": "P2"}, declined=["V1"], accepted=[])
    assert prop.moves, prop
    for m in prop.moves:
        assert m.detail is not None and m.reason == text_of(m.detail)
        french = reason_texts([m.detail], "fr")[0]
        assert french != m.reason
    chain = prop.moves[0]
    assert chain.detail is not None and chain.detail["code"].startswith("backfill_chain")
    assert reason_texts([chain.detail], "fr")[0].startswith("chaîne de vacance : V2 obtient")
    dumped = prop.model_dump(mode="json", by_alias=True)["moves"][0]
    assert dumped["reason"] == chain.reason and dumped["detail"] == chain.detail
