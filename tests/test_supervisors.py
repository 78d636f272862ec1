"""Supervisors (line managers): named by the roster, linked to whom they supervise."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.callbacks import (
    SUPERVISOR_MENU_DATA,
    Action,
    Tap,
    parse_supervisor_open,
    parse_supervisor_tap,
    parse_tap,
    supervisor_open_data,
    supervisor_tap_data,
    tap_data,
)
from bot.cli import EXIT_INVALID, EXIT_OK, main
from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.i18n import Translator
from bot.sandbox.chat import SimulatedUser
from bot.services.invites import IssuedInvite, issue_supervisor_invites
from bot.services.privacy import forget
from bot.services.questionnaire import Refused, Shown, type_answer
from bot.services.roster import RosterError, import_roster, parse_roster
from bot.services.supervising import ForgetSupervisorError, forget_supervisor
from bot.services.versions import pending_changes, register
from bot.storage import Database, repo
from bot.storage.answers import Attempt
from bot.storage.supervisors import supervisor_for_user, supervisor_of
from bot.views.questionnaire import render
from tests.conftest import CONTENT_DIR, invite_for

COHORTS = ("tanger", "agadir", "marrakech")


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Content:
    """The shipped content, the supervisors' stage opening after each cohort's module 3
    (Tanger on 18 February, Agadir on 25 February) instead of six months after the common
    final workshop: a window that differs by the supervisee's cohort."""
    folder = tmp_path_factory.mktemp("supervisors") / "content"
    shutil.copytree(CONTENT_DIR, folder)
    path = folder / "supervisors.yaml"
    text = path.read_text(encoding="utf-8")
    assert "opens: {after: atelier-final-rabat, days: 180}" in text
    path.write_text(
        text.replace("opens: {after: atelier-final-rabat, days: 180}", "opens: {after: module-3}"),
        encoding="utf-8",
    )
    return load_content(folder)


# Between the two openings, then once both are open.
TANGER_OPEN = datetime(2027, 2, 20, 9, 0, tzinfo=UTC)
BOTH_OPEN = datetime(2027, 2, 26, 9, 0, tzinfo=UTC)
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
        # /mydata shows the supervisor's own e-mail (it contains a city); nothing else.
        text = turn.text.replace("chef.tanger@example.org", "")
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

    # Forgotten on request, from the same terminal; a second time, nobody by that e-mail.
    assert main(["supervisors", "forget", "chef.tanger@example.org"]) == EXIT_OK
    assert "answers kept under their pseudonym" in capsys.readouterr().out
    assert main(["supervisors", "forget", "chef.tanger@example.org"]) == EXIT_INVALID
    assert "no supervisor 'chef.tanger@example.org'" in capsys.readouterr().err
    assert main(["supervisors", "invite", "--out", str(out)]) == EXIT_OK
    assert "0 invite(s) written" in capsys.readouterr().out


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


# --- a supervisor answers, once for each person they supervise ----------------------------

TWO_SUPERVISEES = (
    "external_id;full_name;email;cohort;supervisor_email;supervisor_name\n"
    "A-1;Nadia Alaoui;nadia@example.org;tanger;chef@example.org;Karim Tazi\n"
    "A-2;Youssef Amrani;youssef@example.org;agadir;chef@example.org;\n"
    "A-3;Sara Bennani;sara@example.org;agadir;cheffe@example.org;Leila Fassi\n"
)


async def _rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every questionnaire row, the participants' and the supervisors': what a refusal must
    leave exactly as it was."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with db.read() as conn:
        for table in ("attempts", "answers", "supervisor_attempts", "supervisor_answers"):
            async with conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2") as cursor:
                found[table] = [tuple(r) for r in await cursor.fetchall()]
    return found


async def _participant_id(db: Database, external_id: str) -> int:
    async with db.read() as conn:
        person = await repo.find_participant(conn, external_id=external_id)
    assert person is not None
    return person.id


