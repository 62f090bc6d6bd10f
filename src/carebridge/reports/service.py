"""Scheduled reports: keep them (name, measures, recipients, weekday and hour), work out when
each is due, compute its figures and queue its email through the outbox.

A report covers the last full week, Monday to Sunday in the clinic's time zone
(``Settings.timezone``), with the four weeks before it for the trend. It is due once its
weekday and hour have come this week (local wall clock, so it keeps its hour across a change
of daylight saving time) and that week has not been sent yet.

A send is two units of work. The figures (every measure for five weeks: the long part) are
computed first in a read-only one (``plan_due``, ``plan_now``), which holds no lock, so the
app's other writers are not kept waiting. Then a short write transaction (``send_if_due``,
``send_now``) locks the report's row (``FOR UPDATE`` on PostgreSQL; SQLite's write lock is
taken when the unit of work begins), checks again that it is due and still has the measures
the figures were computed for, queues one email per recipient and moves ``last_sent_for``.
So two workers or two passes never send a week twice, and a report edited meanwhile is not
sent with stale figures. When none of its recipients can receive it (disabled, or no
address), nothing is computed, queued or marked sent: the week stays due.

The email carries figures only: counts, rates and medians, never a patient's name or
identifier. Services flush, never commit; reads and changes are audited.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.analytics import measures
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.messaging import service as outbox
from carebridge.messaging.models import OutboxMessage
from carebridge.patients.schemas import email as valid_email
from carebridge.reports import mail
from carebridge.reports.models import ReportAddress, ScheduledReport
from carebridge.reports.schemas import WEEKDAYS, ReportIn
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.settings import Settings

log = logging.getLogger("carebridge.reports")
TREND_WEEKS = 4
WEEK = dt.timedelta(days=7)
FOCUS = "ScheduledReport"


# --- weeks and send times ------------------------------------------------------------------


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def local_today(settings: Settings, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(settings.timezone)).date()


def last_full_week(settings: Settings, now: dt.datetime) -> dt.date:
    """The Monday of the last full week (Monday to Sunday, local) before ``now``."""
    return monday_of(local_today(settings, now)) - WEEK


def send_time(settings: Settings, report: ScheduledReport, monday: dt.date) -> dt.datetime:
    """When the report goes out in the week starting ``monday``: its weekday and hour on the
    local wall clock (an hour skipped by daylight saving time falls an hour later), in UTC."""
    day = monday + dt.timedelta(days=report.weekday)
    local = dt.datetime.combine(day, dt.time(report.hour), ZoneInfo(settings.timezone))
    return local.astimezone(dt.UTC)


def due_week(settings: Settings, report: ScheduledReport, now: dt.datetime) -> dt.date | None:
    """The Monday of the week to send now, or None when nothing is due: the report is
    inactive, its time has not come this week, it was made after this week's time (its first
    email goes out at the next one), or the last full week was sent already."""
    if not report.is_active:
        return None
    this_monday = monday_of(local_today(settings, now))
    at = send_time(settings, report, this_monday)
    if now < at or report.created_at > at:
        return None
    covered = this_monday - WEEK
    if report.last_sent_for is not None and report.last_sent_for >= covered:
        return None
    return covered


def next_send(settings: Settings, report: ScheduledReport, now: dt.datetime) -> dt.datetime:
    """When the report will next go out (now, if it is due)."""
    if due_week(settings, report, now) is not None:
        return now
    monday = monday_of(local_today(settings, now))
    at = send_time(settings, report, monday)
    if at <= now or at < report.created_at:
        at = send_time(settings, report, monday + WEEK)
    return at


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A measure over one week: counts, rate and (where the measure reports one) median."""

    first: dt.date
    last: dt.date
    numerator: int
    denominator: int
    rate: float | None
    median_days: float | None

    @property
    def rate_text(self) -> str:
        return "no cases" if self.rate is None else f"{self.rate * 100:.1f}%"

    @property
    def counts_text(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @property
    def median_text(self) -> str:
        return "—" if self.median_days is None else f"{self.median_days:.1f}"

    @property
    def week_text(self) -> str:
        return f"{self.first:%a %d %b} to {self.last:%a %d %b %Y}"


@dataclass(frozen=True)
class MeasureLine:
    """One measure of the report: the reported week and the weeks before it, oldest first."""

    key: str
    title: str
    lower_is_better: bool
    median_label: str | None
    weeks: list[Figure]

    @property
    def current(self) -> Figure:
        return self.weeks[-1]

    @property
    def earlier(self) -> list[Figure]:
        return self.weeks[:-1]

    @property
    def trend(self) -> str:
        """The reported week's rate against the mean rate of the weeks before, in words."""
        now = self.current.rate
        before = [f.rate for f in self.earlier if f.rate is not None]
        if now is None or not before:
            return "no trend yet"
        mean = sum(before) / len(before)
        change = (now - mean) * 100
        if round(abs(change), 1) == 0:
            return f"level with the {len(before)}-week average"
        better = (change < 0) == self.lower_is_better
        word = "better" if better else "worse"
        return (
            f"{abs(change):.1f} points {'up' if change > 0 else 'down'} on the "
            f"{len(before)}-week average ({word})"
        )


def week_figure(db: Session, settings: Settings, key: str, monday: dt.date) -> Figure:
    result = measures.compute(db, settings, key, monday, monday + dt.timedelta(days=6))
    return Figure(
        first=result.first,
        last=result.last,
        numerator=result.numerator,
        denominator=result.denominator,
        rate=result.rate,
        median_days=result.median_days,
    )


def figures(
    db: Session, settings: Settings, keys: Sequence[str], monday: dt.date
) -> list[MeasureLine]:
    """The report's measures for the week starting ``monday`` and the four weeks before.
    A measure no longer in the registry is left out."""
    lines = []
    for key in keys:
        measure = measures.REGISTRY.get(key)
        if measure is None:
            continue
        weeks = [
            week_figure(db, settings, key, monday - WEEK * back)
            for back in range(TREND_WEEKS, -1, -1)
        ]
        lines.append(
            MeasureLine(key, measure.title, measure.lower_is_better, measure.median_label, weeks)
        )
    return lines


# --- recipients ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    user_id: uuid.UUID
    name: str
    username: str
    active: bool
    email: str | None

    @property
    def reachable(self) -> bool:
        return self.active and self.email is not None


def addresses(db: Session, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.scalars(select(ReportAddress).where(ReportAddress.id.in_(ids)))
    return {row.id: row.email for row in rows}


def recipients_of(db: Session, report: ScheduledReport) -> list[Recipient]:
    ids = [uuid.UUID(i) for i in report.recipient_ids]
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    found = addresses(db, ids)
    return sorted(
        (
            Recipient(u.id, u.display_name, u.username, u.is_active, found.get(u.id))
            for u in users.values()
        ),
        key=lambda r: r.name.lower(),
    )


def candidates(db: Session) -> list[Recipient]:
    """Everyone who may receive reports: the active users, with the address on file."""
    users = list(
        db.scalars(select(User).where(User.is_active.is_(True)).order_by(User.display_name))
    )
    found = addresses(db, [u.id for u in users])
    return [Recipient(u.id, u.display_name, u.username, True, found.get(u.id)) for u in users]


def _check_recipients(db: Session, data: ReportIn) -> dict[uuid.UUID, str]:
    """The address of each recipient (typed, else on file); ValidationFailed naming each
    recipient who is not an active user or has no valid address."""
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(data.recipient_ids)))}
    on_file = addresses(db, data.recipient_ids)
    errors: dict[str, str] = {}
    chosen: dict[uuid.UUID, str] = {}
    for user_id in data.recipient_ids:
        user = users.get(user_id)
        if user is None:
            errors["recipient_ids"] = f"There is no user with id {user_id}; choose from the list."
            continue
        if not user.is_active:
            errors["recipient_ids"] = (
                f"{user.display_name}'s account is disabled; choose active users only."
            )
            continue
        field = f"email-{user_id}"
        typed = (data.addresses.get(user_id) or "").strip()
        if typed:
            try:
                chosen[user_id] = valid_email(typed)
            except ValueError as exc:
                errors[field] = f"{user.display_name}: {exc}."
        elif user_id in on_file:
            chosen[user_id] = on_file[user_id]
        else:
            errors[field] = (
                f"{user.display_name} has no email address: enter the address to send the "
                "report to, or untick them."
            )
    if errors:
        raise ValidationFailed("Some recipients cannot receive the report", fields=errors)
    return chosen


