"""Campaigns to supervisors: one invitation and nudges per supervisor, never per supervisee,
stopped once they have answered about everyone, and kept apart from the participants'."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot

from bot.callbacks import SUPERVISOR_MENU_DATA
from bot.cli import main
from bot.cli.common import EXIT_INVALID
from bot.clock import FixedClock
from bot.content import Content
from bot.i18n import Translator
from bot.rules.questionnaire import Window, window_for
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI
from bot.sender import Sender
from bot.services.campaigns import plan
from bot.services.invites import issue_supervisor_invites
from bot.services.roster import import_roster
from bot.storage import Database, outbox, repo
from bot.storage.outbox import Status
from bot.storage.supervisors import supervisor_for_user
from tests.conftest import FakeTime, content_copy

COHORTS = ("tanger", "agadir", "marrakech")
SUPERVISORS_CAMPAIGNS = {"invitations-superieurs", "relances-superieurs"}
# Karim supervises two counsellors of Tanger, Leila one of Agadir and one of Marrakech;
# Omar has no supervisor.
ROSTER = (
    "external_id;full_name;email;cohort;supervisor_email;supervisor_name\n"
    "A-1;Nadia Alaoui;nadia@example.org;tanger;karim@example.org;Karim Tazi\n"
    "A-2;Youssef Amrani;youssef@example.org;tanger;karim@example.org;\n"
    "A-3;Sara Bennani;sara@example.org;agadir;leila@example.org;Leila Fassi\n"
    "A-4;Omar Idrissi;omar@example.org;tanger;;\n"
    "A-5;Hanane Bouzid;hanane@example.org;marrakech;leila@example.org;\n"
)


@pytest.fixture
async def bot(api: OfflineBotAPI) -> AsyncIterator[Bot]:
    # A plain Bot: no PTB rate limiter retrying behind the sender's back.
    plain = Bot(BOT_TOKEN, request=api.request())
    async with plain:
        yield plain


@pytest.fixture
def sender(bot: Bot, db: Database, clock: FixedClock) -> Sender:
    fake = FakeTime()
    return Sender(bot, db, clock, sleep=fake.sleep, monotonic=fake.monotonic)


def six_months(content: Content, cohort: str = "tanger") -> Window:
    instrument = content.supervisor_instrument("supervisors")
    assert instrument is not None
    stage = instrument.stage("six-months")
    assert stage is not None
    return window_for(content, instrument, stage, cohort)


async def run_plan(db: Database, content: Content, now: datetime) -> int:
    report = await plan(db, content, lambda loc: Translator(loc, content.programme.tz), now, "fr")
    return report.queued


async def rows(db: Database) -> list[outbox.Row]:
    async with db.read() as conn:
        return await outbox.rows_of(conn)


async def supervisor_rows(db: Database) -> list[outbox.Row]:
    return [r for r in await rows(db) if r.source in SUPERVISORS_CAMPAIGNS]


class Class:
    """The roster imported, the participants bound to simulated accounts, Karim enrolled
    by his own invitation (Leila too when asked)."""

    def __init__(self, people: dict[str, SimulatedUser], karim: SimulatedUser) -> None:
        self.people, self.karim = people, karim
        self.leila: SimulatedUser | None = None


async def enrol(
    db: Database, clock: FixedClock, new_user: Callable[..., SimulatedUser], *, leila: bool
) -> Class:
    await import_roster(db, ROSTER.encode(), cohort_ids=COHORTS, clock=clock, actor="test")
    people: dict[str, SimulatedUser] = {}
    async with db.transaction() as conn:
        for external_id in ("A-1", "A-2", "A-3", "A-4", "A-5"):
            person = await repo.find_participant(conn, external_id=external_id)
            assert person is not None
            people[external_id] = new_user(person.full_name.split()[0])
            account = people[external_id].user_id
            await repo.bind_participant(conn, person.id, account, account, clock.now())
    issued = await issue_supervisor_invites(db, clock=clock, ttl=timedelta(days=30), actor="t")
    links = {i.supervisor.email: i.token for i in issued if i.supervisor is not None}
    enrolled = Class(people, new_user("Karim"))
    await enrolled.karim.send(f"/start {links['karim@example.org']}")
    if leila:
        enrolled.leila = new_user("Leila")
        await enrolled.leila.send(f"/start {links['leila@example.org']}")
    return enrolled


async def supervisor_id(db: Database, user: SimulatedUser) -> int:
    async with db.read() as conn:
        found = await supervisor_for_user(conn, user.user_id)
    assert found is not None, "the supervisor did not enrol"
    return found.id


async def answered_about(
    db: Database, content: Content, supervisor: int, external_id: str, now: datetime
) -> None:
    """A supervisor's submitted questionnaire about a supervisee, as its row (what the
    guard reads); answering it through the chat is tests/test_supervisors.py's."""
    async with db.transaction() as conn:
        person = await repo.find_participant(conn, external_id=external_id)
        assert person is not None
        stamp = now.isoformat()
        await conn.execute(
            "INSERT INTO supervisor_attempts (supervisor_id, participant_id, pseudonym,"
            " instrument, stage, number, content_version, seed, started_at, updated_at,"
            " submitted_at) VALUES (?, ?, ?, 'supervisors', 'six-months', 1, ?, 1, ?, ?, ?)",
            (
                supervisor,
                person.id,
                f"S-{supervisor}-{person.id}",
                content.version,
                stamp,
                stamp,
                stamp,
            ),
        )


