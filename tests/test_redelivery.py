"""Every update delivered twice, as a webhook redelivery or a client retry does: nothing is
stored twice, and the questionnaire ends exactly as with single delivery."""

from __future__ import annotations

from typing import Any

from telegram import Update

from bot.app import RelaisApp
from bot.clock import FixedClock
from bot.sandbox.chat import Deliver, SimulatedUser
from bot.sandbox.offline import OfflineBotAPI
from bot.storage import Database
from tests.conftest import add_participant, invite_for
from tests.test_flow_questionnaire import (  # noqa: F401  (fixtures)
    answer_rows,
    answers,
    attempt_of,
    content,
    settings,
    start_survey,
    survey_dir,
)


def twice(bot_app: RelaisApp) -> Deliver:
    """Hand each update to the bot two times, with the same update and message ids."""
    counter = iter(range(1, 1 << 62))

    async def deliver(kind: str, payload: dict[str, Any]) -> None:
        data = {"update_id": next(counter), kind: payload}
        for _ in range(2):
            await bot_app.process_update(Update.de_json(data, bot_app.bot))

    return deliver


async def test_every_update_twice_stores_each_answer_once(
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    user = SimulatedUser(api, twice(app), 610_101, "Khadija")
    await user.send(f"/start {invite.token}")
    await start_survey(user)
    await user.press("2")
    await user.press("Oui")
    await user.press("☐ Recrutement")
    await user.press("Valider")
    turn = await user.send("Le rythme")
    # The redelivered message is not taken as the answer to the next question too.
    assert "Autre chose" in user.chat[-1].text
    assert not [m for m in turn.sent if "Autre chose" not in m.text]
    await user.press("Passer")
    await user.press("Envoyer")
    attempt = await attempt_of(db, participant)
    assert attempt.submitted
    assert await answers(db, attempt) == {
        "rate": 2,
        "tools": "yes",
        "topics": ["a"],
        "why": "Le rythme",
        "more": None,
    }
    assert await answer_rows(db) == 5
    async with db.read() as conn, conn.execute("SELECT count(*) FROM attempts") as cur:
        row = await cur.fetchone()
    assert row is not None
    assert row[0] == 1
    async with db.read() as conn, conn.execute("SELECT count(*) FROM telegram_bindings") as cur:
        row = await cur.fetchone()
    assert row is not None
    assert row[0] == 1
