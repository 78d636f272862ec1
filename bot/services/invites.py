"""Single-use invitation links: issue, redeem, and write them out as CSV and QR codes."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import aiosqlite
import segno

from bot.clock import Clock
from bot.i18n import negotiate_locale
from bot.storage import Database, repo, supervisors
from bot.storage.files import private_file
from bot.storage.repo import Participant, Role
from bot.storage.supervisors import Supervisor

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


class RedeemStatus(StrEnum):
    """The outcome of opening an invitation link."""

    ENROLLED = "enrolled"
    STAFF_GRANTED = "staff_granted"
    ALREADY_ENROLLED = "already_enrolled"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    ACCOUNT_TAKEN = "account_taken"
    PARTICIPANT_TAKEN = "participant_taken"
    SUPERVISOR_ENROLLED = "supervisor_enrolled"
    SUPERVISOR_TAKEN = "supervisor_taken"


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """A freshly issued invite; the plain token exists only here, never in the database."""

    token: str
    expires_at: datetime
    participant: Participant | None
    role: Role | None
    label: str | None
    supervisor: Supervisor | None = None


@dataclass(frozen=True, slots=True)
class Redemption:
    """What redeeming a token did."""

    status: RedeemStatus
    participant: Participant | None = None
    role: Role | None = None
    supervisor: Supervisor | None = None


# 192 random bits, 32 URL-safe characters: fits Telegram's 64-character /start payload.
# The other /start payloads (check-in ``c_…``, certificate ``v_…``) are shorter, which is
# how /start tells them apart: an invitation may begin with ``c_`` or ``v_`` as well.
TOKEN_LENGTH = 32


def new_token() -> str:
    """A new invitation token (``TOKEN_LENGTH`` URL-safe characters)."""
    return secrets.token_urlsafe(TOKEN_LENGTH * 3 // 4)


def hash_token(token: str) -> str:
    """What the database stores instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def deep_link(bot_username: str, token: str) -> str:
    """The t.me link that opens the bot with ``/start <token>``."""
    return f"https://t.me/{bot_username}?start={token}"


async def issue_participant_invites(
    db: Database, *, clock: Clock, ttl: timedelta, actor: str, cohort: str | None = None
) -> list[IssuedInvite]:
    """One new invite per participant not enrolled; their earlier unused invites stop working."""
    now = clock.now()
    issued: list[IssuedInvite] = []
    async with db.transaction() as conn:
        for participant in await repo.unbound_participants(conn):
            if cohort is not None and participant.cohort != cohort:
                continue
            issued.append(await _replace_invite(conn, participant, now, ttl))
        await repo.audit(
            conn,
            actor=actor,
            action="invites.issue",
            target=cohort,
            details={"count": len(issued)},
            now=now,
        )
    return issued


async def issue_supervisor_invites(
    db: Database, *, clock: Clock, ttl: timedelta, actor: str
) -> list[IssuedInvite]:
    """One new invite per supervisor not enrolled; their earlier unused invites stop working."""
    now = clock.now()
    issued: list[IssuedInvite] = []
    async with db.transaction() as conn:
        for supervisor in await supervisors.unbound_supervisors(conn):
            token = new_token()
            await supervisors.insert_invite(conn, hash_token(token), supervisor.id, now, now + ttl)
            issued.append(IssuedInvite(token, now + ttl, None, None, None, supervisor))
        await repo.audit(
            conn,
            actor=actor,
            action="supervisors.invite",
            target=None,
            details={"count": len(issued)},
            now=now,
        )
    return issued


