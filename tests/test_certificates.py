"""Certificates: the rules, attendance import, the action plan in the chat, the status in /me."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.content import Content
from bot.content.instruments import Certificates, anchor_session
from bot.content.models import Session
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.offline import OfflineBotAPI
from bot.services.attendance import AttendanceError, import_attendance
from bot.services.certificates import certificate_status, certificate_statuses, evaluate
from bot.storage import Database, progress
from bot.storage.repo import Participant, Role
from tests.conftest import add_participant, invite_for, staff_invite, submitted_attempt

NewUser = Callable[..., SimulatedUser]


def sessions(content: Content, refs: list[str], cohort: str = "tanger") -> list[Session]:
    found = [anchor_session(content.programme, ref, cohort) for ref in refs]
    return [s for s in found if s is not None]


def required(content: Content) -> dict[str, list[Session]]:
    rules = Certificates()
    return {
        "participation": sessions(content, rules.participation_attendance),
        "success": sessions(content, rules.success_attendance),
    }


def test_rules_follow_the_concept_note(content: Content) -> None:
    needed = required(content)
    everything = {s.id: True for s in needed["success"]}
    full = evaluate(Certificates(), needed, everything, 60.0, plan_submitted=True)
    assert full.participation.obtained
    assert full.success.obtained

    no_plan = evaluate(Certificates(), needed, everything, 90.0, plan_submitted=False)
    assert no_plan.participation.obtained
    assert not no_plan.success.obtained
    assert no_plan.success.plan_missing

    low = evaluate(Certificates(), needed, everything, 50.0, plan_submitted=True)
    assert low.participation.obtained
    assert not low.success.obtained
    assert low.success.quiz_missing

    too_low = evaluate(Certificates(), needed, everything, 29.9, plan_submitted=True)
    assert not too_low.participation.obtained

    coaching_missed = {**everything, "coaching-collectif": False}
    partial = evaluate(Certificates(), needed, coaching_missed, 80.0, plan_submitted=True)
    assert partial.participation.obtained  # coaching is phase 3: only for success
    assert [s.id for s in partial.success.absent] == ["coaching-collectif"]

    nothing = evaluate(Certificates(), needed, {}, None, plan_submitted=False)
    assert not nothing.participation.obtained
    assert len(nothing.participation.unrecorded) == 3
    assert nothing.participation.quiz_percent is None


async def test_attendance_import_is_all_or_nothing_with_rows_named(
    db: Database, clock: FixedClock, content: Content
) -> None:
    khadija = await add_participant(db, clock, external_id="A-001")
    sara = await add_participant(db, clock, external_id="A-002", cohort="agadir")
    bad = (
        "participant;session;attended\n"
        f"{khadija.code};intro-live;oui\n"
        "A-999;intro-live;oui\n"
        "A-002;tanger-module-2;1\n"
        "A-001;module-1-live;peut-être\n"
        f"{khadija.code.lower()};intro-live;non\n"
    )
    with pytest.raises(AttendanceError) as caught:
        await import_attendance(
            db, bad.encode(), programme=content.programme, clock=clock, actor="t"
        )
    messages = [str(p) for p in caught.value.problems]
    assert messages == [
        "row 3, column participant: no participant 'A-999'",
        "row 4, column session: 'tanger-module-2' is not for cohort 'agadir'",
        "row 5, column attended: 'peut-être' is not yes/oui/1 or no/non/0",
        "row 6: same participant and session as row 2",
    ]
    async with db.read() as conn:
        assert await progress.attendance_of(conn, khadija.id) == {}

    good = (
        "\ufeffIdentifiant,Session,Présent\n"
        "A-001,intro-live,oui\n"
        "a-002@example.org,agadir-module-2,non\n"
        f"{sara.code},agadir-module-3,x\n"
    )
    count = await import_attendance(
        db, good.encode(), programme=content.programme, clock=clock, actor="t"
    )
    assert count == 3
    async with db.read() as conn:
        assert await progress.attendance_of(conn, khadija.id) == {"intro-live": True}
        assert await progress.attendance_of(conn, sara.id) == {
            "agadir-module-2": False,
            "agadir-module-3": True,
        }


async def enrolled(
    db: Database, clock: FixedClock, new_user: NewUser
) -> tuple[SimulatedUser, Participant]:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    user = new_user("Khadija")
    await user.send(f"/start {invite.token}")
    return user, participant


async def test_action_plan_is_received_listed_and_fetched(
    db: Database, clock: FixedClock, new_user: NewUser, api: OfflineBotAPI
) -> None:
    user, participant = await enrolled(db, clock, new_user)
    ask = await user.send("/plan")
    assert "PDF, DOCX ou ODT, 10 Mo au plus" in ask.text
    refused = await user.send_document(b"hello", "notes.txt")
    assert (
        refused.text
        == "Ce fichier n'est pas un document PDF, DOCX ou ODT ; rien n'a été enregistré."
    )
    async with db.read() as conn:
        assert await progress.latest_plan(conn, participant.id) is None

    turn = await user.send_document(b"%PDF-1.7 plan", "plan-action.pdf")
    assert turn.text.startswith("Merci : votre plan d'action plan-action.pdf a été reçu le")
    again = await user.send("/plan")
    assert "Reçu : plan-action.pdf" in again.text
    denied = await user.send("/plans")
    assert denied.text == "Cette commande est réservée à la coordination."

    coordinator = new_user("Salma")
    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    listing = await coordinator.send("/plans")
    assert "1 plan d'action reçu :" in listing.text
    assert f"{participant.code} · Khadija El Idrissi · tanger · plan-action.pdf" in listing.text
    fetched = await coordinator.send(f"/plans {participant.code}")
    assert fetched.last.document is not None
    assert api.files[fetched.last.document].content == b"%PDF-1.7 plan"
    missing = await coordinator.send("/plans P-NOBODY")
    assert missing.text == "Aucun plan d'action de P-NOBODY."


async def test_me_shows_what_is_missing_then_both_certificates(
    db: Database, clock: FixedClock, new_user: NewUser, content: Content
) -> None:
    user, participant = await enrolled(db, clock, new_user)
    me = await user.send("/me")
    assert (
        "⏳ Certificat de participation : il manque la présence à 3 sessions "
        "et le quiz final (au moins 30 %)\n" in me.text
    )
    assert (
        "⏳ Certificat de réussite : il manque la présence à 5 sessions, "
        "le quiz final (au moins 60 %) et votre plan d'action (/plan)" in me.text
    )

    rows = "participant;session;attended\n" + "".join(
        f"{participant.code};{s.id};oui\n" for s in required(content)["success"]
    )
    await import_attendance(db, rows.encode(), programme=content.programme, clock=clock, actor="t")
    kat = content.instrument("kat")
    assert kat is not None
    # 7 right of 10 (a sent test has every question answered: the maximum is what was asked).
    right = {item.id: item.answer for item in kat.items[:7]}
    wrong = {i.id: next(o.id for o in i.options or [] if o.id != i.answer) for i in kat.items[7:]}
    await submitted_attempt(db, clock, content, participant.id, "kat", "post", right | wrong)
    status = await certificate_status(db, content, participant)
    assert status is not None
    assert status.participation.obtained
    assert not status.success.obtained
    # The report computes everyone's status at once: the same answer, person by person.
    other = await add_participant(db, clock, external_id="A-900", cohort="agadir")
    everyone = await certificate_statuses(db, content, [participant, other])
    assert everyone == {
        participant.id: status,
        other.id: await certificate_status(db, content, other),
    }

    clock.advance(timedelta(days=1))
    await user.send_document(b"%PDF plan", "plan.pdf")
    me = await user.send("/me")
    assert "✅ Certificat de participation : obtenu" in me.text
    assert "✅ Certificat de réussite : obtenu" in me.text
    assert "Après la formation : 7/10" in me.text
    everyone = await certificate_statuses(db, content, [participant])
    assert everyone is not None
    assert everyone[participant.id].success.obtained


def test_status_names_the_sessions_missed(content: Content) -> None:
    from bot.i18n import Translator, load_catalogs
    from bot.views.certificates import status_text

    load_catalogs()
    needed = required(content)
    attendance = {s.id: True for s in needed["success"]}
    attendance["tanger-module-2"] = False
    status = evaluate(Certificates(), needed, attendance, 45.0, plan_submitted=True)
    text = status_text(Translator("fr", content.programme.tz), status)
    assert "⏳ Certificat de participation : il manque la présence à 1 session\n" in text
    arabic = status_text(Translator("ar", content.programme.tz), status)
    assert "جلسة واحدة ونتيجة 60 %" in arabic  # joined the Arabic way
    assert ", " not in arabic
    assert "• absence à Module 2 : la dimension compétences" in text
    assert "un score de 60 % au quiz final (le vôtre : 45 %)" in text
