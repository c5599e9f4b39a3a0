"""Typed ``data`` payloads of every event in EVENTS.md: the single source of the contract.

The JSON Schemas and the AsyncAPI document in ``shared/events/schemas`` are generated from
these models (``python -m shared.events.generate``) and a test keeps them in step.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any, Literal, Union, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
)

from shared.events import vocab
from shared.events.envelope import (
    DISTRICT_CODE_PATTERN,
    VILLAGE_CODE_PATTERN,
    CloudEvent,
    event_type,
)
from shared.language import Invalid, say

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
VillageCode = Annotated[str, Field(pattern=VILLAGE_CODE_PATTERN, examples=["3204052001"])]
DistrictCode = Annotated[str, Field(pattern=DISTRICT_CODE_PATTERN, examples=["3204"])]
Rupiah = Annotated[int, Field(ge=0, le=10**13, description="whole rupiah (IDR)")]
Kg = Annotated[float, Field(ge=0, le=10**8, allow_inf_nan=False)]
Hectares = Annotated[float, Field(gt=0, le=10**5, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=10**7)]
PositiveCount = Annotated[int, Field(ge=1, le=10**7)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

# The earliest day a fact may carry: the founding of the Republic of Indonesia. Every
# Kemendagri village code, and so every village Lumbung records, postdates it; an earlier
# date (0001-01-01, 1900 for 2000) is a typo or a placeholder, never village history.
EARLIEST_DAY = date(1945, 8, 17)
BEFORE_EARLIEST_DAY = say(
    f"tidak boleh sebelum {EARLIEST_DAY.isoformat()} (berdirinya Republik Indonesia)",
    f"must not be before {EARLIEST_DAY.isoformat()} (the founding of the Republic of Indonesia)",
)


def _not_before_earliest_day(value: date) -> date:
    if value < EARLIEST_DAY:
        raise Invalid(BEFORE_EARLIEST_DAY)
    return value


def _digits_above(digits: str, *, or_equal: bool) -> str:
    """A regex alternation of the digit strings of the same width above ``digits``."""
    above = []
    for i, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - i - 1
            tail = "[0-9]" + (f"{{{rest}}}" if rest > 1 else "") if rest else ""
            above.append(f"{digits[:i]}[{int(digit) + 1}-9]{tail}")
    return "|".join([*above, digits] if or_equal else above)


def on_or_after_pattern(day: date) -> str:
    """A JSON Schema ``pattern`` that an ISO date (``format: date``) on or after ``day``
    matches and an earlier one does not, so that schema consumers refuse what we refuse."""
    year, month, dom = day.isoformat().split("-")
    return (
        f"^(?:(?:{_digits_above(year, or_equal=False)})-"
        f"|{year}-(?:{_digits_above(month, or_equal=False)})-"
        f"|{year}-{month}-(?:{_digits_above(dom, or_equal=True)}))"
    )


Day = Annotated[
    date,
    AfterValidator(_not_before_earliest_day),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "pattern": on_or_after_pattern(EARLIEST_DAY),
            "description": f"ISO date, on or after {EARLIEST_DAY.isoformat()}",
        }
    ),
]


class Payload(BaseModel):
    """Base of every ``data``: consumers ignore unknown fields; every fact has a village day."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    occurred_on: Day


# registry ---------------------------------------------------------------------------------
class VillageRegistered(Payload):
    village_code: VillageCode
    name: Text
    district_code: DistrictCode
    district_name: Text


class HouseholdRegistered(Payload):
    household_id: Id
    village_code: VillageCode
    members: PositiveCount


class HouseholdUpdated(Payload):
    household_id: Id
    members: PositiveCount


IdmStatus = Literal["sangat_tertinggal", "tertinggal", "berkembang", "maju", "mandiri"]
IndexShare = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class IdmRecorded(Payload):
    """A village's Indeks Desa Membangun for one year, as the Kemendesa IDM data publishes it:
    the social (IKS), economic (IKE) and ecological (IKL) resilience indices, their mean
    and the status."""

    village_code: VillageCode
    year: Annotated[int, Field(ge=2015, le=2100)]
    iks: IndexShare
    ike: IndexShare
    ikl: IndexShare
    score: IndexShare
    status: IdmStatus
    target_status: IdmStatus | None = None
    indicators: Annotated[int, Field(ge=0, le=200, description="indicator rows imported")] = 0


# training ---------------------------------------------------------------------------------
class ProgramCreated(Payload):
    program_id: Id
    title: Text
    organizer: Text
    village_codes: list[VillageCode] = Field(min_length=1)
    start_on: Day
    end_on: Day
    topics: list[Text] = Field(default_factory=list)


class ParticipantEnrolled(Payload):
    program_id: Id
    household_id: Id


class AttendanceRecorded(Payload):
    program_id: Id
    household_id: Id


class AssessmentRecorded(Payload):
    program_id: Id
    household_id: Id
    kind: vocab.AssessmentKind
    score: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    max_score: Annotated[float, Field(gt=0, allow_inf_nan=False)]


