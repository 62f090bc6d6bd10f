"""Starter templates in English and Spanish, in plain words: appointment follow-up, please
call us, welcome to care coordination and a missed appointment, for the channels each suits.
``install`` adds those missing (a template already there, perhaps reworded, is left alone).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.communications import service
from carebridge.communications.models import MessageTemplate
from carebridge.communications.schemas import TemplateCreate
from carebridge.security.audit import Actor


@dataclass(frozen=True)
class Starter:
    code: str
    name: str
    channel: str
    language: str
    subject: str | None
    body: str


STARTERS: tuple[Starter, ...] = (
    # --- appointment follow-up ---
    Starter(
        "appointment-follow-up",
        "Appointment follow-up",
        "email",
        "en",
        "Your next visit at {{clinic.name}}",
        "Hello {{recipient.name}},\n\n"
        "This is {{coordinator.name}} from {{clinic.name}}. We are checking in after your "
        "last visit. Your next visit is on {{appointment.date}} at {{appointment.time}}, at "
        "{{appointment.place}}.\n\n"
        "Please bring your medicines or a list of them. If you have questions, or need to "
        "change the time, call us at {{clinic.phone}}.\n\n"
        "Take care,\n{{coordinator.name}}",
    ),
    Starter(
        "appointment-follow-up",
        "Appointment follow-up",
        "email",
        "es",
        "Su próxima cita en {{clinic.name}}",
        "Hola {{recipient.name}}:\n\n"
        "Le escribe {{coordinator.name}} de {{clinic.name}}. Queremos saber cómo está después "
        "de su última visita. Su próxima cita es el {{appointment.date}} a las "
        "{{appointment.time}}, en {{appointment.place}}.\n\n"
        "Por favor traiga sus medicinas o una lista de ellas. Si tiene preguntas o necesita "
        "cambiar la hora, llámenos al {{clinic.phone}}.\n\n"
        "Cuídese,\n{{coordinator.name}}",
    ),
    Starter(
        "appointment-follow-up",
        "Appointment follow-up",
        "sms",
        "en",
        None,
        "{{clinic.name}}: Hi {{patient.first_name}}, your next visit is {{appointment.date}} "
        "at {{appointment.time}}. Questions? Call {{clinic.phone}}.",
    ),
    Starter(
        "appointment-follow-up",
        "Appointment follow-up",
        "sms",
        "es",
        None,
        "{{clinic.name}}: Hola {{patient.first_name}}, su próxima cita es el "
        "{{appointment.date}} a las {{appointment.time}}. ¿Preguntas? Llame al "
        "{{clinic.phone}}.",
    ),
    # --- please call us ---
    Starter(
        "please-call-us",
        "Please call us",
        "sms",
        "en",
        None,
        "{{clinic.name}}: Hi {{patient.first_name}}, please call {{coordinator.name}} at "
        "{{clinic.phone}}. It is not urgent. Thank you.",
    ),
    Starter(
        "please-call-us",
        "Please call us",
        "sms",
        "es",
        None,
        "{{clinic.name}}: Hola {{patient.first_name}}, por favor llame a "
        "{{coordinator.name}} al {{clinic.phone}}. No es urgente. Gracias.",
    ),
    Starter(
        "please-call-us",
        "Please call us",
        "email",
        "en",
        "Please call {{clinic.name}}",
        "Hello {{recipient.name}},\n\n"
        "We tried to reach you. Please call {{coordinator.name}} at {{clinic.phone}} when you "
        "can. It is not an emergency.\n\nThank you,\n{{clinic.name}}",
    ),
    Starter(
        "please-call-us",
        "Please call us",
        "email",
        "es",
        "Por favor llame a {{clinic.name}}",
        "Hola {{recipient.name}}:\n\n"
        "Tratamos de comunicarnos con usted. Por favor llame a {{coordinator.name}} al "
        "{{clinic.phone}} cuando pueda. No es una emergencia.\n\nGracias,\n{{clinic.name}}",
    ),
    Starter(
        "please-call-us",
        "Please call us",
        "letter",
        "en",
        "Please call us",
        "Dear {{recipient.name}},\n\n"
        "We have tried to reach you by phone. Please call {{coordinator.name}} at "
        "{{clinic.phone}}. We want to make sure you have what you need for your care.\n\n"
        "Sincerely,\n{{coordinator.name}}\n{{clinic.name}}",
    ),
    Starter(
        "please-call-us",
        "Please call us",
        "letter",
        "es",
        "Por favor llámenos",
        "Estimado/a {{recipient.name}}:\n\n"
        "Hemos tratado de llamarle por teléfono. Por favor llame a {{coordinator.name}} al "
        "{{clinic.phone}}. Queremos asegurarnos de que tenga lo que necesita para su "
        "cuidado.\n\nAtentamente,\n{{coordinator.name}}\n{{clinic.name}}",
    ),
    # --- welcome to care coordination ---
    Starter(
        "welcome",
        "Welcome to care coordination",
        "letter",
        "en",
        "Welcome to care coordination",
        "Dear {{recipient.name}},\n\n"
        "Welcome to care coordination at {{clinic.name}}. My name is {{coordinator.name}}. "
        "I will help you keep track of your visits, tests and medicines, and I can help "
        "with rides, forms and other services.\n\n"
        "You can call me at {{clinic.phone}} with any question. There is no cost for this "
        "help.\n\nSincerely,\n{{coordinator.name}}",
    ),
    Starter(
        "welcome",
        "Welcome to care coordination",
        "letter",
        "es",
        "Bienvenido/a a la coordinación de su cuidado",
        "Estimado/a {{recipient.name}}:\n\n"
        "Bienvenido/a a la coordinación de cuidado de {{clinic.name}}. Me llamo "
        "{{coordinator.name}}. Le ayudaré con sus citas, exámenes y medicinas, y también "
        "con transporte, formularios y otros servicios.\n\n"
        "Puede llamarme al {{clinic.phone}} con cualquier pregunta. Esta ayuda no tiene "
        "costo.\n\nAtentamente,\n{{coordinator.name}}",
    ),
    Starter(
        "welcome",
        "Welcome to care coordination",
        "email",
        "en",
        "Welcome to care coordination at {{clinic.name}}",
        "Hello {{recipient.name}},\n\n"
        "My name is {{coordinator.name}}, and I am your care coordinator at {{clinic.name}}. "
        "I will help you keep track of your visits, tests and medicines. Call me at "
        "{{clinic.phone}} with any question.\n\nWelcome,\n{{coordinator.name}}",
    ),
    Starter(
        "welcome",
        "Welcome to care coordination",
        "email",
        "es",
        "Bienvenido/a a la coordinación de cuidado de {{clinic.name}}",
        "Hola {{recipient.name}}:\n\n"
        "Me llamo {{coordinator.name}} y soy su coordinador/a de cuidado en {{clinic.name}}. "
        "Le ayudaré con sus citas, exámenes y medicinas. Llámeme al {{clinic.phone}} con "
        "cualquier pregunta.\n\nBienvenido/a,\n{{coordinator.name}}",
    ),
    # --- missed appointment ---
    Starter(
        "missed-appointment",
        "Missed appointment",
        "sms",
        "en",
        None,
        "{{clinic.name}}: Hi {{patient.first_name}}, we missed you at your visit. Please "
        "call {{clinic.phone}} to pick a new time.",
    ),
    Starter(
        "missed-appointment",
        "Missed appointment",
        "sms",
        "es",
        None,
        "{{clinic.name}}: Hola {{patient.first_name}}, no pudo venir a su cita. Por favor "
        "llame al {{clinic.phone}} para elegir otra hora.",
    ),
    Starter(
        "missed-appointment",
        "Missed appointment",
        "email",
        "en",
        "We missed you at {{clinic.name}}",
        "Hello {{recipient.name}},\n\n"
        "We missed you at your visit. We know things come up. Please call us at "
        "{{clinic.phone}} to pick a new time that works for you. If something makes it hard "
        "to come, such as a ride, tell us and we will try to help.\n\n"
        "Thank you,\n{{coordinator.name}}\n{{clinic.name}}",
    ),
    Starter(
        "missed-appointment",
        "Missed appointment",
        "email",
        "es",
        "Le extrañamos en {{clinic.name}}",
        "Hola {{recipient.name}}:\n\n"
        "No pudo venir a su cita. Sabemos que a veces pasan cosas. Por favor llámenos al "
        "{{clinic.phone}} para elegir otra hora que le convenga. Si algo le impide venir, "
        "como el transporte, díganos y trataremos de ayudarle.\n\n"
        "Gracias,\n{{coordinator.name}}\n{{clinic.name}}",
    ),
    Starter(
        "missed-appointment",
        "Missed appointment",
        "letter",
        "en",
        "We missed you",
        "Dear {{recipient.name}},\n\n"
        "We missed you at your recent visit. Please call us at {{clinic.phone}} to pick a "
        "new time. If a ride, cost or anything else makes it hard to come, tell us: we may "
        "be able to help.\n\nSincerely,\n{{coordinator.name}}\n{{clinic.name}}",
    ),
    Starter(
        "missed-appointment",
        "Missed appointment",
        "letter",
        "es",
        "Le extrañamos",
        "Estimado/a {{recipient.name}}:\n\n"
        "No pudo venir a su cita reciente. Por favor llámenos al {{clinic.phone}} para "
        "elegir otra hora. Si el transporte, el costo u otra cosa le impide venir, "
        "díganos: quizás podamos ayudarle.\n\nAtentamente,\n{{coordinator.name}}\n"
        "{{clinic.name}}",
    ),
)


def install(db: Session, actor: Actor) -> int:
    """Add the starter templates not there yet; returns how many were added."""
    have = {
        (row.code, row.channel, row.language)
        for row in db.execute(
            select(MessageTemplate.code, MessageTemplate.channel, MessageTemplate.language)
        )
    }
    added = 0
    for starter in STARTERS:
        if (starter.code, starter.channel, starter.language) in have:
            continue
        service.create_template(
            db,
            actor,
            TemplateCreate.model_validate(
                {
                    "code": starter.code,
                    "name": starter.name,
                    "channel": starter.channel,
                    "language": starter.language,
                    "subject": starter.subject,
                    "body": starter.body,
                }
            ),
        )
        added += 1
    return added
