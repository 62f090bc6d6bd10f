"""The report's email: a subject, a plain-text body and the same figures as HTML, drawn from
the templates beside this module (``reports/email.txt``, ``reports/email.html``, whose
figures table ``reports/_figures.html`` the preview page shows too).

Figures only: the templates are given counts, rates and medians, never a patient."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from carebridge.settings import Settings

if TYPE_CHECKING:
    from carebridge.reports.models import ScheduledReport
    from carebridge.reports.service import MeasureLine

HTML_NAME = "weekly-report.html"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str

    def html_part(self) -> dict[str, Any]:
        """The HTML as an outbox part; ``alternative`` asks the mailer to send it as the
        HTML alternative of the plain text (an attachment where it cannot)."""
        return {
            "filename": HTML_NAME,
            "content_type": "text/html",
            "content": self.html,
            "alternative": True,
        }


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def dashboard_url(settings: Settings) -> str:
    return f"{settings.public_url.rstrip('/')}/quality"


def compose(
    settings: Settings,
    report: ScheduledReport,
    monday: dt.date,
    lines: Sequence[MeasureLine],
) -> Email:
    sunday = monday + dt.timedelta(days=6)
    context = {
        "clinic": settings.clinic_name,
        "name": report.name,
        "first": monday,
        "last": sunday,
        "zone": settings.timezone,
        "lines": lines,
        "dashboard": dashboard_url(settings),
        "for_email": True,
    }
    env = _environment()
    subject = f"{report.name}: week of {monday:%a %d %b %Y} ({settings.clinic_name})"
    return Email(
        subject=subject[:200],
        text=env.get_template("reports/email.txt").render(**context),
        html=env.get_template("reports/email.html").render(**context),
    )
