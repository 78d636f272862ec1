"""What Relais holds about a supervisor, for their /mydata (nothing about anyone else)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage import Database
from bot.storage import supervisors as store
from bot.storage.supervisors import Supervisor


@dataclass(frozen=True, slots=True)
class SupervisorData:
    """The supervisor as stored, their Telegram account and how many questionnaires they sent."""

    supervisor: Supervisor
    account: tuple[int, datetime] | None
    answered: int


async def supervisor_data(db: Database, supervisor: Supervisor) -> SupervisorData:
    """Everything held about the supervisor themselves, in one read."""
    async with db.read() as conn:
        account = await store.binding_of(conn, supervisor.id)
        answered = await store.answered_count(conn, supervisor.id)
    return SupervisorData(supervisor, account, answered)
