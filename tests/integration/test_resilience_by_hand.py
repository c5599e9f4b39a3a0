"""Acceptance of the resilience view: a small village whose every figure was computed by
hand from RESILIENCE.md, written through the services' HTTP APIs, carried over the bus
into the aggregator, in both modes: embedded (one process, SQLite) and distributed (six
processes on real Kafka and FerretDB). The facts are in ``village_by_hand.py``.

Main month M = 2026-10: the window W is 2025-11 .. 2026-10, the 6 months of shocks and of
capacity's mentoring are 2026-05 .. 2026-10. Income pillar = total / 12 / size /
(2 x 600 000), i.e. total / (14 400 000 x size). Index = round(100 x shock x (0.25 income
+ 0.15 diversity + 0.20 digital + 0.15 capacity + 0.15 assets + 0.10 green), 1). The
village and district index_mean are the mean of the household indexes (which RESILIENCE.md
defines as already rounded to 1 decimal); pillar means are chosen so that averaging the
shown or the unrounded pillars gives the same 3 decimals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.integration.conftest import distributed_env, embedded_env
from tests.integration.village_by_hand import (
    Api,
    Village,
    Writer,
    register_ghost,
    write_history,
    write_late_sale,
)
from tests.servers import LumbungProcess, wait_for

M = "2026-10"
EARLIER = "2026-05"  # the programme's follow-up and impact two months after its start
CATCH_UP_S = 90
RULE_SET = "lumbung-2026.1"
PILLARS = ("income", "diversity", "digital", "capacity", "assets", "green")
INCOME = ("umkm", "crop", "livestock", "total", "digital")
SERVICES = ("registry", "training", "commerce", "agriculture", "livestock", "aggregator")


def figures(
    index: float, band: str, pillars: tuple[float, ...], shock: float, income: tuple[int, ...]
) -> dict[str, Any]:
    """pillars in the order of PILLARS, income in the order of INCOME."""
    return {
        "index": index,
        "band": band,
        "pillars": dict(zip(PILLARS, pillars, strict=True)),
        "shock_factor": shock,
        "income": dict(zip(INCOME, income, strict=True)),
    }


NOTHING = figures(0.0, "rentan", (0.0,) * 6, 1.0, (0,) * 5)

# --- households at M = 2026-10 ---------------------------------------------------------------
HOUSEHOLDS_M = {
    "a1": figures(
        # 100 x 1.0 x (0.25x0.91667 + 0.15x0.89256 + 0.20x0.74545 + 0.15x0.73889 + 0.15x0.625
        #              + 0.10x0.7) = 100 x 0.786725 = 78.67 -> 78.7, >= 70
        78.7,
        "tangguh",
        (
            # W: umkm 3.6M+4.5M+7.2M+2.7M+3.6M (2025-10 and 2026-11 outside) = 21.6M, crop
            # 7.2M, livestock 4 x 2.7M = 10.8M: 39.6M / 12 / 3 (PATCH 2026-06) = 1 100 000;
            # / 1 200 000 = 0.91667
            0.917,
            # shares 6/11, 2/11, 3/11: (1 - (36+4+9)/121) / (2/3) = (72/121) x 1.5 = 0.89256
            0.893,
            # digital 3.6+4.5+2.7+3.6+10.8 = 25.2M: 0.7 x 25.2/39.6 + 0.3 x min(1, 3/3)
            # (shopee, whatsapp, tokopedia) = 0.44545 + 0.3 = 0.74545
            0.745,
            # (post 80/100 + (4-1)/4 latest confidence + 2/3 visits 06-10, 10-05) / 3
            # = (0.8 + 0.75 + 0.66667) / 3 = 0.73889 (the 04-15 visit is before 2026-05)
            0.739,
            # goats 10 + 4 born - 4 sold = 10 x 0.1 = 1.0 TLU: 0.5 x 1.0/2 + 0.25 x 0.5 ha
            # + 0.25 x capital 2026-02 = 0.25 + 0.125 + 0.25
            0.625,
            # practices compost + manure_compost: 0.6 x 2/3 + 0.4 x 150/(150+50) = 0.4 + 0.3
            0.7,
        ),
        1.0,  # no shock
        (21_600_000, 7_200_000, 10_800_000, 39_600_000, 25_200_000),
    ),
    "a2": figures(
        # 100 x 0.8 x (0.25x0.10833 + 0.20x0.26154 + 0.15x0.57778 + 0.15x0.35 + 0.10x0.6)
        # = 80 x 0.278558 = 22.28 -> 22.3
        22.3,
        "rentan",
        (
            0.108,  # crop 1.2M + 6.0M + 0.6M = 7.8M / 12 / 5 = 130 000; / 1 200 000 = 0.10833
            0.0,  # one sector: 1 - 1^2 = 0
            0.262,  # 0.7 x 1.8M/7.8M + 0.3 x 1/3 (facebook) = 0.16154 + 0.1 = 0.26154
            0.578,  # (72/80 + (3-1)/4 + 1/3 visit 09-15) / 3 = (0.9 + 0.5 + 0.33333)/3
            0.35,  # 50 - 10 chickens = 0.4 TLU: 0.5 x 0.2 + 0.25 x min(1, 1.25 ha)
            0.6,  # 4 practices: 0.6 x min(1, 4/3) + 0.4 x 0/(0+100) chemical only
        ),
        0.8,  # flood 06-15 + deaths by disease 07-01 (pest 03-20 is outside): 1 - 0.1 x 2
        (0, 7_800_000, 0, 7_800_000, 1_800_000),
    ),
    "a3": figures(
        11.6,  # 100 x (0.25x0.14583 + 0.15x0.53333) = 3.6458 + 8.0 = 11.646 -> 11.6
        "rentan",
        (
            0.146,  # 1.8M + 2.4M = 4.2M / 12 / 2 = 175 000; / 1 200 000 = 0.14583
            0.0,  # one sector
            0.0,  # total > 0, nothing online: 0.7 x 0 + 0.3 x 0/3
            0.533,  # (60/100 + (5-1)/4 + 0 visits since 2026-05) / 3 = 1.6/3 = 0.53333
            0.0,
            0.0,
        ),
        1.0,
        (4_200_000, 0, 0, 4_200_000, 0),
    ),
    "a4": figures(
        9.9,  # 100 x (0.15x0.2 + 0.15x0.325 + 0.10x0.2) = 3 + 4.875 + 2 = 9.875 -> 9.9
        "rentan",
        (
            0.0,  # no sale
            0.0,
            0.0,
            0.2,  # (60/100 + no confidence 0 + no visit 0) / 3
            0.325,  # 3 - 1 cattle = 2 x 0.65 = 1.3 TLU: 0.5 x 1.3/2
            0.2,  # 0.6 x 1/3 (water_harvesting) + 0.4 x 0 (no input)
        ),
        1.0,  # a death of old age is not a shock
        (0, 0, 0, 0, 0),
    ),
    "a5": figures(
        13.8,  # 100 x (0.25x0.11458 + 0.20x0.54545) = 2.8646 + 10.9091 = 13.77 -> 13.8
        "rentan",
        (
            # batik 1.2M (late, 2025-12) + 1.2M + 1.8M + 2.4M = 6.6M (2025-09 and the kios
            # sale of 2025-10 are outside W) / 12 / 4 = 137 500; / 1 200 000 = 0.11458
            0.115,
            0.0,  # one sector
            0.545,  # 0.7 x 4.2M/6.6M + 0.3 x 1/3 (instagram) = 0.44545 + 0.1 = 0.54545
            0.0,  # not enrolled
            0.0,  # capital 2025-10-25 is outside W
            0.0,
        ),
        1.0,
        (6_600_000, 0, 0, 6_600_000, 4_200_000),
    ),
    "a6": NOTHING,  # registered, no fact at all
    "a7": NOTHING,  # enrolled and a pre test only: u = c = m = 0, no sale
    "b2": figures(
        # 100 x (0.25x0.45833 + 0.15x0.35331 + 0.20x0.48636 + 0.15x0.4 + 0.10x0.8)
        # = 11.4583 + 5.2996 + 9.7273 + 6 + 8 = 40.49 -> 40.5, from 40 to below 70
        40.5,
        "berkembang",
        (
            0.458,  # crop 1.8M+3.6M+6.0M = 11.4M, ducks 1.8M: 13.2M / 12 / 2 = 550 000 / 1.2M
            0.353,  # shares 19/22, 3/22: (1 - (361+9)/484) x 1.5 = (114/484) x 1.5 = 0.35331
            0.486,  # 0.7 x 5.4M/13.2M + 0.3 x 2/3 (whatsapp, tiktok_shop) = 0.28636 + 0.2
            0.0,
            0.4,  # 100 - 20 ducks = 0.8 TLU: 0.5 x 0.8/2 + 0.25 x 0.8 ha = 0.2 + 0.2
            0.8,  # cover_crop + manure_compost: 0.6 x 2/3 + 0.4 x 200/200 = 0.4 + 0.4
        ),
        1.0,
        (0, 11_400_000, 1_800_000, 13_200_000, 5_400_000),
    ),
    "b3": NOTHING,
}

# --- households at 2026-05: W = 2025-06 .. 2026-05, 6 months = 2025-12 .. 2026-05 -------------
HOUSEHOLDS_EARLIER = {
    "a1": figures(
        # 100 x (0.25x0.34375 + 0.20x0.64545 + 0.15x0.46111 + 0.15x0.725 + 0.10x0.5)
        # = 8.5938 + 12.9091 + 6.9167 + 10.875 + 5 = 44.29 -> 44.3
        44.3,
        "berkembang",
        (
            # umkm 1.8M+3.6M+4.5M+7.2M+2.7M = 19.8M / 12 / 4 (the PATCH to 3 is 2026-06)
            # = 412 500; / 1 200 000 = 0.34375
            0.344,
            0.0,  # crop (07) and livestock (09) come later: one sector
            0.645,  # 0.7 x 12.6M/19.8M + 0.3 x 2/3 (shopee, whatsapp) = 0.44545 + 0.2
            0.461,  # (0.8 + (2-1)/4 confidence of 03-12 + 1/3 visit 04-15) / 3 = 1.38333/3
            0.725,  # 10 + 4 goats = 1.4 TLU: 0.5 x 0.7 + 0.125 land + 0.25 capital
            0.5,  # compost only (manure 06-05 later): 0.6 x 1/3 + 0.4 x 0.75
        ),
        1.0,
        (19_800_000, 0, 0, 19_800_000, 12_600_000),
    ),
    "a2": figures(
        # 100 x 0.9 x (0.25x0.01667 + 0.20x0.8 + 0.15x0.46667 + 0.15x0.375 + 0.10x0.6)
        # = 90 x 0.350417 = 31.54 -> 31.5
        31.5,
        "rentan",
        (
            0.017,  # 1.2M / 12 / 5 = 20 000; / 1 200 000 = 0.01667
            0.0,
            0.8,  # all online: 0.7 x 1 + 0.3 x 1/3
            0.467,  # (0.9 + 0.5 + 0 visits yet) / 3 = 0.46667
            0.375,  # 50 chickens = 0.5 TLU: 0.5 x 0.25 + 0.25 land
            0.6,  # IPM, rotation, intercropping 05-05: 0.6 x 3/3 + 0.4 x 0
        ),
        0.9,  # pest 2026-03-20 is now inside the 6 months; the others come later
        (0, 1_200_000, 0, 1_200_000, 1_200_000),
    ),
}

# a1 in 2026-11: its sale of 2026-11-05 (after M) has arrived; W = 2025-12 .. 2026-11
A1_INCOME_NOVEMBER = {
    "umkm": 23_700_000,  # 3.6M + 4.5M + 7.2M + 2.7M + 3.6M + 2.1M
    "crop": 7_200_000,
    "livestock": 10_800_000,
    "total": 41_700_000,
    "digital": 27_300_000,  # 3.6M + 4.5M + 2.7M + 3.6M + 2.1M + 10.8M
}

# the ghost once registered (2 members): 10M online 2026-05, a flood 2026-06-01
GHOST_M = figures(
    22.2,  # 100 x 0.9 x (0.25 x 0.34722 + 0.20 x 0.8) = 90 x 0.246806 = 22.21 -> 22.2
    "rentan",
    (
        0.347,  # 10M / 12 / 2 = 416 667; / 1 200 000 = 0.34722
        0.0,
        0.8,  # 0.7 x 1 + 0.3 x 1/3
        0.0,
        0.0,
        0.0,
    ),
    0.9,  # one crop loss in the 6 months
    (10_000_000, 0, 0, 10_000_000, 10_000_000),
)


def village_a(v: Village) -> dict[str, Any]:
    return {
        "village_code": v.a,
        "as_of": M,
        "households_registered": 7,  # a1..a7 (the ghost is not registered)
        "households_with_data": 6,  # a6 has no fact
        "coverage": 0.857,  # 6/7 = 0.85714
        "index_mean": 22.7,  # (78.7 + 22.3 + 11.6 + 9.9 + 13.8 + 0.0) / 6 = 136.3/6 = 22.717
        "band": "rentan",
        "bands": {"rentan": 5, "berkembang": 0, "tangguh": 1},  # a2 a3 a4 a5 a7 | a1
        "pillars": {
            "income": 0.214,  # (0.917 + 0.108 + 0.146 + 0 + 0.115 + 0) / 6 = 1.286/6 = 0.2143
            "diversity": 0.149,  # 0.893 / 6 = 0.14883
            "digital": 0.259,  # (0.745 + 0.262 + 0.545) / 6 = 1.552/6 = 0.25867
            "capacity": 0.342,  # (0.739 + 0.578 + 0.533 + 0.2) / 6 = 2.05/6 = 0.34167
            "assets": 0.217,  # (0.625 + 0.35 + 0.325) / 6 = 1.3/6 = 0.21667
            "green": 0.25,  # (0.7 + 0.6 + 0.2) / 6 = 1.5/6
        },
        "income": {
            "umkm": 32_400_000,  # a1 21.6M + a3 4.2M + a5 6.6M (not the ghost's 10M)
            "crop": 15_000_000,  # a1 7.2M + a2 7.8M
            "livestock": 10_800_000,  # a1
            "total": 58_200_000,
            "digital": 31_200_000,  # a1 25.2M + a2 1.8M + a5 4.2M
        },
        "digital_share": 0.536,  # 31.2M / 58.2M = 0.53608
        "umkm_active": 3,  # keripik, warung, batik (kios sold only in 2025-10)
        "green_adoption_rate": 0.5,  # a1, a2, a4 of 6
        "training": {
            "participants": 5,  # a1 a2 a3 a4 a7
            # N-gains a1 (80-50)/50 = 0.6, a2 (90-75)/25 = 0.6, a3 (60-40)/60 = 0.33333,
            # a4 (60-50)/50 = 0.2 (a7 has no post): 1.73333 / 4 = 0.43333
            "mean_ngain": 0.433,
            "stages": {"0": 1, "1": 1, "2": 1, "3": 1, "4": 1},  # a7 a4 a3 a2 a1
        },
        "idm": None,  # no IDM document imported for this village
        "rule_set": RULE_SET,
    }


def village_b(v: Village) -> dict[str, Any]:
    b2 = HOUSEHOLDS_M["b2"]
    return {
        "village_code": v.b,
        "as_of": M,
        "households_registered": 2,
        "households_with_data": 1,  # b3 has no fact
        "coverage": 0.5,
        "index_mean": 40.5,  # b2 alone
        "band": "berkembang",
        "bands": {"rentan": 0, "berkembang": 1, "tangguh": 0},
        "pillars": b2["pillars"],
        "income": b2["income"],
        "digital_share": 0.409,  # 5.4M / 13.2M = 0.40909
        "umkm_active": 0,
        "green_adoption_rate": 1.0,
        "training": {
            "participants": 0,  # the programme runs in B too, but nobody of B enrolled
            "mean_ngain": None,
            "stages": {"0": 0, "1": 0, "2": 0, "3": 0, "4": 0},
        },
        "idm": None,
        "rule_set": RULE_SET,
    }


def district(v: Village) -> dict[str, Any]:
    return {
        "district_code": v.district,
        "as_of": M,
        # over all 7 households with data, not the mean of the village means (31.6):
        # (136.3 + 40.5) / 7 = 176.8/7 = 25.257 (a mean of the unrounded indexes would
        # give 25.248 -> 25.2: RESILIENCE.md's index is the rounded one)
        "index_mean": 25.3,
        "band": "rentan",
        "households_with_data": 7,
        "villages": [
            {
                "village_code": v.a,
                "name": "Desa Hitung",
                "index_mean": 22.7,
                "band": "rentan",
                "coverage": 0.857,
                "households_with_data": 6,
            },
            {
                "village_code": v.b,
                "name": "Desa Tangan",
                "index_mean": 40.5,
                "band": "berkembang",
                "coverage": 0.5,
                "households_with_data": 1,
            },
        ],
        "rule_set": RULE_SET,
    }


# Stages: a1 online after the start 03-20, then 05 and 08: 3 months of 03..08 -> 4 (by 2026-05
# only 03 and 05 -> 3). a2 online 04-10 and 10-02: one month of 04..09 -> 3. a3 post 60% < 70
# but N-gain 1/3 >= 0.3 -> 2. a4 attended, post 60%, N-gain 0.2 -> 1. a7 enrolled only -> 0.
# Follow-up: stage < 4, end 2026-03-12 before the first day of M, no visit in M or M-1.
PARTICIPANTS = {
    M: [
        ("a1", 4, "berkelanjutan", False),  # stage 4
        ("a2", 3, "berjualan_online", False),  # visited 2026-09-15 (M-1)
        ("a3", 2, "paham", True),  # last visit 2026-04-20
        ("a4", 1, "dilatih", True),
        ("a7", 0, "terdaftar", True),
    ],
    EARLIER: [
        ("a1", 3, "berjualan_online", False),  # visited 2026-04-15 (M-1)
        ("a2", 3, "berjualan_online", True),  # no visit yet
        ("a3", 2, "paham", False),  # visited 2026-04-20 (M-1)
        ("a4", 1, "dilatih", True),
        ("a7", 0, "terdaftar", True),
    ],
}
FOLLOW_UPS_A = {
    M: [("a3", 2, "2026-04-20"), ("a4", 1, None), ("a7", 0, None)],
    EARLIER: [("a2", 3, None), ("a4", 1, None), ("a7", 0, None)],
}

# Impact: S = 2026-03; before = 2025-09 .. 2026-02 (6 months). Participants a1 a2 a3 a4 a7;
# comparison a5 a6 b2 b3 (registered in A or B, not enrolled; not the unregistered ghost).
# Online sales before: a1 1.8M (2025-10) + 3.6M = 5.4M / 6 = 900 000; a5 1.2M (2025-09)
# + 1.2M (late, 2025-12) + 1.2M = 3.6M / 6 = 600 000; b2 1.8M / 6 = 300 000; others 0.
IMPACT = {
    M: {
        "participants": 5,
        "comparison": 4,
        "before_participants": 180_000,  # 900 000 / 5
        # after = 2026-04 .. 2026-09: a1 (2.7M + 3.6M + 10.8M) / 6 = 2 850 000,
        # a2 1.2M / 6 = 200 000 (its 10-02 sale is after S+6): 3 050 000 / 5
        "after_participants": 610_000,
        "before_comparison": 225_000,  # (600 000 + 300 000) / 4
        "after_comparison": 225_000,  # (a5 1.8M/6 = 300 000 + b2 3.6M/6 = 600 000) / 4
        "did": 430_000,  # (610 000 - 180 000) - (225 000 - 225 000)
        "months_after": 6,
    },
    EARLIER: {
        "participants": 5,
        "comparison": 4,
        "before_participants": 180_000,
        # after = 2026-04 .. 2026-05: a1 2.7M / 2 = 1 350 000, a2 1.2M / 2 = 600 000
        "after_participants": 390_000,  # 1 950 000 / 5
        "before_comparison": 225_000,
        "after_comparison": 225_000,  # a5 1.8M / 2 = 900 000, others 0: 900 000 / 4
        "did": 210_000,  # (390 000 - 180 000) - 0
        "months_after": 2,
    },
}

# Trend of A up to 2026-01, months 2025-11, 2025-12, 2026-01 (each month its own W; the
# household sums below are the index / 100):
# 2025-11: a1 (sale 2025-10-15), a4 (cattle 2025-06), a5 (batik 2025-09) have data.
#   a1: 0.25 x (1.8M/14.4M/4 = 0.03125) + 0.20 x (0.7 + 0.3/3) + 0.15 x 0.125 (0.5 ha)
#       = 0.0078 + 0.16 + 0.01875 = 18.66 -> 18.7
#   a4: 0.15 x 0.5 x 1.95/2 (3 cattle) = 7.31 -> 7.3
#   a5: 0.25 x (batik 1.2M + kios 0.6M = 1.8M/14.4M/4) + 0.20 x (0.7 x 1.2/1.8 + 0.1)
#       + 0.15 x 0.25 (capital 2025-10) = 0.0078 + 0.11333 + 0.0375 = 15.86 -> 15.9
#   (18.7 + 7.3 + 15.9) / 3 = 13.967 -> 14.0 (the unrounded indexes would give 13.9)
# 2025-12: a2 (herd 2025-12-01): 0.15 x (0.5 x 0.5/2 + 0.25 x 1) = 5.625 -> 5.6
#   a5 before the late sale: 15.9 -> (18.7+5.6+7.3+15.9)/4 = 47.5/4 = 11.875 -> 11.9
#   a5 with it: 0.25 x (3.0M/14.4M/4) + 0.20 x (0.7 x 2.4/3.0 + 0.1) + 0.0375
#       = 0.01302 + 0.132 + 0.0375 = 18.25 -> 18.3;  (18.7+5.6+7.3+18.3)/4 = 12.475 -> 12.5
# 2026-01: a1 + 10 goats and compost: 0.0078 + 0.16 + 0.15 x 0.375 + 0.10 x 0.2 = 24.4
#   a2 + IPM: 5.625 + 2 = 7.6; a3 (warung 2026-01): 0.25 x 1.8M/14.4M/2 = 1.5625 -> 1.6
#   a5 before the late sale = its 2025-12 with it: 18.3 -> 59.2/5 = 11.84 -> 11.8
#   a5 with it: 0.25 x 4.2M/57.6M + 0.20 x (0.7 x 3.6/4.2 + 0.1) + 0.0375 = 19.57 -> 19.6
#       (24.4 + 7.6 + 1.6 + 7.3 + 19.6) / 5 = 60.5/5 = 12.1
TREND_BEFORE_LATE = [("2025-11", 14.0, 3), ("2025-12", 11.9, 4), ("2026-01", 11.8, 5)]
TREND = [("2025-11", 14.0, 3), ("2025-12", 12.5, 4), ("2026-01", 12.1, 5)]

# village A income in 2026-10 before a5's late sale of 2025-12 (1 200 000 online)
INCOME_A_BEFORE_LATE = {
    "umkm": 31_200_000,
    "crop": 15_000_000,
    "livestock": 10_800_000,
    "total": 57_000_000,
    "digital": 30_000_000,
}


# --- reading the answers ----------------------------------------------------------------------
class Reader:
    def __init__(self, api: Api, village: Village) -> None:
        self.url = api.resilience
        self.v = village
        self.client = httpx.Client(headers=village.headers(), timeout=30)

    def get(self, path: str, **params: Any) -> Any:
        r = self.client.get(f"{self.url}/resilience{path}", params=params)
        return r.json() if r.status_code == 200 else (r.status_code, r.text)

    def household(self, name: str, as_of: str) -> Any:
        answer = self.get(f"/households/{self.v.hh(name)}", as_of=as_of)
        if isinstance(answer, dict):
            answer.pop("explain", None)  # not part of API.md's answer
        return answer

    def trend(self, as_of: str, months: int) -> Any:
        return self.get(f"/villages/{self.v.a}/trend", as_of=as_of, months=months)

    def sorted_items(self, path: str, as_of: str) -> Any:
        answer = self.get(path, as_of=as_of)
        if isinstance(answer, dict):
            answer["items"].sort(key=lambda i: (i["household_id"], i.get("program_id", "")))
        return answer

    def final(self) -> dict[str, Any]:
        v = self.v
        got: dict[str, Any] = {}
        for name in HOUSEHOLDS_M:
            got[f"household {name} {M}"] = self.household(name, M)
        for name in HOUSEHOLDS_EARLIER:
            got[f"household {name} {EARLIER}"] = self.household(name, EARLIER)
        november = self.household("a1", "2026-11")
        got["a1 income 2026-11"] = november.get("income") if isinstance(november, dict) else None
        got["village A"] = self.get(f"/villages/{v.a}", as_of=M)
        got["village B"] = self.get(f"/villages/{v.b}", as_of=M)
        got["district"] = self.get(f"/districts/{v.district}", as_of=M)
        for month in (M, EARLIER):
            got[f"follow-ups A {month}"] = self.sorted_items(f"/villages/{v.a}/follow-ups", month)
            path = f"/programs/{v.program}/participants"
            got[f"participants {month}"] = self.sorted_items(path, month)
            got[f"impact {month}"] = self.get(f"/programs/{v.program}/impact", as_of=month)
        got["follow-ups B"] = self.get(f"/villages/{v.b}/follow-ups", as_of=M)
        got["trend 2026-01"] = self.trend("2026-01", 3)
        got["trend 2026-10"] = self.trend(M, 1)
        return got


def household_answer(v: Village, name: str, as_of: str, fig: dict) -> dict[str, Any]:
    ids = {"household_id": v.hh(name), "village_code": v.village_of(name), "as_of": as_of}
    return {**ids, **fig, "rule_set": RULE_SET}


def trend_items(rows: list[tuple[str, float, int]]) -> dict[str, Any]:
    return {
        "items": [
            {"month": m, "index_mean": mean, "households_with_data": n} for m, mean, n in rows
        ]
    }


def expected_final(v: Village) -> dict[str, Any]:
    want: dict[str, Any] = {}
    for name, fig in HOUSEHOLDS_M.items():
        want[f"household {name} {M}"] = household_answer(v, name, M, fig)
    for name, fig in HOUSEHOLDS_EARLIER.items():
        want[f"household {name} {EARLIER}"] = household_answer(v, name, EARLIER, fig)
    want["a1 income 2026-11"] = A1_INCOME_NOVEMBER
    want["village A"] = village_a(v)
    want["village B"] = village_b(v)
    want["district"] = district(v)
    for month in (M, EARLIER):
        want[f"follow-ups A {month}"] = {
            "items": [
                {
                    "household_id": v.hh(n),
                    "program_id": v.program,
                    "stage": s,
                    "last_mentoring_on": d,
                }
                for n, s, d in FOLLOW_UPS_A[month]
            ]
        }
        want[f"participants {month}"] = {
            "items": [
                {"household_id": v.hh(n), "stage": s, "stage_name": sn, "needs_follow_up": f}
                for n, s, sn, f in PARTICIPANTS[month]
            ]
        }
        want[f"impact {month}"] = {"program_id": v.program, **IMPACT[month]}
    want["follow-ups B"] = {"items": []}
    want["trend 2026-01"] = trend_items(TREND)
    want["trend 2026-10"] = trend_items([(M, 22.7, 6)])
    return want


# --- the platform in each mode ----------------------------------------------------------------
def start_embedded(processes: Callable[..., LumbungProcess], tmp_path: Path) -> Api:
    platform = processes("services", embedded_env(tmp_path / "data"), "embedded")
    return Api.one(platform.url)


def start_distributed(
    processes: Callable[..., LumbungProcess], request: pytest.FixtureRequest, unique: str
) -> Api:
    kafka = request.getfixturevalue("kafka_bootstrap")
    mongo = request.getfixturevalue("mongo_url")
    env = distributed_env(kafka, mongo, unique)
    with ThreadPoolExecutor(len(SERVICES)) as pool:  # six start-ups of a few seconds each
        started = pool.map(lambda name: processes(f"services.{name}", env, name), SERVICES)
        urls = {name: proc.url for name, proc in zip(SERVICES, started, strict=True)}
    return Api(
        registry=urls["registry"],
        training=urls["training"],
        commerce=urls["commerce"],
        agriculture=urls["agriculture"],
        livestock=urls["livestock"],
        resilience=urls["aggregator"],
    )


def caught_up(read: Callable[[], Any], expected: Any, what: str) -> Any:
    """Poll until the aggregator has caught up, or time out; the last answer, to assert on."""
    last: list[Any] = [None]

    def matches() -> bool:
        last[0] = read()
        return last[0] == expected

    with contextlib.suppress(AssertionError):  # the caller's assert shows what differs
        wait_for(matches, CATCH_UP_S, interval_s=0.5, what=what)
    return last[0]


@pytest.mark.parametrize("mode", ["embedded", "distributed"])
def test_every_figure_of_a_village_computed_by_hand(
    mode: str,
    processes: Callable[..., LumbungProcess],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    unique: str,
) -> None:
    if mode == "embedded":
        api = start_embedded(processes, tmp_path)
    else:
        api = start_distributed(processes, request, unique)
    v = Village.fresh(unique)
    writer, reader = Writer(api, v), Reader(api, v)
    try:
        write_history(writer)

        # 1. the view has computed its months without a5's sale of 2025-12
        def before_late() -> tuple[Any, Any]:
            village = reader.get(f"/villages/{v.a}", as_of=M)
            income = village.get("income") if isinstance(village, dict) else village
            return reader.trend("2026-01", 3), income

        first_pass = (trend_items(TREND_BEFORE_LATE), INCOME_A_BEFORE_LATE)
        assert caught_up(before_late, first_pass, "the first pass") == first_pass

        # 2. the late fact lands in its old month and every later month is recomputed
        write_late_sale(writer)
        want = expected_final(v)
        got = caught_up(reader.final, want, "every figure")
        for key, expected in want.items():
            assert got[key] == expected, key

        # 3. the ghost never counted, yet its facts were kept: registered now, they count
        assert reader.get(f"/households/{v.hh('ghost')}", as_of=M)[0] == 404
        register_ghost(writer)
        ghost = household_answer(v, "ghost", M, GHOST_M)
        assert caught_up(lambda: reader.household("ghost", M), ghost, "the ghost") == ghost
    finally:
        writer.close()
        reader.client.close()
