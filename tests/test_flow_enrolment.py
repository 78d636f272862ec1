"""Transcripts: strangers, invites, /start, /me, /language, /help, stale buttons, errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import RelaisApp
from bot.clock import FixedClock
from bot.content import Content
from bot.i18n import RLM
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.offline import OfflineBotAPI
from bot.storage import Database, repo
from bot.storage.repo import Role
from tests.conftest import ADMIN_ID, add_participant, fr, invite_for, staff_invite

NewUser = Callable[..., SimulatedUser]


async def _table_counts(db: Database) -> dict[str, int]:
    counts = {}
    async with db.read() as conn:
        for table in ("telegram_bindings", "staff_roles", "user_settings", "audit_log"):
            async with conn.execute(f"SELECT count(*) FROM {table}") as cur:
                row = await cur.fetchone()
                counts[table] = int(row[0]) if row else 0
        async with conn.execute("SELECT count(*) FROM invites WHERE used_at IS NOT NULL") as cur:
            row = await cur.fetchone()
            counts["used_invites"] = int(row[0]) if row else 0
    return counts


def _programme_words(content: Content) -> list[str]:
    programme = content.programme
    words = [s.title.get("fr") for s in programme.all_sessions()]
    words += [c.name.get("fr") for c in programme.cohorts]
    return words


async def test_stranger_learns_how_to_get_access_in_french_and_sees_no_content(
    db: Database, new_user: NewUser, content: Content
) -> None:
    stranger = new_user("Omar", language_code="fr")
    before = await _table_counts(db)
    for text in ("Bonjour", "/me", "/help", "/start", "/start not-a-real-token-at-all-0000000"):
        turn = await stranger.send(text)
        assert len(turn.sent) == 1, text
        reply = turn.text
        assert "invitation" in reply, reply
        for word in _programme_words(content):
            assert word not in reply
        # Complete French: none of the English source strings leak through.
        assert "Hello" not in reply
        assert "Please" not in reply
    assert await _table_counts(db) == before


async def test_invite_binds_once_greets_by_name_and_refuses_replay(
    db: Database, clock: FixedClock, new_user: NewUser, api: OfflineBotAPI
) -> None:
    khadija = await add_participant(db, clock, full_name="Khadija El Idrissi")
    invite = await invite_for(db, clock, khadija)
    user = new_user("Khadija", language_code="ar-MA")

    turn = await user.send(f"/start {invite.token}")
    # Telegram said Arabic: the greeting follows it and the choice is stored.
    assert "Khadija El Idrissi" in turn.text
    assert turn.text.startswith(RLM) or "مرحب" in turn.text
    async with db.read() as conn:
        bound = await repo.participant_for_user(conn, user.user_id)
    assert bound is not None
    participant, binding = bound
    assert participant.id == khadija.id
    assert binding.chat_id == user.user_id
    assert participant.language == "ar"

    again = await user.send(f"/start {invite.token}")
    assert "Khadija El Idrissi" in again.text

    intruder = new_user("Yassine", language_code="fr")
    before = await _table_counts(db)
    refused = await intruder.send(f"/start {invite.token}")
    assert fr("This invitation link has already been used.") in refused.text
    assert await _table_counts(db) == before
    async with db.read() as conn:
        assert await repo.participant_for_user(conn, intruder.user_id) is None


async def test_expired_and_unknown_invites_are_refused_and_change_nothing(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    user = new_user()
    clock.advance(timedelta(days=31))
    before = await _table_counts(db)

    expired = await user.send(f"/start {invite.token}")
    assert fr("This invitation link has expired.") in expired.text
    unknown = await user.send("/start AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert fr("This invitation link is not valid.") in unknown.text
    assert await _table_counts(db) == before


async def test_me_shows_cohort_and_next_sessions_in_french(
    db: Database, clock: FixedClock, new_user: NewUser, content: Content
) -> None:
    participant = await add_participant(db, clock, cohort="marrakech")
    invite = await invite_for(db, clock, participant)
    user = new_user()
    await user.send(f"/start {invite.token}")

    turn = await user.send("/me")
    assert "Marrakech" in turn.text
    programme = content.programme
    upcoming = programme.upcoming_sessions("marrakech", clock.now(), 5)
    assert upcoming
    first = upcoming[0]
    assert first.title.get("fr") in turn.text
    # Dates are written out in French, in the programme's time zone.
    local = first.start_utc.astimezone(programme.tz)
    assert f"{local:%H:%M}" in turn.text
    assert any(m in turn.text for m in ("janvier", "février", "mars", "avril"))
    others = [s for s in programme.all_sessions() if not s.is_for("marrakech")]
    assert others
    # Each cohort's final quiz is "in this chat": a place other cohorts share.
    own = {s.place.get("fr") for s in programme.sessions_for("marrakech") if s.place}
    for session in others:
        if session.place is not None and session.place.get("fr") not in own:
            assert session.place.get("fr") not in turn.text


async def test_language_choice_is_stored_and_used(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    user = new_user(language_code="fr")
    await user.send(f"/start {invite.token}")

    ask = await user.send("/language")
    assert ask.last.button_texts == ["Français", "English", "العربية"]
    chosen = await user.press("العربية")
    assert chosen.edited
    assert "العربية" in chosen.edited[0].text
    async with db.read() as conn:
        stored = await repo.get_participant(conn, participant.id)
    assert stored is not None
    assert stored.language == "ar"

    me = await user.send("/me")
    # Lines that start with Latin text or digits get U+200F so they read right to left.
    for line in me.text.splitlines():
        if line and (line.lstrip("<b>")[:1].isdigit() or line.lstrip("<b>")[:1].isascii()):
            assert line.startswith(RLM), line

    await user.send("/language")
    back = await user.press("English")
    assert "English" in back.edited[0].text
    assert "/me" in (await user.send("/help")).text


async def test_forged_and_stale_buttons_are_refused_politely_and_write_nothing(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    user = new_user()
    await user.send(f"/start {invite.token}")
    before = await _table_counts(db)
    for data in ("lang:de", "lang:fr:extra", "x" * 64, "quiz:1:2"):
        turn = await user.press_data(data)
        assert turn.answers, data
        assert turn.answers[0].get("text") == "Ce bouton n'est plus valide."
        assert not turn.sent
    assert await _table_counts(db) == before


async def test_stranger_may_choose_a_language_without_seeing_content(
    db: Database, new_user: NewUser
) -> None:
    stranger = new_user(language_code="fr")
    await stranger.send("/language")
    await stranger.press("English")
    async with db.read() as conn:
        assert (await repo.user_record(conn, stranger.user_id)).language == "en"
    turn = await stranger.send("hello")
    assert turn.text.startswith("Hello!")


async def test_staff_invite_grants_role_sets_menu_and_help_differs_by_role(
    db: Database, clock: FixedClock, new_user: NewUser, api: OfflineBotAPI
) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    learner = new_user()
    await learner.send(f"/start {invite.token}")
    participant_help = (await learner.send("/help")).text
    assert "/me" in participant_help
    assert "Coordinat" not in participant_help

    helps = {}
    for role in (Role.COORDINATOR, Role.EVALUATOR):
        link = await staff_invite(db, clock, role)
        person = new_user("Salma", language_code="fr")
        welcome = await person.send(f"/start {link.token}")
        assert "Bienvenue" in welcome.text
        async with db.read() as conn:
            assert (await repo.user_record(conn, person.user_id)).roles == {role}
        scope = f"{person.user_id}:chat"
        menus = [k for k in api.commands if k[0] == scope]
        assert menus, "staff chat menu not set"
        helps[role] = (await person.send("/help")).text
    assert "Coordinat" in helps[Role.COORDINATOR]
    assert "Évaluat" in helps[Role.EVALUATOR]
    assert helps[Role.COORDINATOR] != helps[Role.EVALUATOR]
    assert "/me —" not in helps[Role.EVALUATOR]

    admin = SimulatedUser(api, learner.deliver, ADMIN_ID, "Admin", language_code="fr")
    admin_help = (await admin.send("/help")).text
    assert "Administrat" in admin_help


async def test_default_menus_registered_per_language(app: RelaisApp, api: OfflineBotAPI) -> None:
    keys = set(api.commands)
    assert ("default", "") in keys
    for locale in ("fr", "en", "ar"):
        assert ("default", locale) in keys
    french = {c["command"]: c["description"] for c in api.commands[("default", "fr")]}
    assert set(french) == {"me", "plan", "language", "mydata", "help"}
    assert french["language"] == "Changer de langue"


async def test_group_messages_are_ignored(app: RelaisApp, api: OfflineBotAPI) -> None:
    from telegram import Update

    update = Update.de_json(
        {
            "update_id": 99,
            "message": {
                "message_id": 1,
                "date": 1_800_000_000,
                "chat": {"id": -100123, "type": "supergroup", "title": "G"},
                "from": {"id": 1234, "is_bot": False, "first_name": "G"},
                "text": "/help",
                "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
            },
        },
        app.bot,
    )
    await app.process_update(update)
    assert api.calls_to("sendMessage") == []


async def test_error_handler_apologises_in_french_and_logs_the_update_id(
    db: Database,
    clock: FixedClock,
    new_user: NewUser,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    user = new_user()
    await user.send(f"/start {invite.token}")

    def broken(*args: object) -> str:
        raise RuntimeError("boom: internal detail")

    monkeypatch.setattr("bot.handlers.me.me_text", broken)
    with caplog.at_level(logging.ERROR, logger="relais.errors"):
        turn = await user.send("/me")
    assert turn.text == fr("Sorry, something went wrong on our side. Please try again in a moment.")
    assert "boom" not in turn.text
    assert any("update" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_the_action_plan_deadline_shows_its_closing_time(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    participant = await add_participant(db, clock, cohort="marrakech")
    invite = await invite_for(db, clock, participant)
    user = new_user()
    await user.send(f"/start {invite.token}")
    clock.set(datetime(2027, 4, 10, 9, 0, tzinfo=UTC))

    me = (await user.send("/me")).text
    # The deadline is 23:00 on 16 April (the session's end), not its 08:00 start.
    deadline = me.split("Date limite de remise du plan d'action individuel</b>\n")[1]
    assert deadline.startswith("vendredi 16 avril 2027 à 23:00")
