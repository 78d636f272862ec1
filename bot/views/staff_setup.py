"""What coordinators and admins see while setting the programme up in the chat.

Roster by document, invitations, attendance by document and its review, staff roles:
texts and screens built from plain data (the handlers send them).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot import callbacks
from bot.content import Programme, Session
from bot.i18n import Translator, escape
from bot.services.attendance import ReviewItem
from bot.services.csvfile import RowProblem
from bot.services.roster import ImportReport, RosterPlan
from bot.services.staff import StaffMember
from bot.storage.repo import Participant, Role
from bot.views.screen import Button, Screen

# A refusal names every bad row, within one message.
MAX_PROBLEMS = 40


def cohort_name(programme: Programme, t: Translator, cohort_id: str) -> str:
    """A cohort's name in the reader's language (its id if the content no longer has it)."""
    cohort = programme.cohort(cohort_id)
    return cohort.name.get(t.locale) if cohort is not None else cohort_id


def problems_text(t: Translator, heading: str, problems: Sequence[RowProblem]) -> str:
    """A refusal: what was refused, then one line per bad row."""
    lines = [heading]
    lines += [f"• {escape(p.said_to(t))}" for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        rest = len(problems) - MAX_PROBLEMS
        lines.append(t.ngettext("… and %(n)d more problem.", "… and %(n)d more problems.", rest))
    return "\n".join(lines)


# --- roster ---


def roster_help(t: Translator) -> str:
    """What /roster says: how to send the roster."""
    return t.gettext(
        "Send the roster here as a document (CSV or XLSX, 5 MB at most): one row per "
        "participant, with the columns full_name and cohort, and external_id or email "
        "(optional: gender, agency, region, language). I check every row and show you what "
        "would change; nothing is imported before you confirm."
    )


def roster_refused(t: Translator, problems: Sequence[RowProblem]) -> str:
    """The roster has bad rows: every one named, nothing imported."""
    heading = t.ngettext(
        "The roster was refused, nothing was imported: %(n)d problem.",
        "The roster was refused, nothing was imported: %(n)d problems.",
        len(problems),
    )
    return problems_text(t, heading, problems)


def _counts(t: Translator, created: int, updated: int, unchanged: int) -> str:
    return t.gettext(
        "%(created)d new, %(updated)d updated, %(unchanged)d unchanged",
        created=created,
        updated=updated,
        unchanged=unchanged,
    )


def roster_summary(
    t: Translator, programme: Programme, plan: RosterPlan, file_name: str, nonce: str
) -> Screen:
    """What the import would do, by cohort, with Import and Cancel buttons."""
    report = plan.report
    lines = [
        t.gettext("<b>Roster %(file)s</b>", file=escape(file_name)),
        _counts(t, report.created, report.updated, report.unchanged) + ".",
        "",
    ]
    for cohort_id, (created, updated, unchanged) in plan.by_cohort.items():
        name = escape(cohort_name(programme, t, cohort_id))
        lines.append(f"• {name} · {_counts(t, created, updated, unchanged)}")
    lines.append("")
    lines.append(t.gettext("Nothing is written until you confirm."))
    buttons = (
        Button(t.gettext("Import"), callbacks.roster_choice(True, nonce)),
        Button(t.gettext("Cancel"), callbacks.roster_choice(False, nonce)),
    )
    return Screen("\n".join(lines), [list(buttons)])


def roster_imported(t: Translator, report: ImportReport) -> str:
    """After the confirmation."""
    return (
        t.gettext("Roster imported:")
        + " "
        + _counts(t, report.created, report.updated, report.unchanged)
        + ".\n"
        + t.gettext("The file was deleted. Next: /invites for the invitations to print.")
    )


def upload_cancelled(t: Translator) -> str:
    """After Cancel."""
    return t.gettext("Cancelled: nothing was imported, and the file was deleted.")


def upload_stale(t: Translator) -> str:
    """A confirmation button whose file is gone (used, cancelled, replaced, too old, forged)."""
    return t.gettext("This button is no longer valid: nothing was imported. Send the file again.")


# --- files in general ---


def file_refused(t: Translator, reason: str) -> str:
    """A file that is not one of the imports."""
    return t.gettext("This file was not imported: %(reason)s", reason=escape(reason))


def file_too_big(t: Translator, megabytes: int) -> str:
    """Over the size limit."""
    return t.gettext("This file is larger than %(mb)d MB; nothing was imported.", mb=megabytes)


def file_unknown(t: Translator) -> str:
    """A table whose header matches no import."""
    return t.gettext(
        "I do not recognise this table, nothing was imported. I accept: the roster (columns "
        "full_name and cohort), the attendance sheet (participant, session, attended) and "
        "Zoom's participant report (with Join Time and Leave Time)."
    )


# --- invitations ---


def invites_menu(t: Translator, programme: Programme, supervisors: int = 0) -> Screen:
    """/invites without a cohort: for whom? ``supervisors``: line managers not enrolled."""
    rows = [[Button(t.gettext("Everyone not yet enrolled"), callbacks.invites_choice(None))]]
    for cohort in programme.cohorts:
        rows.append([Button(cohort.name.get(t.locale), callbacks.invites_choice(cohort.id))])
    if supervisors:
        # A heading with its count, as "Everyone (n)": the noun does not follow the number.
        label = t.gettext("Line managers (%(n)d)", n=supervisors)
        rows.append([Button(label, callbacks.SUPERVISOR_INVITES_DATA)])
    return Screen(
        t.gettext(
            "Invitations: one new single-use link per participant not yet enrolled (their "
            "earlier links stop working). For whom?"
        ),
        rows,
    )


def invites_sent(t: Translator, count: int) -> str:
    """Under the PDF and the CSV."""
    return t.ngettext(
        "%(n)d invitation: the PDF to print (one page each) and the CSV. Earlier unused links "
        "no longer work. Keep these files private: each link enrols whoever opens it first.",
        "%(n)d invitations: the PDF to print (one page each) and the CSV. Earlier unused links "
        "no longer work. Keep these files private: each link enrols whoever opens it first.",
        count,
    )


def line_manager(t: Translator) -> str:
    """What a supervisor's invitation page says under their name."""
    return t.gettext("Line manager")


