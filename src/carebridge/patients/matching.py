"""Duplicate-patient scoring: how likely two sets of demographics describe the same person, with
the reasons a care coordinator reads before merging or keeping both records.

Pure: no database and nothing from the rest of Carebridge. The patients service finds the
candidates (by folded name prefix, phone, email and `birth_date_variants`) and calls `score`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import phonenumbers

from carebridge.patients.names import fold, jaro_winkler, nickname_groups

__all__ = [
    "MatchResult",
    "PersonFacts",
    "birth_date_variants",
    "level_for",
    "score",
]


@dataclass(frozen=True)
class PersonFacts:
    """The demographics compared. `given` may hold several given names, space-separated (first,
    then middle names); `phones` are E.164 strings."""

    family: str
    given: str
    birth_date: date | None
    phones: tuple[str, ...] = ()
    email: str | None = None
    postal_code: str | None = None
    address_line: str | None = None
    sex: str | None = None


@dataclass(frozen=True)
class MatchResult:
    """`score` 0-100; `reasons` in plain English, for and against the match, in the order name,
    birth date, phone, email, address, sex; `level` is "very likely", "likely", "possible" or
    "unlikely"."""

    score: int
    reasons: tuple[str, ...]
    level: str


# Weights. The score is a sum of evidence, clamped to 0-100, read against fixed levels
# (very likely >= 85, likely >= 60, possible >= 40). They are set so that:
# - name + date of birth alone is "likely", not "very likely": in a large population two people
#   share a common name and a birth date, so a contact detail (phone, email, address) is needed
#   on top to reach "very likely";
# - a shared phone, email or address alone never reaches "possible": households share them;
# - a different birth date outweighs a full name match, because birth dates are checked at every
#   visit; the typo patterns people actually make (day/month swapped, one digit off) still count
#   for, at a discount, since a coincidence of exactly that shape is rare;
# - plainly different first names (not a nickname, typo, initial or middle name) cost points and
#   cap the score below "likely" whatever else is shared: twins share a last name, birth date,
#   phone and address, and so do other family members of one household.
W_FAMILY_EXACT = 20  # the same last name (case, accents, punctuation, spacing ignored)
W_FAMILY_PARTIAL = 15  # one part of a compound last name: García López / García
W_FAMILY_TYPO = 15  # Jaro-Winkler >= 0.9 or one letter edited: Smyth / Smith
W_GIVEN_EXACT = 15  # first names are less distinctive than last names
W_GIVEN_NICKNAME = 13  # Bob / Robert: the usual way a name is written differently
W_GIVEN_TYPO = 12  # Jonathon / Jonathan
W_GIVEN_MIDDLE = 8  # goes by a middle name: "J Robert" / "Robert", or same first, new middle
W_GIVEN_INITIAL = 6  # "J" / "John"
W_GIVEN_DIFFERENT = -10  # John / James: see the cap below
W_SWAPPED_NAMES_PENALTY = 3  # first and last names swapped: a little less than in place
W_DOB_EXACT = 30
W_DOB_DAY_MONTH_SWAPPED = 22  # 03/04 vs 04/03: the most common date-entry error
W_DOB_ONE_DIGIT = 16  # one digit off or two adjacent digits swapped, in one part of the date
W_DOB_DIFFERENT = -30
W_PHONE = 20  # any number in common
W_EMAIL = 18
W_ADDRESS = 12  # same postal code and same street line
W_SEX_DIFFERENT = -8  # a registration error or a change, but usually another person
DIFFERENT_GIVEN_CAP = 55  # twins and household members stay at most "possible"

LEVELS: tuple[tuple[int, str], ...] = ((85, "very likely"), (60, "likely"), (40, "possible"))
NAME_TYPO_THRESHOLD = 0.9

# Parts of compound surnames too common to count as a shared part on their own.
_SURNAME_PARTICLES = frozenset(
    {
        "d", "da", "das", "de", "del", "della", "der", "des", "di", "do", "dos", "du", "e",
        "el", "la", "las", "le", "lo", "los", "mac", "mc", "san", "santa", "st", "ten", "ter",
        "van", "von", "y",
    }
)  # fmt: skip
_NAME_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015/,_]+")


def level_for(value: int) -> str:
    """The level name a score falls in."""
    for threshold, name in LEVELS:
        if value >= threshold:
            return name
    return "unlikely"


def birth_date_variants(d: date) -> tuple[date, ...]:
    """The birth dates worth looking up for candidates of someone born on `d`: the date itself
    and, when it is a valid and different date, the date with day and month swapped."""
    if d.day > 12 or d.day == d.month:
        return (d,)
    return (d, d.replace(month=d.day, day=d.month))


def score(candidate: PersonFacts, existing: PersonFacts) -> MatchResult:
    """Score how likely `candidate` (being registered or imported) and `existing` (a record
    already on file) are the same person. Symmetric in its score; reasons name the candidate's
    value first."""
    names = _compare_names(candidate, existing)
    parts = [
        names,
        _compare_birth_dates(candidate.birth_date, existing.birth_date),
        _compare_phones(candidate.phones, existing.phones),
        _compare_emails(candidate.email, existing.email),
        _compare_addresses(candidate, existing),
        _compare_sex(candidate.sex, existing.sex),
    ]
    total = sum(part.points for part in parts)
    if names.caps_score:
        total = min(total, DIFFERENT_GIVEN_CAP)
    total = max(0, min(100, total))
    reasons = tuple(reason for part in parts for reason in part.reasons)
    return MatchResult(score=total, reasons=reasons, level=level_for(total))


# ---------------------------------------------------------------------------------------------
# Evidence


@dataclass(frozen=True)
class _Evidence:
    points: int = 0
    reasons: tuple[str, ...] = ()
    caps_score: bool = False


_NONE = _Evidence()


@dataclass(frozen=True)
class _Token:
    written: str  # as entered, for reasons
    key: str  # folded


def _tokens(raw: str) -> list[_Token]:
    out: list[_Token] = []
    for piece in _NAME_SEPARATORS.split(raw.strip()):
        out.extend(_Token(piece, key) for key in fold(piece).split())
    return out


def _plain(text: str) -> str:
    return " ".join(text.casefold().split())


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _written_same(part: str, a: str, b: str) -> str:
    """Reason for two values of one name part that fold to the same key."""
    a, b = a.strip(), b.strip()
    pa, pb = _plain(a), _plain(b)
    if pa == pb:
        return f"same {part}"
    if _strip_marks(pa) == _strip_marks(pb):
        return f"{part} differs only in accents ({a} / {b})"
    return f"{part} differs only in punctuation, spacing or accents ({a} / {b})"


def _squashed(text: str) -> str:
    return fold(text).replace(" ", "")


def _one_edit_apart(a: str, b: str) -> bool:
    """One letter changed, added or dropped, or two adjacent letters swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return _one_keystroke_apart(a, b)
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]


