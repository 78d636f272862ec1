"""Which columns hold personal data, declared next to the migrations; erasure follows it.

Every column of every table is listed here with what erasing a participant does to it,
which tables hold their answers (gone with ``relais forget --answers``) and which rows
name people nobody was matched to (gone at the end of retention). The SQL of every
erasure is derived from this declaration, once, at import; ``bot/storage/privacy.py``
runs it. ``tests/test_privacy.py`` compares the declaration with the migrated schema, so
a new column or table fails the suite until someone decides whether it identifies a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


class Keep:
    """Not personal (or pseudonymous: the participant code); left as is."""


class Staff:
    """Personal data of a staff member, not of a participant: ``relais forget`` keeps it."""


class DeleteRow:
    """The participant's rows of this table are deleted."""


@dataclass(frozen=True)
class Replace:
    """Overwritten with ``value`` (None: NULL); ``{code}`` is the participant's code."""

    value: str | None = None


KEEP: Final = Keep()
STAFF: Final = Staff()
DELETE_ROW: Final = DeleteRow()
NULL: Final = Replace(None)
ERASED_NAME = "—"
ERASED_FILE = ""  # action_plans.file_id is NOT NULL: the empty string means erased

Treatment = Keep | Staff | DeleteRow | Replace


@dataclass(frozen=True)
class Table:
    """How a participant's rows are found (SQL on ``:pid``), and each column's treatment.

    ``answers``: the participant's rows are what they answered or did, deleted when the
    erasure includes the answers. ``guests``: which rows name someone who is no
    participant (SQL), deleted when the retention period is over.
    """

    rows: str | None
    columns: dict[str, Treatment]
    answers: bool = False
    guests: str | None = None


