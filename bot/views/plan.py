"""The action plan: how to send it, the receipt, and the coordinators' list."""

from __future__ import annotations

from bot.i18n import Translator, escape
from bot.services.plans import MAX_BYTES, PlanOutcome, PlanStatus, Submission
from bot.storage.progress import ActionPlan

_MB = MAX_BYTES // (1024 * 1024)


def how_to_text(t: Translator, plan: ActionPlan | None) -> str:
    """/plan: how to send the plan, and the one received so far if any."""
    lines = [
        t.gettext(
            "Send your individual action plan here as a document (PDF, DOCX or ODT, "
            "%(mb)d MB at most): tap the paperclip, then File.",
            mb=_MB,
        )
    ]
    if plan is not None:
        lines.append("")
        lines.append(
            t.gettext(
                "Received: %(name)s, %(when)s. A new document replaces it.",
                name=escape(plan.file_name or "?"),
                when=t.moment(plan.submitted_at),
            )
        )
    return "\n".join(lines)


def not_for_staff_text(t: Translator) -> str:
    """Someone who is not a participant sent /plan or a document."""
    return t.gettext("Only participants send an action plan. Coordinators use /plans.")


def receipt_text(t: Translator, outcome: PlanOutcome) -> str:
    """What a participant is told after sending a document."""
    if outcome.status is PlanStatus.TOO_BIG:
        return t.gettext("This file is larger than %(mb)d MB; nothing was stored.", mb=_MB)
    if outcome.status is PlanStatus.ACCEPTED and outcome.plan is not None:
        return t.gettext(
            "Thank you: your action plan %(name)s was received on %(when)s.",
            name=escape(outcome.plan.file_name or "?"),
            when=t.moment(outcome.plan.submitted_at),
        )
    return t.gettext("This file is not a PDF, DOCX or ODT document; nothing was stored.")


def no_plan_text(t: Translator, code: str) -> str:
    """/plans CODE for someone who sent none (or whose document was erased)."""
    return t.gettext("No action plan from %(code)s.", code=escape(code))


def caption(found: Submission) -> str:
    """The caption of a plan sent to a coordinator: whose it is."""
    return f"{found.participant.code} · {escape(found.participant.full_name)}"


def list_text(t: Translator, received: list[Submission]) -> str:
    """/plans: every plan received, one line each, and how to get one."""
    if not received:
        return t.gettext("No action plan received yet.")
    lines = [
        t.ngettext("%(n)d action plan received:", "%(n)d action plans received:", len(received))
    ]
    for item in received:
        lines.append(
            f"{item.participant.code} · {escape(item.participant.full_name)} · "
            f"{item.participant.cohort} · {escape(item.plan.file_name or '?')} · "
            f"{t.short_datetime(item.plan.submitted_at)}"
        )
    lines.append("")
    lines.append(t.gettext("Send /plans followed by a code to get the document."))
    return "\n".join(lines)
