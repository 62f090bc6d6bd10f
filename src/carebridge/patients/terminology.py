"""Clinical terminology: ICD-10-CM validation and type-ahead search, and codings from elsewhere.

Pure functions over the ICD-10-CM tables shipped with ``simple_icd_10_cm``. That library
takes over a second to import, so it is imported on first use, and the search index is
built once, lazily (``warm()`` builds it ahead of time, e.g. in a background thread at
start-up).

Problems are coded with billable (leaf) ICD-10-CM codes only: a category such as ``E11``
is refused with a hint naming a more specific code.
"""

from __future__ import annotations

import functools
import heapq
import re
import threading
import unicodedata
import warnings
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from carebridge.lib.errors import ValidationFailed

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"

__all__ = [
    "ICD10CM",
    "LOINC",
    "RXNORM",
    "SNOMED",
    "Coding",
    "coding",
    "icd10",
    "normalize_icd10",
    "search_icd10",
    "warm",
]


@dataclass(frozen=True)
class Coding:
    """A code in a code system with its human-readable display, as FHIR's ``Coding``."""

    system: str
    code: str
    display: str


# A code once the dot is taken out: a three-character category (E11, C7A, QA0), then up to
# four more characters (E119, S7290XA, QA00101).
_CODE_SHAPE = re.compile(r"[A-Z](?:[0-9][0-9A-Z]|[A-Z][0-9])[0-9A-Z]{0,4}")
# A code prefix as typed in a search box: "E", "E1", "E11", "E116", "QA".
_CODE_PREFIX_SHAPE = re.compile(rf"[A-Z][0-9A-Z]?|{_CODE_SHAPE.pattern}")
# A block of categories: E08-E13.
_BLOCK_SHAPE = re.compile(r"[A-Z][0-9A-Z]{2}-[A-Z][0-9A-Z]{2}")
# A URI with a scheme: http://snomed.info/sct, urn:oid:2.16.840.1.113883.6.96.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")
_WORD_SPLIT = re.compile(r"[^0-9a-z]+")
_ECHO_MAX = 24


# --- the library, imported on first use ---------------------------------------------------


@functools.cache
def _lib() -> Any:
    # simple_icd_10_cm 1.5 loads its tables with the deprecated importlib.resources.read_text
    # (which warns, then warns again from its own call to open_text). Narrow, lasting filters:
    # warnings.catch_warnings() would race with other threads when warm() runs in the background.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="simple_icd_10_cm")
    warnings.filterwarnings(
        "ignore",
        message="open_text is deprecated",
        category=DeprecationWarning,
        module=r"importlib\.resources\._legacy",
    )
    import simple_icd_10_cm  # ~1.3 s: kept off the start-up path

    return simple_icd_10_cm


# --- validation -----------------------------------------------------------------------------


def normalize_icd10(code: str) -> str:
    """Canonical form of a typed ICD-10-CM code: upper case, dot after the third character.

    ``"e119"``, ``"E11.9"`` and ``" E11.9 "`` all become ``"E11.9"``. Text that does not look
    like a code (a block range such as ``E08-E13``, a word) is only trimmed and upper-cased.
    """
    text = code.strip().upper()
    bare = text.replace(".", "")
    if not _CODE_SHAPE.fullmatch(bare):
        return text
    return f"{bare[:3]}.{bare[3:]}" if len(bare) > 3 else bare


def icd10(code: str) -> Coding:
    """The ICD-10-CM coding for a billable code, with its official description.

    Raises ``ValidationFailed`` (field ``code``) when the code is empty, unknown, or a
    heading (category, subcategory, block) rather than a billable code.
    """
    normalized = normalize_icd10(code)
    if not normalized:
        raise ValidationFailed("Enter an ICD-10-CM code.", fields={"code": "Enter a code."})
    return _icd10(normalized)


def icd10_list(values: Sequence[str], *, required: str | None = None) -> list[dict[str, str]]:
    """Diagnoses typed as a list (referrals, authorizations, claims): each checked as
    :func:`icd10`, blanks skipped, repeats dropped, order kept, as ``{"code", "display"}``.
    ``required``: the message when none is given (None: an empty list is fine)."""
    found: dict[str, dict[str, str]] = {}
    for value in values:
        if not value.strip():
            continue
        try:
            coding = icd10(value)
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"Diagnosis {exc.detail[0].lower()}{exc.detail[1:]} Nothing was saved.",
                fields={"diagnoses": exc.fields.get("code", exc.detail)},
            ) from exc
        found.setdefault(coding.code, {"code": coding.code, "display": coding.display})
    if not found and required:
        raise ValidationFailed(
            f"{required} Nothing was saved.",
            fields={"diagnoses": "Enter at least one ICD-10-CM code."},
        )
    return list(found.values())