# In erasure order: user_settings is found through the binding, so before the binding.
TABLES: Final[dict[str, Table]] = {
    "user_settings": Table(
        "user_id IN (SELECT user_id FROM telegram_bindings WHERE participant_id = :pid)",
        {"user_id": DELETE_ROW, "language": DELETE_ROW, "updated_at": DELETE_ROW},
    ),
    "telegram_bindings": Table(
        "participant_id = :pid",
        {
            "participant_id": DELETE_ROW,
            "user_id": DELETE_ROW,
            "chat_id": DELETE_ROW,
            "bound_at": DELETE_ROW,
            "reachable": DELETE_ROW,
        },
    ),
    "invites": Table(
        "participant_id = :pid",
        {
            "id": DELETE_ROW,
            "token_hash": DELETE_ROW,
            "participant_id": DELETE_ROW,
            "role": DELETE_ROW,
            "label": DELETE_ROW,
            "created_at": DELETE_ROW,
            "expires_at": DELETE_ROW,
            "used_at": DELETE_ROW,
            "used_by": DELETE_ROW,  # the Telegram id that opened the link
            "revoked_at": DELETE_ROW,
        },
    ),
    "participants": Table(
        "id = :pid",
        {
            "id": KEEP,
            "code": KEEP,
            # The external id and e-mail identify the person; the code keeps answers countable.
            "external_id": Replace("forgotten:{code}"),
            "full_name": Replace(ERASED_NAME),
            "email": NULL,
            "gender": KEEP,  # an aggregate dimension of the report
            "agency": NULL,
            "region": NULL,
            "cohort": KEEP,
            "language": KEEP,
            "created_at": KEEP,
            "updated_at": KEEP,
            "forgotten_at": KEEP,
        },
    ),
    "attempts": Table(
        "participant_id = :pid",
        {
            "id": KEEP,
            "participant_id": KEEP,
            "instrument": KEEP,
            "stage": KEEP,
            "number": KEEP,
            "content_version": KEEP,
            "seed": KEEP,
            "position": KEEP,
            "revision": KEEP,
            "draft": KEEP,
            "chat_id": NULL,  # the Telegram id
            "message_id": NULL,
            "started_at": KEEP,
            "updated_at": KEEP,
            "submitted_at": KEEP,
            "reopened_by": KEEP,
            "typed_message_id": NULL,
            # The report's summaries of the attempt: counted or not, its score and mean
            # rating, the quiz items answered right (pseudonymous, like the answers).
            "tallied": KEEP,
            "score": KEEP,
            "score_max": KEEP,
            "rating": KEEP,
            "correct_items": KEEP,
        },
        answers=True,
    ),
    "answers": Table(
        "attempt_id IN (SELECT id FROM attempts WHERE participant_id = :pid)",
        {
            "attempt_id": KEEP,
            "item": KEEP,
            "value": KEEP,
            "answered_at": KEEP,
            "item_version": KEEP,
            "correct": KEEP,
        },
        answers=True,
    ),
    "attendance": Table(
        "participant_id = :pid",
        {"participant_id": KEEP, "session": KEEP, "attended": KEEP, "recorded_at": KEEP},
        answers=True,
    ),
    "action_plans": Table(
        "participant_id = :pid",
        {
            "id": KEEP,
            "participant_id": KEEP,
            # The document itself carries the name: Telegram's handle to it goes too, so
            # /plans CODE can no longer send it; the row still counts for the certificate.
            "file_id": Replace(ERASED_FILE),
            "file_unique_id": Replace(ERASED_FILE),
            "file_name": NULL,  # "Plan_action_Khadija_Zerhouni.pdf"
            "mime_type": KEEP,
            "size": KEEP,
            "submitted_at": KEEP,
        },
        answers=True,
    ),
    "outbox": Table(
        "participant_id = :pid",
        {
            "id": KEEP,
            "key": KEEP,
            "kind": KEEP,
            "source": KEEP,
            "participant_id": KEEP,
            "chat_id": NULL,
            "payload": KEEP,  # rendered per cohort and language, never with a name
            "status": KEEP,  # pending rows are cancelled by privacy.forget
            "attempts": KEEP,
            "last_error": KEEP,
            "due_at": KEEP,
            "not_before": KEEP,
            "created_at": KEEP,
            "sent_at": KEEP,
            "message_id": KEEP,
            "payload_id": KEEP,
            "unless_instrument": KEEP,
            "unless_stage": KEEP,
            # A supervisor's row: the recipient is the supervisor (their chat id is in
            # chat_id, as a staff member's would be), never the participant erased; the
            # row holds no participant's id, so erasing one leaves it alone.
            "supervisor_id": KEEP,
            "unless_cohorts": KEEP,  # cohort ids, not people
        },
        answers=True,
    ),
    "staff_roles": Table(
        None,
        {
            "user_id": STAFF,
            "role": KEEP,
            "chat_id": STAFF,
            "display_name": STAFF,
            "granted_at": KEEP,
            "granted_by": KEEP,
        },
    ),
    "audit_log": Table(
        None,
        {
            "id": KEEP,
            "at": KEEP,
            "actor": STAFF,  # a staff Telegram id or "cli"
            "action": KEEP,
            "target": KEEP,  # a participant code, never a name
            "details": KEEP,
        },
    ),
    "broadcasts": Table(
        None,
        {
            "id": KEEP,
            "created_by": STAFF,
            "audience": KEEP,
            "payload": KEEP,
            "total": KEEP,
            "status": KEEP,
            "created_at": KEEP,
            "finished_at": KEEP,
        },
    ),
    "plan_marks": Table(
        None,
        {
            "cohort": KEEP,
            "step": KEEP,
            "fingerprint": KEEP,
            "reason": KEEP,
            "planned_at": KEEP,
        },
    ),
    "outbox_payloads": Table(None, {"id": KEEP, "body": KEEP}),
    "plan_epoch": Table(None, {"id": KEEP, "epoch": KEEP}),
    # Attendance from Zoom, Moodle and the venue. Matched rows keep only the participant id
    # (the name and e-mail were dropped when matched); the whole rows go with --answers.
    "attendance_visits": Table(
        "participant_id = :pid",
        {
            "id": KEEP,
            "session": KEEP,
            "person": KEEP,  # 'p:<id>' once matched
            "participant_id": KEEP,
            "name": NULL,
            "email": NULL,
            "reason": KEEP,
            "joined_at": KEEP,
            "left_at": KEEP,
            "imported_at": KEEP,
        },
        answers=True,
        guests="participant_id IS NULL",
    ),
    "ecampus_completions": Table(
        "participant_id = :pid",
        {
            "id": KEEP,
            "activity": KEEP,
            "person": KEEP,
            "participant_id": KEEP,
            "name": NULL,
            "email": NULL,
            "reason": KEEP,
            "completed": KEEP,
            "state": KEEP,
            "completed_at": KEEP,
            "imported_at": KEEP,
        },
        answers=True,
        guests="participant_id IS NULL",
    ),
    # A resolution names the person as a Zoom or Moodle report wrote them.
    "attendance_aliases": Table(
        "participant_id = :pid",
        {
            "person": DELETE_ROW,
            "participant_id": DELETE_ROW,
            "created_by": DELETE_ROW,
            "created_at": DELETE_ROW,
        },
        # Every alias names someone as a report wrote them, matched or not.
        guests="TRUE",
    ),
    "checkin_codes": Table(
        None,
        {
            "token_hash": KEEP,
            "session": KEEP,
            "created_by": STAFF,
            "created_at": KEEP,
            "expires_at": KEEP,
        },
    ),
    "checkins": Table(
        "participant_id = :pid",
        {"participant_id": KEEP, "session": KEEP, "slot": KEEP, "checked_at": KEEP},
        answers=True,
    ),
    "certificates": Table(
        "participant_id = :pid",
        {
            "id": KEEP,
            "participant_id": KEEP,
            "level": KEEP,
            "code": KEEP,
            # What a verifier is shown: kept, so that a certificate stays verifiable.
            "holder_initials": KEEP,
            "approved_by": STAFF,
            "approved_at": KEEP,
            "content_version": KEEP,
            "delivery": KEEP,
            "attempts": KEEP,
            "last_error": KEEP,
            "delivered_at": KEEP,
            # Telegram's handle to the PDF, which carries the full name: it cannot be sent
            # again once the person is forgotten.
            "file_id": NULL,
            "revoked_at": KEEP,
            "revoked_by": STAFF,
            "revoke_reason": KEEP,
        },
    ),
    # Supervisors (line managers): personal data of the supervisor, not of a participant,
    # so erasing a participant keeps them; the link to the erased participant goes.
    "supervisions": Table(
        "participant_id = :pid",
        {"participant_id": DELETE_ROW, "supervisor_id": DELETE_ROW, "since": DELETE_ROW},
    ),
    "supervisors": Table(
        None,
        {"id": KEEP, "email": STAFF, "name": STAFF, "created_at": KEEP, "updated_at": KEEP},
    ),
    "supervisor_bindings": Table(
        None,
        {"supervisor_id": KEEP, "user_id": STAFF, "chat_id": STAFF, "bound_at": KEEP},
    ),
    "supervisor_invites": Table(
        None,
        {
            "id": KEEP,
            "token_hash": KEEP,
            "supervisor_id": KEEP,
            "created_at": KEEP,
            "expires_at": KEEP,
            "used_at": KEEP,
            "used_by": STAFF,
            "revoked_at": KEEP,
        },
    ),
    # A supervisor's answers about a participant are answers about that participant: they
    # go with ``relais forget --answers``; otherwise they stay, keyed by their pseudonym.
    "supervisor_attempts": Table(
        "participant_id = :pid",
        {
            "id": KEEP,
            "supervisor_id": KEEP,
            "participant_id": KEEP,
            "pseudonym": KEEP,
            "instrument": KEEP,
            "stage": KEEP,
            "number": KEEP,
            "content_version": KEEP,
            "seed": KEEP,
            "position": KEEP,
            "revision": KEEP,
            "draft": KEEP,
            "chat_id": KEEP,  # the supervisor's chat, not the participant's
            "message_id": KEEP,
            "typed_message_id": KEEP,
            "started_at": KEEP,
            "updated_at": KEEP,
            "submitted_at": KEEP,
        },
        answers=True,
    ),
    "supervisor_answers": Table(
        "attempt_id IN (SELECT id FROM supervisor_attempts WHERE participant_id = :pid)",
        {
            "attempt_id": KEEP,
            "item": KEEP,
            "value": KEEP,
            "answered_at": KEEP,
            "item_version": KEEP,
            "correct": KEEP,
        },
        answers=True,
    ),
    # Wrong verification codes per Telegram account or address, for the rate limit.
    "verification_failures": Table(None, {"key": STAFF, "at": KEEP}),
    # Counts of people per answer, cohort and gender: aggregates, no one's row.
    "answer_tally": Table(
        None,
        {
            "instrument": KEEP,
            "stage": KEEP,
            "item": KEEP,
            "category": KEEP,
            "cohort": KEEP,
            "gender": KEEP,
            "correct": KEEP,
            "n": KEEP,
        },
    ),
    "tally_items": Table(None, {"instrument": KEEP, "item": KEEP, "type": KEEP, "answer": KEEP}),
    "tally_state": Table(None, {"id": KEEP, "dirty": KEEP}),
    # Each version of each item the bot has loaded: content, no one's data.
    "item_versions": Table(
        None,
        {
            "instrument": KEEP,
            "item": KEEP,
            "fingerprint": KEEP,
            "definition": KEEP,
            "answer_key": KEEP,
            "scored_key": KEEP,
            "position": KEEP,
            "first_seen": KEEP,
        },
    ),
}


