"""The referral letter as a PDF: the same content as the printable page
(``referrals/letter.html``), laid out on a US Letter page with fpdf2.

The PDF uses the standard Helvetica font, which every PDF reader has, so nothing is embedded
and the text stays selectable and searchable. That font covers Latin-1 only: other
characters are written without their accents (``Nguyễn`` -> ``Nguyen``) or as ``?``.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from carebridge.referrals import codes
from carebridge.web.render import format_day, format_phone, format_when

MARGIN_MM = 20
LINE_MM = 5.5
# Typography the core fonts lack, written as the nearest plain character.
PLAIN = str.maketrans(
    {
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
    }
)


def latin1(text: str) -> str:
    """``text`` in the characters Helvetica can show: accents dropped where that suffices."""
    text = text.translate(PLAIN)
    out = []
    for char in text:
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            bare = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            try:
                bare.encode("latin-1")
            except UnicodeEncodeError:
                bare = "?"
            out.append(bare or "?")
        else:
            out.append(char)
    return "".join(out)


class _Letter(FPDF):
    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font("helvetica", "B", 12)
        self.multi_cell(0, 7, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("helvetica", "", 11)

    def para(self, text: str, style: str = "", size: float = 11) -> None:
        self.set_font("helvetica", style, size)
        self.multi_cell(0, LINE_MM, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("helvetica", "", 11)


def _provider_lines(provider: Any) -> list[str]:
    name = provider.name + (f", {provider.specialty}" if provider.specialty else "")
    lines = [name]
    if provider.organization:
        lines.append(provider.organization)
    if provider.address_line:
        lines.append(provider.address_line)
    if provider.city:
        place = provider.city + (f", {provider.state}" if provider.state else "")
        lines.append(f"{place} {provider.postal_code or ''}".rstrip())
    contact = []
    if provider.npi:
        contact.append(f"NPI {provider.npi}")
    if provider.phone:
        contact.append(f"Phone {format_phone(provider.phone)}")
    if provider.fax:
        contact.append(f"Fax {format_phone(provider.fax)}")
    if provider.direct_address:
        contact.append(f"Direct {provider.direct_address}")
    if contact:
        lines.append(" · ".join(contact))
    return lines


def render_letter(context: dict[str, Any], *, clinic_name: str, printed: date, zone: str) -> bytes:
    """The PDF bytes of the letter for ``service.letter_context``'s referral and patient."""
    referral = context["referral"]
    patient = context["patient"]
    referrer: str | None = context["referrer"]
    provider = referral.provider
    outgoing = referral.direction == "outgoing"
    service_kind = codes.SERVICE_KINDS[referral.service_kind]
    title = f"{'Referral' if outgoing else 'Referral received'} {referral.number}: {service_kind}"

    pdf = _Letter(format="Letter", unit="mm")
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=MARGIN_MM)
    pdf.set_title(latin1(f"Referral {referral.number} · {clinic_name}"))
    pdf.set_author(latin1(clinic_name))
    pdf.set_creator("Carebridge")
    pdf.set_lang("en")
    pdf.add_page()

    pdf.para(clinic_name, "B", 10)
    pdf.set_font("helvetica", "B", 16)
    pdf.multi_cell(0, 8, latin1(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.para(f"{format_day(printed)} · Urgency: {codes.URGENCIES[referral.urgency]}")

    pdf.heading("To" if outgoing else "From")
    first, *rest = _provider_lines(provider)
    pdf.para(first, "B")
    for line in rest:
        pdf.para(line)

    pdf.heading("Patient")
    pdf.para(f"{patient.given_names} {patient.family_name}", "B")
    pdf.para(f"Born {format_day(patient.birth_date)}, MRN {patient.mrn}")

    pdf.heading("Reason for referral")
    pdf.para(referral.reason)

    pdf.heading("Diagnoses (ICD-10-CM)")
    if referral.diagnoses:
        with pdf.table(col_widths=(25, 145), text_align="LEFT", line_height=LINE_MM + 1) as table:
            header = table.row()
            header.cell("Code")
            header.cell("Description")
            for diagnosis in referral.diagnoses:
                row = table.row()
                row.cell(latin1(diagnosis.code))
                row.cell(latin1(diagnosis.display))
    else:
        pdf.para("None given.")

    pdf.ln(6)
    quoting = f" quoting referral {referral.number}" if outgoing else ""
    contact = f"{referrer}, " if referrer else ""
    pdf.para(
        f"Please send the visit report to {clinic_name}{quoting}. Questions about this "
        f"referral: {contact}care coordination, {clinic_name}."
    )
    sent = format_when(referral.sent_at or referral.created_at, zone)
    pdf.para(f"Referred by {referrer or 'the care team'} on {sent}.", size=9)
    return bytes(pdf.output())
