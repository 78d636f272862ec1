"""Versioned schema migrations; ``PRAGMA user_version`` records the last one applied.

Never edit a migration that has shipped: append a new one. Each entry is applied in
its own transaction together with the ``user_version`` bump, so a crash mid-way
leaves the database at the previous version.
"""

from __future__ import annotations

# Migration 9's summaries: the rows an attempt adds to (or, signed -1, takes out of) the
# answer tally, and what is stored on the attempt itself. bot/storage/tally.py rebuilds
# with the same text, so the two can never count differently.
TALLY_ROWS = """
    SELECT a.instrument, a.stage, x.item, j.value, {cohort}, {gender},
           CASE WHEN t.type = 'quiz' THEN COALESCE(x.correct, -1) ELSE -1 END,
           {sign} * COUNT(*)
    FROM attempts a
    JOIN participants p ON p.id = a.participant_id
    JOIN answers x ON x.attempt_id = a.id AND x.value <> 'null'
    JOIN tally_items t ON t.instrument = a.instrument AND t.item = x.item AND t.type <> 'text'
    JOIN json_each(CASE WHEN json_type(x.value) = 'array' THEN x.value
                        ELSE json_array(json(x.value)) END) j
    WHERE {attempts}
    GROUP BY 1, 2, 3, 4, 5, 6, 7{extra}
    UNION ALL
    SELECT a.instrument, a.stage, x.item, '*', {cohort}, {gender}, -1,
           {sign} * COUNT(*)
    FROM attempts a
    JOIN participants p ON p.id = a.participant_id
    JOIN answers x ON x.attempt_id = a.id AND x.value <> 'null'
    JOIN tally_items t ON t.instrument = a.instrument AND t.item = x.item AND t.type <> 'text'
    WHERE {attempts}
    GROUP BY 1, 2, 3, 4, 5, 6, 7{extra}
"""
# Counted with the person's group as it is now.
NOW_SIGNED = {
    "sign": "1",
    "extra": "",
    "cohort": "p.cohort",
    "gender": "COALESCE(p.gender, 'unknown')",
}
ATTEMPT_SUMMARY = """
    score = (SELECT COALESCE(SUM(x.correct), 0) FROM answers x
             WHERE x.attempt_id = {attempt}.id),
    score_max = (SELECT COUNT(x.correct) FROM answers x WHERE x.attempt_id = {attempt}.id),
    correct_items = (SELECT json_group_array(x.item) FROM answers x
             WHERE x.attempt_id = {attempt}.id AND x.correct = 1),
    rating = (SELECT AVG(CAST(x.value AS REAL)) FROM answers x JOIN tally_items t
              ON t.instrument = {attempt}.instrument AND t.item = x.item AND t.type = 'scale'
              WHERE x.attempt_id = {attempt}.id AND x.value <> 'null')
"""

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
    # 8: each answer is tied to the version of the item it answered (wording, options, key).
    """
    -- One row per version of an item ever loaded; the fingerprint is a hash of what the
    -- person saw and was scored with (bot/content/instruments.py, VERSIONED_FIELDS).
    CREATE TABLE item_versions (
        instrument  TEXT NOT NULL,
        item        TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        definition  TEXT NOT NULL,
        -- Quiz items: the key of this version, and the key its answers are scored with now
        -- (they differ only while the content declares a correction of the key).
        answer_key  TEXT,
        scored_key  TEXT,
        -- The item's place in the content now loaded; NULL for versions no longer loaded.
        position    INTEGER,
        first_seen  TEXT NOT NULL,
        PRIMARY KEY (instrument, item, fingerprint)
    );
    CREATE UNIQUE INDEX item_versions_loaded ON item_versions(instrument, item)
        WHERE position IS NOT NULL;
    ALTER TABLE answers ADD COLUMN item_version TEXT;
    -- Scored quiz items: 1 right, 0 wrong, under the key of the version answered.
    ALTER TABLE answers ADD COLUMN correct INTEGER CHECK (correct IN (0, 1));
    -- Rows written before this migration, found at the next start without a scan.
    CREATE INDEX answers_unversioned ON answers(attempt_id) WHERE item_version IS NULL;
    """,
    # 9: report summaries kept up to date as attempts are submitted, so that the report
    # reads a few thousand counts instead of every answer (see bot/storage/tally.py).
    """
    ALTER TABLE attempts ADD COLUMN tallied INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE attempts ADD COLUMN score INTEGER;
    ALTER TABLE attempts ADD COLUMN score_max INTEGER;
    ALTER TABLE attempts ADD COLUMN rating REAL;
    ALTER TABLE attempts ADD COLUMN correct_items TEXT;
    CREATE INDEX attempts_tallied ON attempts(instrument, stage) WHERE tallied = 1;
    -- The items of the running content: how each answer is counted, and quiz keys.
    CREATE TABLE tally_items (
        instrument TEXT NOT NULL,
        item       TEXT NOT NULL,
        type       TEXT NOT NULL,
        answer     TEXT,
        PRIMARY KEY (instrument, item)
    );
    -- People per answer given, by cohort and gender, over each person's counted attempt
    -- (the latest submitted one at each stage). category '*' counts the people who
    -- answered the item at all; correct: 1 or 0 for quiz items, else -1.
    CREATE TABLE answer_tally (
        instrument TEXT NOT NULL,
        stage      TEXT NOT NULL,
        item       TEXT NOT NULL,
        category   TEXT NOT NULL,
        cohort     TEXT NOT NULL,
        gender     TEXT NOT NULL,
        correct    INTEGER NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (instrument, stage, item, category, cohort, gender, correct)
    );
    -- dirty: the summaries must be rebuilt before they are read (starts dirty, so an
    -- upgraded database counts its existing answers once).
    CREATE TABLE tally_state (
        id    INTEGER PRIMARY KEY CHECK (id = 1),
        dirty INTEGER NOT NULL
    );
    INSERT INTO tally_state (id, dirty) VALUES (1, 1);
    CREATE TRIGGER tally_submitted AFTER UPDATE OF submitted_at ON attempts
    WHEN old.submitted_at IS NULL AND new.submitted_at IS NOT NULL
    BEGIN
        -- The earlier counted attempt at this stage leaves the tally, the new one enters.
        INSERT INTO answer_tally (instrument, stage, item, category, cohort, gender, correct, n)
        SELECT * FROM ("""
    + TALLY_ROWS.format(
        attempts="(a.tallied = 1 OR a.id = new.id) AND a.participant_id = new.participant_id"
        " AND a.instrument = new.instrument AND a.stage = new.stage",
        sign="CASE WHEN a.id = new.id THEN 1 ELSE -1 END",
        extra=", a.id = new.id",
        cohort="p.cohort",
        gender="COALESCE(p.gender, 'unknown')",
    )
    + """) WHERE true
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
        UPDATE attempts SET tallied = 0
        WHERE participant_id = new.participant_id AND instrument = new.instrument
          AND stage = new.stage AND tallied = 1;
        UPDATE attempts SET tallied = 1, """
    + ATTEMPT_SUMMARY.format(attempt="new")
    + """
        WHERE id = new.id;
    END;
    -- Someone moved to another cohort (or their gender was corrected): their counted
    -- answers move with them, out of the old group and into the new one.
    CREATE TRIGGER tally_moved AFTER UPDATE OF cohort, gender ON participants
    WHEN old.cohort IS NOT new.cohort OR old.gender IS NOT new.gender
    BEGIN
        INSERT INTO answer_tally (instrument, stage, item, category, cohort, gender, correct, n)
        SELECT * FROM ("""
    + TALLY_ROWS.format(
        attempts="a.tallied = 1 AND a.participant_id = new.id",
        sign="-1",
        extra="",
        cohort="old.cohort",
        gender="COALESCE(old.gender, 'unknown')",
    )
    + """
        UNION ALL """
    + TALLY_ROWS.format(attempts="a.tallied = 1 AND a.participant_id = new.id", **NOW_SIGNED)
    + """) WHERE true
        ON CONFLICT DO UPDATE SET n = n + excluded.n;
    END;
    -- Changes the summaries cannot follow row by row: rebuild them before the next report.
    CREATE TRIGGER tally_attempt_deleted AFTER DELETE ON attempts WHEN old.tallied = 1
    BEGIN
        UPDATE tally_state SET dirty = 1 WHERE dirty = 0;
    END;
    CREATE TRIGGER tally_answer_changed AFTER UPDATE OF value, correct ON answers
    WHEN (SELECT tallied FROM attempts WHERE id = new.attempt_id) = 1
    BEGIN
        UPDATE tally_state SET dirty = 1 WHERE dirty = 0;
    END;
    CREATE TRIGGER tally_answer_deleted AFTER DELETE ON answers
    WHEN (SELECT tallied FROM attempts WHERE id = old.attempt_id) = 1
    BEGIN
        UPDATE tally_state SET dirty = 1 WHERE dirty = 0;
    END;
    """,
    # 10: the last typed message that answered an attempt, so a redelivered update (same
    # message id) is recognised and stored once, like a re-sent tap.
    """
    ALTER TABLE attempts ADD COLUMN typed_message_id INTEGER;
    """,
    # 11: attendance from where it happens: Zoom reports, check-ins at the venue, the e-campus.
    """
    -- One row per visit of a Zoom participant report. ``person`` is who it is: 'p:<id>'
    -- once matched to a participant (the name and e-mail are then dropped), else the
    -- normalised 'email:...' or 'name:...' of the report, kept with the name and e-mail
    -- as written for the coordinator's review. Re-importing a report adds nothing.
    CREATE TABLE attendance_visits (
        id             INTEGER PRIMARY KEY,
        session        TEXT NOT NULL,
        person         TEXT NOT NULL,
        participant_id INTEGER REFERENCES participants(id) ON DELETE CASCADE,
        name           TEXT,
        email          TEXT,
        reason         TEXT,
        joined_at      TEXT NOT NULL,
        left_at        TEXT NOT NULL,
        imported_at    TEXT NOT NULL,
        UNIQUE (session, person, joined_at, left_at)
    );
    CREATE INDEX attendance_visits_participant ON attendance_visits(participant_id);

    -- Moodle's activity-completion report: one row per person and activity, the latest
    -- import wins. Same ``person`` convention as the visits.
    CREATE TABLE ecampus_completions (
        id             INTEGER PRIMARY KEY,
        activity       TEXT NOT NULL,
        person         TEXT NOT NULL,
        participant_id INTEGER REFERENCES participants(id) ON DELETE CASCADE,
        name           TEXT,
        email          TEXT,
        reason         TEXT,
        completed      INTEGER NOT NULL CHECK (completed IN (0, 1)),
        state          TEXT NOT NULL,
        completed_at   TEXT,
        imported_at    TEXT NOT NULL,
        UNIQUE (activity, person)
    );
    CREATE INDEX ecampus_completions_participant ON ecampus_completions(participant_id);

    -- How the coordinator resolved a name or e-mail the imports could not match:
    -- a participant, or NULL for someone to ignore (a guest speaker).
    CREATE TABLE attendance_aliases (
        person         TEXT PRIMARY KEY,
        participant_id INTEGER REFERENCES participants(id) ON DELETE CASCADE,
        created_by     TEXT NOT NULL,
        created_at     TEXT NOT NULL
    );

    -- The short-lived codes behind the check-in QR codes, stored as SHA-256 hashes.
    CREATE TABLE checkin_codes (
        token_hash TEXT PRIMARY KEY,
        session    TEXT NOT NULL,
        created_by INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE INDEX checkin_codes_session ON checkin_codes(session);

    -- A participant scanned the code during one check-in window (slot) of a session.
    CREATE TABLE checkins (
        participant_id INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
        session        TEXT NOT NULL,
        slot           TEXT NOT NULL,
        checked_at     TEXT NOT NULL,
        PRIMARY KEY (participant_id, session, slot)
    );
    """,
    # 12: certificates approved by a coordinator, their delivery in the chat and revocation;
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
    # 13: a nudge's delivery guard is a column, not a key inside the message: the stage
    # whose submission (by the row's participant, latest attempt) makes the row pointless.
    """
    ALTER TABLE outbox ADD COLUMN unless_instrument TEXT;
    ALTER TABLE outbox ADD COLUMN unless_stage TEXT;
    UPDATE outbox SET
        unless_instrument = json_extract(coalesce((SELECT s.body FROM outbox_payloads s
            WHERE s.id = outbox.payload_id), outbox.payload), '$.unless_submitted[0]'),
        unless_stage = json_extract(coalesce((SELECT s.body FROM outbox_payloads s
            WHERE s.id = outbox.payload_id), outbox.payload), '$.unless_submitted[1]');
    UPDATE outbox SET payload = json_remove(payload, '$.unless_submitted')
        WHERE json_extract(payload, '$.unless_submitted') IS NOT NULL;
    UPDATE outbox_payloads SET body = json_remove(body, '$.unless_submitted')
        WHERE json_extract(body, '$.unless_submitted') IS NOT NULL;
    """,
    # 14: supervisors (line managers) named by the roster, whom each supervises, and their
    # own single-use invitations and Telegram binding. Apart from the participants' tables:
    # a supervisor is no participant (no /me results, no certificate, no pseudonym shared).
    """
    CREATE TABLE supervisors (
        id         INTEGER PRIMARY KEY,
        email      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        name       TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    -- One supervisor per participant, as the roster's supervisor_email column says.
    CREATE TABLE supervisions (
        participant_id INTEGER PRIMARY KEY REFERENCES participants(id) ON DELETE CASCADE,
        supervisor_id  INTEGER NOT NULL REFERENCES supervisors(id) ON DELETE CASCADE,
        since          TEXT NOT NULL
    );
    CREATE INDEX supervisions_supervisor ON supervisions(supervisor_id);
    CREATE TABLE supervisor_bindings (
        supervisor_id INTEGER PRIMARY KEY REFERENCES supervisors(id) ON DELETE CASCADE,
        user_id       INTEGER NOT NULL UNIQUE,
        chat_id       INTEGER NOT NULL,
        bound_at      TEXT NOT NULL
    );
    CREATE TABLE supervisor_invites (
        id            INTEGER PRIMARY KEY,
        token_hash    TEXT NOT NULL UNIQUE,
        supervisor_id INTEGER NOT NULL REFERENCES supervisors(id) ON DELETE CASCADE,
        created_at    TEXT NOT NULL,
        expires_at    TEXT NOT NULL,
        used_at       TEXT,
        used_by       INTEGER,
        revoked_at    TEXT
    );
    CREATE INDEX supervisor_invites_supervisor ON supervisor_invites(supervisor_id);
    """,
    # 15: a supervisor's answers about each person they supervise, apart from the
    # participants' attempts: the tallies, scores, certificates, /me and the participant
    # export never see them. ``pseudonym`` (S-…) is the evaluator export's only key, one per
    # supervisor and supervisee, drawn at random so that it cannot be linked to the
    # participant's code.
    """
    CREATE TABLE supervisor_attempts (
        id               INTEGER PRIMARY KEY,
        supervisor_id    INTEGER NOT NULL REFERENCES supervisors(id) ON DELETE CASCADE,
        participant_id   INTEGER NOT NULL REFERENCES participants(id) ON DELETE CASCADE,
        pseudonym        TEXT NOT NULL,
        instrument       TEXT NOT NULL,
        stage            TEXT NOT NULL,
        number           INTEGER NOT NULL DEFAULT 1,
        content_version  TEXT NOT NULL,
        seed             INTEGER NOT NULL,
        position         INTEGER NOT NULL DEFAULT 0,
        revision         INTEGER NOT NULL DEFAULT 0,
        draft            TEXT,
        chat_id          INTEGER,
        message_id       INTEGER,
        typed_message_id INTEGER,
        started_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL,
        submitted_at     TEXT,
        UNIQUE (supervisor_id, participant_id, instrument, stage, number)
    );
    CREATE INDEX supervisor_attempts_open ON supervisor_attempts(supervisor_id)
        WHERE submitted_at IS NULL;
    CREATE INDEX supervisor_attempts_subject ON supervisor_attempts(participant_id);
    CREATE TABLE supervisor_answers (
        attempt_id   INTEGER NOT NULL REFERENCES supervisor_attempts(id) ON DELETE CASCADE,
        item         TEXT NOT NULL,
        value        TEXT NOT NULL,
        answered_at  TEXT NOT NULL,
        item_version TEXT,
        correct      INTEGER CHECK (correct IN (0, 1)),
        PRIMARY KEY (attempt_id, item)
    );
    """,
    # 16: campaigns reach supervisors. A supervisor's row names them (``participant_id``
    # is NULL), and a supervisor's nudge is guarded over the cohorts of the supervisees it
    # asks about (``unless_cohorts``, '+'-separated ids). A supervisor who binds, or a
    # supervision that appears or moves, may lack a planned row: the epoch says so.
    """
    ALTER TABLE outbox ADD COLUMN supervisor_id INTEGER
        REFERENCES supervisors(id) ON DELETE CASCADE;
    ALTER TABLE outbox ADD COLUMN unless_cohorts TEXT;
    CREATE INDEX outbox_supervisor ON outbox(supervisor_id) WHERE supervisor_id IS NOT NULL;
    CREATE TRIGGER plan_epoch_supervisor_bound AFTER INSERT ON supervisor_bindings
    BEGIN
        UPDATE plan_epoch SET epoch = epoch + 1 WHERE id = 1;
    END;
    CREATE TRIGGER plan_epoch_supervision_added AFTER INSERT ON supervisions
    BEGIN
        UPDATE plan_epoch SET epoch = epoch + 1 WHERE id = 1;
    END;
    CREATE TRIGGER plan_epoch_supervision_moved AFTER UPDATE OF supervisor_id ON supervisions
    WHEN old.supervisor_id IS NOT new.supervisor_id
    BEGIN
        UPDATE plan_epoch SET epoch = epoch + 1 WHERE id = 1;
    END;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
