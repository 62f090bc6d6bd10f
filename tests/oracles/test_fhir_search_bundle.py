"""A search answer is a valid R4 Bundle by fhirclient's strict models: matches, included
resources, SUBSETTED summaries and the outcome entry of an ignored parameter alike."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.test_fhir_read import bearer
from tests.integration.test_fhir_search import register
from tests.oracles import support


def test_searchset_bundles_parse_strictly(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    family = "Zq" + uuid.uuid4().hex[:8]
    register(factory, family, "Ana", dt.date(1950, 3, 14), contact="Luis Ortega")
    register(factory, family, "Bea", dt.date(1951, 4, 15), phone="3125550177")
    headers = bearer(factory)
    queries = [
        f"Patient?family={family}&_revinclude=RelatedPerson:patient&_count=1",
        f"Patient?family={family}&_summary=true&unknown-param=1",
        f"Patient?family={family}&_elements=name",
        f"RelatedPerson?patient.family={family}&_include=RelatedPerson:patient",
        f"Patient?family={family}&_summary=count",
    ]
    bundles = []
    for query in queries:
        answer = client.get(f"/fhir/R4/{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        bundles.append(answer.json())
    assert len(bundles[0]["entry"]) == 2  # one match, its related person
    bundles.append(client.get("/fhir/R4/metadata").json())
    queries.append("metadata")
    verdicts = support.fhir_strict_errors_batch(bundles)
    refused = {q: errors for q, errors in zip(queries, verdicts, strict=True) if errors}
    assert not refused, json.dumps(refused, indent=1)
