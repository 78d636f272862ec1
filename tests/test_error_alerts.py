"""Unexpected errors reach the admins: the update id and the error's type, rate-limited."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.clock import FixedClock
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.offline import OfflineBotAPI
from bot.services.alerts import ALERT_INTERVAL, ErrorAlerts
from bot.storage import Database
from tests.conftest import ADMIN_ID, add_participant, invite_for

NewUser = Callable[..., SimulatedUser]
UPDATE_FAILED = re.compile(
    r"^Relais : la mise à jour (\d+) a échoué \((\w+)\)\. Les détails sont dans le journal du bot\."
)


async def test_an_admin_is_told_the_update_and_the_error_type_once_per_interval(
    db: Database, clock: FixedClock, new_user: NewUser, api: OfflineBotAPI
) -> None:
    khadija = await add_participant(db, clock, full_name="Khadija El Idrissi")
    user = new_user("Khadija")
    await user.send(f"/start {(await invite_for(db, clock, khadija)).token}")
    admin = SimulatedUser(api, user.deliver, ADMIN_ID, "Admin", language_code="en")

    api.inject("error", "sendMessage", status=500)
    turn = await user.send("/help")
    assert "Désolé" in turn.text  # the participant still gets the apology
    [alert] = admin.chat
    found = UPDATE_FAILED.match(alert.text)
    assert found is not None, alert.text
    assert found.group(2) == "NetworkError"
    # Nothing about the person or what they typed: only the update's number.
    for personal in ("Khadija", "Idrissi", "/help", str(user.user_id)):
        assert personal not in alert.text

    # A fault that fails every update is not a message per update.
    for _ in range(3):
        api.inject("error", "sendMessage", status=500)
        await user.send("/help")
    assert len(admin.chat) == 1

    clock.advance(ALERT_INTERVAL + timedelta(seconds=1))
    api.inject("error", "sendMessage", status=500)
    await user.send("/help")
    assert len(admin.chat) == 2
    later = admin.chat[-1].text
    assert UPDATE_FAILED.match(later)
    assert later.endswith("\n3 autres erreurs depuis l'alerte précédente.")


async def test_a_blocked_bot_is_no_alert(
    db: Database, clock: FixedClock, new_user: NewUser, api: OfflineBotAPI
) -> None:
    khadija = await add_participant(db, clock)
    user = new_user("Khadija")
    await user.send(f"/start {(await invite_for(db, clock, khadija)).token}")
    admin = SimulatedUser(api, user.deliver, ADMIN_ID, "Admin")
    api.inject("error", "sendMessage", status=403)
    await user.send("/help")
    assert admin.chat == []


def test_the_rate_limit_counts_what_it_holds_back() -> None:
    alerts = ErrorAlerts(interval=timedelta(minutes=10))
    start = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)
    first = alerts.record(7, "KeyError", start)
    assert first is not None
    assert (first.update_id, first.error, first.unreported) == (7, "KeyError", 0)
    assert alerts.record(8, "KeyError", start + timedelta(minutes=1)) is None
    assert alerts.record(None, "OSError", start + timedelta(minutes=9)) is None
    again = alerts.record(None, "OSError", start + timedelta(minutes=10))
    assert again is not None
    assert (again.update_id, again.unreported) == (None, 2)
    assert alerts.record(9, "KeyError", start + timedelta(minutes=11)) is None
