"""Request and response models of the training API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.events import vocab
from shared.events.catalogue import Day, Id, Text, VillageCode
from shared.language import Invalid, say

FactKind = Literal["attendance", "assessment", "confidence", "mentoring_visit"]
PersonName = Annotated[str, Field(min_length=1, max_length=120)]
Score = Annotated[float, Field(ge=0, le=10**6, allow_inf_nan=False)]
MaxScore = Annotated[float, Field(gt=0, le=10**6, allow_inf_nan=False)]
ConfidenceScore = Annotated[int, Field(ge=1, le=5, description="1-5 confidence to sell online")]


def _examples(example: dict[str, object]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


# programmes --------------------------------------------------------------------------------
class ProgramCreate(BaseModel):
    model_config = _examples(
        {
            "title": "Pelatihan Pemasaran Digital UMKM",
            "organizer": "Dinas Koperasi dan UMKM Kabupaten Bandung",
            "village_codes": ["3204052001", "3204052002"],
            "start_on": "2026-02-02",
            "end_on": "2026-02-27",
            "topics": ["foto produk", "berjualan di marketplace", "pembukuan sederhana"],
        }
    )
    title: Text
    organizer: Text
    village_codes: list[VillageCode] = Field(min_length=1, max_length=500)
    start_on: Day
    end_on: Day
    topics: list[Text] = Field(min_length=1, max_length=50)
    program_id: Id | None = None
    occurred_on: Day | None = None

    @field_validator("village_codes")
    @classmethod
    def _one_district_no_repeats(cls, codes: list[str]) -> list[str]:
        # Reads find a programme by its district; one district per programme keeps them exact.
        if len(set(codes)) != len(codes):
            raise Invalid(say("ada desa yang tercantum dua kali", "a village is listed twice"))
        if len({code[:4] for code in codes}) > 1:
            raise Invalid(
                say(
                    "semua desa sebuah program harus dalam satu kabupaten",
                    "all villages of a programme must be in one district",
                )
            )
        return codes

    @field_validator("end_on")
    @classmethod
    def _ends_after_start(cls, end_on: date, info: ValidationInfo) -> date:
        start_on = info.data.get("start_on")
        if start_on is not None and end_on < start_on:
            raise Invalid(say("tidak boleh sebelum start_on", "must not be before start_on"))
        return end_on


class ProgramPublic(BaseModel):
    program_id: str
    title: str
    organizer: str
    village_codes: list[str]
    village_code: str
    district_code: str
    start_on: date
    end_on: date
    topics: list[str]
    occurred_on: date


# enrolments --------------------------------------------------------------------------------
class EnrolmentCreate(BaseModel):
    model_config = _examples(
        {
            "household_id": "hh-3204052001-0042",
            "village_code": "3204052001",
            "participant_name": "Ibu Euis Rahmawati",
        }
    )
    household_id: Id
    village_code: VillageCode
    participant_name: PersonName | None = None
    occurred_on: Day | None = None


class EnrolmentPublic(BaseModel):
    enrolment_id: str
    program_id: str
    household_id: str
    village_code: str
    district_code: str
    occurred_on: date
    participant_name: str | None = None


# facts of an enrolment ---------------------------------------------------------------------
class FactCreate(BaseModel):
    """Base of every fact about an enrolled household."""

    household_id: Id
    village_code: VillageCode
    occurred_on: Day | None = None


class AttendanceCreate(FactCreate):
    model_config = _examples(
        {
            "household_id": "hh-3204052001-0042",
            "village_code": "3204052001",
            "occurred_on": "2026-02-09",
        }
    )


class AssessmentCreate(FactCreate):
    model_config = _examples(
        {
            "household_id": "hh-3204052001-0042",
            "village_code": "3204052001",
            "kind": "pre",
            "score": 45,
            "max_score": 100,
            "occurred_on": "2026-02-02",
        }
    )
    kind: vocab.AssessmentKind
    # Declared before score so that score's check can see it.
    max_score: MaxScore
    score: Score

    @field_validator("score")
    @classmethod
    def _not_above_max(cls, score: float, info: ValidationInfo) -> float:
        max_score = info.data.get("max_score")
        if max_score is not None and score > max_score:
            raise Invalid(
                say("tidak boleh lebih besar dari max_score", "must not be greater than max_score")
            )
        return score


class ConfidenceCreate(FactCreate):
    model_config = _examples(
        {
            "household_id": "hh-3204052001-0042",
            "village_code": "3204052001",
            "score": 3,
            "occurred_on": "2026-03-15",
        }
    )
    score: ConfidenceScore


class MentoringCreate(FactCreate):
    model_config = _examples(
        {
            "household_id": "hh-3204052001-0042",
            "village_code": "3204052001",
            "mentor": "Pendamping PLUT Kab. Bandung",
            "occurred_on": "2026-04-06",
        }
    )
    mentor: Text


class FactPublic(BaseModel):
    fact_id: str
    fact: FactKind
    enrolment_id: str
    program_id: str
    household_id: str
    village_code: str
    district_code: str
    occurred_on: date


class AttendancePublic(FactPublic):
    pass


class AssessmentPublic(FactPublic):
    kind: vocab.AssessmentKind
    score: float
    max_score: float


class ConfidencePublic(FactPublic):
    score: int


class MentoringPublic(FactPublic):
    mentor: str


class RecordedFactPublic(FactPublic):
    """Any fact of an enrolment; only the fields of its kind are present."""

    kind: vocab.AssessmentKind | None = None
    score: int | float | None = None
    max_score: float | None = None
    mentor: str | None = None
