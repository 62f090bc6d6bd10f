"""Demo community resources: the demo directory (invented organizations around Austin, TX, in
``demo_hsds/`` as HSDS 3.0 CSV files) imported through the same importer as real data, and a
few community referrals for demo patients with open social needs: one the organization
confirmed (loop closed), one waiting past its confirm-by date (the follow-up job raises a
task for it) and one sent yesterday. Run it after the social needs demo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.community import importer, service
from carebridge.community.models import CommunityReferral, ResourceService
from carebridge.community.schemas import CommunityReferralCreate, Confirmation
from carebridge.db.history import ACTOR_KEY
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.referrals.models import Referral
from carebridge.security.audit import Actor
from carebridge.security.models import User
from carebridge.social.models import SocialNeed

DEMO_DIRECTORY = Path(__file__).resolve().parent / "demo_hsds"
COORDINATOR = "coordinator"
# (days ago sent, confirmed days later or None)
PLAN = ((20, 3), (9, None), (1, None))


def _actor(db: Session) -> Actor:
    user = db.scalar(select(User).where(User.username == COORDINATOR))
    if user is None:
        return Actor.system("demo")
    return Actor(user_id=user.id, username=user.username, role=user.role)


def seed(
    db: Session, *, zone: str = "America/Chicago", now: dt.datetime | None = None
) -> int | None:
    """Import the demo directory (idempotent) and, once, make the demo community referrals;
    how many referrals were made (None when there were some already)."""
    now = now or utcnow()
    actor = _actor(db)
    earlier = db.info.get(ACTOR_KEY)
    db.info[ACTOR_KEY] = actor.user_id
    try:
        importer.import_path(db, actor, DEMO_DIRECTORY)
        if db.scalar(select(func.count()).select_from(CommunityReferral)):
            return None
        needs = db.execute(
            select(SocialNeed.patient_id, SocialNeed.domain)
            .join(Patient, Patient.id == SocialNeed.patient_id)
            .where(SocialNeed.status == "open", Patient.status == "active")
            .order_by(Patient.mrn, SocialNeed.domain)
        ).all()
        made = 0
        used: set[object] = set()
        for patient_id, domain in needs:
            if made == len(PLAN):
                break
            if patient_id in used:
                continue
            services = [
                s
                for s in db.scalars(
                    select(ResourceService)
                    .where(ResourceService.status == "active")
                    .order_by(ResourceService.name)
                )
                if domain in (s.needs or [])
            ]
            if not services:
                continue
            days_ago, confirmed_after = PLAN[made]
            sent = now - dt.timedelta(days=days_ago, hours=2)
            referral = service.refer(
                db,
                actor,
                patient_id,
                CommunityReferralCreate(service_id=services[0].id, need=domain),
                zone,
                now=sent,
            )
            if confirmed_after is not None:
                row = db.get(Referral, referral.referral.id)
                assert row is not None
                service.confirm(
                    db,
                    actor,
                    row.id,
                    Confirmation(version=row.version, note="Intake done; first visit booked."),
                    zone,
                    via="phone",
                    now=sent + dt.timedelta(days=confirmed_after),
                )
            used.add(patient_id)
            made += 1
        db.flush()
        return made
    finally:
        db.info[ACTOR_KEY] = earlier
