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

# AGROVOC concepts (FAO) for the crops Lumbung's villages name most, so extension systems can
# match facts to their own crop lists. Keys are crop names as the API stores them (lower case,
# single spaces), Indonesian and English. Only concepts checked against published AGROVOC
# mappings are listed; a crop not listed has no concept rather than a guessed one.
AGROVOC_URI = "http://aims.fao.org/aos/agrovoc/"
_RICE, _MAIZE, _SOYBEANS, _CASSAVA, _SUGARCANE = "c_6599", "c_12332", "c_14477", "c_9649", "c_7501"
CROP_AGROVOC: dict[str, str] = {
    "padi": _RICE,
    "padi sawah": _RICE,
    "padi gogo": _RICE,
    "beras": _RICE,
    "gabah": _RICE,
    "rice": _RICE,
    "jagung": _MAIZE,
    "maize": _MAIZE,
    "corn": _MAIZE,
    "kedelai": _SOYBEANS,
    "kacang kedelai": _SOYBEANS,
    "soybean": _SOYBEANS,
    "soybeans": _SOYBEANS,
    "singkong": _CASSAVA,
    "ubi kayu": _CASSAVA,
    "ketela pohon": _CASSAVA,
    "cassava": _CASSAVA,
    "tebu": _SUGARCANE,
    "sugarcane": _SUGARCANE,
    "sugar cane": _SUGARCANE,
}


def agrovoc_for(crop: str | None, given: str | None = None) -> dict[str, str] | None:
    """``{"id", "uri"}`` of a crop's AGROVOC concept: the one given with the fact, else the
    table's; None when neither knows it."""
    concept = given or (CROP_AGROVOC.get(" ".join(crop.split()).lower()) if crop else None)
    return {"id": concept, "uri": AGROVOC_URI + concept} if concept else None
