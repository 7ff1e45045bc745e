"""A round compiled into arrays (`matching.compiled`): the arrays do not depend on the
order of the records and say what the records say."""

from __future__ import annotations

import copy
import dataclasses
import random

import numpy as np

from benchmarks.generate import generate_round
from volmatch.matching.compiled import Asks, compile_round
from volmatch.models import parse_round


def test_compiled_arrays_do_not_depend_on_record_order() -> None:
    d = generate_round(300, 60, seed=9, rules=True)
    d["placements"][0]["required_training"] = ["pre-deployment", "x-mod", "pre-deployment"]
    d["volunteers"][0]["training"] = ["x-mod", "x-mod"]
    shuffled = copy.deepcopy(d)
    random.Random(1).shuffle(shuffled["volunteers"])
    random.Random(2).shuffle(shuffled["placements"])
    a, b = compile_round(parse_round(d)), compile_round(parse_round(shuffled))
    for f in dataclasses.fields(a):
        if f.name in ("round", "cache"):
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, Asks):
            x, y = (x.code, x.level, x.count), (y.code, y.level, y.count)
        assert repr(x) == repr(y), f.name
    # and they say what the records say
    for i, v in enumerate(a.volunteers):
        for code, level in v.skills.items():
            assert a.skill_level[i, a.skills.index(code)] == level
        mine = a.pref_p[a.pref_v == i][np.argsort(a.pref_pos[a.pref_v == i])]
        assert [a.placement_ids[j] for j in mine] == list(v.preferences)
    for j, p in enumerate(a.placements):
        n = a.req_training.count[j]
        codes = [a.modules[c] for c in a.req_training.code[j, :n]]
        assert codes == sorted(set(p.required_training))
        n = a.req_skills.count[j]
        asked = {
            a.skills[c]: int(lv)
            for c, lv in zip(a.req_skills.code[j, :n], a.req_skills.level[j, :n], strict=True)
        }
        assert asked == dict(p.required_skills)
