"""Broadcast transcripts: audience, message, preview, confirm, progress, report, stop."""

from __future__ import annotations

from collections.abc import Callable

from telegram import Bot

from bot.app import RelaisApp
from bot.clock import FixedClock
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI
from bot.sender import Sender
from bot.storage import Database, outbox
from bot.storage.repo import Role
from tests.conftest import FakeTime, add_participant, fr, invite_for, staff_invite

NewUser = Callable[..., SimulatedUser]


async def cast(
    db: Database, clock: FixedClock, new_user: NewUser
) -> tuple[SimulatedUser, list[SimulatedUser]]:
    people = []
    for n, cohort in enumerate(("tanger", "tanger", "agadir", "tanger")):
        participant = await add_participant(
            db, clock, external_id=f"B-{n}", full_name=f"Personne {n}", cohort=cohort
        )
        user = new_user(f"P{n}")
        await user.send(f"/start {(await invite_for(db, clock, participant)).token}")
        people.append(user)
    await people[3].block()  # unreachable: left out of every audience
    coordinator = new_user("Salma")
    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    return coordinator, people


async def drain(api: OfflineBotAPI, db: Database, clock: FixedClock, batch: int = 50) -> int:
    async with Bot(BOT_TOKEN, request=api.request()) as bot:
        fake = FakeTime()
        sender = Sender(bot, db, clock, batch=batch, sleep=fake.sleep, monotonic=fake.monotonic)
        return await sender.drain()


async def run_progress_job(app: RelaisApp) -> None:
    assert app.job_queue is not None
    jobs = [j for j in app.job_queue.jobs() if j.name and j.name.startswith("relais-broadcast-")]
    assert jobs
    await jobs[-1].run(app)


async def test_broadcast_from_audience_to_final_report(
    app: RelaisApp, db: Database, clock: FixedClock, new_user: NewUser, api: OfflineBotAPI
) -> None:
    coordinator, people = await cast(db, clock, new_user)
    ask = await coordinator.send("/broadcast")
    assert "À qui envoyer l'annonce ?" in ask.text
    assert ask.last.button_texts == [
        "Tout le monde (3)",
        "Cohorte Tanger (2)",
        "Cohorte Agadir (1)",
        "Équipe pédagogique (1)",
        # Named by their buttons' short labels: both stages are "before the training".
        "Sans réponse : Vos besoins (3)",  # the needs analysis
        "Sans réponse : Test avant la formation (3)",
        fr("Cancel"),
    ]
    chosen = await coordinator.press("Cohorte Tanger (2)")
    assert "Envoyez maintenant l'annonce" in chosen.edited[0].text

    preview = await coordinator.send("Réunion demain à 10 h, salle 2 <ANAPEC>")
    texts = [m.text for m in preview.sent]
    assert texts[0] == fr("Preview, exactly as recipients will see it:")
    assert texts[1] == "Réunion demain à 10 h, salle 2 &lt;ANAPEC&gt;"
    assert texts[2] == "L'envoyer à 2 personnes ?"
    assert preview.last.button_texts == [fr("Confirm"), fr("Cancel")]
    # Nothing sent yet: the welcome and its offer of the open test are the last messages.
    assert api.visible(people[0].user_id)[-1].text.startswith("<b>À compléter</b>")
    assert api.visible(people[0].user_id)[-2].text.startswith("Bienvenue")

    confirmed = await coordinator.press(fr("Confirm"))
    progress = confirmed.edited[0]
    assert "0 / 2 envoyé · 0 échec · ~1 min restante" in progress.text
    assert progress.button_texts == [fr("Stop")]

    assert await drain(api, db, clock) == 2
    for person in people[:2]:
        assert person.chat[-1].text == "Réunion demain à 10 h, salle 2 &lt;ANAPEC&gt;"
    assert not any("Réunion" in m.text for m in people[2].chat)
    await run_progress_job(app)
    report = progress  # the same message, edited in place
    assert fr("Broadcast finished.") in report.text
    assert "2 envoyés sur 2 · 0 échec" in report.text
    assert report.buttons == []

    listing = await coordinator.send("/broadcasts")
    # The audience by its name, not its code.
    assert "Cohorte Tanger · 2/2 envoyés · 0 échec" in listing.text


async def test_a_broadcast_stopped_midway_sends_no_more(
    app: RelaisApp, db: Database, clock: FixedClock, new_user: NewUser, api: OfflineBotAPI
) -> None:
    coordinator, people = await cast(db, clock, new_user)
    await coordinator.send("/broadcast")
    await coordinator.press("Tout le monde (3)")
    await coordinator.send("Annonce générale")
    confirmed = await coordinator.press(fr("Confirm"))
    progress = confirmed.edited[0]
    assert await drain(api, db, clock, batch=1) == 1

    stopped = await coordinator.press(fr("Stop"), progress)
    assert stopped.answers[0]["text"] == "Arrêté : 2 messages ne seront pas envoyés."
    assert fr("Broadcast stopped.") in progress.text
    assert "1 envoyé sur 3" in progress.text
    assert "2 non envoyés (arrêt)" in progress.text
    assert await drain(api, db, clock) == 0
    received = [p for p in people[:3] if any(m.text == "Annonce générale" for m in p.chat)]
    assert len(received) == 1
    async with db.read() as conn:
        statuses = sorted(r.status for r in await outbox.rows_of(conn, "broadcast:1"))
    assert statuses == ["cancelled", "cancelled", "sent"]


async def test_only_coordinators_broadcast_and_cancel_drops_the_draft(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    coordinator, people = await cast(db, clock, new_user)
    refused = await people[0].send("/broadcast")
    assert refused.text == fr("This command is for coordinators.")
    stranger = await new_user("Inconnu").send("/broadcast")
    assert "lien d'invitation personnel" in stranger.text
    await coordinator.send("/broadcast")
    await coordinator.press("Tout le monde (3)")
    cancelled = await coordinator.send("/cancel")
    assert cancelled.text == fr("Cancelled: nothing was sent.")
    after = await coordinator.send("Bonjour")
    assert fr("Preview, exactly as recipients will see it:") not in after.text


async def test_a_document_with_its_caption_is_broadcast_as_sent(
    db: Database, clock: FixedClock, new_user: NewUser, api: OfflineBotAPI
) -> None:
    coordinator, people = await cast(db, clock, new_user)
    await coordinator.send("/broadcast")
    await coordinator.press("Cohorte Agadir (1)")
    preview = await coordinator.send_document(b"%PDF programme", "programme.pdf", "Le programme")
    copy = preview.sent[1]
    assert copy.document is not None
    assert copy.text == "Le programme"
    await coordinator.press(fr("Confirm"))
    assert await drain(api, db, clock) == 1
    received = people[2].chat[-1]
    assert received.document == copy.document
    assert received.text == "Le programme"
    assert api.files[received.document].content == b"%PDF programme"