class ConfidenceRecorded(Payload):
    program_id: Id
    household_id: Id
    score: Annotated[int, Field(ge=1, le=5)]


class MentoringVisitRecorded(Payload):
    program_id: Id
    household_id: Id
    mentor: Text


# commerce ---------------------------------------------------------------------------------
class BusinessRegistered(Payload):
    business_id: Id
    household_id: Id
    name: Text
    category: Text


class ProductListed(Payload):
    business_id: Id
    household_id: Id
    product_id: Id
    name: Text
    unit: Text
    price: Rupiah
    packaging_score: Annotated[int, Field(ge=1, le=5)]
    certifications: list[vocab.Certification] = Field(default_factory=list)


class ChannelOpened(Payload):
    business_id: Id
    household_id: Id
    channel: vocab.Channel


class SaleRecorded(Payload):
    business_id: Id
    household_id: Id
    product_id: Id | None = None
    channel: vocab.Channel
    quantity: Annotated[float, Field(gt=0, le=10**8, allow_inf_nan=False)]
    unit_price: Rupiah
    amount: Rupiah


class CapitalReceived(Payload):
    business_id: Id
    household_id: Id
    source: vocab.CapitalSource
    kind: vocab.CapitalKind
    amount: Rupiah


# agriculture ------------------------------------------------------------------------------
class PlotRegistered(Payload):
    plot_id: Id
    household_id: Id
    area_ha: Hectares
    land_status: vocab.LandStatus


class CropPlanted(Payload):
    plot_id: Id
    household_id: Id
    crop: Text
    agrovoc: Annotated[str, Field(pattern=r"^c_[0-9]+$")] | None = None
    area_ha: Hectares


class HarvestRecorded(Payload):
    plot_id: Id
    household_id: Id
    crop: Text
    kg: Kg


class ProduceSold(Payload):
    household_id: Id
    crop: Text
    kg: Kg
    price_per_kg: Rupiah
    amount: Rupiah
    channel: vocab.Channel


class GreenPracticeAdopted(Payload):
    household_id: Id
    practice: vocab.Practice


class InputApplied(Payload):
    household_id: Id
    input_type: vocab.InputType
    kg: Kg


class CropLossReported(Payload):
    household_id: Id
    crop: Text
    cause: vocab.CropLossCause
    kg_lost: Kg


FREE_TEXT = (
    "Free text typed by extension workers or imported from their system: operators must not "
    "write names, NIK or KK numbers in it. GET /agriculture/feed and webhooks leave "
    "recommendation out."
)


class ExtensionVisitRecorded(Payload):
    household_id: Id
    extension_worker_id: Id
    topic: Annotated[Text, Field(description=FREE_TEXT)]
    recommendation: Annotated[str, Field(max_length=2000, description=FREE_TEXT)]
    source_system: Text


Season = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-MT[1-3]$",
        description="planting season: year and musim tanam 1-3",
        examples=["2026-MT1"],
    ),
]


class FarmerGroupRegistered(Payload):
    """A kelompok tani (farmer group) of a village; its name is the group's, never a person's."""

    group_id: Id
    village_code: VillageCode
    name: Text


class FarmerGroupJoined(Payload):
    group_id: Id
    household_id: Id


class InputPlanned(Payload):
    """Fertiliser planned for a household and season (e-RDKK): a plan, not ``input_applied``."""

    household_id: Id
    season: Season
    input_type: vocab.InputType
    product: Text
    kg: Kg
    group_id: Id | None = None
    source_system: Text


# livestock --------------------------------------------------------------------------------
class HerdRegistered(Payload):
    herd_id: Id
    household_id: Id
    species: vocab.Species
    count: Count


class AnimalsBorn(Payload):
    herd_id: Id
    household_id: Id
    species: vocab.Species
    count: PositiveCount


class AnimalsDied(Payload):
    herd_id: Id
    household_id: Id
    species: vocab.Species
    count: PositiveCount
    cause: vocab.DeathCause


class VaccinationRecorded(Payload):
    herd_id: Id
    household_id: Id
    species: vocab.Species
    vaccine: Text
    count: PositiveCount


class DiseaseReported(Payload):
    herd_id: Id
    household_id: Id
    species: vocab.Species
    disease: Text
    cases: PositiveCount


class LivestockSold(Payload):
    herd_id: Id
    household_id: Id
    species: vocab.Species
    count: PositiveCount
    price_per_head: Rupiah
    amount: Rupiah
    channel: vocab.Channel


class ManureComposted(Payload):
    herd_id: Id
    household_id: Id
    kg: Kg


