"""Care-plan templates: a starting point a coordinator adapts to the patient.

Each template is written in our own words from the published guidance it names in ``source``;
it carries the problems (ICD-10-CM coded), measurable goals with their targets as people type
them (``targets.parse`` reads them), activities, and the review interval. Due dates are days
after the plan's start. The numbers are the guidance's usual targets for most adults; the
care team changes them where a patient's own targets differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemTemplate:
    key: str
    code: str  # ICD-10-CM, billable
    description: str
    plain_words: str


@dataclass(frozen=True)
class GoalTemplate:
    key: str
    problem: str  # ProblemTemplate.key
    description: str
    plain_words: str
    measure: str
    target: str  # as typed: "< 7 %"
    due_in_days: int


@dataclass(frozen=True)
class ActivityTemplate:
    kind: str  # codes.ACTIVITY_KINDS
    description: str
    plain_words: str
    due_in_days: int | None
    goal: str | None = None  # GoalTemplate.key


@dataclass(frozen=True)
class PlanTemplate:
    key: str
    title: str
    summary: str
    source: str
    review_every_days: int
    problems: tuple[ProblemTemplate, ...]
    goals: tuple[GoalTemplate, ...]
    activities: tuple[ActivityTemplate, ...]
    lasts_days: int | None = None  # a plan for an episode (after discharge, after surgery)


HEART_FAILURE = PlanTemplate(
    key="heart-failure-post-discharge",
    title="Heart failure: the first weeks after discharge",
    summary="The 30 to 90 days after a heart-failure stay, when readmission is most likely: "
    "an early call and visit, daily weights, medicines checked against the discharge list, "
    "and cardiac rehabilitation.",
    source="2022 AHA/ACC/HFSA Guideline for the Management of Heart Failure (transitions of "
    "care, self-care support, cardiac rehabilitation); AHA patient guidance on weight "
    "monitoring",
    review_every_days=14,
    lasts_days=90,
    problems=(
        ProblemTemplate(
            "hf",
            "I50.9",
            "Heart failure",
            "Your heart does not pump as strongly as it should, so fluid can build up in your "
            "body. Watching your weight every day shows this early.",
        ),
    ),
    goals=(
        GoalTemplate(
            "weight-day",
            "hf",
            "Weight gain under 2 lb in a day",
            "Weigh yourself every morning. If you gain 2 pounds or more in one day, call us.",
            "Weight gain in one day",
            "< 2 lb",
            30,
        ),
        GoalTemplate(
            "weight-week",
            "hf",
            "Weight gain under 5 lb in a week",
            "If you gain 5 pounds or more in one week, call us the same day.",
            "Weight gain in one week",
            "< 5 lb",
            30,
        ),
        GoalTemplate(
            "walk",
            "hf",
            "Six-minute walk distance of at least 300 m",
            "Build up your walking, so that in 3 months you can walk at least 300 meters "
            "(about 330 yards) in six minutes.",
            "6-minute walk distance",
            ">= 300 m",
            90,
        ),
        GoalTemplate(
            "readmit",
            "hf",
            "No emergency visit or hospital stay for heart failure in 30 days",
            "Stay out of the hospital for the next month. Call us first when you feel worse.",
            "Emergency visits and hospital stays for heart failure",
            "= 0 visits",
            30,
        ),
    ),
    activities=(
        ActivityTemplate(
            "task",
            "Call the patient within 2 days of discharge",
            "We will call you in the first two days at home to see how you are doing.",
            2,
        ),
        ActivityTemplate(
            "appointment",
            "Follow-up visit within 7 days of discharge",
            "See your doctor within one week of leaving the hospital.",
            7,
        ),
        ActivityTemplate(
            "task",
            "Review medicines against the discharge list",
            "We will go over all your medicines with you so you know what to take and when.",
            7,
        ),
        ActivityTemplate(
            "education",
            "Daily weight and symptom diary",
            "Weigh yourself every morning after you use the toilet and before you eat. Write "
            "it down with any swelling or shortness of breath.",
            0,
            "weight-day",
        ),
        ActivityTemplate(
            "education",
            "Low-salt eating and fluid advice",
            "Too much salt makes your body hold water. We will show you how to read food labels.",
            7,
        ),
        ActivityTemplate(
            "referral",
            "Cardiac rehabilitation referral",
            "A supervised exercise program that makes your heart and muscles stronger.",
            14,
            "walk",
        ),
    ),
)

TYPE_2_DIABETES = PlanTemplate(
    key="type-2-diabetes",
    title="Type 2 diabetes",
    summary="Blood sugar, blood pressure and activity targets for most adults with type 2 "
    "diabetes, with self-management education and the yearly eye, foot and kidney checks.",
    source="American Diabetes Association, Standards of Care in Diabetes 2024 (glycemic "
    "goals, blood pressure, physical activity, DSMES, retinopathy, foot care, kidney)",
    review_every_days=90,
    problems=(
        ProblemTemplate(
            "t2d",
            "E11.9",
            "Type 2 diabetes mellitus",
            "Your body does not use sugar from food well, so the sugar in your blood runs "
            "high. Over years, high sugar can harm your eyes, feet, kidneys and heart.",
        ),
    ),
    goals=(
        GoalTemplate(
            "a1c",
            "t2d",
            "HbA1c below 7 %",
            "Bring your A1C (your average blood sugar over 3 months) below 7.",
            "HbA1c",
            "< 7 %",
            90,
        ),
        GoalTemplate(
            "systolic",
            "t2d",
            "Systolic blood pressure below 130 mmHg",
            "Keep the top number of your blood pressure below 130.",
            "Systolic blood pressure",
            "< 130 mmHg",
            90,
        ),
        GoalTemplate(
            "diastolic",
            "t2d",
            "Diastolic blood pressure below 80 mmHg",
            "Keep the bottom number of your blood pressure below 80.",
            "Diastolic blood pressure",
            "< 80 mmHg",
            90,
        ),
        GoalTemplate(
            "fasting",
            "t2d",
            "Fasting glucose between 80 and 130 mg/dL",
            "When you check your sugar before breakfast, aim for 80 to 130.",
            "Fasting blood glucose",
            "between 80 and 130 mg/dL",
            30,
        ),
        GoalTemplate(
            "activity",
            "t2d",
            "At least 150 minutes of moderate activity a week",
            "Be active, for example brisk walking, at least 150 minutes a week: 30 minutes on "
            "5 days.",
            "Moderate activity",
            ">= 150 min/week",
            60,
        ),
    ),
    activities=(
        ActivityTemplate(
            "education",
            "Diabetes self-management education and support (DSMES)",
            "Classes that teach you how to check your sugar, eat well, and take your medicines.",
            30,
            "a1c",
        ),
        ActivityTemplate(
            "appointment",
            "Repeat HbA1c in 3 months",
            "A blood test in 3 months to see how your average sugar has changed.",
            90,
            "a1c",
        ),
        ActivityTemplate(
            "referral",
            "Dilated eye exam",
            "An eye doctor checks the back of your eyes for damage from high sugar.",
            60,
        ),
        ActivityTemplate(
            "appointment",
            "Comprehensive foot exam",
            "Your doctor checks your feet for sores and loss of feeling.",
            30,
        ),
        ActivityTemplate(
            "appointment",
            "Kidney tests: urine albumin-to-creatinine ratio and eGFR",
            "A urine test and a blood test that check how well your kidneys work.",
            30,
        ),
        ActivityTemplate(
            "task",
            "Check-in call about home glucose readings",
            "We will call you in two weeks to hear how your sugar readings are going.",
            14,
            "fasting",
        ),
    ),
)

COPD = PlanTemplate(
    key="copd",
    title="COPD",
    summary="Fewer symptoms and flare-ups: inhaler technique, pulmonary rehabilitation, help "
    "to stop smoking, vaccines and a written action plan.",
    source="Global Initiative for Chronic Obstructive Lung Disease (GOLD) 2024 Report "
    "(non-pharmacological treatment, pulmonary rehabilitation, vaccination, oxygen)",
    review_every_days=90,
    problems=(
        ProblemTemplate(
            "copd",
            "J44.9",
            "Chronic obstructive pulmonary disease",
            "Your lungs are damaged, which makes it hard to breathe out fully. Treatment helps "
            "you breathe easier and have fewer flare-ups.",
        ),
    ),
    goals=(
        GoalTemplate(
            "cat",
            "copd",
            "COPD Assessment Test (CAT) score below 10",
            "Answer eight short questions about your breathing; a score under 10 means your "
            "COPD bothers you less.",
            "CAT score",
            "< 10 points",
            90,
        ),
        GoalTemplate(
            "spo2",
            "copd",
            "Resting oxygen saturation above 88 %",
            "Keep the oxygen level on your finger monitor above 88 while resting.",
            "Oxygen saturation (SpO2) at rest",
            "> 88 %",
            30,
        ),
        GoalTemplate(
            "steps",
            "copd",
            "At least 5,000 steps a day",
            "Walk a little more each week until you reach 5,000 steps a day.",
            "Daily steps",
            ">= 5000 steps/day",
            90,
        ),
        GoalTemplate(
            "flares",
            "copd",
            "No flare-up needing an emergency visit or a hospital stay in 90 days",
            "Use your action plan early so a flare-up does not send you to the hospital.",
            "Emergency visits and hospital stays for COPD",
            "= 0 visits",
            90,
        ),
    ),
    activities=(
        ActivityTemplate(
            "education",
            "Check inhaler technique",
            "We will watch you use your inhaler and help you get the full dose each time.",
            7,
            "cat",
        ),
        ActivityTemplate(
            "education",
            "Written COPD action plan",
            "A written plan that says what to do when your breathing gets worse.",
            7,
            "flares",
        ),
        ActivityTemplate(
            "referral",
            "Pulmonary rehabilitation referral",
            "A program of exercise and breathing training that helps you do more with less "
            "breathlessness.",
            28,
            "steps",
        ),
        ActivityTemplate(
            "referral",
            "Stop-smoking support",
            "If you smoke, quitting is the best thing for your lungs; we can connect you with "
            "help and medicines.",
            14,
        ),
        ActivityTemplate(
            "appointment",
            "Vaccines: influenza, COVID-19, pneumococcal and RSV as due",
            "Vaccines protect you from infections that can cause flare-ups.",
            30,
        ),
        ActivityTemplate(
            "appointment",
            "Follow-up visit",
            "See your doctor in a month to check your breathing and your medicines.",
            30,
        ),
    ),
)

HYPERTENSION = PlanTemplate(
    key="hypertension",
    title="High blood pressure",
    summary="Blood pressure below 130/80 with home monitoring, monthly visits until the "
    "target is reached, and lifestyle changes.",
    source="2017 ACC/AHA Guideline for the Prevention, Detection, Evaluation, and Management "
    "of High Blood Pressure in Adults (BP goal, home monitoring, follow-up, lifestyle)",
    review_every_days=30,
    problems=(
        ProblemTemplate(
            "htn",
            "I10",
            "Essential (primary) hypertension",
            "Your blood pressure is too high. Over time this strains your heart, brain and "
            "kidneys. Lowering it prevents strokes and heart attacks.",
        ),
    ),
    goals=(
        GoalTemplate(
            "systolic",
            "htn",
            "Systolic blood pressure below 130 mmHg",
            "Keep the top number of your blood pressure below 130.",
            "Systolic blood pressure",
            "< 130 mmHg",
            90,
        ),
        GoalTemplate(
            "diastolic",
            "htn",
            "Diastolic blood pressure below 80 mmHg",
            "Keep the bottom number of your blood pressure below 80.",
            "Diastolic blood pressure",
            "< 80 mmHg",
            90,
        ),
        GoalTemplate(
            "activity",
            "htn",
            "At least 90 minutes of aerobic activity a week",
            "Walk, swim or cycle for at least 90 minutes a week, and build up to 150.",
            "Aerobic activity",
            ">= 90 min/week",
            60,
        ),
    ),
    activities=(
        ActivityTemplate(
            "education",
            "Home blood pressure monitoring",
            "Check your blood pressure at home twice a day, sitting quietly for 5 minutes "
            "first, and write the numbers down.",
            0,
            "systolic",
        ),
        ActivityTemplate(
            "education",
            "DASH eating plan and less salt",
            "Eat more vegetables, fruit and low-fat dairy, and less salt.",
            14,
        ),
        ActivityTemplate(
            "appointment",
            "Blood tests: kidney function and potassium",
            "A blood test to check your kidneys and potassium, which some blood pressure "
            "medicines affect.",
            14,
        ),
        ActivityTemplate(
            "task",
            "Call about home blood pressure readings",
            "We will call you to go over your home readings.",
            14,
            "systolic",
        ),
        ActivityTemplate(
            "appointment",
            "Follow-up visit within a month",
            "See your doctor every month until your blood pressure reaches the goal.",
            28,
        ),
    ),
)

POST_SURGICAL = PlanTemplate(
    key="post-surgical-recovery",
    title="Recovery after surgery",
    summary="The six weeks after an operation: a call the day after discharge, pain under "
    "control, walking every day, wound checks, and warning signs to report.",
    source="Enhanced Recovery After Surgery (ERAS) Society guidelines (early mobilisation, "
    "opioid-sparing pain control, discharge and follow-up)",
    review_every_days=14,
    lasts_days=42,
    problems=(
        ProblemTemplate(
            "aftercare",
            "Z48.89",
            "Surgical aftercare",
            "You are healing after your operation. Walking, eating and good pain control help "
            "you recover faster.",
        ),
    ),
    goals=(
        GoalTemplate(
            "pain",
            "aftercare",
            "Pain at rest at most 3 out of 10",
            "Keep your pain low enough to rest, sleep and walk: 3 or less on a 0 to 10 scale.",
            "Pain score at rest (0-10)",
            "<= 3 points",
            14,
        ),
        GoalTemplate(
            "walking",
            "aftercare",
            "Walking at least 30 minutes a day",
            "Get up and walk several times a day, building up to 30 minutes in total.",
            "Walking time",
            ">= 30 min/day",
            28,
        ),
        GoalTemplate(
            "fever",
            "aftercare",
            "Temperature below 38 °C (100.4 °F)",
            "Check your temperature if you feel unwell. Call us if it is 38 °C (100.4 °F) or "
            "higher.",
            "Body temperature",
            "< 38 °C",
            14,
        ),
        GoalTemplate(
            "readmit",
            "aftercare",
            "No unplanned hospital return in 30 days",
            "Call us early with any worry so small problems do not become big ones.",
            "Unplanned emergency visits and readmissions",
            "= 0 visits",
            30,
        ),
    ),
    activities=(
        ActivityTemplate(
            "task",
            "Call the patient the day after discharge",
            "We will call you the day after you get home.",
            1,
        ),
        ActivityTemplate(
            "education",
            "Wound care and warning signs",
            "How to keep your wound clean, and the signs to call about: fever, redness, "
            "swelling, fluid from the wound, or pain that gets worse.",
            0,
            "fever",
        ),
        ActivityTemplate(
            "task",
            "Review the pain plan and opioid taper",
            "We will go over your pain medicines and how to cut down on strong ones safely.",
            3,
            "pain",
        ),
        ActivityTemplate(
            "referral",
            "Physical therapy referral",
            "A physical therapist helps you move safely and get your strength back.",
            7,
            "walking",
        ),
        ActivityTemplate(
            "appointment",
            "Wound check",
            "A nurse looks at your wound and removes stitches or staples if needed.",
            10,
        ),
        ActivityTemplate(
            "appointment",
            "Surgeon follow-up visit",
            "See your surgeon about two weeks after the operation.",
            14,
        ),
    ),
)

TEMPLATES: dict[str, PlanTemplate] = {
    t.key: t for t in (HEART_FAILURE, TYPE_2_DIABETES, COPD, HYPERTENSION, POST_SURGICAL)
}


def template(key: str) -> PlanTemplate | None:
    return TEMPLATES.get(key)