def _save_addresses(db: Session, actor: Actor, chosen: dict[uuid.UUID, str]) -> None:
    """Keep each recipient's address; a new or changed one is audited, naming the user (it
    is where all of that user's reports go)."""
    rows = db.scalars(select(ReportAddress).where(ReportAddress.id.in_(list(chosen))))
    on_file = {row.id: row for row in rows}
    changed: dict[uuid.UUID, str] = {}
    for user_id, address in chosen.items():
        row = on_file.get(user_id)
        if row is None:
            db.add(ReportAddress(id=user_id, email=address))
            changed[user_id] = f"set to {address}"
        elif row.email != address:
            changed[user_id] = f"changed to {address} (was {row.email})"
            row.email = address
    if not changed:
        return
    db.flush()
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(list(changed))))}
    for user_id, what in changed.items():
        user = users[user_id]
        record(
            db,
            actor,
            Action.UPDATE,
            entity_type="ReportAddress",
            entity_id=user_id,
            reason=f"report address of {user.display_name} ({user.username}) {what}",
        )


# --- keeping reports -----------------------------------------------------------------------


def all_reports(db: Session) -> list[ScheduledReport]:
    return list(
        db.scalars(
            select(ScheduledReport).order_by(ScheduledReport.is_active.desc(), ScheduledReport.name)
        )
    )