async def _karim(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> SimulatedUser:
    """Karim Tazi, supervisor of Nadia (Tanger) and Youssef (Agadir), enrolled in English."""
    await import_roster(db, TWO_SUPERVISEES.encode(), cohort_ids=COHORTS, clock=clock, actor="t")
    issued = await issue_supervisor_invites(db, clock=clock, ttl=timedelta(days=60), actor="t")
    token = next(i.token for i in issued if i.supervisor and i.supervisor.name == "Karim Tazi")
    karim = new_user("Karim", language_code="en")
    turn = await karim.send(f"/start {token}")
    assert "You are enrolled as a line manager" in turn.text
    return karim


async def _answer_all(user: SimulatedUser, example: str) -> None:
    """Go through the supervisors' questionnaire on the screen shown last, then send it."""
    await _answer_up_to_the_example(user)
    await user.send(example)
    await user.press("Send")


async def _answer_up_to_the_example(user: SimulatedUser) -> None:
    for label in ("No", "4", "3"):
        await user.press(label)
    await user.press("☐ Regular discussions")
    await user.press("Confirm")
    await user.press("☐ Workload")
    await user.press("Confirm")
    await user.press("5")


async def test_a_supervisor_answers_for_each_person_in_that_persons_window(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> None:
    karim = await _karim(db, clock, new_user)
    nadia, sara = await _participant_id(db, "A-1"), await _participant_id(db, "A-3")

    # Before any window: when the first one opens, nobody named.
    menu = (await karim.send("/start")).last
    assert "No questionnaire is waiting for you now" in menu.text
    assert "18 February 2027" in menu.text or "February 18, 2027" in menu.text
    assert "Nadia" not in menu.text
    assert not menu.buttons

    # Tanger's window is open, Agadir's not yet: only Nadia is listed.
    clock.set(TANGER_OPEN)
    menu = (await karim.press_data(SUPERVISOR_MENU_DATA)).last
    assert menu.button_texts == ["Start — Nadia Alaoui"]
    assert "Youssef" not in menu.text

    clock.set(BOTH_OPEN)
    menu = (await karim.send("/me")).last
    assert menu.button_texts == ["Start — Nadia Alaoui", "Start — Youssef Amrani"]
    # Nothing of the person but their name: no cohort, code, score or certificate.
    for leak in ("tanger", "Tanger", "agadir", "Agadir", "%", "certificate"):
        assert leak not in menu.text, leak

    # The questionnaire is about Nadia: {name} is her name, in the message the button was on.
    opened = await karim.press("Start — Nadia Alaoui", menu)
    screen = opened.edited[0]
    assert "Nadia Alaoui took the training" in screen.text
    assert "{name}" not in screen.text
    assert "Question 1/7" in screen.text
    await _answer_all(karim, "She now checks every offer with the employer.")

    # Sent once, under a pseudonym; Youssef is still waiting.
    after = karim.chat[-1]
    assert after.button_texts == ["Start — Youssef Amrani"]
    async with (
        db.read() as conn,
        conn.execute(
            "SELECT a.participant_id, a.pseudonym, a.submitted_at, x.item, x.value,"
            " x.item_version FROM supervisor_attempts a JOIN supervisor_answers x"
            " ON x.attempt_id = a.id ORDER BY x.item"
        ) as cursor,
    ):
        stored = [tuple(r) for r in await cursor.fetchall()]
    assert {r[0] for r in stored} == {nadia}
    pseudonym = stored[0][1]
    assert re.fullmatch(r"S-[0-9A-Z]{8}", pseudonym)
    assert {r[1] for r in stored} == {pseudonym}
    assert all(r[2] is not None and r[5] for r in stored)  # sent, each answer versioned
    assert dict((r[3], r[4]) for r in stored) == {
        "change": '"none"',
        "fair": "4",
        "shares": "3",
        "support": '["talks"]',
        "obstacles": '["workload"]',
        "benefit": "5",
        "example": '"She now checks every offer with the employer."',
    }
    async with db.read() as conn:
        code = await repo.find_participant(conn, external_id="A-1")
    assert code is not None
    assert code.code != pseudonym
    # Nothing in the participants' own tables.
    assert (await _rows(db))["attempts"] == []

    # Sent: the same button is refused, and the person is no longer listed.
    before = await _rows(db)
    again = await karim.press_data(supervisor_open_data(nadia, "supervisors", "six-months"))
    assert "already been sent" in again.answers[0]["text"]
    # Someone Karim does not supervise (Sara is Leila's): refused, nothing written.
    forged = await karim.press_data(supervisor_open_data(sara, "supervisors", "six-months"))
    assert forged.answers[0]["text"] == "This button is no longer valid."
    # The participants' prefix on his attempt, a stale revision, another's attempt id.
    (attempt_id,) = {r[0] for r in before["supervisor_attempts"]}
    for data in (
        tap_data(attempt_id, 0, Action.ANSWER, "none"),
        supervisor_tap_data(attempt_id, 0, Action.ANSWER, "none"),
        supervisor_tap_data(attempt_id + 1, 1, Action.ANSWER, "none"),
        "so:999999:supervisors:six-months",
        "so:1:../etc:six-months",
    ):
        await karim.press_data(data)
    assert await _rows(db) == before


async def test_a_participant_never_gets_the_supervisors_questionnaire(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> None:
    karim = await _karim(db, clock, new_user)
    clock.set(BOTH_OPEN)
    menu = (await karim.send("/start")).last
    opened = await karim.press("Start — Youssef Amrani", menu)
    screen = opened.edited[0]
    karim_button = screen.buttons[0][0]["callback_data"]
    assert parse_supervisor_tap(karim_button) is not None

    async with db.read() as conn:
        person = await repo.find_participant(conn, external_id="A-2")
    assert person is not None
    youssef = new_user("Youssef", language_code="en")
    await youssef.send(f"/start {(await invite_for(db, clock, person)).token}")
    # His own list and /me never offer the line managers' questionnaire.
    for command in ("/start", "/me"):
        turn = await youssef.send(command)
        assert "line manager" not in turn.text
        assert "Six months after the training" not in turn.text
        buttons = [b["callback_data"] for m in turn.sent for row in m.buttons for b in row]
        assert not [b for b in buttons if b.startswith(("so:", "s:", "sm"))], buttons
    # Neither its buttons nor its list: Karim's tap and menu button do nothing for him.
    before = await _rows(db)
    refused = await youssef.press_data(karim_button)
    assert refused.answers[0]["text"] == "This button is no longer valid."
    menu_tap = await youssef.press_data(SUPERVISOR_MENU_DATA)
    assert not menu_tap.sent
    opening = await youssef.press_data(supervisor_open_data(person.id, "supervisors", "six-months"))
    assert not opening.sent
    assert not opening.edited
    assert await _rows(db) == before
    # And a supervisor's tap on a participant's button is refused the same way.
    await youssef.send("/me")
    own = next(
        b["callback_data"]
        for m in youssef.chat
        for row in m.buttons
        for b in row
        if b["callback_data"].startswith("qo:")
    )
    started = await youssef.press_data(own)
    participant_tap = started.edited[0].buttons[0][0]["callback_data"]
    assert parse_tap(participant_tap) is not None
    before = await _rows(db)
    taken = await karim.press_data(participant_tap)
    assert taken.answers[0]["text"] == "This button is no longer valid."
    assert await _rows(db) == before


async def test_a_supervision_moved_elsewhere_closes_the_attempts_about_that_person(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> None:
    karim = await _karim(db, clock, new_user)
    clock.set(BOTH_OPEN)
    opened = await karim.press("Start — Nadia Alaoui", (await karim.send("/start")).last)
    tap = opened.edited[0]
    await karim.press("No", tap)  # one answer given, the attempt is Karim's and open
    # Nadia now reports to Leila: Karim can no longer open or tap anything about her.
    moved = TWO_SUPERVISEES.replace(
        "tanger;chef@example.org;Karim Tazi", "tanger;cheffe@example.org;"
    )
    await import_roster(db, moved.encode(), cohort_ids=COHORTS, clock=clock, actor="t")
    before = await _rows(db)
    screen = karim.chat[-1]
    refused = await karim.press("4", screen)
    assert refused.answers[0]["text"] == "This button is no longer valid."
    nadia = await _participant_id(db, "A-1")
    reopened = await karim.press_data(supervisor_open_data(nadia, "supervisors", "six-months"))
    assert reopened.answers[0]["text"] == "This button is no longer valid."
    # A typed answer finds nothing of hers either.
    typed = await karim.send("An example")
    assert "line manager" in typed.text
    assert await _rows(db) == before
    menu = (await karim.send("/start")).last
    assert menu.button_texts == ["Start — Youssef Amrani"]


async def test_a_supervisors_data_is_their_own(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> None:
    karim = await _karim(db, clock, new_user)
    clock.set(BOTH_OPEN)
    opened = await karim.press("Start — Nadia Alaoui", (await karim.send("/start")).last)
    assert opened.edited
    await _answer_all(karim, "An example")
    text = (await karim.send("/mydata")).text
    assert "Karim Tazi" in text
    assert "chef@example.org" in text
    assert "1 questionnaire answered as a line manager" in text
    for leak in ("Nadia", "Youssef", "Sara", "tanger", "agadir", "A-1"):
        assert leak not in text, leak


def test_the_supervisees_name_fills_every_text_escaped(content: Content) -> None:
    instrument = content.supervisor_instrument("supervisors")
    assert instrument is not None
    stage = instrument.stages[0]
    epoch = datetime(2027, 1, 1, tzinfo=UTC)
    attempt = Attempt(
        1, 1, "supervisors", stage.id, 1, "", 1, 0, 3, None, None, None, epoch, epoch, None
    )
    fair = instrument.position(next(i for i in instrument.items if i.id == "fair"))
    at_fair = Attempt(
        1, 1, "supervisors", stage.id, 1, "", 1, fair, 3, None, None, None, epoch, epoch, None
    )
    t = Translator("fr", content.programme.tz)
    name = "Nadia <b>&</b>"
    first = render(
        instrument, stage, attempt, {"change": "none"}, t, tap=supervisor_tap_data, name=name
    )
    assert "Nadia &lt;b&gt;&amp;&lt;/b&gt; a suivi la formation" in first.text
    assert all(parse_supervisor_tap(b.data) for row in first.buttons for b in row)
    later = render(
        instrument, stage, at_fair, {"change": "none"}, t, tap=supervisor_tap_data, name=name
    )
    assert "<b>Nadia &lt;b&gt;&amp;&lt;/b&gt; applique les principes" in later.text
    assert "{name}" not in first.text + later.text


async def test_a_supervisors_questionnaire_in_progress_follows_a_content_edit(
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: Callable[..., SimulatedUser],
    tmp_path: Path,
) -> None:
    karim = await _karim(db, clock, new_user)
    clock.set(BOTH_OPEN)
    await karim.press("Start — Nadia Alaoui", (await karim.send("/start")).last)
    await karim.press("No")
    on_fair = karim.chat[-1]
    assert "applies the fair recruitment principles" in on_fair.text
    async with (
        db.read() as conn,
        conn.execute(
            "SELECT count(*) FROM item_versions WHERE instrument = 'supervisors'"
        ) as cursor,
    ):
        row = await cursor.fetchone()
    assert row is not None
    assert row[0] == 8  # registered at start-up, as the participants' instruments are

    # The course team adds a question at the top: Karim stays on the same question (by id),
    # and the screen he has is stale rather than applied to another question.
    folder = tmp_path / "edited"
    shutil.copytree(content.files[0].parent, folder)
    path = folder / "supervisors.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "items:\n",
            "items:\n  - id: overall\n    type: scale\n    text: {fr: Dans l'ensemble ?,"
            " en: Overall?}\n    labels: {low: {fr: Non, en: No}, high: {fr: Oui, en: Yes}}\n",
            1,
        ),
        encoding="utf-8",
    )
    edited = load_content(folder)
    # relais check tells the course team first, as for the participants' questionnaires.
    assert [str(c) for c in await pending_changes(db, edited)] == [
        "supervisors overall: added: asked to the 1 person(s) who have a questionnaire in"
        " progress, wherever they are in it"
    ]
    done = await register(db, edited, clock.now())
    assert done.moved == 1
    async with (
        db.read() as conn,
        conn.execute("SELECT position, revision FROM supervisor_attempts") as cursor,
    ):
        ((position, revision),) = [tuple(r) for r in await cursor.fetchall()]
    instrument = edited.supervisor_instrument("supervisors")
    assert instrument is not None
    assert instrument.items[position].id == "fair"
    before = await _rows(db)
    stale = await karim.press("4", on_fair)
    assert stale.answers[0]["text"] == "This button is no longer valid."
    assert await _rows(db) == before
    assert revision > 0


async def test_a_supervisors_typed_answer_delivered_twice_is_taken_once(
    db: Database, clock: FixedClock, content: Content, new_user: Callable[..., SimulatedUser]
) -> None:
    karim = await _karim(db, clock, new_user)
    clock.set(BOTH_OPEN)
    await karim.press("Start — Youssef Amrani", (await karim.send("/start")).last)
    await _answer_up_to_the_example(karim)
    async with db.read() as conn:
        supervisor = await supervisor_for_user(conn, karim.user_id)
    assert supervisor is not None
    t = Translator("en", content.programme.tz)
    first = await type_answer(db, content, supervisor, "Shares it.", t, clock.now(), 10_001)
    assert isinstance(first, Shown)
    assert "Youssef Amrani" in first.screen.text  # the summary names him
    before = await _rows(db)
    again = await type_answer(db, content, supervisor, "Shares it.", t, clock.now(), 10_001)
    assert isinstance(again, Refused)
    assert await _rows(db) == before


async def test_a_supervisors_account_cannot_also_enrol_as_a_participant(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> None:
    karim = await _karim(db, clock, new_user)
    async with db.read() as conn:
        nadia = await repo.find_participant(conn, external_id="A-1")
    assert nadia is not None
    refused = await karim.send(f"/start {(await invite_for(db, clock, nadia)).token}")
    assert "already enrolled" in refused.text
    async with db.read() as conn:
        assert await repo.participant_for_user(conn, karim.user_id) is None


async def test_a_supervisor_answers_in_the_language_they_chose(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser]
) -> None:
    karim = await _karim(db, clock, new_user)
    await karim.send("/language")
    await karim.press("العربية")
    clock.set(BOTH_OPEN)
    menu = (await karim.send("/start")).last
    assert menu.button_texts[0] == "بدء — Nadia Alaoui"
    opened = await karim.press("بدء — Nadia Alaoui", menu)
    assert "تابع(ت) Nadia Alaoui التكوين" in opened.edited[0].text
    # A tap finds the supervisor's saved language in its own query.
    tapped = await karim.press("لا")
    assert "يطبق(تطبق) Nadia Alaoui مبادئ التوظيف العادل" in tapped.edited[0].text


def test_the_supervisors_buttons_fit_telegram_and_refuse_forgeries() -> None:
    longest = supervisor_open_data(999_999_999_999, "a" * 12, "b" * 12)
    assert len(longest.encode()) <= 64
    opened = parse_supervisor_open(longest)
    assert opened is not None
    assert (opened.participant_id, opened.instrument, opened.stage) == (
        999_999_999_999,
        "a" * 12,
        "b" * 12,
    )
    tapped = supervisor_tap_data(123_456_789_012, 999_999_999, Action.TOGGLE, "x" * 12)
    assert len(tapped.encode()) <= 64
    assert parse_supervisor_tap(tapped) == Tap(
        123_456_789_012, 999_999_999, Action.TOGGLE, "x" * 12
    )
    # Each family reads only its own prefix: a participant's tap is not a supervisor's.
    assert parse_supervisor_tap(tap_data(1, 0, Action.ANSWER, "a")) is None
    assert parse_tap(supervisor_tap_data(1, 0, Action.ANSWER, "a")) is None
    for forged in (
        "so:1:supervisors",
        "so:-1:supervisors:six-months",
        "so:1:Supervisors:six-months",
        "so:1:supervisors:six-months:x",
        "so:1234567890123:supervisors:six-months",
        "s:1:0:z",
        "s:1:0:a:" + "x" * 13,
        SUPERVISOR_MENU_DATA,
    ):
        assert parse_supervisor_open(forged) is None, forged
        assert parse_supervisor_tap(forged) is None, forged


async def _every_value(db: Database) -> list[str]:
    """Every value stored in every table, as text: what an erasure must have removed."""
    values: list[str] = []
    async with db.read() as conn:
        async with conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cur:
            tables = [str(r[0]) for r in await cur.fetchall()]
        for table in tables:
            async with conn.execute(f"SELECT * FROM {table}") as cursor:
                values += [str(v) for row in await cursor.fetchall() for v in row]
    return values


@pytest.mark.parametrize("with_answers", [False, True])
async def test_a_supervisor_is_forgotten_on_request(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser], with_answers: bool
) -> None:
    karim = await _karim(db, clock, new_user)
    clock.set(TANGER_OPEN)
    menu = (await karim.send("/start")).last
    await karim.press("Start — Nadia Alaoui", menu)
    await _answer_all(karim, "Checks every offer now")
    async with db.transaction() as conn:
        # A nudge still waiting for him.
        await conn.execute(
            "INSERT INTO outbox (key, kind, source, supervisor_id, chat_id, payload, status,"
            " due_at, not_before, created_at) SELECT 'nudge:test', 'nudge',"
            " 'relances-superieurs', supervisor_id, chat_id, '{}', 'pending', ?, ?, ?"
            " FROM supervisor_bindings",
            (clock.now().isoformat(),) * 3,
        )
    before = await _rows(db)
    assert len(before["supervisor_attempts"]) == 1

    forgotten = await forget_supervisor(
        db, "CHEF@example.org", with_answers=with_answers, actor="test", now=clock.now()
    )
    stored = await _every_value(db)
    for trace in (
        "chef@example.org",
        "Karim Tazi",
        str(karim.user_id),
        f"telegram:{karim.user_id}",
    ):
        assert not any(trace in v for v in stored), trace
    after = await _rows(db)
    # His answers about Nadia stay under their pseudonym, unless he asked for them to go.
    kept = 0 if with_answers else 1
    assert len(after["supervisor_attempts"]) == kept
    assert len(after["supervisor_answers"]) == (
        0 if with_answers else len(before["supervisor_answers"])
    )
    async with db.read() as conn:
        audits = await repo.audit_entries(conn, "privacy.forget_supervisor")
        status = await (await conn.execute("SELECT status FROM outbox")).fetchall()
    assert [a.target for a in audits] == [f"supervisor:{forgotten}"]
    assert [tuple(r) for r in status] == [("cancelled",)]
    # Nobody supervises Nadia and Youssef any more; his account is a stranger's.
    assert await _supervisor_email(db, "A-1") is None
    assert "line manager" not in (await karim.send("/start")).text
    with pytest.raises(ForgetSupervisorError):
        await forget_supervisor(
            db, "chef@example.org", with_answers=False, actor="t", now=clock.now()
        )
