"""Runs inside the oracle virtual environment (never imported by the test process).

linuxforhealth-x12 needs pydantic 1 while Carebridge runs on pydantic 2, so the oracles live
in their own venv (see ``support.py``) and are driven through this script: one JSON request
on standard input, one JSON answer on standard output. Requests batch many documents so a
whole test module costs one interpreter start.

Requests::

    {"op": "lfh", "documents": [x12, ...]}
        -> [{"models": [transaction model, ...], "errors": [message, ...]}, ...]
    {"op": "pyx12", "documents": [x12, ...]}
        -> [[message, ...], ...]   (empty list: pyx12 found nothing wrong)
    {"op": "lfh-bench", "documents": [x12, ...], "repeat": n}
        -> {"transactions": int, "seconds": float, "models": [[model, ...], ...]}
    {"op": "fhir-strict", "documents": [resource JSON, ...]}
        -> [[message, ...], ...]   (empty list: fhirclient's strict R4 models accept it)

A transaction model is linuxforhealth's pydantic model as ``.dict(exclude_none=True)``,
dates as ISO strings and decimals as strings.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from typing import Any


def _plain(value: Any) -> str:
    return str(value)


def _lfh_models(x12: str) -> list[dict[str, Any]]:
    from linuxforhealth.x12.io import X12ModelReader

    with X12ModelReader(x12) as reader:
        return [model.dict(exclude_none=True) for model in reader.models()]


def _lfh_error(exc: Exception) -> list[str]:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return [
                f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
                for error in errors()
            ]
        except (TypeError, KeyError):
            pass
    return [f"{type(exc).__name__}: {exc}"]


def lfh(documents: list[str]) -> list[dict[str, Any]]:
    answers = []
    for x12 in documents:
        try:
            answers.append({"models": _lfh_models(x12), "errors": []})
        except Exception as exc:  # the oracle's verdict, whatever it raises
            answers.append({"models": [], "errors": _lfh_error(exc)})
    return answers


def lfh_bench(documents: list[str], repeat: int) -> dict[str, Any]:
    from linuxforhealth.x12.io import X12ModelReader

    models = [_lfh_models(x12) for x12 in documents]  # also warms up: parsers load lazily
    transactions = 0
    started = time.perf_counter()
    for _ in range(repeat):
        for x12 in documents:
            with X12ModelReader(x12) as reader:
                transactions += sum(1 for _model in reader.models())
    seconds = time.perf_counter() - started
    return {
        "transactions": transactions,
        "seconds": seconds,
        "models": models,
    }


# pyx12 4.0's control map lists only some 005010 guide ids as valid GS08 codes; these are the
# published HIPAA 5010 implementation guides (with their addenda/errata) that it leaves out.
HIPAA_5010_GUIDES = frozenset(
    {
        "005010X279A1",  # 270/271 eligibility
        "005010X217",  # 278 services review
        "005010X222A1",  # 837 professional
        "005010X222A2",
        "005010X212",  # 276/277 claim status
        "005010X221A1",  # 835 remittance
        "005010X231A1",  # 999 acknowledgement
        "005010X214",  # 277CA
    }
)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _pyx12_one(x12: str) -> list[str]:
    """Envelope validation: pyx12's reader checks ISA/GS/ST against their trailers (ids,
    counts, uniqueness, HL numbering, missing trailers) and its 005010 control map checks
    every ISA, GS, GE and IEA element (lengths, types, code values), except that a GS08
    naming a HIPAA guide the map forgot is accepted."""
    import pyx12.errors
    import pyx12.map_if
    import pyx12.params
    import pyx12.x12file

    messages: list[str] = []
    try:
        reader = pyx12.x12file.X12Reader(io.StringIO(x12))
    except pyx12.errors.X12Error as exc:
        return [f"not an X12 interchange: {exc}"]
    control_file = "x12.control.00501.xml" if reader.icvn == "00501" else "x12.control.00401.xml"
    control = pyx12.map_if.load_map_file(control_file, pyx12.params.params())
    paths = {
        "ISA": "/ISA_LOOP/ISA",
        "IEA": "/ISA_LOOP/IEA",
        "GS": "/ISA_LOOP/GS_LOOP/GS",
        "GE": "/ISA_LOOP/GS_LOOP/GE",
    }
    try:
        for number, segment in enumerate(reader, start=1):
            segment_id = segment.get_seg_id()
            for _kind, code, text, _value, _line in reader.pop_errors():
                messages.append(f"segment {number} ({segment_id}): [{code}] {text}")
            path = paths.get(segment_id)
            if path is None:
                continue
            _ok, errors = control.getnodebypath(path).is_valid_errors(segment)
            for error in errors:
                if error.refdes == "GS08" and segment.get_value("GS08") in HIPAA_5010_GUIDES:
                    continue
                messages.append(
                    f"segment {number} ({segment_id}): [{error.err_cde}] {error.err_str}"
                )
        reader.cleanup()
        for _kind, code, text, _value, _line in reader.pop_errors():
            messages.append(f"end of interchange: [{code}] {text}")
    except pyx12.errors.X12Error as exc:
        messages.append(f"X12Error: {exc}")
    return messages


def pyx12(documents: list[str]) -> list[list[str]]:
    collect = _Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(collect)
    logger.propagate = False
    answers = []
    for x12 in documents:
        collect.messages.clear()
        found = _pyx12_one(x12)
        answers.append(found + [f"log: {message}" for message in collect.messages])
    return answers


def _fhir_messages(exc: BaseException, path: str) -> list[str]:
    """Flatten fhirclient's nested FHIRValidationError into one message per leaf problem."""
    from fhirclient.models.fhirabstractbase import FHIRValidationError

    if isinstance(exc, FHIRValidationError):
        here = ".".join(p for p in (path, exc.path) if p)
        return [m for error in exc.errors for m in _fhir_messages(error, here)]
    return [f"{path or '(root)'}: {type(exc).__name__}: {exc}"]


