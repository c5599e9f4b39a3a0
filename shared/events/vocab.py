"""Closed vocabularies of EVENTS.md. Anything outside them is refused with a 422."""

from __future__ import annotations

from typing import Literal, get_args

DigitalChannel = Literal[
    "shopee",
    "tokopedia",
    "tiktok_shop",
    "lazada",
    "bukalapak",
    "whatsapp",
    "facebook",
    "instagram",
    "website",
    "other_online",
]
OfflineChannel = Literal[
    "market",
    "shop",
    "middleman",
    "cooperative",
    "bumdes",
    "direct",
    "other_offline",
]
Channel = Literal[DigitalChannel, OfflineChannel]
CapitalSource = Literal[
    "kur",
    "bumdes",
    "cooperative",
    "bank",
    "government_grant",
    "private_grant",
    "family",
    "other",
]
CapitalKind = Literal["loan", "grant"]
Practice = Literal[
    "organic_fertilizer",
    "compost",
    "integrated_pest_management",
    "agroforestry",
    "crop_rotation",
    "intercropping",
    "water_harvesting",
    "drip_irrigation",
    "biochar",
    "cover_crop",
    "manure_compost",
    "biogas",
]
OrganicInput = Literal["organic_fertilizer", "biopesticide"]
ChemicalInput = Literal["chemical_fertilizer", "chemical_pesticide"]
InputType = Literal[OrganicInput, ChemicalInput]
Species = Literal["cattle", "buffalo", "goat", "sheep", "pig", "chicken", "duck", "other"]
CropLossCause = Literal["pest", "disease", "flood", "drought", "landslide", "fire", "other"]
DeathCause = Literal["disease", "disaster", "accident", "old_age", "unknown"]
LandStatus = Literal["owned", "rented", "sharecropped", "communal"]
AssessmentKind = Literal["pre", "post"]
Certification = Literal["pirt", "halal", "nib", "bpom", "sni", "organic", "other"]

DIGITAL_CHANNELS: frozenset[str] = frozenset(get_args(DigitalChannel))
ORGANIC_INPUTS: frozenset[str] = frozenset(get_args(OrganicInput))
