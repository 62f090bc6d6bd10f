"""Third-party X12 and FHIR oracles, run in their own virtual environment.

Our X12 is cross-checked against two independent readers from PyPI:

* linuxforhealth-x12 parses a transaction set into pydantic models and validates it against
  the implementation guide (loops, required segments, code values). It needs pydantic 1,
  which cannot live beside Carebridge's pydantic 2;
* pyx12 validates the interchange envelope (ISA/GS/ST ids and counts against their
  trailers, ISA/GS/GE/IEA element values, HL numbering);
* fhirclient (SMART on FHIR) parses FHIR resources with its strict R4 (4.0.1) models:
  required elements, unknown keys, lists versus single values, types and date formats.

Both are installed once into ``<repo>/.cache/oracle-venv`` (built on first use, rebuilt when
``REQUIREMENTS`` change; a file lock keeps pytest-xdist workers from building it twice) and
driven through ``venv_runner.py``: one subprocess per batch of documents, so prefer the
``*_batch`` functions when checking many documents.

The API (used by the 270/271, 278 and 837P oracle tests and ``python -m benchmarks x12``):

* ``lfh_parse(x12) -> dict``: the single transaction set's model, as linuxforhealth's
  ``.dict(exclude_none=True)`` (dates ISO strings, decimals strings). Raises
  ``OracleRejected`` with linuxforhealth's validation errors;
* ``lfh_parse_batch(docs) -> list[LfhOutcome]``: one outcome per document (``models``,
  ``errors``, ``ok``), nothing raised;
* ``pyx12_errors(x12) -> list[str]`` / ``pyx12_errors_batch(docs)``: pyx12's findings,
  empty when the interchange passes;
* ``lfh_benchmark(docs, repeat)``: linuxforhealth parse timing measured inside the venv;
* ``lfh_271_members(model)`` / ``our_271_members(read_271(...))``: both readings of a 271 in
  one plain shape, to compare with ``==``;
* ``fhir_strict_errors_batch(resources) -> list[list[str]]``: fhirclient's strict parse of
  each resource, one message per problem with its path; an empty list means it is valid.

Without network access the venv cannot be built and every oracle test errors (CI has the
registries). ``CAREBRIDGE_TEST_NO_ORACLES=1`` turns that into a skip, for offline work only.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import venv
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from carebridge.coverage.x12.eligibility import EligibilityResult

ROOT = Path(__file__).resolve().parents[2]
VENV_DIR = ROOT / ".cache" / "oracle-venv"
RUNNER = Path(__file__).with_name("venv_runner.py")
SAMPLES = ROOT.parent / "shared" / "data" / "x12"
SKIP_ENV = "CAREBRIDGE_TEST_NO_ORACLES"

# Pinned: a new release of an oracle must not change a verdict behind our back.
REQUIREMENTS = (
    "linuxforhealth-x12==0.57.0",
    "pydantic>=1.10,<2",  # linuxforhealth-x12 imports pydantic.BaseSettings (pydantic 1 only)
    "pyx12==4.0.0",
    "fhirclient==4.4.0",  # models generated from FHIR 4.0.1 (4.1.0 and older are 4.0.0)
)
INSTALL_TIMEOUT_SECONDS = 600
RUN_TIMEOUT_SECONDS = 600


class OracleUnavailable(RuntimeError):
    """The oracle venv could not be built or its runner failed."""


class OracleRejected(ValueError):
    """linuxforhealth-x12 refused a document; ``errors`` are its messages."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("linuxforhealth-x12 rejected the document: " + "; ".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class LfhOutcome:
    models: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def oracles_disabled() -> bool:
    return os.environ.get(SKIP_ENV, "") == "1"


def _python() -> Path:
    return VENV_DIR / "bin" / "python"


def _marker() -> Path:
    return VENV_DIR / "requirements.sha256"


def _wanted() -> str:
    return hashlib.sha256("\n".join(REQUIREMENTS).encode()).hexdigest()


def _ready() -> bool:
    marker = _marker()
    return _python().exists() and marker.exists() and marker.read_text().strip() == _wanted()


def _build() -> None:
    venv.EnvBuilder(clear=True, with_pip=True).create(VENV_DIR)
    command = [str(_python()), "-m", "pip", "install", "--quiet", *REQUIREMENTS]
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
            check=False,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        raise OracleUnavailable(f"pip install of the X12 oracles timed out: {exc}") from exc
    if result.returncode != 0:
        raise OracleUnavailable(
            "could not install the X12 oracles " + " ".join(REQUIREMENTS) + " into "
            f"{VENV_DIR} (set {SKIP_ENV}=1 to skip the oracle tests offline):\n"
            + result.stdout[-2000:]
            + result.stderr[-4000:]
        )
    _marker().write_text(_wanted() + "\n")


