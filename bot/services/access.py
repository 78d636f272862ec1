"""Who a Telegram user is to Relais: participant, staff, both or nobody, and their language."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.i18n import LOCALES, negotiate_locale
from bot.storage import Database, repo, supervisors
from bot.storage.repo import Binding, Participant, Role
from bot.storage.supervisors import Supervisor

# Who may do what, beyond participants: one place for every staff-only command.
COORDINATION = frozenset({Role.COORDINATOR, Role.ADMIN})
EVALUATION = frozenset({Role.EVALUATOR, Role.COORDINATOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Identity:
    """A Telegram user as Relais knows them."""

    user_id: int
    participant: Participant | None
    binding: Binding | None
    roles: frozenset[Role]
    stored_language: str | None
    # A line manager enrolled by their own invitation: no participant, no staff role, so no
    # programme content, results or exports; only their own questionnaires.
    supervisor: Supervisor | None = None

    @property
    def is_participant(self) -> bool:
        """Enrolled as a participant through an invite."""
        return self.participant is not None

    @property
    def is_staff(self) -> bool:
        """Holds at least one staff role."""
        return bool(self.roles)

    @property
    def is_known(self) -> bool:
        """May see programme content at all."""
        return self.is_participant or self.is_staff

    def locale(self, language_code: str | None, default: str) -> str:
        """The language to answer in: the one chosen, else the Telegram client's, else default."""
        return choose_locale(self.stored_language, language_code, default)


def choose_locale(saved: str | None, language_code: str | None, default: str) -> str:
    """The language chosen in the bot, else the Telegram client's, else the default."""
    if saved in LOCALES:
        return saved
    return negotiate_locale(language_code, default)


async def identify(db: Database, user_id: int, admin_ids: Collection[int]) -> Identity:
    """Look a Telegram user up; admin ids from the settings count as the admin role."""
    async with db.read() as conn:
        record = await repo.user_record(conn, user_id)
        supervisor = await supervisors.supervisor_for_user(conn, user_id)
    roles = set(record.roles)
    if user_id in admin_ids:
        roles.add(Role.ADMIN)
    participant, binding = record.enrolment if record.enrolment else (None, None)
    language = participant.language if participant is not None else record.language
    return Identity(user_id, participant, binding, frozenset(roles), language, supervisor)


async def set_language(db: Database, identity: Identity, locale: str, now: datetime) -> None:
    """Store a chosen language: on the participant record, else in the user's settings."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    async with db.transaction() as conn:
        if identity.participant is not None:
            await repo.set_participant_language(conn, identity.participant.id, locale, now)
        else:
            await repo.set_user_language(conn, identity.user_id, locale, now)


async def set_reachable(db: Database, user_id: int, reachable: bool) -> bool:
    """Remember that a participant blocked (False) or unblocked (True) the bot."""
    async with db.transaction() as conn:
        return await repo.set_reachable(conn, user_id, reachable)
