"""/start: the greeting after an enrolment or for someone known, and why a link did not work."""

from __future__ import annotations

from bot.i18n import Translator, escape
from bot.services.access import Identity
from bot.services.invites import RedeemStatus, Redemption
from bot.storage.repo import Role
from bot.views.common import stranger_text


def refusal_text(t: Translator, status: RedeemStatus) -> str:
    """Why an invite link did not work, and what to do."""
    ask = t.gettext("Please ask your coordinator for a new invitation link.")
    if status is RedeemStatus.EXPIRED:
        return t.gettext("This invitation link has expired.") + " " + ask
    if status is RedeemStatus.USED:
        return t.gettext("This invitation link has already been used.") + " " + ask
    if status is RedeemStatus.ACCOUNT_TAKEN:
        return t.gettext(
            "Your Telegram account is already enrolled for another participant, so this link was "
            "not used. If this is a mistake, contact your coordinator."
        )
    if status is RedeemStatus.SUPERVISOR_TAKEN:
        return t.gettext(
            "This supervisor is already enrolled with another Telegram account. If you changed "
            "account, contact your coordinator."
        )
    if status is RedeemStatus.PARTICIPANT_TAKEN:
        return t.gettext(
            "This participant is already enrolled with another Telegram account. If you changed "
            "account, contact your coordinator."
        )
    return t.gettext("This invitation link is not valid.") + " " + ask


def role_name(t: Translator, role: Role) -> str:
    """A staff role in the reader's language."""
    names = {
        Role.COORDINATOR: t.gettext("coordinator"),
        Role.EVALUATOR: t.gettext("evaluator"),
        Role.ADMIN: t.gettext("administrator"),
    }
    return names[role]


def roles_text(t: Translator, identity: Identity) -> str:
    """The user's staff roles, comma-separated, in their language."""
    return ", ".join(role_name(t, role) for role in sorted(identity.roles))


def welcome_text(
    t: Translator,
    title: str,
    identity: Identity,
    redemption: Redemption | None,
    open_now: bool = False,
) -> str:
    """The greeting after an enrolment, or for a returning user; ``open_now``: a message
    offering what a participant can answer now follows it."""
    if redemption is not None and redemption.status is RedeemStatus.SUPERVISOR_ENROLLED:
        return t.gettext(
            "Welcome! You are enrolled as a line manager for <b>%(title)s</b>.\n\n"
            "Six months after the training, you will receive here a short questionnaire about "
            "each person you supervise. You will not see their answers, scores or "
            "certificates, and your answers are only published as overall results.",
            title=escape(title),
        )
    if redemption is not None and redemption.status is RedeemStatus.STAFF_GRANTED:
        return t.gettext(
            "Welcome! You now have the role of %(role)s for <b>%(title)s</b>.\n\nSend /help to "
            "see what you can do.",
            role=role_name(t, redemption.role or Role.COORDINATOR),
            title=escape(title),
        )
    if identity.participant is not None:
        name = escape(identity.participant.full_name)
        if redemption is not None and redemption.status is RedeemStatus.ENROLLED:
            greeting = t.gettext(
                "Welcome, %(name)s! Your enrolment in <b>%(title)s</b> is confirmed.\n\n"
                "Through this chat you will receive the session reminders, the short knowledge "
                "quizzes and the questionnaires. Your individual answers stay confidential.",
                name=name,
                title=escape(title),
            )
            return greeting + "\n\n" + next_step_text(t, open_now) + "\n\n" + privacy_notice(t)
        greeting = t.gettext(
            "Hello %(name)s, you are already enrolled in <b>%(title)s</b>.",
            name=name,
            title=escape(title),
        )
        return greeting + "\n\n" + next_step_text(t, open_now)
    if identity.is_staff:
        return t.gettext(
            "Hello! You are registered as %(roles)s for <b>%(title)s</b>. Send /help to see what "
            "you can do.",
            roles=roles_text(t, identity),
            title=escape(title),
        )
    return stranger_text(t, identity)


def next_step_text(t: Translator, open_now: bool) -> str:
    """What to do now: the questionnaire offered below, or wait for the bot to write."""
    if open_now:
        return t.gettext(
            "What you can answer now is just below: one tap to begin. /me shows your cohort and "
            "your next sessions, /language changes the language, /help lists the commands."
        )
    return t.gettext(
        "Nothing to answer for now: I will write to you as soon as a questionnaire opens. /me "
        "shows your cohort and your next sessions, /language changes the language, /help lists "
        "the commands."
    )


def privacy_notice(t: Translator) -> str:
    """What is stored and why, shown at enrolment in the participant's language."""
    return t.gettext(
        "<i>Your data: your name, e-mail, cohort and Telegram account are kept to run the "
        "programme; your answers are analysed under a code, never by name, and only "
        "aggregates are shared with your employer. Send /mydata to see what is stored, and "
        "ask your coordinator to have it erased.</i>"
    )
