"""/mydata: what Relais stores about the participant asking."""

from __future__ import annotations

from telegram import Update

from bot.handlers.common import Context, access_text, caller, reply, runtime
from bot.handlers.start import privacy_notice
from bot.i18n import escape
from bot.services.certification import certificates_of, display_code
from bot.services.privacy import my_data


async def mydata(update: Update, context: Context) -> None:
    """Stores nothing; lists every piece of data held about the participant."""
    rt = runtime(context)
    who = await caller(update, context)
    t = who.t
    participant = who.identity.participant
    if participant is None:
        await reply(update, who, access_text(t))
        return
    found = await my_data(rt.db, participant)
    none = t.gettext("none")
    lines = [
        t.gettext("<b>What Relais stores about you</b>"),
        t.gettext("Code: %(value)s", value=participant.code),
        t.gettext("Name: %(value)s", value=escape(participant.full_name)),
        t.gettext("E-mail: %(value)s", value=escape(participant.email or none)),
        t.gettext("Identifier: %(value)s", value=escape(participant.external_id or none)),
        t.gettext("Cohort: %(cohort)s", cohort=escape(participant.cohort)),
        t.gettext("Agency: %(value)s", value=escape(participant.agency or none)),
        t.gettext("Region: %(value)s", value=escape(participant.region or none)),
        t.gettext("Language: %(value)s", value=participant.language or none),
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
        for key, count in found.answers.items():
            lines.append(
                t.ngettext(
                    "%(what)s: %(n)d answer", "%(what)s: %(n)d answers", count, what=escape(key)
                )
            )
    else:
        lines.append(t.gettext("No answers yet."))
    if found.attendance:
        present = sum(found.attendance.values())
        lines.append(
            t.gettext(
                "Attendance recorded: %(present)d of %(total)d sessions",
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
    issued = await certificates_of(rt.db, participant.id)
    if issued:
        lines.append(
            t.ngettext(
                "%(n)d certificate, verification codes: %(codes)s",
                "%(n)d certificates, verification codes: %(codes)s",
                len(issued),
                codes=", ".join(display_code(cert.code) for cert in issued),
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
    await reply(update, who, "\n".join(lines))
