"""The FHIR import page: IT staff upload Bundles or NDJSON files from another system, the
import runs in the background (``fhir.imports``, as ``carebridge fhir import`` runs it), and
the page follows it file by file, then shows what it did per resource type."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import UploadFile

from carebridge.db.session import unit_of_work
from carebridge.fhir import imports
from carebridge.fhir.models import FhirImportJob
from carebridge.lib.errors import NotFound
from carebridge.lib.time import utcnow
from carebridge.patients.views import Posted
from carebridge.security.audit import Action, Actor, record
from carebridge.security.deps import Csrf, Db, Require
from carebridge.security.roles import Permission
from carebridge.web.render import redirect, render

router = APIRouter(include_in_schema=False)  # pages, not API
Importer = Annotated[Actor, Depends(Require(Permission.FHIR_IMPORT))]
SOURCE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SUFFIXES = (".json", ".ndjson", ".jsonl")
KEPT_WARNINGS = 50


def _page(
    request: Request, db: Session, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    jobs = db.scalars(
        select(FhirImportJob).order_by(FhirImportJob.created_at.desc()).limit(20)
    ).all()
    return render(
        request,
        "fhir/import.html",
        {"jobs": jobs, "form": form, "errors": errors},
        status_code=status,
        active="fhir-import",
    )


@router.get("/admin/fhir-import")
def import_page(request: Request, db: Db, actor: Importer) -> Response:
    return _page(request, db, {"source": ""}, {})


def _run(
    factory: sessionmaker[Session], actor: Actor, job_id: uuid.UUID, folder: Path, source: str
) -> None:
    """The import itself, in a thread of its own: the job row records each file as it is
    done, and the summary at the end."""
    paths = sorted(folder.iterdir())

    def step(_path: Path, count: int) -> None:
        with unit_of_work(factory) as db:
            job = db.get(FhirImportJob, job_id)
            if job is not None:
                job.files_done += 1
                job.resources += count

    try:
        summary = imports.import_files(factory, actor, paths, namespace=source, progress=step)
        outcome: dict[str, Any] = {
            "types": [
                [kind, summary.created[kind], summary.updated[kind], summary.unchanged[kind]]
                for kind in summary.types()
            ],
            "warnings": summary.warnings[:KEPT_WARNINGS],
            "more_warnings": max(0, len(summary.warnings) - KEPT_WARNINGS),
            "failed": summary.failed,
        }
        status = "failed" if summary.failed and not summary.files else "done"
    except Exception as exc:  # shown on the page instead of lost in a thread
        outcome, status = {"failed": [f"{type(exc).__name__}: {exc}"], "types": []}, "failed"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    with unit_of_work(factory) as db:
        job = db.get(FhirImportJob, job_id)
        if job is not None:
            job.summary = outcome
            job.status = status
            job.finished_at = utcnow()


@router.post("/admin/fhir-import", dependencies=[Csrf])
def start_import(request: Request, db: Db, actor: Importer, form: Posted) -> Response:
    source = str(form.get("source") or "").strip()
    uploads = [
        f for f in form.getlist("files") if isinstance(f, UploadFile) and (f.filename or f.size)
    ]
    errors: dict[str, str] = {}
    if not SOURCE.match(source):
        errors["source"] = "Name the sender: letters, digits, '.', '_' and '-' (at most 64)."
    if not uploads:
        errors["files"] = "Choose one or more FHIR Bundle (.json) or NDJSON (.ndjson) files."
    strange = [f.filename for f in uploads if not str(f.filename).lower().endswith(SUFFIXES)]
    if strange:
        errors["files"] = f"Not a .json or .ndjson file: {', '.join(map(str, strange))}."
    if errors:
        return _page(request, db, {"source": source}, errors, status=422)
    folder = Path(tempfile.mkdtemp(prefix="carebridge-import-"))
    names = []
    for number, upload in enumerate(uploads):
        name = f"{number:03d}-{Path(str(upload.filename)).name}"
        with (folder / name).open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        names.append(str(upload.filename))
    job = FhirImportJob(
        source=source,
        status="running",
        files=names,
        files_done=0,
        resources=0,
        summary={},
        requested_by=actor.user_id,
        created_at=utcnow(),
    )
    db.add(job)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="FhirImport",
        entity_id=job.id,
        reason=f"{len(names)} file(s) from {source}",
    )
    db.commit()  # the thread reads the job
    factory = request.app.state.sessionmaker
    threading.Thread(
        target=_run, args=(factory, actor, job.id, folder, source), name="fhir-import", daemon=True
    ).start()
    return redirect(f"/admin/fhir-import/{job.id}")


@router.get("/admin/fhir-import/{job_id}")
def import_job(request: Request, db: Db, actor: Importer, job_id: uuid.UUID) -> Response:
    job = db.get(FhirImportJob, job_id)
    if job is None:
        raise NotFound(f"No import {job_id}")
    return render(request, "fhir/import_job.html", {"job": job}, active="fhir-import")
