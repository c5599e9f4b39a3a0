"""What the demo generator produces: write commands, and the settings that shape them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.events.catalogue import CATALOGUE
from shared.integrations.messages import sentence

# The fictional region: province 99 does not exist, so the data can never pass for real.
DISTRICT_CODE = "9901"
DISTRICT_NAME = "Kabupaten Lumbung (Demo)"
PROGRAM_TITLE = "Pelatihan Media Sosial untuk Ketahanan Ekonomi Keluarga"
PROGRAM_ORGANIZER = "Ruang Komunitas Digital Desa"
TRAINING_DAY = date(2023, 9, 29)
# Six months of history before the training, so the programme's "before" period is whole.
HISTORY_START = date(2023, 3, 1)
DEMO_SUB = "lumbung-demo"
VILLAGES_PER_SUBDISTRICT = 25
MAX_VILLAGES = 99 * VILLAGES_PER_SUBDISTRICT  # sub-district codes 01..99

SERVICE_OF: dict[str, str] = {
    name: service for service, events in CATALOGUE.items() for name in events
}


@dataclass(frozen=True)
class DemoConfig:
    """One demo district. The same config (seed included) always yields the same commands."""

    seed: int = 1
    households: int = 500
    villages: int = 6
    today: date = field(default_factory=date.today)
    trainees: int | None = None  # default: 10 % of households, at most 60

    def __post_init__(self) -> None:
        if not 1 <= self.villages <= MAX_VILLAGES:
            raise ValueError(
                sentence(
                    f"jumlah desa harus antara 1 dan {MAX_VILLAGES}",
                    f"villages must be between 1 and {MAX_VILLAGES}",
                )
            )
        if self.households < self.villages:
            raise ValueError(
                sentence(
                    "setiap desa memerlukan paling sedikit satu rumah tangga",
                    "need at least one household per village",
                )
            )
        if self.today < date(TRAINING_DAY.year, TRAINING_DAY.month + 1, 1):
            raise ValueError(
                sentence(
                    f"hari terakhir riwayat (today) harus sesudah bulan pelatihan "
                    f"({TRAINING_DAY:%Y-%m})",
                    f"today must be after the training month ({TRAINING_DAY:%Y-%m})",
                )
            )
        if self.today > date.today():
            raise ValueError(
                sentence(
                    "hari terakhir riwayat (today) tidak boleh di masa depan (API menolak "
                    "tanggal yang akan datang)",
                    "today must not be in the future (the API refuses future days)",
                )
            )

    @property
    def trainee_target(self) -> int:
        if self.trainees is not None:
            return self.trainees
        return max(1, min(60, round(self.households * 0.1)))


@dataclass(frozen=True, slots=True)
class Command:
    """One write through the public API, and what its event will say.

    ``refs`` holds what the route takes from the path or from the parent record (the
    business's household, a herd's species), so the command can also become its event
    without a store (``shared.demo.events``). ``group`` is the household a command belongs
    to: commands of one group must run in order; groups are independent of each other.
    """

    method: str
    path: str
    body: dict[str, Any]
    key: str
    event: str
    village_code: str
    household_id: str | None = None
    refs: dict[str, Any] = field(default_factory=dict)

    @property
    def service(self) -> str:
        return SERVICE_OF[self.event]

    @property
    def group(self) -> str | None:
        return self.household_id


def content_key(seed_scope: str, method: str, path: str, body: dict[str, Any], nth: int) -> str:
    """Idempotency-Key from what the command says (and how often it was said before).

    Content-derived rather than positional: re-seeding the same seed later only adds the
    months since the last run, and identical commands of one household stay distinct.
    """
    canonical = json.dumps([seed_scope, method, path, body, nth], sort_keys=True, default=str)
    return "demo-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]
