"""Request and response models of the agriculture API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from shared.events import vocab
from shared.events.catalogue import Day, Hectares, Id, Kg, Rupiah, Season, Text, VillageCode
from shared.language import Invalid, say
from shared.money import rupiah_amount

HH = "hh-3f9c2a71b0d4e5a6c7d8"
V = "3204052001"


def _crop_name(value: object) -> object:
    # Crops are free text typed by many hands: "Padi " and "padi" must add up as one crop.
    return " ".join(value.split()).lower() if isinstance(value, str) else value


Crop = Annotated[Text, BeforeValidator(_crop_name)]
Agrovoc = Annotated[
    str, Field(pattern=r"^c_[0-9]+$", description="AGROVOC concept id", examples=["c_6599"])
]
PositiveKg = Annotated[float, Field(gt=0, le=10**8, allow_inf_nan=False)]
Kind = Literal[
    "planting", "harvest", "sale", "practice", "input", "loss", "extension_visit", "input_plan"
]
_RUPIAH = TypeAdapter(Rupiah)


def produce_amount(kg: float, price_per_kg: int) -> int:
    return rupiah_amount(kg, price_per_kg)


def _create_config(example: dict[str, object]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


def _fact_config(**example: object) -> ConfigDict:
    """The config of a household's fact: its example starts with the household and village."""
    return _create_config({"household_id": HH, "village_code": V, **example})


# requests ---------------------------------------------------------------------------------
class PlotCreate(BaseModel):
    model_config = _create_config(
        {
            "household_id": HH,
            "village_code": V,
            "area_ha": 0.35,
            "land_status": "owned",
            "occurred_on": "2026-01-10",
        }
    )
    household_id: Id
    village_code: VillageCode
    area_ha: Hectares
    land_status: vocab.LandStatus
    plot_id: Id | None = None
    occurred_on: Day | None = None


class PlantingCreate(BaseModel):
    model_config = _create_config(
        {"crop": "padi", "agrovoc": "c_6599", "area_ha": 0.3, "occurred_on": "2026-01-15"}
    )
    crop: Crop
    agrovoc: Agrovoc | None = None
    area_ha: Hectares
    occurred_on: Day | None = None


class HarvestCreate(BaseModel):
    model_config = _create_config({"crop": "padi", "kg": 1650, "occurred_on": "2026-05-02"})
    crop: Crop
    kg: Kg
    occurred_on: Day | None = None


class HouseholdFactCreate(BaseModel):
    """A fact of one household, in its village: the fields of the subclass come after these,
    then ``occurred_on``."""

    household_id: Id
    village_code: VillageCode


class SaleCreate(HouseholdFactCreate):
    model_config = _fact_config(
        crop="cabai rawit", kg=40, price_per_kg=45000, channel="middleman", occurred_on="2026-05-10"
    )
    crop: Crop
    kg: PositiveKg
    price_per_kg: Rupiah
    channel: vocab.Channel
    occurred_on: Day | None = None

    @field_validator("price_per_kg")
    @classmethod
    def _amount_fits(cls, value: int, info: ValidationInfo) -> int:
        kg = info.data.get("kg")
        if kg is not None:
            try:
                _RUPIAH.validate_python(produce_amount(kg, value))
            except ValidationError:
                raise Invalid(
                    say(
                        "kg * price_per_kg melebihi penjualan nyata mana pun",
                        "kg * price_per_kg is larger than any real sale",
                    )
                ) from None
        return value


class PracticeCreate(HouseholdFactCreate):
    model_config = _fact_config(practice="compost", occurred_on="2026-02-01")
    practice: vocab.Practice
    occurred_on: Day | None = None


class InputCreate(HouseholdFactCreate):
    model_config = _fact_config(input_type="organic_fertilizer", kg=200, occurred_on="2026-01-20")
    input_type: vocab.InputType
    kg: PositiveKg
    occurred_on: Day | None = None


