"""Operation: backups, doctor, erasure, /mydata, JSON logs, a clean stop mid-broadcast."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.clock import FixedClock
from bot.content import Content
from bot.doctor import diagnose
from bot.logs import REDACTED, configure_logging
from bot.outgoing import OutgoingMessage
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI
from bot.sandbox.server import EmulatorServer
from bot.sender import Sender
from bot.services.privacy import apply_retention, forget, retention_deadline
from bot.settings import Settings
from bot.storage import Database, answers, outbox, repo
from bot.storage.outbox import Status
from tests.conftest import CONTENT_DIR, add_participant, content_copy, invite_for, submitted_attempt

NewUser = Callable[..., SimulatedUser]
NAME = "Khadija El Idrissi"


def file_bytes(db: Database) -> bytes:
    data = Path(db.path).read_bytes()
    wal = Path(db.path + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


async def test_forget_leaves_no_trace_of_identity_in_the_file(
    db: Database, clock: FixedClock, content: Content, new_user: NewUser
) -> None:
    participant = await add_participant(db, clock, full_name=NAME)
    user = new_user("Khadija")
    await user.send(f"/start {(await invite_for(db, clock, participant)).token}")
    await submitted_attempt(
        db, clock, content, participant.id, "satisfaction", "intro", {"info": 4}
    )
    assert NAME.encode() in file_bytes(db)

    code = await forget(db, participant.code, with_answers=False, actor="test", now=clock.now())
    assert code == participant.code
    raw = file_bytes(db)
    for secret in (NAME, "a-001@example.org", "A-001", str(user.user_id)):
        assert secret.encode() not in raw, secret
    async with db.read() as conn:
        assert await repo.participant_for_user(conn, user.user_id) is None
        kept = await answers.latest_attempt(conn, participant.id, "satisfaction", "intro")
        assert kept is not None  # the answers stay, under the code
        assert await repo.unbound_participants(conn) == []  # no new invitation for them
    stranger = await user.send("/me")
    assert "lien d'invitation personnel" in stranger.text

    await forget(db, participant.code, with_answers=True, actor="test", now=clock.now())
    async with db.read() as conn:
        assert await answers.attempts_of(conn, participant.id) == []


async def test_retention_erases_identities_after_the_follow_up(
    db: Database, clock: FixedClock, content: Content
) -> None:
    participant = await add_participant(db, clock, full_name=NAME)
    deadline = retention_deadline(content, 365)
    assert deadline is not None
    assert await apply_retention(db, content, 365, deadline - timedelta(days=1)) == 0
    assert await apply_retention(db, content, 365, deadline) == 1
    async with db.read() as conn:
        erased = await repo.get_participant(conn, participant.id)
    assert erased is not None
    assert erased.full_name == "—"
    assert NAME.encode() not in file_bytes(db)


async def test_mydata_and_the_privacy_notice(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    participant = await add_participant(db, clock, full_name=NAME)
    user = new_user("Khadija")
    welcome = await user.send(f"/start {(await invite_for(db, clock, participant)).token}")
    assert "Envoyez /mydata pour voir ce qui est conservé" in welcome.text
    mine = await user.send("/mydata")
    assert "<b>Ce que Relais conserve sur vous</b>" in mine.text
    assert f"Code : {participant.code}" in mine.text
    assert f"Nom : {NAME}" in mine.text
    assert "Compte Telegram" in mine.text
    stranger = await new_user("Omar").send("/mydata")
    assert NAME not in stranger.text


async def test_backup_while_answers_are_written_is_consistent(
    db: Database, clock: FixedClock, content: Content, tmp_path: Path
) -> None:
    participant = await add_participant(db, clock)
    async with db.transaction() as conn:
        attempt = await answers.insert_attempt(
            conn,
            participant_id=participant.id,
            instrument="followup",
            stage="six-months",
            number=1,
            content_version=content.version,
            seed=1,
            now=clock.now(),
        )
    committed: list[int] = []
    fifty = asyncio.Event()

    async def writer() -> None:
        for n in range(300):
            async with db.transaction() as conn:
                await answers.save_answer(conn, attempt.id, f"i{n}", n, clock.now())
            committed.append(n)
            if len(committed) == 50:
                fifty.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    await asyncio.wait_for(fifty.wait(), timeout=5)
    before = len(committed)
    await db.backup(tmp_path / "in-process.db")
    # Another process would use its own connection: the CLI's relais backup.
    other = await Database.open(db.path, migrate=False)
    try:
        await other.backup(tmp_path / "other-connection.db")
    finally:
        await other.close()
    await task
    for name in ("in-process.db", "other-connection.db"):
        copy = await Database.open(tmp_path / name, migrate=False)
        try:
            assert await copy.integrity() == []
            async with copy.read() as conn:
                got = await answers.answers_of(conn, attempt.id)
        finally:
            await copy.close()
        # Every row committed before the backup began is there, and only whole transactions.
        assert len(got) >= before
        assert sorted(got.values()) == list(range(len(got)))


async def test_a_stop_mid_broadcast_leaves_rows_consistent_and_resumes(
    db: Database, clock: FixedClock, api: OfflineBotAPI
) -> None:
    async with db.transaction() as conn:
        for n in range(30):
            api.add_user(950_000 + n, f"U{n}")
            await outbox.enqueue(
                conn,
                key=f"broadcast:9:{n}",
                kind="broadcast",
                source="broadcast:9",
                participant_id=None,
                chat_id=950_000 + n,
                message=OutgoingMessage("Annonce"),
                due_at=clock.now(),
                now=clock.now(),
            )
    async with Bot(BOT_TOKEN, request=api.request()) as bot:
        sender = Sender(bot, db, clock, rate=1000.0)
        await sender.start()
        task = asyncio.create_task(sender.run())
        async with asyncio.timeout(5), api.changed:
            await api.changed.wait_for(lambda: len(api.calls_to("sendMessage")) >= 5)
        sender.stopping.set()  # what SIGTERM does, through the application's post_stop
        sender.wake.set()
        await asyncio.wait_for(task, timeout=5)
        async with db.read() as conn:
            statuses = [r.status for r in await outbox.rows_of(conn)]
        assert "sending" not in statuses
        assert statuses.count(Status.SENT) == len(api.calls_to("sendMessage"))

        resumed = Sender(bot, db, clock, rate=1000.0)
        assert await resumed.start() == 0
        await resumed.drain_all()
    async with db.read() as conn:
        assert {r.status for r in await outbox.rows_of(conn)} == {"sent"}
    assert len(api.calls_to("sendMessage")) == 30  # none twice


def settings_for(tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {"database": tmp_path / "relais.db", "content_dir": CONTENT_DIR}
    return Settings(**{**values, **extra})  # type: ignore[arg-type]


async def test_doctor_names_each_fault_with_what_to_do(tmp_path: Path) -> None:
    missing = await diagnose(settings_for(tmp_path), quick=True)
    assert any("does not exist — check RELAIS_DATABASE" in p for p in missing.problems)

    db = await Database.open(tmp_path / "relais.db")
    now = datetime(2027, 1, 6, 12, tzinfo=UTC)
    async with db.transaction() as conn:
        for status, error in ((Status.PENDING, None), (Status.FAILED, "blocked: Forbidden")):
            await outbox.enqueue(
                conn,
                key=None,
                kind="broadcast",
                source="broadcast:1",
                participant_id=None,
                chat_id=1,
                message=OutgoingMessage("x"),
                due_at=now - timedelta(hours=1),
                now=now - timedelta(hours=1),
                status=status,
                reason=error,
            )
    await db.close()
    report = await diagnose(settings_for(tmp_path), quick=True, now=now)
    assert "database integrity ok" in report.ok
    assert any(
        p.startswith("outbox: 1 message(s) waiting, the oldest for 60 min") for p in report.problems
    )
    assert any("blocked: Forbidden — those people blocked the bot" in p for p in report.problems)

    broken = content_copy(tmp_path)
    (broken / "kat.yaml").write_text("id: kat\nkind: quiz\n", encoding="utf-8")
    bad = await diagnose(settings_for(tmp_path, content_dir=broken), quick=True, now=now)
    assert any(p.startswith("content: ") and "kat.yaml:" in p for p in bad.problems)

    db = await Database.open(tmp_path / "relais.db")
    async with db.transaction() as conn:
        await conn.execute("PRAGMA user_version=99")
    await db.close()
    newer = await diagnose(settings_for(tmp_path), quick=True, now=now)
    assert any("schema 99 is newer than this Relais" in p for p in newer.problems)


async def test_doctor_checks_the_token_and_the_webhook(tmp_path: Path) -> None:
    api = BotAPIEmulator()
    async with EmulatorServer(api) as server:
        common = {"bot_token": BOT_TOKEN, "api_base_url": server.base_url}
        created = await Database.open(tmp_path / "relais.db")
        await created.close()
        good = await diagnose(settings_for(tmp_path, **common), quick=False)
        assert "token valid: the bot is @relais_demo_bot" in good.ok
        assert "webhook: none (polling)" in good.ok

        api.webhook = None
        await api.call("setWebhook", {"url": "https://elsewhere.example.org/hook"})
        assert api.webhook is not None
        api.webhook.last_error_message = "Wrong response from the webhook: 502 Bad Gateway"
        api.webhook.last_error_date = api.now()
        hooked = await diagnose(settings_for(tmp_path, **common), quick=False)
        assert any("is set but Relais runs by polling" in p for p in hooked.problems)
        assert any("502 Bad Gateway — check the reverse proxy" in p for p in hooked.problems)

        api.reject_token = True
        rejected = await diagnose(settings_for(tmp_path, **common), quick=False)
        assert any("RELAIS_BOT_TOKEN was rejected" in p for p in rejected.problems)
        assert all(BOT_TOKEN not in p for p in rejected.problems)


def test_json_logs_are_one_object_per_line_without_the_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", secrets=[BOT_TOKEN], fmt="json")
    try:
        logging.getLogger("relais.test").info("calling %s", f"https://api/bot{BOT_TOKEN}/getMe")
    finally:
        configure_logging("WARNING")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "relais.test"
    assert REDACTED in entry["message"]
    assert BOT_TOKEN not in line