async def _redeem_supervisor(
    conn: aiosqlite.Connection, token: str, user_id: int, chat_id: int, now: datetime
) -> Redemption:
    """A supervisor's invitation: binds the account to the supervisor, nothing else."""
    invite = await supervisors.invite_by_hash(conn, hash_token(token))
    if invite is None:
        return Redemption(RedeemStatus.UNKNOWN)
    mine = await supervisors.supervisor_for_user(conn, user_id)
    if invite.used_at is not None:
        if invite.used_by == user_id and mine is not None:
            return Redemption(RedeemStatus.SUPERVISOR_ENROLLED, supervisor=mine)
        return Redemption(RedeemStatus.USED)
    if invite.revoked_at is not None:
        return Redemption(RedeemStatus.USED)
    if invite.expires_at <= now:
        return Redemption(RedeemStatus.EXPIRED)
    # One account, one place: a participant's account does not also answer as a supervisor.
    if mine is not None or await repo.participant_for_user(conn, user_id) is not None:
        return Redemption(RedeemStatus.ACCOUNT_TAKEN)
    if await supervisors.is_bound(conn, invite.supervisor_id):
        return Redemption(RedeemStatus.SUPERVISOR_TAKEN)
    if not await supervisors.bind(conn, invite, user_id, chat_id, now):
        return Redemption(RedeemStatus.USED)
    await repo.audit(
        conn,
        actor=f"telegram:{user_id}",
        action="supervisors.enrol",
        target=str(invite.supervisor_id),
        details={"invite": invite.id},
        now=now,
    )
    return Redemption(
        RedeemStatus.SUPERVISOR_ENROLLED,
        supervisor=await supervisors.supervisor_for_user(conn, user_id),
    )


async def issue_staff_invite(
    db: Database, *, role: Role, label: str | None, clock: Clock, ttl: timedelta, actor: str
) -> IssuedInvite:
    """A single-use link that grants ``role`` to whoever opens it first."""
    now = clock.now()
    token = new_token()
    async with db.transaction() as conn:
        await repo.insert_invite(
            conn,
            hash_token(token),
            participant_id=None,
            role=role,
            label=label,
            now=now,
            expires_at=now + ttl,
        )
        await repo.audit(
            conn,
            actor=actor,
            action="staff.invite",
            target=role.value,
            details={"label": label},
            now=now,
        )
    return IssuedInvite(token, now + ttl, None, role, label)


async def redeem(
    db: Database,
    *,
    token: str,
    user_id: int,
    chat_id: int,
    language_code: str | None,
    default_locale: str,
    display_name: str | None,
    clock: Clock,
) -> Redemption:
    """Bind the account or grant the role in one transaction; any refusal writes nothing."""
    if not TOKEN_RE.fullmatch(token):
        return Redemption(RedeemStatus.UNKNOWN)
    now = clock.now()
    async with db.transaction() as conn:
        invite = await repo.invite_by_hash(conn, hash_token(token))
        if invite is None:
            return await _redeem_supervisor(conn, token, user_id, chat_id, now)
        participant = (
            await repo.get_participant(conn, invite.participant_id)
            if invite.participant_id is not None
            else None
        )
        if invite.used_at is not None:
            if invite.used_by == user_id and participant is not None:
                return Redemption(RedeemStatus.ALREADY_ENROLLED, participant)
            return Redemption(RedeemStatus.USED)
        if invite.revoked_at is not None:
            return Redemption(RedeemStatus.USED)
        if invite.expires_at <= now:
            return Redemption(RedeemStatus.EXPIRED)
        if invite.role is not None:
            await repo.grant_role(
                conn,
                user_id,
                invite.role,
                chat_id=chat_id,
                display_name=display_name,
                granted_by=f"invite:{invite.id}",
                now=now,
            )
            await repo.mark_invite_used(conn, invite.id, user_id, now)
            await repo.audit(
                conn,
                actor=f"telegram:{user_id}",
                action="staff.enrol",
                target=invite.role.value,
                details={"invite": invite.id},
                now=now,
            )
            return Redemption(RedeemStatus.STAFF_GRANTED, role=invite.role)
        assert participant is not None
        # One account, one place, both ways: a supervisor's account is not a participant's.
        if (
            await repo.participant_for_user(conn, user_id) is not None
            or await supervisors.supervisor_for_user(conn, user_id) is not None
        ):
            return Redemption(RedeemStatus.ACCOUNT_TAKEN)
        if await repo.binding_for_participant(conn, participant.id) is not None:
            return Redemption(RedeemStatus.PARTICIPANT_TAKEN)
        if not await repo.mark_invite_used(conn, invite.id, user_id, now):
            return Redemption(RedeemStatus.USED)
        await repo.bind_participant(conn, participant.id, user_id, chat_id, now)
        if participant.language is None:
            await repo.set_participant_language(
                conn, participant.id, negotiate_locale(language_code, default_locale), now
            )
        participant = await repo.get_participant(conn, participant.id)
    return Redemption(RedeemStatus.ENROLLED, participant)