def ensure_venv() -> Path:
    """The oracle venv's interpreter, building the venv first if needed (once, under a lock)."""
    if _ready():
        return _python()
    VENV_DIR.parent.mkdir(parents=True, exist_ok=True)
    lock_path = VENV_DIR.parent / "oracle-venv.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _ready():
                _build()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return _python()


def run(op: str, documents: Sequence[str], **extra: Any) -> Any:
    """One request to ``venv_runner.py`` inside the oracle venv; its JSON answer."""
    python = ensure_venv()
    request = json.dumps({"op": op, "documents": list(documents), **extra})
    try:
        result = subprocess.run(
            [str(python), str(RUNNER)],
            input=request,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise OracleUnavailable(f"the oracle runner ({op}) timed out") from exc
    if result.returncode != 0:
        raise OracleUnavailable(f"the oracle runner ({op}) failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout)


def lfh_parse_batch(documents: Sequence[str]) -> list[LfhOutcome]:
    """linuxforhealth-x12's reading of each document (one subprocess for all of them)."""
    answers = run("lfh", documents)
    return [LfhOutcome(models=a["models"], errors=a["errors"]) for a in answers]


def lfh_parse(x12: str) -> dict[str, Any]:
    """The model of the one transaction set in ``x12``; OracleRejected when refused."""
    (outcome,) = lfh_parse_batch([x12])
    if not outcome.ok:
        raise OracleRejected(outcome.errors)
    if len(outcome.models) != 1:
        raise OracleRejected(
            [f"expected one transaction set, linuxforhealth read {len(outcome.models)}"]
        )
    return outcome.models[0]


def pyx12_errors_batch(documents: Sequence[str]) -> list[list[str]]:
    """pyx12's envelope findings for each document; an empty list means it passed."""
    answers: list[list[str]] = run("pyx12", documents)
    return answers


def pyx12_errors(x12: str) -> list[str]:
    (errors,) = pyx12_errors_batch([x12])
    return errors


@dataclass(frozen=True)
class LfhTiming:
    transactions: int
    seconds: float
    models: list[list[dict[str, Any]]]


def lfh_benchmark(documents: Sequence[str], repeat: int) -> LfhTiming:
    """Parse ``documents`` ``repeat`` times with linuxforhealth-x12; only the parsing loop
    inside the venv process is timed. ``models`` are one pass's readings, for comparison."""
    answer = run("lfh-bench", documents, repeat=repeat)
    return LfhTiming(
        transactions=int(answer["transactions"]),
        seconds=float(answer["seconds"]),
        models=answer["models"],
    )


# --- comparing 271 readings -------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _yes_no(value: Any) -> bool | None:
    return {"Y": True, "N": False}.get(value)


def _benefits(loops_2110: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for loop in loops_2110:
        eb = loop["eb_segment"]
        out.append(
            {
                "code": eb["eligibility_benefit_information"],
                "coverage_level": eb.get("coverage_level_code", ""),
                "service_types": tuple(eb.get("service_type_code", ())),
                "insurance_type": eb.get("insurance_type_code", ""),
                "plan_description": eb.get("plan_coverage_description", ""),
                "time_period": eb.get("time_period_qualifier", ""),
                "amount": _dec(eb.get("benefit_amount")),
                "percent": _dec(eb.get("benefit_percent")),
                "authorization_required": _yes_no(eb.get("authorization_certification_indicator")),
                "in_network": _yes_no(eb.get("inplan_network_indicator")),
            }
        )
    return out


def _pcp(loops_2110: list[dict[str, Any]], loop_2120: str) -> tuple[str, ...] | None:
    for loop in loops_2110:
        for entity in loop.get(loop_2120, []):
            nm1 = entity["nm1_segment"]
            if nm1["entity_identifier_code"] == "P3":
                return (
                    nm1.get("name_last_or_organization_name", ""),
                    nm1.get("name_first", ""),
                    nm1.get("identification_code_qualifier", ""),
                    nm1.get("identification_code", ""),
                )
    return None


def _aaa_codes(*holders: dict[str, Any]) -> list[str]:
    return [aaa["reject_reason_code"] for h in holders for aaa in h.get("aaa_segment", [])]


def _member(
    level: str, hl: dict[str, Any], suffix: str, member_id: str, upper: list[str]
) -> dict[str, Any]:
    name = hl[f"loop_2100{suffix}"]
    nm1 = name["nm1_segment"]
    dmg = name.get("dmg_segment", {})
    loops_2110 = name.get(f"loop_2110{suffix}", [])
    if nm1.get("identification_code_qualifier") == "MI":
        member_id = nm1["identification_code"]
    return {
        "level": level,
        "last_name": nm1.get("name_last_or_organization_name", ""),
        "first_name": nm1.get("name_first", ""),
        "member_id": member_id,
        "birth_date": dmg.get("date_time_period", "").replace("-", ""),
        "sex": dmg.get("gender_code", ""),
        "trace_numbers": [t["reference_identification_1"] for t in hl.get("trn_segment", [])],
        "rejections": upper + _aaa_codes(name, *loops_2110),
        "benefits": _benefits(loops_2110),
        "primary_care_provider": _pcp(loops_2110, f"loop_2120{suffix}"),
    }


def lfh_271_members(model: dict[str, Any]) -> list[dict[str, Any]]:
    """The members of a linuxforhealth 271 model, in file order, in the same plain shape as
    ``our_271_members``: name, ids, trace numbers, AAA codes, benefits field by field (EB01,
    EB02, EB03 repetitions, EB04-EB08, EB11, EB12) and the primary care provider."""
    members = []
    for source in model["loop_2000a"]:
        source_aaa = _aaa_codes(source, source["loop_2100a"])
        for receiver in source.get("loop_2000b", []):
            upper = source_aaa + _aaa_codes(receiver, receiver["loop_2100b"])
            subscribers = receiver.get("loop_2000c", [])
            if not subscribers and upper:
                members.append({"level": "receiver", "rejections": upper})
            for subscriber in subscribers:
                sub = _member("subscriber", subscriber, "c", "", upper)
                members.append(sub)
                for dependent in subscriber.get("loop_2000d", []):
                    members.append(_member("dependent", dependent, "d", sub["member_id"], upper))
    return members


def _our_member(result: EligibilityResult) -> dict[str, Any]:
    if result.level == "receiver":
        return {"level": "receiver", "rejections": [r.code for r in result.rejections]}
    pcp = result.primary_care_provider
    return {
        "level": result.level,
        "last_name": result.last_name,
        "first_name": result.first_name,
        "member_id": result.member_id,
        "birth_date": result.birth_date,
        "sex": result.sex,
        "trace_numbers": result.trace_numbers,
        "rejections": [r.code for r in result.rejections],
        "benefits": [
            {
                "code": b.code,
                "coverage_level": b.coverage_level,
                "service_types": b.service_types,
                "insurance_type": b.insurance_type,
                "plan_description": b.plan_description,
                "time_period": b.time_period,
                "amount": b.amount,
                "percent": b.percent,
                "authorization_required": b.authorization_required,
                "in_network": b.in_network,
            }
            for b in result.benefits
        ],
        "primary_care_provider": None
        if pcp is None
        else (pcp.last_name, pcp.first_name, pcp.id_qualifier, pcp.id),
    }


def our_271_members(results: Sequence[EligibilityResult]) -> list[dict[str, Any]]:
    """What ``read_271`` extracted, in the shape of ``lfh_271_members``."""
    return [_our_member(result) for result in results]


def fhir_strict_errors_batch(resources: Sequence[dict[str, Any]]) -> list[list[str]]:
    """fhirclient's strict R4 verdict on each resource (one subprocess for all of them):
    its validation messages, each naming the element's path; empty when the resource parses."""
    answers: list[list[str]] = run("fhir-strict", [json.dumps(r) for r in resources])
    return answers


def sample_files(folder: str) -> list[Path]:
    """The shared X12 samples of one guide folder, e.g. ``"271_005010X279A1"``."""
    return sorted((SAMPLES / folder).glob("*.*"))


if __name__ == "__main__":  # `python tests/oracles/support.py` builds the venv ahead of time
    print(ensure_venv(), file=sys.stdout)


def fhirclient_session(base: str, token: str, family: str) -> dict[str, Any]:
    """fhirclient (in the oracle venv) creating, reading, searching and updating Patients
    on the server at ``base`` (a real HTTP server: the client opens its own sockets)."""
    answer: dict[str, Any] = run("fhirclient-session", [], base=base, token=token, family=family)
    return answer
