"""Versioned schema migrations; ``PRAGMA user_version`` records the last one applied.

Never edit a migration that has shipped: append a new one. Each entry is applied in
its own transaction together with the ``user_version`` bump, so a crash mid-way
leaves the database at the previous version.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: participants, their Telegram binding, staff roles and invites.
    """
    CREATE TABLE participants (
        id            INTEGER PRIMARY KEY,
        code          TEXT NOT NULL UNIQUE,
        external_id   TEXT UNIQUE,
        full_name     TEXT NOT NULL,
        email         TEXT UNIQUE COLLATE NOCASE,
        gender        TEXT CHECK (gender IN ('female', 'male', 'other')),
        agency        TEXT,
        region        TEXT,
        cohort        TEXT NOT NULL,
        language      TEXT CHECK (language IN ('fr', 'en', 'ar')),
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        CHECK (external_id IS NOT NULL OR email IS NOT NULL)
    );

    CREATE TABLE telegram_bindings (
        participant_id INTEGER PRIMARY KEY REFERENCES participants(id) ON DELETE CASCADE,
        user_id        INTEGER NOT NULL UNIQUE,
        chat_id        INTEGER NOT NULL,
        bound_at       TEXT NOT NULL,
        reachable      INTEGER NOT NULL DEFAULT 1 CHECK (reachable IN (0, 1))
    );

    CREATE TABLE staff_roles (
        user_id      INTEGER NOT NULL,
        role         TEXT NOT NULL CHECK (role IN ('coordinator', 'evaluator', 'admin')),
        chat_id      INTEGER,
        display_name TEXT,
        granted_at   TEXT NOT NULL,
        granted_by   TEXT NOT NULL,
        PRIMARY KEY (user_id, role)
    );

    CREATE TABLE invites (
        id             INTEGER PRIMARY KEY,
        token_hash     TEXT NOT NULL UNIQUE,
        participant_id INTEGER REFERENCES participants(id) ON DELETE CASCADE,
        role           TEXT CHECK (role IN ('coordinator', 'evaluator', 'admin')),
        label          TEXT,
        created_at     TEXT NOT NULL,
        expires_at     TEXT NOT NULL,
        used_at        TEXT,
        used_by        INTEGER,
        revoked_at     TEXT,
        CHECK ((participant_id IS NULL) <> (role IS NULL))
    );
    CREATE INDEX invites_participant ON invites(participant_id);
    """,
    # 2: audit log of staff actions, and the language of users who are not participants.
    """
    CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY,
        at      TEXT NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        target  TEXT,
        details TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_log_at ON audit_log(at);

    CREATE TABLE user_settings (
        user_id    INTEGER PRIMARY KEY,
        language   TEXT CHECK (language IN ('fr', 'en', 'ar')),
        updated_at TEXT NOT NULL
    );
    """,
    # 3: questionnaire attempts and their answers; one row per item and attempt.
    """
    CREATE TABLE attempts (
        id              INTEGER PRIMARY KEY,
        participant_id  INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
        instrument      TEXT NOT NULL,
        stage           TEXT NOT NULL,
        number          INTEGER NOT NULL DEFAULT 1,
        content_version TEXT NOT NULL,
        seed            INTEGER NOT NULL,
        position        INTEGER NOT NULL DEFAULT 0,
        revision        INTEGER NOT NULL DEFAULT 0,
        draft           TEXT,
        chat_id         INTEGER,
        message_id      INTEGER,
        started_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        submitted_at    TEXT,
        reopened_by     TEXT,
        UNIQUE (participant_id, instrument, stage, number)
    );
    CREATE INDEX attempts_open ON attempts(participant_id) WHERE submitted_at IS NULL;

    CREATE TABLE answers (
        attempt_id  INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
        item        TEXT NOT NULL,
        value       TEXT NOT NULL,
        answered_at TEXT NOT NULL,
        PRIMARY KEY (attempt_id, item)
    );
    """,
    # 4: attendance at sessions (imported) and action plans (sent as documents in the chat).
    """
    CREATE TABLE attendance (
        participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
        session        TEXT NOT NULL,
        attended       INTEGER NOT NULL CHECK (attended IN (0, 1)),
        recorded_at    TEXT NOT NULL,
        PRIMARY KEY (participant_id, session)
    );

    CREATE TABLE action_plans (
        id             INTEGER PRIMARY KEY,
        participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
        file_id        TEXT NOT NULL,
        file_unique_id TEXT NOT NULL,
        file_name      TEXT,
        mime_type      TEXT,
        size           INTEGER,
        submitted_at   TEXT NOT NULL
    );
    CREATE INDEX action_plans_participant ON action_plans(participant_id, submitted_at);
    """,
    # 5: the outbox every scheduled or broadcast message goes through, and broadcasts.
    """
    CREATE TABLE outbox (
        id             INTEGER PRIMARY KEY,
        key            TEXT UNIQUE,
        kind           TEXT NOT NULL
                       CHECK (kind IN ('reminder', 'invitation', 'nudge', 'broadcast')),
        source         TEXT NOT NULL,
        participant_id INTEGER REFERENCES participants(id) ON DELETE CASCADE,
        chat_id        INTEGER,
        payload        TEXT NOT NULL,
        status         TEXT NOT NULL CHECK (status IN
                       ('pending', 'sending', 'sent', 'failed', 'skipped', 'cancelled')),
        attempts       INTEGER NOT NULL DEFAULT 0,
        last_error     TEXT,
        due_at         TEXT NOT NULL,
        not_before     TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        sent_at        TEXT,
        message_id     INTEGER
    );
    CREATE INDEX outbox_queue ON outbox(status, not_before);
    CREATE INDEX outbox_source ON outbox(source, status);

    CREATE TABLE broadcasts (
        id          INTEGER PRIMARY KEY,
        created_by  INTEGER NOT NULL,
        audience    TEXT NOT NULL,
        payload     TEXT NOT NULL,
        total       INTEGER NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('sending', 'done', 'cancelled')),
        created_at  TEXT NOT NULL,
        finished_at TEXT
    );
    """,
    # 6: a participant whose identity was erased (right to erasure, retention).
    """
    ALTER TABLE participants ADD COLUMN forgotten_at TEXT;
    """,
    # 7: the planner works per cohort in SQL, and remembers what it has fully planned.
    """
    CREATE INDEX participants_cohort ON participants(cohort, language);
    -- A step missed for a cohort (the bot was down, the session started) is recorded
    -- here once with its reason, rather than as one skipped row per participant.
    CREATE TABLE plan_marks (
        cohort      TEXT NOT NULL,
        step        TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        reason      TEXT,
        planned_at  TEXT NOT NULL,
        PRIMARY KEY (cohort, step)
    );
    -- A planned message is the same for a whole cohort and language: stored once and
    -- referenced, rather than copied into thousands of rows.
    CREATE TABLE outbox_payloads (
        id   INTEGER PRIMARY KEY,
        body TEXT NOT NULL
    );
    -- No REFERENCES: a foreign-key lookup per row would slow the planner's bulk insert,
    -- and outbox_payloads rows are never deleted while a row points to them.
    ALTER TABLE outbox ADD COLUMN payload_id INTEGER;
    -- Only broadcasts are looked up by source: planned rows need not pay for the index.
    DROP INDEX outbox_source;
    CREATE INDEX outbox_broadcasts ON outbox(source, status) WHERE kind = 'broadcast';
    -- Bumped whenever someone may lack a planned row: an enrolment or a cohort change.
    CREATE TABLE plan_epoch (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        epoch INTEGER NOT NULL
    );
    INSERT INTO plan_epoch (id, epoch) VALUES (1, 0);
    CREATE TRIGGER plan_epoch_enrolled AFTER INSERT ON telegram_bindings
    BEGIN
        UPDATE plan_epoch SET epoch = epoch + 1 WHERE id = 1;
    END;
    CREATE TRIGGER plan_epoch_moved AFTER UPDATE OF cohort ON participants
    WHEN old.cohort IS NOT new.cohort
    BEGIN
        UPDATE plan_epoch SET epoch = epoch + 1 WHERE id = 1;
    END;
    """,
    # 8: certificates approved by a coordinator, their delivery in the chat and revocation;
    # failed verification attempts, to rate-limit the guessing of codes.
    """
    CREATE TABLE certificates (
        id              INTEGER PRIMARY KEY,
        participant_id  INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
        level           TEXT NOT NULL CHECK (level IN ('participation', 'success')),
        code            TEXT NOT NULL UNIQUE,
        -- Kept at approval: what a verifier is shown, even once the name has been erased.
        holder_initials TEXT NOT NULL,
        approved_by     TEXT NOT NULL,
        approved_at     TEXT NOT NULL,
        content_version TEXT NOT NULL,
        delivery        TEXT NOT NULL DEFAULT 'pending'
                        CHECK (delivery IN ('pending', 'sending', 'sent', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        delivered_at    TEXT,
        file_id         TEXT,
        revoked_at      TEXT,
        revoked_by      TEXT,
        revoke_reason   TEXT
    );
    -- Nothing is issued twice: one live certificate per participant and level (a revoked
    -- one may be replaced by a new approval, with a new code).
    CREATE UNIQUE INDEX certificates_live ON certificates(participant_id, level)
        WHERE revoked_at IS NULL;
    CREATE INDEX certificates_to_deliver ON certificates(delivery)
        WHERE delivery IN ('pending', 'sending');

    CREATE TABLE verification_failures (
        key TEXT NOT NULL,
        at  TEXT NOT NULL
    );
    CREATE INDEX verification_failures_key ON verification_failures(key, at);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