def no_invites(t: Translator) -> str:
    """Everyone (of the cohort) is enrolled already."""
    return t.gettext("Everyone is already enrolled: no invitation to issue.")


def unknown_cohort(t: Translator, programme: Programme) -> str:
    """/invites with a cohort that does not exist."""
    return t.gettext(
        "No such cohort. Cohorts: %(ids)s", ids=", ".join(c.id for c in programme.cohorts)
    )


def newlink_usage(t: Translator) -> str:
    """/newlink without a participant."""
    return t.gettext(
        "Usage: /newlink PARTICIPANT (code, external id or e-mail). The person's earlier "
        "links stop working."
    )


def newlink_unknown(t: Translator, key: str) -> str:
    """/newlink for nobody."""
    return t.gettext("No participant %(key)s in the roster.", key=escape(key))


def newlink_enrolled(t: Translator, participant: Participant) -> str:
    """/newlink for someone already enrolled."""
    return t.gettext(
        "%(name)s (%(code)s) is already enrolled: no new link is needed.",
        name=escape(participant.full_name),
        code=participant.code,
    )


def newlink_sent(t: Translator, participant: Participant, link: str, until: str) -> str:
    """The caption of a single new invitation."""
    return t.gettext(
        "New link for %(name)s (%(code)s), valid until %(until)s; the earlier ones no longer "
        "work:\n%(link)s",
        name=escape(participant.full_name),
        code=participant.code,
        until=until,
        link=escape(link),
    )


# --- attendance ---


def zoom_sessions(programme: Programme) -> list[Session]:
    """The sessions a Zoom report can be for: those with an online link."""
    return [s for s in programme.all_sessions() if s.link]


def zoom_which_session(t: Translator, programme: Programme, nonce: str) -> Screen:
    """A Zoom report was sent without a session: which one?"""
    rows = [
        [Button(f"{t.short_datetime(s.start_utc)} · {s.id}", callbacks.zoom_session(nonce, s.id))]
        for s in zoom_sessions(programme)
        if len(s.id) <= callbacks.SESSION_ID_MAX
    ]
    return Screen(t.gettext("A Zoom participant report. For which session?"), rows)


def attendance_refused(t: Translator, problems: Sequence[RowProblem]) -> str:
    """A refused attendance file."""
    heading = t.ngettext(
        "The attendance file was refused, nothing was recorded: %(n)d problem.",
        "The attendance file was refused, nothing was recorded: %(n)d problems.",
        len(problems),
    )
    return problems_text(t, heading, problems)


def attendance_recorded(t: Translator, count: int) -> str:
    """After the yes/no sheet."""
    return t.ngettext(
        "%(n)d attendance record imported.", "%(n)d attendance records imported.", count
    )