async def test_a_supervisor_of_two_people_gets_one_invitation_with_the_count_and_the_menu(
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: Callable[..., SimulatedUser],
    sender: Sender,
    tmp_path: Path,
) -> None:
    enrolled = await enrol(db, clock, new_user, leila=False)
    karim = await supervisor_id(db, enrolled.karim)
    opens = six_months(content).opens
    await run_plan(db, content, opens - timedelta(minutes=1))
    assert await supervisor_rows(db) == []

    clock.set(opens + timedelta(minutes=1))
    await run_plan(db, content, clock.now())
    (invitation,) = await supervisor_rows(db)  # Leila has not enrolled: not reachable
    assert invitation.kind == "invitation"
    assert (invitation.supervisor_id, invitation.participant_id) == (karim, None)
    # One message for his two counsellors, saying how many; no one's name in it.
    assert "Votre avis est demandé sur 2 personnes que vous encadrez" in invitation.message.text
    for name in ("Nadia", "Youssef", "Alaoui", "Amrani"):
        assert name not in invitation.message.text
    assert [[b.data for b in row] for row in invitation.message.buttons] == [[SUPERVISOR_MENU_DATA]]
    assert invitation.message.unless_submitted is None
    # The stage opens at the same instant for every cohort: one key for them all.
    assert invitation.key == (
        f"invitations-superieurs:supervisors:six-months:sup:agadir+marrakech+tanger:{karim}"
    )

    # Re-planning, or a new process on the same file, queues nothing twice.
    assert await run_plan(db, content, clock.now() + timedelta(minutes=5)) == 0
    reopened = await Database.open(db.path)
    try:
        assert await run_plan(reopened, content, clock.now() + timedelta(minutes=6)) == 0
    finally:
        await reopened.close()
    assert len(await supervisor_rows(db)) == 1

    await sender.drain_all()
    received = [m for m in enrolled.karim.chat if "2 personnes" in m.text]
    assert len(received) == 1
    assert received[0].buttons[0][0]["callback_data"] == SUPERVISOR_MENU_DATA
    # Its button opens his list: one button per person, the names only there.
    listed = await enrolled.karim.press(received[0].buttons[0][0]["text"], received[0])
    assert "• Nadia Alaoui : Suivi à six mois" in listed.text
    assert listed.last.button_texts == ["Commencer — Nadia Alaoui", "Commencer — Youssef Amrani"]
    first = await enrolled.karim.press("Commencer — Nadia Alaoui", listed.last)
    assert "Nadia Alaoui a suivi la formation" in first.edited[0].text
    # The participants of that cohort got their own follow-up invitation, not this one.
    for person in enrolled.people.values():
        assert not [m for m in person.chat if "que vous encadrez" in m.text]
        assert any(
            b.get("callback_data") != SUPERVISOR_MENU_DATA
            for m in person.chat
            for row in m.buttons
            for b in row
        )


