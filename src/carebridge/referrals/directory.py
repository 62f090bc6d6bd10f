"""The directory of outside providers: search by name, specialty or NPI; add and change
entries. An NPI is unique in the directory (when given): a second entry for it is refused
with the name of the one that has it."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from carebridge.lib.errors import Conflict, NotFound, check_version
from carebridge.referrals.models import OutsideProvider
from carebridge.referrals.schemas import ProviderCreate, ProviderRead, ProviderUpdate
from carebridge.security.audit import Action, Actor, record

SEARCH_LIMIT = 50


def get(db: Session, provider_id: uuid.UUID) -> OutsideProvider:
    provider = db.get(OutsideProvider, provider_id)
    if provider is None:
        raise NotFound(f"No directory entry with id {provider_id}")
    return provider


def read(db: Session, provider_id: uuid.UUID) -> ProviderRead:
    return ProviderRead.model_validate(get(db, provider_id))


def search(
    db: Session,
    q: str = "",
    *,
    kind: str | None = None,
    active_only: bool = True,
    limit: int = SEARCH_LIMIT,
) -> list[ProviderRead]:
    """Entries whose name, organization or specialty holds ``q`` (case-insensitive), or
    whose NPI starts with it; by name."""
    query = select(OutsideProvider)
    text = q.strip()[:100]
    if text:
        like = f"%{text.lower()}%"
        query = query.where(
            or_(
                OutsideProvider.name.ilike(like),
                OutsideProvider.organization.ilike(like),
                OutsideProvider.specialty.ilike(like),
                OutsideProvider.npi.startswith(text),
            )
        )
    if kind:
        query = query.where(OutsideProvider.kind == kind)
    if active_only:
        query = query.where(OutsideProvider.active.is_(True))
    rows = db.scalars(query.order_by(OutsideProvider.name, OutsideProvider.id).limit(limit))
    return [ProviderRead.model_validate(row) for row in rows]


def _npi_free(db: Session, npi: str | None, keep: uuid.UUID | None = None) -> None:
    if npi is None:
        return
    holder = db.scalar(select(OutsideProvider).where(OutsideProvider.npi == npi))
    if holder is not None and holder.id != keep:
        raise Conflict(
            f"NPI {npi} is already in the directory as “{holder.name}”; use that entry "
            "or correct the NPI. Nothing was saved.",
            fields={"npi": f"Already in the directory as {holder.name}."},
            extra={"existing_id": str(holder.id)},
        )


def create(db: Session, actor: Actor, data: ProviderCreate) -> ProviderRead:
    _npi_free(db, data.npi)
    provider = OutsideProvider(**data.model_dump())
    db.add(provider)
    db.flush()
    record(db, actor, Action.CREATE, entity_type="OutsideProvider", entity_id=provider.id)
    return ProviderRead.model_validate(provider)


def update(db: Session, actor: Actor, provider_id: uuid.UUID, data: ProviderUpdate) -> ProviderRead:
    provider = get(db, provider_id)
    check_version("This directory entry", provider.version, data.version)
    changes = data.model_dump(exclude_unset=True, exclude={"version"})
    if "npi" in changes:
        _npi_free(db, changes["npi"], keep=provider.id)
    for name, value in changes.items():
        if name in ("name", "kind", "active") and value is None:
            continue  # required columns: a null means "leave it"
        setattr(provider, name, value)
    db.flush()
    record(db, actor, Action.UPDATE, entity_type="OutsideProvider", entity_id=provider.id)
    return ProviderRead.model_validate(provider)