def zoom_recorded(
    t: Translator, session: Session, visits: int, added: int, matched: int, to_review: int
) -> str:
    """After a Zoom report."""
    text = t.gettext(
        "Zoom report for %(session)s: %(visits)d rows read, %(added)d new; %(matched)d "
        "participants matched.",
        session=escape(session.title.get(t.locale)),
        visits=visits,
        added=added,
        matched=matched,
    )
    if to_review:
        text += "\n" + t.ngettext(
            "%(n)d person could not be matched: decide below.",
            "%(n)d people could not be matched: decide below, one at a time.",
            to_review,
        )
    return text


def review_screen(
    t: Translator,
    item: ReviewItem,
    person_hash: str,
    candidates: Sequence[Participant],
    remaining: int,
) -> Screen:
    """One unmatched person of a report: who is it? Closest names first, or a guest."""
    email = f" &lt;{escape(item.email)}&gt;" if item.email else ""
    text = t.gettext(
        "<b>To review</b> (%(remaining)d left) · %(where)s\n%(name)s%(email)s: %(reason)s. "
        "Who is it?",
        remaining=remaining,
        where=escape(item.where),
        name=escape(item.name),
        email=email,
        reason=escape(item.reason),
    )
    rows: list[tuple[Button, ...]] = [
        (Button(f"{p.full_name} · {p.code}", callbacks.review_choice(person_hash, p.id)),)
        for p in candidates
    ]
    rows.append(
        (
            Button(t.gettext("A guest: ignore"), callbacks.review_choice(person_hash, None)),
            Button(t.gettext("Later"), callbacks.review_choice(person_hash, None, skip=True)),
        )
    )
    if not candidates:
        text += "\n" + t.gettext(
            "No close name in the roster: if this is a guest, ignore it; else decide later."
        )
    return Screen(text, [list(r) for r in rows])


def review_done(t: Translator) -> str:
    """Nothing left to review."""
    return t.gettext("Nothing to review: every row is matched.")


def review_later(t: Translator) -> str:
    """The last unmatched person, left for later."""
    return t.gettext("Left for later: /review shows it again.")


def review_decided(t: Translator, name: str, participant: Participant | None) -> str:
    """What a review button recorded."""
    if participant is None:
        return t.gettext("%(name)s: ignored (a guest).", name=escape(name))
    return t.gettext(
        "%(name)s is %(who)s (%(code)s): recorded.",
        name=escape(name),
        who=escape(participant.full_name),
        code=participant.code,
    )


# --- staff ---


def role_name(t: Translator, role: Role) -> str:
    """A role in the reader's language."""
    return {
        Role.COORDINATOR: t.gettext("Coordinator"),
        Role.EVALUATOR: t.gettext("Evaluator"),
        Role.ADMIN: t.gettext("Administrator"),
    }[role]


def staff_screen(t: Translator, members: Sequence[StaffMember]) -> Screen:
    """/staff: everyone's roles, a Revoke button each, and the two invite buttons."""
    lines = [t.gettext("<b>Staff</b>")]
    rows: list[tuple[Button, ...]] = []
    for m in members:
        name = escape(m.display_name or "?")
        role = role_name(t, m.role)
        if m.from_settings:
            lines.append(
                f"• {m.user_id} · {role} · " + t.gettext("(server settings, RELAIS_ADMIN_IDS)")
            )
            continue
        lines.append(f"• {name} · {role} · {m.user_id}")
        label = t.gettext("Revoke: %(name)s, %(role)s", name=m.display_name or m.user_id, role=role)
        rows.append((Button(label, callbacks.staff_revoke(m.user_id, m.role.value)),))
    rows.append(
        (
            Button(t.gettext("Invite a coordinator"), callbacks.staff_invite("coordinator")),
            Button(t.gettext("Invite an evaluator"), callbacks.staff_invite("evaluator")),
        )
    )
    return Screen("\n".join(lines), [list(r) for r in rows])


def staff_invite_text(t: Translator, role: Role, link: str, until: str) -> str:
    """The caption of a new staff link."""
    return t.gettext(
        "Single-use link for a new staff member (%(role)s), valid until %(until)s. Send it to "
        "that person only: whoever opens it first gets the role.\n%(link)s",
        role=role_name(t, role),
        until=until,
        link=escape(link),
    )


def staff_revoked(t: Translator, user: str, role: Role) -> str:
    """After Revoke."""
    return t.gettext(
        "%(user)s no longer has the role %(role)s.", user=escape(user), role=role_name(t, role)
    )


def button_stale(t: Translator) -> str:
    """A staff button that no longer applies."""
    return t.gettext("This button is no longer valid.")
