"""The one ordered place where handlers are registered.

Order matters: PTB runs the first matching handler of a group. Commands come first
so that ``/start <token>`` is never swallowed by the catch-all; the known callback
patterns come before the stale-button catch-all; the catch-alls come last and
answer anything left (a stranger learns how to get access, an old or forged
button is refused without writing anything).
"""

from __future__ import annotations

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot import callbacks
from bot.handlers import (
    attendance_import,
    broadcast,
    certificates,
    checkin,
    coordination,
    documents,
    errors,
    evaluation,
    fallback,
    help,
    invitations,
    language,
    me,
    membership,
    mydata,
    plan,
    questionnaire,
    roster,
    staff,
    start,
    supervisor,
)

# Relais is a one-to-one bot: groups and channels are ignored entirely.
PRIVATE = filters.ChatType.PRIVATE

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Attach every handler in order, and the error handler."""
    # The broadcast conversation first: while a coordinator composes, their next message
    # is the announcement, not an answer or an unknown text.
    app.add_handler(broadcast.conversation(PRIVATE))
    app.add_handler(CommandHandler("start", start.start, filters=PRIVATE))
    app.add_handler(CommandHandler("help", help.show_help, filters=PRIVATE))
    app.add_handler(CommandHandler("language", language.ask_language, filters=PRIVATE))
    app.add_handler(CommandHandler("me", me.me, filters=PRIVATE))
    app.add_handler(CommandHandler("plan", plan.ask_plan, filters=PRIVATE))
    app.add_handler(CommandHandler("mydata", mydata.mydata, filters=PRIVATE))
    app.add_handler(CommandHandler("plans", plan.list_plans, filters=PRIVATE))
    app.add_handler(CommandHandler("broadcasts", broadcast.list_broadcasts, filters=PRIVATE))
    app.add_handler(CommandHandler("stats", coordination.stats, filters=PRIVATE))
    app.add_handler(CommandHandler("pending", coordination.pending, filters=PRIVATE))
    app.add_handler(CommandHandler("reload", coordination.reload, filters=PRIVATE))
    app.add_handler(CommandHandler("checkin", checkin.open_checkin, filters=PRIVATE))
    app.add_handler(CommandHandler("attendance", checkin.show_attendance, filters=PRIVATE))
    app.add_handler(CommandHandler("export", evaluation.send_export, filters=PRIVATE))
    app.add_handler(CommandHandler("report", evaluation.send_report, filters=PRIVATE))
    app.add_handler(CommandHandler("certificates", certificates.list_certificates, filters=PRIVATE))
    # Setting the programme up from the chat (coordinators; /staff for admins).
    app.add_handler(CommandHandler("roster", roster.show_roster_help, filters=PRIVATE))
    app.add_handler(CommandHandler("invites", invitations.ask_invites, filters=PRIVATE))
    app.add_handler(CommandHandler("newlink", invitations.new_link, filters=PRIVATE))
    app.add_handler(CommandHandler("review", attendance_import.show_review, filters=PRIVATE))
    app.add_handler(CommandHandler("staff", staff.show_staff, filters=PRIVATE))
    app.add_handler(CallbackQueryHandler(coordination.nudge, pattern=callbacks.NUDGE_PATTERN))
    app.add_handler(
        CallbackQueryHandler(broadcast.stop_broadcast, pattern=callbacks.BROADCAST_STOP_PATTERN)
    )
    app.add_handler(CallbackQueryHandler(checkin.rotate_button, pattern=callbacks.CHECKIN_PATTERN))
    app.add_handler(CallbackQueryHandler(roster.decide, pattern=callbacks.ROSTER_PATTERN))
    app.add_handler(
        CallbackQueryHandler(invitations.choose_invites, pattern=callbacks.INVITES_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(
            invitations.choose_supervisor_invites, pattern=callbacks.SUPERVISOR_INVITES_PATTERN
        )
    )
    app.add_handler(
        CallbackQueryHandler(attendance_import.choose_session, pattern=callbacks.ZOOM_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(attendance_import.decide, pattern=callbacks.REVIEW_PATTERN)
    )
    app.add_handler(CallbackQueryHandler(staff.invite, pattern=callbacks.STAFF_INVITE_PATTERN))
    app.add_handler(CallbackQueryHandler(staff.revoke, pattern=callbacks.STAFF_REVOKE_PATTERN))
    app.add_handler(
        CallbackQueryHandler(certificates.approve_one, pattern=callbacks.CERT_OK_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(certificates.approve_everyone, pattern=callbacks.CERT_ALL_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(certificates.send_again, pattern=callbacks.CERT_GET_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(language.choose_language, pattern=callbacks.LANGUAGE_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(questionnaire.open_questionnaire, pattern=callbacks.OPEN_PATTERN)
    )
    app.add_handler(CallbackQueryHandler(questionnaire.tap_answer, pattern=callbacks.TAP_PATTERN))
    app.add_handler(
        CallbackQueryHandler(questionnaire.show_answers, pattern=callbacks.ANSWERS_PATTERN)
    )
    # A supervisor's list and questionnaires: their own prefixes, resolved against the
    # supervisors' attempts only (a participant's button never reaches them, nor back).
    app.add_handler(
        CallbackQueryHandler(supervisor.show_menu, pattern=callbacks.SUPERVISOR_MENU_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(supervisor.open_supervisee, pattern=callbacks.SUPERVISOR_OPEN_PATTERN)
    )
    app.add_handler(
        CallbackQueryHandler(supervisor.tap_answer, pattern=callbacks.SUPERVISOR_TAP_PATTERN)
    )
    app.add_handler(
        ChatMemberHandler(membership.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    # A coordinator's table goes to its import; any other document is a participant's plan.
    app.add_handler(MessageHandler(PRIVATE & filters.Document.ALL, documents.receive_document))
    # Plain text may answer a free-text question; if none waits it goes to the catch-all.
    app.add_handler(
        MessageHandler(
            PRIVATE & filters.TEXT & ~filters.COMMAND & ~filters.UpdateType.EDITED,
            questionnaire.typed_answer,
        )
    )
    # Catch-alls: keep last.
    app.add_handler(MessageHandler(PRIVATE & ~filters.UpdateType.EDITED, fallback.unknown_message))
    app.add_handler(CallbackQueryHandler(fallback.stale_button))
    app.add_error_handler(errors.on_error)
