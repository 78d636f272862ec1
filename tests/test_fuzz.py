"""Fuzzing: what people really do, in random orders and with damage; no crash, nothing inconsistent.

Each step is something a person can do in the chat: press a button the bot actually sent
(read off the messages the emulator recorded: the latest screen, an old one, another
person's, or its data damaged), send a command from the menus the bot registered (with
its ``bot_command`` entity, as Telegram sets it), type text, block or unblock the bot,
write in a group, or let time pass. So the updates reach the questionnaire's real paths
(opening, answering, going back, skipping, typing, sending) and not only its refusals.

``RELAIS_FUZZ_UPDATES`` updates are played (default 400, seconds: the inner loop),
in sequences of ``BATCH`` so that hypothesis also tries orders.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.app import RelaisApp, build_application, runtime_of
from bot.clock import FixedClock
from bot.content import load_content
from bot.sandbox.emulator import JSONDict, SentMessage, SimUser
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI
from bot.settings import Settings
from bot.storage import Database
from bot.storage.repo import Role
from tests.conftest import ADMIN_ID, CONTENT_DIR, START, add_participant, invite_for, staff_invite

UPDATES = int(os.environ.get("RELAIS_FUZZ_UPDATES", "400"))
BATCH = 20
STRANGER, PARTICIPANT, COORDINATOR = 880_001, 880_002, 880_003
PEOPLE = (PARTICIPANT, PARTICIPANT, PARTICIPANT, COORDINATOR, ADMIN_ID, STRANGER)
# Damage a person cannot do but a client or an attacker can (Telegram caps data at 64 bytes).
DAMAGE = ("none", "none", "none", "truncate", "append", "replace", "no-message")


class Errors(logging.Handler):
    """Collects what the error handler logs: any such line is an unhandled exception."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Chats:
    """The bot, the emulator it talks to, and the people in it."""

    def __init__(self, app: RelaisApp, api: OfflineBotAPI, clock: FixedClock) -> None:
        self.app, self.api, self.clock = app, api, clock
        self.played = 0

    def person(self, user_id: int) -> SimUser:
        return self.api.users[user_id]

    def commands(self) -> list[str]:
        """Every command of every menu the bot registered, for every scope and language."""
        names = {c["command"] for menu in self.api.commands.values() for c in menu}
        return sorted(names | {"start"})

    def screens(self, user_id: int) -> list[SentMessage]:
        """The bot's messages with buttons in a chat, oldest first."""
        return [m for m in self.api.visible(user_id) if m.buttons]

    async def play(self, update: JSONDict) -> None:
        await self.app.process_update(Update.de_json(update, self.app.bot))
        self.played += 1

    async def message(self, user_id: int, text: str, *, group: bool = False) -> None:
        message = self.api.user_message(self.person(user_id), text)
        if group:
            message["chat"] = {"id": -100_123, "type": "group", "title": "Promotion"}
        await self.play({"update_id": self.played + 2, "message": message})


def buttons(message: SentMessage) -> Iterator[str]:
    for row in message.buttons:
        for button in row:
            if "callback_data" in button:
                yield str(button["callback_data"])


@st.composite
def steps(draw: st.DrawFn) -> dict[str, Any]:
    """One thing a person does; resolved against the chat as it is when it is played."""
    return {
        "who": draw(st.sampled_from(PEOPLE)),
        "what": draw(
            st.sampled_from(
                ["press"] * 8 + ["command"] * 2 + ["text", "member", "group", "time", "stale"]
            )
        ),
        "pick": draw(st.integers(0, 10**6)),
        "damage": draw(st.sampled_from(DAMAGE)),
        "text": draw(
            st.one_of(
                st.sampled_from(["Oui", "3", "Mieux placer les candidats", "", "x" * 5000]),
                st.text(max_size=120),
            )
        ),
        "hours": draw(st.sampled_from([1, 6, 24, 72])),
    }