@functools.lru_cache(maxsize=4096)
def _icd10(code: str) -> Coding:
    lib = _lib()
    # Only codes and block ranges (E08-E13) are looked up: the tables also hold chapters,
    # numbered 1..22, and the library accepts codes without their dot.
    shaped = _CODE_SHAPE.fullmatch(code.replace(".", "")) or _BLOCK_SHAPE.fullmatch(code)
    if not shaped or not bool(lib.is_valid_item(code)):
        raise _invalid(f"'{_echo(code)}' is not an ICD-10-CM code")
    if bool(lib.is_leaf(code)):
        return Coding(ICD10CM, code, str(lib.get_description(code)))
    if bool(lib.is_category(code)):  # before blocks: B10 is the name of both
        kind = "a category"
    elif bool(lib.is_block(code)):
        kind = "a block of categories"
    else:
        kind = "a subcategory"
    raise _invalid(
        f"'{code}' is {kind}, not a billable code; "
        f"choose a more specific code such as {_example_leaf(code)}"
    )


def _example_leaf(code: str) -> str:
    """A billable code under ``code``, preferring the 'unspecified'/'other' child ending in 9."""
    lib = _lib()
    current = code
    while not bool(lib.is_leaf(current)):
        children = [str(child) for child in lib.get_children(current)]
        if not children:  # not expected in the tables; stop rather than loop
            break
        current = next((c for c in children if c.endswith("9")), children[0])
    return current


def _echo(text: str) -> str:
    return text if len(text) <= _ECHO_MAX else text[: _ECHO_MAX - 1] + "…"


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message + ".", fields={"code": message})


# --- codings from elsewhere -----------------------------------------------------------------


def coding(system: str, code: str, display: str) -> Coding:
    """A coding received from another system (SNOMED CT, RxNorm, LOINC...), taken as given.

    Only basic checks apply (a non-empty code, a system that is a URI). ICD-10-CM codes are
    validated with ``icd10()`` and get the official description instead of ``display``.
    """
    system = system.strip()
    code = code.strip()
    if not _is_uri(system):
        raise ValidationFailed(
            f"'{_echo(system)}' is not a code system URI.",
            fields={"system": "Give the code system as a URI, e.g. http://snomed.info/sct"},
        )
    if not code:
        raise ValidationFailed("Enter a code.", fields={"code": "Enter a code."})
    if system == ICD10CM:
        return icd10(code)
    return Coding(system, code, display.strip())


def _is_uri(text: str) -> bool:
    """A URI with a scheme; web URLs also need a host (``http://loinc.org``)."""
    if not _URI.fullmatch(text):
        return False
    parts = urlsplit(text)
    return parts.scheme.lower() not in {"http", "https"} or bool(parts.netloc)