# Table and column names come from the declaration above, never from input; checked anyway,
# since they are spliced into SQL, which cannot bind identifiers.
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def _name(identifier: str) -> str:
    if not _IDENTIFIER.fullmatch(identifier):
        raise ValueError(f"not an SQL identifier: {identifier!r}")
    return identifier


def _identity_statements() -> tuple[str, ...]:
    statements = []
    for name, table in TABLES.items():
        if table.rows is None:
            continue
        treatments = table.columns.values()
        if any(isinstance(t, DeleteRow) for t in treatments):
            statements.append(f"DELETE FROM {_name(name)} WHERE {table.rows}")
            continue
        sets = []
        for column, treatment in table.columns.items():
            if isinstance(treatment, Replace):
                if treatment.value is None:
                    sets.append(f"{_name(column)} = NULL")
                elif "{code}" in treatment.value:
                    prefix = treatment.value.replace("{code}", "").replace("'", "''")
                    sets.append(f"{_name(column)} = '{prefix}' || :code")
                else:
                    sets.append(f"{_name(column)} = :{name}_{column}")
        if sets:
            statements.append(f"UPDATE {_name(name)} SET {', '.join(sets)} WHERE {table.rows}")
    return tuple(statements)


def _answer_statements() -> tuple[str, ...]:
    # Backwards: a table whose rows are found through another's (answers through attempts)
    # is declared after it, and must go first.
    return tuple(
        f"DELETE FROM {_name(name)} WHERE {table.rows}"
        for name, table in reversed(TABLES.items())
        if table.answers and table.rows is not None
    )


def _guest_statements() -> tuple[str, ...]:
    return tuple(
        f"DELETE FROM {_name(name)} WHERE {table.guests}"
        for name, table in TABLES.items()
        if table.guests is not None
    )


# The SQL that erases one participant's identity (binds ``:pid``, ``:code`` and
# ``ERASURE_VALUES``), then their answers (``:pid``), and the rows naming guests.
IDENTITY_STATEMENTS: Final = _identity_statements()
ANSWER_STATEMENTS: Final = _answer_statements()
GUEST_STATEMENTS: Final = _guest_statements()
ERASURE_VALUES: Final[dict[str, str]] = {
    f"{name}_{column}": treatment.value
    for name, table in TABLES.items()
    for column, treatment in table.columns.items()
    if isinstance(treatment, Replace)
    and treatment.value is not None
    and "{code}" not in treatment.value
}
