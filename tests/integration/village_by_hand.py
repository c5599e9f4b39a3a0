"""The small village of test_resilience_by_hand, written fact by fact through the services'
HTTP write routes. Every amount here is one term of a hand computation in that test.

Two villages of one district: A (households a1..a7, a6 without any fact) and B (b2 and
b3, b3 without any fact); a training programme in both, 2026-03-10 .. 2026-03-12, with a1, a2,
a3, a4 and a7 enrolled; a "ghost" household with facts in A that is registered only at
the very end. Amounts are whole rupiah; "digital" channels are the online ones of EVENTS.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

from shared.auth import Role, mint_token
from tests.integration.conftest import SECRET

PROGRAM_START = "2026-03-10"
PROGRAM_END = "2026-03-12"
HOUSEHOLDS = ("a1", "a2", "a3", "a4", "a5", "a6", "a7", "b2", "b3")
MEMBERS = {"a1": 4, "a2": 5, "a3": 2, "a4": 3, "a5": 4, "a6": 3, "a7": 3, "b2": 2, "b3": 4}
GHOST_MEMBERS = 2


@dataclass(frozen=True)
class Api:
    """Where each service answers: one URL in embedded mode, one per service when distributed."""

    registry: str
    training: str
    commerce: str
    agriculture: str
    livestock: str
    resilience: str

    @classmethod
    def one(cls, url: str) -> Api:
        return cls(url, url, url, url, url, url)


@dataclass(frozen=True)
class Village:
    """The codes and ids of one run. The district is fresh too: in distributed mode the
    aggregator reads the whole Kafka log, where other tests leave villages of 3204."""

    district: str
    a: str
    b: str
    program: str
    tag: str

    @classmethod
    def fresh(cls, unique: str) -> Village:
        district = f"{random.randint(0, 999):04d}"  # province "00".."09" does not exist
        return cls(district, f"{district}010001", f"{district}010002", f"prog-{unique}", unique)

    def hh(self, name: str) -> str:
        return f"hh-{self.tag}-{name}"

    def village_of(self, name: str) -> str:
        return self.b if name.startswith("b") else self.a

    def headers(self) -> dict[str, str]:
        token = mint_token(SECRET, role=Role.DISTRICT_ADMIN, sub="by-hand", district=self.district)
        return {"Authorization": f"Bearer {token}"}


class Writer:
    """One helper per write route; each asserts that the route answered 201."""

    def __init__(self, api: Api, village: Village) -> None:
        self.api = api
        self.v = village
        self.client = httpx.Client(headers=village.headers(), timeout=30)

    def close(self) -> None:
        self.client.close()

    def hh(self, name: str) -> str:
        return self.v.hh(name)

    def post(self, base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.client.post(f"{base}{path}", json=body)
        assert r.status_code == 201, f"POST {path}: {r.status_code} {r.text}"
        return r.json()

    # registry ------------------------------------------------------------------------------
    def village(self, code: str, name: str) -> None:
        body = {
            "village_code": code,
            "name": name,
            "district_code": self.v.district,
            "district_name": "Kabupaten Hitung Tangan",
        }
        self.post(self.api.registry, "/registry/villages", body)

    def household(self, name: str, members: int) -> None:
        # No occurred_on: registered today, yet it counts in every month (reference data).
        body = {"village_code": self.v.village_of(name), "members": members}
        self.post(
            self.api.registry, "/registry/households", {**body, "household_id": self.hh(name)}
        )

    def members(self, name: str, members: int, day: str) -> None:
        r = self.client.patch(
            f"{self.api.registry}/registry/households/{self.hh(name)}",
            json={"members": members, "occurred_on": day},
        )
        assert r.status_code == 200, r.text

    # training ------------------------------------------------------------------------------
    def program(self) -> None:
        body = {
            "program_id": self.v.program,
            "title": "Pelatihan Pemasaran Digital",
            "organizer": "Dinas Koperasi dan UMKM",
            "village_codes": [self.v.a, self.v.b],
            "start_on": PROGRAM_START,
            "end_on": PROGRAM_END,
            "topics": ["foto produk", "berjualan di marketplace"],
        }
        self.post(self.api.training, "/training/programs", body)

    def _training(self, route: str, name: str, day: str, **extra: Any) -> None:
        body = {"household_id": self.hh(name), "village_code": self.v.village_of(name), **extra}
        path = f"/training/programs/{self.v.program}/{route}"
        self.post(self.api.training, path, {**body, "occurred_on": day})

    def enrol(self, name: str, day: str) -> None:
        self._training("enrolments", name, day)

    def attend(self, name: str, day: str) -> None:
        self._training("attendance", name, day)

    def assess(self, name: str, kind: str, score: float, max_score: float, day: str) -> None:
        self._training("assessments", name, day, kind=kind, score=score, max_score=max_score)

    def confidence(self, name: str, score: int, day: str) -> None:
        self._training("confidence", name, day, score=score)

    def mentor(self, name: str, day: str) -> None:
        self._training("mentoring", name, day, mentor="Pendamping PLUT")

    # commerce ------------------------------------------------------------------------------
    def business(self, name: str, business: str, day: str) -> str:
        business_id = f"biz-{self.v.tag}-{business}"
        body = {
            "business_id": business_id,
            "household_id": self.hh(name),
            "village_code": self.v.village_of(name),
            "name": business,
            "category": "usaha rumah tangga",
            "occurred_on": day,
        }
        self.post(self.api.commerce, "/commerce/businesses", body)
        return business_id

    def sale(self, business_id: str, day: str, channel: str, quantity: int, price: int) -> None:
        body = {"channel": channel, "quantity": quantity, "unit_price": price, "occurred_on": day}
        self.post(self.api.commerce, f"/commerce/businesses/{business_id}/sales", body)

    def capital(self, business_id: str, day: str, amount: int) -> None:
        body = {"source": "kur", "kind": "loan", "amount": amount, "occurred_on": day}
        self.post(self.api.commerce, f"/commerce/businesses/{business_id}/capital", body)

    # agriculture ---------------------------------------------------------------------------
    def _farm(self, path: str, name: str, day: str, **extra: Any) -> None:
        body = {"household_id": self.hh(name), "village_code": self.v.village_of(name), **extra}
        self.post(self.api.agriculture, f"/agriculture/{path}", {**body, "occurred_on": day})

    def plot(self, name: str, area_ha: float, day: str) -> None:
        self._farm("plots", name, day, area_ha=area_ha, land_status="owned")

    def produce(self, name: str, day: str, channel: str, kg: int, price_per_kg: int) -> None:
        self._farm(
            "sales", name, day, crop="beras", kg=kg, price_per_kg=price_per_kg, channel=channel
        )

    def practice(self, name: str, practice: str, day: str) -> None:
        self._farm("practices", name, day, practice=practice)

    def inputs(self, name: str, input_type: str, kg: int, day: str) -> None:
        self._farm("inputs", name, day, input_type=input_type, kg=kg)

    def crop_loss(self, name: str, cause: str, day: str) -> None:
        self._farm("losses", name, day, crop="padi", cause=cause, kg_lost=200)

    # livestock -----------------------------------------------------------------------------
    def herd(self, name: str, species: str, count: int, day: str) -> str:
        herd_id = f"herd-{self.v.tag}-{name}-{species}"
        body = {
            "herd_id": herd_id,
            "household_id": self.hh(name),
            "village_code": self.v.village_of(name),
            "species": species,
            "count": count,
            "occurred_on": day,
        }
        self.post(self.api.livestock, "/livestock/herds", body)
        return herd_id

    def _herd_fact(self, herd_id: str, route: str, body: dict[str, Any]) -> None:
        self.post(self.api.livestock, f"/livestock/herds/{herd_id}/{route}", body)

    def births(self, herd_id: str, count: int, day: str) -> None:
        self._herd_fact(herd_id, "births", {"count": count, "occurred_on": day})

    def deaths(self, herd_id: str, count: int, cause: str, day: str) -> None:
        self._herd_fact(herd_id, "deaths", {"count": count, "cause": cause, "occurred_on": day})

    def animals_sold(self, herd_id: str, count: int, price: int, channel: str, day: str) -> None:
        body = {"count": count, "price_per_head": price, "channel": channel, "occurred_on": day}
        self._herd_fact(herd_id, "sales", body)

    def compost(self, herd_id: str, kg: int, day: str) -> None:
        self._herd_fact(herd_id, "compost", {"kg": kg, "occurred_on": day})


def write_history(w: Writer) -> None:
    """Everything but the late sale of a5 and the ghost's registration."""
    v = w.v
    w.village(v.a, "Desa Hitung")
    w.village(v.b, "Desa Tangan")
    for name in HOUSEHOLDS:
        w.household(name, MEMBERS[name])

    # The ghost first: on each topic its facts (key: village A) precede the facts of A that
    # the final figures depend on, so those figures prove the ghost's facts were consumed.
    ghost = w.business("ghost", "ghost-shop", "2026-04-01")
    w.sale(ghost, "2026-05-10", "instagram", 20, 500_000)  # 10 000 000 digital
    w.crop_loss("ghost", "flood", "2026-06-01")

    w.program()

    # a1: four sectors, stage 4 --------------------------------------------------------------
    w.members("a1", 3, "2026-06-01")
    keripik = w.business("a1", "keripik", "2025-10-01")
    w.sale(keripik, "2025-10-15", "shopee", 30, 60_000)  # 1 800 000, before W of 2026-10
    w.sale(keripik, "2026-02-10", "shopee", 60, 60_000)  # 3 600 000
    w.sale(keripik, "2026-03-20", "shopee", 75, 60_000)  # 4 500 000, first online after start
    w.sale(keripik, "2026-04-05", "market", 120, 60_000)  # 7 200 000 offline
    w.sale(keripik, "2026-05-15", "whatsapp", 45, 60_000)  # 2 700 000
    w.sale(keripik, "2026-08-10", "tokopedia", 60, 60_000)  # 3 600 000
    w.sale(keripik, "2026-11-05", "shopee", 35, 60_000)  # 2 100 000, after as_of 2026-10
    w.capital(keripik, "2026-02-20", 5_000_000)
    w.plot("a1", 0.5, "2025-11-20")
    w.produce("a1", "2026-07-01", "middleman", 600, 12_000)  # 7 200 000 offline
    goats = w.herd("a1", "goat", 10, "2026-01-10")
    w.births(goats, 4, "2026-04-02")
    w.animals_sold(goats, 4, 2_700_000, "whatsapp", "2026-09-12")  # 10 800 000 digital
    w.practice("a1", "compost", "2026-01-15")
    w.compost(goats, 100, "2026-06-05")  # practice manure_compost
    w.inputs("a1", "organic_fertilizer", 150, "2026-02-01")
    w.inputs("a1", "chemical_fertilizer", 50, "2026-03-01")
    w.enrol("a1", "2026-03-02")
    w.attend("a1", "2026-03-10")
    w.assess("a1", "pre", 50, 100, "2026-03-10")
    w.assess("a1", "post", 80, 100, "2026-03-12")
    w.confidence("a1", 2, "2026-03-12")
    w.confidence("a1", 4, "2026-06-20")
    for day in ("2026-04-15", "2026-06-10", "2026-10-05"):
        w.mentor("a1", day)

    # a2: farmer with shocks, stage 3 ---------------------------------------------------------
    chickens = w.herd("a2", "chicken", 50, "2025-12-01")
    w.deaths(chickens, 10, "disease", "2026-07-01")  # a shock
    w.plot("a2", 1.25, "2025-12-01")
    w.produce("a2", "2026-04-10", "facebook", 100, 12_000)  # 1 200 000 digital
    w.produce("a2", "2026-08-20", "cooperative", 500, 12_000)  # 6 000 000 offline
    w.produce("a2", "2026-10-02", "facebook", 50, 12_000)  # 600 000 digital
    w.crop_loss("a2", "pest", "2026-03-20")  # a shock, outside the 6 months of 2026-10
    w.crop_loss("a2", "flood", "2026-06-15")  # a shock
    w.practice("a2", "integrated_pest_management", "2026-01-20")
    w.practice("a2", "crop_rotation", "2026-02-10")
    w.practice("a2", "intercropping", "2026-05-05")
    w.practice("a2", "agroforestry", "2026-09-01")
    w.inputs("a2", "chemical_pesticide", 100, "2026-04-01")
    w.enrol("a2", "2026-03-02")
    w.attend("a2", "2026-03-11")
    w.assess("a2", "pre", 60, 80, "2026-03-10")
    w.assess("a2", "post", 72, 80, "2026-03-12")
    w.confidence("a2", 3, "2026-03-12")
    w.mentor("a2", "2026-09-15")

    # a3: offline shop, stage 2 by N-gain -----------------------------------------------------
    warung = w.business("a3", "warung", "2026-01-05")
    w.sale(warung, "2026-01-20", "market", 120, 15_000)  # 1 800 000
    w.sale(warung, "2026-06-20", "shop", 160, 15_000)  # 2 400 000
    w.enrol("a3", "2026-03-02")
    w.attend("a3", "2026-03-10")
    w.assess("a3", "pre", 40, 100, "2026-03-10")
    w.assess("a3", "post", 60, 100, "2026-03-12")
    w.confidence("a3", 5, "2026-03-12")
    w.mentor("a3", "2026-04-20")

    # a4: cattle keeper, stage 1 --------------------------------------------------------------
    cattle = w.herd("a4", "cattle", 3, "2025-06-01")
    w.deaths(cattle, 1, "old_age", "2026-08-10")  # not a shock
    w.practice("a4", "water_harvesting", "2026-02-01")
    w.enrol("a4", "2026-03-02")
    w.attend("a4", "2026-03-12")
    w.assess("a4", "pre", 50, 100, "2026-03-10")
    w.assess("a4", "post", 60, 100, "2026-03-12")

    # a5: online seller, not enrolled (comparison) --------------------------------------------
    batik = w.business("a5", "batik", "2025-09-01")
    w.sale(batik, "2025-09-10", "instagram", 4, 300_000)  # 1 200 000
    w.sale(batik, "2026-01-15", "instagram", 4, 300_000)  # 1 200 000
    w.sale(batik, "2026-05-10", "instagram", 6, 300_000)  # 1 800 000
    w.sale(batik, "2026-07-10", "market", 8, 300_000)  # 2 400 000 offline
    kios = w.business("a5", "kios", "2025-10-01")
    w.sale(kios, "2025-10-20", "shop", 40, 15_000)  # 600 000 offline, before W of 2026-10
    w.capital(kios, "2025-10-25", 2_000_000)

    # a7: enrolled, nothing more, stage 0 -----------------------------------------------------
    w.enrol("a7", "2026-03-02")
    w.assess("a7", "pre", 30, 100, "2026-03-10")

    # b2: farmer in village B, not enrolled (comparison) --------------------------------------
    ducks = w.herd("b2", "duck", 100, "2025-08-01")
    w.animals_sold(ducks, 20, 90_000, "middleman", "2026-09-05")  # 1 800 000 offline
    w.compost(ducks, 50, "2026-05-20")  # practice manure_compost
    w.plot("b2", 0.8, "2025-08-01")
    w.produce("b2", "2026-02-10", "whatsapp", 150, 12_000)  # 1 800 000 digital
    w.produce("b2", "2026-06-10", "tiktok_shop", 300, 12_000)  # 3 600 000 digital
    w.produce("b2", "2026-08-15", "middleman", 500, 12_000)  # 6 000 000 offline
    w.practice("b2", "cover_crop", "2026-04-15")
    w.inputs("b2", "organic_fertilizer", 200, "2026-04-01")


def write_late_sale(w: Writer) -> None:
    """a5's sale of December 2025, entered after the view had computed that month."""
    w.sale(f"biz-{w.v.tag}-batik", "2025-12-05", "instagram", 4, 300_000)  # 1 200 000


def register_ghost(w: Writer) -> None:
    w.household("ghost", GHOST_MEMBERS)