# --- search ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    """Leaf codes, their ids in word-match rank order (shorter description first, then code).

    ``codes_by_length[n]`` holds ``(bare code, id)`` for codes of ``n`` characters without the
    dot, sorted, so code-prefix matches come shortest first without sorting per query.
    ``vocabulary`` is every description word, sorted; ``postings[i]`` the ascending ids of the
    descriptions holding ``vocabulary[i]``; ``posting_totals[i]`` the number of postings of
    the words before ``i``, so the postings of a word prefix are counted in O(log n).
    """

    codes: tuple[str, ...]
    descriptions: tuple[str, ...]
    words: tuple[tuple[str, ...], ...]
    codes_by_length: dict[int, list[tuple[str, int]]]
    vocabulary: list[str]
    postings: list[tuple[int, ...]]
    posting_totals: list[int]


_index: _Index | None = None
_index_lock = threading.Lock()


def warm() -> None:
    """Import the ICD-10-CM tables and build the search index (idempotent, thread-safe)."""
    _get_index()


def _get_index() -> _Index:
    global _index
    index = _index
    if index is None:
        with _index_lock:
            index = _index
            if index is None:
                index = _index = _build_index()
    return index


def _fold_words(text: str) -> list[str]:
    """Lower-case ASCII words of ``text``: accents dropped, apostrophes joined (Crohn's)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii").replace("'", "")
    return [word for word in _WORD_SPLIT.split(ascii_text) if word]


def _build_index() -> _Index:
    lib = _lib()
    entries = [
        (str(code), str(lib.get_description(code)))
        for code in lib.get_all_codes(True)
        if bool(lib.is_leaf(code))
    ]
    entries.sort(key=lambda entry: (len(entry[1]), entry[0]))
    codes = tuple(code for code, _ in entries)
    descriptions = tuple(description for _, description in entries)
    words = tuple(tuple(dict.fromkeys(_fold_words(description))) for description in descriptions)

    codes_by_length: dict[int, list[tuple[str, int]]] = {}
    for ident, code in enumerate(codes):
        bare = code.replace(".", "")
        codes_by_length.setdefault(len(bare), []).append((bare, ident))
    for bucket in codes_by_length.values():
        bucket.sort()

    by_word: dict[str, list[int]] = {}
    for ident, description_words in enumerate(words):
        for word in description_words:
            by_word.setdefault(word, []).append(ident)
    vocabulary = sorted(by_word)
    postings = [tuple(by_word[word]) for word in vocabulary]
    posting_totals = [0]
    for ids in postings:
        posting_totals.append(posting_totals[-1] + len(ids))

    return _Index(
        codes=codes,
        descriptions=descriptions,
        words=words,
        codes_by_length=dict(sorted(codes_by_length.items())),
        vocabulary=vocabulary,
        postings=postings,
        posting_totals=posting_totals,
    )


def search_icd10(text: str, limit: int = 20) -> list[Coding]:
    """Billable ICD-10-CM codes for type-ahead: by code prefix (``e11.6``) or by words.

    Every word of a word query must begin some word of the description, in any order
    (``diab type 2``). Ranking: the exact code, then other codes starting with the query
    (shorter codes first), then word matches (shorter descriptions first). An empty query,
    or a word query of single letters only, finds nothing by words.
    """
    if limit <= 0 or not text.strip():
        return []
    index = _get_index()
    found: list[int] = []
    seen: set[int] = set()

    def take(ids: Iterator[int]) -> None:
        for ident in ids:
            if len(found) >= limit:
                return
            if ident not in seen:
                seen.add(ident)
                found.append(ident)

    take(_code_prefix_matches(index, text))
    if len(found) < limit:
        take(_word_matches(index, text))
    return [Coding(ICD10CM, index.codes[i], index.descriptions[i]) for i in found]


def _code_prefix_matches(index: _Index, text: str) -> Iterator[int]:
    prefix = text.strip().upper().replace(".", "")
    if not _CODE_PREFIX_SHAPE.fullmatch(prefix):
        return
    for length, bucket in index.codes_by_length.items():
        if length < len(prefix):
            continue
        position = bisect_left(bucket, (prefix, -1))
        while position < len(bucket) and bucket[position][0].startswith(prefix):
            yield bucket[position][1]
            position += 1


def _word_matches(index: _Index, text: str) -> Iterator[int]:
    query = list(dict.fromkeys(_fold_words(text)))
    if not query or max(len(word) for word in query) < 2:
        return
    # Drive the scan with the query word that has the fewest postings; check the others.
    ranges = {word: _vocabulary_range(index, word) for word in query}

    def postings_count(word: str) -> int:
        low, high = ranges[word]
        return index.posting_totals[high] - index.posting_totals[low]

    driver = min(query, key=postings_count)
    others = [word for word in query if word != driver]
    low, high = ranges[driver]
    previous = -1
    # Postings are ascending ids and ids are in rank order: merging yields best matches first.
    for ident in heapq.merge(*index.postings[low:high]):
        if ident == previous:
            continue
        previous = ident
        description_words = index.words[ident]
        if all(any(w.startswith(word) for w in description_words) for word in others):
            yield ident


def _vocabulary_range(index: _Index, prefix: str) -> tuple[int, int]:
    """The slice of the vocabulary whose words start with ``prefix``."""
    low = bisect_left(index.vocabulary, prefix)
    high = bisect_left(index.vocabulary, prefix + "\U0010ffff", lo=low)
    return low, high
