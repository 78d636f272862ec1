"""Certificates as people read them: the holder's lines in /me, the coordinators' queue,
the notices of an approval, the caption of the PDF and the answer to a verification."""

from __future__ import annotations

from bot import callbacks
from bot.i18n import Translator, escape
from bot.services.certificates import CertificateStatus, Level
from bot.services.certification import ApproveStatus, Candidate, Queue, Verdict, Verification
from bot.storage.certificates import Certificate
from bot.storage.repo import Participant
from bot.views.screen import Button

# A message lists at most this many people; the command line lists everyone.
SHOWN = 12
BUTTONS = 8
ButtonRow = list[Button]


def level_name(t: Translator, level: str) -> str:
    """The certificate's name in the reader's language, as /me words it."""
    if level == "success":
        return t.gettext("Certificate of achievement")
    return t.gettext("Certificate of participation")


def missing_parts(t: Translator, level: Level, *, own: bool) -> list[str]:
    """What a level still lacks, a few words each: told to the participant (``own``) or
    to the coordinators."""
    missing: list[str] = []
    sessions = len(level.absent) + len(level.unrecorded)
    if sessions:
        missing.append(
            t.ngettext("attendance at %(n)d session", "attendance at %(n)d sessions", sessions)
        )
    if level.quiz_percent is None:
        missing.append(
            t.gettext("the final quiz (at least %(required)d %%)", required=level.quiz_required)
        )
    elif level.quiz_missing:
        score = round(level.quiz_percent)
        missing.append(
            t.gettext(
                "a final quiz score of %(required)d %% (yours: %(score)d %%)",
                required=level.quiz_required,
                score=score,
            )
            if own
            else t.gettext(
                "a final quiz score of %(required)d %% (theirs: %(score)d %%)",
                required=level.quiz_required,
                score=score,
            )
        )
    if level.plan_missing:
        missing.append(
            t.gettext("your action plan (/plan)") if own else t.gettext("the action plan")
        )
    return missing


def missing_text(t: Translator, level: Level) -> str:
    """What one level still lacks, in a few words, for the coordinators."""
    return t.list(missing_parts(t, level, own=False))


def status_text(t: Translator, status: CertificateStatus) -> str:
    """The certificate part of /me: one line per certificate, obtained or what is missing."""
    lines = [t.gettext("<b>Certificates</b>")]
    for name, level in (
        (t.gettext("Certificate of participation"), status.participation),
        (t.gettext("Certificate of achievement"), status.success),
    ):
        if level.obtained:
            lines.append(t.gettext("✅ %(name)s: obtained", name=name))
            continue
        missing = missing_parts(t, level, own=True)
        lines.append(t.gettext("⏳ %(name)s: missing %(what)s", name=name, what=t.list(missing)))
        for session in level.absent:
            lines.append(
                t.gettext("• absent from %(session)s", session=escape(session.title.get(t.locale)))
            )
    return "\n".join(lines)


def _name(candidate: Candidate) -> str:
    person = candidate.participant
    return f"{person.code} · {escape(person.full_name)} · {escape(person.cohort)}"


def queue_screen(t: Translator, found: Queue) -> tuple[str, list[ButtonRow]]:
    """The /certificates message and its buttons, from the queue as it stands now."""
    ready = found.ready
    lines = [t.gettext("<b>Certificates</b>"), ""]
    lines.append(t.ngettext("Ready for approval: %(n)d", "Ready for approval: %(n)d", len(ready)))
    for candidate, level in ready[:SHOWN]:
        lines.append(f"• {_name(candidate)} — {escape(level_name(t, level))}")
    if len(ready) > SHOWN:
        lines.append(t.gettext("… and %(n)d more.", n=len(ready) - SHOWN))
    quiz_open = [
        c
        for c in found.candidates
        if not c.quiz_closed and (c.status.participation.obtained or c.status.success.obtained)
    ]
    if quiz_open:
        lines.append(
            t.ngettext(
                "%(n)d more will be ready when the final quiz closes for their cohort.",
                "%(n)d more will be ready when the final quiz closes for their cohort.",
                len(quiz_open),
            )
        )
    waiting = [c for c in found.waiting if c not in quiz_open]
    lines.append("")
    lines.append(t.ngettext("Missing something: %(n)d", "Missing something: %(n)d", len(waiting)))
    for candidate in waiting[:SHOWN]:
        lines.append(
            t.gettext(
                "• %(who)s: %(missing)s",
                who=_name(candidate),
                missing=missing_text(t, candidate.status.participation),
            )
        )
    if len(waiting) > SHOWN:
        lines.append(t.gettext("… and %(n)d more.", n=len(waiting) - SHOWN))
    issued = found.issued
    lines.append("")
    lines.append(t.ngettext("Issued: %(n)d", "Issued: %(n)d", len(issued)))
    lines.append(t.gettext("Everyone, with what is missing: relais certificates list"))
    rows = [
        [
            Button(
                t.gettext(
                    "✅ %(name)s · %(level)s",
                    name=candidate.participant.full_name[:24],
                    level=level_name(t, level),
                ),
                callbacks.cert_approve(candidate.participant.id, level),
            )
        ]
        for candidate, level in ready[:BUTTONS]
    ]
    if len(ready) > 1:
        rows.append(
            [
                Button(
                    t.gettext("✅ Approve all (%(n)d)", n=len(ready)),
                    callbacks.cert_approve_all(found.fingerprint),
                )
            ]
        )
    return "\n".join(lines), rows


