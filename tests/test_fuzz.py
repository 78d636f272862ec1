"""Fuzzing: random and malformed updates from every kind of user; no crash, nothing inconsistent.

CI plays ``RELAIS_FUZZ_UPDATES`` updates (default 10,000), in sequences of ``BATCH`` so
that hypothesis also tries orders: a forged button after a real one, a command mid-flow.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.app import RelaisApp, build_application, runtime_of
from bot.clock import FixedClock
from bot.content import load_content
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI
from bot.settings import Settings
from bot.storage import Database
from tests.conftest import ADMIN_ID, CONTENT_DIR, START, add_participant, invite_for

UPDATES = int(os.environ.get("RELAIS_FUZZ_UPDATES", "10000"))
BATCH = 25
STRANGER, PARTICIPANT = 880_001, 880_002
USERS = (STRANGER, PARTICIPANT, ADMIN_ID)
PREFIXES = ("q:", "qo:", "qo:kat:", "bc:", "bc:a:", "bc:stop:", "nudge:", "lang:", "")
COMMANDS = (
    "/start",
    "/help",
    "/me",
    "/language",
    "/plan",
    "/plans",
    "/mydata",
    "/broadcast",
    "/broadcasts",
    "/stats",
    "/pending",
    "/export",
    "/report",
    "/reload",
    "/cancel",
    "/x",
)


def user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Fuzz", "language_code": "fr"}


def chat(user_id: int, kind: str) -> dict[str, Any]:
    return {"id": user_id if kind == "private" else -100_123, "type": kind}


texts = st.one_of(
    st.text(max_size=300),
    st.builds(lambda c, a: f"{c} {a}", st.sampled_from(COMMANDS), st.text(max_size=80)),
    st.sampled_from(["", " ", "\u200f", "<b>", "&amp;", "x" * 5000, "🙂" * 50]),
)
datas = st.one_of(
    st.builds(lambda p, t: p + t, st.sampled_from(PREFIXES), st.text(max_size=70)),
    st.builds(
        lambda a, r, c, arg: f"q:{a}:{r}:{c}:{arg}",
        st.integers(-5, 10**13),
        st.integers(-5, 10**10),
        st.sampled_from("apstvkSZ"),
        st.text(max_size=14),
    ),
)


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    """One update: a message, a callback, an edit or a membership change, maybe malformed."""
    who = draw(st.sampled_from(USERS))
    kind = draw(st.sampled_from(["private", "private", "private", "group"]))
    shape = draw(st.sampled_from(["message", "command", "callback", "edited", "member"]))
    update_id = draw(st.integers(1, 2**31))
    if shape in ("message", "command", "edited"):
        text = draw(texts) if shape != "command" else draw(st.sampled_from(COMMANDS))
        message: dict[str, Any] = {
            "message_id": draw(st.integers(1, 10**6)),
            "date": 1_800_000_000,
            "chat": chat(who, kind),
            "from": user(who),
            "text": text,
        }
        if text.startswith("/") and draw(st.booleans()):
            length = draw(st.integers(0, len(text) + 3))
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {
            "update_id": update_id,
            ("edited_message" if shape == "edited" else "message"): message,
        }
    if shape == "callback":
        query: dict[str, Any] = {
            "id": str(draw(st.integers(1, 10**9))),
            "from": user(who),
            "chat_instance": "fuzz",
            "data": draw(datas),
        }
        if draw(st.booleans()):
            query["message"] = {
                "message_id": draw(st.integers(1, 50)),
                "date": 1_800_000_000,
                "chat": chat(who, kind),
                "text": "old",
            }
        return {"update_id": update_id, "callback_query": query}
    status = draw(st.sampled_from(["member", "kicked"]))
    bot = {"id": 7_000_000_001, "is_bot": True, "first_name": "Relais"}
    member = {"status": status, "user": bot, **({"until_date": 0} if status == "kicked" else {})}
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": chat(who, kind),
            "from": user(who),
            "date": 1_800_000_000,
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": member,
        },
    }


class Errors(logging.Handler):
    """Collects what the error handler logs: any such line is an unhandled exception."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def _setup(folder: Path) -> tuple[RelaisApp, OfflineBotAPI, FixedClock]:
    content = load_content(CONTENT_DIR)
    clock = FixedClock(START)
    api = OfflineBotAPI()
    app = build_application(
        Settings(database=folder / "fuzz.db", content_dir=CONTENT_DIR, admin_ids=(ADMIN_ID,)),
        content,
        clock=clock,
        request=api.request(),
        token=BOT_TOKEN,
        rate_limit=False,  # 30 calls/s would make 10,000 updates wait, not test more
    )
    await app.initialize()
    from bot.app import _post_init

    await _post_init(app)
    db = runtime_of(app).db
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    for user_id in USERS:
        api.add_user(user_id, "Fuzz")
    start = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1_800_000_000,
            "chat": chat(PARTICIPANT, "private"),
            "from": user(PARTICIPANT),
            "text": f"/start {invite.token}",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    await app.process_update(Update.de_json(start, app.bot))
    return app, api, clock


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


@pytest.mark.resilience
def test_random_and_malformed_updates_never_crash_the_bot(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    errors = Errors()
    logging.getLogger("relais.errors").addHandler(errors)
    try:
        app, _api, _clock = loop.run_until_complete(_setup(tmp_path))

        played = 0

        @settings(
            max_examples=max(1, UPDATES // BATCH),
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(batch=st.lists(updates(), min_size=BATCH, max_size=BATCH))
        def play(batch: list[dict[str, Any]]) -> None:
            nonlocal played
            for update in batch:
                loop.run_until_complete(app.process_update(Update.de_json(update, app.bot)))
                played += 1

        play()
        assert played >= UPDATES
        loop.run_until_complete(_consistent(runtime_of(app).db))
        from bot.app import _post_shutdown

        loop.run_until_complete(_post_shutdown(app))
        loop.run_until_complete(app.shutdown())
    finally:
        logging.getLogger("relais.errors").removeHandler(errors)
        loop.close()
    assert [r.getMessage() for r in errors.records] == []


@pytest.mark.parametrize("data", ["q:1:0:a", "qo:kat:pre", "bc:ok", "lang:xx", "nudge:kat:zzz"])
def test_a_callback_without_a_message_is_answered(data: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    try:
        app, api, _ = loop.run_until_complete(_setup(tmp_path))
        query = {"id": "1", "from": user(PARTICIPANT), "chat_instance": "x", "data": data}
        loop.run_until_complete(
            app.process_update(Update.de_json({"update_id": 9, "callback_query": query}, app.bot))
        )
        assert api.calls_to("answerCallbackQuery")
        from bot.app import _post_shutdown

        loop.run_until_complete(_post_shutdown(app))
        loop.run_until_complete(app.shutdown())
    finally:
        loop.close()
