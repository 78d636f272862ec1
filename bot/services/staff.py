"""Staff roles as use cases: list and revoke, shared by ``relais staff`` and the chat's /staff.

Issuing a staff invite is ``invites.issue_staff_invite``: the same function for both too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.storage import Database, repo
from bot.storage.repo import Role, StaffRole


@dataclass(frozen=True, slots=True)
class StaffMember:
    """One role held by one person; ``from_settings`` for admins named in RELAIS_ADMIN_IDS."""

    user_id: int
    role: Role
    display_name: str | None
    chat_id: int | None
    from_settings: bool
    granted_at: datetime | None = None  # None for the admins of the settings


async def list_staff(db: Database, admin_ids: Collection[int]) -> list[StaffMember]:
    """Every stored role, then the admins of the settings (who cannot be revoked in the chat)."""
    async with db.read() as conn:
        stored: list[StaffRole] = await repo.list_staff(conn)
    members = [
        StaffMember(r.user_id, r.role, r.display_name, r.chat_id, False, r.granted_at)
        for r in stored
    ]
    members += [StaffMember(a, Role.ADMIN, None, a, True) for a in admin_ids]
    return members


async def revoke_staff(db: Database, user_id: int, role: Role, *, clock: Clock, actor: str) -> bool:
    """Take ``role`` away from ``user_id`` and audit it; False (nothing written) if not held."""
    async with db.transaction() as conn:
        removed = await repo.revoke_role(conn, user_id, role)
        if removed:
            await repo.audit(
                conn,
                actor=actor,
                action="staff.revoke",
                target=str(user_id),
                details={"role": role.value},
                now=clock.now(),
            )
    return removed