def _compare_family(a: str, b: str) -> _Evidence:
    ka, kb = _squashed(a), _squashed(b)
    if not ka or not kb:
        return _NONE
    if ka == kb:
        return _Evidence(W_FAMILY_EXACT, (_written_same("last name", a, b),))
    parts_a = {t.key for t in _tokens(a)} - _SURNAME_PARTICLES
    parts_b = {t.key for t in _tokens(b)} - _SURNAME_PARTICLES
    if parts_a & parts_b:
        return _Evidence(
            W_FAMILY_PARTIAL, (f"last name shares a part ({a.strip()} / {b.strip()})",)
        )
    # Jaro-Winkler misses a single changed letter in a short name (Smyth / Smith is 0.89), so a
    # one-letter edit counts too from four letters on. Not for first names: twins are often
    # named one letter apart (Ella / Emma), and they share the last name anyway.
    if jaro_winkler(ka, kb) >= NAME_TYPO_THRESHOLD or (
        min(len(ka), len(kb)) >= 4 and _one_edit_apart(ka, kb)
    ):
        return _Evidence(
            W_FAMILY_TYPO, (f"last name spelled similarly ({a.strip()} / {b.strip()})",)
        )
    return _NONE


def _nickname_reason(a: _Token, b: _Token) -> str | None:
    shared = nickname_groups(a.key) & nickname_groups(b.key)
    if not shared:
        return None
    if b.key in shared:
        return f"'{a.written}' is a nickname for '{b.written}'"
    if a.key in shared:
        return f"'{b.written}' is a nickname for '{a.written}'"
    full = min(shared).title()
    return f"'{a.written}' and '{b.written}' are both forms of '{full}'"


