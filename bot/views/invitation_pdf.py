"""The invitations as a PDF to print: one A4 page per participant, with the QR code.

The same fonts and HarfBuzz shaping as the certificates (``certificate_pdf``), so the
Arabic instructions join and run right to left on every machine.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import segno
from fpdf import FPDF

from bot.i18n import Translator, _
from bot.services.certificate_pdf import FONTS

_LATIN, _ARABIC = "relais-sans", "relais-naskh"
_INK = (33, 37, 41)
_MUTED = (108, 117, 125)
_ACCENT = (0, 75, 135)

# The two lines every page carries, in French and in Arabic.
INSTRUCTIONS = (
    _("Scan this QR code with your phone's camera, or open the link, then tap Start in Telegram."),
    _("This invitation is personal and works only once: keep it to yourself."),
)


@dataclass(frozen=True, slots=True)
class InvitationPage:
    """What one page shows."""

    full_name: str
    cohort: str
    link: str
    expires: str


class _Document(FPDF):
    """A4 portrait with the shipped fonts and text shaping on."""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_margins(20, 20, 20)
        for style, suffix in (("", "Regular"), ("B", "Bold")):
            self.add_font(_LATIN, style, str(FONTS / f"NotoSans-{suffix}.ttf"))
            self.add_font(_ARABIC, style, str(FONTS / f"NotoNaskhArabic-{suffix}.ttf"))
        self.set_fallback_fonts([_ARABIC], exact_match=False)
        self.set_text_shaping(True)

    def line_of(
        self, text: str, size: float, *, bold: bool = False, color: tuple[int, int, int] = _INK
    ) -> None:
        """A centred paragraph (see certificate_pdf: the double font selection is on purpose)."""
        style = "B" if bold else ""
        self.set_font(_ARABIC, style, size)
        self.set_font(_LATIN, style, size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")


def render(
    pages: Sequence[InvitationPage], *, title: str, french: Translator, arabic: Translator
) -> bytes:
    """The PDF's bytes: one page per invitation, ready to print or to send."""
    pdf = _Document()
    pdf.set_title(title)
    pdf.set_creator("Relais")
    pdf.set_lang("fr")
    for page in pages:
        pdf.add_page()
        pdf.set_y(22)
        pdf.line_of(title, 13, color=_MUTED)
        pdf.ln(10)
        pdf.line_of(page.full_name, 24, bold=True)
        pdf.ln(2)
        pdf.line_of(page.cohort, 14, color=_ACCENT)
        pdf.ln(8)
        qr = io.BytesIO()
        segno.make(page.link, error="m").save(qr, kind="png", scale=10, border=2)
        size = 90.0
        pdf.image(qr, x=(pdf.w - size) / 2, y=pdf.get_y(), w=size, h=size)
        pdf.set_y(pdf.get_y() + size + 6)
        pdf.line_of(page.link, 10)
        pdf.line_of(page.expires, 9, color=_MUTED)
        pdf.ln(10)
        for message in INSTRUCTIONS:
            pdf.line_of(french.gettext(message), 12)
        pdf.ln(4)
        for message in INSTRUCTIONS:
            pdf.line_of(arabic.gettext(message), 13)
    return bytes(pdf.output())
