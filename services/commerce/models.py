"""Request and response models of the commerce (UMKM) API."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.events import vocab
from shared.events.catalogue import Day, Id, Rupiah, Text, VillageCode
from shared.language import Invalid, say
from shared.money import rupiah_amount

MAX_RUPIAH = 10**13
PackagingScore = Annotated[int, Field(ge=1, le=5, description="1 (plain) to 5 (retail-ready)")]
Quantity = Annotated[float, Field(gt=0, le=10**8, allow_inf_nan=False)]
PositiveRupiah = Annotated[int, Field(gt=0, le=MAX_RUPIAH, description="whole rupiah (IDR)")]


def _config(example: dict[str, object]) -> ConfigDict:
    return ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [example]}
    )


class BusinessCreate(BaseModel):
    model_config = _config(
        {
            "household_id": "hh-3204052001-0042",
            "village_code": "3204052001",
            "name": "Keripik Singkong Sari Rasa",
            "category": "makanan olahan",
            "occurred_on": "2026-03-02",
        }
    )
    household_id: Id
    village_code: VillageCode
    name: Text
    category: Text
    business_id: Id | None = None
    occurred_on: Day | None = None


class ProductCreate(BaseModel):
    model_config = _config(
        {
            "name": "Keripik singkong pedas",
            "unit": "bungkus 250 g",
            "price": 15000,
            "packaging_score": 3,
            "certifications": ["pirt", "halal"],
        }
    )
    name: Text
    unit: Text
    price: Rupiah
    packaging_score: PackagingScore
    certifications: list[vocab.Certification] = Field(default_factory=list)
    product_id: Id | None = None
    occurred_on: Day | None = None

    @field_validator("certifications")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        # A certificate is held or not: a repeated word adds nothing for the aggregator.
        return list(dict.fromkeys(value))


class ChannelCreate(BaseModel):
    model_config = _config({"channel": "shopee", "occurred_on": "2026-04-10"})
    channel: vocab.Channel
    occurred_on: Day | None = None


class SaleCreate(BaseModel):
    model_config = _config(
        {
            "channel": "whatsapp",
            "quantity": 40,
            "unit_price": 15000,
            "product_id": "prd-keripik-pedas",
            "occurred_on": "2026-04-18",
        }
    )
    channel: vocab.Channel
    quantity: Quantity
    unit_price: Rupiah
    product_id: Id | None = None
    occurred_on: Day | None = None

    @field_validator("unit_price")
    @classmethod
    def _amount_fits(cls, value: int, info: ValidationInfo) -> int:
        quantity = info.data.get("quantity")
        if quantity is not None and rupiah_amount(quantity, value) > MAX_RUPIAH:
            raise Invalid(
                say(
                    f"quantity * unit_price melebihi {MAX_RUPIAH} rupiah",
                    f"quantity * unit_price exceeds {MAX_RUPIAH} rupiah",
                )
            )
        return value


class CapitalCreate(BaseModel):
    model_config = _config(
        {"source": "kur", "kind": "loan", "amount": 10_000_000, "occurred_on": "2026-02-20"}
    )
    source: vocab.CapitalSource
    kind: vocab.CapitalKind
    amount: PositiveRupiah
    occurred_on: Day | None = None


class _OfBusiness(BaseModel):
    business_id: str
    household_id: str
    village_code: str
    district_code: str
    occurred_on: date


class BusinessPublic(_OfBusiness):
    name: str
    category: str


class ProductPublic(_OfBusiness):
    product_id: str
    name: str
    unit: str
    price: int
    packaging_score: int
    certifications: list[str]


class ChannelPublic(_OfBusiness):
    fact_id: str
    channel: str


class SalePublic(_OfBusiness):
    fact_id: str
    product_id: str | None = None
    channel: str
    quantity: float
    unit_price: int
    amount: int


class CapitalPublic(_OfBusiness):
    fact_id: str
    source: str
    kind: str
    amount: int


class BusinessDetail(BusinessPublic):
    products: list[ProductPublic] = Field(description="the first page of its products")
    products_next_cursor: str | None = Field(
        None, description="more products: GET .../products?cursor= with this value"
    )
    channels: list[ChannelPublic] = Field(description="every channel it has opened")
