"""The CloudEvents 1.0 envelope (structured JSON) every Lumbung event travels in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

VILLAGE_CODE_PATTERN = r"^[0-9]{10}$"
DISTRICT_CODE_PATTERN = r"^[0-9]{4}$"
TYPE_PREFIX = "lumbung."
DEADLETTER_TOPIC = "lumbung.deadletter.v1"


def topic_for(service: str) -> str:
    return f"lumbung.{service}.v1"


def event_type(service: str, name: str, version: int = 1) -> str:
    return f"lumbung.{service}.{name}.v{version}"


class CloudEvent(BaseModel):
    """Structured-mode CloudEvent with Lumbung's ``villagecode`` extension attribute."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = Field("1.0", pattern=r"^1\.0$")
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1, pattern=r"^lumbung\.[a-z]+\.[a-z_]+\.v[0-9]+$")
    time: datetime
    subject: str | None = None
    villagecode: str = Field(pattern=VILLAGE_CODE_PATTERN)
    datacontenttype: str = "application/json"
    # a dict as built; an event decoded by ``catalogue.decode_event`` carries its typed
    # payload model here instead (the same object as the payload it returns)
    data: dict[str, Any]

    @property
    def service(self) -> str:
        return self.type.split(".")[1]

    @property
    def name(self) -> str:
        return self.type.split(".")[2]

    def to_json_bytes(self) -> bytes:
        return json.dumps(self.to_wire(), separators=(",", ":"), ensure_ascii=False).encode()

    def to_wire(self) -> dict[str, Any]:
        wire = self.model_dump(mode="json", exclude_none=True)
        wire["time"] = self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return wire


def utcnow() -> datetime:
    return datetime.now(UTC)