def issued_text(t: Translator, issued: list[Certificate]) -> str:
    """The /me lines about certificates already issued."""
    lines = [t.gettext("<b>Your certificates</b>")]
    for cert in issued:
        name = escape(level_name(t, cert.level))
        if cert.revoked:
            lines.append(t.gettext("❌ %(name)s: revoked", name=name))
        else:
            lines.append(
                t.gettext(
                    "🎓 %(name)s, issued on %(date)s", name=name, date=t.date(cert.approved_at)
                )
            )
    return "\n".join(lines)


def again_label(t: Translator, cert: Certificate) -> str:
    """The /me button that sends a certificate again."""
    return t.gettext("📄 Receive again: %(name)s", name=level_name(t, cert.level))


def approve_notice(t: Translator, status: ApproveStatus) -> str:
    """What the coordinator is told after pressing an approve button."""
    notices = {
        ApproveStatus.APPROVED: t.gettext("Approved: the participant receives it now."),
        ApproveStatus.ALREADY: t.gettext("Already issued: nothing was done."),
        ApproveStatus.NOT_READY: t.gettext("No longer ready: nothing was done."),
        ApproveStatus.UNKNOWN: t.gettext("This button is no longer valid."),
        ApproveStatus.NO_RULES: t.gettext("This programme issues no certificates."),
    }
    return notices[status]


def approve_all_notice(t: Translator, approved: int | None) -> str:
    """What the coordinator is told after Approve all (None: the list had changed)."""
    if approved is None:
        return t.gettext("The list has changed since it was shown: here it is again.")
    return t.ngettext("%(n)d approved.", "%(n)d approved.", approved)


def no_certificates_text(t: Translator) -> str:
    """The programme's content declares no certificate."""
    return t.gettext("This programme issues no certificates.")


def congratulation(t: Translator, participant: Participant, level: str) -> str:
    """The caption of the document."""
    return t.gettext(
        "🎓 Congratulations, %(name)s! Here is your %(certificate)s. Anyone can check it with "
        "its QR code. You can get it again at any time from /me.",
        name=escape(participant.full_name),
        certificate=level_name(t, level).lower() if t.locale != "ar" else level_name(t, level),
    )


def verification_text(t: Translator, result: Verification) -> str:
    """The answer to a verification, as HTML-safe text for the chat and the public page."""
    if result.verdict is Verdict.LIMITED:
        return t.gettext(
            "Too many unknown codes were tried from here. Please try again in an hour."
        )
    if result.verdict is Verdict.UNKNOWN:
        return t.gettext(
            "No certificate has this code. Check that it was typed exactly as printed."
        )
    assert result.level is not None
    assert result.issued_at is not None
    title = result.title.get(t.locale) if result.title else level_name(t, result.level)
    lines = [
        t.gettext("✅ Valid certificate")
        if result.verdict is Verdict.VALID
        else t.gettext("❌ This certificate has been revoked"),
        t.gettext("Holder: %(initials)s", initials=escape(result.initials or "?")),
        t.gettext("Certificate: %(title)s", title=escape(title)),
        t.gettext(
            "Course: %(course)s",
            course=escape(result.course.get(t.locale) if result.course else ""),
        ),
        t.gettext("Issued on: %(date)s", date=t.date(result.issued_at)),
    ]
    if result.revoked_at is not None:
        lines.append(t.gettext("Revoked on: %(date)s", date=t.date(result.revoked_at)))
    return "\n".join(lines)
