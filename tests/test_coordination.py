"""Coordinators: /stats, /pending and its nudge button; admins: /reload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot import callbacks
from bot.app import RelaisApp, runtime_of
from bot.callbacks import open_data
from bot.clock import FixedClock
from bot.content import Content
from bot.sandbox.chat import SimulatedUser, direct_delivery
from bot.sandbox.offline import OfflineBotAPI
from bot.storage import Database, outbox
from bot.storage.repo import Participant, Role
from tests.conftest import (
    ADMIN_ID,
    add_participant,
    content_copy,
    invite_for,
    staff_invite,
    submitted_attempt,
)

NewUser = Callable[..., SimulatedUser]


async def enrolled(
    db: Database, clock: FixedClock, new_user: NewUser, external_id: str, name: str
) -> Participant:
    participant = await add_participant(db, clock, external_id=external_id, full_name=name)
    await new_user(name.split()[0]).send(
        f"/start {(await invite_for(db, clock, participant)).token}"
    )
    return participant


async def test_stats_pending_and_nudge_now(
    db: Database, clock: FixedClock, new_user: NewUser, content: Content
) -> None:
    nadia = await enrolled(db, clock, new_user, "C-1", "Nadia Alami")
    await enrolled(db, clock, new_user, "C-2", "Youssef Berrada")
    await submitted_attempt(db, clock, content, nadia.id, "kat", "pre")
    coordinator = new_user("Salma")
    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")

    stats = await coordinator.send("/stats")
    assert "<b>Test d'acquisition des connaissances · Test avant la formation</b>" in stats.text
    assert "Tanger : 2 · 2 · 1 · 1 · 50\u00a0%" in stats.text  # roster · enrolled · started · sent

    pending = await coordinator.send("/pending kat")
    assert "Youssef Berrada" in pending.text
    assert "Nadia Alami" not in pending.text
    assert pending.last.button_texts == ["Les relancer maintenant : Test avant la formation"]
    nudged = await coordinator.press("Les relancer maintenant : Test avant la formation")
    assert nudged.answers[0]["text"] == "1 relance programmée."
    again = await coordinator.press("Les relancer maintenant : Test avant la formation")
    assert again.answers[0]["text"] == "0 relance programmée."  # at most one a day each
    async with db.read() as conn:
        rows = await outbox.rows_of(conn, "manual:kat:pre")
    assert len(rows) == 1
    assert rows[0].message.buttons[0][0].data == open_data("kat", "pre")

    usage = await coordinator.send("/pending")
    assert usage.text.startswith("Usage : /pending QUESTIONNAIRE [ÉTAPE]")


async def test_participants_cannot_see_stats_or_names(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    await enrolled(db, clock, new_user, "C-1", "Nadia Alami")
    other = new_user("Omar")
    participant = await add_participant(db, clock, external_id="C-3", full_name="Omar Tazi")
    await other.send(f"/start {(await invite_for(db, clock, participant)).token}")
    for command in ("/stats", "/pending kat", "/reload"):
        turn = await other.send(command)
        assert turn.text == "Cette commande est réservée à la coordination.", command
        assert "Nadia" not in turn.text
    forged = await other.press_data(callbacks.nudge("kat", "pre"))
    assert forged.answers[0]["text"] == "Ce bouton n'est plus valide."


async def test_reload_keeps_running_content_when_the_new_one_is_broken(
    app: RelaisApp, api: OfflineBotAPI, tmp_path: Path
) -> None:
    admin = SimulatedUser(api, direct_delivery(app, api), ADMIN_ID, "Admin")
    rt = runtime_of(app)
    before = rt.content.version
    ok = await admin.send("/reload")
    assert ok.text == f"Contenu rechargé (version {before[:12]})."

    broken = content_copy(tmp_path)
    path = broken / "programme.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("every: {days: 3}", "every: {days: -3}"),
        encoding="utf-8",
    )
    rt.settings = rt.settings.model_copy(update={"content_dir": broken})
    refused = await admin.send("/reload")
    assert refused.text.startswith(
        "Le contenu a des problèmes ; le contenu en service est conservé :"
    )
    assert "programme.yaml:" in refused.text
    assert rt.content.version == before
