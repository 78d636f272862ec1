"""The database as a file: is it a Relais database, safety copies, restore, private files.

Synchronous on purpose (plain ``sqlite3``, run in a thread by the commands): these run
while the bot is stopped, and must never turn a wrong path into a new empty database.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from bot.storage.migrations import SCHEMA_VERSION

# Owner only: the database and what is copied from it hold names and Telegram ids.
PRIVATE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm")


def private_file(path: Path) -> None:
    """Create ``path`` empty and owner-only if it does not exist, whatever the umask."""
    # A missing folder is left for the caller's own open to report.
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    # mode=ro: never creates the file, never converts it to WAL, never writes to it.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def not_relais(path: Path) -> str | None:
    """Why the existing file ``path`` is not a Relais database at all; None if it is one."""
    try:
        with _read_only(path) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        return f"{path} is not a Relais database ({exc})"
    if version == 0 or "participants" not in tables:
        return f"{path} is an SQLite file but not a Relais database"
    return None


def problem_with(path: Path, *, check_integrity: bool = True) -> str | None:
    """Why ``path`` is not a Relais database this version can use, in one line; None if it is."""
    if not path.is_file():
        return f"{path} does not exist or is not a file"
    problem = not_relais(path)
    if problem:
        return problem
    try:
        with _read_only(path) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                return (
                    f"{path} is at schema version {version}, newer than this Relais "
                    f"({SCHEMA_VERSION}): upgrade Relais first"
                )
            if check_integrity:
                rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
                if rows != ["ok"]:
                    return f"{path} is damaged: {rows[0]}"
    except sqlite3.DatabaseError as exc:
        return f"{path} is not a Relais database ({exc})"
    return None


def safety_copy(target: Path, now: datetime) -> Path:
    """Move ``target`` aside under a new timestamped name, its WAL folded in; the new path.

    Rows committed before a crash may still be only in ``-wal``: the WAL moves with the
    file and is checkpointed into it, so the safety copy holds everything committed.
    """
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    kept = target.with_name(f"{target.name}.before-restore-{stamp}")
    number = 1
    while kept.exists():  # never overwrite an earlier safety copy
        number += 1
        kept = target.with_name(f"{target.name}.before-restore-{stamp}-{number}")
    os.replace(target, kept)
    for suffix in SIDE_FILES:
        side = Path(str(target) + suffix)
        if side.exists():
            os.replace(side, Path(str(kept) + suffix))
    try:
        conn = sqlite3.connect(kept)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return kept  # not a database: keep whatever files there were, untouched
    for suffix in SIDE_FILES:
        Path(str(kept) + suffix).unlink(missing_ok=True)
    return kept


def restore_into(src: Path, target: Path) -> None:
    """Copy ``src`` into the (absent) ``target`` with SQLite's backup API, owner-only."""
    private_file(target)
    with _read_only(src) as source:
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)
        finally:
            dest.close()
