"""Check-in at the venue, as a transcript: the coordinator's rotating QR code, scans,
a stale code, several check-ins to count, and /attendance."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import segno
from telegram.ext import JobQueue

from bot.app import RelaisApp
from bot.clock import FixedClock
from bot.content import Content
from bot.sandbox.chat import SimulatedUser, Turn
from bot.sandbox.emulator import BOT_USERNAME, SentMessage
from bot.sandbox.offline import OfflineBotAPI
from bot.services.presence import attended_of
from bot.storage import Database
from bot.storage.repo import Participant, Role
from tests.conftest import add_participant, fr, invite_for, staff_invite

NewUser = Callable[..., SimulatedUser]
CASABLANCA = ZoneInfo("Africa/Casablanca")
MODULE_2 = "Module 2 : la dimension compétences des migrations de main-d'œuvre"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 2, day, hour, minute, tzinfo=CASABLANCA)


def queue(app: RelaisApp) -> JobQueue[Any]:
    assert app.job_queue is not None
    return app.job_queue


def payload(message: SentMessage) -> str:
    match = re.search(r"\?start=(c_[A-Za-z0-9_-]+)", message.text)
    assert match is not None, message.text
    return match.group(1)


async def person(
    db: Database, clock: FixedClock, new_user: NewUser, key: str, name: str, cohort: str
) -> tuple[SimulatedUser, Participant]:
    participant = await add_participant(db, clock, external_id=key, full_name=name, cohort=cohort)
    user = new_user(name.split()[0])
    await user.send(f"/start {(await invite_for(db, clock, participant)).token}")
    return user, participant


async def checkins(db: Database, participant: Participant) -> list[str]:
    async with (
        db.read() as conn,
        conn.execute(
            "SELECT slot FROM checkins WHERE participant_id = ? ORDER BY checked_at",
            (participant.id,),
        ) as cur,
    ):
        return [row[0] for row in await cur.fetchall()]


async def test_checkin_with_a_rotating_qr_code_and_a_stale_one(
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: NewUser,
) -> None:
    khadija, k = await person(db, clock, new_user, "A-001", "Khadija El Idrissi", "tanger")
    sara, s = await person(db, clock, new_user, "A-002", "Sara Bennani", "tanger")
    amine, _ = await person(db, clock, new_user, "A-003", "Amine Tazi", "agadir")
    coordinator = new_user("Salma")
    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")

    # Before the session, no code is shown.
    early = await coordinator.send("/checkin tanger-module-2")
    assert early.text.startswith(f"Le pointage de {MODULE_2} est ouvert du lundi 15 février")

    clock.set(at(15, 9, 10))
    shown = await coordinator.send("/checkin tanger-module-2")
    qr = shown.last
    assert qr.photo is not None
    assert qr.text.startswith(f"<b>Pointage : {MODULE_2}</b>")
    assert "Il change toutes les 2 minutes ; celui-ci est valable jusqu'à 09:14." in qr.text
    first = payload(qr)
    link = f"https://t.me/{BOT_USERNAME}?start={first}"
    expected = io.BytesIO()
    segno.make(link, error="m").save(expected, kind="png", scale=12, border=3)
    assert api.files[qr.photo].content == expected.getvalue()  # the QR holds the link
    assert qr.button_texts == [fr("New code"), fr("Stop")]
    jobs = queue(app).get_jobs_by_name(f"relais-checkin-{coordinator.user_id}")
    assert len(jobs) == 1

    clock.advance(timedelta(minutes=2))
    done = await khadija.send(f"/start {first}")
    assert done.text == (
        f"✅ Présence enregistrée : {MODULE_2} (jour 1, matin), à 09:12.\n"
        "Pointages pour cette session : 1 sur 4."
    )
    again = await khadija.send(f"/start {first}")
    assert again.text.startswith(fr("You were already recorded present at %(time)s.", time="09:12"))
    other = await amine.send(f"/start {first}")
    assert other.text == fr(
        "%(session)s is not a session of your cohort: nothing was recorded.", session=MODULE_2
    )
    stranger = await new_user("Inconnu").send(f"/start {first}")
    assert "lien d'invitation personnel" in stranger.text
    staff = await coordinator.send(f"/start {first}")
    assert staff.text == fr("Check-in is for participants.")

    # A photo of the code sent home: five minutes later it no longer works.
    clock.advance(timedelta(minutes=3))
    stale = await sara.send(f"/start {first}")
    assert stale.text == fr(
        "This QR code has expired: it changes every few minutes. Scan the one shown in the room "
        "now. Nothing was recorded."
    )
    assert await checkins(db, s) == []
    forged = await sara.send("/start c_not-a-real-code")
    assert forged.text == fr(
        "This check-in code is not valid. Scan the one shown in the room. Nothing was recorded."
    )

    # Every two minutes the job puts a new code on the screen and removes the old one.
    await jobs[0].run(app)
    fresh = [m for m in coordinator.chat if m.photo]
    assert len(fresh) == 1
    assert fresh[0].message_id != qr.message_id
    assert qr.deleted
    turn = await sara.send(f"/start {payload(fresh[0])}")
    assert turn.text.startswith(f"✅ Présence enregistrée : {MODULE_2} (jour 1, matin), à 09:15.")

    # Check-ins are still to come: nobody is absent yet, and /me says where Sara stands.
    async with db.read() as conn:
        assert "tanger-module-2" not in await attended_of(conn, content.programme, s)
    me = await sara.send("/me")
    assert "<b>Présence</b>\n• pointages : 1 sur 4 à la session du 15 février" in me.text
    assert "absence à Module 2" not in me.text

    # Lunch: between the morning's and the afternoon's check-ins.
    clock.set(at(15, 13, 0))
    pressed = await coordinator.press(fr("New code"))
    lunch = await khadija.send(f"/start {payload(pressed.last)}")
    assert lunch.text == (
        f"Le pointage de {MODULE_2} n'est pas ouvert en ce moment. "
        "Prochain pointage : lundi 15 février 2027 à 14:00."
    )

    # Khadija checks in the three other times; Sara misses them.
    for moment in (at(15, 14, 5), at(16, 9, 2), at(16, 16, 30)):
        clock.set(moment)
        code = (await coordinator.press(fr("New code"))).last
        await khadija.send(f"/start {payload(code)}")
    assert await checkins(db, k) == ["j1-matin", "j1-apres-midi", "j2-matin", "j2-apres-midi"]
    async with db.read() as conn:
        assert (await attended_of(conn, content.programme, k))["tanger-module-2"] is True
        assert (await attended_of(conn, content.programme, s))["tanger-module-2"] is False

    roll = await coordinator.send("/attendance tanger-module-2")
    assert roll.text == (
        f"<b>Présence : {MODULE_2}</b>\n"
        "1 présent·e·s enregistré·e·s, 1 manquant·e·s, sur 2\n\n"
        "<b>Présent·e·s</b>\n"
        f"{k.code} · Khadija El Idrissi · pointages 4/4\n\n"
        "<b>Manquant·e·s</b>\n"
        f"{s.code} · Sara Bennani · pointages 1/4"
    )
    me = await sara.send("/me")
    assert "• absence à Module 2 : la dimension compétences" in me.text  # the last one is past

    stopped = await coordinator.press(fr("Stop"))
    assert stopped.text == fr(
        "Check-in closed for %(session)s. /attendance %(id)s shows who is recorded.",
        session=MODULE_2,
        id="tanger-module-2",
    )
    assert not [m for m in coordinator.chat if m.photo]
    assert all(j.removed for j in jobs)


async def test_the_rotation_stops_when_the_session_ends(
    app: RelaisApp, db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    coordinator = new_user("Salma")
    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    clock.set(at(16, 16, 55))
    await coordinator.send("/checkin tanger-module-2")
    [job] = queue(app).get_jobs_by_name(f"relais-checkin-{coordinator.user_id}")
    clock.set(at(16, 17, 1))
    await job.run(app)
    assert job.removed
    assert not [m for m in coordinator.chat if m.photo]


async def test_checkin_commands_are_in_the_help_and_need_a_session(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    coordinator = new_user("Salma")
    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    shown = await coordinator.send("/help")
    assert "/checkin SÉANCE — QR code de pointage d'une session" in shown.text
    for command in ("/checkin", "/attendance nowhere"):
        turn: Turn = await coordinator.send(command)
        assert turn.text.startswith("Utilisation : /")
        assert "tanger-module-2" in turn.text