class LossCreate(HouseholdFactCreate):
    model_config = _fact_config(crop="padi", cause="pest", kg_lost=300, occurred_on="2026-03-18")
    crop: Crop
    cause: vocab.CropLossCause
    kg_lost: Kg
    occurred_on: Day | None = None


class ExtensionVisitCreate(HouseholdFactCreate):
    model_config = _fact_config(
        extension_worker_id="ppl-cibiru-01",
        topic="Pengendalian wereng batang coklat",
        recommendation="Tanam varietas tahan wereng (Inpari 33) dan pasang lampu perangkap.",
        source_system="simluhtan",
        occurred_on="2026-03-05",
    )
    extension_worker_id: Id
    topic: Text
    recommendation: Annotated[str, Field(min_length=1, max_length=2000)]
    source_system: Text
    occurred_on: Day | None = None


class FarmerGroupCreate(BaseModel):
    model_config = _create_config(
        {"village_code": V, "name": "Poktan Sri Mulya", "occurred_on": "2024-08-17"}
    )
    village_code: VillageCode
    name: Text
    group_id: Id | None = None
    occurred_on: Day | None = None


class GroupMemberCreate(HouseholdFactCreate):
    model_config = _fact_config()
    occurred_on: Day | None = None


class InputPlanCreate(HouseholdFactCreate):
    model_config = _fact_config(
        season="2026-MT1",
        input_type="chemical_fertilizer",
        product="urea",
        kg=100,
        source_system="e-rdkk",
        occurred_on="2025-11-20",
    )
    season: Season
    input_type: vocab.InputType
    product: Crop  # free text like a crop name: "Urea " and "urea" are one product
    kg: PositiveKg
    group_id: Id | None = None
    source_system: Text
    occurred_on: Day | None = None


# responses --------------------------------------------------------------------------------
class Scoped(BaseModel):
    household_id: str
    village_code: str
    district_code: str
    occurred_on: date
    event_id: str


class PlotPublic(Scoped):
    plot_id: str
    area_ha: float
    land_status: vocab.LandStatus


class FactPublic(Scoped):
    fact_id: str


class PlantingPublic(FactPublic):
    kind: Literal["planting"]
    plot_id: str
    crop: str
    agrovoc: str | None = None
    area_ha: float


class HarvestPublic(FactPublic):
    kind: Literal["harvest"]
    plot_id: str
    crop: str
    kg: float


class SalePublic(FactPublic):
    kind: Literal["sale"]
    crop: str
    kg: float
    price_per_kg: int
    amount: int
    channel: vocab.Channel


class PracticePublic(FactPublic):
    kind: Literal["practice"]
    practice: vocab.Practice


class InputPublic(FactPublic):
    kind: Literal["input"]
    input_type: vocab.InputType
    kg: float


class LossPublic(FactPublic):
    kind: Literal["loss"]
    crop: str
    cause: vocab.CropLossCause
    kg_lost: float


class ExtensionVisitPublic(FactPublic):
    kind: Literal["extension_visit"]
    extension_worker_id: str
    topic: str
    recommendation: str
    source_system: str


class InputPlanPublic(FactPublic):
    kind: Literal["input_plan"]
    season: str
    input_type: vocab.InputType
    product: str
    kg: float
    group_id: str | None = None
    source_system: str


class FarmerGroupPublic(BaseModel):
    group_id: str
    village_code: str
    district_code: str
    name: str
    occurred_on: date
    event_id: str


class GroupMemberPublic(BaseModel):
    membership_id: str
    group_id: str
    household_id: str
    village_code: str
    district_code: str
    occurred_on: date
    event_id: str


class FarmerGroupDetailPublic(FarmerGroupPublic):
    members: list[GroupMemberPublic]


RecordPublic = Annotated[
    PlantingPublic
    | HarvestPublic
    | SalePublic
    | PracticePublic
    | InputPublic
    | LossPublic
    | ExtensionVisitPublic
    | InputPlanPublic,
    Field(discriminator="kind"),
]


class PlotDetailPublic(PlotPublic):
    plantings: list[PlantingPublic]
    harvests: list[HarvestPublic]
