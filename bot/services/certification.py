"""Issuing certificates: the approval queue, approval, revocation and public verification.

Who qualifies comes only from ``bot.services.certificates`` (attendance, the final quiz,
the action plan), so a change in how attendance is counted plugs in unchanged. A
certificate is ready once its rules are met *and* the final quiz has closed for the
participant's cohort (a score can still change while it is open). A coordinator
approves; the bot then sends the PDF in the chat. Each certificate carries an
unguessable code that anyone may check, with minimal data in the answer.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.content import Content, LocalizedText
from bot.content.certificate_texts import LEVELS
from bot.services.certificates import (
    CertificateStatus,
    Level,
    certificate_statuses,
)
from bot.services.invites import TOKEN_LENGTH
from bot.storage import Database, privacy
from bot.storage import certificates as store
from bot.storage.certificates import Certificate
from bot.storage.repo import (
    Participant,
    audit,
    get_participant,
    list_participants,
    participant_by_key,
)

# Crockford's base 32: no I, L, O or U, so a code read aloud or retyped survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 16  # 80 random bits: far beyond what a rate-limited guesser can reach
DEEP_LINK_PREFIX = "v_"
# Wrong codes one Telegram account or one address may try before it is made to wait.
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
_LOOKALIKES = str.maketrans("OIL", "011")


class ApproveStatus(StrEnum):
    APPROVED = "approved"
    ALREADY = "already"
    NOT_READY = "not-ready"
    UNKNOWN = "unknown"
    NO_RULES = "no-rules"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One participant as the approval queue sees them."""

    participant: Participant
    status: CertificateStatus
    quiz_closed: bool
    issued: dict[str, Certificate] = field(default_factory=dict)

    def ready(self) -> list[str]:
        """Levels met, quiz closed and not issued yet: what a coordinator can approve."""
        if not self.quiz_closed:
            return []
        return [
            name
            for name in LEVELS
            if level_of(self.status, name).obtained and name not in self.issued
        ]


@dataclass(frozen=True, slots=True)
class Queue:
    """Everyone's standing, for ``/certificates`` and ``relais certificates list``."""

    candidates: list[Candidate]

    @property
    def ready(self) -> list[tuple[Candidate, str]]:
        return [(c, name) for c in self.candidates for name in c.ready()]

    @property
    def issued(self) -> list[Certificate]:
        return [cert for c in self.candidates for cert in c.issued.values()]

    @property
    def waiting(self) -> list[Candidate]:
        """Those who hold no certificate and are not ready for one: something is missing."""
        return [c for c in self.candidates if not c.issued and not c.ready()]

    @property
    def fingerprint(self) -> str:
        """A short digest of the ready list: "approve all" approves exactly what was shown."""
        return ready_fingerprint(self.ready)


@dataclass(frozen=True, slots=True)
class Approval:
    status: ApproveStatus
    certificate: Certificate | None = None
    participant: Participant | None = None


def level_of(status: CertificateStatus, name: str) -> Level:
    return status.success if name == "success" else status.participation


def ready_fingerprint(ready: list[tuple[Candidate, str]]) -> str:
    keys = sorted(f"{c.participant.id}:{name}" for c, name in ready)
    return hashlib.sha256("|".join(keys).encode()).hexdigest()[:10]


def new_code() -> str:
    """A fresh verification code."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """A code as typed or scanned (dashes, spaces, lower case, O for 0…); None if malformed."""
    cleaned = text.strip().upper()
    if cleaned.startswith(DEEP_LINK_PREFIX.upper()):
        cleaned = cleaned[len(DEEP_LINK_PREFIX) :]
    cleaned = cleaned.replace("-", "").replace(" ", "")
    cleaned = cleaned.translate(_LOOKALIKES)
    if len(cleaned) != CODE_LENGTH or any(ch not in ALPHABET for ch in cleaned):
        return None
    return cleaned


def is_verification(payload: str) -> bool:
    """Whether a ``/start`` payload is a certificate's QR code rather than an invitation.

    Invitation tokens are 32 URL-safe characters and may begin with ``v_`` too: only a
    shorter payload is a verification (a code is 16 characters after the prefix).
    """
    return payload.startswith(DEEP_LINK_PREFIX) and len(payload) < TOKEN_LENGTH


def display_code(code: str) -> str:
    """``ABCD-EFGH-JKMN-PQRS``: the code as printed on the certificate."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def deep_link(username: str, code: str) -> str:
    """What the certificate's QR code opens."""
    return f"https://t.me/{username}?start={DEEP_LINK_PREFIX}{code}"


