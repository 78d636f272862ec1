"""Storage: pragmas, migrations on empty and older databases, transactions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage import MIGRATIONS, SCHEMA_VERSION, Database, MigrationError, repo
from bot.storage.repo import ParticipantFields, Role

NOW = datetime(2027, 1, 5, 9, 0, tzinfo=UTC)
FIELDS = ParticipantFields(
    external_id="A-001",
    full_name="Khadija El Idrissi",
    email="khadija@example.org",
    gender="female",
    agency="Tanger Médina",
    region="Tanger-Tétouan-Al Hoceïma",
    cohort="tanger",
    language=None,
)


async def test_empty_database_gets_every_migration(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "r.db")
    try:
        assert await db.user_version() == SCHEMA_VERSION == len(MIGRATIONS)
        async with db.read() as conn:
            async with conn.execute("PRAGMA journal_mode") as cur:
                assert (await cur.fetchone())[0] == "wal"  # type: ignore[index]
            async with conn.execute("PRAGMA foreign_keys") as cur:
                assert (await cur.fetchone())[0] == 1  # type: ignore[index]
            async with conn.execute("PRAGMA busy_timeout") as cur:
                assert (await cur.fetchone())[0] > 0  # type: ignore[index]
    finally:
        await db.close()


async def test_previous_version_database_is_upgraded_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = await Database.open(path, migrations=MIGRATIONS[:1])
    assert await old.user_version() == 1
    async with old.transaction() as conn:
        participant = await repo.insert_participant(conn, FIELDS, NOW)
    await old.close()

    db = await Database.open(path)
    try:
        assert await db.user_version() == SCHEMA_VERSION
        async with db.read() as conn:
            again = await repo.get_participant(conn, participant.id)
        assert again == participant
        async with db.transaction() as conn:
            await repo.audit(conn, actor="cli", action="x", target=None, details={}, now=NOW)
            await repo.set_user_language(conn, 42, "ar", NOW)
        async with db.read() as conn:
            assert (await repo.user_record(conn, 42)).language == "ar"
            assert [e.action for e in await repo.audit_entries(conn)] == ["x"]
    finally:
        await db.close()


async def test_reopening_a_current_database_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    first = await Database.open(path)
    await first.close()
    db = await Database.open(path)
    try:
        assert await db.user_version() == SCHEMA_VERSION
    finally:
        await db.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    db = await Database.open(path)
    async with db.transaction() as conn:
        await conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    await db.close()
    with pytest.raises(MigrationError, match="newer than this Relais"):
        await Database.open(path)


async def test_failed_transaction_writes_nothing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "r.db")
    try:

        async def crash_between_two_writes() -> None:
            async with db.transaction() as conn:
                await repo.insert_participant(conn, FIELDS, NOW)
                raise RuntimeError("crash between two writes")

        with pytest.raises(RuntimeError):
            await crash_between_two_writes()
        async with db.read() as conn:
            assert await repo.list_participants(conn) == []
    finally:
        await db.close()


async def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "r.db")
    try:
        with pytest.raises(Exception, match="FOREIGN KEY"):
            async with db.transaction() as conn:
                await repo.bind_participant(conn, 999, 1, 1, NOW)
    finally:
        await db.close()


async def test_roles_and_bindings_round_trip(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "r.db")
    try:
        async with db.transaction() as conn:
            p = await repo.insert_participant(conn, FIELDS, NOW)
            await repo.bind_participant(conn, p.id, 501, 501, NOW)
            assert await repo.grant_role(
                conn, 777, Role.EVALUATOR, chat_id=777, display_name="E", granted_by="cli", now=NOW
            )
            assert not await repo.grant_role(
                conn, 777, Role.EVALUATOR, chat_id=777, display_name="E", granted_by="cli", now=NOW
            )
        async with db.read() as conn:
            found = await repo.participant_for_user(conn, 501)
            assert found is not None
            assert found[0].code.startswith("P-")
            assert found[1].reachable is True
            assert (await repo.user_record(conn, 777)).roles == {Role.EVALUATOR}
            assert await repo.unbound_participants(conn) == []
    finally:
        await db.close()


async def test_deferred_checkpoints_leave_the_wal_to_the_checkpoint_job(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "relais.db")
    try:
        await db.defer_checkpoints()
        async with db.read() as conn, conn.execute("PRAGMA wal_autocheckpoint") as cur:
            assert tuple(await cur.fetchone() or ()) == (0,)
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO audit_log (at, actor, action, details) VALUES (?, 'test', 'x', ?)",
                [("2027-01-01T00:00:00+00:00", "y" * 2000) for _ in range(3000)],
            )
        frames, copied = await db.checkpoint()
        assert frames > 1000
        assert copied == frames
    finally:
        await db.close()
