"""Request and response models of the registry API."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.events.catalogue import Day, DistrictCode, Id, PositiveCount, Text, VillageCode
from shared.language import Invalid, say


class VillageCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "village_code": "3204052001",
                    "name": "Cibiru Wetan",
                    "district_code": "3204",
                    "district_name": "Kabupaten Bandung",
                }
            ]
        },
    )
    village_code: VillageCode
    name: Text
    district_code: DistrictCode
    district_name: Text
    occurred_on: Day | None = None

    @field_validator("district_code")
    @classmethod
    def _district_matches_village(cls, value: str, info: ValidationInfo) -> str:
        village = info.data.get("village_code")
        if village is not None and not village.startswith(value):
            raise Invalid(
                say(
                    "harus sama dengan 4 angka pertama village_code",
                    "must be the first 4 digits of village_code",
                )
            )
        return value


class VillagePublic(BaseModel):
    village_code: str
    name: str
    district_code: str
    district_name: str
    registered_on: date


KkNumber = Annotated[str, Field(pattern=r"^[0-9]{16}$", description="16-digit KK number")]
Nik = Annotated[str, Field(pattern=r"^[0-9]{16}$", description="16-digit NIK")]
MemberNiks = Annotated[
    list[Nik],
    Field(
        max_length=50,
        description="the members' NIKs, kept only as keyed hashes (for matching), never shown",
    ),
]


class HouseholdCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "village_code": "3204052001",
                    "members": 4,
                    "head_name": "Ibu Siti",
                    "kk_number": "3204050101090001",
                }
            ]
        },
    )
    village_code: VillageCode
    members: PositiveCount
    head_name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    kk_number: KkNumber | None = None
    member_niks: MemberNiks | None = None
    household_id: Id | None = None
    occurred_on: Day | None = None


class HouseholdUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"members": 5}]})
    members: PositiveCount
    member_niks: MemberNiks | None = None
    occurred_on: Day | None = None


class HouseholdMatch(BaseModel):
    """A lookup by a member's NIK or by the KK number; the numbers are only hashed, never kept."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"village_code": "3204052001", "nik": "3204054101900002"}]},
    )
    village_code: VillageCode
    nik: Nik | None = None
    kk_number: KkNumber | None = None
    member_niks: MemberNiks | None = Field(
        None, description="with kk_number: also say whether these are the members on record"
    )


class HouseholdMatchPublic(BaseModel):
    household_id: str
    village_code: str
    members: int
    same_member_niks: bool | None = None


class HouseholdPublic(BaseModel):
    household_id: str
    village_code: str
    district_code: str
    members: int
    head_name: str | None = None
    kk_last4: str | None = None
    registered_on: date
    updated_on: date | None = None
