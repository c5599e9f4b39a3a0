"""UMKM: a household business, its products, channels, sales and capital.

Most businesses sell at the market or from home. Some open an online shop on their own
(more of them in UMKM villages, and later); the trainees who progress open one within months
of the training, relaunch their product in better packaging and keep selling online.
"""

from __future__ import annotations

import random

from shared.demo import calendar as cal
from shared.demo.calendar import Month
from shared.demo.farm import pick
from shared.demo.home import Home
from shared.demo.names import brand
from shared.demo.training import TRAINING, first_online_month

PRODUCTS = {
    "makanan olahan": (
        ("Keripik Singkong", "bungkus 250 g", (12_000, 18_000)),
        ("Rengginang", "bungkus 500 g", (15_000, 25_000)),
        ("Dodol Nanas", "kotak 400 g", (20_000, 30_000)),
        ("Sambal Roa", "botol 150 ml", (25_000, 35_000)),
    ),
    "minuman": (
        ("Kopi Bubuk Robusta", "bungkus 250 g", (30_000, 45_000)),
        ("Gula Aren Cair", "botol 500 ml", (25_000, 35_000)),
        ("Jahe Merah Instan", "toples 250 g", (20_000, 30_000)),
    ),
    "kerajinan": (
        ("Anyaman Bambu", "buah", (35_000, 90_000)),
        ("Tas Rajut", "buah", (60_000, 120_000)),
    ),
    "fesyen": (
        ("Batik Tulis", "lembar", (150_000, 350_000)),
        ("Kerudung Bordir", "buah", (45_000, 80_000)),
    ),
}
CATEGORIES = (("makanan olahan", 0.5), ("minuman", 0.2), ("kerajinan", 0.2), ("fesyen", 0.1))
SHOPS = ("shopee", "whatsapp", "tiktok_shop", "instagram", "tokopedia", "facebook")
OFFLINE = (("market", 0.4), ("direct", 0.3), ("shop", 0.2), ("bumdes", 0.1))
SELF_STARTERS = {"umkm": 0.5, "mixed": 0.3, "farming": 0.2, "livestock": 0.2}


def shop(home: Home, given: str) -> None:
    rng = home.rng("commerce")
    category = pick(rng, CATEGORIES)
    product, unit, prices = rng.choice(PRODUCTS[category])
    business_id = home.id("biz")
    opened = cal.START if rng.random() < 0.8 else cal.add(cal.START, rng.randint(6, 30))
    if home.outcome is not None:
        opened = min(opened, cal.add(TRAINING, -1))
    registered = home.fact(
        "/commerce/businesses",
        "business_registered",
        home.clock.day(rng, opened),
        {
            "name": f"{product} {brand(rng, given)}",
            "category": category,
            "business_id": business_id,
        },
    )
    if not registered:  # opens after today: nothing of it can be recorded yet
        return
    # Own streams for what runs up to today, so that a later today shifts nothing before it.
    trading, financing = random.Random(rng.random()), random.Random(rng.random())
    story = _Business(home, rng, business_id, (product, unit, prices))
    story.list_product(opened, 1, rng.randint(1, 3), [])
    online_from = first_online_month(home, rng)
    if home.outcome is None and rng.random() < SELF_STARTERS[home.village.archetype]:
        online_from = cal.add(cal.START, 24 + int(rng.gauss(0, 8)))
    if online_from is not None and home.outcome == "sustained":
        story.list_product(cal.add(online_from, -1), 2, rng.randint(4, 5), ["pirt", "halal"])
    if online_from is not None:
        online_from = max(online_from, opened)
        story.open_channel(online_from)
    story.trade(trading, opened, online_from)
    story.capital(financing, opened)


class _Business:
    def __init__(
        self,
        home: Home,
        rng: random.Random,
        business_id: str,
        product: tuple[str, str, tuple[int, int]],
    ) -> None:
        self.home, self.rng, self.business_id = home, rng, business_id
        self.name, self.unit, self.prices = product
        self.price = rng.randint(*self.prices) // 500 * 500
        self.path = f"/commerce/businesses/{business_id}"
        self.refs = {"business_id": business_id, "household_id": home.household_id}
        self.channel = rng.choice(SHOPS)
        self.products: list[tuple[Month, str]] = []

    def write(
        self, what: str, event: str, month: Month, body: dict[str, object], rng: random.Random
    ) -> None:
        day = self.home.clock.day(rng, month)
        if day is not None:
            self.home.write(f"{self.path}/{what}", event, {**body, "occurred_on": day}, **self.refs)

    def list_product(self, month: Month, n: int, packaging: int, certs: list[str]) -> None:
        product_id = f"{self.business_id}-p{n}"
        name = self.name if n == 1 else f"{self.name} Kemasan Baru"
        price = self.price if n == 1 else self.price * 5 // 4 // 500 * 500
        body = {
            "name": name,
            "unit": self.unit,
            "price": price,
            "packaging_score": packaging,
            "certifications": certs,
            "product_id": product_id,
        }
        self.products.append((month, product_id))
        day = self.home.clock.day(self.rng, month)
        if day is not None:
            self.home.write(
                f"{self.path}/products", "product_listed", {**body, "occurred_on": day}, **self.refs
            )

    def open_channel(self, month: Month) -> None:
        self.write("channels", "channel_opened", month, {"channel": self.channel}, self.rng)

    def trade(self, rng: random.Random, opened: Month, online_from: Month | None) -> None:
        outcome = self.home.outcome
        scale = 1.4 if self.home.village.archetype == "umkm" else 1.0
        for month in self.home.clock.months(opened):
            rolls = [rng.random() for _ in range(3)]
            target = rng.uniform(800_000, 3_500_000) * scale  # a month's takings
            quantity = max(1, round(target / self.price))
            since = cal.number(month) - cal.number(online_from) if online_from else -1
            online = since >= 0 and _sells_online(outcome, since, rolls[0])
            offline = rolls[1] < (0.15 if online else 0.21)
            for channel, sells in ((self.channel, online), (pick(rng, OFFLINE), offline)):
                if sells:
                    body = {"channel": channel, "quantity": quantity, "unit_price": self.price}
                    listed = [pid for since_month, pid in self.products if since_month < month]
                    if listed and rolls[2] < 0.5:
                        body["product_id"] = listed[-1]
                    self.write("sales", "sale_recorded", month, body, rng)

    def capital(self, rng: random.Random, opened: Month) -> None:
        """A KUR loan now and then (more often for those who grow), a small grant rarely."""
        chance = 0.35 if self.home.outcome == "sustained" else 0.15
        for year in range(max(opened[0], 2023), self.home.clock.last[0] + 1):
            month = (year, rng.randint(1, 12))
            amount = rng.randint(5, 25) * 1_000_000
            if month >= opened and rng.random() < chance:
                body = {"source": "kur", "kind": "loan", "amount": amount}
                self.write("capital", "capital_received", month, body, rng)
            if month >= opened and rng.random() < 0.04:
                body = {"source": "government_grant", "kind": "grant", "amount": 1_200_000}
                self.write("capital", "capital_received", month, body, rng)


def _sells_online(outcome: str | None, since: int, roll: float) -> bool:
    """Whether the business sells online in the month ``since`` months after its first time."""
    if outcome == "sustained":
        # Three of the first four months at least, then more often than not.
        return since in (0, 1, 3) or roll < (0.8 if since < 6 else 0.55)
    if outcome == "selling_lapsed":
        return since in (0, 2)
    if outcome == "recovering":
        return since == 0
    return since == 0 or roll < 0.35
