"""Response models of the resilience API (shapes from API.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Pillars(BaseModel):
    income: float
    diversity: float
    digital: float
    capacity: float
    assets: float
    green: float


class Income(BaseModel):
    umkm: int
    crop: int
    livestock: int
    total: int
    digital: int


class HouseholdView(BaseModel):
    household_id: str
    village_code: str
    as_of: str
    index: float
    band: str
    pillars: Pillars
    shock_factor: float
    income: Income
    rule_set: str
    explain: dict[str, Any] = {}


class Training(BaseModel):
    participants: int
    mean_ngain: float | None
    stages: dict[str, int]


class Idm(BaseModel):
    """The village's Indeks Desa Membangun (Kemendesa) of the latest year up to as_of."""

    year: int
    iks: float = Field(description="Indeks Ketahanan Sosial (social), 0-1")
    ike: float = Field(description="Indeks Ketahanan Ekonomi (economic), 0-1")
    ikl: float = Field(description="Indeks Ketahanan Lingkungan (ecological), 0-1")
    score: float = Field(description="IDM = mean of IKS, IKE and IKL")
    status: str


class VillageView(BaseModel):
    village_code: str
    as_of: str
    households_registered: int
    households_with_data: int
    coverage: float
    index_mean: float | None
    band: str | None
    bands: dict[str, int]
    pillars: dict[str, float | None]
    income: Income
    digital_share: float
    umkm_active: int
    green_adoption_rate: float
    training: Training
    rule_set: str
    idm: Idm | None = None


class TrendItem(BaseModel):
    month: str
    index_mean: float | None
    households_with_data: int


class Trend(BaseModel):
    items: list[TrendItem]


class FollowUp(BaseModel):
    household_id: str
    program_id: str
    stage: int
    last_mentoring_on: str | None


class FollowUps(BaseModel):
    items: list[FollowUp]


class DistrictVillage(BaseModel):
    village_code: str
    name: str | None
    index_mean: float | None
    band: str | None
    coverage: float
    households_with_data: int


class DistrictView(BaseModel):
    district_code: str
    as_of: str
    index_mean: float | None
    band: str | None = None
    households_with_data: int
    villages: list[DistrictVillage]
    rule_set: str


class Participant(BaseModel):
    household_id: str
    stage: int
    stage_name: str
    needs_follow_up: bool


class Participants(BaseModel):
    items: list[Participant]


class Impact(BaseModel):
    program_id: str
    participants: int
    comparison: int
    before_participants: int | None
    after_participants: int | None
    before_comparison: int | None
    after_comparison: int | None
    did: int | None
    months_after: int


class SetAsideFacts(BaseModel):
    """Facts about one household that another village's writer recorded: they count nowhere."""

    village_code: str = Field(description="the village the facts' writer named")
    facts: int
    event_ids: list[str]
    months: list[str] = Field(description="the months (YYYY-MM) the facts are dated in")
    reason: str


class SetAsideHousehold(BaseModel):
    household_id: str
    village_code: str = Field(description="the village the household is registered in")
    set_aside: list[SetAsideFacts]