async def test_the_nudge_stops_once_the_supervisor_has_answered_about_everyone(
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: Callable[..., SimulatedUser],
    sender: Sender,
) -> None:
    enrolled = await enrol(db, clock, new_user, leila=True)
    assert enrolled.leila is not None
    karim = await supervisor_id(db, enrolled.karim)
    leila = await supervisor_id(db, enrolled.leila)
    opens = six_months(content).opens
    clock.set(opens + timedelta(minutes=1))
    await run_plan(db, content, clock.now())
    await sender.drain_all()

    # Karim answers about Nadia, Leila about both of hers (Agadir and Marrakech) before
    # the first nudge.
    await answered_about(db, content, karim, "A-1", opens + timedelta(days=2))
    await answered_about(db, content, leila, "A-3", opens + timedelta(days=2))
    await answered_about(db, content, leila, "A-5", opens + timedelta(days=2))
    clock.set(opens + timedelta(days=10, minutes=1))
    await run_plan(db, content, clock.now())
    nudges = [r for r in await supervisor_rows(db) if r.kind == "nudge"]
    # Planned for Karim only, about the one person left; Leila is done.
    assert [r.supervisor_id for r in nudges] == [karim]
    assert "toujours attendues pour 1 personne que vous encadrez" in nudges[0].message.text
    await sender.drain_all()
    assert [r.status for r in await supervisor_rows(db) if r.kind == "nudge"] == [Status.SENT]

    # The second nudge is queued; Karim answers about Youssef before it leaves: skipped.
    clock.set(opens + timedelta(days=20, minutes=1))
    await run_plan(db, content, clock.now())
    await answered_about(db, content, karim, "A-2", clock.now())
    await sender.drain_all()
    second = [r for r in await supervisor_rows(db) if ":six-months:2:sup:" in (r.key or "")]
    assert [r.supervisor_id for r in second] == [karim]
    assert [(r.status, r.last_error) for r in second] == [(Status.SKIPPED, "already submitted")]
    assert len([m for m in enrolled.karim.chat if "toujours attendues" in m.text]) == 1
    assert not [m for m in enrolled.leila.chat if "toujours attendues" in m.text]


async def test_supervisors_and_participants_never_get_each_others_messages(
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: Callable[..., SimulatedUser],
) -> None:
    enrolled = await enrol(db, clock, new_user, leila=True)
    assert enrolled.leila is not None
    async with db.transaction() as conn:
        # Leila reads English: her messages are written in the language she chose.
        await repo.set_user_language(conn, enrolled.leila.user_id, "en", clock.now())
    supervisors = {await supervisor_id(db, enrolled.karim), await supervisor_id(db, enrolled.leila)}
    # The whole year, every planned instant: reminders, invitations, nudges of everyone.
    now = clock.now()
    for _ in range(500):
        report = await plan(
            db, content, lambda loc: Translator(loc, content.programme.tz), now, "fr"
        )
        if not report.due_times:
            break
        now = report.due_times[0] + timedelta(minutes=1)
    everything = await rows(db)
    to_supervisors = [r for r in everything if r.supervisor_id is not None]
    to_participants = [r for r in everything if r.participant_id is not None]
    assert len(to_supervisors) + len(to_participants) == len(everything)
    assert {r.source for r in to_supervisors} == SUPERVISORS_CAMPAIGNS
    assert {r.supervisor_id for r in to_supervisors} == supervisors
    assert not [r for r in to_participants if r.source in SUPERVISORS_CAMPAIGNS]
    assert {r.kind for r in to_participants} >= {"reminder", "invitation", "nudge"}
    participant_chats = {u.user_id for u in enrolled.people.values()}
    assert not [r for r in to_supervisors if r.chat_id in participant_chats]
    # Per supervisor: one invitation and two nudges (nobody answered), in their language,
    # though Leila's two counsellors are in two cohorts.
    leila_id = await supervisor_id(db, enrolled.leila)
    hers = [r for r in to_supervisors if r.supervisor_id == leila_id]
    assert sorted(r.kind for r in hers) == ["invitation", "nudge", "nudge"]
    assert "Your view is asked on 2 people you supervise" in hers[0].message.text


