"""The certificate as a PDF: fpdf2 with HarfBuzz shaping, so Arabic joins and runs right to left.

The fonts ship with the package (Noto Sans and Noto Naskh Arabic, SIL Open Font
License, ``bot/assets/fonts``): the document looks the same on every machine and
needs nothing installed. fpdf2 embeds only the glyphs used.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import segno
from fpdf import FPDF

from bot.content import LocalizedText
from bot.content.certificate_texts import CertificateTexts, Signatory
from bot.i18n import Translator, _
from bot.services.certification import deep_link, display_code

FONTS = Path(__file__).resolve().parent.parent / "assets" / "fonts"
_LATIN, _ARABIC = "relais-sans", "relais-naskh"
_INK = (33, 37, 41)
_MUTED = (108, 117, 125)
_ACCENT = (0, 75, 135)


@dataclass(frozen=True, slots=True)
class CertificateData:
    """Everything printed on one certificate."""

    level: str
    holder: str
    code: str
    issued_at: datetime
    bot_username: str
    # The public verification page, in webhook mode.
    web_url: str | None = None


class _Document(FPDF):
    """An A4 landscape page with the shipped fonts and text shaping on."""

    def __init__(self) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.set_auto_page_break(False)
        self.set_margins(20, 16, 20)
        for style, suffix in (("", "Regular"), ("B", "Bold")):
            self.add_font(_LATIN, style, str(FONTS / f"NotoSans-{suffix}.ttf"))
            self.add_font(_ARABIC, style, str(FONTS / f"NotoNaskhArabic-{suffix}.ttf"))
        # Latin first; any glyph it lacks (Arabic letters) comes from Naskh.
        self.set_fallback_fonts([_ARABIC], exact_match=False)
        self.set_text_shaping(True)

    def use(self, size: float, bold: bool = False, color: tuple[int, int, int] = _INK) -> None:
        """Select the font for the next line.

        fpdf2 (2.8) can leave a line after a fallback-font line with no font selected in
        the page's content stream; selecting another family first forces a fresh
        selection that every viewer sees.
        """
        style = "B" if bold else ""
        self.set_font(_ARABIC, style, size)
        self.set_font(_LATIN, style, size)
        self.set_text_color(*color)

    def centred(
        self,
        text: str,
        size: float,
        *,
        bold: bool = False,
        gap: float = 0.45,
        color: tuple[int, int, int] = _INK,
    ) -> None:
        self.use(size, bold, color)
        self.multi_cell(0, size * gap, text, align="C", new_x="LMARGIN", new_y="NEXT")


# Long texts (many objectives, several languages) are set smaller rather than run into
# the signatures: each try scales every size down.
_SCALES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)
_BODY_BOTTOM = 54.0  # mm above the page's bottom edge: the signatures and QR code start there


def render(
    texts: CertificateTexts,
    data: CertificateData,
    *,
    translators: dict[str, Translator],
    folder: Path,
) -> bytes:
    """The certificate's PDF bytes; ``translators`` holds one per document language."""
    for scale in _SCALES:
        pdf = _build(texts, data, translators, scale)
        if pdf.get_y() <= pdf.h - _BODY_BOTTOM:
            break
    _signatories(pdf, texts.level(data.level).signatories, translators[texts.languages[0]], folder)
    _verification(pdf, data, translators[texts.languages[0]])
    return bytes(pdf.output())


