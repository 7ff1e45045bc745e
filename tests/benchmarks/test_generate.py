"""The benchmark generator: reproducible, documents the contract accepts, the
programme's shape and the eligibility density of real pools; part of the default run,
because it feeds every published benchmark figure."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.generate import generate_round, main, rules_policy
from tests.benchmarks.helpers import candidate_pairs
from volmatch.models import parse_round


def test_same_seed_same_document_and_other_seed_differs() -> None:
    a = generate_round(300, 60, seed=7)
    b = generate_round(300, 60, seed=7)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert json.dumps(a, sort_keys=True) != json.dumps(
        generate_round(300, 60, seed=8), sort_keys=True
    )


@pytest.mark.parametrize(("n_v", "n_p"), [(1, 1), (7, 2), (400, 80), (2000, 500)])
@pytest.mark.parametrize("rules", [False, True])
def test_documents_pass_the_contract(n_v: int, n_p: int, rules: bool) -> None:
    doc = generate_round(n_v, n_p, seed=3, rules=rules)
    r = parse_round(doc)
    assert len(r.volunteers) == n_v and len(r.placements) == n_p
    assert doc["volunteers"][0]["id"] == "V000001" and doc["placements"][0]["id"] == "P00001"


def test_programme_shape() -> None:
    """Nationalities lean to China, hosts are in Asia and Africa, most volunteers have
    done pre-deployment training: the South-South programme the issue describes."""
    doc = generate_round(5000, 1000, seed=1)
    nat = Counter(v["nationality"] for v in doc["volunteers"])
    assert nat.most_common(1)[0][0] == "CN" and 0.3 < nat["CN"] / 5000 < 0.5
    assert len(nat) > 15
    hosts = {p["country"] for p in doc["placements"]}
    assert {"NP", "MM", "TH", "KH", "KE"} <= hosts and "CN" not in hosts
    trained = sum("pre-deployment" in v["training"] for v in doc["volunteers"]) / 5000
    assert 0.88 < trained < 0.97
    assert all(p["sdg_targets"] for p in doc["placements"])
    assert any(v.get("preferences") for v in doc["volunteers"])
    assert any(p.get("ranking") for p in doc["placements"])


@pytest.mark.parametrize(("n_v", "n_p"), [(1000, 200), (5000, 1000)])
def test_eligibility_density_like_real_pools(n_v: int, n_p: int) -> None:
    _, pairs, _ = candidate_pairs(generate_round(n_v, n_p, seed=0))
    per_volunteer = len(pairs) / n_v
    assert 15 <= per_volunteer <= 70, per_volunteer


def test_rules_variant_only_adds_groups() -> None:
    pure = generate_round(1000, 200, seed=2)
    rules = generate_round(1000, 200, seed=2, rules=True)
    groups = Counter(v["group"] for v in rules["volunteers"] if "group" in v)
    assert len(groups) == 10 and set(groups.values()) == {2}
    for a, b in zip(pure["volunteers"], rules["volunteers"], strict=True):
        b = {k: x for k, x in b.items() if k != "group"}
        assert a == b
    assert pure["placements"] == rules["placements"]
    assert rules.get("policy", {}) == rules_policy(2)


def test_cli_writes_a_round(tmp_path: Path) -> None:
    out = tmp_path / "round.json"
    assert main(["--volunteers", "50", "--placements", "10", "--seed", "4", "--out", str(out)]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc == generate_round(50, 10, seed=4)