def fhir_strict(documents: list[str]) -> list[list[str]]:
    from fhirclient.models.fhirelementfactory import FHIRElementFactory

    answers = []
    for text in documents:
        resource = json.loads(text)
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(kind, str):
            answers.append(["(root): no resourceType"])
            continue
        try:
            # strict is fhirclient's default: any problem raises instead of being logged.
            parsed = FHIRElementFactory.instantiate(kind, resource)
        except Exception as exc:  # the oracle's verdict, whatever it raises
            answers.append(_fhir_messages(exc, kind))
            continue
        # An unknown name falls back to a bare Element, which accepts anything.
        known = getattr(parsed, "resource_type", None) == kind
        answers.append([] if known else [f"{kind}: not an R4 resource type"])
    return answers


def fhirclient_session(base: str, token: str, family: str) -> dict[str, Any]:
    """fhirclient as a FHIR client of a running server: create a Patient, read it back,
    search by family name across pages, update it; what each step saw."""
    from fhirclient import server as fhir_server
    from fhirclient.models.fhirdate import FHIRDate
    from fhirclient.models.humanname import HumanName
    from fhirclient.models.patient import Patient

    srv = fhir_server.FHIRServer(None, base_uri=base.rstrip("/") + "/")
    srv.session.headers["Authorization"] = f"Bearer {token}"
    made = []
    for given in ("Ada", "Bea", "Cy"):
        patient = Patient()
        name = HumanName()
        name.family = family
        name.given = [given]
        patient.name = [name]
        patient.gender = "female"
        patient.birthDate = FHIRDate(f"19{60 + len(made)}-0{1 + len(made)}-1{len(made)}")
        made.append(patient.create(srv))
    first = Patient.read(made[0]["id"], srv)
    read_given = list(first.name[0].given) if first.name else None
    found = Patient.where(struct={"family": family, "_count": "2"}).perform_resources_iter(srv)
    ids = sorted(p.id for p in found)
    first.name[0].given = ["Ada", "Lovelace"]
    updated = first.update(srv)
    again = Patient.read(first.id, srv)
    return {
        "created": [m["id"] for m in made],
        "read_given": read_given,
        "found": ids,
        "updated_version": updated["meta"]["versionId"] if updated else None,
        "reread_given": again.name[0].given,
        "reread_version": again.meta.versionId,
    }


def main() -> None:
    request = json.load(sys.stdin)
    op = request["op"]
    documents = request["documents"]
    if op == "lfh":
        answer: Any = lfh(documents)
    elif op == "pyx12":
        answer = pyx12(documents)
    elif op == "lfh-bench":
        answer = lfh_bench(documents, int(request["repeat"]))
    elif op == "fhir-strict":
        answer = fhir_strict(documents)
    elif op == "fhirclient-session":
        answer = fhirclient_session(request["base"], request["token"], request["family"])
    else:
        raise SystemExit(f"unknown op {op!r}")
    json.dump(answer, sys.stdout, default=_plain)


if __name__ == "__main__":
    main()
