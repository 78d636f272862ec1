"""/mydata: everything Relais stores about the participant asking, in their language."""

from __future__ import annotations

from babel import Locale

from bot.content import Content
from bot.i18n import Translator, escape
from bot.services.privacy import MyData
from bot.views.start import privacy_notice


def language_name(t: Translator, code: str) -> str:
    """A language as the reader calls it ("arabe" in French), from Babel's locale data."""
    return str(Locale.parse(t.locale).languages.get(code, code))


def cohort_name(t: Translator, content: Content, cohort_id: str) -> str:
    """The cohort's name in the reader's language (its id only if the content dropped it)."""
    cohort = content.programme.cohort(cohort_id)
    return cohort.name.get(t.locale) if cohort is not None else cohort_id


def stage_name(t: Translator, content: Content, kind: str, stage_id: str) -> str:
    """ "<instrument> · <stage>" in the reader's language, for answers to a stage."""
    instrument = content.instrument(kind)
    if instrument is None:
        return t.gettext("A questionnaire no longer in the programme")
    stage = instrument.stage(stage_id)
    title = instrument.title.get(t.locale)
    return title if stage is None else f"{title} · {stage.title.get(t.locale)}"


def mydata_text(t: Translator, content: Content, found: MyData, codes: list[str]) -> str:
    """Each piece of data held, named in the reader's language, then the privacy notice;
    ``codes``: certificates' codes."""
    none = t.gettext("none")
    language = found.participant.language
    lines = [
        t.gettext("<b>What Relais stores about you</b>"),
        t.gettext("Code: %(value)s", value=found.participant.code),
        t.gettext("Name: %(value)s", value=escape(found.participant.full_name)),
        t.gettext("E-mail: %(value)s", value=escape(found.participant.email or none)),
        t.gettext("Identifier: %(value)s", value=escape(found.participant.external_id or none)),
        t.gettext(
            "Cohort: %(cohort)s",
            cohort=escape(cohort_name(t, content, found.participant.cohort)),
        ),
        t.gettext("Agency: %(value)s", value=escape(found.participant.agency or none)),
        t.gettext("Region: %(value)s", value=escape(found.participant.region or none)),
        t.gettext("Language: %(value)s", value=language_name(t, language) if language else none),
    ]
    if found.binding is not None:
        lines.append(
            t.gettext(
                "Telegram account %(id)s, linked on %(when)s",
                id=found.binding.user_id,
                when=t.moment(found.binding.bound_at),
            )
        )
    lines.append("")
    if found.answers:
        for (kind, stage_id), count in found.answers.items():
            what = escape(stage_name(t, content, kind, stage_id))
            lines.append(
                t.ngettext("%(what)s: %(n)d answer", "%(what)s: %(n)d answers", count, what=what)
            )
    else:
        lines.append(t.gettext("No answers yet."))
    if found.attendance:
        present = sum(found.attendance.values())
        lines.append(
            # No noun beside a count: it agrees with "present" in French and with the total
            # in English, which one plural form cannot both follow.
            t.gettext(
                "Sessions attended: %(present)d of %(total)d",
                present=present,
                total=len(found.attendance),
            )
        )
    if found.presence_records:
        lines.append(
            t.ngettext(
                "%(n)d attendance record (Zoom, check-in, e-campus)",
                "%(n)d attendance records (Zoom, check-ins, e-campus)",
                found.presence_records,
            )
        )
    if found.plan:
        lines.append(t.gettext("Action plan: %(value)s", value=escape(found.plan)))
    if codes:
        lines.append(
            t.ngettext(
                "%(n)d certificate, verification codes: %(codes)s",
                "%(n)d certificates, verification codes: %(codes)s",
                len(codes),
                codes=", ".join(codes),
            )
        )
    lines.append(
        t.ngettext(
            "%(n)d message sent to you by the bot",
            "%(n)d messages sent to you by the bot",
            found.messages,
        )
    )
    lines += ["", privacy_notice(t)]
    return "\n".join(lines)
