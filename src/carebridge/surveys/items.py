"""The questions of the post-visit survey, as data: each item's key, kind, wording in English
and Spanish, answer options and which answers are its "top box" (the best answer, the share
the staff page and the satisfaction measure report).

The items follow the topics of the CAHPS Clinician & Group survey (overall rating of the
provider, recommending the office, clear explanations, listening, timely care) in our own
words; they are not the CAHPS wording and results are not comparable with CAHPS benchmarks.
Adding an item here needs no migration: answers are kept as a JSON object by item key (the
overall rating is also a column, for the measure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

LANGUAGES = ("en", "es")
COMMENT_MAX = 2000


@dataclass(frozen=True)
class Option:
    code: str
    text: dict[str, str]

    def label(self, language: str) -> str:
        return self.text.get(language) or self.text["en"]


@dataclass(frozen=True)
class Item:
    """One question. ``kind`` is "scale" (0-10), "choice" (one of ``options``) or "text"
    (free text, optional). ``short`` names the item on the staff page."""

    key: str
    kind: str
    text: dict[str, str]
    short: str
    options: tuple[Option, ...] = ()
    top_box: frozenset[str] = field(default_factory=frozenset)
    required: bool = True
    low: dict[str, str] = field(default_factory=dict)
    high: dict[str, str] = field(default_factory=dict)

    def question(self, language: str) -> str:
        return self.text.get(language) or self.text["en"]

    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.options)

    def answer_label(self, code: str, language: str = "en") -> str:
        for option in self.options:
            if option.code == code:
                return option.label(language)
        return code


def _scale() -> tuple[Option, ...]:
    return tuple(Option(str(n), {"en": str(n), "es": str(n)}) for n in range(11))


YES_SCALE = (
    Option("yes-definitely", {"en": "Yes, definitely", "es": "Sí, totalmente"}),
    Option("yes-somewhat", {"en": "Yes, somewhat", "es": "Sí, en parte"}),
    Option("no", {"en": "No", "es": "No"}),
)
RECOMMEND_SCALE = (
    Option("definitely-yes", {"en": "Definitely yes", "es": "Sí, sin duda"}),
    Option("probably-yes", {"en": "Probably yes", "es": "Probablemente sí"}),
    Option("probably-no", {"en": "Probably no", "es": "Probablemente no"}),
    Option("definitely-no", {"en": "Definitely no", "es": "No, de ninguna manera"}),
)

OVERALL = Item(
    key="overall",
    kind="scale",
    short="Overall rating 9-10",
    text={
        "en": "How would you rate the provider you saw at this visit?",
        "es": "¿Qué calificación le daría al profesional que le atendió en esta visita?",
    },
    low={"en": "0 = the worst possible", "es": "0 = el peor posible"},
    high={"en": "10 = the best possible", "es": "10 = el mejor posible"},
    options=_scale(),
    top_box=frozenset({"9", "10"}),
)
RECOMMEND = Item(
    key="recommend",
    kind="choice",
    short="Would recommend the office",
    text={
        "en": "Would you suggest our office to a friend or relative who needs care?",
        "es": "¿Sugeriría nuestra oficina a un amigo o familiar que necesite atención?",
    },
    options=RECOMMEND_SCALE,
    top_box=frozenset({"definitely-yes"}),
)
EXPLAINED = Item(
    key="explained",
    kind="choice",
    short="Explanations were clear",
    text={
        "en": "Were the provider's explanations clear to you?",
        "es": "¿Le resultaron claras las explicaciones del profesional?",
    },
    options=YES_SCALE,
    top_box=frozenset({"yes-definitely"}),
)
LISTENED = Item(
    key="listened",
    kind="choice",
    short="Provider listened",
    text={
        "en": "Did you feel the provider paid close attention to what you said?",
        "es": "¿Sintió que el profesional prestó atención a lo que usted le dijo?",
    },
    options=YES_SCALE,
    top_box=frozenset({"yes-definitely"}),
)
TIMELY = Item(
    key="timely",
    kind="choice",
    short="Appointment when needed",
    text={
        "en": "Were you able to get this appointment as soon as you needed it?",
        "es": "¿Pudo conseguir esta cita tan pronto como la necesitaba?",
    },
    options=YES_SCALE,
    top_box=frozenset({"yes-definitely"}),
)
COMMENT = Item(
    key="comment",
    kind="text",
    short="Comment",
    text={
        "en": "Is there anything else you would like to tell us? (optional)",
        "es": "¿Hay algo más que quiera decirnos? (opcional)",
    },
    required=False,
)

ITEMS: tuple[Item, ...] = (OVERALL, RECOMMEND, EXPLAINED, LISTENED, TIMELY, COMMENT)
BY_KEY = {item.key: item for item in ITEMS}
# The items with a top box, in order (everything but the comment).
SCORED: tuple[Item, ...] = tuple(item for item in ITEMS if item.top_box)

# The words around the questions, in each language the survey speaks.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "How was your visit?",
        "intro": (
            "Please tell us about your visit with {provider} on {day}. "
            "It takes about a minute. Your answers help us improve care."
        ),
        "submit": "Send my answers",
        "thanks_title": "Thank you",
        "thanks": "Thank you for answering. Your answers help us improve care.",
        "already": "This survey has already been answered. Thank you.",
        "expired_title": "This survey has closed",
        "expired": "This survey link has expired: surveys can be answered for 30 days.",
        "missing_title": "This link does not work",
        "missing": (
            "We could not find a survey for this link. It may have been copied only in part: "
            "open it again from the message you received."
        ),
        "call": "If you have questions about your care, please call {clinic}.",
        "errors": "Please answer {count} more question(s):",
        "required": "Please choose an answer to: {question}",
        "invalid": "Please choose one of the answers shown for: {question}",
        "too_long": "Please keep the comment under {limit} characters.",
        "required_mark": "required",
        "email_subject": "How was your visit with {clinic}?",
        "email_body": (
            "Hello,\n\nThank you for visiting {clinic} on {day}. Would you tell us how it "
            "went? The survey has five short questions and takes about a minute:\n\n{link}\n\n"
            "The link works for 30 days. Your answers help us improve care.\n\n{clinic}"
        ),
        "sms": "{clinic}: how was your visit on {day}? Five quick questions: {link}",
    },
    "es": {
        "title": "¿Cómo fue su visita?",
        "intro": (
            "Cuéntenos sobre su visita con {provider} el {day}. "
            "Toma alrededor de un minuto. Sus respuestas nos ayudan a mejorar la atención."
        ),
        "submit": "Enviar mis respuestas",
        "thanks_title": "Gracias",
        "thanks": "Gracias por responder. Sus respuestas nos ayudan a mejorar la atención.",
        "already": "Esta encuesta ya fue respondida. Gracias.",
        "expired_title": "Esta encuesta está cerrada",
        "expired": "Este enlace ha vencido: las encuestas se pueden responder durante 30 días.",
        "missing_title": "Este enlace no funciona",
        "missing": (
            "No encontramos una encuesta para este enlace. Puede que se haya copiado "
            "incompleto: ábralo de nuevo desde el mensaje que recibió."
        ),
        "call": "Si tiene preguntas sobre su atención, llame a {clinic}.",
        "errors": "Por favor responda {count} pregunta(s) más:",
        "required": "Por favor elija una respuesta para: {question}",
        "invalid": "Por favor elija una de las respuestas que se muestran para: {question}",
        "too_long": "Por favor escriba un comentario de menos de {limit} caracteres.",
        "required_mark": "obligatoria",
        "email_subject": "¿Cómo fue su visita a {clinic}?",
        "email_body": (
            "Hola:\n\nGracias por visitar {clinic} el {day}. ¿Nos cuenta cómo le fue? La "
            "encuesta tiene cinco preguntas breves y toma alrededor de un minuto:\n\n{link}\n\n"
            "El enlace funciona durante 30 días. Sus respuestas nos ayudan a mejorar la "
            "atención.\n\n{clinic}"
        ),
        "sms": "{clinic}: ¿cómo fue su visita del {day}? Cinco preguntas breves: {link}",
    },
}


def language_for(patient_language: str | None) -> str:
    """The survey's language for a patient's preferred language (Spanish or English)."""
    code = (patient_language or "en").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else "en"


def words(language: str) -> dict[str, str]:
    return WORDS.get(language) or WORDS["en"]


def is_top_box(item: Item, answer: object) -> bool:
    return answer is not None and str(answer) in item.top_box


def validate(
    form: dict[str, str], language: str = "en"
) -> tuple[dict[str, str | int], dict[str, str]]:
    """Check a submitted form against the items: the clean answers (the overall rating as an
    int, choices as codes, the comment trimmed or left out) and, per item at fault, a message
    that names the question in the patient's language."""
    said = words(language)
    answers: dict[str, str | int] = {}
    errors: dict[str, str] = {}
    for item in ITEMS:
        raw = (form.get(item.key) or "").strip()
        if item.kind == "text":
            if len(raw) > COMMENT_MAX:
                errors[item.key] = said["too_long"].format(limit=COMMENT_MAX)
            elif raw:
                answers[item.key] = raw
            continue
        question = item.question(language)
        if not raw:
            if item.required:
                errors[item.key] = said["required"].format(question=question)
            continue
        if raw not in item.codes():
            errors[item.key] = said["invalid"].format(question=question)
            continue
        answers[item.key] = int(raw) if item.kind == "scale" else raw
    return answers, errors
