"""Generate the bundled demo round (seeded, so the file is reproducible).

The story follows the programme that started volmatch: a national volunteer federation
working with UN Volunteers trains young volunteers in a pre-deployment camp (lectures on
policy, cultural customs of host countries, volunteer skills, emergency and psychological
adjustment) and sends them for 6-12 months to host-community placements offered by
volunteer-involving organisations in a dozen countries of Asia and Africa.

    python -m scenarios.demo.make_demo            # rewrites scenarios/demo/round.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "round.json"

# country -> (local languages, host partners, typical sectors, security level)
COUNTRIES: dict[str, tuple[list[str], list[str], list[str], int]] = {
    "NP": (
        ["ne"],
        ["Nepal Youth Volunteer Network", "CFPA Nepal Office"],
        ["community-development", "disaster-response", "teaching"],
        1,
    ),
    "MM": (
        ["my"],
        ["CFPA Myanmar Office", "Yangon Community Health Initiative"],
        ["public-health", "community-development", "teaching"],
        2,
    ),
    "TH": (
        ["th"],
        ["ASEAN Youth Leadership Association", "Chiang Mai Rural Schools Trust"],
        ["teaching", "ict", "youth-work"],
        0,
    ),
    "KH": (
        ["km"],
        ["MoEYS Youth Employability Programme", "Battambang Farmers Cooperative"],
        ["teaching", "agriculture", "youth-work"],
        0,
    ),
    "LA": (
        ["lo"],
        ["Lao Women's Union Vientiane", "Luang Prabang Heritage Trust"],
        ["agriculture", "community-development"],
        0,
    ),
    "LK": (
        ["si", "ta"],
        ["Sarvodaya Village Partners", "Galle Coastal Resilience Forum"],
        ["disaster-response", "water-sanitation"],
        0,
    ),
    "BD": (
        ["bn"],
        ["Dhaka Urban Health Alliance", "Sylhet Flood Preparedness Network"],
        ["public-health", "disaster-response", "water-sanitation"],
        1,
    ),
    "KE": (
        ["sw"],
        ["Nairobi Youth Enterprise Hub", "Kisumu Water Users Association"],
        ["microfinance", "water-sanitation", "ict"],
        1,
    ),
    "ET": (
        ["am"],
        ["Addis Ababa Clinics Consortium", "Tigray Highlands Farmers Union"],
        ["public-health", "agriculture", "nursing"],
        2,
    ),
    "TZ": (
        ["sw"],
        ["Dar es Salaam Schools Partnership", "Arusha Conservation Volunteers"],
        ["teaching", "agriculture", "environment"],
        0,
    ),
    "UG": (
        ["sw"],
        ["Kampala Community Health Workers", "Gulu Youth Livelihoods"],
        ["nursing", "public-health", "microfinance"],
        1,
    ),
    "SN": (
        ["fr", "wo"],
        ["Dakar Digital Skills Centre", "Saint-Louis Fisheries Cooperative"],
        ["ict", "microfinance", "environment"],
        0,
    ),
}

SECTOR_SDGS: dict[str, list[str]] = {
    "teaching": ["4.1", "4.4", "4.c"],
    "public-health": ["3.8", "3.3", "3.d"],
    "nursing": ["3.1", "3.2", "3.8"],
    "community-development": ["1.4", "11.3", "17.17"],
    "disaster-response": ["1.5", "11.5", "13.1"],
    "agriculture": ["2.3", "2.4", "1.4"],
    "water-sanitation": ["6.1", "6.2", "6.b"],
    "ict": ["9.c", "4.4", "17.8"],
    "microfinance": ["8.3", "8.10", "1.4"],
    "youth-work": ["8.6", "4.4", "17.17"],
    "environment": ["15.1", "14.2", "13.3"],
}
SECTORS = list(SECTOR_SDGS)
TITLES = {
    "teaching": "English and maths teaching assistant",
    "public-health": "Community health outreach officer",
    "nursing": "Nursing assistant, district clinic",
    "community-development": "Community development facilitator",
    "disaster-response": "Disaster risk reduction volunteer",
    "agriculture": "Smallholder farming adviser",
    "water-sanitation": "Water and sanitation project assistant",
    "ict": "Digital skills trainer",
    "microfinance": "Microfinance and savings group officer",
    "youth-work": "Youth employability coach",
    "environment": "Environmental education volunteer",
}
NATIONALITIES = [
    ("CN", 70),
    ("NP", 5),
    ("KH", 5),
    ("KE", 5),
    ("BD", 3),
    ("TH", 3),
    ("ET", 3),
    ("VN", 3),
    ("PK", 3),
]
FIRST = [
    "Li",
    "Wang",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Zhao",
    "Huang",
    "Zhou",
    "Wu",
    "Xu",
    "Sun",
    "Hu",
    "Zhu",
    "Gao",
    "Lin",
    "He",
    "Guo",
    "Ma",
    "Luo",
]
GIVEN = [
    "Wei",
    "Fang",
    "Min",
    "Jing",
    "Lei",
    "Yan",
    "Jun",
    "Hui",
    "Xin",
    "Ping",
    "Yu",
    "Ling",
    "Hao",
    "Qing",
    "Tao",
    "Na",
    "Bo",
    "Lan",
    "Rui",
    "Ying",
]
OTHER_NAMES = {
    "NP": "Sharma",
    "KH": "Sok",
    "KE": "Otieno",
    "BD": "Rahman",
    "TH": "Suksawat",
    "ET": "Bekele",
    "VN": "Nguyen",
    "PK": "Khan",
}
LEVELS = ["A1", "A2", "B1", "B2", "C1", "C2"]
CAMP_MODULES = [
    "cultural-customs",
    "emergency-response",
    "psychological-adjustment",
    "volunteer-skills",
]


def _pick_weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def _volunteer(rng: random.Random, i: int, camp_start: dt.date) -> dict[str, Any]:
    nat = _pick_weighted(rng, NATIONALITIES)
    gender = rng.choices(["female", "male", "other", "undisclosed"], [48, 46, 1, 5])[0]
    name = (
        f"{rng.choice(FIRST)} {rng.choice(GIVEN)}"
        if nat == "CN"
        else f"{rng.choice(GIVEN)} {OTHER_NAMES[nat]}"
    )
    langs: dict[str, str] = {"zh": "native"} if nat == "CN" else {"zh": rng.choice(["A2", "B1"])}
    if nat == "NP":
        langs["ne"] = "native"
    elif nat == "KH":
        langs["km"] = "native"
    elif nat in ("KE",):
        langs["sw"] = "native"
    elif nat == "BD":
        langs["bn"] = "native"
    langs["en"] = rng.choices(LEVELS[1:], [10, 30, 35, 20, 5])[0]
    if rng.random() < 0.12:
        langs["fr"] = rng.choice(["A2", "B1", "B2", "C1"])
    if rng.random() < 0.15:
        country = rng.choice(list(COUNTRIES))
        lang = COUNTRIES[country][0][0]
        langs.setdefault(lang, rng.choice(["A1", "A2", "B1", "B2"]))
    skills = {s: rng.randint(1, 5) for s in rng.sample(SECTORS, rng.randint(1, 4))}
    training = ["pre-deployment"] if rng.random() < 0.95 else []
    training += [m for m in CAMP_MODULES if rng.random() < 0.8]
    if rng.random() < 0.4:
        training.append("security")
    frm = camp_start + dt.timedelta(days=rng.randint(0, 75))
    span = frm.month - 1 + rng.choice([6, 9, 12, 12]) + rng.randint(0, 3)
    until = dt.date(frm.year + span // 12, span % 12 + 1, 1)
    birth = dt.date(rng.randint(1996, 2004), rng.randint(1, 12), rng.randint(1, 28))
    v: dict[str, Any] = {
        "id": f"V{i:03d}",
        "name": name,
        "nationality": nat,
        "gender": gender,
        "birth_date": birth.isoformat(),
        "languages": langs,
        "skills": skills,
        "training": training,
        "available_from": frm.isoformat(),
        "available_until": until.isoformat(),
        "min_months": 6,
        "max_months": rng.choice([9, 12, 12]),
        "security_clearance": rng.choices([0, 1, 2], [40, 40, 20])[0],
    }
    if rng.random() < 0.1:
        v["excluded_countries"] = rng.sample(list(COUNTRIES), 1)
    return v


def _placement(
    rng: random.Random, i: int, country: str, host: str, camp_start: dt.date, host_id: str
) -> dict[str, Any]:
    langs, _, sectors, security = COUNTRIES[country]
    sector = rng.choice(sectors)
    req_lang = {"en": rng.choice(["A2", "B1", "B1", "B2"])}
    if country == "SN":
        req_lang = {"fr": rng.choice(["B1", "B2"])}
    desired_lang = {langs[0]: rng.choice(["A1", "A2", "B1"])}
    earliest = camp_start + dt.timedelta(days=rng.randint(14, 90))
    p: dict[str, Any] = {
        "id": f"P{i:03d}",
        "host": host_id,
        "title": TITLES[sector],
        "country": country,
        "slots": rng.choices([1, 2, 3, 4], [45, 30, 15, 10])[0],
        "required_skills": {sector: rng.choice([2, 3, 3, 4])} if rng.random() < 0.6 else {},
        "desired_skills": {rng.choice(SECTORS): rng.randint(2, 4)},
        "required_languages": req_lang,
        "desired_languages": desired_lang,
        "start_earliest": earliest.isoformat(),
        "start_latest": (earliest + dt.timedelta(days=rng.choice([30, 60, 90]))).isoformat(),
        "min_months": rng.choice([6, 6, 9]),
        "max_months": 12,
        "priority": rng.choices([1, 2, 3, 4, 5], [5, 15, 40, 25, 15])[0],
        "sdg_targets": sorted({*rng.sample(SECTOR_SDGS[sector], 2), "17.6"}),
        "security_level": security if rng.random() < 0.7 else 0,
        "needs_assessment": {
            "host_partner": host,
            "beneficiaries": rng.choice([120, 300, 450, 800, 1500, 3000]),
            "counterpart": rng.choice(
                [
                    "district office",
                    "school principal",
                    "clinic head",
                    "cooperative chair",
                    "youth council",
                ]
            ),
            "assessed": (camp_start - dt.timedelta(days=rng.randint(30, 120))).isoformat(),
        },
    }
    if country == "MM" or (sector == "disaster-response" and rng.random() < 0.5):
        p["required_training"] = ["security"]
    if sector == "youth-work" and rng.random() < 0.5:
        p["age_max"] = 28
    return p


def make_round(seed: int = 2027, n_volunteers: int = 300, n_placements: int = 96) -> dict[str, Any]:
    """The demo round document as a dict."""
    rng = random.Random(seed)
    camp_start = dt.date(2027, 3, 1)
    volunteers = [_volunteer(rng, i + 1, camp_start) for i in range(n_volunteers)]
    hosts: list[tuple[str, str, str]] = []
    for country, (_, names, _, _) in COUNTRIES.items():
        for name in names:
            hosts.append((f"H{len(hosts) + 1:02d}", name, country))
    placements = []
    for i in range(n_placements):
        host_id, host_name, country = hosts[i % len(hosts)]
        placements.append(_placement(rng, i + 1, country, host_name, camp_start, host_id))
    pids = [p["id"] for p in placements]
    for v in volunteers:
        if rng.random() < 0.7:
            v["preferences"] = rng.sample(pids, rng.randint(1, 4))
    vids = [v["id"] for v in volunteers]
    for p in placements:
        if rng.random() < 0.3:
            p["ranking"] = rng.sample(vids, rng.randint(1, 3))
    policy = {"required_training": ["pre-deployment"], "international_only": True, "seed": seed}
    return {"policy": policy, "volunteers": volunteers, "placements": placements}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    doc = make_round(args.seed)
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
