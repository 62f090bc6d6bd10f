"""A letter to a patient or a family member as a PDF: the same content as the printable page
(``communications/letter.html``) on a US Letter page, made with fpdf2 the way the referral
letter is (``referrals.letter_pdf``: Helvetica, Latin-1; Spanish accents are Latin-1 and
print as written)."""

from __future__ import annotations

from datetime import date

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from carebridge.communications.models import PatientCommunication
from carebridge.communications.service import format_date
from carebridge.referrals.letter_pdf import LINE_MM, MARGIN_MM, latin1


def render_letter(
    letter: PatientCommunication, *, clinic_name: str, clinic_phone: str, printed: date
) -> bytes:
    """The PDF bytes of ``letter`` (a communication on the letter channel)."""
    pdf = FPDF(format="Letter", unit="mm")
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(auto=True, margin=MARGIN_MM)
    pdf.set_title(latin1(f"{letter.subject or 'Letter'} · {clinic_name}"))
    pdf.set_author(latin1(clinic_name))
    pdf.set_creator("Carebridge")
    pdf.set_lang(letter.language)
    pdf.add_page()

    def para(text: str, style: str = "", size: float = 11) -> None:
        pdf.set_font("helvetica", style, size)
        pdf.multi_cell(0, LINE_MM, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    para(clinic_name, "B", 12)
    para(f"Phone {clinic_phone}", size=10)
    pdf.ln(8)
    para(format_date(printed, letter.language))
    pdf.ln(6)
    para(letter.recipient_name, "B")
    for line in letter.address.splitlines():
        para(line)
    pdf.ln(8)
    if letter.subject:
        para(letter.subject, "B", 13)
        pdf.ln(3)
    for block in letter.body.split("\n\n"):
        para(block)
        pdf.ln(3)
    return bytes(pdf.output())