def damaged(data: str, damage: str, text: str) -> str:
    if damage == "truncate":
        return data[: len(data) // 2]
    if damage == "append":
        return (data + (text[:3] or "9"))[:64]
    if damage == "replace" and ":" in data:
        return data.rsplit(":", 1)[0] + ":" + (text[:8] or "0")
    return data


async def step(chats: Chats, action: dict[str, Any]) -> None:
    who, what, pick = action["who"], action["what"], action["pick"]
    if what in ("press", "stale"):
        # The latest screen mostly; "stale": any screen of anyone, as old as it comes.
        owner = who if what == "press" else (PARTICIPANT, COORDINATOR, ADMIN_ID)[pick % 3]
        screens = chats.screens(owner)
        if not screens:
            await chats.message(who, "/me" if who == PARTICIPANT else "/help")
            return
        screen = screens[-1] if what == "press" else screens[pick % len(screens)]
        data = list(buttons(screen))
        if not data:
            return
        chosen = damaged(data[pick % len(data)], action["damage"], action["text"])
        query = chats.api.callback_query(chats.person(who), screen, chosen)
        if action["damage"] == "no-message":
            del query["message"]  # an inline-mode button or a very old message
        await chats.play({"update_id": chats.played + 2, "callback_query": query})
    elif what == "command":
        commands = chats.commands()
        command = commands[pick % len(commands)]
        argument = action["text"].split("\n")[0][:40] if pick % 3 == 0 else ""
        await chats.message(who, f"/{command} {argument}".strip())
    elif what in ("text", "group"):
        await chats.message(who, action["text"] or ".", group=what == "group")
    elif what == "member":
        old, new = ("member", "kicked") if pick % 2 else ("kicked", "member")
        update = chats.api.chat_member_update(chats.person(who), old, new)
        await chats.play({"update_id": chats.played + 2, "my_chat_member": update})
    else:
        # Time passes, up to the end of the post-test's window and no further.
        if chats.clock.now() < START + timedelta(days=150):
            chats.clock.advance(timedelta(hours=action["hours"]))


async def _setup(folder: Path) -> Chats:
    content = load_content(CONTENT_DIR)
    clock = FixedClock(START)
    api = OfflineBotAPI(clock=clock)
    app = build_application(
        Settings(database=folder / "fuzz.db", content_dir=CONTENT_DIR, admin_ids=(ADMIN_ID,)),
        content,
        clock=clock,
        request=api.request(),
        token=BOT_TOKEN,
        rate_limit=False,  # pacing would make the updates wait, not test more
    )
    await app.initialize()
    from bot.app import _post_init

    await _post_init(app)
    db = runtime_of(app).db
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    coordinator = await staff_invite(db, clock, Role.COORDINATOR)
    for user_id in (STRANGER, PARTICIPANT, COORDINATOR, ADMIN_ID):
        api.add_user(user_id, "Fuzz")
    chats = Chats(app, api, clock)
    await chats.message(PARTICIPANT, f"/start {invite.token}")
    await chats.message(COORDINATOR, f"/start {coordinator.token}")
    await chats.message(PARTICIPANT, "/me")
    return chats


async def _teardown(chats: Chats) -> None:
    from bot.app import _post_shutdown

    await _post_shutdown(chats.app)
    await chats.app.shutdown()


async def _consistent(db: Database) -> None:
    assert await db.integrity() == []
    async with db.read() as conn:
        async with conn.execute(
            "SELECT count(*) FROM answers x JOIN attempts a ON a.id = x.attempt_id"
            " WHERE a.submitted_at IS NOT NULL AND x.answered_at > a.submitted_at"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        assert row[0] == 0
        async with conn.execute("PRAGMA foreign_key_check") as cur:
            assert await cur.fetchall() == []


async def _answers(db: Database) -> int:
    async with db.read() as conn, conn.execute("SELECT count(*) FROM answers") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


def test_what_people_do_in_any_order_never_crashes_the_bot(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    errors = Errors()
    logging.getLogger("relais.errors").addHandler(errors)
    try:
        chats = loop.run_until_complete(_setup(tmp_path))

        @settings(
            max_examples=max(1, UPDATES // BATCH),
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(batch=st.lists(steps(), min_size=BATCH, max_size=BATCH))
        def play(batch: list[dict[str, Any]]) -> None:
            for action in batch:
                loop.run_until_complete(step(chats, action))

        play()
        db = runtime_of(chats.app).db
        assert chats.played >= UPDATES * 0.9
        loop.run_until_complete(_consistent(db))
        # The fuzz reached the questionnaires: answers were stored, not only refused.
        assert loop.run_until_complete(_answers(db)) > 0
        loop.run_until_complete(_teardown(chats))
    finally:
        logging.getLogger("relais.errors").removeHandler(errors)
        loop.close()
    assert [r.getMessage() for r in errors.records] == []


def test_every_button_pressed_without_its_message_is_answered(tmp_path: Path) -> None:
    # Inline-mode buttons and very old messages come without ``message``: each button the
    # participant and the coordinator were really shown still gets its answer.
    loop = asyncio.new_event_loop()
    try:
        chats = loop.run_until_complete(_setup(tmp_path))
        api = chats.api
        loop.run_until_complete(chats.message(PARTICIPANT, "/language"))
        loop.run_until_complete(chats.message(COORDINATOR, "/broadcast"))
        shown = [
            (who, data)
            for who in (PARTICIPANT, COORDINATOR)
            for screen in chats.screens(who)
            for data in buttons(screen)
        ]
        assert len({data.split(":")[0] for _, data in shown}) >= 3  # several flows' buttons
        for who, data in shown:
            query = api.callback_query(chats.person(who), SentMessage(who, 1, "x"), data)
            del query["message"]
            before = len(api.calls_to("answerCallbackQuery"))
            loop.run_until_complete(
                chats.play({"update_id": chats.played + 2, "callback_query": query})
            )
            assert len(api.calls_to("answerCallbackQuery")) == before + 1, data
        loop.run_until_complete(_teardown(chats))
    finally:
        loop.close()


def test_an_answer_tapped_on_a_message_too_old_to_edit_shows_the_next_screen_anew(
    tmp_path: Path,
) -> None:
    # Found by the fuzz: the tap was stored, then editing the message failed (TypeError),
    # the error handler logged it and the participant got an apology instead of question 2.
    loop = asyncio.new_event_loop()
    errors = Errors()
    logging.getLogger("relais.errors").addHandler(errors)
    try:
        chats = loop.run_until_complete(_setup(tmp_path))
        api = chats.api
        opening = next(d for m in chats.screens(PARTICIPANT) for d in buttons(m) if "kat" in d)
        query = api.callback_query(
            chats.person(PARTICIPANT), chats.screens(PARTICIPANT)[-1], opening
        )
        loop.run_until_complete(chats.play({"update_id": 500, "callback_query": query}))
        screen = chats.screens(PARTICIPANT)[-1]
        assert "Question 1/" in screen.text
        query = api.callback_query(chats.person(PARTICIPANT), screen, next(buttons(screen)))
        query["message"] = {"chat": query["message"]["chat"], "message_id": 1, "date": 0}
        sent_before = len(api.calls_to("sendMessage"))
        loop.run_until_complete(chats.play({"update_id": 501, "callback_query": query}))
        assert "Question 2/" in api.visible(PARTICIPANT)[-1].text
        assert len(api.calls_to("sendMessage")) == sent_before + 1
        assert api.calls_to("answerCallbackQuery")[-1].params.get("text") in (None, "")
        loop.run_until_complete(_teardown(chats))
    finally:
        logging.getLogger("relais.errors").removeHandler(errors)
        loop.close()
    assert [r.getMessage() for r in errors.records] == []