def _same_name_kind(a: _Token, b: _Token) -> tuple[str, str | None] | None:
    """How two single given names match: ("exact"|"nickname"|"typo"|"initial", reason)."""
    if a.key == b.key:
        return ("exact", None)
    nickname = _nickname_reason(a, b)
    if nickname:
        return ("nickname", nickname)
    if len(a.key) == 1 or len(b.key) == 1:
        if a.key[0] == b.key[0]:
            return ("initial", f"first initial matches ({a.written} / {b.written})")
        return None
    if jaro_winkler(a.key, b.key) >= NAME_TYPO_THRESHOLD:
        return ("typo", f"first name spelled similarly ({a.written} / {b.written})")
    return None


def _compare_given(a: str, b: str) -> _Evidence:
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return _NONE
    if "".join(t.key for t in ta) == "".join(t.key for t in tb):
        return _Evidence(W_GIVEN_EXACT, (_written_same("first name", a, b),))
    first = _same_name_kind(ta[0], tb[0])
    if first is not None:
        kind, reason = first
        if kind == "exact":
            middle_a, middle_b = ta[1:], tb[1:]
            if middle_a and middle_b and _same_name_kind(middle_a[0], middle_b[0]) is None:
                written_a = " ".join(t.written for t in middle_a)
                written_b = " ".join(t.written for t in middle_b)
                return _Evidence(
                    W_GIVEN_MIDDLE,
                    (f"same first name, different middle names ({written_a} / {written_b})",),
                    caps_score=True,
                )
            return _Evidence(W_GIVEN_EXACT, ("same first name",))
        points = {"nickname": W_GIVEN_NICKNAME, "typo": W_GIVEN_TYPO}.get(kind, W_GIVEN_INITIAL)
        return _Evidence(points, (reason,) if reason else ())
    # Known by a middle name on one of the records: "J Robert Smith" / "Robert Smith".
    for x, y in [*((ta[0], t) for t in tb[1:]), *((t, tb[0]) for t in ta[1:])]:
        kind_reason = _same_name_kind(x, y)
        if kind_reason is not None and kind_reason[0] != "initial":
            return _Evidence(
                W_GIVEN_MIDDLE,
                (f"first name matches a middle name ({a.strip()} / {b.strip()})",),
            )
    return _Evidence(
        W_GIVEN_DIFFERENT,
        (f"different first names ({ta[0].written} / {tb[0].written})",),
        caps_score=True,
    )


def _compare_names(candidate: PersonFacts, existing: PersonFacts) -> _Evidence:
    family = _compare_family(candidate.family, existing.family)
    given = _compare_given(candidate.given, existing.given)
    straight = _Evidence(
        family.points + given.points,
        family.reasons + given.reasons,
        family.caps_score or given.caps_score,
    )
    swapped = _compare_swapped(candidate, existing)
    if swapped is not None and swapped.points > straight.points:
        return swapped
    if (
        straight.caps_score
        and family.points > 0
        and candidate.birth_date is not None
        and candidate.birth_date == existing.birth_date
    ):
        note = "same last name and birth date but different given names: could be twins"
        return _Evidence(straight.points, (*straight.reasons, note), caps_score=True)
    return straight


def _loose_name_match(a: str, b: str) -> bool:
    """Whether two name parts match closely enough to recognise swapped first/last names."""
    ka, kb = _squashed(a), _squashed(b)
    if not ka or not kb:
        return False
    if ka == kb or jaro_winkler(ka, kb) >= NAME_TYPO_THRESHOLD:
        return True
    ta, tb = _tokens(a), _tokens(b)
    return _nickname_reason(ta[0], tb[0]) is not None


def _compare_swapped(candidate: PersonFacts, existing: PersonFacts) -> _Evidence | None:
    if not (
        _loose_name_match(candidate.family, existing.given)
        and _loose_name_match(candidate.given, existing.family)
    ):
        return None
    # Score each crossed pair both ways round and keep the lower, so the score stays symmetric.
    as_family = min(
        _compare_family(candidate.given, existing.family).points,
        _compare_family(candidate.family, existing.given).points,
    )
    as_given = min(
        _compare_given(candidate.family, existing.given).points,
        _compare_given(candidate.given, existing.family).points,
    )
    points = max(as_family, 0) + max(as_given, 0) - W_SWAPPED_NAMES_PENALTY
    written_a = f"{candidate.given.strip()} {candidate.family.strip()}"
    written_b = f"{existing.given.strip()} {existing.family.strip()}"
    return _Evidence(points, (f"first and last names swapped ({written_a} / {written_b})",))


def _us_date(d: date) -> str:
    return f"{d.month:02d}/{d.day:02d}/{d.year:04d}"


