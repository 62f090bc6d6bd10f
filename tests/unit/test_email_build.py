"""The MIME shape of outgoing mail: an HTML copy is the body's alternative, files are files."""

from __future__ import annotations

import uuid

from carebridge.messaging import email
from carebridge.messaging.models import OutboxMessage
from tests.conftest import make_settings


def test_an_html_copy_is_sent_as_the_alternative_and_files_stay_attachments() -> None:
    message = OutboxMessage(
        id=uuid.uuid4(),
        channel="email",
        recipient="manager@example.org",
        subject="Weekly report",
        body="Follow-up within 7 days: 2 of 3 (66.7%)",
        attachments=[
            {"filename": "report.ics", "content_type": "text/calendar", "content": "BEGIN:X"},
            {
                "filename": "weekly-report.html",
                "content_type": "text/html",
                "content": "<p>Follow-up within 7 days: <b>66.7%</b></p>",
                "alternative": True,
            },
        ],
    )
    mail = email.build(make_settings("sqlite://"), message)

    assert mail.get_content_type() == "multipart/mixed"
    html = mail.get_body(preferencelist=("html",))
    text = mail.get_body(preferencelist=("plain",))
    assert html is not None
    assert text is not None
    assert "<b>66.7%</b>" in html.get_content()
    assert "2 of 3 (66.7%)" in text.get_content()
    # Only the calendar file is an attachment; the HTML copy is not offered as a file.
    assert [p.get_filename() for p in mail.iter_attachments()] == ["report.ics"]
