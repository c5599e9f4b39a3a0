"""Fictional Indonesian names for the demo: villages, people, businesses, codes."""

from __future__ import annotations

import random

from shared.demo.model import DISTRICT_CODE, VILLAGES_PER_SUBDISTRICT

VILLAGE_NAMES = (
    "Sawahlega",
    "Pangangonan",
    "Karyamukti",
    "Sindangjaya",
    "Tegalhijau",
    "Kandangsari",
    "Bojongkarya",
    "Leuwimulya",
    "Rancatengah",
    "Wanasari Kidul",
    "Margaluyu Girang",
    "Cikalapa",
)
_PREFIXES = (
    "Suka", "Mekar", "Sindang", "Karang", "Tegal", "Bojong", "Cikal", "Leuwi", "Ranca",
    "Wana", "Marga", "Jati", "Giri", "Tanjung", "Pasir", "Sumber", "Harja", "Mulya",
)  # fmt: skip
_SUFFIXES = (
    "lestari", "makmur", "rahayu", "wangi", "subur", "raharja", "laksana", "asih", "tani",
    "mukti", "waras", "manah", "gumelar", "sejati",
)  # fmt: skip
_QUARTERS = ("", " Kidul", " Lor", " Wetan", " Kulon", " Girang", " Hilir")

WOMEN = (
    "Siti", "Euis", "Nining", "Yati", "Dedeh", "Wati", "Sri", "Lilis", "Neneng", "Rina",
    "Ani", "Tuti", "Iis", "Popon", "Imas", "Ratna", "Dewi", "Yuyun",
)  # fmt: skip
MEN = (
    "Ujang", "Asep", "Dadang", "Cecep", "Agus", "Budi", "Wahyu", "Slamet", "Joko", "Dedi",
    "Yayan", "Hendra", "Rudi", "Engkos", "Tatang", "Iwan", "Dodi", "Mamat",
)  # fmt: skip
FAMILY = (
    "Suryana", "Rahmawati", "Hidayat", "Kurniawan", "Setiawati", "Permana", "Nurhayati",
    "Sumarni", "Saputra", "Wulandari", "Gunawan", "Maryani", "Sopandi", "Komariah",
)  # fmt: skip
_BRANDS = (
    "Sari Rasa", "Barokah", "Mekar Jaya", "Mandiri", "Lestari", "Sumber Rejeki", "Berkah",
    "Putri Desa", "Asli Desa", "Tiga Saudara", "Harapan", "Rasa Ibu", "Mugi Lancar",
)  # fmt: skip


def village_name(index: int) -> str:
    """A stable name for the index-th village (the same for every seed)."""
    if index < len(VILLAGE_NAMES):
        return VILLAGE_NAMES[index]
    n = index - len(VILLAGE_NAMES)
    base = _PREFIXES[n % len(_PREFIXES)] + _SUFFIXES[(n // len(_PREFIXES)) % len(_SUFFIXES)]
    quarter = _QUARTERS[(n // (len(_PREFIXES) * len(_SUFFIXES))) % len(_QUARTERS)]
    return base + quarter


def village_code(index: int) -> str:
    """9901 + sub-district (2 digits) + village (4 digits, 2xxx as Kemendagri's desa)."""
    sub, n = divmod(index, VILLAGES_PER_SUBDISTRICT)
    return f"{DISTRICT_CODE}{1 + sub:02d}{2001 + n:04d}"


def person(rng: random.Random) -> tuple[str, str]:
    """(full name with honorific, given name)."""
    if rng.random() < 0.55:
        given = rng.choice(WOMEN)
        return f"Ibu {given} {rng.choice(FAMILY)}", given
    given = rng.choice(MEN)
    return f"Bapak {given} {rng.choice(FAMILY)}", given


def brand(rng: random.Random, given: str) -> str:
    return f"Bu {given}" if rng.random() < 0.2 else rng.choice(_BRANDS)


def kk_number(rng: random.Random, code: str) -> str:
    """16 digits: the (fictional) area code, the issue date DDMMYY, a serial."""
    return (
        f"{code[:6]}{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}"
        f"{rng.randint(5, 22):02d}{rng.randint(1, 9999):04d}"
    )
