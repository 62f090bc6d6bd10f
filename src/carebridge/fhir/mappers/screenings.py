"""A social needs screening as a FHIR R4 QuestionnaireResponse.

``questionnaire`` is the instrument's canonical (LOINC's for the AHC HRSN panel, 96777-8);
each item's ``linkId`` is its LOINC code and each answer a LOINC ``valueCoding``. A domain
scored by a total (AHC interpersonal safety) adds its total as one more item (95614-4,
``valueInteger``), as LOINC's panel has it. An item the person declined has no answer. The
person who answered is the ``source``: the Patient, or a caregiver named only in words (no
RelatedPerson record stands behind them).
"""

from __future__ import annotations

from typing import Any

from carebridge.fhir.mappers.elements import coding_of, prune
from carebridge.fhir.store import instant
from carebridge.social import instruments
from carebridge.social.instruments import LOINC
from carebridge.social.models import Screening


def questionnaire_of(screening: Screening) -> str:
    found = instruments.get(screening.instrument)
    return found.canonical if found else f"urn:carebridge:instrument:{screening.instrument}"


def screening_to_fhir(screening: Screening) -> dict[str, Any]:
    instrument = instruments.get(screening.instrument)
    items: list[dict[str, Any]] = []
    for link_id, codes in screening.answers.items():
        item = instrument.item(link_id) if instrument else None
        answers = []
        for code in codes:
            option = item.option(code) if item else None
            if option is not None:
                answers.append({"valueCoding": coding_of(LOINC, option.code, option.display)})
        items.append(
            {"linkId": link_id, "text": item.text if item else None, "answer": answers or None}
        )
    rules = {r.domain: r for r in instrument.rules} if instrument else {}
    for result in screening.results:
        rule = rules.get(str(result["domain"]))
        if rule is not None and rule.total_code and result.get("total") is not None:
            items.append(
                {
                    "linkId": rule.total_code,
                    "text": rule.total_text,
                    "answer": [{"valueInteger": int(result["total"])}],
                }
            )
    patient = {"reference": f"Patient/{screening.patient_id}"}
    source = patient if screening.respondent == "patient" else {"display": "Caregiver"}
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(screening.id),
        "language": screening.language,
        "questionnaire": questionnaire_of(screening),
        "status": "entered-in-error" if screening.status == "entered-in-error" else "completed",
        "subject": patient,
        "authored": instant(screening.screened_at),
        "source": source,
        "item": items,
    }
    return dict(prune(resource))