def _build(
    texts: CertificateTexts,
    data: CertificateData,
    translators: dict[str, Translator],
    k: float,
) -> _Document:
    """The page down to the date of issue, every size multiplied by ``k``."""
    level = texts.level(data.level)
    languages = texts.languages
    main, others = translators[languages[0]], [translators[loc] for loc in languages[1:]]
    pdf = _Document()
    pdf.set_title(level.title.get(main.locale))
    pdf.set_author(texts.issuer.get(main.locale))
    pdf.set_creator("Relais")
    pdf.set_lang(main.locale)
    pdf.add_page()
    pdf.set_draw_color(*_ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, pdf.w - 16, pdf.h - 16)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, pdf.w - 22, pdf.h - 22)

    def under(text: str, size: float, ratio: float) -> None:
        """A translation beneath the main text, smaller and muted."""
        pdf.use(size * ratio, color=_MUTED)
        pdf.multi_cell(0, size * ratio * 0.5, text, align="C", new_x="LMARGIN", new_y="NEXT")

    def both(
        text: LocalizedText, size: float, bold: bool = False, color: tuple[int, int, int] = _INK
    ) -> None:
        pdf.centred(text.get(main.locale), size * k, bold=bold, color=color)
        for other in others:
            under(text.get(other.locale), size * k, 0.6)

    def label(message: str, size: float, **params: object) -> None:
        pdf.centred(main.gettext(message, **params), size * k)
        for other in others:
            under(other.gettext(message, **params), size * k, 0.7)

    pdf.set_y(20)
    both(texts.issuer, 12, color=_MUTED)
    pdf.ln(6 * k)
    both(level.title, 30, bold=True, color=_ACCENT)
    pdf.ln(4 * k)
    label(_("is awarded to"), 13)
    pdf.ln(2 * k)
    # The name on a line of its own: a right-to-left name is never mixed into Latin text.
    pdf.centred(data.holder, 26 * k, bold=True, gap=0.6)
    pdf.ln(3 * k)
    both(level.level, 12)
    pdf.ln(6 * k)
    both(level.activity.title, 16, bold=True, color=_ACCENT)
    pdf.ln(2 * k)
    label(_("Objectives"), 10)
    for objective in level.activity.objectives:
        both(objective, 10)
    pdf.ln(5 * k)
    hours = {
        tr.locale: tr.ngettext("%(n)d hour of learning", "%(n)d hours of learning", level.hours)
        for tr in (main, *others)
    }
    pdf.centred(hours[main.locale], 12 * k, bold=True)
    for other in others:
        under(hours[other.locale], 12 * k, 0.7)
    label(_("Issued on %(date)s"), 11, date=main.date(data.issued_at))
    return pdf


def _signatories(pdf: _Document, people: list[Signatory], t: Translator, folder: Path) -> None:
    """Side by side at the bottom right: signature image, a rule, the name and the function."""
    width = 62.0
    right = pdf.w - 20
    top = pdf.h - 52
    for index, person in enumerate(reversed(people)):
        x = right - (index + 1) * width - index * 6
        if person.signature is not None:
            pdf.image(str(folder / person.signature), x=x + 11, y=top, h=14, keep_aspect_ratio=True)
        pdf.set_draw_color(*_MUTED)
        pdf.line(x + 4, top + 16, x + width - 4, top + 16)
        pdf.set_xy(x, top + 17)
        pdf.use(10, bold=True)
        pdf.multi_cell(width, 5, person.name, align="C")
        pdf.set_x(x)
        pdf.use(8.5, color=_MUTED)
        pdf.multi_cell(width, 4.2, person.function.get(t.locale), align="C")


def _verification(pdf: _Document, data: CertificateData, t: Translator) -> None:
    """Bottom left: the QR code (the bot's verification link) and the code in clear."""
    link = deep_link(data.bot_username, data.code)
    qr = io.BytesIO()
    segno.make(link, error="m").save(qr, kind="png", scale=6, border=1)
    size, left, top = 30.0, 20.0, pdf.h - 50
    pdf.image(qr, x=left, y=top, w=size, h=size)
    pdf.set_xy(left + size + 3, top + 2)
    pdf.use(8.5, color=_MUTED)
    pdf.multi_cell(70, 4.2, t.gettext("Verification code"), new_x="LEFT", new_y="NEXT")
    pdf.use(11, bold=True)
    pdf.multi_cell(70, 5.5, display_code(data.code), new_x="LEFT", new_y="NEXT")
    pdf.use(7.5, color=_MUTED)
    lines = [t.gettext("Scan the code or open:"), link]
    if data.web_url:
        lines.append(data.web_url)
    pdf.multi_cell(95, 3.8, "\n".join(lines), new_x="LEFT", new_y="NEXT")


def file_name(level: str, code: str) -> str:
    """The document's name in the chat."""
    return f"certificate-{level}-{code[:4]}.pdf"
