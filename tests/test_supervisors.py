"""Supervisors (line managers): named by the roster, linked to whom they supervise."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import EXIT_OK, main
from bot.clock import FixedClock
from bot.content import load_content
from bot.sandbox.chat import SimulatedUser
from bot.services.invites import IssuedInvite, issue_supervisor_invites
from bot.services.privacy import forget
from bot.services.roster import RosterError, import_roster, parse_roster
from bot.storage import Database, repo
from bot.storage.supervisors import supervisor_for_user, supervisor_of
from tests.conftest import CONTENT_DIR

COHORTS = ("tanger", "agadir", "marrakech")
WITH_SUPERVISORS = (
    "external_id;full_name;email;cohort;supervisor_email;supervisor_name\n"
    "A-1;Nadia Alaoui;nadia@example.org;tanger;Chef.Tanger@Example.org;Karim Tazi\n"
    "A-2;Youssef Amrani;youssef@example.org;agadir;chef.tanger@example.org;\n"
    "A-3;Sara Bennani;sara@example.org;agadir;;\n"
)


async def _supervisors(db: Database) -> list[tuple[str, str | None, int]]:
    async with (
        db.read() as conn,
        conn.execute(
            "SELECT s.email, s.name, count(v.participant_id) FROM supervisors s"
            " LEFT JOIN supervisions v ON v.supervisor_id = s.id GROUP BY s.id ORDER BY s.email"
        ) as cursor,
    ):
        return [(str(r[0]), r[1], int(r[2])) for r in await cursor.fetchall()]


async def _supervisor_email(db: Database, external_id: str) -> str | None:
    async with db.read() as conn:
        person = await repo.find_participant(conn, external_id=external_id)
        assert person is not None
        found = await supervisor_of(conn, person.id)
    return found.email if found else None


async def test_the_roster_names_each_participants_supervisor_once(
    db: Database, clock: FixedClock
) -> None:
    report = await import_roster(
        db, WITH_SUPERVISORS.encode(), cohort_ids=COHORTS, clock=clock, actor="test"
    )
    assert (report.created, report.supervisions) == (3, 2)
    # One supervisor for both rows (e-mails compare without case), named by the first.
    assert await _supervisors(db) == [("chef.tanger@example.org", "Karim Tazi", 2)]
    assert await _supervisor_email(db, "A-3") is None
    again = await import_roster(
        db, WITH_SUPERVISORS.encode(), cohort_ids=COHORTS, clock=clock, actor="test"
    )
    assert (again.unchanged, again.supervisions) == (3, 0)

    # A file without the column leaves the links alone; with it, an empty cell removes one.
    plain = "external_id;full_name;cohort\nA-1;Nadia Alaoui;tanger\n"
    await import_roster(db, plain.encode(), cohort_ids=COHORTS, clock=clock, actor="test")
    assert await _supervisor_email(db, "A-1") == "chef.tanger@example.org"
    moved = (
        "external_id;full_name;cohort;courriel_superieur\n"
        "A-1;Nadia Alaoui;tanger;\n"
        "A-2;Youssef Amrani;agadir;cheffe.agadir@example.org\n"
    )
    changed = await import_roster(db, moved.encode(), cohort_ids=COHORTS, clock=clock, actor="test")
    assert changed.supervisions == 2
    assert await _supervisor_email(db, "A-1") is None
    assert await _supervisor_email(db, "A-2") == "cheffe.agadir@example.org"
    async with db.read() as conn:
        audits = await repo.audit_entries(conn, "roster.import")
    assert "supervisions" in str(audits[-1])


def test_bad_supervisor_cells_are_named_and_refuse_the_file() -> None:
    bad = (
        "external_id;full_name;email;cohort;supervisor_email;supervisor_name\n"
        "A-1;Nadia Alaoui;nadia@example.org;tanger;not-an-email;\n"
        "A-2;Youssef Amrani;youssef@example.org;agadir;youssef@example.org;\n"
        "A-3;Sara Bennani;sara@example.org;agadir;;Karim Tazi\n"
        "A-4;Omar Idrissi;omar@example.org;tanger;chef@example.org;Karim Tazi\n"
        "A-5;Leila Fassi;leila@example.org;tanger;chef@example.org;K. Tazi\n"
    )
    with pytest.raises(RosterError) as caught:
        parse_roster(bad.encode(), COHORTS)
    messages = [str(p) for p in caught.value.problems]
    assert "row 2, column supervisor_email: not an e-mail address: 'not-an-email'" in messages
    assert "row 3, column supervisor_email: is the participant's own e-mail" in messages
    assert "row 4, column supervisor_name: needs a supervisor_email" in messages
    assert (
        "row 6, column supervisor_name: 'chef@example.org' is named 'Karim Tazi' on row 5"
        in messages
    )
    with pytest.raises(RosterError, match="supervisor_name needs a supervisor_email column"):
        parse_roster(b"external_id;full_name;cohort;supervisor_name\nA-1;N;tanger;K\n", COHORTS)


async def test_erasing_a_participant_removes_the_link_to_their_supervisor(
    db: Database, clock: FixedClock
) -> None:
    await import_roster(
        db, WITH_SUPERVISORS.encode(), cohort_ids=COHORTS, clock=clock, actor="test"
    )
    await forget(db, "A-1", with_answers=False, actor="test", now=clock.now())
    async with (
        db.read() as conn,
        conn.execute(
            "SELECT count(*) FROM supervisions v JOIN participants p ON p.id = v.participant_id"
            " WHERE p.forgotten_at IS NOT NULL"
        ) as cursor,
    ):
        row = await cursor.fetchone()
    assert row is not None
    assert row[0] == 0
    # The supervisor stays (they still supervise Youssef), with one link fewer.
    assert await _supervisors(db) == [("chef.tanger@example.org", "Karim Tazi", 1)]


async def _enrolled_supervisor(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> tuple[SimulatedUser, list[IssuedInvite]]:
    await import_roster(
        db, WITH_SUPERVISORS.encode(), cohort_ids=COHORTS, clock=clock, actor="test"
    )
    issued = await issue_supervisor_invites(db, clock=clock, ttl=timedelta(days=30), actor="t")
    supervisor = new_user("Karim")
    turn = await supervisor.send(f"/start {issued[0].token}")
    assert "You are enrolled as a line manager" in turn.text or "supérieur" in turn.text
    return supervisor, issued


async def test_a_supervisor_enrols_once_by_their_own_invitation(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> None:
    supervisor, issued = await _enrolled_supervisor(db, clock, new_user)
    # One supervisor named by the roster: one invitation, for them.
    assert len(issued) == 1
    assert issued[0].supervisor is not None
    assert issued[0].supervisor.email == "chef.tanger@example.org"
    async with db.read() as conn:
        bound = await supervisor_for_user(conn, supervisor.user_id)
    assert bound is not None
    assert bound.email == "chef.tanger@example.org"
    # Single use: someone else opening the same link is refused and bound to nothing.
    other = new_user("Intrus")
    refused = await other.send(f"/start {issued[0].token}")
    assert "déjà été utilisé" in refused.text
    async with db.read() as conn:
        assert await supervisor_for_user(conn, other.user_id) is None
    # Enrolled supervisors get no new invitation; a participant's account is not reused.
    assert await issue_supervisor_invites(db, clock=clock, ttl=timedelta(days=30), actor="t") == []


async def test_a_supervisor_sees_no_participant_results_or_exports(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> None:
    supervisor, _ = await _enrolled_supervisor(db, clock, new_user)
    for command in ("/me", "/mydata", "/report", "/export", "/help", "/start"):
        turn = await supervisor.send(command)
        text = turn.text
        # Told what they are, never anyone's name, cohort, score or certificate.
        assert "supérieur" in text or "line manager" in text, (command, text)
        for leak in ("Nadia", "Youssef", "tanger", "Tanger", "%", "certificat obtenu"):
            assert leak not in text, (command, leak, text)
        assert not [m for m in turn.sent if m.document is not None], command


def test_relais_supervisors_invite_writes_one_private_link_per_supervisor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in list(os.environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_BOT_USERNAME", "relais_test_bot")
    roster = tmp_path / "roster.csv"
    roster.write_text(WITH_SUPERVISORS, encoding="utf-8")
    assert main(["roster", "import", str(roster)]) == EXIT_OK
    out = tmp_path / "supervisors.csv"
    assert main(["supervisors", "invite", "--out", str(out)]) == EXIT_OK
    assert "1 invite(s) written" in capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert [(r["full_name"], r["email"]) for r in rows] == [
        ("Karim Tazi", "chef.tanger@example.org")
    ]
    assert rows[0]["link"].startswith("https://t.me/relais_test_bot?start=")
    assert out.stat().st_mode & 0o077 == 0  # names, e-mails and live links: owner only


def test_the_supervisors_questionnaire_is_kept_apart_from_the_participants() -> None:
    content = load_content(CONTENT_DIR)
    # Every participant path (what is open, campaigns, tallies, scores, the participant
    # export) reads ``instruments``: the line managers' questionnaire is not among them.
    assert "supervisors" in content.supervisor_instruments
    assert "supervisors" not in content.instruments
    assert content.instrument("supervisors") is None
    assert all(i.id != "supervisors" for i in content.for_campaign(None))
    # The checks, item versions and the codebook see every file, in the report's order.
    assert list(content.all_instruments)[-1] == "supervisors"