async def test_a_supervisor_who_blocked_the_bot_is_recorded_like_a_participant(
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: Callable[..., SimulatedUser],
    sender: Sender,
) -> None:
    enrolled = await enrol(db, clock, new_user, leila=False)
    await enrolled.karim.block()
    clock.set(six_months(content).opens + timedelta(minutes=1))
    await run_plan(db, content, clock.now())
    await sender.drain_all()
    (invitation,) = await supervisor_rows(db)
    assert invitation.status == Status.FAILED
    assert (invitation.last_error or "").startswith("blocked")
    # The participants' delivery went on, and their own reachability is untouched.
    async with db.read() as conn:
        bound = await repo.bound_participants(conn)
    assert all(b.reachable for _, b in bound)


def test_relais_check_keeps_each_campaign_to_its_audience_with_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = content_copy(tmp_path)
    programme = folder / "programme.yaml"
    text = programme.read_text(encoding="utf-8")
    # The participants' invitations name the supervisors' questionnaire, and the
    # supervisors' invitations a participants' one.
    text = text.replace(
        "    kind: invitation\n    grace: {days: 2}\n",
        "    kind: invitation\n    instruments: [kat, supervisors]\n    grace: {days: 2}\n",
        1,
    )
    text = text.replace(
        "    audience: supervisors\n", "    audience: supervisors\n    instruments: [followup]\n", 1
    )
    programme.write_text(text, encoding="utf-8")
    theirs = text[: text.index("[kat, supervisors]")].count("\n") + 1
    ours = text[: text.index("[followup]")].count("\n") + 1
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(folder))
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    assert main(["check"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert (
        f"programme.yaml:{theirs}: campaigns[1].instruments[1]: 'supervisors' est rempli par"
        " les supérieur(e)s hiérarchiques : leurs campagnes indiquent audience: supervisors"
    ) in err
    assert (
        f"programme.yaml:{ours}: campaigns[3].instruments[0]: 'followup' est rempli par les"
        " participant(e)s, pas par les supérieur(e)s hiérarchiques (audience: supervisors)"
    ) in err
    assert main(["check", "--locale", "en"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert (
        f"programme.yaml:{theirs}: campaigns[1].instruments[1]: 'supervisors' is answered by"
        " supervisors: their campaigns say audience: supervisors"
    ) in err
    assert (
        f"programme.yaml:{ours}: campaigns[3].instruments[0]: 'followup' is answered by"
        " participants, not by supervisors (audience: supervisors)"
    ) in err


async def test_a_supervisor_no_longer_bound_is_not_written_to(
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: Callable[..., SimulatedUser],
    sender: Sender,
) -> None:
    enrolled = await enrol(db, clock, new_user, leila=False)
    clock.set(six_months(content).opens + timedelta(minutes=1))
    await run_plan(db, content, clock.now())
    async with db.transaction() as conn:
        # However the binding goes (no command removes one yet), the queued row stays unsent.
        await conn.execute("DELETE FROM supervisor_bindings")
    await sender.drain_all()
    (invitation,) = await supervisor_rows(db)
    assert (invitation.status, invitation.last_error) == (Status.CANCELLED, "no longer bound")
    assert not [m for m in enrolled.karim.chat if "2 personnes que vous encadrez" in m.text]


async def test_a_supervisor_who_enrols_after_the_opening_is_still_invited(
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: Callable[..., SimulatedUser],
) -> None:
    enrolled = await enrol(db, clock, new_user, leila=False)
    opens = six_months(content).opens
    clock.set(opens + timedelta(minutes=1))
    await run_plan(db, content, clock.now())
    assert len(await supervisor_rows(db)) == 1  # Karim's
    # Leila opens a new link an hour later, within the invitation's grace: the step was
    # planned for every cohort already, but her enrolment makes the planner look again.
    clock.set(opens + timedelta(hours=1))
    issued = await issue_supervisor_invites(db, clock=clock, ttl=timedelta(days=30), actor="t")
    leila = new_user("Leila")
    await leila.send(f"/start {issued[0].token}")
    assert await run_plan(db, content, clock.now()) == 1
    theirs = {r.supervisor_id: r for r in await supervisor_rows(db)}
    assert set(theirs) == {await supervisor_id(db, enrolled.karim), await supervisor_id(db, leila)}
    hers = theirs[await supervisor_id(db, leila)]
    assert "Votre avis est demandé sur 2 personnes que vous encadrez" in hers.message.text
