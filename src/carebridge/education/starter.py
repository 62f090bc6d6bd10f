"""The starter library: short handouts in plain words for the chronic conditions the care-plan
templates cover (``careplans.library``), in English, and Spanish for the most common.

Written by the Carebridge project in its own words from the public patient guidance named in
``source`` (CDC, NIDDK, AHA, NHLBI). Each one reads at grade 6 or below by Flesch-Kincaid
(a test checks it). ``load`` adds them once, by code; running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.education import readability
from carebridge.education.models import EducationMaterial

REVIEWED = dt.date(2026, 11, 1)


@dataclass(frozen=True)
class Starter:
    code: str
    title: str
    language: str
    audience: str
    tags: tuple[str, ...]
    source: str
    body: str


DIABETES_EN = Starter(
    "t2d-living-en",
    "Living with type 2 diabetes",
    "en",
    "patient",
    ("E11",),
    "Written for Carebridge from CDC and NIDDK patient guidance on type 2 diabetes",
    """## What it is
Diabetes means there is too much sugar in your blood. Your body does not use insulin well.
Over time, high sugar can hurt your eyes, feet, heart and kidneys.

## What you can do each day
- Take your pills or insulin the way your care team says.
- Check your sugar if you were told to. Write the numbers down.
- Eat more vegetables. Drink water, not soda or juice.
- Walk or move for 30 minutes on most days.
- Look at your feet each night. Tell us about any sore or cut.

## Your A1C test
The A1C test shows your sugar over the last three months. Most people aim for less than 7.
Ask us what your own goal is.

## Call us if
- Your sugar is over 300 two times in a row.
- Your sugar is under 70 and you feel shaky, sweaty or confused.
- You have a sore on your foot that does not heal.
""",
)

DIABETES_ES = Starter(
    "t2d-living-es",
    "Vivir con diabetes tipo 2",
    "es",
    "patient",
    ("E11",),
    "Escrito para Carebridge con guías de los CDC y del NIDDK",
    """## Qué es
Hay mucha azúcar en su sangre. Su cuerpo no usa bien la insulina.
Con el tiempo, eso daña los ojos, los pies y el corazón.

## Qué hacer cada día
- Tome sus pastillas como le dijo su equipo.
- Mida su azúcar si se lo pidieron. Anote los números.
- Coma más verduras. Tome agua, no soda.
- Camine un poco todos los días.
- Mire sus pies cada noche.

## Llame si
- Su azúcar pasa de 300 dos veces.
- Su azúcar baja de 70 y se siente mal.
- Tiene una herida en el pie que no sana.
""",
)

BLOOD_PRESSURE_EN = Starter(
    "htn-control-en",
    "High blood pressure: keeping it in check",
    "en",
    "patient",
    ("I10",),
    "Written for Carebridge from AHA and NHLBI patient guidance on high blood pressure",
    """## What it is
High blood pressure means your blood pushes too hard on the walls of your blood vessels.
You may feel fine. But over time it can lead to a stroke, a heart attack or kidney harm.

## What you can do
- Take your pills every day, even when you feel well.
- Use less salt. Read food labels. Cook at home more.
- Walk or move for 30 minutes on most days.
- Drink less alcohol. If you smoke, we can help you stop.
- Check your blood pressure at home if you have a cuff. Write it down.

## Your goal
Most people aim for a top number under 130 and a bottom number under 80.
Ask us what your own goal is.

## Call 911 if
Your blood pressure is over 180 on top or over 120 on the bottom, and you have chest pain,
a bad headache, trouble seeing, or trouble talking.
""",
)

BLOOD_PRESSURE_ES = Starter(
    "htn-control-es",
    "Presión alta: cómo tenerla bajo control",
    "es",
    "patient",
    ("I10",),
    "Escrito para Carebridge con guías de la AHA y del NHLBI",
    """## Qué es
La sangre empuja muy fuerte en sus venas. Puede que se sienta bien.
Pero con el tiempo, puede dañar el corazón.

## Qué hacer
- Tome sus pastillas cada día.
- Use poca sal.
- Camine un poco cada día.
- Tome menos alcohol.
- Si fuma, le ayudamos a dejarlo.
- Mida su presión en casa. Anote el número.

## Llame al 911 si
Su presión es muy alta y le duele el pecho o la cabeza, o no ve bien.
""",
)

HEART_FAILURE_EN = Starter(
    "hf-home-en",
    "Heart failure: taking care of yourself at home",
    "en",
    "patient",
    ("I50",),
    "Written for Carebridge from AHA patient guidance on heart failure and weight checks",
    """## What it is
Heart failure means your heart does not pump as well as it should. Fluid can build up in your
legs, belly and lungs. Checking your weight each day shows this early.

