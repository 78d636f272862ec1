"""The command line as an unlucky operator meets it: a rejected token, a mistyped database,
a file that is not a database, a stale pid, a second bot, a permissive umask."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_CONFIG, EXIT_INVALID, EXIT_OK, main
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.server import EmulatorServer
from bot.storage.lock import lock_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "roster-sample.csv"
REJECTED = "7000000002:AAH-rejected-token-never-printed-42"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(ROOT / "conversations"))
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))


# --- 8: no command prints the token -----------------------------------------------------------

COMMANDS = [
    ["check"],
    ["roster", "import", str(SAMPLE)],
    ["attendance", "import", "attendance.csv"],
    ["attempts", "reopen", "AN-0001", "kat", "pre"],
    ["reload"],
    ["broadcast", "--audience", "all", "--text", "Bonjour", "--yes", "--no-wait"],
    ["export", "--format", "csv", "--with-identities", "ids.csv"],
    ["report"],
    ["backup", "copy.db"],
    ["doctor"],
    ["doctor", "--quick"],
    ["invites", "--qr", "qr"],
    ["staff", "invite", "--role", "coordinator"],
    ["staff", "list"],
    ["staff", "revoke", "1", "--role", "admin"],
    ["forget", "AN-0002"],
    ["restore", "copy.db"],
]


async def test_no_command_prints_a_token_telegram_rejects(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "attendance.csv").write_text("participant;session;attended\n", "utf-8")
    async with EmulatorServer(BotAPIEmulator()) as server:
        monkeypatch.setenv("RELAIS_BOT_TOKEN", REJECTED)
        monkeypatch.setenv("RELAIS_API_BASE_URL", server.base_url)
        monkeypatch.setenv("RELAIS_API_FILE_URL", server.base_file_url)
        codes = {}
        for command in COMMANDS:
            codes[" ".join(command[:2])] = await asyncio.to_thread(main, command)
        # `relais run` as a process of its own, as an operator starts it.
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from bot.cli import main; raise SystemExit(main(['run']))",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        run_out, run_err = await asyncio.wait_for(run.communicate(), 60)
    out, err = capfd.readouterr()
    printed = out + err + run_out.decode() + run_err.decode()
    secret = REJECTED.split(":")[1]
    assert secret not in printed
    assert codes["invites --qr"] == EXIT_CONFIG
    assert codes["staff invite"] == EXIT_CONFIG
    assert run.returncode == EXIT_CONFIG
    assert printed.count("RELAIS_BOT_TOKEN: rejected by Telegram") == 3
    assert "Traceback" not in out + err  # (PTB logs its own, redacted, for `run`)


# --- 6: backup, restore and doctor on the wrong file ---------------------------------------


def test_backup_of_a_mistyped_database_creates_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relias.db"))
    assert main(["backup", "copy.db"]) == EXIT_INVALID
    assert "nothing backed up" in capsys.readouterr().err
    assert not (tmp_path / "relias.db").exists()
    assert not (tmp_path / "copy.db").exists()


@pytest.fixture
def not_a_database(tmp_path: Path) -> Path:
    path = tmp_path / "notes.db"
    path.write_bytes(b"These are my notes, not a database.\n" * 200)
    return path


def test_restore_refuses_a_file_that_is_not_a_relais_database(
    tmp_path: Path, not_a_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["roster", "import", str(SAMPLE)]) == EXIT_OK
    before = (tmp_path / "relais.db").read_bytes()
    for source in (not_a_database, _other_sqlite(tmp_path), _newer_schema(tmp_path)):
        assert main(["restore", str(source)]) == EXIT_INVALID
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 3  # one line each, no traceback
    assert "notes.db is not a Relais database" in lines[0]
    assert "other.db is an SQLite file but not a Relais database" in lines[1]
    assert "newer.db is at schema version 99, newer than this Relais" in lines[2]
    assert (tmp_path / "relais.db").read_bytes() == before
    assert not list(tmp_path.glob("relais.db.before-restore*"))


def _other_sqlite(tmp_path: Path) -> Path:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return path


def _newer_schema(tmp_path: Path) -> Path:
    path = tmp_path / "newer.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE participants (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    return path


def test_doctor_on_a_file_that_is_not_a_database_says_so(
    monkeypatch: pytest.MonkeyPatch, not_a_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RELAIS_DATABASE", str(not_a_database))
    assert main(["doctor", "--quick"]) == EXIT_INVALID
    out = capsys.readouterr().out
    assert "problem: database: " in out
    assert "notes.db is not a Relais database" in out


# --- 1: reload and restore trust the lock, not a pid file --------------------------------------

HOLDER = """
import signal, sys, time
from bot.storage.lock import InstanceLock
signal.signal(signal.SIGHUP, lambda *a: print("hup", flush=True))
with InstanceLock(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "relais.db")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "locked"
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def test_reload_signals_the_process_holding_the_lock_and_nobody_after_kill_9(
    tmp_path: Path, holder: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reload"]) == EXIT_OK
    assert f"(pid {holder.pid})" in capsys.readouterr().out
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "hup"  # that very process got the SIGHUP
    assert main(["restore", str(SAMPLE)]) == EXIT_INVALID
    assert f"already runs on this database (pid {holder.pid}" in capsys.readouterr().err
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    # The lock file (with the dead pid in it) is still there; it claims nothing any more.
    assert lock_path(tmp_path / "relais.db").exists()
    assert main(["reload"]) == EXIT_INVALID
    assert "no running bot found" in capsys.readouterr().err


def test_a_stale_pid_file_of_another_process_is_never_signalled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What `kill -9` used to leave behind, now pointing at an unrelated live process: us.
    (tmp_path / "relais.db.pid").write_text(str(os.getpid()), encoding="ascii")
    assert main(["reload"]) == EXIT_INVALID  # and this test process got no SIGHUP
    assert "no running bot found" in capsys.readouterr().err


# --- 10: files with identities are owner-only whatever the umask ---------------------------


def test_files_with_identities_are_created_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAIS_BOT_USERNAME", "relais_test_bot")
    # Ten people of the sample roster: each file type is made whatever the roster's size.
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(SAMPLE.read_text("utf-8-sig").splitlines()[:11]) + "\n", "utf-8")
    old = os.umask(0o022)
    try:
        assert main(["roster", "import", str(roster)]) == EXIT_OK
        assert main(["invites", "--qr", "qr"]) == EXIT_OK
        assert main(["staff", "invite", "--role", "admin", "--qr", "staff.png"]) == EXIT_OK
        assert main(["export", "--format", "csv", "--with-identities", "ids.csv"]) == EXIT_OK
        assert main(["backup", "backups/nightly.db"]) == EXIT_OK
        assert main(["restore", "backups/nightly.db"]) == EXIT_OK
    finally:
        os.umask(old)
    private = [
        tmp_path / "relais.db",
        tmp_path / "invites.csv",
        tmp_path / "staff.png",
        tmp_path / "ids.csv",
        tmp_path / "backups" / "nightly.db",
        *tmp_path.glob("relais.db.before-restore-*"),
        *(tmp_path / "qr").iterdir(),
    ]
    assert len(list((tmp_path / "qr").iterdir())) == 10  # one QR code per person
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in private}
    assert {name: mode for name, mode in modes.items() if mode & 0o077} == {}
    assert stat.S_IMODE((tmp_path / "qr").stat().st_mode) == 0o700


# --- 15: relais broadcast refuses what Telegram would refuse, before queueing ---------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Réunion <ANAPEC> demain", "unsupported tag <anapec>"),
        ("x" * 5000, "5000 characters, Telegram's limit is 4096"),
    ],
)
def test_cli_broadcast_refuses_html_telegram_refuses_and_queues_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    assert main(["roster", "import", str(SAMPLE)]) == EXIT_OK
    code = main(["broadcast", "--audience", "all", "--text", text, "--yes", "--no-wait"])
    assert code == EXIT_INVALID
    err = capsys.readouterr().err
    assert reason in err
    assert "nothing queued" in err
    conn = sqlite3.connect(tmp_path / "relais.db")
    try:
        assert conn.execute("SELECT count(*) FROM broadcasts").fetchone()[0] == 0
    finally:
        conn.close()
