"""The command line as a package: every command reachable and helped, exports audited alike."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import EXIT_OK, main, parser
from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.storage import Database, repo
from bot.storage.repo import Role
from tests.conftest import CONTENT_DIR, staff_invite
from tests.test_export import populate

COMMANDS = {
    "run", "check", "demo", "sandbox", "roster", "attendance", "attempts", "certificates",
    "reload", "broadcast", "export", "backup", "restore", "doctor", "forget", "report",
    "invites", "staff", "supervisors",
}  # fmt: skip
GROUPS = {
    "roster": {"import"},
    "attendance": {"import", "import-zoom", "import-moodle", "review", "list", "resolve"},
    "attempts": {"reopen"},
    "certificates": {"list", "approve", "issue", "revoke", "verify"},
    "staff": {"invite", "list", "revoke"},
    "supervisors": {"invite", "forget"},
}


def _choices(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_relais_help_lists_every_command_and_each_group_its_actions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    shown = capsys.readouterr().out
    for name in COMMANDS:
        assert f"    {name}" in shown
    for name, actions in GROUPS.items():
        with pytest.raises(SystemExit) as stopped:
            main([name, "--help"])
        assert stopped.value.code == 0
        group_help = capsys.readouterr().out
        assert group_help.startswith(f"usage: relais {name} ")
        for action in actions:
            assert f"    {action}" in group_help


def test_every_command_and_action_says_what_runs_it() -> None:
    top = _choices(parser())
    assert set(top) == COMMANDS
    for name, sub in top.items():
        if name in GROUPS:
            leaves = _choices(sub)
            assert set(leaves) == GROUPS[name]
            assert all(callable(leaf.get_default("run")) for leaf in leaves.values())
        else:
            assert callable(sub.get_default("run")), name


def test_a_group_without_its_action_is_refused_with_the_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["certificates"])
    assert stopped.value.code == 2
    assert "usage: relais certificates" in capsys.readouterr().err


async def _responses_details(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        entries = await repo.audit_entries(conn)
    return [e.details for e in entries if e.action == "export.responses"]


async def test_an_export_from_the_chat_audits_every_filter(
    db: Database, clock: FixedClock, content: Content, new_user: Any
) -> None:
    await populate(db, clock, content, n=6)
    evaluator = new_user("Karim")
    await evaluator.send(f"/start {(await staff_invite(db, clock, Role.EVALUATOR)).token}")
    sent = await evaluator.send("/export csv kat tanger")
    assert sent.last.document is not None
    [details] = await _responses_details(db)
    assert details == {
        "format": "csv",
        "instrument": "kat",
        "cohort": "tanger",
        "since": None,
        "until": None,
        "answers": details["answers"],
        "supervisors": False,
    }
    assert details["answers"] > 0


def test_an_export_from_the_terminal_audits_the_same_details(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "relais.db"
    monkeypatch.setenv("RELAIS_DATABASE", str(database))
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))
    monkeypatch.chdir(tmp_path)

    async def fill() -> None:
        async with Database.opened(database) as db:
            clock = FixedClock(datetime(2027, 1, 6, tzinfo=UTC))
            await populate(db, clock, load_content(CONTENT_DIR), n=6)

    async def audited() -> list[dict[str, Any]]:
        async with Database.opened(database) as db:
            return await _responses_details(db)

    asyncio.run(fill())
    argv = ["export", "--format", "csv", "--instrument", "kat", "--cohort", "tanger"]
    assert main([*argv, "--since", "2026-12-01", "--out", str(tmp_path / "x.csv")]) == EXIT_OK
    [details] = asyncio.run(audited())
    assert details == {
        "format": "csv",
        "instrument": "kat",
        "cohort": "tanger",
        "since": "2026-12-01",
        "until": None,
        "answers": details["answers"],
        "supervisors": False,
    }
    assert details["answers"] > 0