CATALOGUE: dict[str, dict[str, type[Payload]]] = {
    "registry": {
        "village_registered": VillageRegistered,
        "household_registered": HouseholdRegistered,
        "household_updated": HouseholdUpdated,
        "idm_recorded": IdmRecorded,
    },
    "training": {
        "program_created": ProgramCreated,
        "participant_enrolled": ParticipantEnrolled,
        "attendance_recorded": AttendanceRecorded,
        "assessment_recorded": AssessmentRecorded,
        "confidence_recorded": ConfidenceRecorded,
        "mentoring_visit_recorded": MentoringVisitRecorded,
    },
    "commerce": {
        "business_registered": BusinessRegistered,
        "product_listed": ProductListed,
        "channel_opened": ChannelOpened,
        "sale_recorded": SaleRecorded,
        "capital_received": CapitalReceived,
    },
    "agriculture": {
        "plot_registered": PlotRegistered,
        "crop_planted": CropPlanted,
        "harvest_recorded": HarvestRecorded,
        "produce_sold": ProduceSold,
        "green_practice_adopted": GreenPracticeAdopted,
        "input_applied": InputApplied,
        "crop_loss_reported": CropLossReported,
        "extension_visit_recorded": ExtensionVisitRecorded,
        "farmer_group_registered": FarmerGroupRegistered,
        "farmer_group_joined": FarmerGroupJoined,
        "input_planned": InputPlanned,
    },
    "livestock": {
        "herd_registered": HerdRegistered,
        "animals_born": AnimalsBorn,
        "animals_died": AnimalsDied,
        "vaccination_recorded": VaccinationRecorded,
        "disease_reported": DiseaseReported,
        "livestock_sold": LivestockSold,
        "manure_composted": ManureComposted,
    },
}

EVENT_MODELS: dict[str, type[Payload]] = {
    event_type(service, name): model
    for service, events in CATALOGUE.items()
    for name, model in events.items()
}
MODEL_TYPES: dict[type[Payload], str] = {model: t for t, model in EVENT_MODELS.items()}
SERVICES: tuple[str, ...] = tuple(CATALOGUE)
MAX_EVENT_BYTES = 1024 * 1024


class InvalidEvent(ValueError):
    """A message that is not a valid Lumbung event; ``reason`` goes to the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# A run of digits this long takes the careful path, where ``json.loads`` refuses integers
# of more than 4,300 digits (CPython's guard against quadratic conversions).
_LONG_NUMBER = re.compile(r"[0-9]{1000}")


def _typed_envelope(etype: str, model: type[Payload]) -> type[CloudEvent]:
    """The envelope of one event type, its ``data`` validated as that type's payload."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{model.__name__}Event",
        __base__=CloudEvent,
        type=(Literal[etype], ...),
        data=(model, ...),
    )


TYPED_ENVELOPES: dict[str, type[CloudEvent]] = {
    etype: _typed_envelope(etype, model) for etype, model in EVENT_MODELS.items()
}
# every event of the catalogue, told apart by its ``type``: one pass of pydantic's JSON
# parser validates the envelope and the payload together
_ANY_EVENT: TypeAdapter[CloudEvent] = TypeAdapter(
    Annotated[Union[tuple(TYPED_ENVELOPES.values())], Field(discriminator="type")]  # noqa: UP007
)


def decode_event(raw: bytes | str) -> tuple[CloudEvent, Payload]:
    """Parse and validate one structured CloudEvent; raise InvalidEvent with a short reason.

    The envelope comes back with its ``data`` as the payload model (the payload itself is
    the second item). The usual, valid event is parsed, and its envelope and payload
    validated, in one pass of pydantic's JSON parser over a union told apart by ``type``
    (measured: about a fifth less than validating the envelope, then the payload from the
    envelope's dict). Anything that pass refuses, or that carries a very long number, goes
    the careful way below, which gives each kind of bad message its own reason and returns
    the same result for a good one.
    """
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(f"too large: {len(raw)} bytes > {MAX_EVENT_BYTES}")
    if isinstance(raw, str) and _LONG_NUMBER.search(raw) is None:
        try:
            envelope = _ANY_EVENT.validate_json(raw)
        except ValidationError:
            pass
        else:
            return envelope, cast(Payload, envelope.data)
    return _decode_carefully(raw)


def _decode_carefully(raw: bytes | str) -> tuple[CloudEvent, Payload]:
    """Step by step, so that each kind of bad message gets its own reason."""
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors; so is an integer of more
        # than 4300 digits, and deep nesting is a RecursionError: all of them are poison
        # for a consumer unless they are dead-lettered like any other bad message.
        raise InvalidEvent(f"not JSON: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(body, dict):
        raise InvalidEvent("not a JSON object")
    try:
        envelope = CloudEvent.model_validate(body)
    except ValidationError as exc:
        raise InvalidEvent("bad envelope: " + _short(exc)) from None
    typed = TYPED_ENVELOPES.get(envelope.type)
    if typed is None:
        raise InvalidEvent(f"unknown event type: {envelope.type}")
    try:
        payload = EVENT_MODELS[envelope.type].model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEvent(f"bad data for {envelope.type}: " + _short(exc)) from None
    # both parts are valid: the same typed envelope as the one-pass way, without
    # validating the payload a second time
    fields = dict(envelope)
    fields["data"] = payload
    return typed.model_construct(envelope.model_fields_set, **fields), payload


def _short(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
        for err in exc.errors()[:5]
    )
