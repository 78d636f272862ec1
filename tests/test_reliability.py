"""Faults an unlucky operator meets: two bots on one database, redelivered updates, a restore
after a crash. Each checks what a participant or an operator would notice."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.cli import EXIT_OK, main
from bot.content import load_content
from bot.outgoing import OutgoingMessage
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.server import EmulatorServer
from bot.services import broadcasts
from bot.storage import Database
from tests.test_crash import content_dir as content_dir
from tests.test_crash import enrol, env_for, simulated_clock

RECIPIENTS = 60


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; raise SystemExit(main(['run']))"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.resilience
async def test_two_bots_started_together_one_refuses_and_nobody_gets_two_copies(
    content_dir: Path,
    tmp_path: Path,
) -> None:
    clock = simulated_clock()
    api = BotAPIEmulator(clock=clock)
    database = tmp_path / "relais.db"
    people = await enrol(database, api, RECIPIENTS, clock)
    db = await Database.open(database)
    try:
        recipients = await broadcasts.recipients(db, load_content(content_dir), "all", clock.now())
        await broadcasts.create(
            db,
            created_by=0,
            audience="all",
            message=OutgoingMessage("Annonce"),
            people=recipients,
            now=clock.now(),
        )
    finally:
        await db.close()
    async with EmulatorServer(api) as server:
        env = env_for(server, database, content_dir, clock)
        first, second = await asyncio.gather(
            asyncio.to_thread(_start, env), asyncio.to_thread(_start, env)
        )
        try:
            # Exactly one of them gives up at once, saying which process holds the database.
            waits = [asyncio.create_task(asyncio.to_thread(p.wait)) for p in (first, second)]
            await asyncio.wait(waits, timeout=60, return_when=asyncio.FIRST_COMPLETED)
            refused, running = (first, second) if first.poll() is not None else (second, first)
            assert refused.returncode == 1
            assert refused.stderr is not None
            err = refused.stderr.read().decode()
            assert f"already runs on this database (pid {running.pid}" in err
            async with asyncio.timeout(60), api.changed:
                await api.changed.wait_for(
                    lambda: all(
                        any(m.text == "Annonce" for m in api.visible(user.user_id))
                        for _, user in people
                    )
                )
            assert running.poll() is None
        finally:
            for process in (first, second):
                if process.poll() is None:
                    process.terminate()
                    await asyncio.to_thread(process.wait, 30)
    copies = Counter(
        m.chat_id for _, user in people for m in api.visible(user.user_id) if m.text == "Annonce"
    )
    assert len(copies) == RECIPIENTS
    assert set(copies.values()) == {1}  # no duplicate at all


def _rows(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM participants").fetchone()[0])
    finally:
        conn.close()


def test_restore_after_a_crash_keeps_every_committed_row_in_the_safety_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(root / "conversations"))
    database = tmp_path / "relais.db"
    monkeypatch.setenv("RELAIS_DATABASE", str(database))
    backup = tmp_path / "nightly.db"
    assert main(["roster", "import", str(root / "examples" / "roster-sample.csv")]) == EXIT_OK
    assert main(["backup", str(backup)]) == EXIT_OK
    # A process commits more rows, then dies by kill -9 before any checkpoint: they are only
    # in the -wal file.
    script = f"""
import os, sqlite3
conn = sqlite3.connect({str(database)!r}, isolation_level=None)
conn.execute("PRAGMA wal_autocheckpoint=0")
for n in range(25):
    conn.execute(
        "INSERT INTO participants (code, external_id, full_name, cohort, created_at, updated_at)"
        " VALUES (?, ?, 'Après le dernier backup', 'tanger', '2027-01-01', '2027-01-01')",
        (f"P-LATE{{n:02d}}", f"LATE-{{n}}"),
    )
os.kill(os.getpid(), 9)
"""
    subprocess.run([sys.executable, "-c", script], check=False)
    assert Path(str(database) + "-wal").stat().st_size > 0
    assert main(["restore", str(backup)]) == EXIT_OK
    assert main(["restore", str(backup)]) == EXIT_OK  # a second restore keeps the first copy
    kept = sorted(tmp_path.glob("relais.db.before-restore-*"))
    assert len(kept) == 2
    assert not [
        p for p in tmp_path.iterdir() if p.name.endswith(("-wal", "-shm")) and "before" in p.name
    ]
    # The first safety copy has the 100 imported rows and the 25 committed before the crash.
    assert _rows(kept[0]) == 100 + 25
    assert _rows(kept[1]) == 100
    assert _rows(database) == 100