## Every day
- Weigh yourself each morning. Do it after you pee and before you eat. Write it down.
- Take your pills the way your care team says.
- Eat less salt. Ask us how much fluid you can drink.
- Rest when you are tired. Walk a bit each day if you can.

## Call us the same day if
- You gain 2 pounds in one day, or 5 pounds in one week.
- Your feet, legs or belly swell more.
- You get short of breath doing less than before.
- You need more pillows to sleep.

## Call 911 if
You have chest pain, you faint, or you can not catch your breath.
""",
)

HEART_FAILURE_ES = Starter(
    "hf-home-es",
    "Falla del corazón: cómo cuidarse en casa",
    "es",
    "patient",
    ("I50",),
    "Escrito para Carebridge con guías de la AHA",
    """## Qué es
Su corazón no bombea bien. Se junta agua en las piernas y el pecho.
Pesarse cada día lo muestra a tiempo.

## Cada día
- Pésese cada mañana. Anote el peso.
- Tome sus pastillas.
- Coma poca sal.
- Descanse si está cansado.

## Llame el mismo día si
- Sube 2 libras en un día.
- Se le hinchan los pies.
- Le falta el aire.

## Llame al 911 si
Le duele el pecho o no puede respirar.
""",
)

HEART_FAILURE_FAMILY = Starter(
    "hf-family-en",
    "Heart failure: how family can help",
    "en",
    "family",
    ("I50",),
    "Written for Carebridge from AHA guidance for family caregivers",
    """## How you can help
- Help your loved one weigh each morning and write it down.
- Help them take each pill at the right time. A pill box helps.
- Cook with less salt. Use herbs and lemon for taste.
- Go with them to their visits. Bring the weight log and the pill list.

## Watch for
- A weight gain of 2 pounds in a day or 5 pounds in a week.
- More swelling, a new cough, or trouble breathing when lying flat.
Call the care team the same day if you see these.
""",
)

COPD_EN = Starter(
    "copd-breathe-en",
    "COPD: breathing easier",
    "en",
    "patient",
    ("J44",),
    "Written for Carebridge from NHLBI and CDC patient guidance on COPD",
    """## What it is
COPD is a lung disease that makes it hard to breathe. It is often caused by smoking.
It does not go away, but you can feel better and stay out of the hospital.

## What you can do
- Use your inhalers every day, the way you were shown. Ask us to check how you use them.
- If you smoke, stopping is the best thing you can do. We can help.
- Get a flu shot each year. Ask about other shots too.
- Stay active. Ask us about lung rehab classes.
- Keep your action plan where you can see it.

## Call us if
- You are more short of breath than usual.
- You cough up more mucus, or it turns yellow or green.
- You need your rescue inhaler more often.

## Call 911 if
You can not breathe, your lips turn blue, or you are confused.
""",
)

SURGERY_EN = Starter(
    "surgery-recovery-en",
    "Getting better after surgery",
    "en",
    "patient",
    ("Z48",),
    "Written for Carebridge from common discharge guidance after surgery",
    """## At home
- Keep the cut clean and dry. Wash your hands before you touch it.
- Take pain pills the way you were told. Do not drive while you take them.
- Walk a little a few times each day. It helps stop blood clots.
- Do not lift heavy things until your surgeon says it is OK.
- Go to your follow-up visit.

## Call us if
- You have a fever over 101.
- The cut gets red, hot, or leaks pus.
- Your pain gets worse, not better.
- One leg gets swollen or sore.

## Call 911 if
You have chest pain or can not catch your breath.
""",
)

STARTERS: tuple[Starter, ...] = (
    DIABETES_EN,
    DIABETES_ES,
    BLOOD_PRESSURE_EN,
    BLOOD_PRESSURE_ES,
    HEART_FAILURE_EN,
    HEART_FAILURE_ES,
    HEART_FAILURE_FAMILY,
    COPD_EN,
    SURGERY_EN,
)


def missing(db: Session) -> int:
    """How many starter materials are not in the library (none deleted: retired ones count)."""
    have = db.scalars(
        select(EducationMaterial.code).where(EducationMaterial.code.in_([s.code for s in STARTERS]))
    ).all()
    return len(STARTERS) - len(have)


def load(db: Session) -> int:
    """Add the starter materials not yet in the library (by code); returns how many were
    added. Materials already there are left as they are, edits included."""
    have = set(
        db.scalars(
            select(EducationMaterial.code).where(
                EducationMaterial.code.in_([s.code for s in STARTERS])
            )
        )
    )
    added = 0
    for s in STARTERS:
        if s.code in have:
            continue
        db.add(
            EducationMaterial(
                code=s.code,
                title=s.title,
                body=s.body,
                language=s.language,
                audience=s.audience,
                tags=list(s.tags),
                source=s.source,
                reviewed_on=REVIEWED,
                reading_grade=readability.grade(s.body, s.language),
                status="active",
            )
        )
        added += 1
    db.flush()
    return added