def _one_keystroke_apart(a: str, b: str) -> bool:
    """Same length and one character different, or two adjacent characters swapped."""
    if len(a) != len(b):
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


def _date_typo(a: date, b: date) -> bool:
    if (a.year, a.month) == (b.year, b.month):
        return _one_keystroke_apart(f"{a.day:02d}", f"{b.day:02d}")
    if (a.year, a.day) == (b.year, b.day):
        return _one_keystroke_apart(f"{a.month:02d}", f"{b.month:02d}")
    if (a.month, a.day) == (b.month, b.day):
        return _one_keystroke_apart(f"{a.year:04d}", f"{b.year:04d}")
    return False


def _compare_birth_dates(a: date | None, b: date | None) -> _Evidence:
    if a is None or b is None:
        return _NONE
    if a == b:
        return _Evidence(W_DOB_EXACT, ("same date of birth",))
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return _Evidence(
            W_DOB_DAY_MONTH_SWAPPED,
            (f"birth date with day and month swapped ({a:%m/%d} vs {b:%m/%d})",),
        )
    if _date_typo(a, b):
        return _Evidence(
            W_DOB_ONE_DIGIT,
            (f"birth date differs by one digit ({_us_date(a)} vs {_us_date(b)})",),
        )
    return _Evidence(
        W_DOB_DIFFERENT, (f"different date of birth ({_us_date(a)} vs {_us_date(b)})",)
    )


def _phone_key(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    return f"+{digits}" if digits else ""


def _display_phone(e164: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return international.replace("-", " ")


def _compare_phones(a: tuple[str, ...], b: tuple[str, ...]) -> _Evidence:
    shared = ({_phone_key(p) for p in a} & {_phone_key(p) for p in b}) - {""}
    if not shared:
        return _NONE
    return _Evidence(W_PHONE, (f"same phone number {_display_phone(min(shared))}",))


def _compare_emails(a: str | None, b: str | None) -> _Evidence:
    if not a or not b or not a.strip():
        return _NONE
    if a.strip().casefold() != b.strip().casefold():
        return _NONE
    return _Evidence(W_EMAIL, (f"same email {a.strip()}",))


# Street-line words written in full or abbreviated; both sides are reduced to the short form.
_STREET_WORDS = {
    "apartment": "apt",
    "unit": "apt",
    "suite": "apt",
    "ste": "apt",
    "number": "apt",
    "no": "apt",
    "avenue": "ave",
    "av": "ave",
    "boulevard": "blvd",
    "circle": "cir",
    "court": "ct",
    "drive": "dr",
    "highway": "hwy",
    "lane": "ln",
    "parkway": "pkwy",
    "place": "pl",
    "road": "rd",
    "square": "sq",
    "street": "st",
    "terrace": "ter",
    "trail": "trl",
    "north": "n",
    "south": "s",
    "east": "e",
    "west": "w",
    "northeast": "ne",
    "northwest": "nw",
    "southeast": "se",
    "southwest": "sw",
}


def _street_key(line: str) -> str:
    words = fold(line.replace("#", " apt ")).split()
    return " ".join(_STREET_WORDS.get(w, w) for w in words)


def _postal_key(code: str) -> str:
    key = fold(code).replace(" ", "")
    # US ZIP+4 and plain ZIP are the same area: compare the first five digits.
    if len(key) == 9 and key.isdigit():
        return key[:5]
    return key


def _compare_addresses(candidate: PersonFacts, existing: PersonFacts) -> _Evidence:
    if not (
        candidate.postal_code
        and existing.postal_code
        and candidate.address_line
        and existing.address_line
    ):
        return _NONE
    postal = _postal_key(candidate.postal_code)
    street = _street_key(candidate.address_line)
    if not postal or not street:
        return _NONE
    if postal != _postal_key(existing.postal_code) or street != _street_key(existing.address_line):
        return _NONE
    return _Evidence(W_ADDRESS, ("same address",))


_SEX_CODES = {"m": "male", "f": "female", "o": "other", "u": "unknown"}


def _compare_sex(a: str | None, b: str | None) -> _Evidence:
    if not a or not b:
        return _NONE
    ka, kb = fold(a), fold(b)
    ka, kb = _SEX_CODES.get(ka, ka), _SEX_CODES.get(kb, kb)
    if ka == kb or "unknown" in (ka, kb) or not ka or not kb:
        return _NONE
    return _Evidence(W_SEX_DIFFERENT, (f"recorded sex differs ({a.strip()} / {b.strip()})",))