def initials(full_name: str) -> str:
    """``K. E. I.`` for Khadija El Idrissi: all a verifier learns of the holder."""
    parts = [p for p in full_name.replace("-", " ").split() if p]
    return " ".join(f"{p[0].upper()}." for p in parts[:4]) or "?"


async def _forgotten(db: Database) -> set[int]:
    async with db.read() as conn:
        return await privacy.forgotten_ids(conn)


async def queue(db: Database, content: Content, now: datetime) -> Queue | None:
    """Everyone's standing now; None when the content has no certificate rules or texts."""
    stages = content.quiz_stages()
    kat, post = (stages[0], stages[2]) if stages else (None, None)
    if kat is None or post is None or content.certificates is None:
        return None
    from bot.rules.questionnaire import window_for

    async with db.read() as conn:
        people = await list_participants(conn)
        issued: dict[int, dict[str, Certificate]] = {}
        for cert in await store.all_certificates(conn):
            if not cert.revoked:
                issued.setdefault(cert.participant_id, {})[cert.level] = cert
    gone = await _forgotten(db)
    people = [p for p in people if p.id not in gone]
    statuses = await certificate_statuses(db, content, people)
    if statuses is None:
        return None
    closed: dict[str, bool] = {}
    candidates = []
    for person in people:
        if person.cohort not in closed:
            closed[person.cohort] = window_for(content, kat, post, person.cohort).closes <= now
        candidates.append(
            Candidate(person, statuses[person.id], closed[person.cohort], issued.get(person.id, {}))
        )
    return Queue(candidates)


async def approve(
    db: Database,
    content: Content,
    participant_id: int,
    level: str,
    *,
    actor: str,
    now: datetime,
) -> Approval:
    """Approve one certificate if, checked again now, it is ready and not already issued."""
    found = await queue(db, content, now)
    if found is None:
        return Approval(ApproveStatus.NO_RULES)
    candidate = next((c for c in found.candidates if c.participant.id == participant_id), None)
    if candidate is None or level not in LEVELS:
        return Approval(ApproveStatus.UNKNOWN)
    if level in candidate.issued:
        return Approval(ApproveStatus.ALREADY, candidate.issued[level], candidate.participant)
    if level not in candidate.ready():
        return Approval(ApproveStatus.NOT_READY, participant=candidate.participant)
    return await _issue(db, content, candidate.participant, level, actor=actor, now=now)


async def _issue(
    db: Database, content: Content, person: Participant, level: str, *, actor: str, now: datetime
) -> Approval:
    async with db.transaction() as conn:
        cert = await store.insert(
            conn,
            participant_id=person.id,
            level=level,
            code=new_code(),
            initials=initials(person.full_name),
            actor=actor,
            content_version=content.version,
            now=now,
        )
        if cert is None:
            # Approved meanwhile by someone else: the unique index kept it to one.
            return Approval(ApproveStatus.ALREADY, participant=person)
        await audit(
            conn,
            actor=actor,
            action="certificate.approve",
            target=person.code,
            details={"level": level, "certificate": cert.id},
            now=now,
        )
    return Approval(ApproveStatus.APPROVED, cert, person)