def get(db: Session, report_id: uuid.UUID) -> ScheduledReport:
    report = db.get(ScheduledReport, report_id)
    if report is None:
        raise NotFound(f"No scheduled report with id {report_id}")
    return report


def describe(report: ScheduledReport) -> str:
    return f"{WEEKDAYS[report.weekday]}s at {report.hour:02d}:00"


def create(
    db: Session, actor: Actor, data: ReportIn, now: dt.datetime | None = None
) -> ScheduledReport:
    chosen = _check_recipients(db, data)
    _save_addresses(db, actor, chosen)
    report = ScheduledReport(
        name=data.name,
        measure_keys=list(data.measure_keys),
        recipient_ids=[str(i) for i in data.recipient_ids],
        weekday=data.weekday,
        hour=data.hour,
        is_active=True,
    )
    if now is not None:
        report.created_at = now
    db.add(report)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type=FOCUS,
        entity_id=report.id,
        reason=f"{report.name}: {len(chosen)} recipient(s), {describe(report)}",
    )
    return report


def update(db: Session, actor: Actor, report_id: uuid.UUID, data: ReportIn) -> ScheduledReport:
    report = get(db, report_id)
    if data.version is not None:
        check_version("This report", report.version, data.version)
    chosen = _check_recipients(db, data)
    _save_addresses(db, actor, chosen)
    report.name = data.name
    report.measure_keys = list(data.measure_keys)
    report.recipient_ids = [str(i) for i in data.recipient_ids]
    report.weekday = data.weekday
    report.hour = data.hour
    db.flush()
    record(db, actor, Action.UPDATE, entity_type=FOCUS, entity_id=report.id, reason="edited")
    return report


def set_active(
    db: Session, actor: Actor, report_id: uuid.UUID, active: bool, version: int | None = None
) -> ScheduledReport:
    report = get(db, report_id)
    if version is not None:
        check_version("This report", report.version, version)
    if report.is_active != active:
        report.is_active = active
        db.flush()
        record(
            db,
            actor,
            Action.UPDATE,
            entity_type=FOCUS,
            entity_id=report.id,
            reason="reactivated" if active else "deactivated",
        )
    return report


# --- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    monday: dt.date
    lines: list[MeasureLine]
    email: mail.Email


def preview(
    db: Session, settings: Settings, actor: Actor, report: ScheduledReport, now: dt.datetime
) -> Preview:
    """The email the report would send now, for the last full week (figures read: audited)."""
    monday = last_full_week(settings, now)
    lines = figures(db, settings, report.measure_keys, monday)
    record(
        db,
        actor,
        Action.READ,
        entity_type=FOCUS,
        entity_id=report.id,
        reason=f"previewed the figures for the week of {monday.isoformat()}",
    )
    return Preview(monday, lines, mail.compose(settings, report, monday, lines))


@dataclass(frozen=True)
class Planned:
    """A send worked out before its write transaction: the figures of ``measure_keys`` for
    the week starting ``monday`` and the four weeks before it."""

    report_id: uuid.UUID
    monday: dt.date
    measure_keys: tuple[str, ...]
    lines: list[MeasureLine]


def plan(
    db: Session, settings: Settings, report: ScheduledReport, monday: dt.date
) -> Planned | None:
    """The figures for sending ``report`` for the week starting ``monday``. It only reads:
    run it in a read-only unit of work (``write=False``). None when none of the recipients
    can receive the report, so nothing is computed for nobody."""
    if not any(r.reachable for r in recipients_of(db, report)):
        return None
    keys = tuple(report.measure_keys)
    return Planned(report.id, monday, keys, figures(db, settings, keys, monday))


