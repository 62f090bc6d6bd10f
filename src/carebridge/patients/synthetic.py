"""Synthetic patients for demos, tests and benchmarks: realistic, and the same every time.

``generate(count, seed)`` yields one :class:`SyntheticPatient` per person, with everything a
chart holds: demographics, phones, payer identifiers, related persons (with sharing consents),
contact consents per channel, ICD-10-CM coded problems with matching medications, allergies
(or an explicit "no known allergies"), family and social history and a few past events.

The population looks like a Chicago-area clinic panel: adult-heavy ages, English, Spanish and
a few other languages (most non-English speakers need an interpreter), OMB race and ethnicity
codes, chronic conditions at prevalences that rise with age, and about one chart in a hundred
is a near-duplicate of an earlier one (a typo, a nickname, day and month swapped, a new phone),
the way duplicates arise at a registration desk.

Every patient depends only on ``(seed, index)``: patient 5 000 is the same whether 10 000 or
100 000 are generated, and ``generate(n, seed, start=k)`` continues a sequence. Dates are
relative to the fixed :data:`REFERENCE_DATE`, not today, so the data never drifts.

Pure: no database. The name, street and city lists are our own short lists of common names.
Phone numbers use real Chicago-area area codes and exchanges (never N11 or 555), so they can
belong to real people: never send messages to seeded patients. Email addresses use the
reserved ``example.com/.net/.org`` domains.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Generic, TypeVar

from carebridge.patients.names import NICKNAMES, fold

if TYPE_CHECKING:
    from carebridge.patients.schemas import PatientCreate

__all__ = [
    "REFERENCE_DATE",
    "SyntheticAllergy",
    "SyntheticCondition",
    "SyntheticContactConsent",
    "SyntheticFamilyHistory",
    "SyntheticIdentifier",
    "SyntheticMedication",
    "SyntheticPastEvent",
    "SyntheticPatient",
    "SyntheticPhone",
    "SyntheticRelatedPerson",
    "SyntheticSharingConsent",
    "SyntheticSocialHistory",
    "as_patient_create",
    "generate",
    "patient",
]

REFERENCE_DATE = dt.date(2025, 1, 1)
"""Ages, onsets and start dates are computed back from this day (not today: determinism)."""

T = TypeVar("T")


# --- the records -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyntheticPhone:
    number: str  # E.164
    use: str  # mobile | home | work


@dataclass(frozen=True, slots=True)
class SyntheticIdentifier:
    type: str  # HL7 table 0203
    system: str
    value: str
    assigner: str | None


@dataclass(frozen=True, slots=True)
class SyntheticSharingConsent:
    categories: tuple[str, ...]
    signed_on: dt.date
    expires_on: dt.date | None
    note: str | None


@dataclass(frozen=True, slots=True)
class SyntheticRelatedPerson:
    name: str
    relationship_code: str
    phone: str | None
    email: str | None
    address: str | None
    emergency_contact: bool
    caregiver: bool
    personal_representative: bool
    note: str | None
    sharing: SyntheticSharingConsent | None


@dataclass(frozen=True, slots=True)
class SyntheticContactConsent:
    channel: str  # sms | email | voice | mail
    decision: str  # permit | deny
    effective_from: dt.date
    source: str


@dataclass(frozen=True, slots=True)
class SyntheticCondition:
    code: str  # billable ICD-10-CM
    display: str  # its official description
    clinical_status: str
    onset_date: dt.date | None
    source: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class SyntheticAllergy:
    substance: str
    type: str
    category: str
    criticality: str
    severity: str
    reactions: tuple[str, ...]
    onset_date: dt.date | None


@dataclass(frozen=True, slots=True)
class SyntheticMedication:
    name: str
    rxnorm: str | None  # RxNorm ingredient (IN) concept, when known
    dose: str
    route: str
    frequency: str
    start_date: dt.date | None
    stop_date: dt.date | None
    status: str
    prescriber: str | None
    reason: str | None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class SyntheticFamilyHistory:
    relationship_code: str
    condition: str
    code: str | None  # ICD-10-CM
    onset_age: int | None
    deceased: bool


@dataclass(frozen=True, slots=True)
class SyntheticSocialHistory:
    tobacco: str | None
    alcohol: str | None
    substance_use: str | None
    activity_minutes_per_week: int | None
    occupation: str | None
    living_situation: str | None
    caregiver_at_home: bool | None


@dataclass(frozen=True, slots=True)
class SyntheticPastEvent:
    kind: str  # hospitalization | procedure
    description: str
    start_date: dt.date
    end_date: dt.date | None
    facility: str | None


@dataclass(frozen=True, slots=True)
class SyntheticPatient:
    """One person and everything on their chart. ``duplicate_of`` is the index of the earlier
    patient this chart is a near-duplicate of (``duplicate_kind`` says how it differs)."""

    index: int
    family_name: str
    given_names: str
    preferred_name: str | None
    birth_date: dt.date
    sex: str
    gender_identity: str | None
    pronouns: str | None
    language: str
    interpreter_needed: bool
    race: tuple[str, ...]
    ethnicity: str | None
    email: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    preferred_contact_method: str | None
    preferred_contact_times: str | None
    alerts: str | None
    status: str
    deceased_date: dt.date | None
    allergy_status: str
    allergy_status_on: dt.date | None
    coordinator_slot: int | None  # which coordinator (modulo how many there are), if any
    phones: tuple[SyntheticPhone, ...]
    identifiers: tuple[SyntheticIdentifier, ...]
    related: tuple[SyntheticRelatedPerson, ...]
    contact_consents: tuple[SyntheticContactConsent, ...]
    conditions: tuple[SyntheticCondition, ...]
    allergies: tuple[SyntheticAllergy, ...]
    medications: tuple[SyntheticMedication, ...]
    family_history: tuple[SyntheticFamilyHistory, ...]
    social_history: SyntheticSocialHistory | None
    past_events: tuple[SyntheticPastEvent, ...]
    duplicate_of: int | None = None
    duplicate_kind: str | None = None


# --- helpers -----------------------------------------------------------------------------


class _Weighted(Generic[T]):
    """A fixed weighted choice; ``pick(rng)`` costs one random number and a bisect."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.items = tuple(item for item, _ in pairs)
        self.cum = tuple(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return rng.choices(self.items, cum_weights=self.cum, k=1)[0]


def _zipf(names: Sequence[str]) -> _Weighted[str]:
    """Earlier names in a list are commoner (the lists are written in rough frequency order):
    the first about four times as common as the last."""
    offset = len(names) / 3 + 1
    return _Weighted([(name, 1.0 / (rank + offset)) for rank, name in enumerate(names)])


def _chance(rng: random.Random, p: float) -> bool:
    return rng.random() < p


def _between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    if last <= first:
        return first
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def _at_age(birth: dt.date, years: float) -> dt.date:
    return min(birth + dt.timedelta(days=round(years * 365.25)), REFERENCE_DATE)


_STRIP_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O"})


@functools.cache
def _plain(name: str) -> str:
    """``name`` without accents, case kept: how many US registration systems store it."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_STRIP_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# --- people: backgrounds, names, languages -----------------------------------------------

# Given names by background and sex. "us" names are split by the generation they were most
# given to (older, middle, younger), so an 80-year-old is more likely a Dorothy than a Harper.
US_FEMALE_OLDER = (
    "Mary", "Patricia", "Linda", "Barbara", "Elizabeth", "Susan", "Margaret", "Dorothy",
    "Nancy", "Karen", "Betty", "Helen", "Sandra", "Donna", "Carol", "Ruth", "Sharon", "Deborah",
    "Shirley", "Cynthia", "Janet", "Catherine", "Diane", "Joyce", "Virginia", "Judith",
    "Kathleen", "Frances", "Christine", "Theresa", "Joan", "Marilyn", "Beverly", "Evelyn",
    "Gloria",
)  # fmt: skip
US_FEMALE_MIDDLE = (
    "Jennifer", "Michelle", "Laura", "Sarah", "Kimberly", "Jessica", "Angela", "Melissa", "Amy",
    "Stephanie", "Rebecca", "Heather", "Amanda", "Nicole", "Christina", "Erin", "Andrea",
    "Tiffany", "Julie", "Kelly",
)  # fmt: skip
US_FEMALE_YOUNGER = (
    "Emily", "Ashley", "Olivia", "Emma", "Megan", "Hannah", "Sophia", "Ava", "Isabella", "Mia",
    "Abigail", "Madison", "Lauren", "Rachel", "Chloe", "Grace", "Natalie", "Zoe", "Lily",
    "Harper", "Claire", "Samantha", "Victoria", "Allison", "Katherine", "Brianna", "Taylor",
    "Avery", "Nora", "Charlotte",
)  # fmt: skip
US_MALE_OLDER = (
    "James", "John", "Robert", "William", "Richard", "Charles", "Joseph", "Thomas", "Donald",
    "George", "Kenneth", "Paul", "Ronald", "Gary", "Larry", "Frank", "Raymond", "Gerald",
    "Walter", "Harold", "Arthur", "Roger", "Dennis", "Jerry", "Eugene", "Ralph", "Carl",
    "Lawrence", "Edward", "Howard",
)  # fmt: skip
US_MALE_MIDDLE = (
    "Michael", "David", "Christopher", "Matthew", "Daniel", "Mark", "Steven", "Brian", "Kevin",
    "Jason", "Jeffrey", "Timothy", "Eric", "Scott", "Gregory", "Patrick", "Sean", "Andrew",
    "Jonathan", "Anthony",
)  # fmt: skip
US_MALE_YOUNGER = (
    "Liam", "Noah", "Ethan", "Jacob", "Mason", "Logan", "Lucas", "Aiden", "Benjamin",
    "Alexander", "Henry", "Owen", "Wyatt", "Caleb", "Dylan", "Nathan", "Tyler", "Brandon",
    "Austin", "Jack", "Samuel", "Connor", "Isaac", "Julian", "Ryan",
)  # fmt: skip

GIVEN: dict[str, dict[str, tuple[str, ...]]] = {
    "black": {
        "female": (
            "Latoya", "Keisha", "Tamika", "Ebony", "Aaliyah", "Imani", "Jasmine", "Destiny",
            "Tiana", "Shanice", "Monique", "Kiara", "Nia", "Latasha", "Dominique", "Jada",
            "Yolanda", "Gwendolyn", "Bernice", "Precious",
        ),
        "male": (
            "Darnell", "DeShawn", "Tyrone", "Jamal", "Malik", "Terrell", "Andre", "Marcus",
            "Jermaine", "Cedric", "Reginald", "Darius", "Xavier", "Jalen", "Isaiah", "Willie",
            "Leroy", "Curtis", "Lamar", "Elijah",
        ),
    },
    "hispanic": {
        "female": (
            "María", "Guadalupe", "Rosa", "Ana", "Carmen", "Juana", "Sofía", "Valeria",
            "Camila", "Lucía", "Daniela", "Gabriela", "Alejandra", "Verónica", "Leticia",
            "Yesenia", "Marisol", "Araceli", "Elena", "Esperanza", "Luz", "Dolores", "Teresa",
            "Ximena",
        ),
        "male": (
            "José", "Juan", "Luis", "Carlos", "Jesús", "Miguel", "Jorge", "Francisco",
            "Antonio", "Alejandro", "Ricardo", "Fernando", "Roberto", "Manuel", "Eduardo",
            "Javier", "Raúl", "Rafael", "Sergio", "Andrés", "Mateo", "Santiago", "Diego",
            "Emiliano", "Guillermo", "Ramón",
        ),
    },
    "chinese": {
        "female": ("Mei", "Xiuying", "Hui", "Jing", "Lan", "Yan", "Fang", "Ling"),
        "male": ("Wei", "Jun", "Hao", "Ming", "Jian", "Lei", "Qiang", "Tao"),
    },
    "vietnamese": {
        "female": ("Linh", "Thuy", "Huong", "Mai", "Trang", "Ngoc", "Hanh", "Thao"),
        "male": ("Minh", "Tuan", "Hung", "Duc", "Quang", "Thanh", "Long", "Huy"),
    },
    "korean": {
        "female": ("Ji-yeon", "Min-ji", "Soo-jin", "Eun-ji", "Hye-jin", "Seo-yeon"),
        "male": ("Min-jun", "Ji-hoon", "Sung-min", "Hyun-woo", "Dong-hyun", "Jae-won"),
    },
    "south_asian": {
        "female": ("Priya", "Anjali", "Pooja", "Neha", "Sunita", "Lakshmi", "Aarti", "Kavya"),
        "male": ("Rahul", "Amit", "Vijay", "Sanjay", "Arjun", "Rohan", "Raj", "Suresh"),
    },
    "filipino": {
        "female": ("Maricel", "Rowena", "Jocelyn", "Marites", "Lorna", "Analyn", "Maria"),
        "male": ("Rodel", "Jomar", "Romeo", "Arnel", "Rogelio", "Efren", "Jose"),
    },
    "arab": {
        "female": ("Fatima", "Mariam", "Layla", "Noor", "Huda", "Amira", "Rania", "Yasmin"),
        "male": ("Mohammed", "Ahmed", "Omar", "Ali", "Yusuf", "Khalid", "Hassan", "Karim"),
    },
    "polish": {
        "female": (
            "Anna", "Agnieszka", "Katarzyna", "Małgorzata", "Joanna", "Zofia", "Krystyna",
            "Ewa", "Halina",
        ),
        "male": (
            "Piotr", "Krzysztof", "Tomasz", "Paweł", "Marek", "Stanisław", "Łukasz",
            "Andrzej",
        ),
    },
}  # fmt: skip

FAMILY: dict[str, tuple[str, ...]] = {
    "white": (
        "Smith", "Johnson", "Miller", "Anderson", "Wilson", "Moore", "Taylor", "Thompson",
        "White", "Martin", "Clark", "Lewis", "Hall", "Young", "Allen", "King", "Wright", "Scott",
        "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter",
        "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards", "Stewart", "Morris",
        "Murphy", "Cook", "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell",
        "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Bennett", "Gray", "Hughes",
        "Price", "Myers", "Long", "Ross", "Foster", "Schmidt", "Schneider", "Fischer", "Weber",
        "Meyer", "Wagner", "Becker", "Hoffmann", "Schulz", "Olson", "Larson", "Nielsen",
        "Russo", "Romano", "Esposito", "Ricci", "Marino", "DeLuca", "Rossi", "O'Brien",
        "O'Connor", "O'Neill", "McCarthy", "Sullivan", "Ryan", "Walsh", "Byrne", "McDonald",
        "Brennan", "Papadopoulos", "Novak", "Horvath",
    ),
    "black": (
        "Williams", "Brown", "Jones", "Johnson", "Davis", "Jackson", "Harris", "Robinson",
        "Thomas", "Walker", "Washington", "Jefferson", "Coleman", "Simmons", "Hayes", "Bryant",
        "Jenkins", "Perry", "Powell", "Butler", "Barnes", "Henderson", "Freeman", "Tucker",
        "Holmes", "Banks", "Booker", "Mosley", "Gaines", "Dorsey",
    ),
    "hispanic": (
        "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez",
        "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Reyes", "Cruz",
        "Morales", "Ortiz", "Gutiérrez", "Chávez", "Ramos", "Ruiz", "Álvarez", "Mendoza",
        "Castillo", "Jiménez", "Moreno", "Romero", "Herrera", "Medina", "Aguilar", "Vargas",
        "Castro", "Guzmán", "Fernández", "Muñoz", "Núñez", "Peña", "Domínguez", "Vázquez",
        "Salazar", "Delgado", "Ibáñez", "Suárez", "Benítez",
    ),
    "chinese": (
        "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Lin",
        "Xu", "Wong", "Chan", "Leung",
    ),
    "vietnamese": ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi"),
    "korean": ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"),
    "south_asian": (
        "Patel", "Shah", "Singh", "Kumar", "Desai", "Sharma", "Reddy", "Mehta", "Gupta", "Iyer",
    ),
    "filipino": (
        "Santos", "Reyes", "Cruz", "Bautista", "Mendoza", "Dela Cruz", "Garcia", "Villanueva",
        "Aquino", "Ramos",
    ),
    "arab": (
        "Haddad", "Khalil", "Hassan", "Ali", "Ahmed", "Mansour", "Saleh", "Nasser", "Abdallah",
        "Ibrahim",
    ),
    "polish": (
        "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
        "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur",
        "Krawczyk",
    ),
}  # fmt: skip

# background: (weight in the panel, its family names' share keeping their accents,
#              {language: share of the background speaking it at home})
BACKGROUNDS: dict[str, tuple[float, float, dict[str, float]]] = {
    "white": (38.0, 1.0, {}),
    "polish": (4.0, 0.4, {"pl": 0.3}),
    "black": (20.0, 1.0, {}),
    "hispanic": (24.0, 0.35, {"es": 0.5}),
    "chinese": (2.5, 1.0, {"zh": 0.45}),
    "vietnamese": (1.2, 0.1, {"vi": 0.5}),
    "korean": (1.3, 1.0, {"ko": 0.35}),
    "south_asian": (3.5, 1.0, {"hi": 0.08}),
    "filipino": (2.0, 1.0, {"tl": 0.12}),
    "arab": (2.0, 1.0, {"ar": 0.35}),
}
_BACKGROUND = _Weighted([(name, spec[0]) for name, spec in BACKGROUNDS.items()])
_FAMILY = {bg: _zipf(names) for bg, names in FAMILY.items()}
_GIVEN = {bg: {sex: _zipf(names) for sex, names in by_sex.items()} for bg, by_sex in GIVEN.items()}
_US_GIVEN = {
    ("female", 0): _zipf(US_FEMALE_OLDER),
    ("female", 1): _zipf(US_FEMALE_MIDDLE),
    ("female", 2): _zipf(US_FEMALE_YOUNGER),
    ("male", 0): _zipf(US_MALE_OLDER),
    ("male", 1): _zipf(US_MALE_MIDDLE),
    ("male", 2): _zipf(US_MALE_YOUNGER),
}
_NICKNAME_FORMS = {name: forms.split() for name, forms in NICKNAMES.items()}

# OMB categories (CDC Race & Ethnicity codes, as in codes.RACES / codes.ETHNICITIES).
WHITE, ASIAN, BLACK, AIAN, NHPI = "2106-3", "2028-9", "2054-5", "1002-5", "2076-8"
HISPANIC, NOT_HISPANIC, DECLINED, UNKNOWN = "2135-2", "2186-5", "ASKU", "UNK"
_RACE_OF: dict[str, _Weighted[str]] = {
    "white": _Weighted([(WHITE, 96), (AIAN, 1), (DECLINED, 2), (UNKNOWN, 1)]),
    "polish": _Weighted([(WHITE, 98), (DECLINED, 2)]),
    "arab": _Weighted([(WHITE, 85), (DECLINED, 10), (UNKNOWN, 5)]),
    "black": _Weighted([(BLACK, 96), (DECLINED, 3), (UNKNOWN, 1)]),
    "hispanic": _Weighted(
        [(WHITE, 50), (DECLINED, 22), (UNKNOWN, 15), (BLACK, 5), (AIAN, 6), (NHPI, 2)]
    ),
}
_ASIAN_RACE = _Weighted([(ASIAN, 95), (NHPI, 1), (DECLINED, 3), (UNKNOWN, 1)])
_SECOND_RACE = _Weighted([(WHITE, 40), (BLACK, 30), (ASIAN, 15), (AIAN, 12), (NHPI, 3)])

# --- places --------------------------------------------------------------------------------

CHICAGO_ZIPS = (
    "60601", "60605", "60607", "60608", "60609", "60610", "60611", "60612", "60613", "60614",
    "60615", "60616", "60617", "60618", "60619", "60620", "60621", "60622", "60623", "60624",
    "60625", "60626", "60628", "60629", "60630", "60631", "60632", "60634", "60636", "60637",
    "60638", "60639", "60640", "60641", "60643", "60644", "60645", "60646", "60647", "60649",
    "60651", "60652", "60653", "60655", "60656", "60657", "60659", "60660",
)  # fmt: skip
CHICAGO_STREETS = (
    "Western Ave", "Ashland Ave", "Halsted St", "Cicero Ave", "Pulaski Rd", "Kedzie Ave",
    "Damen Ave", "Milwaukee Ave", "Lincoln Ave", "Clark St", "Broadway", "Sheridan Rd",
    "Irving Park Rd", "Belmont Ave", "Fullerton Ave", "Division St", "Chicago Ave", "Madison St",
    "Roosevelt Rd", "Cermak Rd", "Archer Ave", "Lawrence Ave", "Foster Ave", "Devon Ave",
    "Touhy Ave", "Kostner Ave", "California Ave", "Racine Ave", "Wentworth Ave", "State St",
    "Cottage Grove Ave", "Stony Island Ave", "Jeffery Blvd", "Harrison St", "Jackson Blvd",
    "Augusta Blvd", "North Ave", "Armitage Ave", "Diversey Pkwy", "Addison St", "Montrose Ave",
    "Wilson Ave", "Argyle St", "Bryn Mawr Ave", "Pratt Blvd", "Howard St", "Kimball Ave",
    "Central Park Ave", "Laramie Ave", "Austin Ave",
)  # fmt: skip
CHICAGO_NUMBERED = (
    "18th St", "26th St", "31st St", "35th St", "47th St", "51st St", "55th St", "63rd St",
    "71st St", "79th St", "87th St", "95th St", "103rd St", "111th St",
)  # fmt: skip
SUBURB_STREETS = (
    "Main St", "Oak St", "Maple Ave", "Elm St", "Cedar Ln", "Park Ave", "Walnut St",
    "Hillside Dr", "Prairie Ave", "Spring St", "Church St", "Washington St", "Lincoln Ave",
    "Lake St", "Center St", "Highland Ave", "Forest Ave", "Ridge Rd", "Grove St", "Chestnut St",
    "Sunset Dr", "Meadow Ln", "Willow Rd", "Cherry St", "Linden Ave", "Greenwood Ave",
    "Evergreen Dr", "Birch Ct", "Fairview Ave", "Harlem Ave", "Ogden Ave", "Roosevelt Rd",
    "Cermak Rd", "Dempster St", "Golf Rd", "Algonquin Rd",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Place:
    city: str
    zips: tuple[str, ...]
    area_codes: tuple[str, ...]


CHICAGO = _Place("Chicago", CHICAGO_ZIPS, ("773", "773", "773", "773", "312", "312", "872"))
_PLACES = _Weighted(
    [
        (CHICAGO, 55.0),
        (_Place("Evanston", ("60201", "60202"), ("847", "224")), 2.0),
        (_Place("Skokie", ("60076", "60077"), ("847", "224")), 1.5),
        (_Place("Oak Park", ("60302", "60304"), ("708",)), 1.5),
        (_Place("Cicero", ("60804",), ("708",)), 2.0),
        (_Place("Berwyn", ("60402",), ("708",)), 1.5),
        (_Place("Oak Lawn", ("60453",), ("708",)), 1.5),
        (_Place("Orland Park", ("60462", "60467"), ("708",)), 1.0),
        (_Place("Calumet City", ("60409",), ("708",)), 1.0),
        (_Place("Harvey", ("60426",), ("708",)), 1.0),
        (_Place("Maywood", ("60153",), ("708",)), 1.0),
        (_Place("Naperville", ("60540", "60563", "60564", "60565"), ("630", "331")), 2.5),
        (_Place("Aurora", ("60505", "60506"), ("630", "331")), 3.0),
        (_Place("Wheaton", ("60187",), ("630", "331")), 1.0),
        (_Place("Downers Grove", ("60515", "60516"), ("630", "331")), 1.0),
        (_Place("Bolingbrook", ("60440",), ("630", "331")), 1.5),
        (_Place("Joliet", ("60432", "60435", "60436"), ("815", "779")), 2.5),
        (_Place("Schaumburg", ("60193", "60194"), ("847", "224")), 1.5),
        (_Place("Des Plaines", ("60016", "60018"), ("847", "224")), 1.5),
        (_Place("Arlington Heights", ("60004", "60005"), ("847", "224")), 1.5),
        (_Place("Palatine", ("60067", "60074"), ("847", "224")), 1.0),
        (_Place("Waukegan", ("60085", "60087"), ("847", "224")), 2.0),
        (_Place("Elgin", ("60120", "60123"), ("847", "224")), 2.0),
    ]
)

# Central-office codes 200-999 that are real, dialable exchanges: no N11 service codes, no
# 555 (directory / fictional), no 950/958/959/976 (carrier and test use).
EXCHANGES = tuple(
    n for n in range(200, 1000) if n % 100 != 11 and n not in (555, 950, 958, 959, 976)
)
EMAIL_DOMAINS = _Weighted([("example.com", 6), ("example.net", 2), ("example.org", 2)])


def _phone(rng: random.Random, area_codes: Sequence[str]) -> str:
    return f"+1{rng.choice(area_codes)}{rng.choice(EXCHANGES)}{rng.randrange(10000):04d}"


def _address(rng: random.Random, place: _Place) -> tuple[str, str | None]:
    if place is CHICAGO:
        if _chance(rng, 0.25):
            line1 = f"{rng.randrange(100, 1300)} {rng.choice('EW')} {rng.choice(CHICAGO_NUMBERED)}"
        else:
            line1 = f"{rng.randrange(100, 9999)} {rng.choice('NSW')} {rng.choice(CHICAGO_STREETS)}"
        apartment = 0.3
    else:
        line1 = f"{rng.randrange(1, 2999)} {rng.choice(SUBURB_STREETS)}"
        apartment = 0.12
    line2 = None
    if _chance(rng, apartment):
        floor = rng.randrange(1, 6)
        line2 = rng.choice(
            (f"Apt {floor}{rng.choice('ABCDEF')}", f"Unit {floor}0{rng.randrange(1, 9)}", "Apt 1R")
        )
    return line1, line2


# --- clinical content ----------------------------------------------------------------------

# Billable ICD-10-CM codes with their official descriptions (checked against
# terminology.icd10 by the tests).
ICD10: dict[str, str] = {
    "I10": "Essential (primary) hypertension",
    "I11.0": "Hypertensive heart disease with heart failure",
    "I12.9": "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney "
    "disease, or unspecified chronic kidney disease",
    "I13.0": "Hypertensive heart and chronic kidney disease with heart failure and stage 1 "
    "through stage 4 chronic kidney disease, or unspecified chronic kidney disease",
    "E11.9": "Type 2 diabetes mellitus without complications",
    "E11.65": "Type 2 diabetes mellitus with hyperglycemia",
    "E11.22": "Type 2 diabetes mellitus with diabetic chronic kidney disease",
    "E78.5": "Hyperlipidemia, unspecified",
    "E78.00": "Pure hypercholesterolemia, unspecified",
    "E78.2": "Mixed hyperlipidemia",
    "I50.9": "Heart failure, unspecified",
    "I50.22": "Chronic systolic (congestive) heart failure",
    "I50.32": "Chronic diastolic (congestive) heart failure",
    "J44.9": "Chronic obstructive pulmonary disease, unspecified",
    "J45.909": "Unspecified asthma, uncomplicated",
    "J45.20": "Mild intermittent asthma, uncomplicated",
    "J45.40": "Moderate persistent asthma, uncomplicated",
    "F32.A": "Depression, unspecified",
    "F32.1": "Major depressive disorder, single episode, moderate",
    "F33.1": "Major depressive disorder, recurrent, moderate",
    "F41.1": "Generalized anxiety disorder",
    "F41.9": "Anxiety disorder, unspecified",
    "N18.30": "Chronic kidney disease, stage 3 unspecified",
    "N18.31": "Chronic kidney disease, stage 3a",
    "N18.32": "Chronic kidney disease, stage 3b",
    "I48.91": "Unspecified atrial fibrillation",
    "I48.20": "Chronic atrial fibrillation, unspecified",
    "E66.9": "Obesity, unspecified",
    "E66.01": "Morbid (severe) obesity due to excess calories",
    "M17.0": "Bilateral primary osteoarthritis of knee",
    "M17.11": "Unilateral primary osteoarthritis, right knee",
    "M17.12": "Unilateral primary osteoarthritis, left knee",
    "M16.11": "Unilateral primary osteoarthritis, right hip",
    "M19.90": "Unspecified osteoarthritis, unspecified site",
    "E03.9": "Hypothyroidism, unspecified",
    # family history only
    "I21.9": "Acute myocardial infarction, unspecified",
    "I25.10": "Atherosclerotic heart disease of native coronary artery without angina pectoris",
    "I63.9": "Cerebral infarction, unspecified",
    "C50.919": "Malignant neoplasm of unspecified site of unspecified female breast",
    "C18.9": "Malignant neoplasm of colon, unspecified",
    "C61": "Malignant neoplasm of prostate",
    "C34.90": "Malignant neoplasm of unspecified part of unspecified bronchus or lung",
    "G30.9": "Alzheimer's disease, unspecified",
    "F10.20": "Alcohol dependence, uncomplicated",
}

# Prevalence by age band (<18, 18-39, 40-59, 60-79, 80+), roughly as US surveys report
# diagnosed chronic conditions.
PREVALENCE: dict[str, tuple[float, float, float, float, float]] = {
    "hypertension": (0.01, 0.08, 0.33, 0.60, 0.72),
    "diabetes": (0.002, 0.03, 0.13, 0.24, 0.22),
    "hyperlipidemia": (0.0, 0.08, 0.30, 0.47, 0.45),
    "heart_failure": (0.0, 0.002, 0.012, 0.05, 0.12),
    "copd": (0.0, 0.005, 0.04, 0.10, 0.12),
    "asthma": (0.07, 0.08, 0.08, 0.07, 0.06),
    "depression": (0.02, 0.09, 0.09, 0.08, 0.07),
    "anxiety": (0.03, 0.10, 0.08, 0.06, 0.04),
    "ckd3": (0.0, 0.003, 0.03, 0.10, 0.22),
    "afib": (0.0, 0.001, 0.01, 0.05, 0.11),
    "obesity": (0.05, 0.15, 0.20, 0.18, 0.08),
    "osteoarthritis": (0.0, 0.01, 0.08, 0.22, 0.30),
    "hypothyroidism": (0.003, 0.03, 0.06, 0.10, 0.12),
}
# Typical onset ages (earliest, latest) for a condition diagnosed in an adult.
ONSET: dict[str, tuple[int, int]] = {
    "hypertension": (30, 75),
    "diabetes": (35, 75),
    "hyperlipidemia": (30, 75),
    "heart_failure": (50, 90),
    "copd": (45, 85),
    "asthma": (3, 40),
    "depression": (14, 70),
    "anxiety": (12, 65),
    "ckd3": (50, 90),
    "afib": (50, 90),
    "obesity": (10, 60),
    "osteoarthritis": (45, 85),
    "hypothyroidism": (20, 75),
}


@dataclass(frozen=True, slots=True)
class _Drug:
    name: str
    rxnorm: str | None
    route: str
    regimens: tuple[tuple[str, str], ...]  # (dose, frequency)


def _drug(name: str, rxnorm: str | None, route: str, *regimens: str) -> _Drug:
    """``regimens`` as "dose; frequency" strings."""
    pairs = tuple((dose, frequency) for dose, _, frequency in (r.partition("; ") for r in regimens))
    return _Drug(name, rxnorm, route, pairs)


# RxNorm ingredient (IN) concepts; left empty where we are not certain of the code.
DRUGS: dict[str, _Drug] = {
    "lisinopril": _drug("Lisinopril", "29046", "oral", "10 mg; once daily", "20 mg; once daily"),
    "amlodipine": _drug("Amlodipine", "17767", "oral", "5 mg; once daily", "10 mg; once daily"),
    "losartan": _drug("Losartan", "52175", "oral", "50 mg; once daily", "100 mg; once daily"),
    "hydrochlorothiazide": _drug(
        "Hydrochlorothiazide", "5487", "oral", "12.5 mg; once daily", "25 mg; once daily"
    ),
    "metformin": _drug(
        "Metformin", "6809", "oral", "500 mg; twice daily with meals", "1000 mg; twice daily"
    ),
    "insulin_glargine": _drug(
        "Insulin glargine", "274783", "subcutaneous", "20 units; at bedtime", "32 units; at bedtime"
    ),
    "atorvastatin": _drug(
        "Atorvastatin", "83367", "oral", "20 mg; once daily", "40 mg; once daily at bedtime"
    ),
    "simvastatin": _drug("Simvastatin", "36567", "oral", "20 mg; once daily in the evening"),
    "furosemide": _drug(
        "Furosemide", "4603", "oral", "20 mg; once daily", "40 mg; once daily", "40 mg; twice daily"
    ),
    "carvedilol": _drug(
        "Carvedilol", "20352", "oral", "6.25 mg; twice daily with food", "12.5 mg; twice daily"
    ),
    "spironolactone": _drug("Spironolactone", "9997", "oral", "25 mg; once daily"),
    "tiotropium": _drug(
        "Tiotropium inhalation powder", None, "inhalation", "18 mcg (1 capsule); once daily"
    ),
    "albuterol": _drug(
        "Albuterol HFA inhaler",
        "435",
        "inhalation",
        "90 mcg/actuation, 2 puffs; every 4-6 hours as needed for wheezing",
    ),
    "fluticasone": _drug(
        "Fluticasone propionate HFA inhaler",
        "41126",
        "inhalation",
        "110 mcg/actuation, 2 puffs; twice daily",
    ),
    "montelukast": _drug("Montelukast", "88249", "oral", "10 mg; once daily in the evening"),
    "sertraline": _drug("Sertraline", "36437", "oral", "50 mg; once daily", "100 mg; once daily"),
    "escitalopram": _drug(
        "Escitalopram", "321988", "oral", "10 mg; once daily", "20 mg; once daily"
    ),
    "buspirone": _drug("Buspirone", "1827", "oral", "10 mg; twice daily"),
    "apixaban": _drug("Apixaban", "1364430", "oral", "5 mg; twice daily"),
    "metoprolol": _drug(
        "Metoprolol succinate ER", "6918", "oral", "25 mg; once daily", "50 mg; once daily"
    ),
    "acetaminophen": _drug(
        "Acetaminophen", "161", "oral", "1000 mg; every 8 hours as needed for pain"
    ),
    "meloxicam": _drug("Meloxicam", None, "oral", "7.5 mg; once daily with food"),
    "levothyroxine": _drug(
        "Levothyroxine",
        "10582",
        "oral",
        *(f"{mcg} mcg; once daily before breakfast" for mcg in (50, 75, 88, 100)),
    ),
}

PRESCRIBERS = (
    "Dr. Anika Patel", "Dr. Samuel Okafor", "Dr. Rebecca Lindqvist", "Dr. Miguel Torres",
    "Dr. Hannah Cho", "Dr. Robert Kowalczyk", "Dr. Denise Whitaker", "Grace Mensah, NP",
    "Daniel Reyes, PA-C", "Dr. Farah Haddad",
)  # fmt: skip
FACILITIES = (
    "Lakeside General Hospital", "Prairie View Medical Center", "Riverbend Community Hospital",
    "Northgate Regional Hospital",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _AllergySpec:
    substance: str
    type: str
    category: str
    criticality: str  # when the reaction is not life-threatening, it may be recorded lower
    reactions: tuple[tuple[str, ...], ...]  # the ways people react, one is picked


# substance, type, category, criticality, reactions ("a, b | c"), weight in adults, in children
_ALLERGY_TABLE = (
    ("Penicillin", "allergy", "medication", "high", "hives | rash, itching | anaphylaxis", 10, 3),
    ("Sulfonamide antibiotics", "allergy", "medication", "low", "rash | hives", 4, 1),
    ("Codeine", "intolerance", "medication", "low", "nausea, vomiting", 3, 0.2),
    ("Amoxicillin", "allergy", "medication", "low", "rash | hives", 2, 3),
    ("Aspirin", "allergy", "medication", "low", "hives | wheezing", 1.5, 0.2),
    ("Ibuprofen", "intolerance", "medication", "low", "stomach upset", 1.5, 0.5),
    ("Morphine", "intolerance", "medication", "low", "itching | nausea", 1, 0.1),
    ("Iodinated contrast media", "allergy", "medication", "high", "hives | wheezing", 1, 0.1),
    ("Peanuts", "allergy", "food", "high", "anaphylaxis | hives, swelling of lips", 2, 4),
    ("Tree nuts", "allergy", "food", "high", "hives, throat tightness | hives", 1, 2),
    ("Shellfish", "allergy", "food", "high", "hives | swelling of face", 2, 1),
    ("Eggs", "allergy", "food", "low", "rash | vomiting", 0.3, 2.5),
    ("Latex", "allergy", "environment", "low", "contact dermatitis | hives", 1.5, 0.3),
    ("Bee venom", "allergy", "environment", "high", "anaphylaxis | swelling at sting site", 1, 0.5),
    ("Cat dander", "allergy", "environment", "low", "sneezing, itchy eyes", 1, 1),
    ("Tree and grass pollen", "allergy", "environment", "low", "runny nose, itchy eyes", 2, 1.5),
)


def _allergy_tables() -> tuple[_Weighted[_AllergySpec], _Weighted[_AllergySpec]]:
    adults, children = [], []
    for substance, kind, category, criticality, reactions, adult_w, child_w in _ALLERGY_TABLE:
        ways = tuple(tuple(r.strip() for r in way.split(",")) for way in reactions.split("|"))
        spec = _AllergySpec(substance, kind, category, criticality, ways)
        adults.append((spec, float(adult_w)))
        children.append((spec, float(child_w)))
    return _Weighted(adults), _Weighted(children)


_ALLERGIES, _CHILD_ALLERGIES = _allergy_tables()

# (condition as reported, ICD-10-CM code, sex of relative it applies to or None, onset range)
_FAMILY_CONDITIONS: tuple[tuple[str, str, str | None, tuple[int, int]], ...] = (
    ("Type 2 diabetes", "E11.9", None, (40, 70)),
    ("High blood pressure", "I10", None, (35, 65)),
    ("Heart attack", "I21.9", None, (45, 80)),
    ("Coronary artery disease", "I25.10", None, (45, 80)),
    ("Stroke", "I63.9", None, (55, 85)),
    ("Breast cancer", "C50.919", "female", (40, 75)),
    ("Colon cancer", "C18.9", None, (45, 80)),
    ("Prostate cancer", "C61", "male", (55, 80)),
    ("Lung cancer", "C34.90", None, (55, 80)),
    ("Alzheimer's disease", "G30.9", None, (65, 90)),
    ("Depression", "F32.A", None, (18, 60)),
    ("Alcohol use disorder", "F10.20", None, (20, 55)),
)
_FAMILY_CONDITION = _Weighted(
    [(c, w) for c, w in zip(_FAMILY_CONDITIONS, (9, 10, 5, 5, 4, 3, 2, 2, 2, 3, 3, 2), strict=True)]
)
_RELATIVES = _Weighted(
    [
        (("MTH", "female"), 10),
        (("FTH", "male"), 10),
        (("SIS", "female"), 3),
        (("BRO", "male"), 3),
        (("GRMTH", "female"), 2),
        (("GRFTH", "male"), 2),
    ]
)

OCCUPATIONS = (
    "office manager", "registered nurse", "certified nursing assistant", "teacher",
    "bus driver", "warehouse associate", "cashier", "restaurant cook", "construction laborer",
    "electrician", "accountant", "software developer", "home health aide", "security guard",
    "janitor", "hair stylist", "truck driver", "retail sales associate", "mail carrier",
    "police officer", "line cook", "machine operator", "customer service representative",
    "medical assistant", "landscaper", "self-employed", "unemployed", "on disability",
    "homemaker", "graduate student",
)  # fmt: skip
ALERTS = (
    "Hard of hearing: face the patient and speak slowly",
    "Uses a wheelchair; needs an accessible exam room",
    "Legally blind: send large-print letters",
    "Call daughter first; patient often does not answer",
    "Prefers a female clinician",
    "History of falls; fall precautions",
    "Needs transportation assistance for visits",
)
CONTACT_TIMES = (
    "weekday mornings",
    "weekday afternoons",
    "after 5 pm",
    "weekends only",
    "before noon",
    "any time",
)
SHARING_SETS = (
    ("appointments",),
    ("appointments", "medications"),
    ("appointments", "medications", "care-plan"),
    ("appointments", "care-plan", "diagnoses", "medications"),
    ("billing",),
    ("appointments", "billing"),
)
CONSENT_SOURCES = ("registration form", "patient portal", "verbal, by phone", "signed form")

# Payers and other organisations whose identifiers patients carry. Values come from a
# bijection of the patient index, so they are unique per system however many are seeded.
MEDICARE = ("http://hl7.org/fhir/sid/us-mbi", "Centers for Medicare & Medicaid Services")
MEDICAID = (
    "urn:carebridge:payer:il-medicaid",
    "Illinois Department of Healthcare and Family Services",
)
COMMERCIAL = (
    ("urn:carebridge:payer:lakeshore-health", "Lakeshore Health Plan", "LHP"),
    ("urn:carebridge:payer:prairie-mutual", "Prairie Mutual Insurance", "PMI"),
    ("urn:carebridge:payer:midwest-care", "Midwest Care Alliance", "MCA"),
)
OTHER_MRN = (
    ("urn:carebridge:mrn:lakeside-general", "Lakeside General Hospital"),
    ("urn:carebridge:mrn:prairie-view", "Prairie View Medical Center"),
)
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # Medicare Beneficiary Identifier alphabet (no S L O I B Z)


def _identifier_key(seed: int, index: int) -> int:
    """What identifier values are derived from: distinct for each (seed mod 100, index below
    10 million), so seeding with different seeds into one database never collides."""
    return (seed % 100) * 10_000_000 + index


def _spread(key: int, salt: int) -> int:
    """A bijection of 0..10^9-1 (a key to a scattered number), different per ``salt``."""
    return (key * 387_420_489 + salt * 7_919 + 104_729) % 1_000_000_000


def _mbi(key: int) -> str:
    """An identifier in the Medicare Beneficiary Identifier format (C A N N A N N A A N N)."""
    n = _spread(key, 1)
    out = []
    for radix in (10, 10, 20, 20, 10, 10, 20, 10, 10, 20):  # from the right
        n, digit = divmod(n, radix)
        out.append(_MBI_LETTERS[digit] if radix == 20 else str(digit))
    out.append(str(1 + key % 9))
    return "".join(reversed(out))


# --- one patient ---------------------------------------------------------------------------


def _band(age: int) -> int:
    if age < 18:
        return 0
    if age < 40:
        return 1
    if age < 60:
        return 2
    return 3 if age < 80 else 4


_AGE_BANDS = _Weighted(
    [
        ((0, 17), 12.0),
        ((18, 34), 17.0),
        ((35, 49), 18.0),
        ((50, 64), 24.0),
        ((65, 79), 21.0),
        ((80, 95), 8.0),
    ]
)


# How often someone of a background was given a name from the general US lists.
_US_NAME_SHARE = {"white": 1.0, "black": 0.65, "polish": 0.5, "filipino": 0.4, "hispanic": 0.12}


def _given_name(rng: random.Random, background: str, sex: str, birth_year: int) -> str:
    if background != "white" and not _chance(rng, _US_NAME_SHARE.get(background, 0.2)):
        return _GIVEN[background][sex].pick(rng)
    generation = 0 if birth_year < 1965 else 1 if birth_year < 1990 else 2
    if _chance(rng, 0.25):  # names outlive their decade
        generation = max(0, min(2, generation + rng.choice((-1, 1))))
    return _US_GIVEN[(sex, generation)].pick(rng)


def _family_name(rng: random.Random, background: str, sex: str, immigrant: bool) -> str:
    name = _FAMILY[background].pick(rng)
    if background == "hispanic" and _chance(rng, 0.10):
        name = f"{name}-{_FAMILY['hispanic'].pick(rng)}"
    elif background in ("white", "black") and sex == "female" and _chance(rng, 0.02):
        name = f"{name}-{_FAMILY[background].pick(rng)}"
    if background == "polish" and sex == "female" and immigrant and name.endswith("ski"):
        name = name[:-1] + "a"
    keep_accents = BACKGROUNDS[background][1]
    if keep_accents < 1.0 and not _chance(rng, keep_accents):
        name = _plain(name)
    return name


def _local_part(rng: random.Random, given: str, family: str, birth: dt.date) -> str:
    first = fold(given).split()[0].replace(" ", "")
    last = fold(family).replace(" ", "")
    style = rng.randrange(6)
    if style == 0:
        return f"{first}.{last}"
    if style == 1:
        return f"{first}{last}{birth.year % 100:02d}"
    if style == 2:
        return f"{first[0]}{last}{rng.randrange(1, 100)}"
    if style == 3:
        return f"{first}_{last}{rng.randrange(1, 1000)}"
    if style == 4:
        return f"{last}.{first}"
    return f"{first}{rng.randrange(100, 10000)}"


def _email(rng: random.Random, given: str, family: str, birth: dt.date) -> str:
    return f"{_local_part(rng, given, family, birth)}@{EMAIL_DOMAINS.pick(rng)}"


def _nickname(rng: random.Random, first: str) -> str | None:
    forms = _NICKNAME_FORMS.get(fold(first))
    if not forms:
        return None
    return rng.choice(forms).capitalize()


@dataclass(slots=True)
class _Facts:
    """What the later sections of one patient need to know about the person."""

    age: int
    band: int
    sex: str
    background: str
    birth: dt.date
    family: str
    place: _Place
    smoker: bool = False


def _build(seed: int, index: int) -> SyntheticPatient:
    rng = random.Random(f"carebridge-synthetic:{seed}:{index}")  # noqa: S311 - test data
    background = _BACKGROUND.pick(rng)
    low, high = _AGE_BANDS.pick(rng)
    age = rng.randint(low, high)
    birth = _between(
        rng,
        dt.date(REFERENCE_DATE.year - age - 1, REFERENCE_DATE.month, REFERENCE_DATE.day)
        + dt.timedelta(days=1),
        dt.date(REFERENCE_DATE.year - age, REFERENCE_DATE.month, REFERENCE_DATE.day),
    )
    sex = "female" if _chance(rng, 0.515) else "male"
    languages = BACKGROUNDS[background][2]
    language = "en"
    for code, share in languages.items():
        # Older people more often speak the language of home; children mostly English.
        share = share * (1.3 if age >= 60 else 0.4 if age < 18 else 1.0)
        if _chance(rng, share):
            language = code
    immigrant = language != "en" or _chance(rng, 0.1)
    first = _given_name(rng, background, sex, birth.year)
    given = first
    if _chance(rng, 0.35):
        middle = _given_name(rng, background, sex, birth.year)
        if middle != first:
            given = f"{first} {middle}"
    if background in ("hispanic", "polish") and not _chance(rng, BACKGROUNDS[background][1]):
        given = _plain(given)
    family = _family_name(rng, background, sex, immigrant)
    place = _PLACES.pick(rng)
    facts = _Facts(age, _band(age), sex, background, birth, family, place)
    facts.smoker = age >= 18 and _chance(rng, 0.3 if age >= 40 else 0.2)  # current or former

    race, ethnicity = _race_ethnicity(rng, background)
    gender_identity, pronouns = _gender(rng, sex, age)
    preferred_name = None
    if _chance(rng, 0.07):
        preferred_name = _nickname(rng, first) or (given.split()[1] if " " in given else None)

    homeless = age >= 18 and _chance(rng, 0.004)
    if homeless:
        line1, line2, city, state, postal = None, None, None, None, None
    else:
        line1, line2 = _address(rng, place)
        city, state, postal = place.city, "IL", rng.choice(place.zips)

    phones = _phones(rng, facts)
    email_p = (0.2, 0.9, 0.86, 0.66, 0.35)[facts.band]
    email = _email(rng, given, family, birth) if _chance(rng, email_p) else None
    has_mobile = any(p.use == "mobile" for p in phones)
    contact = _contact_method(rng, has_mobile, bool(phones), email is not None, homeless)
    social = _social(rng, facts) if _chance(rng, 0.85 if age >= 18 else 0.55) else None
    related = _related_persons(rng, facts, phones)
    conditions, medications = _problems(rng, facts)
    allergies = _allergies(rng, facts)
    if allergies:
        allergy_status = "has-allergies"
    else:
        allergy_status = "no-known-allergies" if _chance(rng, 0.85) else "unknown"
    allergy_on = (
        _between(rng, dt.date(REFERENCE_DATE.year - 3, 1, 1), REFERENCE_DATE)
        if allergy_status != "unknown"
        else None
    )
    status, deceased = "active", None
    if age >= 75 and _chance(rng, 0.01):
        status, deceased = (
            "deceased",
            _between(rng, dt.date(REFERENCE_DATE.year - 2, 1, 1), REFERENCE_DATE),
        )
    elif _chance(rng, 0.015):
        status = "inactive"
    return SyntheticPatient(
        index=index,
        family_name=family,
        given_names=given,
        preferred_name=preferred_name,
        birth_date=birth,
        sex=sex,
        gender_identity=gender_identity,
        pronouns=pronouns,
        language=language,
        interpreter_needed=language != "en" and _chance(rng, 0.85),
        race=race,
        ethnicity=ethnicity,
        email=email,
        address_line1=line1,
        address_line2=line2,
        city=city,
        state=state,
        postal_code=postal,
        preferred_contact_method=contact,
        preferred_contact_times=rng.choice(CONTACT_TIMES) if _chance(rng, 0.35) else None,
        alerts=rng.choice(ALERTS) if _chance(rng, 0.03 + 0.05 * (age >= 80)) else None,
        status=status,
        deceased_date=deceased,
        allergy_status=allergy_status,
        allergy_status_on=allergy_on,
        coordinator_slot=rng.randrange(1_000_000) if _chance(rng, 0.8) else None,
        phones=phones,
        identifiers=_identifiers(rng, _identifier_key(seed, index), age),
        related=related,
        contact_consents=_contact_consents(rng, facts, has_mobile, email is not None, homeless),
        conditions=conditions,
        allergies=allergies,
        medications=medications,
        family_history=_family_history(rng, facts),
        social_history=social,
        past_events=_past_events(rng, facts, conditions),
    )


def _race_ethnicity(rng: random.Random, background: str) -> tuple[tuple[str, ...], str]:
    race_of = _RACE_OF.get(background, _ASIAN_RACE)
    first = race_of.pick(rng)
    races: tuple[str, ...] = (first,)
    if first not in (DECLINED, UNKNOWN) and _chance(rng, 0.03):
        second = _SECOND_RACE.pick(rng)
        if second != first:
            races = (first, second)
    if background == "hispanic":
        ethnicity = HISPANIC if _chance(rng, 0.97) else DECLINED
    else:
        roll = rng.random()
        ethnicity = NOT_HISPANIC if roll < 0.93 else DECLINED if roll < 0.97 else UNKNOWN
    return races, ethnicity


def _gender(rng: random.Random, sex: str, age: int) -> tuple[str | None, str | None]:
    if age < 12 or not _chance(rng, 0.7):
        return None, None
    roll = rng.random()
    if roll < 0.005:
        identity = "transgender-female" if sex == "male" else "transgender-male"
    elif roll < 0.012:
        identity = "non-binary"
    elif roll < 0.03:
        return "asked-declined", None
    else:
        identity = sex
    if not _chance(rng, 0.8):
        return identity, None
    if identity in ("female", "transgender-female"):
        pronouns = "she/her"
    elif identity in ("male", "transgender-male"):
        pronouns = "he/him"
    else:
        pronouns = "they/them" if _chance(rng, 0.75) else rng.choice(("she/her", "he/him"))
    return identity, pronouns


def _phones(rng: random.Random, facts: _Facts) -> tuple[SyntheticPhone, ...]:
    codes = facts.place.area_codes
    phones = []
    if facts.age < 18:
        # A child's chart carries a parent's numbers.
        phones.append(SyntheticPhone(_phone(rng, codes), "mobile"))
        if _chance(rng, 0.2):
            phones.append(SyntheticPhone(_phone(rng, codes), "home"))
        return tuple(phones)
    mobile_p = 0.93 if facts.age < 65 else 0.8 if facts.age < 80 else 0.55
    home_p = 0.2 if facts.age < 50 else 0.4 if facts.age < 65 else 0.65
    if _chance(rng, mobile_p):
        phones.append(SyntheticPhone(_phone(rng, codes), "mobile"))
    if _chance(rng, home_p) or (not phones and _chance(rng, 0.9)):
        phones.append(SyntheticPhone(_phone(rng, codes), "home"))
    if 22 <= facts.age < 67 and _chance(rng, 0.07):
        phones.append(SyntheticPhone(_phone(rng, ("312", "312", "773", "630", "847")), "work"))
    return tuple(phones)


def _contact_method(
    rng: random.Random, mobile: bool, phone: bool, email: bool, homeless: bool
) -> str | None:
    if not _chance(rng, 0.75):
        return None
    options = []
    if phone:
        options.append(("phone", 40.0))
    if mobile:
        options.append(("sms", 35.0))
    if email:
        options += [("email", 15.0), ("portal", 10.0)]
    if not homeless:
        options.append(("mail", 4.0))
    return _Weighted(options).pick(rng) if options else None


def _contact_consents(
    rng: random.Random, facts: _Facts, mobile: bool, email: bool, homeless: bool
) -> tuple[SyntheticContactConsent, ...]:
    if not _chance(rng, 0.85):
        return ()
    since = _between(rng, dt.date(2015, 1, 1), REFERENCE_DATE)
    source = rng.choice(CONSENT_SOURCES)
    consents = []
    for channel, available, permit in (
        ("sms", mobile, 0.82),
        ("email", email, 0.9),
        ("voice", True, 0.96),
        ("mail", not homeless, 0.93),
    ):
        if available and _chance(rng, 0.95):
            decision = "permit" if _chance(rng, permit) else "deny"
            consents.append(SyntheticContactConsent(channel, decision, since, source))
    return tuple(consents)


def _identifiers(rng: random.Random, key: int, age: int) -> tuple[SyntheticIdentifier, ...]:
    ids = []
    if age >= 65 and _chance(rng, 0.95):
        ids.append(SyntheticIdentifier("MB", MEDICARE[0], _mbi(key), MEDICARE[1]))
        if _chance(rng, 0.15):
            ids.append(_medicaid(key))
    elif _chance(rng, 0.25):
        ids.append(_medicaid(key))
    elif _chance(rng, 0.75):
        system, assigner, prefix = rng.choice(COMMERCIAL)
        ids.append(SyntheticIdentifier("MB", system, f"{prefix}{_spread(key, 3):09d}", assigner))
    if _chance(rng, 0.08):
        system, assigner = rng.choice(OTHER_MRN)
        ids.append(SyntheticIdentifier("MR", system, f"L{_spread(key, 4):09d}", assigner))
    return tuple(ids)


def _medicaid(key: int) -> SyntheticIdentifier:
    return SyntheticIdentifier("MB", MEDICAID[0], f"{_spread(key, 2):09d}", MEDICAID[1])


def _person_name(rng: random.Random, facts: _Facts, sex: str, birth_year: int, same: bool) -> str:
    given = _given_name(rng, facts.background, sex, birth_year)
    family = facts.family if same else _family_name(rng, facts.background, sex, False)
    return f"{given} {family}"


def _related_persons(
    rng: random.Random, facts: _Facts, phones: Sequence[SyntheticPhone]
) -> tuple[SyntheticRelatedPerson, ...]:
    age, codes = facts.age, facts.place.area_codes
    people: list[SyntheticRelatedPerson] = []

    def add(
        name: str,
        code: str,
        *,
        phone: str | None = None,
        emergency: bool = False,
        caregiver: bool = False,
        representative: bool = False,
        note: str | None = None,
        sharing: SyntheticSharingConsent | None = None,
        address: str | None = None,
    ) -> None:
        email = None
        if _chance(rng, 0.3):
            given, _, family = name.partition(" ")
            email = _email(rng, given, family, facts.birth)
        people.append(
            SyntheticRelatedPerson(
                name,
                code,
                phone,
                email,
                address,
                emergency,
                caregiver,
                representative,
                note,
                sharing,
            )
        )

    if age < 18:
        parent_year = facts.birth.year - rng.randint(20, 40)
        mother = _person_name(rng, facts, "female", parent_year, _chance(rng, 0.8))
        first_phone = phones[0].number if phones else _phone(rng, codes)
        add(mother, "MTH", phone=first_phone, emergency=True, representative=True)
        if _chance(rng, 0.55):
            father = _person_name(rng, facts, "male", parent_year, True)
            add(father, "FTH", phone=_phone(rng, codes), emergency=True, representative=True)
        return tuple(people)

    spouse_p = 0.0 if age < 22 else 0.55 if age < 80 else 0.35
    if _chance(rng, spouse_p):
        other = "male" if facts.sex == "female" else "female"
        if _chance(rng, 0.04):
            other = facts.sex
        code = "SPS" if _chance(rng, 0.85) else "DOMPART"
        name = _person_name(
            rng,
            facts,
            other,
            facts.birth.year + rng.randint(-5, 5),
            code == "SPS" and _chance(rng, 0.7),
        )
        sharing = _sharing(rng) if _chance(rng, 0.2 if age < 65 else 0.35) else None
        add(
            name,
            code,
            phone=_phone(rng, codes),
            emergency=_chance(rng, 0.85),
            sharing=sharing,
            caregiver=age >= 75 and _chance(rng, 0.3),
        )
    if age >= 60 and _chance(rng, 0.7 if age < 80 else 0.85):
        sex = "female" if _chance(rng, 0.55) else "male"
        code = ("DAU" if sex == "female" else "SON") if _chance(rng, 0.8) else "CHILD"
        name = _person_name(
            rng, facts, sex, facts.birth.year + rng.randint(20, 35), _chance(rng, 0.7)
        )
        caregiver = _chance(rng, 0.35 if age < 80 else 0.65)
        representative = _chance(rng, 0.12 if age < 80 else 0.35)
        sharing = _sharing(rng) if caregiver and _chance(rng, 0.7) else None
        add(
            name,
            code,
            phone=_phone(rng, codes),
            emergency=True,
            caregiver=caregiver,
            representative=representative,
            note="Health care power of attorney on file" if representative else None,
            sharing=sharing,
            address=_one_line_address(rng) if _chance(rng, 0.3) else None,
        )
    if age >= 80 and _chance(rng, 0.08):
        name = _person_name(rng, facts, "female", REFERENCE_DATE.year - rng.randint(25, 55), False)
        add(
            name,
            "CAREGIVER",
            phone=_phone(rng, codes),
            caregiver=True,
            note=rng.choice(("Home health aide, weekdays 9-1", "Paid caregiver, lives in")),
        )
    if not any(p.emergency_contact for p in people) and _chance(rng, 0.6):
        code = _Weighted(
            [("SIS", 3), ("BRO", 3), ("MTH", 3 if age < 60 else 0.1), ("FRND", 2), ("NBOR", 0.5)]
        ).pick(rng)
        sex = (
            "female"
            if code in ("SIS", "MTH")
            else "male"
            if code == "BRO"
            else rng.choice(("female", "male"))
        )
        same = code in ("SIS", "BRO", "MTH") and _chance(rng, 0.7)
        name = _person_name(rng, facts, sex, facts.birth.year + rng.randint(-10, 10), same)
        add(name, code, phone=_phone(rng, codes), emergency=True)
    return tuple(people)


def _one_line_address(rng: random.Random) -> str:
    place = _PLACES.pick(rng)
    line1, line2 = _address(rng, place)
    line = f"{line1}, {line2}" if line2 else line1
    return f"{line}, {place.city}, IL {rng.choice(place.zips)}"


def _sharing(rng: random.Random) -> SyntheticSharingConsent:
    signed = _between(rng, dt.date(REFERENCE_DATE.year - 3, 1, 1), REFERENCE_DATE)
    expires = None
    if _chance(rng, 0.4):
        expires = signed + dt.timedelta(days=365 * rng.choice((1, 2)))
    note = "Verbal consent confirmed by phone" if _chance(rng, 0.1) else None
    return SyntheticSharingConsent(rng.choice(SHARING_SETS), signed, expires, note)


def _has(rng: random.Random, facts: _Facts, condition: str, factor: float = 1.0) -> bool:
    return _chance(rng, PREVALENCE[condition][facts.band] * factor)


def _onset(rng: random.Random, facts: _Facts, condition: str) -> dt.date:
    low, high = ONSET[condition]
    low = min(low, facts.age)
    high = max(low, min(high, facts.age))
    return _at_age(facts.birth, rng.uniform(low, high + 0.99))


def _problems(
    rng: random.Random, facts: _Facts
) -> tuple[tuple[SyntheticCondition, ...], tuple[SyntheticMedication, ...]]:
    female = facts.sex == "female"
    diabetes_risk = 1.4 if facts.background in ("hispanic", "black", "south_asian") else 1.0
    has = {
        "diabetes": _has(rng, facts, "diabetes", diabetes_risk),
        "obesity": _has(rng, facts, "obesity"),
        "asthma": _has(rng, facts, "asthma"),
        "depression": _has(rng, facts, "depression", 1.5 if female else 0.7),
        "anxiety": _has(rng, facts, "anxiety", 1.4 if female else 0.7),
        "osteoarthritis": _has(rng, facts, "osteoarthritis", 1.2 if female else 0.85),
        "hypothyroidism": _has(rng, facts, "hypothyroidism", 1.7 if female else 0.35),
        "copd": _has(rng, facts, "copd", 2.5 if facts.smoker else 0.3),
        "afib": _has(rng, facts, "afib", 0.8 if female else 1.2),
        "heart_failure": _has(rng, facts, "heart_failure"),
    }
    metabolic = 1.5 if has["diabetes"] or has["obesity"] else 1.0
    has["hypertension"] = _has(
        rng, facts, "hypertension", metabolic * (1.3 if facts.background == "black" else 1.0)
    )
    has["hyperlipidemia"] = _has(rng, facts, "hyperlipidemia", metabolic)
    has["ckd3"] = _has(rng, facts, "ckd3", 1.4 if has["diabetes"] or has["hypertension"] else 0.5)

    conditions: list[SyntheticCondition] = []
    meds: list[SyntheticMedication] = []
    source = "clinician" if _chance(rng, 0.7) else rng.choice(("reported", "imported"))

    def condition(code: str, key: str, status: str = "active") -> dt.date:
        onset = _onset(rng, facts, key)
        conditions.append(SyntheticCondition(code, ICD10[code], status, onset, source))
        return onset

    def drug(
        key: str,
        onset: dt.date,
        reason: str,
        *,
        stopped_after: int | None = None,
        note: str | None = None,
        regimen: tuple[str, str] | None = None,
    ) -> dt.date:
        """Add a medication started soon after ``onset``; the day it started (or stopped)."""
        spec = DRUGS[key]
        dose, frequency = regimen or rng.choice(spec.regimens)
        start = min(onset + dt.timedelta(days=rng.randrange(0, 120)), REFERENCE_DATE)
        status, stop = "active", None
        if stopped_after is not None:
            status, stop = "stopped", min(start + dt.timedelta(days=stopped_after), REFERENCE_DATE)
        meds.append(
            SyntheticMedication(
                spec.name,
                spec.rxnorm,
                dose,
                spec.route,
                frequency,
                start,
                stop,
                status,
                rng.choice(PRESCRIBERS),
                reason,
                note,
            )
        )
        return stop or start

    ckd_code = rng.choice(("N18.30", "N18.31", "N18.31", "N18.32"))
    if has["hypertension"]:
        if has["heart_failure"] and has["ckd3"]:
            htn_code = "I13.0"
        elif has["heart_failure"]:
            htn_code = "I11.0"
        elif has["ckd3"]:
            htn_code = "I12.9"
        else:
            htn_code = "I10"
        onset = condition(htn_code, "hypertension")
        first = _Weighted([("lisinopril", 45), ("amlodipine", 30), ("losartan", 25)]).pick(rng)
        if first == "losartan" and _chance(rng, 0.3):
            # The usual switch: an ACE inhibitor stopped for a cough, an ARB started instead.
            days = rng.randrange(30, 365)
            onset = drug(
                "lisinopril", onset, "Hypertension", stopped_after=days, note="Stopped: dry cough"
            )
        drug(first, onset, "Hypertension")
        if _chance(rng, 0.3):
            drug("hydrochlorothiazide", onset, "Hypertension")
    if has["diabetes"]:
        code = "E11.22" if has["ckd3"] else "E11.65" if _chance(rng, 0.25) else "E11.9"
        onset = condition(code, "diabetes")
        drug("metformin", onset, "Type 2 diabetes")
        if _chance(rng, 0.2):
            drug(
                "insulin_glargine",
                onset + dt.timedelta(days=rng.randrange(365, 3000)),
                "Type 2 diabetes",
            )
    if has["hyperlipidemia"]:
        onset = condition(
            rng.choice(("E78.5", "E78.5", "E78.5", "E78.00", "E78.2")), "hyperlipidemia"
        )
        if _chance(rng, 0.75):
            drug("atorvastatin" if _chance(rng, 0.75) else "simvastatin", onset, "Hyperlipidemia")
    if has["heart_failure"]:
        onset = condition(rng.choice(("I50.22", "I50.22", "I50.32", "I50.9")), "heart_failure")
        drug("furosemide", onset, "Heart failure")
        drug("carvedilol", onset, "Heart failure")
        if _chance(rng, 0.35):
            drug("spironolactone", onset, "Heart failure")
    if has["ckd3"]:
        condition(ckd_code, "ckd3")
    if has["copd"]:
        onset = condition("J44.9", "copd")
        drug("tiotropium", onset, "COPD")
        drug("albuterol", onset, "COPD")
    if has["asthma"]:
        status = "active" if _chance(rng, 0.85) else "inactive"
        onset = condition(rng.choice(("J45.909", "J45.20", "J45.20", "J45.40")), "asthma", status)
        if status == "active":
            drug("albuterol", onset, "Asthma")
            if _chance(rng, 0.4):
                drug("fluticasone", onset, "Asthma")
            if _chance(rng, 0.15):
                drug("montelukast", onset, "Asthma")
    on_ssri = False
    if has["depression"]:
        status = "active" if _chance(rng, 0.8) else "remission"
        onset = condition(rng.choice(("F32.A", "F32.A", "F33.1", "F32.1")), "depression", status)
        if _chance(rng, 0.7):
            on_ssri = True
            drug("sertraline" if _chance(rng, 0.6) else "escitalopram", onset, "Depression")
    if has["anxiety"]:
        onset = condition(rng.choice(("F41.1", "F41.1", "F41.9")), "anxiety")
        if not on_ssri and _chance(rng, 0.6):
            drug("sertraline" if _chance(rng, 0.5) else "buspirone", onset, "Anxiety")
    if has["afib"]:
        onset = condition(rng.choice(("I48.91", "I48.91", "I48.20")), "afib")
        regimen = ("2.5 mg", "twice daily") if facts.age >= 80 else None
        drug("apixaban", onset, "Atrial fibrillation", regimen=regimen)
        if not has["heart_failure"]:
            drug("metoprolol", onset, "Atrial fibrillation")
    if has["obesity"]:
        condition("E66.01" if _chance(rng, 0.25) else "E66.9", "obesity")
    if has["osteoarthritis"]:
        onset = condition(
            rng.choice(("M17.0", "M17.11", "M17.12", "M16.11", "M19.90")), "osteoarthritis"
        )
        if _chance(rng, 0.6):
            drug(
                "acetaminophen" if _chance(rng, 0.6) or has["ckd3"] else "meloxicam",
                onset,
                "Osteoarthritis",
            )
    if has["hypothyroidism"]:
        onset = condition("E03.9", "hypothyroidism")
        drug("levothyroxine", onset, "Hypothyroidism")
    return tuple(conditions), tuple(meds)


def _allergies(rng: random.Random, facts: _Facts) -> tuple[SyntheticAllergy, ...]:
    if not _chance(rng, 0.3 if facts.age >= 18 else 0.2):
        return ()
    count = 1 if _chance(rng, 0.7) else 2 if _chance(rng, 0.75) else 3
    table = _CHILD_ALLERGIES if facts.age < 18 else _ALLERGIES
    seen: set[str] = set()
    found = []
    for _ in range(count):
        spec = table.pick(rng)
        if spec.substance in seen:
            continue
        seen.add(spec.substance)
        reactions = rng.choice(spec.reactions)
        severe = "anaphylaxis" in reactions or "throat tightness" in reactions
        severity = "severe" if severe else rng.choice(("mild", "mild", "moderate"))
        criticality = "high" if severe else spec.criticality
        if criticality == "high" and not severe and _chance(rng, 0.4):
            criticality = "low"
        onset = (
            _at_age(facts.birth, rng.uniform(0, max(1, facts.age))) if _chance(rng, 0.4) else None
        )
        found.append(
            SyntheticAllergy(
                spec.substance, spec.type, spec.category, criticality, severity, reactions, onset
            )
        )
    return tuple(found)


def _family_history(rng: random.Random, facts: _Facts) -> tuple[SyntheticFamilyHistory, ...]:
    if not _chance(rng, 0.55):
        return ()
    entries = []
    seen = set()
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        relationship, relative_sex = _RELATIVES.pick(rng)
        name, code, only_sex, (low, high) = _FAMILY_CONDITION.pick(rng)
        if (only_sex and only_sex != relative_sex) or (relationship, code) in seen:
            continue
        seen.add((relationship, code))
        onset = rng.randint(low, high) if _chance(rng, 0.7) else None
        deceased = (
            facts.age >= 40
            and relationship in ("MTH", "FTH", "GRMTH", "GRFTH")
            and _chance(rng, 0.25 if facts.age < 60 else 0.6)
        )
        entries.append(SyntheticFamilyHistory(relationship, name, code, onset, deceased))
    return tuple(entries)


def _social(rng: random.Random, facts: _Facts) -> SyntheticSocialHistory:
    age = facts.age
    if age < 18:
        return SyntheticSocialHistory(
            "never",
            "none",
            None,
            rng.choice((60, 120, 300, 420)),
            "student" if age >= 5 else None,
            "with-family",
            True,
        )
    if facts.smoker:
        tobacco = (
            "current-every-day"
            if _chance(rng, 0.5)
            else "current-some-day"
            if _chance(rng, 0.2)
            else "former"
        )
    else:
        tobacco = "never" if _chance(rng, 0.92) else "unknown"
    alcohol = _Weighted(
        [
            ("none", 35),
            ("occasional", 35),
            ("moderate", 20),
            ("heavy", 3),
            ("former", 5),
            ("unknown", 2),
        ]
    ).pick(rng)
    substance = None
    if age < 60 and _chance(rng, 0.06):
        substance = rng.choice(("cannabis, occasional", "cannabis, daily", "none in the past year"))
    if age >= 67 or (age >= 60 and _chance(rng, 0.5)):
        occupation = "retired" if _chance(rng, 0.9) else rng.choice(OCCUPATIONS)
    elif age < 23 and _chance(rng, 0.5):
        occupation = "student"
    else:
        occupation = rng.choice(OCCUPATIONS)
    if age >= 80:
        living = _Weighted(
            [("alone", 30), ("with-family", 45), ("assisted-living", 15), ("nursing-home", 10)]
        ).pick(rng)
    elif age >= 65:
        living = _Weighted(
            [("alone", 28), ("with-family", 65), ("assisted-living", 5), ("with-others", 2)]
        ).pick(rng)
    else:
        living = _Weighted(
            [("alone", 18), ("with-family", 70), ("with-others", 11), ("homeless", 0.5)]
        ).pick(rng)
    caregiver = (
        living in ("with-family", "assisted-living", "nursing-home")
        and age >= 75
        and _chance(rng, 0.6)
    )
    activity = rng.choice((0, 30, 60, 90, 150, 150, 210, 300)) if _chance(rng, 0.8) else None
    return SyntheticSocialHistory(
        tobacco, alcohol, substance, activity, occupation, living, caregiver
    )


def _past_events(
    rng: random.Random, facts: _Facts, conditions: Sequence[SyntheticCondition]
) -> tuple[SyntheticPastEvent, ...]:
    events = []
    codes = {c.code[:3] for c in conditions}

    def stay(description: str, earliest: dt.date, days: int) -> None:
        start = _between(rng, earliest, REFERENCE_DATE - dt.timedelta(days=days + 1))
        events.append(
            SyntheticPastEvent(
                "hospitalization",
                description,
                start,
                start + dt.timedelta(days=rng.randint(2, days)),
                rng.choice(FACILITIES),
            )
        )

    def procedure(description: str, earliest: dt.date) -> None:
        start = _between(rng, earliest, REFERENCE_DATE)
        events.append(
            SyntheticPastEvent("procedure", description, start, start, rng.choice(FACILITIES))
        )

    recent = dt.date(REFERENCE_DATE.year - 3, 1, 1)
    adult = max(_at_age(facts.birth, 18), dt.date(REFERENCE_DATE.year - 30, 1, 1))
    if "I50" in codes and _chance(rng, 0.4):
        stay("Heart failure exacerbation", recent, 6)
    if "J44" in codes and _chance(rng, 0.3):
        stay("COPD exacerbation", recent, 5)
    if codes & {"M17"} and facts.age >= 60 and _chance(rng, 0.15):
        procedure("Total knee arthroplasty", _at_age(facts.birth, 55))
    if facts.age >= 20 and _chance(rng, 0.04):
        procedure(rng.choice(("Laparoscopic appendectomy", "Laparoscopic cholecystectomy")), adult)
    if facts.sex == "female" and 22 <= facts.age <= 50 and _chance(rng, 0.08):
        procedure("Cesarean delivery", _at_age(facts.birth, 20))
    if facts.age >= 50 and _chance(rng, 0.25):
        procedure("Screening colonoscopy", _at_age(facts.birth, 45))
    return tuple(events)


# --- near-duplicates -----------------------------------------------------------------------

DUPLICATE_KINDS = ("typo", "nickname", "swapped-date", "new-phone", "typo-and-new-phone")
DUPLICATES_PER = 100  # one near-duplicate in each run of this many patients


@functools.lru_cache(maxsize=4096)
def _duplicate_slot(seed: int, block: int) -> tuple[int, int, str]:
    """Which index of a block of ``DUPLICATES_PER`` is a near-duplicate, of which earlier
    patient, and of what kind."""
    rng = random.Random(f"carebridge-synthetic-duplicates:{seed}:{block}")  # noqa: S311
    index = block * DUPLICATES_PER + rng.randrange(DUPLICATES_PER)
    original = rng.randrange(index) if index else -1
    return index, original, rng.choice(DUPLICATE_KINDS)


def _typo(rng: random.Random, name: str) -> str:
    """One slip of the keyboard: two letters transposed, one dropped (long names only) or one
    typed twice; never on the first letter, which people rarely get wrong."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    if len(letters) < 4:
        return name + name[-1]
    i = rng.choice(letters[1:-1])
    operation = rng.randrange(3)
    if operation == 0 and name[i + 1].isalpha() and name[i] != name[i + 1]:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if operation == 1 and len(letters) >= 6:
        return name[:i] + name[i + 1 :]
    return name[:i] + name[i] + name[i:]


def _near_duplicate(
    seed: int, index: int, original: SyntheticPatient, kind: str
) -> SyntheticPatient:
    """A second chart for ``original``'s person, registered again with a slip: the kind asked
    for when it applies (a nickname needs a name that has one, a swapped date a day <= 12),
    else a typo in the family name."""
    rng = random.Random(f"carebridge-synthetic-duplicate:{seed}:{index}")  # noqa: S311
    family, given, birth = original.family_name, original.given_names, original.birth_date
    phones, email = original.phones, original.email
    line1, line2 = original.address_line1, original.address_line2
    city, postal = original.city, original.postal_code
    first, _, middle = given.partition(" ")
    if kind == "nickname":
        nickname = _nickname(rng, first)
        if nickname and fold(nickname) != fold(first):
            given = f"{nickname} {middle}".strip()
        else:
            kind = "typo"
    elif kind == "swapped-date":
        if birth.day <= 12 and birth.day != birth.month:
            birth = birth.replace(month=birth.day, day=birth.month)
        else:
            kind = "typo"
    if kind in ("typo", "typo-and-new-phone"):
        family = _typo(rng, family)
    if kind in ("new-phone", "typo-and-new-phone") or not phones:
        codes = CHICAGO.area_codes if city in (None, "Chicago") else ("630", "708", "847")
        phones = (SyntheticPhone(_phone(rng, codes), "mobile"),)
        if _chance(rng, 0.5):  # moved as well
            place = _PLACES.pick(rng)
            line1, line2 = _address(rng, place)
            city, postal = place.city, rng.choice(place.zips)
    if middle and _chance(rng, 0.4):
        given = given.partition(" ")[0]  # the middle name left off this time
    if email and _chance(rng, 0.4):
        email = None
    registered = _between(rng, dt.date(REFERENCE_DATE.year - 2, 1, 1), REFERENCE_DATE)
    return replace(
        original,
        index=index,
        family_name=family,
        given_names=given,
        preferred_name=None,
        birth_date=birth,
        email=email,
        address_line1=line1,
        address_line2=line2,
        city=city,
        postal_code=postal,
        phones=phones,
        alerts=None,
        status="active",
        deceased_date=None,
        allergy_status="unknown",
        allergy_status_on=None,
        identifiers=(),
        related=(),
        contact_consents=(
            SyntheticContactConsent("voice", "permit", registered, "registration form"),
        ),
        conditions=(),
        allergies=(),
        medications=(),
        family_history=(),
        social_history=None,
        past_events=(),
        duplicate_of=original.index,
        duplicate_kind=kind,
    )


# --- the public face -----------------------------------------------------------------------


def patient(seed: int, index: int) -> SyntheticPatient:
    """Patient number ``index`` (from 0) of the population of ``seed``."""
    slot, original, kind = _duplicate_slot(seed, index // DUPLICATES_PER)
    if index == slot and original >= 0:
        return _near_duplicate(seed, index, patient(seed, original), kind)
    return _build(seed, index)


def generate(count: int, seed: int = 1, *, start: int = 0) -> Iterator[SyntheticPatient]:
    """Patients ``start`` .. ``start + count - 1`` of the population of ``seed``, in order."""
    if count < 0 or start < 0:
        raise ValueError("count and start must not be negative")
    for index in range(start, start + count):
        yield patient(seed, index)


def as_patient_create(p: SyntheticPatient) -> PatientCreate:
    """The registration form this patient would have filled in (for the duplicate check and
    for registering synthetic patients through the service)."""
    from carebridge.patients.schemas import PatientCreate

    return PatientCreate.model_validate(
        {
            "family_name": p.family_name,
            "given_names": p.given_names,
            "preferred_name": p.preferred_name,
            "birth_date": p.birth_date,
            "sex": p.sex,
            "gender_identity": p.gender_identity,
            "pronouns": p.pronouns,
            "language": p.language,
            "interpreter_needed": p.interpreter_needed,
            "race": list(p.race),
            "ethnicity": p.ethnicity,
            "email": p.email,
            "address_line1": p.address_line1,
            "address_line2": p.address_line2,
            "city": p.city,
            "state": p.state,
            "postal_code": p.postal_code,
            "preferred_contact_method": p.preferred_contact_method,
            "preferred_contact_times": p.preferred_contact_times,
            "alerts": p.alerts,
            "phones": [{"number": ph.number, "use": ph.use} for ph in p.phones[:5]],
        }
    )
