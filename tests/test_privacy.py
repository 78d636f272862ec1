"""Erasure follows one declaration of personal columns, and the declaration covers the schema."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.content import Content
from bot.sandbox.chat import SimulatedUser
from bot.services.privacy import apply_retention, forget, retention_deadline
from bot.storage import Database
from bot.storage.personal import TABLES, DeleteRow, Replace
from tests.conftest import add_participant, invite_for

NewUser = Callable[..., SimulatedUser]


async def test_every_column_of_the_schema_is_declared_personal_or_not(db: Database) -> None:
    async with db.read() as conn:
        async with conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ) as cur:
            tables = [row[0] for row in await cur.fetchall()]
        schema = set()
        for table in tables:
            async with conn.execute(f"PRAGMA table_info({table})") as cur:
                schema |= {(table, row[1]) for row in await cur.fetchall()}
    declared = {(table, column) for table, spec in TABLES.items() for column in spec.columns}
    assert schema - declared == set(), "new columns: declare them in bot/storage/personal.py"
    assert declared - schema == set(), "declared columns that no longer exist"


async def a_participant_with_everything(
    db: Database, clock: FixedClock, new_user: NewUser
) -> tuple[str, SimulatedUser]:
    participant = await add_participant(db, clock)
    user = new_user("Khadija")
    await user.send(f"/start {(await invite_for(db, clock, participant)).token}")
    await user.send("/language")
    await user.press("English")
    await user.send_document(b"%PDF-1.4 plan", "Plan_action_Khadija_El_Idrissi_A-001.pdf")
    await user.send("/me")
    await user.press("Start: Pre-training test")
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO outbox (kind, source, participant_id, chat_id, payload, status,"
            " due_at, not_before, created_at) VALUES ('reminder', 'test', ?, ?, '{}', 'pending',"
            " '2027-01-01', '2027-01-01', '2027-01-01')",
            (participant.id, user.user_id),
        )
    return participant.code, user


async def assert_erased(db: Database, code: str) -> None:
    """Every personal column the declaration names holds its erased value, or its rows are gone."""
    async with db.read() as conn:
        async with conn.execute("SELECT id FROM participants WHERE code = ?", (code,)) as cur:
            row = await cur.fetchone()
        assert row is not None
        pid = row[0]
        checked = 0
        for name, table in TABLES.items():
            if table.rows is None:
                continue
            where = table.rows.replace(":pid", str(pid))
            if any(isinstance(t, DeleteRow) for t in table.columns.values()):
                async with conn.execute(f"SELECT count(*) FROM {name} WHERE {where}") as cur:
                    count = await cur.fetchone()
                assert count is not None
                assert count[0] == 0, name
                checked += 1
                continue
            for column, treatment in table.columns.items():
                if not isinstance(treatment, Replace):
                    continue
                expected = None
                if treatment.value is not None:
                    expected = treatment.value.replace("{code}", code)
                async with conn.execute(f"SELECT {column} FROM {name} WHERE {where}") as cur:
                    values = {r[0] for r in await cur.fetchall()}
                assert values <= {expected}, (name, column, values)
                checked += 1
        assert checked >= 10
        async with conn.execute(
            "SELECT count(*) FROM outbox WHERE status = 'pending' AND participant_id = ?", (pid,)
        ) as cur:
            pending = await cur.fetchone()
        assert pending is not None
        assert pending[0] == 0


async def test_forget_erases_every_declared_personal_column(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    code, _user = await a_participant_with_everything(db, clock, new_user)
    await forget(db, code, with_answers=False, actor="test", now=clock.now())
    await assert_erased(db, code)
    # No trace of the Telegram id anywhere in the participant's rows.
    async with db.read() as conn, conn.execute("SELECT chat_id FROM attempts") as cur:
        assert [r[0] for r in await cur.fetchall()] == [None]


@pytest.mark.parametrize("days", [365])
async def test_retention_erases_the_same_columns(
    db: Database, clock: FixedClock, new_user: NewUser, content: Content, days: int
) -> None:
    code, _ = await a_participant_with_everything(db, clock, new_user)
    deadline = retention_deadline(content, days)
    assert deadline is not None
    assert await apply_retention(db, content, days, deadline + timedelta(seconds=1)) == 1
    await assert_erased(db, code)


async def test_every_table_holding_a_participant_declares_how_their_rows_are_found(
    db: Database,
) -> None:
    # A new table with a participant_id would otherwise escape every erasure.
    async with (
        db.read() as conn,
        conn.execute(
            "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c"
            " WHERE m.type = 'table' AND c.name IN ('participant_id', 'attempt_id')"
        ) as cur,
    ):
        holding = {row[0] for row in await cur.fetchall()}
    assert holding
    undeclared = {name for name in holding if TABLES[name].rows is None}
    assert undeclared == set(), "say in bot/storage/personal.py how their rows are found"


async def test_forget_with_answers_deletes_every_table_declared_as_answers(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    code, user = await a_participant_with_everything(db, clock, new_user)
    question = user.chat[-1]
    await user.press(question.button_texts[0], question)  # the first answer of the pre-test
    answer_tables = [name for name, table in TABLES.items() if table.answers]
    assert {"attempts", "answers", "action_plans", "outbox"} <= set(answer_tables)

    async def counts(pid: int) -> dict[str, int]:
        found = {}
        async with db.read() as conn:
            for name in answer_tables:
                where = (TABLES[name].rows or "0").replace(":pid", str(pid))
                async with conn.execute(f"SELECT count(*) FROM {name} WHERE {where}") as cur:
                    row = await cur.fetchone()
                assert row is not None
                found[name] = row[0]
        return found

    async with (
        db.read() as conn,
        conn.execute("SELECT id FROM participants WHERE code = ?", (code,)) as cur,
    ):
        row = await cur.fetchone()
    assert row is not None
    before = await counts(row[0])
    assert min(before["attempts"], before["answers"], before["action_plans"]) > 0
    await forget(db, code, with_answers=True, actor="test", now=clock.now())
    await assert_erased(db, code)
    assert set((await counts(row[0])).values()) == {0}
