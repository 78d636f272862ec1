"""The process's single SQLite connection, its pragmas, transactions and migrations."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.storage.files import private_file
from bot.storage.migrations import MIGRATIONS

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")


class MigrationError(Exception):
    """The database is newer than this code, or a migration failed."""


class Database:
    """One aiosqlite connection shared by the whole process.

    A single connection is shared by every coroutine, so an ``asyncio.Lock``
    serialises access: without it a coroutine's statement could land inside
    another coroutine's open transaction.
    """

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        migrate: bool = True,
        migrations: Sequence[str] = MIGRATIONS,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> Database:
        """Connect, set the pragmas and bring the schema up to date.

        ``busy_timeout_ms``: how long a statement waits for another process's write lock
        before SQLite refuses it ("database is locked").
        """
        if str(path) != ":memory:":
            # Owner-only whatever the umask; SQLite gives -wal and -shm the same mode.
            await asyncio.to_thread(private_file, Path(path))
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = sqlite3.Row
        db = cls(conn, str(path))
        try:
            # WAL lets a backup or an export read while the bot writes.
            if str(path) != ":memory:":
                await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            await conn.execute("PRAGMA synchronous=NORMAL")
            # Deleted personal data is overwritten, not left in free pages (right to erasure).
            await conn.execute("PRAGMA secure_delete=ON")
            if migrate:
                await db.migrate(migrations)
        except BaseException:
            await conn.close()
            raise
        return db

    @classmethod
    @asynccontextmanager
    async def opened(cls, path: str | Path, *, migrate: bool = True) -> AsyncIterator[Database]:
        """Open, use and close: for commands that do one job and exit."""
        db = await cls.open(path, migrate=migrate)
        try:
            yield db
        finally:
            await db.close()

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        async with self._lock:
            await self._conn.close()

    async def user_version(self) -> int:
        """The number of migrations applied."""
        async with self.read() as conn, conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self, migrations: Sequence[str] = MIGRATIONS) -> int:
        """Apply the migrations this database has not seen; return the new version."""
        current = await self.user_version()
        if current > len(migrations):
            raise MigrationError(
                f"database {self.path} is at schema version {current}, newer than this "
                f"Relais ({len(migrations)}): upgrade Relais or restore a matching backup"
            )
        for version, script in enumerate(migrations[current:], start=current + 1):
            async with self.transaction() as conn:
                # executescript would COMMIT our transaction first: run statements one by one.
                for statement in _split_sql(script):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version={version}")
            log.info("database migrated to schema version %d", version)
        return len(migrations)

    async def backup(self, target: str | Path) -> None:
        """A consistent copy through SQLite's online backup API, while the bot keeps running."""
        async with aiosqlite.connect(str(target)) as dest, self._lock:
            await self._conn.backup(dest)

    async def integrity(self) -> list[str]:
        """``PRAGMA integrity_check``: empty when the file is sound."""
        async with self.read() as conn, conn.execute("PRAGMA integrity_check") as cur:
            rows = [str(r[0]) for r in await cur.fetchall()]
        return [] if rows == ["ok"] else rows

    async def defer_checkpoints(self) -> None:
        """Stop commits from copying the WAL into the file; ``checkpoint`` must then run often.

        Otherwise the commit that crosses SQLite's threshold pays for the copy, and that
        may be a participant's answer or the planner queueing a reminder for everyone.
        """
        async with self._lock:
            await self._conn.execute("PRAGMA wal_autocheckpoint=0")

    async def checkpoint(self) -> tuple[int, int]:
        """Copy committed pages from the WAL into the file, without waiting for readers;
        the pages in the WAL, and how many of them are now in the file."""
        async with self._lock, self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)") as cur:
            row = await cur.fetchone()
        return (int(row[1]), int(row[2])) if row else (0, 0)

    async def compact(self) -> None:
        """Copy the WAL into the file and empty it, so old page versions do not linger there.

        With ``secure_delete`` the freed cells in the file itself are already zeroed.
        """
        async with self._lock:
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block in one write transaction, committed before the block's result is used."""
        async with self._lock:
            # IMMEDIATE takes the write lock now, so a busy database fails here, not mid-way.
            await self._conn.execute("BEGIN IMMEDIATE")
            async with self._committed():
                yield self._conn

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the connection's own thread as one write transaction, in one trip.

        ``BEGIN IMMEDIATE``, ``work(connection)``, then ``COMMIT`` (or ``ROLLBACK`` if it
        raised) all happen on the database thread, back to back; nothing else can run on
        the connection meanwhile (the lock), and the result is returned once committed.
        For the hottest path, a tap: plain synchronous SQL, one trip instead of five.
        """
        async with self._lock:
            # aiosqlite runs every call as a function on its thread; this hands it ours
            # (its queueing method is untyped: the result is what ``work`` returns).
            queue: Any = self._conn._execute
            return cast(T, await queue(_in_transaction, self._conn, work))

    @asynccontextmanager
    async def _committed(self) -> AsyncIterator[None]:
        """Commit the open transaction after the block, or roll it back if the block failed."""
        try:
            yield
        except BaseException:
            await self._conn.execute("ROLLBACK")
            raise
        else:
            await self._conn.execute("COMMIT")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """Give exclusive use of the connection for reads outside any transaction."""
        async with self._lock:
            yield self._conn


def _in_transaction(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """On the database thread: ``work`` between BEGIN IMMEDIATE and COMMIT or ROLLBACK."""
    raw = conn._conn  # the sqlite3 connection, only ever touched from this thread
    raw.execute("BEGIN IMMEDIATE")
    try:
        result = work(raw)
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return result


def _split_sql(script: str) -> list[str]:
    """Split a migration script into complete statements."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
