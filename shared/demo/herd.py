"""Livestock: herds, births, sales before Idul Adha, vaccinations, compost, and two shocks.

The cattle disease outbreak: Lumpy Skin Disease reaches the outbreak village in March 2024;
most cattle keepers report cases, some lose animals (cause ``disease``), and a vaccination
round follows in May. The January 2024 flood drowns poultry in the flood village.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from shared.demo import calendar as cal
from shared.demo.calendar import Month
from shared.demo.farm import FLOOD_MONTH, green_start
from shared.demo.home import Home

OUTBREAK_MONTHS: tuple[Month, ...] = ((2024, 3), (2024, 4))
OUTBREAK_DISEASE = "Lumpy Skin Disease (LSD)"
# The month before Idul Adha, when most cattle and goats change hands.
QURBAN: dict[int, int] = {2023: 6, 2024: 6, 2025: 5, 2026: 5}


@dataclass(frozen=True)
class Species:
    name: str
    heads: tuple[int, int]
    price: tuple[int, int]
    births_per_year: int
    vaccine: str | None


SPECIES = {
    s.name: s
    for s in (
        Species("cattle", (1, 5), (16_000_000, 23_000_000), 1, "Vaksin PMK"),
        Species("goat", (3, 10), (2_500_000, 4_000_000), 1, "Vaksin PMK"),
        Species("chicken", (10, 30), (60_000, 90_000), 0, "Vaksin ND"),
        Species("duck", (8, 20), (50_000, 70_000), 0, None),
    )
}
KEEPERS = {  # archetype -> (species, share of households keeping it)
    "livestock": (("cattle", 0.7), ("goat", 0.45), ("chicken", 0.3)),
    "farming": (("chicken", 0.6), ("duck", 0.2), ("goat", 0.2), ("cattle", 0.1)),
    "umkm": (("chicken", 0.5), ("goat", 0.15)),
    "mixed": (("chicken", 0.5), ("goat", 0.35), ("cattle", 0.3)),
}


def species_of(home: Home, rng: random.Random) -> list[str]:
    kept = [name for name, share in KEEPERS[home.village.archetype] if rng.random() < share]
    return kept or [KEEPERS[home.village.archetype][0][0]]


def ranch(home: Home) -> None:
    rng = home.rng("livestock")
    greener = green_start(home, rng)
    for name in species_of(home, rng):
        _Herd(home, random.Random(f"{rng.random()}/{name}"), SPECIES[name]).live(greener)


class _Herd:
    """One herd's story; the head count follows the story, recorded up to today or not."""

    def __init__(self, home: Home, rng: random.Random, kind: Species) -> None:
        self.home, self.rng, self.kind = home, rng, kind
        self.herd_id = home.id("herd", f"-{kind.name}")
        self.count = rng.randint(*kind.heads)
        self.refs = {"herd_id": self.herd_id, "household_id": home.household_id}
        home.write(
            "/livestock/herds",
            "herd_registered",
            {
                "household_id": home.household_id,
                "village_code": home.code,
                "species": kind.name,
                "count": self.count,
                "herd_id": self.herd_id,
                "occurred_on": home.clock.day(rng, cal.START, 1, 15),
            },
        )

    def fact(
        self, what: str, event: str, month: Month, body: dict[str, object], lo: int = 1
    ) -> None:
        day = self.home.clock.day(self.rng, month, lo)
        heads = body.get("count")
        if isinstance(heads, int) and event == "animals_born":
            self.count += heads
        elif isinstance(heads, int) and event in ("animals_died", "livestock_sold"):
            self.count -= heads
        if day is not None:
            self.home.write(
                f"/livestock/herds/{self.herd_id}/{what}",
                event,
                {**body, "occurred_on": day},
                **self.refs,
                species=self.kind.name,
            )

    def live(self, greener: Month) -> None:
        rng, kind = self.rng, self.kind
        composting = kind.name in ("cattle", "goat") and rng.random() < 0.7
        for month in self.home.clock.months():
            rolls = [rng.random() for _ in range(6)]
            price = int(round(rng.uniform(*kind.price) * (1 + 0.04 * cal.number(month) / 12), -3))
            self.shocks(month, rolls[0])
            if kind.births_per_year and rolls[1] < kind.births_per_year / 12 and self.count >= 2:
                self.fact("births", "animals_born", month, {"count": 1 + (rolls[2] < 0.3)})
            sold = _sale_size(kind, month, rolls[3], self.count)
            if sold:
                digital = self.home.may_sell_online and month >= (2024, 6) and rolls[4] < 0.12
                channel = "market" if rolls[4] > 0.6 else "middleman"
                if digital:
                    channel = "whatsapp" if rolls[2] < 0.6 else "facebook"
                self.fact(
                    "sales",
                    "livestock_sold",
                    month,
                    {"count": sold, "price_per_head": price, "channel": channel},
                )
            if kind.vaccine and month[1] == 5 and rolls[5] < 0.2 and self.count > 0:
                self.vaccinate(month, kind.vaccine)
            if composting and month >= greener and month[1] % 6 == 0 and self.count > 0:
                kg = round(self.count * (80 + 80 * rolls[5]), 1)
                self.fact("compost", "manure_composted", month, {"kg": kg})

    def vaccinate(self, month: Month, vaccine: str) -> None:
        body = {"vaccine": vaccine, "count": self.count}
        self.fact("vaccinations", "vaccination_recorded", month, body)

    def shocks(self, month: Month, roll: float) -> None:
        village, name = self.home.village, self.kind.name
        if village.outbreak and name == "cattle" and self.count > 0:
            if month == OUTBREAK_MONTHS[0] and roll < 0.7:
                cases = min(self.count, 1 + int(roll * 4))
                body = {"disease": OUTBREAK_DISEASE, "cases": cases}
                self.fact("disease-reports", "disease_reported", month, body)
            if month == OUTBREAK_MONTHS[1] and roll < 0.35:
                self.fact("deaths", "animals_died", month, {"count": 1, "cause": "disease"})
            if month == (2024, 5):
                self.vaccinate(month, "Vaksin LSD")
        flooded = village.flood and name in ("chicken", "duck") and month == FLOOD_MONTH
        if flooded and roll < 0.5 and self.count > 2:
            body = {"count": max(1, self.count // 3), "cause": "disaster"}
            self.fact("deaths", "animals_died", month, body, lo=8)


def _sale_size(kind: Species, month: Month, roll: float, count: int) -> int:
    if count <= 1:
        return 0
    if kind.name in ("cattle", "goat"):
        if QURBAN.get(month[0]) == month[1] and roll < 0.6:
            return min(count - 1, 1 + int(roll * 3))
        return 1 if kind.name == "goat" and roll > 0.93 else 0
    if month[1] % 6 == 0 and roll < 0.5:
        return min(count - 1, 4 + int(roll * 10))
    return 0
