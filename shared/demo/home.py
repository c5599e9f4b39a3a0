"""One household's place in the scenario, and the writer that turns its story into commands."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.demo.calendar import Clock
from shared.demo.model import Command, content_key

ARCHETYPES = ("farming", "livestock", "umkm", "mixed")


@dataclass(frozen=True)
class Village:
    index: int
    code: str
    name: str
    archetype: str
    households: int
    flood: bool = False
    outbreak: bool = False
    in_programme: bool = False
    # household ordinal -> global trainee ordinal (which pathway outcome it gets)
    trainees: dict[int, int] = field(default_factory=dict)


def _json_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    return value


class Writer:
    """Collects one group's commands; identical commands get distinct keys by their count."""

    def __init__(self, scope: str, village_code: str, household_id: str | None) -> None:
        self.scope = scope
        self.village_code = village_code
        self.household_id = household_id
        self.commands: list[Command] = []
        self._said: dict[str, int] = {}

    def write(
        self,
        path: str,
        event: str,
        body: dict[str, Any],
        refs: dict[str, Any] | None = None,
        method: str = "POST",
    ) -> None:
        clean = {k: _json_value(v) for k, v in body.items() if v is not None}
        said = f"{method} {path} {sorted(clean.items())}"
        nth = self._said[said] = self._said.get(said, -1) + 1
        self.commands.append(
            Command(
                method=method,
                path=path,
                body=clean,
                key=content_key(self.scope, method, path, clean, nth),
                event=event,
                village_code=self.village_code,
                household_id=self.household_id,
                refs=dict(refs or {}),
            )
        )


@dataclass
class Home:
    """A household being written: ids, its own random streams, the clock."""

    seed: int
    village: Village
    ordinal: int
    clock: Clock
    writer: Writer
    outcome: str | None = None  # the pathway outcome, when enrolled in the programme

    @property
    def household_id(self) -> str:
        return self.id("hh")

    @property
    def code(self) -> str:
        return self.village.code

    @property
    def may_sell_online(self) -> bool:
        """Trainees who stall never sell online, in any sector (that is their story)."""
        return self.outcome in (None, "sustained")

    def id(self, kind: str, suffix: str = "") -> str:
        return f"demo{self.seed}-{kind}-{self.village.index:04d}-{self.ordinal:05d}{suffix}"

    def rng(self, sector: str) -> random.Random:
        """A separate stream per sector: one sector's draws never shift another's."""
        return random.Random(f"{self.seed}/{self.village.index}/{self.ordinal}/{sector}")

    def write(self, path: str, event: str, body: dict[str, Any], **refs: Any) -> None:
        self.writer.write(path, event, body, refs or None)

    def fact(
        self, path: str, event: str, day: date | None, body: dict[str, Any], **refs: Any
    ) -> bool:
        """A household-level fact (body carries household and village); skipped after today."""
        if day is None:
            return False
        mine = {"household_id": self.household_id, "village_code": self.code}
        self.write(path, event, {**mine, **body, "occurred_on": day}, **refs)
        return True