def write_invites_csv(path: Path, invites: Sequence[IssuedInvite], bot_username: str) -> None:
    """A CSV French Excel opens as is (BOM, ``;``): one link per participant."""
    path.parent.mkdir(parents=True, exist_ok=True)
    private_file(path)  # names, e-mails and live enrolment links: owner only
    path.write_bytes(invites_csv(invites, bot_username))


def invites_csv(invites: Sequence[IssuedInvite], bot_username: str) -> bytes:
    """The invitations CSV's bytes (UTF-8 with BOM, ``;``): for a file or the chat."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["external_id", "full_name", "email", "cohort", "link", "expires_at"])
    for invite in invites:
        p, boss = invite.participant, invite.supervisor
        writer.writerow(
            [
                p.external_id if p else "",
                p.full_name if p else (boss.name or "") if boss else invite.label or "",
                p.email if p else boss.email if boss else "",
                p.cohort if p else "",
                deep_link(bot_username, invite.token),
                invite.expires_at.isoformat(),
            ]
        )
    return out.getvalue().encode("utf-8-sig")


class ReissueStatus(StrEnum):
    """Why a single new link could not be issued."""

    ISSUED = "issued"
    UNKNOWN = "unknown"
    ENROLLED = "enrolled"


async def reissue_invite(
    db: Database, key: str, *, clock: Clock, ttl: timedelta, actor: str
) -> tuple[ReissueStatus, IssuedInvite | None]:
    """A new link for one participant (code, external id or e-mail); their old ones stop working.

    Someone already enrolled keeps their account: a link would only be refused.
    """
    now = clock.now()
    async with db.transaction() as conn:
        participant = await repo.participant_by_key(conn, key.strip())
        if participant is None:
            return ReissueStatus.UNKNOWN, None
        if await repo.binding_for_participant(conn, participant.id) is not None:
            return ReissueStatus.ENROLLED, None
        if participant.id not in {p.id for p in await repo.unbound_participants(conn)}:
            return ReissueStatus.UNKNOWN, None  # erased (relais forget): no identity to invite
        issued = await _replace_invite(conn, participant, now, ttl)
        await repo.audit(
            conn,
            actor=actor,
            action="invites.reissue",
            target=participant.code,
            details=None,
            now=now,
        )
    return ReissueStatus.ISSUED, issued


async def _replace_invite(
    conn: aiosqlite.Connection, participant: Participant, now: datetime, ttl: timedelta
) -> IssuedInvite:
    """A participant's new single-use link; their earlier unused ones stop working."""
    await repo.revoke_pending_invites(conn, participant.id, now)
    token = new_token()
    await repo.insert_invite(
        conn,
        hash_token(token),
        participant_id=participant.id,
        role=None,
        label=None,
        now=now,
        expires_at=now + ttl,
    )
    return IssuedInvite(token, now + ttl, participant, None, None)


def write_qr_codes(
    directory: Path, invites: Sequence[IssuedInvite], bot_username: str
) -> list[Path]:
    """One PNG QR code per invite, big enough to scan from a projected screen."""
    # Each code enrols whoever scans it first, and is named after the person.
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    paths = []
    for invite in invites:
        p = invite.participant
        stem = (p.external_id or p.code) if p else f"staff-{invite.role}"
        path = directory / (re.sub(r"[^A-Za-z0-9_.-]", "_", stem) + ".png")
        private_file(path)
        segno.make(deep_link(bot_username, invite.token), error="m").save(
            str(path), scale=10, border=4
        )
        paths.append(path)
    return paths
