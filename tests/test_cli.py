"""The ``relais`` command end to end: check, roster import, invites, staff, demo."""

from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest

from bot.cli import EXIT_CONFIG, EXIT_INVALID, EXIT_OK, main
from bot.storage.lock import InstanceLock

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "roster-sample.csv"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(ROOT / "conversations"))
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_BOT_USERNAME", "relais_test_bot")


def test_check_accepts_the_shipped_content(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == EXIT_OK
    out = capsys.readouterr().out
    assert (
        "content valid: certificates.yaml, followup.yaml, kat.yaml, needs.yaml, programme.yaml, "
        "satisfaction.yaml" in out
    )
    assert "en: every text translated" in out
    assert "ar: every text translated" in out


def test_check_lists_untranslated_texts_per_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "content"
    shutil.copytree(ROOT / "conversations", folder)
    path = folder / "followup.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines) if line.strip().startswith("en:"))
    del lines[number]
    path.write_text("".join(lines), encoding="utf-8")
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(folder))
    assert main(["check"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "en: 1 text(s) will show in French:" in out
    purpose_line = next(i for i, line in enumerate(lines) if line.startswith("purpose:")) + 1
    assert f"followup.yaml:{purpose_line}: purpose: no en text" in out
    assert "ar: every text translated" in out


def test_check_names_every_problem_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "content"
    shutil.copytree(ROOT / "conversations", broken)
    path = broken / "programme.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("start: 2027-01-13T10:00", "start: 2027-02-30T10:00", 1)
    assert "2027-02-30" in text
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(broken))
    assert main(["check"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "programme.yaml:" in err
    assert "start" in err


def test_bad_setting_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RELAIS_ADMIN_IDS", "twelve")
    assert main(["check"]) == EXIT_CONFIG
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "RELAIS_ADMIN_IDS" in err[0]


def test_run_without_token_names_the_setting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == EXIT_CONFIG
    assert "RELAIS_BOT_TOKEN" in capsys.readouterr().err


def test_roster_import_then_invites_with_qr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["roster", "import", str(SAMPLE)]) == EXIT_OK
    assert "100 created" in capsys.readouterr().out
    assert main(["roster", "import", str(SAMPLE)]) == EXIT_OK
    assert "0 created" in capsys.readouterr().out

    out = tmp_path / "links.csv"
    assert main(["invites", "--out", str(out), "--qr", str(tmp_path / "qr")]) == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    links = [row["link"] for row in rows]
    assert len(links) == 100
    assert len(set(links)) == 100
    assert all(link.startswith("https://t.me/relais_test_bot?start=") for link in links)
    pngs = list((tmp_path / "qr").glob("*.png"))
    assert len(pngs) == 100


def test_roster_with_bad_rows_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    header = [h.strip().lower() for h in lines[0].split(";")]
    cohort = header.index("cohort")
    bad = list(lines)
    for row_index in (4, 9):  # spreadsheet rows 5 and 10
        cells = bad[row_index].split(";")
        cells[cohort] = "casablanca"
        bad[row_index] = ";".join(cells)
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(bad) + "\n", encoding="utf-8")
    assert main(["roster", "import", str(broken)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "row 5" in err
    assert "row 10" in err
    assert main(["invites", "--out", str(tmp_path / "none.csv")]) == EXIT_OK
    assert "0 invite" in capsys.readouterr().out


def test_staff_invite_list_and_revoke(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    from datetime import UTC, datetime

    from bot.settings import Settings
    from bot.storage import Database, repo

    assert main(["staff", "invite", "--role", "evaluator", "--label", "Evaluation team"]) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://t.me/relais_test_bot?start=")

    async def grant() -> None:
        async with Database.opened(Settings().database) as db, db.transaction() as conn:
            await repo.grant_role(
                conn,
                123,
                repo.Role.EVALUATOR,
                chat_id=123,
                display_name="Amina",
                granted_by="test",
                now=datetime(2027, 1, 6, tzinfo=UTC),
            )

    asyncio.run(grant())
    monkeypatch.setenv("RELAIS_ADMIN_IDS", "[77]")
    # The chat's /staff list: stored roles with their grant date, then the settings' admins.
    assert main(["staff", "list"]) == EXIT_OK
    assert capsys.readouterr().out.splitlines() == [
        "123\tevaluator\tAmina\t2027-01-06",
        "77\tadmin\t(RELAIS_ADMIN_IDS)\t-",
    ]
    assert main(["staff", "revoke", "123", "--role", "evaluator"]) == EXIT_OK
    assert main(["staff", "revoke", "123", "--role", "evaluator"]) == EXIT_INVALID


def test_broadcast_from_the_command_line_queues_one_row_per_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    from datetime import UTC, datetime

    from bot.storage import Database, outbox, repo

    NOW = datetime(2027, 1, 6, tzinfo=UTC)

    assert main(["roster", "import", str(SAMPLE)]) == EXIT_OK

    async def bind_two() -> None:
        db = await Database.open(tmp_path / "relais.db")
        try:
            async with db.transaction() as conn:
                people = await repo.list_participants(conn)
                for n, person in enumerate(people[:2]):
                    await repo.bind_participant(conn, person.id, 5000 + n, 5000 + n, NOW)
        finally:
            await db.close()

    asyncio.run(bind_two())
    capsys.readouterr()
    assert main(["broadcast", "--audience", "nobody:x", "--text", "x", "--yes"]) == EXIT_INVALID
    code = main(
        ["broadcast", "--audience", "all", "--text", "Bonjour à tous", "--yes", "--no-wait"]
    )
    assert code == EXIT_OK
    out = capsys.readouterr().out
    assert "broadcast #1: 2 message(s) queued" in out
    assert "the bot is not running" in out

    async def queued() -> list[outbox.Row]:
        db = await Database.open(tmp_path / "relais.db")
        try:
            async with db.read() as conn:
                return await outbox.rows_of(conn, "broadcast:1")
        finally:
            await db.close()

    rows = asyncio.run(queued())
    assert sorted(r.chat_id or 0 for r in rows) == [5000, 5001]
    assert {r.message.text for r in rows} == {"Bonjour à tous"}


def test_broadcast_from_the_command_line_shows_each_change_of_progress_until_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import html
    from datetime import UTC, datetime

    from bot.cli import broadcast as cli_broadcast
    from bot.content import load_content
    from bot.i18n import Translator, load_catalogs
    from bot.services.broadcasts import Progress
    from bot.settings import Settings
    from bot.storage import Database, outbox, repo
    from bot.storage.broadcasts import BroadcastStatus, get
    from bot.storage.outbox import Status
    from bot.views.broadcast import progress_text

    NOW = datetime(2027, 1, 6, tzinfo=UTC)
    path = tmp_path / "relais.db"
    assert main(["roster", "import", str(SAMPLE)]) == EXIT_OK

    async def bind_three() -> None:
        async with Database.opened(path) as db, db.transaction() as conn:
            people = await repo.list_participants(conn)
            for n, person in enumerate(people[:3]):
                await repo.bind_participant(conn, person.id, 5000 + n, 5000 + n, NOW)

    asyncio.run(bind_three())
    # The running bot, played between the command's looks at the outbox: one message sent,
    # then nothing for a while, then one refused by Telegram and the last one sent.
    steps: list[list[tuple[Status, str | None]]] = [
        [(Status.SENT, None)],
        [],
        [(Status.FAILED, "Forbidden: bot was blocked by the user"), (Status.SENT, None)],
    ]
    pauses = 0

    async def the_bot_sends() -> None:
        nonlocal pauses
        pauses += 1
        async with Database.opened(path) as db, db.transaction() as conn:
            pending = [
                r for r in await outbox.rows_of(conn, "broadcast:1") if r.status == "pending"
            ]
            for row, (status, error) in zip(pending, steps.pop(0), strict=False):
                await outbox.mark(conn, row.id, status, now=NOW, error=error)

    monkeypatch.setattr(cli_broadcast, "pause", the_bot_sends)
    capsys.readouterr()
    assert main(["broadcast", "--audience", "all", "--text", "Bonjour", "--yes"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()

    # Each change printed once, as the chat shows it, in the default language, then the end.
    load_catalogs()
    settings = Settings(content_dir=ROOT / "conversations", database=path)
    t = Translator(settings.default_locale, load_content(settings.content_dir).programme.tz)

    def shown(progress: Progress) -> list[str]:
        return html.unescape(progress_text(t, progress, settings.outbox_rate)).splitlines()

    assert out[0] == "broadcast #1: 3 message(s) queued"
    assert out[2:] == [
        *shown(Progress(3, 0, 0, 0)),
        *shown(Progress(3, 1, 0, 0)),
        *shown(Progress(3, 2, 1, 0, {"Forbidden: bot was blocked by the user": 1})),
    ]
    assert pauses == 3  # it stopped once every message was handled
    assert steps == []

    async def status() -> BroadcastStatus:
        async with Database.opened(path) as db, db.read() as conn:
            found = await get(conn, 1)
        assert found is not None
        return found.status

    assert asyncio.run(status()) == BroadcastStatus.DONE


def test_reload_without_a_running_bot_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reload"]) == EXIT_INVALID
    assert "no running bot found" in capsys.readouterr().err


def test_backup_restore_and_forget_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["roster", "import", str(SAMPLE)]) == EXIT_OK
    backup = tmp_path / "backups" / "nightly.db"
    assert main(["backup", str(backup)]) == EXIT_OK
    assert "integrity ok" in capsys.readouterr().out
    assert main(["backup", str(backup)]) == EXIT_INVALID  # never overwrites a backup
    assert main(["forget", "AN-0001"]) == EXIT_OK
    assert "identity and Telegram binding erased" in capsys.readouterr().out
    assert b"Omar Skalli" not in (tmp_path / "relais.db").read_bytes()
    assert main(["forget", "AN-9999"]) == EXIT_INVALID
    assert main(["restore", str(backup)]) == EXIT_OK
    assert b"Omar Skalli" in (tmp_path / "relais.db").read_bytes()
    assert len(list(tmp_path.glob("relais.db.before-restore-*"))) == 1
    with InstanceLock(tmp_path / "relais.db"):  # as a running bot holds it
        assert main(["restore", str(backup)]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert f"already runs on this database (pid {os.getpid()}" in err
    assert "stop it before restoring" in err


def test_a_lost_link_is_replaced_from_the_terminal_as_in_the_chat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.services.invites import hash_token
    from bot.storage import Database, repo

    assert main(["roster", "import", str(SAMPLE)]) == EXIT_OK
    everyone = tmp_path / "links.csv"
    assert main(["invites", "--out", str(everyone)]) == EXIT_OK
    first = next(csv.DictReader(io.StringIO(everyone.read_text("utf-8-sig")), delimiter=";"))
    one = tmp_path / "one.csv"
    capsys.readouterr()
    assert main(["invites", "--participant", first["email"], "--out", str(one)]) == EXIT_OK
    assert "1 invite written" in capsys.readouterr().out
    (again,) = list(csv.DictReader(io.StringIO(one.read_text("utf-8-sig")), delimiter=";"))
    assert again["email"] == first["email"]
    assert again["link"] != first["link"]

    async def usable(link: str) -> bool:
        token = link.rsplit("=", 1)[1]
        async with Database.opened(tmp_path / "relais.db") as db, db.read() as conn:
            invite = await repo.invite_by_hash(conn, hash_token(token))
        return invite is not None and invite.revoked_at is None

    assert asyncio.run(usable(again["link"]))
    assert not asyncio.run(usable(first["link"]))
    assert main(["invites", "--participant", "nobody@example.org", "--out", str(one)]) == (
        EXIT_INVALID
    )
    assert "no participant" in capsys.readouterr().err