def plan_due(
    db: Session, settings: Settings, report_id: uuid.UUID, now: dt.datetime
) -> Planned | None:
    """The worker's first step for one report (read only): its figures, if it is due and
    someone can receive it; else None."""
    report = db.get(ScheduledReport, report_id)
    if report is None:
        return None
    monday = due_week(settings, report, now)
    return None if monday is None else plan(db, settings, report, monday)


def plan_now(
    db: Session, settings: Settings, report_id: uuid.UUID, now: dt.datetime
) -> Planned | None:
    """The first step of "Send now" (read only): the figures for the last full week, or
    None when none of the recipients can receive the report."""
    return plan(db, settings, get(db, report_id), last_full_week(settings, now))


def _locked(db: Session, report_id: uuid.UUID) -> ScheduledReport | None:
    return db.get(ScheduledReport, report_id, with_for_update=True, populate_existing=True)


def send(
    db: Session,
    settings: Settings,
    actor: Actor,
    report: ScheduledReport,
    planned: Planned,
    now: dt.datetime,
    *,
    scheduled: bool,
) -> list[OutboxMessage]:
    """Queue the report with the figures in ``planned``: one email per reachable recipient
    (active, with an address), and mark the week sent. When nobody can receive it, nothing
    is queued, marked or recorded, and the empty list comes back. Scheduled sends carry a
    dedupe key per report, week and recipient, so the outbox itself refuses a second copy.
    ``report`` is locked by the caller, who checked it still has ``planned``'s measures."""
    people = [r for r in recipients_of(db, report) if r.reachable]
    if not people:
        return []
    monday = planned.monday
    composed = mail.compose(settings, report, monday, planned.lines)
    queued = []
    for person in people:
        assert person.email is not None  # reachable
        queued.append(
            outbox.enqueue(
                db,
                channel="email",
                recipient=person.email,
                subject=composed.subject,
                body=composed.text,
                attachments=[composed.html_part()],
                focus_type=FOCUS,
                focus_id=report.id,
                dedupe_key=(
                    f"scheduled-report:{report.id}:{monday.isoformat()}:{person.user_id}"
                    if scheduled
                    else None
                ),
            )
        )
    if report.last_sent_for is None or report.last_sent_for < monday:
        report.last_sent_for = monday
    report.last_sent_at = now
    db.flush()
    left_out = len(report.recipient_ids) - len(people)
    record(
        db,
        actor,
        Action.EXPORT,
        entity_type=FOCUS,
        entity_id=report.id,
        reason=(
            f"{'scheduled' if scheduled else 'sent now'}: week of {monday.isoformat()} emailed "
            f"to {len(people)} recipient(s)"
            + (f"; {left_out} left out (disabled or no address)" if left_out else "")
        ),
    )
    return queued


def send_now(
    db: Session, settings: Settings, actor: Actor, planned: Planned, now: dt.datetime
) -> tuple[ScheduledReport, list[OutboxMessage]]:
    """Queue the report at once with the figures ``plan_now`` computed (the scheduled send
    then skips that week, which is covered). Conflict when its measures were changed since;
    an empty list when nobody can receive it."""
    report = _locked(db, planned.report_id)
    if report is None:
        raise NotFound(f"No scheduled report with id {planned.report_id}")
    if tuple(report.measure_keys) != planned.measure_keys:
        raise Conflict(
            "the report's measures were changed while its figures were computed; send it again"
        )
    return report, send(db, settings, actor, report, planned, now, scheduled=False)


def send_if_due(
    db: Session, settings: Settings, planned: Planned, now: dt.datetime
) -> list[OutboxMessage] | None:
    """The worker's second step for one report: lock it, check again that it is due for
    the same week (another worker may have sent it meanwhile) and still has the measures
    the figures are for, and send it. None when nothing was sent; the next pass tries
    again if it is still due."""
    report = _locked(db, planned.report_id)
    if report is None or due_week(settings, report, now) != planned.monday:
        return None
    if tuple(report.measure_keys) != planned.measure_keys:
        log.info("scheduled report %s changed while its figures were computed", report.id)
        return None
    queued = send(db, settings, Actor.system("reports"), report, planned, now, scheduled=True)
    return queued or None
