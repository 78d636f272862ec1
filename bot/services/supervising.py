"""What Relais holds about a supervisor, for their /mydata (nothing about anyone else)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage import Database, repo
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


class ForgetSupervisorError(Exception):
    """No supervisor by that e-mail; the message says so."""


async def forget_supervisor(
    db: Database, email: str, *, with_answers: bool, actor: str, now: datetime
) -> int:
    """Erase a supervisor's identity, Telegram account and links to whom they supervised
    (and their answers if asked); returns the supervisor's id, as the audit log names it."""
    async with db.transaction() as conn:
        found = await store.supervisor_by_email(conn, email)
        if found is None:
            raise ForgetSupervisorError(f"no supervisor {email!r}")
        await store.erase_supervisor(conn, found.id, with_answers=with_answers, now=now)
        await repo.audit(
            conn,
            actor=actor,
            action="privacy.forget_supervisor",
            target=f"supervisor:{found.id}",
            details={"answers": with_answers},
            now=now,
        )
    await db.compact()
    return found.id
