"""Common medical words and what they mean in plain words, for coordinators explaining them
on the phone. Written by the Carebridge project; plain-language guidance (CDC, NIH MedlinePlus
style: short words, everyday things) rather than definitions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    term: str
    plain: str
    also: tuple[str, ...] = ()  # other words people look it up by


TERMS: tuple[Term, ...] = (
    Term("Hypertension", "High blood pressure.", ("high blood pressure", "HTN")),
    Term("Hypotension", "Low blood pressure. It can make you dizzy when you stand up."),
    Term("Hyperglycemia", "Too much sugar in the blood.", ("high blood sugar",)),
    Term(
        "Hypoglycemia",
        "Too little sugar in the blood. You may feel shaky, sweaty or confused.",
        ("low blood sugar",),
    ),
    Term(
        "Diabetes mellitus",
        "A long-term illness where there is too much sugar in the blood.",
        ("diabetes", "DM", "T2DM"),
    ),
    Term(
        "Hemoglobin A1c",
        "A blood test that shows your average blood sugar over about three months.",
        ("A1C", "HbA1c"),
    ),
    Term(
        "Insulin",
        "A hormone that moves sugar from the blood into the body's cells. Some people "
        "take it as a shot.",
    ),
    Term(
        "Heart failure",
        "The heart does not pump as well as it should, so fluid can build up.",
        ("CHF", "congestive heart failure", "HF"),
    ),
    Term("Edema", "Swelling caused by fluid, often in the feet, ankles or legs.", ("oedema",)),
    Term(
        "Myocardial infarction",
        "A heart attack: part of the heart muscle does not get enough blood.",
        ("heart attack", "MI"),
    ),
    Term("Angina", "Chest pain or pressure when the heart does not get enough blood."),
    Term("Arrhythmia", "The heart beats too fast, too slow, or not in a steady rhythm."),
    Term(
        "Atrial fibrillation",
        "An uneven, often fast heartbeat. It raises the chance of a stroke.",
        ("AFib", "A-fib"),
    ),
    Term(
        "Stroke",
        "Blood stops flowing to part of the brain. Call 911 right away.",
        ("CVA", "cerebrovascular accident"),
    ),
    Term("Cholesterol", "A fat in the blood. Too much can clog blood vessels."),
    Term(
        "Hyperlipidemia", "Too much fat, such as cholesterol, in the blood.", ("high cholesterol",)
    ),
    Term(
        "COPD",
        "A long-term lung disease that makes it hard to breathe.",
        ("chronic obstructive pulmonary disease", "emphysema", "chronic bronchitis"),
    ),
    Term("Asthma", "The airways swell and tighten, making it hard to breathe at times."),
    Term("Dyspnea", "Shortness of breath.", ("short of breath", "SOB")),
    Term("Inhaler", "A small device that sends medicine straight into the lungs."),
    Term("Nebulizer", "A machine that turns liquid medicine into a mist to breathe in."),
    Term("Pneumonia", "An infection in the lungs."),
    Term(
        "Chronic kidney disease",
        "The kidneys slowly lose their ability to clean the blood.",
        ("CKD",),
    ),
    Term("Dialysis", "A treatment that cleans the blood when the kidneys can not."),
    Term(
        "Diuretic", "A medicine that makes you pee more to get rid of extra fluid.", ("water pill",)
    ),
    Term("Anticoagulant", "A medicine that makes the blood slower to clot.", ("blood thinner",)),
    Term(
        "Antibiotic",
        "A medicine that kills germs called bacteria. It does not work on colds or flu.",
    ),
    Term("Anemia", "Not enough healthy red blood cells. You may feel tired or weak."),
    Term(
        "Depression",
        "A sadness or low mood that lasts and gets in the way of daily life. It can be treated.",
    ),
    Term("Anxiety", "Strong worry or fear that is hard to control."),
    Term("Dementia", "A loss of memory and thinking that makes daily life hard."),
    Term("Obesity", "Having much more body fat than is healthy for your height."),
    Term(
        "Body mass index",
        "A number from your weight and height that shows if your weight is healthy.",
        ("BMI",),
    ),
    Term(
        "Osteoarthritis",
        "Wear and tear of the joints that causes pain and stiffness.",
        ("arthritis",),
    ),
    Term("Osteoporosis", "Weak, thin bones that break more easily."),
    Term(
        "Neuropathy", "Nerve damage, often felt as numbness, tingling or pain in the feet or hands."
    ),
    Term("Retinopathy", "Damage to the back of the eye. Diabetes can cause it."),
    Term("Chronic", "Lasting a long time or coming back often."),
    Term("Acute", "Sudden and short, or severe."),
    Term("Benign", "Not cancer; it will not spread."),
    Term("Malignant", "Cancer that can spread."),
    Term("Biopsy", "Taking a small piece of tissue to look at under a microscope."),
    Term("Prognosis", "What is likely to happen with an illness over time."),
    Term("Diagnosis", "The name of the health problem you have."),
    Term("Symptom", "Something you feel or notice that may be a sign of illness."),
    Term("Contraindication", "A reason not to use a medicine or treatment."),
    Term("Adverse reaction", "A harmful or unwanted effect of a medicine.", ("side effect",)),
    Term("Allergy", "The body reacts badly to something, such as a food or a medicine."),
    Term("Prescription", "A written order from a clinician for a medicine or device."),
    Term("Dosage", "How much of a medicine to take and how often.", ("dose",)),
    Term("Oral", "By mouth."),
    Term("PRN", "Take only when needed.", ("as needed",)),
    Term("BID", "Two times a day.", ("twice daily",)),
    Term("Outpatient", "Care where you go home the same day."),
    Term("Inpatient", "Care where you stay in the hospital overnight or longer."),
    Term("Discharge", "Leaving the hospital to go home or to another place of care."),
    Term("Referral", "When one clinician sends you to another for care."),
    Term(
        "Prior authorization",
        "Your health plan must agree before it pays for a test, drug or treatment.",
        ("pre-approval", "prior auth"),
    ),
    Term(
        "Primary care provider",
        "The main doctor, nurse practitioner or physician assistant who looks after your health.",
        ("PCP",),
    ),
    Term(
        "Palliative care",
        "Care that eases pain and other symptoms of a serious illness, at any stage.",
    ),
    Term("Hospice", "Care for comfort near the end of life."),
    Term(
        "Rehabilitation",
        "Therapy that helps you get back strength and skills after an illness or injury.",
        ("rehab",),
    ),
    Term(
        "Vital signs",
        "Basic body checks: temperature, pulse, breathing rate and blood pressure.",
        ("vitals",),
    ),
    Term(
        "Pulse oximetry",
        "A clip on the finger that measures how much oxygen is in your blood.",
        ("pulse ox", "oxygen saturation", "SpO2"),
    ),
)


def _folded(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def search(text: str, limit: int = 20) -> list[Term]:
    """Terms whose name or other names begin with the words typed (each word in any order),
    then terms whose plain explanation contains them; an exact name first."""
    words = _folded(text).split()
    if not words:
        return []
    exact: list[Term] = []
    named: list[Term] = []
    explained: list[Term] = []
    for t in TERMS:
        names = [_folded(n) for n in (t.term, *t.also)]
        name_words = [w for n in names for w in n.split()]
        if _folded(text) in names:
            exact.append(t)
        elif all(any(nw.startswith(w) for nw in name_words) for w in words):
            named.append(t)
        elif all(w in _folded(t.plain) for w in words):
            explained.append(t)
    return (exact + named + explained)[:limit]
