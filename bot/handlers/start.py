"""/start: redeem an invite from a deep link, or greet someone already known."""

from __future__ import annotations

from telegram import Update

from bot.handlers import checkin
from bot.handlers.certificates import verify_link
from bot.handlers.common import Caller, Context, access_text, caller, reply, runtime
from bot.handlers.menus import set_staff_menu
from bot.i18n import Translator, escape
from bot.services import checkin as checkin_service
from bot.services.access import Identity
from bot.services.certification import is_verification
from bot.services.invites import RedeemStatus, Redemption, redeem
from bot.services.text import clean_text
from bot.storage.repo import Role


async def start(update: Update, context: Context) -> None:
    """Redeems the invite token in the /start payload (binding the account or granting a role),
    then greets the user by name; asks nothing."""
    rt = runtime(context)
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    if context.args and context.args[0].startswith(checkin_service.PREFIX):
        # A check-in QR code scanned at the venue, not an invitation.
        await checkin.scan(update, context)
        return
    redemption: Redemption | None = None
    if context.args and is_verification(context.args[0]):
        # A certificate's QR code: anyone may check it, enrolled or not.
        await verify_link(update, context, context.args[0])
        return
    if context.args:
        redemption = await redeem(
            rt.db,
            token=context.args[0],
            user_id=user.id,
            chat_id=chat.id,
            language_code=user.language_code,
            default_locale=rt.settings.default_locale,
            display_name=clean_text(user.full_name),
            clock=rt.clock,
        )
    who = await caller(update, context)
    if redemption is not None and redemption.status not in _WELCOME:
        await reply(update, who, refusal_text(who.t, redemption.status))
        return
    if (redemption is not None and redemption.status is RedeemStatus.STAFF_GRANTED) or (
        who.identity.is_staff and not who.identity.is_participant
    ):
        await set_staff_menu(context.bot, who.chat_id, who.identity, who.t)
    await reply(
        update, who, welcome_text(rt.content.programme.title.get(who.t.locale), who, redemption)
    )


_WELCOME = {RedeemStatus.ENROLLED, RedeemStatus.STAFF_GRANTED, RedeemStatus.ALREADY_ENROLLED}


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
    if status is RedeemStatus.PARTICIPANT_TAKEN:
        return t.gettext(
            "This participant is already enrolled with another Telegram account. If you changed "
            "account, contact your coordinator."
        )
    return t.gettext("This invitation link is not valid.") + " " + ask


def _role_name(t: Translator, role: Role) -> str:
    names = {
        Role.COORDINATOR: t.gettext("coordinator"),
        Role.EVALUATOR: t.gettext("evaluator"),
        Role.ADMIN: t.gettext("administrator"),
    }
    return names[role]


def roles_text(t: Translator, identity: Identity) -> str:
    """The user's staff roles, comma-separated, in their language."""
    return ", ".join(_role_name(t, role) for role in sorted(identity.roles))


def welcome_text(title: str, who: Caller, redemption: Redemption | None) -> str:
    """The greeting after an enrolment, or for a returning user."""
    t, identity = who.t, who.identity
    if redemption is not None and redemption.status is RedeemStatus.STAFF_GRANTED:
        return t.gettext(
            "Welcome! You now have the role of %(role)s for <b>%(title)s</b>.\n\nSend /help to "
            "see what you can do.",
            role=_role_name(t, redemption.role or Role.COORDINATOR),
            title=escape(title),
        )
    if identity.participant is not None:
        name = escape(identity.participant.full_name)
        if redemption is not None and redemption.status is RedeemStatus.ENROLLED:
            return (
                t.gettext(
                    "Welcome, %(name)s! Your enrolment in <b>%(title)s</b> is confirmed.\n\n"
                    "Through this chat you will receive the session reminders, the short knowledge "
                    "quizzes and the questionnaires. Your individual answers stay confidential.\n\n"
                    "Send /me to see your cohort and your next sessions, /language to change the "
                    "language, /help for help.",
                    name=name,
                    title=escape(title),
                )
                + "\n\n"
                + privacy_notice(t)
            )
        return t.gettext(
            "Hello %(name)s, you are already enrolled in <b>%(title)s</b>.\n\nSend /me to see "
            "your next sessions or /help for help.",
            name=name,
            title=escape(title),
        )
    if identity.is_staff:
        return t.gettext(
            "Hello! You are registered as %(roles)s for <b>%(title)s</b>. Send /help to see what "
            "you can do.",
            roles=roles_text(t, identity),
            title=escape(title),
        )
    return access_text(t)


def privacy_notice(t: Translator) -> str:
    """What is stored and why, shown at enrolment in the participant's language."""
    return t.gettext(
        "<i>Your data: your name, e-mail, cohort and Telegram account are kept to run the "
        "programme; your answers are analysed under a code, never by name, and only "
        "aggregates are shared with your employer. Send /mydata to see what is stored, and "
        "ask your coordinator to have it erased.</i>"
    )
