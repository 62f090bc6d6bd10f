"""Person-name helpers for search and duplicate detection: a folded search key, a table of
given-name nicknames, and Jaro-Winkler similarity.

Pure and deterministic: no database, no settings, nothing from the rest of Carebridge.
`fold` backs indexed prefix-search columns, so its output for a given input must never change
between releases without a data migration that recomputes the stored keys.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "NICKNAMES",
    "fold",
    "jaro_winkler",
    "nickname_groups",
    "same_given_name",
]

# Latin letters that NFKD does not decompose into a base letter plus marks. Applied after
# casefold, so only lower-case forms are needed (casefold already turns ß and ẞ into "ss").
# Modifier-letter apostrophes and the Hawaiian okina (U+02BB) are letters to Unicode (category
# Lm) but punctuation in a name, so they are dropped like an ASCII apostrophe.
_SPELLED_OUT = {
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "\u0131": "i",  # dotless i
    "ȷ": "j",
    "ħ": "h",
    "ŧ": "t",
    "ŋ": "n",
    "ƒ": "f",
}
_SPECIAL_LETTERS: dict[int, str | None] = {
    **{ord(letter): spelled for letter, spelled in _SPELLED_OUT.items()},
    **{ord(ch): None for ch in "ʹʺʻʼʽʾʿˈˌ"},
}

# Characters that separate words (besides whitespace and Unicode dash/connector punctuation).
_EXTRA_SEPARATORS = frozenset(",/")


def _ascii_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in range(128):
        ch = chr(code)
        if ch.isalnum():
            table[code] = ch.lower()
        elif ch.isspace() or ch in "-_" or ch in _EXTRA_SEPARATORS:
            table[code] = " "
        else:
            table[code] = None
    return table


_ASCII_TABLE = _ascii_table()


def fold(text: str) -> str:
    """The case- and accent-insensitive key of `text`, for search and comparison.

    Letters are decomposed (NFKD), accents and other combining marks dropped, case folded and
    a few letters spelled out (ß→ss, æ→ae, ø→o, ł→l, ...). Hyphens, dashes, underscores, commas,
    slashes and whitespace separate words; other punctuation and symbols are dropped; runs of
    spaces collapse to one. Letters of other scripts and digits are kept.

    >>> fold("O'Brien"), fold("García-López"), fold("  STRAßE  ")
    ('obrien', 'garcia lopez', 'strasse')
    """
    if text.isascii():
        return " ".join(text.translate(_ASCII_TABLE).split())
    return _fold_unicode(text)


def _fold_unicode(text: str) -> str:
    # NFKD first so compatibility forms (ligatures, black-letter and full-width letters) become
    # plain letters, then casefold, then NFKD again because casefold can produce characters
    # with marks (U+0390, U+0130).
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    out: list[str] = []
    for ch in decomposed:
        if ch.isspace() or ch in _EXTRA_SEPARATORS:
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category[0] == "L" or category[0] == "N":
            out.append(ch)
        elif category in ("Pd", "Pc"):
            out.append(" ")
        # Everything else (combining marks, other punctuation, symbols, controls) is dropped.
    return " ".join("".join(out).translate(_SPECIAL_LETTERS).split())


# ---------------------------------------------------------------------------------------------
# Given-name nicknames.
#
# Each entry is a name and the other forms people are registered or known under: nicknames,
# diminutives and common spellings. Written folded (lower case, no accents). A form may appear
# under several names ("al" is short for Alan, Albert, Alexander and Alfred); two names match
# when they share an entry, so "Chris" matches both "Christopher" and "Christina" while
# "Christopher" and "Christina" do not match each other.
NICKNAMES: dict[str, str] = {
    # English
    "abigail": "abby abbie gail",
    "abraham": "abe bram",
    "alan": "al allan allen",
    "albert": "al bert bertie",
    "alexander": "alex alec al lex xander sandy",
    "alexandra": "alex alexa lexi allie sandra sandy",
    "alfred": "al alf alfie fred freddie",
    "alice": "allie ally",
    "amanda": "mandy manda",
    "andrew": "andy drew",
    "angela": "angie",
    "anne": "ann annie anna nan nancy",
    "anthony": "tony antony",
    "arthur": "art artie",
    "augustus": "gus august",
    "barbara": "barb barbie babs",
    "benjamin": "ben benny benji",
    "bernard": "bernie",
    "beverly": "bev beverley",
    "bradley": "brad",
    "caroline": "carrie carol carolyn",
    "cassandra": "cassie sandra",
    "charles": "charlie chuck chas chaz chip",
    "christina": "chris christine kristina kristine tina chrissy",
    "christopher": "chris kit topher kristopher",
    "clifford": "cliff",
    "cynthia": "cindy",
    "daniel": "dan danny",
    "david": "dave davey",
    "deborah": "debbie debby deb debra",
    "dennis": "denny",
    "donald": "don donnie",
    "dorothy": "dot dottie dolly dora",
    "douglas": "doug",
    "edmund": "ed eddie ned",
    "edward": "ed eddie ned ted teddy",
    "edwin": "ed eddie",
    "eleanor": "ellie nell nellie elinor",
    "elizabeth": "liz lizzie lizzy beth betty bette betsy bess bessie eliza libby elisabeth elsie",
    "ellen": "ellie nell nellie",
    "emily": "em emmy millie",
    "eugene": "gene",
    "ezekiel": "zeke",
    "frances": "fran frannie fanny",
    "francis": "frank frankie fran",
    "frederick": "fred freddie freddy fritz rick ricky frederic",
    "gabriel": "gabe",
    "gerald": "gerry jerry",
    "gertrude": "gert gertie trudy",
    "gilbert": "gil bert",
    "gregory": "greg",
    "harold": "harry hal",
    "harriet": "hattie",
    "helen": "nell nellie",
    "henry": "hank harry hal",
    "herbert": "herb bert",
    "howard": "howie",
    "isaac": "ike",
    "isabel": "izzy bella belle isabella isabelle",
    "jacob": "jake jakob",
    "jacqueline": "jackie jacky",
    "james": "jim jimmy jimbo jamie jem",
    "janet": "jan jannie",
    "jeffrey": "jeff geoffrey geoff",
    "jennifer": "jen jenn jenny jennie",
    "jeremiah": "jerry",
    "jerome": "jerry",
    "jessica": "jess jessie",
    "john": "jack johnny jon",
    "jonathan": "jon jonny johnny",
    "joseph": "joe joey",
    "josephine": "jo josie",
    "joshua": "josh",
    "judith": "judy jude",
    "katherine": "catherine kathryn katharine catharine cathryn kate katie katy kathy cathy "
    "kat kay kitty kit",
    "kathleen": "kathy kath",
    "kenneth": "ken kenny",
    "kimberly": "kim kimberley",
    "lawrence": "larry laurence lawrie",
    "leonard": "leo len lenny",
    "louis": "lou louie lewis",
    "louise": "lou lulu",
    "margaret": "peggy maggie meg marge margie madge greta gretchen rita",
    "martha": "marty mattie patsy",
    "martin": "marty",
    "mary": "molly polly mae mamie mimi",
    "matthew": "matt matty mathew",
    "maximilian": "max",
    "maxwell": "max",
    "melissa": "mel missy lissa",
    "michael": "mike mikey mick mickey",
    "mitchell": "mitch",
    "montgomery": "monty",
    "nathan": "nate nat",
    "nathaniel": "nate nat nathan",
    "nicholas": "nick nicky nico",
    "oliver": "ollie",
    "olivia": "liv livvy",
    "pamela": "pam",
    "patricia": "pat patty patsy tricia trish",
    "patrick": "pat paddy",
    "peter": "pete",
    "philip": "phil phillip pip",
    "randall": "randy",
    "raymond": "ray",
    "rebecca": "becky becca reba",
    "richard": "rick ricky rich richie dick dicky",
    "robert": "bob bobby bobbie rob robbie robby bert",
    "ronald": "ron ronnie",
    "russell": "russ",
    "samantha": "sam sammy sammie",
    "samuel": "sam sammy",
    "sarah": "sara sally sadie",
    "solomon": "sol",
    "stanley": "stan",
    "stephen": "steven steve stevie stephan",
    "susan": "sue susie suzy",
    "terence": "terry",
    "theodore": "ted teddy theo",
    "thomas": "tom tommy thom",
    "timothy": "tim timmy",
    "valerie": "val",
    "veronica": "ronnie",
    "victoria": "vicky vickie vicki tori",
    "vincent": "vince vinny",
    "virginia": "ginny ginger",
    "walter": "walt wally",
    "wesley": "wes",
    "william": "bill billy will willy willie liam",
    "winifred": "winnie",
    "zachary": "zach zack zac",
    # Spanish
    "alberto": "beto",
    "alfonso": "poncho",
    "antonio": "tono tonio",
    "concepcion": "concha conchita",
    "consuelo": "chelo",
    "dolores": "lola lolita",
    "eduardo": "lalo",
    "enrique": "quique",
    "fernando": "nando",
    "francisco": "paco pancho panchito curro cisco",
    "guadalupe": "lupe lupita",
    "guillermo": "memo",
    "humberto": "beto",
    "ignacio": "nacho",
    "jesus": "chuy chucho",
    "jose": "pepe pepito",
    "manuel": "manolo manny",
    "rafael": "rafa rafi",
    "roberto": "beto",
    "rosario": "charo",
    "teresa": "tere theresa tess tessa terry",
}


def _nickname_index() -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for name, forms in NICKNAMES.items():
        for form in (name, *forms.split()):
            index.setdefault(form, set()).add(name)
    return {form: frozenset(names) for form, names in index.items()}


_NICKNAME_INDEX = _nickname_index()


def nickname_groups(name: str) -> frozenset[str]:
    """The names (folded, e.g. "robert") that `name` is a form of, itself included when it
    heads a group; empty when the table does not know it. `nickname_groups("Bobby")` is
    `{"robert"}`; `nickname_groups("Al")` is `{"alan", "albert", "alexander", "alfred"}`."""
    return _NICKNAME_INDEX.get(fold(name), frozenset())


def same_given_name(a: str, b: str) -> bool:
    """True when two given names are the same once folded (case, accents, punctuation and
    spacing ignored) or are forms of the same name: "Bob"/"Robert", "Bob"/"Rob",
    "Kate"/"Catherine", "Pepe"/"José"."""
    fa, fb = fold(a), fold(b)
    if not fa or not fb:
        return False
    if fa.replace(" ", "") == fb.replace(" ", ""):
        return True
    return not _NICKNAME_INDEX.get(fa, frozenset()).isdisjoint(_NICKNAME_INDEX.get(fb, frozenset()))


# ---------------------------------------------------------------------------------------------
# Jaro-Winkler similarity.

_WINKLER_SCALE = 0.1
_WINKLER_MAX_PREFIX = 4


def _jaro(a: str, b: str) -> float:
    if a == b:
        return 1.0
    len_a, len_b = len(a), len(b)
    if not len_a or not len_b:
        return 0.0
    window = max(max(len_a, len_b) // 2 - 1, 0)
    matched_b = [False] * len_b
    matches_a: list[str] = []
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len_b, i + window + 1)):
            if not matched_b[j] and b[j] == ch:
                matched_b[j] = True
                matches_a.append(ch)
                break
    m = len(matches_a)
    if not m:
        return 0.0
    matches_b = [ch for ch, hit in zip(b, matched_b, strict=True) if hit]
    half_transpositions = sum(x != y for x, y in zip(matches_a, matches_b, strict=True))
    t = half_transpositions / 2
    return (m / len_a + m / len_b + (m - t) / m) / 3


def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity of two strings, 0.0 (nothing in common) to 1.0 (equal).

    Standard definition: Jaro similarity with a match window of max(len)/2 - 1, raised by
    Winkler's common-prefix bonus (scale 0.1, prefix of at most 4 characters). Compares the
    strings exactly as given; fold them first for a case- and accent-insensitive comparison.
    Two empty strings score 1.0.
    """
    if a == b:
        return 1.0
    jaro = _jaro(a, b)
    prefix = 0
    for x, y in zip(a[:_WINKLER_MAX_PREFIX], b[:_WINKLER_MAX_PREFIX], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * _WINKLER_SCALE * (1.0 - jaro)