async def approve_all(
    db: Database,
    content: Content,
    *,
    actor: str,
    now: datetime,
    fingerprint: str | None = None,
) -> list[Approval] | None:
    """Approve everything ready; None when ``fingerprint`` no longer matches the ready list."""
    found = await queue(db, content, now)
    if found is None:
        return []
    if fingerprint is not None and fingerprint != found.fingerprint:
        return None
    # One look at everyone, then one insert each: the unique index still stops a twin.
    return [
        await _issue(db, content, candidate.participant, level, actor=actor, now=now)
        for candidate, level in found.ready
    ]


async def find_participant(db: Database, key: str) -> Participant | None:
    """A participant by code, external id or e-mail."""
    async with db.read() as conn:
        return await participant_by_key(conn, key)


async def participant_of(db: Database, participant_id: int) -> Participant | None:
    async with db.read() as conn:
        return await get_participant(conn, participant_id)


class RevokeStatus(StrEnum):
    REVOKED = "revoked"
    ALREADY = "already"
    UNKNOWN = "unknown"


async def revoke(
    db: Database, code_text: str, *, actor: str, reason: str, now: datetime
) -> tuple[RevokeStatus, Certificate | None]:
    """Revoke the certificate with this code; verification says so from then on."""
    code = normalise_code(code_text)
    async with db.transaction() as conn:
        cert = await store.by_code(conn, code) if code else None
        if cert is None:
            return RevokeStatus.UNKNOWN, None
        if not await store.revoke(conn, cert.id, actor=actor, reason=reason, now=now):
            return RevokeStatus.ALREADY, cert
        await audit(
            conn,
            actor=actor,
            action="certificate.revoke",
            target=cert.code,
            details={"reason": reason, "level": cert.level},
            now=now,
        )
        return RevokeStatus.REVOKED, await store.by_id(conn, cert.id)


async def certificates_of(db: Database, participant_id: int) -> list[Certificate]:
    """A participant's certificates, revoked ones included."""
    async with db.read() as conn:
        return await store.of_participant(conn, participant_id)


async def certificate_by_code(db: Database, code_text: str) -> Certificate | None:
    code = normalise_code(code_text)
    if code is None:
        return None
    async with db.read() as conn:
        return await store.by_code(conn, code)


async def counts_by_level(db: Database) -> dict[str, int]:
    """Certificates issued and not revoked, per level: ``{"participation": n, "success": m}``."""
    async with db.read() as conn:
        return await store.counts_by_level(conn)


# --- verification --------------------------------------------------------------------------


class Verdict(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    LIMITED = "limited"


@dataclass(frozen=True, slots=True)
class Verification:
    """What anyone who checks a code learns: no more than the holder's initials."""

    verdict: Verdict
    initials: str | None = None
    level: str | None = None
    title: LocalizedText | None = None
    course: LocalizedText | None = None
    issued_at: datetime | None = None
    revoked_at: datetime | None = None


async def verify(
    db: Database, content: Content, code_text: str, *, key: str, now: datetime
) -> Verification:
    """Check a code for ``key`` (``tg:<user id>`` or ``ip:<address>``), rate-limiting misses.

    Once ``key`` has tried ``MAX_FAILURES`` wrong codes within ``FAILURE_WINDOW`` every
    check is refused until the oldest falls out of the window: even a right code, so
    that a guesser learns nothing from the answers.
    """
    since = now - FAILURE_WINDOW
    async with db.transaction() as conn:
        await store.forget_failures(conn, since)
        if await store.failures_since(conn, key, since) >= MAX_FAILURES:
            return Verification(Verdict.LIMITED)
        code = normalise_code(code_text)
        cert = await store.by_code(conn, code) if code else None
        if cert is None:
            await store.record_failure(conn, key, now)
            return Verification(Verdict.UNKNOWN)
    texts = content.certificates
    level_text = texts.level(cert.level) if texts is not None else None
    return Verification(
        Verdict.REVOKED if cert.revoked else Verdict.VALID,
        initials=cert.holder_initials,
        level=cert.level,
        title=level_text.title if level_text else None,
        course=level_text.activity.title if level_text else content.programme.title,
        issued_at=cert.approved_at,
        revoked_at=cert.revoked_at,
    )
