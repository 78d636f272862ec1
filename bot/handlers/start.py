"""/start: redeem an invite from a deep link, or greet someone already known."""

from __future__ import annotations

from telegram import Update

from bot.handlers import checkin, supervisor
from bot.handlers.certificates import verify_link
from bot.handlers.common import Context, caller, markup, reply
from bot.handlers.menus import set_staff_menu
from bot.services import checkin as checkin_service
from bot.services.certification import is_verification
from bot.services.invites import RedeemStatus, Redemption, redeem
from bot.services.questionnaire import pending
from bot.services.text import clean_text
from bot.views.me import open_now_screen
from bot.views.start import refusal_text, welcome_text


async def start(update: Update, context: Context) -> None:
    """Redeems the invite token in the /start payload (binding a participant's or supervisor's
    account, or granting a role), then greets the user by name and offers a participant what
    is open now, a supervisor the people they are asked about (buttons)."""
    rt = context.runtime
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    if context.args and checkin_service.is_checkin(context.args[0]):
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
    title = rt.content.programme.title.get(who.t.locale)
    participant = who.identity.participant
    granted = redemption is not None and redemption.status is RedeemStatus.STAFF_GRANTED
    todo = (
        []
        if participant is None or granted
        else await pending(rt.db, rt.content, participant, rt.clock.now())
    )
    if who.identity.supervisor is not None and who.identity.participant is None and not granted:
        # A line manager: greeted on enrolment, then (always) their list of people.
        if redemption is not None:
            await reply(update, who, welcome_text(who.t, title, who.identity, redemption))
        await supervisor.send_menu(context, who)
        return
    await reply(update, who, welcome_text(who.t, title, who.identity, redemption, bool(todo)))
    if todo:
        # A message of its own: its button turns it into the questionnaire, and the welcome
        # (with the privacy notice) stays in the chat.
        offer = open_now_screen(who.t, todo)
        await reply(update, who, offer.text, markup(offer))


_WELCOME = {
    RedeemStatus.ENROLLED,
    RedeemStatus.STAFF_GRANTED,
    RedeemStatus.ALREADY_ENROLLED,
    RedeemStatus.SUPERVISOR_ENROLLED,
}
