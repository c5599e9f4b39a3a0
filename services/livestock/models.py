"""Request and response models of the livestock API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from shared.events import vocab
from shared.events.catalogue import Count, Day, Id, PositiveCount, Rupiah, Text, VillageCode
from shared.language import Invalid, say

RecordKind = Literal["birth", "death", "vaccination", "disease_report", "sale", "compost"]
# Composting nothing is not a fact worth recording, so the weight must be positive.
PositiveKg = Annotated[float, Field(gt=0, le=10**8, allow_inf_nan=False)]
_RUPIAH = TypeAdapter(Rupiah)


def _examples(example: dict[str, object]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


class HerdCreate(BaseModel):
    model_config = _examples(
        {
            "household_id": "hh-3204052001-0042",
            "village_code": "3204052001",
            "species": "goat",
            "count": 6,
            "occurred_on": "2026-03-02",
        }
    )
    household_id: Id
    village_code: VillageCode
    species: vocab.Species
    count: Count
    occurred_on: Day | None = None
    herd_id: Id | None = None


class FactCreate(BaseModel):
    """Base of every fact about a herd: all may say the day it happened in the village."""

    occurred_on: Day | None = None


class BirthCreate(FactCreate):
    model_config = _examples({"count": 2, "occurred_on": "2026-04-11"})
    count: PositiveCount


class DeathCreate(FactCreate):
    model_config = _examples({"count": 1, "cause": "disease", "occurred_on": "2026-05-20"})
    count: PositiveCount
    cause: vocab.DeathCause


class VaccinationCreate(FactCreate):
    model_config = _examples(
        {"vaccine": "Vaksin PMK (Aftovaxpur)", "count": 6, "occurred_on": "2026-06-03"}
    )
    vaccine: Text
    count: PositiveCount


class DiseaseReportCreate(FactCreate):
    model_config = _examples({"disease": "Orf (dakangan)", "cases": 2, "occurred_on": "2026-06-15"})
    disease: Text
    cases: PositiveCount


class SaleCreate(FactCreate):
    model_config = _examples(
        {
            "count": 2,
            "price_per_head": 2_750_000,
            "channel": "middleman",
            "occurred_on": "2026-06-01",
        }
    )
    count: PositiveCount
    price_per_head: Rupiah
    channel: vocab.Channel

    @field_validator("price_per_head")
    @classmethod
    def _amount_fits(cls, value: int, info: ValidationInfo) -> int:
        count = info.data.get("count")
        if count is not None:
            try:
                _RUPIAH.validate_python(count * value)
            except ValidationError:
                raise Invalid(
                    say(
                        "count * price_per_head melebihi penjualan nyata mana pun",
                        "count * price_per_head is larger than any real sale",
                    )
                ) from None
        return value


class CompostCreate(FactCreate):
    model_config = _examples({"kg": 120.5, "occurred_on": "2026-06-30"})
    kg: PositiveKg


class HerdPublic(BaseModel):
    herd_id: str
    household_id: str
    village_code: str
    district_code: str
    species: vocab.Species
    count: int = Field(description="head count when the herd was registered")
    occurred_on: date
    event_id: str


class HerdDetailPublic(HerdPublic):
    born: int
    died: int
    sold: int
    head_count: int = Field(description="max(0, count + born - died - sold) from recorded facts")


class FactPublic(BaseModel):
    fact_id: str
    kind: RecordKind
    herd_id: str
    household_id: str
    species: vocab.Species
    village_code: str
    district_code: str
    occurred_on: date
    event_id: str


class BirthPublic(FactPublic):
    count: int


class DeathPublic(FactPublic):
    count: int
    cause: vocab.DeathCause


class VaccinationPublic(FactPublic):
    vaccine: str
    count: int


class DiseaseReportPublic(FactPublic):
    disease: str
    cases: int


class SalePublic(FactPublic):
    count: int
    price_per_head: int
    amount: int
    channel: vocab.Channel


class CompostPublic(FactPublic):
    kg: float


class RecordPublic(FactPublic):
    """Any fact of a herd; the fields of other kinds are null."""

    count: int | None = None
    cause: vocab.DeathCause | None = None
    vaccine: str | None = None
    disease: str | None = None
    cases: int | None = None
    price_per_head: int | None = None
    amount: int | None = None
    channel: vocab.Channel | None = None
    kg: float | None = None
