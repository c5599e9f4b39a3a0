from __future__ import annotations

from fastapi.testclient import TestClient

from tests.e2e.routecases import MISSING, WriteCase, create

V = "3204052002"
HOUSEHOLD = "hh-cbr-0007"
PRODUCT = "prd-keripik-pedas"


def _business(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    biz = create(
        client,
        headers,
        "/commerce/businesses",
        {"household_id": HOUSEHOLD, "village_code": V, "name": "Sari Rasa", "category": "pangan"},
    )
    return {"business_id": biz["business_id"]}


def _business_with_product(client: TestClient, headers: dict[str, str]) -> dict[str, str]:
    params = _business(client, headers)
    create(
        client,
        headers,
        f"/commerce/businesses/{params['business_id']}/products",
        {
            "name": "Keripik pedas",
            "unit": "bungkus",
            "price": 15000,
            "packaging_score": 3,
            "product_id": PRODUCT,
        },
    )
    return params


OWNED = {"household_id": HOUSEHOLD}
# Sub-resources take the village from the business: a body may not name one.
NO_VILLAGE_IN_BODY = ("village_code", V)

CASES = [
    WriteCase(
        name="commerce register business",
        method="POST",
        path="/commerce/businesses",
        body={
            "household_id": HOUSEHOLD,
            "village_code": V,
            "name": "Keripik Singkong Sari Rasa",
            "category": "makanan olahan",
            "occurred_on": "2025-11-03",
        },
        event_type="lumbung.commerce.business_registered.v1",
        id_field="business_id",
        bad=[
            ("village_code", "32040520"),
            ("household_id", MISSING),
            ("household_id", "hh 7/Bu Siti"),
            ("name", MISSING),
            ("category", "   "),
            ("business_id", "biz#1"),
            ("occurred_on", "2026-02-30"),
            ("occurred_on", "2999-01-01"),
        ],
        data_expect={**OWNED, "category": "makanan olahan", "occurred_on": "2025-11-03"},
    ),
    WriteCase(
        name="commerce list product",
        method="POST",
        path="/commerce/businesses/{business_id}/products",
        body={
            "name": "Keripik singkong balado",
            "unit": "bungkus 250 g",
            "price": 18000,
            "packaging_score": 4,
            "certifications": ["pirt", "halal", "halal"],
            "occurred_on": "2026-01-15",
        },
        setup=_business,
        event_type="lumbung.commerce.product_listed.v1",
        id_field="product_id",
        bad=[
            ("price", -500),
            ("price", MISSING),
            ("packaging_score", 0),
            ("packaging_score", 6),
            ("certifications", ["halal", "sertifikat_desa"]),
            ("name", MISSING),
            ("unit", ""),
            ("occurred_on", "2026-02-30"),
            NO_VILLAGE_IN_BODY,
        ],
        data_expect={**OWNED, "price": 18000, "certifications": ["pirt", "halal"]},
    ),
    WriteCase(
        name="commerce open channel",
        method="POST",
        path="/commerce/businesses/{business_id}/channels",
        body={"channel": "tiktok_shop", "occurred_on": "2026-02-01"},
        setup=_business,
        event_type="lumbung.commerce.channel_opened.v1",
        id_field="fact_id",
        bad=[
            ("channel", "pasar_kaget"),
            ("channel", MISSING),
            ("occurred_on", "2026-13-01"),
            NO_VILLAGE_IN_BODY,
        ],
        data_expect={**OWNED, "channel": "tiktok_shop"},
    ),
    WriteCase(
        name="commerce record sale",
        method="POST",
        path="/commerce/businesses/{business_id}/sales",
        body={
            "channel": "whatsapp",
            "quantity": 2.3,
            "unit_price": 15001,
            "product_id": PRODUCT,
            "occurred_on": "2026-02-10",
        },
        setup=_business_with_product,
        event_type="lumbung.commerce.sale_recorded.v1",
        id_field="fact_id",
        bad=[
            ("channel", "arisan"),
            ("quantity", 0),
            ("quantity", -3),
            ("quantity", MISSING),
            ("unit_price", -1),
            ("unit_price", 10**13),
            ("product_id", "prd-not-listed"),
            ("occurred_on", "2026-02-30"),
            NO_VILLAGE_IN_BODY,
        ],
        data_expect={**OWNED, "product_id": PRODUCT, "quantity": 2.3, "amount": 34502},
    ),
    WriteCase(
        name="commerce record capital",
        method="POST",
        path="/commerce/businesses/{business_id}/capital",
        body={"source": "kur", "kind": "loan", "amount": 10_000_000, "occurred_on": "2026-01-20"},
        setup=_business,
        event_type="lumbung.commerce.capital_received.v1",
        id_field="fact_id",
        bad=[
            ("source", "rentenir"),
            ("kind", "equity"),
            ("amount", 0),
            ("amount", -250_000),
            ("amount", MISSING),
            ("occurred_on", "20-01-2026"),
            NO_VILLAGE_IN_BODY,
        ],
        data_expect={**OWNED, "source": "kur", "kind": "loan", "amount": 10_000_000},
    ),
]
