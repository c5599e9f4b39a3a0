"""Agriculture: a plot, its seasons (planting, harvest, sale), inputs, losses, green practices.

Shocks: the 2023 El Niño dry season cuts some harvests; the flood of January 2024 destroys
most standing crops in the flood village. Green practices spread: each household has a
month from which it farms greener (earlier where the village leans on farming), often
right after an extension visit; organic inputs follow.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from shared.demo import calendar as cal
from shared.demo.calendar import Month
from shared.demo.home import Home

FLOOD_MONTH: Month = (2024, 1)
DROUGHT_MONTHS: tuple[Month, ...] = ((2023, 8), (2023, 9), (2023, 10))


@dataclass(frozen=True)
class Crop:
    name: str
    seasons: tuple[tuple[int, int], ...]  # (planting month, months until harvest)
    tonnes_per_ha: tuple[float, float]
    price_per_kg: tuple[int, int]
    agrovoc: str | None = None


CROPS = {
    c.name: c
    for c in (
        Crop("padi", ((4, 4), (11, 4)), (4.8, 6.2), (5600, 6800), "c_6599"),
        Crop("jagung", ((4, 3), (11, 3)), (5.0, 7.0), (4200, 5200)),
        Crop("cabai rawit", ((3, 4),), (6.0, 9.0), (25000, 55000)),
        Crop("bawang merah", ((5, 2),), (9.0, 11.0), (18000, 32000)),
        Crop("singkong", ((10, 9),), (18.0, 25.0), (1200, 1800)),
        Crop("kacang tanah", ((5, 3),), (1.5, 2.2), (14000, 20000)),
    )
}
MAIN_CROPS = {
    "farming": (("padi", 0.7), ("cabai rawit", 0.1), ("bawang merah", 0.1), ("jagung", 0.1)),
    "livestock": (("jagung", 0.5), ("singkong", 0.3), ("padi", 0.2)),
    "umkm": (("singkong", 0.4), ("padi", 0.3), ("kacang tanah", 0.3)),
    "mixed": (("padi", 0.5), ("jagung", 0.3), ("kacang tanah", 0.2)),
}
GREEN_LEAN = {"farming": 0.65, "mixed": 0.5, "livestock": 0.45, "umkm": 0.3}
PRACTICES = (
    "compost",
    "organic_fertilizer",
    "integrated_pest_management",
    "crop_rotation",
    "intercropping",
    "water_harvesting",
    "agroforestry",
    "biochar",
    "cover_crop",
)
OFFLINE = (("middleman", 0.45), ("cooperative", 0.15), ("market", 0.15), ("bumdes", 0.1))
VISITS = (
    ("Pembuatan kompos dari jerami", "Cacah jerami, campur kotoran ternak dan dekomposer."),
    ("Pengendalian hama terpadu", "Pasang perangkap lampu dan tanam refugia di pematang."),
    ("Pupuk organik cair", "Fermentasi urin ternak 14 hari, semprot 2 kali seminggu."),
    ("Rotasi tanaman", "Selingi padi dengan kacang-kacangan pada musim kemarau."),
)


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights)[0]


def green_start(home: Home, rng: random.Random) -> Month:
    """The month from which the household farms (or keeps animals) greener."""
    lean = min(0.95, max(0.05, GREEN_LEAN[home.village.archetype] + rng.uniform(-0.3, 0.3)))
    offset = 8 + int((1 - lean) * 34 + rng.gauss(0, 6))
    return cal.add(cal.START, max(2, offset))


def farm(home: Home) -> None:
    rng = home.rng("agriculture")
    crop = CROPS[pick(rng, MAIN_CROPS[home.village.archetype])]
    area = round(min(2.0, max(0.1, rng.lognormvariate(-1.0, 0.5))), 2)
    plot_id = home.id("plot")
    registered = home.clock.day(rng, cal.START, 1, 15)
    home.write(
        "/agriculture/plots",
        "plot_registered",
        {
            "household_id": home.household_id,
            "village_code": home.code,
            "area_ha": area,
            "land_status": pick(
                rng, (("owned", 0.55), ("rented", 0.2), ("sharecropped", 0.2), ("communal", 0.05))
            ),
            "plot_id": plot_id,
            "occurred_on": registered,
        },
    )
    greener = green_start(home, rng)
    _practices(home, rng, greener)
    for year in range(cal.START[0] - 1, home.clock.last[0] + 1):
        for plant_month, grow in crop.seasons:
            _season(home, rng, crop, plot_id, area, (year, plant_month), grow, greener)


def _season(
    home: Home,
    rng: random.Random,
    crop: Crop,
    plot_id: str,
    area: float,
    planted: Month,
    grow: int,
    greener: Month,
) -> None:
    harvested = cal.add(planted, grow)
    if harvested < cal.START:
        return
    plot = f"/agriculture/plots/{plot_id}"
    refs = {"plot_id": plot_id, "household_id": home.household_id}
    # Draw every number of the season first, so that what today allows never shifts them.
    rolls = [rng.random() for _ in range(6)]
    expected = area * 1000 * rng.uniform(*crop.tonnes_per_ha)
    plant_day = home.clock.day(rng, planted) if planted >= cal.START else None
    input_day = home.clock.day(rng, cal.add(planted, 1) if grow > 2 else planted)
    harvest_day = home.clock.day(rng, harvested)
    sale_day = home.clock.day(rng, cal.add(harvested, 1) if rolls[4] < 0.3 else harvested)
    loss_share, cause, loss_month = _loss(home, rng, rolls[5], planted, harvested)
    price = rng.uniform(*crop.price_per_kg) * (1 + 0.04 * home.clock.years(harvested))
    sold_share = rng.uniform(0.6, 0.9)
    organic = rng.random() < (0.65 if harvested >= greener else 0.1)
    days_in_loss = home.clock.day(rng, loss_month, 8, 14) if loss_month else None

    if plant_day is not None and rolls[0] < 0.12:
        home.write(
            f"{plot}/plantings",
            "crop_planted",
            {"crop": crop.name, "agrovoc": crop.agrovoc, "area_ha": area, "occurred_on": plant_day},
            **refs,
        )
    if planted >= cal.START and rolls[1] < 0.35:
        kind, per_ha = ("organic_fertilizer", 1200) if organic else ("chemical_fertilizer", 230)
        home.fact(
            "/agriculture/inputs",
            "input_applied",
            input_day,
            {"input_type": kind, "kg": round(area * per_ha * rng.uniform(0.7, 1.3), 1)},
        )
    if cause is not None:
        home.fact(
            "/agriculture/losses",
            "crop_loss_reported",
            days_in_loss,
            {"crop": crop.name, "cause": cause, "kg_lost": round(expected * loss_share)},
        )
    kept = expected * (1 - loss_share)
    if kept < expected * 0.1:
        return
    if harvest_day is not None and rolls[2] < 0.25:
        home.write(
            f"{plot}/harvests",
            "harvest_recorded",
            {"crop": crop.name, "kg": round(kept), "occurred_on": harvest_day},
            **refs,
        )
    # Selling produce in WhatsApp groups spreads from mid-2024 (a few percent a year).
    online_share = max(0.0, 0.08 * (cal.number(harvested) - cal.number((2024, 6))) / 12)
    online = home.may_sell_online and rolls[3] < online_share
    home.fact(
        "/agriculture/sales",
        "produce_sold",
        sale_day,
        {
            "crop": crop.name,
            "kg": round(kept * sold_share),
            "price_per_kg": int(round(price, -1)),
            "channel": "whatsapp" if online else pick(rng, (*OFFLINE, ("direct", 0.1))),
        },
    )


def _loss(
    home: Home, rng: random.Random, roll: float, planted: Month, harvested: Month
) -> tuple[float, str | None, Month | None]:
    """(share of the harvest lost, cause, month it happened)."""
    if home.village.flood and planted <= FLOOD_MONTH < harvested and roll < 0.75:
        return rng.uniform(0.5, 1.0), "flood", FLOOD_MONTH
    dry = home.village.archetype in ("farming", "mixed")
    if dry and harvested in DROUGHT_MONTHS and roll < 0.25:
        return rng.uniform(0.15, 0.4), "drought", harvested
    if roll > 0.94:
        return rng.uniform(0.1, 0.3), "pest", cal.add(harvested, -1)
    return 0.0, None, None


def _practices(home: Home, rng: random.Random, greener: Month) -> None:
    chosen = rng.sample(PRACTICES, 3)
    second = cal.add(greener, rng.randint(4, 10))
    third = cal.add(second, rng.randint(6, 14))
    plan = [(greener, chosen[0], True), (second, chosen[1], rng.random() < 0.55)]
    plan.append((third, chosen[2], plan[1][2] and rng.random() < 0.45))
    visit = rng.random() < 0.6
    topic, advice = rng.choice(VISITS)
    visit_day = home.clock.day(rng, cal.add(greener, -1))
    days = [home.clock.day(rng, month) for month, _, _ in plan]
    if visit:
        home.fact(
            "/agriculture/extension-visits",
            "extension_visit_recorded",
            visit_day,
            {
                "extension_worker_id": f"ppl-9901-{1 + home.village.index % 9:02d}",
                "topic": topic,
                "recommendation": advice,
                "source_system": "simluhtan",
            },
        )
    for (_, practice, adopted), day in zip(plan, days, strict=True):
        if adopted:
            home.fact(
                "/agriculture/practices", "green_practice_adopted", day, {"practice": practice}
            )
