"""Need domains, how HSDS taxonomy terms and service names map to them, and languages."""

from __future__ import annotations

from collections.abc import Iterable

# The need domains a community service can meet. The first five are the CMS AHC core
# domains a social-needs screen reports (same codes as the social package).
NEEDS: dict[str, str] = {
    "housing": "Housing",
    "food": "Food",
    "transportation": "Transportation",
    "utilities": "Utilities",
    "safety": "Interpersonal safety",
    "financial": "Financial strain",
    "employment": "Employment",
    "education": "Education",
    "legal": "Legal help",
    "health": "Health care",
    "behavioral-health": "Mental health and substance use",
    "family": "Family and caregiver support",
}

# AIRS/211 LA taxonomy code prefixes (the most used HSDS taxonomy), longest match wins.
TAXONOMY_PREFIXES: dict[str, str] = {
    "BD-1800": "food",  # Food
    "BD-5000": "food",  # Meals
    "BH-1800": "housing",  # Emergency shelter
    "BH-3800": "housing",  # Housing expense assistance (rent)
    "BH": "housing",
    "BT": "transportation",
    "BV": "utilities",
    "PH-1400": "safety",  # Domestic violence hotlines / services
    "RP-1400.8000-200": "safety",
    "FT": "legal",
    "NL": "financial",
    "ND": "employment",
    "HH": "education",
    "LN": "health",
    "RX": "behavioral-health",
    "RR": "behavioral-health",
}

# Words in a taxonomy term's name or a service's name that show the need it meets.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "housing": ("housing", "shelter", "rent", "eviction", "homeless"),
    "food": ("food", "meal", "pantry", "groceries", "nutrition", "snap"),
    "transportation": ("transport", "ride", "bus pass", "transit", "paratransit"),
    "utilities": ("utility", "utilities", "electric", "energy bill", "water bill", "heating"),
    "safety": ("domestic violence", "family violence", "abuse", "safety", "crisis shelter"),
    "financial": ("financial", "tax preparation", "benefits enrollment", "cash assistance"),
    "employment": ("employment", "job training", "workforce"),
    "legal": ("legal aid", "legal help", "lawyer"),
    "behavioral-health": ("mental health", "counseling", "substance use", "recovery"),
    "family": ("caregiver", "respite", "childcare", "child care"),
}

# ISO 639-1 codes and the language names HSDS data often carries instead.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Spanish",
    "vi": "Vietnamese",
    "zh": "Chinese",
    "ar": "Arabic",
    "ko": "Korean",
    "fr": "French",
    "de": "German",
    "hi": "Hindi",
    "ru": "Russian",
    "tl": "Tagalog",
    "pt": "Portuguese",
    "asl": "American Sign Language",
}
_NAMED = {name.lower(): code for code, name in LANGUAGES.items()} | {
    "español": "es",
    "espanol": "es",
    "mandarin": "zh",
    "cantonese": "zh",
    "sign language": "asl",
}

WEEKDAYS: dict[int, str] = {
    1: "Monday",
    2: "Tuesday",
    3: "Wednesday",
    4: "Thursday",
    5: "Friday",
    6: "Saturday",
    7: "Sunday",
}
RRULE_DAYS = {"MO": 1, "TU": 2, "WE": 3, "TH": 4, "FR": 5, "SA": 6, "SU": 7}


def needs_from(terms: Iterable[tuple[str, str]], name: str, description: str = "") -> list[str]:
    """The need domains a service meets, from its taxonomy terms (code, name) and its own
    name (the description only when nothing else says), in the order of :data:`NEEDS`."""
    found: set[str] = set()
    for code, term in terms:
        code = code.strip().upper()
        prefixes = sorted(TAXONOMY_PREFIXES, key=len, reverse=True)
        match = next((p for p in prefixes if code.startswith(p)), None)
        if match:
            found.add(TAXONOMY_PREFIXES[match])
        found.update(_by_words(term))
        if code.lower() in NEEDS:
            found.add(code.lower())
    found.update(_by_words(name))
    if not found:
        found.update(_by_words(description))
    return [need for need in NEEDS if need in found]


def _by_words(text: str) -> set[str]:
    lowered = f" {text.lower()} "
    return {need for need, words in KEYWORDS.items() if any(w in lowered for w in words)}


def language_code(code: str | None, name: str | None) -> str | None:
    """An ISO 639-1 code from an HSDS language row's ``code`` or its name."""
    if code and code.strip():
        return code.strip().lower()[:16]
    if name and name.strip():
        return _NAMED.get(name.strip().lower(), name.strip().lower()[:16])
    return None


def language_name(code: str | None) -> str:
    if not code:
        return ""
    return LANGUAGES.get(code, code)
