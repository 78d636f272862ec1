"""Roster import: a CSV from a spreadsheet, validated whole, then imported all or nothing."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.i18n import LOCALES, _, said
from bot.services.csvfile import RowProblem, TableError, read_table
from bot.storage import Database, repo
from bot.storage.repo import ParticipantFields
from bot.storage.supervisors import Link, sync_apply_links

COLUMNS = (
    "external_id",
    "full_name",
    "email",
    "gender",
    "agency",
    "region",
    "cohort",
    "language",
    # Optional: the participant's line manager, who answers the supervisors' questionnaire.
    "supervisor_email",
    "supervisor_name",
)
ALIASES = {
    "identifiant": "external_id",
    "matricule": "external_id",
    "nom_complet": "full_name",
    "nom": "full_name",
    "courriel": "email",
    "e-mail": "email",
    "genre": "gender",
    "sexe": "gender",
    "agence": "agency",
    "région": "region",
    "cohorte": "cohort",
    "groupe": "cohort",
    "langue": "language",
    "courriel_superieur": "supervisor_email",
    "email_superieur": "supervisor_email",
    "superieur": "supervisor_name",
    "nom_superieur": "supervisor_name",
}
GENDERS = {
    "f": "female",
    "female": "female",
    "femme": "female",
    "m": "male",
    "male": "male",
    "homme": "male",
    "h": "male",
    "other": "other",
    "autre": "other",
    "x": "other",
}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Kept under the roster's names: the CLI and the tests speak of roster problems.
RosterProblem = RowProblem


class RosterError(TableError):
    """The roster was refused; ``problems`` names every bad row."""


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A valid roster row."""

    row: int
    fields: ParticipantFields
    # The file has a supervisor_email column: the row sets (or, empty, removes) the link.
    sets_supervisor: bool = False
    supervisor_email: str | None = None
    supervisor_name: str | None = None


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import changed."""

    created: int
    updated: int
    unchanged: int
    supervisions: int = 0  # participants whose supervisor was set, changed or removed


def parse_roster(data: bytes, cohort_ids: Collection[str]) -> list[RosterEntry]:
    """Validate the whole file; raise ``RosterError`` listing every problem."""
    table = read_table(
        data,
        columns=COLUMNS,
        aliases=ALIASES,
        required=("full_name", "cohort"),
        error=RosterError,
    )
    header = table.header
    problems = list(table.header_problems)
    if "external_id" not in header and "email" not in header:
        problems.append(RosterProblem(1, None, said(_("needs an external_id or an email column"))))
    if "supervisor_name" in header and "supervisor_email" not in header:
        problems.append(
            RosterProblem(1, None, said(_("supervisor_name needs a supervisor_email column")))
        )
    if problems:
        raise RosterError(problems)
    cohorts = {c.lower(): c for c in cohort_ids}
    entries: list[RosterEntry] = []
    seen: dict[tuple[str, str], int] = {}
    names: dict[str, tuple[str, int]] = {}
    for row, values in table.rows:
        entry = _entry(row, values, cohorts, problems)
        if entry is None:
            continue
        if "supervisor_email" in header:
            entry = _with_supervisor(entry, values, problems)
            email, name = entry.supervisor_email, entry.supervisor_name
            if email and name:
                known, first = names.setdefault(email, (name, row))
                if known != name:
                    problems.append(
                        RosterProblem(
                            row,
                            "supervisor_name",
                            said(
                                _("%(email)r is named %(name)r on row %(row)d"),
                                email=email,
                                name=known,
                                row=first,
                            ),
                        )
                    )
        for key in ("external_id", "email"):
            value = getattr(entry.fields, key)
            if value:
                if (key, value.lower()) in seen:
                    other = seen[(key, value.lower())]
                    problems.append(
                        RosterProblem(
                            row,
                            key,
                            said(_("%(value)r already on row %(row)d"), value=value, row=other),
                        )
                    )
                else:
                    seen[(key, value.lower())] = row
        entries.append(entry)
    if problems:
        raise RosterError(problems)
    return entries


def _entry(
    row: int, values: dict[str, str], cohorts: dict[str, str], problems: list[RosterProblem]
) -> RosterEntry | None:
    before = len(problems)
    external_id = values.get("external_id") or None
    email = (values.get("email") or "").lower() or None
    name = values.get("full_name", "")
    if not name:
        problems.append(RosterProblem(row, "full_name", said(_("empty"))))
    if not external_id and not email:
        problems.append(RosterProblem(row, None, said(_("needs an external_id or an email"))))
    if email and not EMAIL.fullmatch(email):
        problems.append(
            RosterProblem(row, "email", said(_("not an e-mail address: %(value)r"), value=email))
        )
    cohort_raw = values.get("cohort", "")
    cohort = cohorts.get(cohort_raw.lower())
    if cohort is None:
        known = ", ".join(sorted(cohorts.values()))
        problems.append(
            RosterProblem(
                row,
                "cohort",
                said(
                    _("unknown cohort %(value)r (known: %(known)s)"), value=cohort_raw, known=known
                ),
            )
        )
    gender_raw = values.get("gender", "").lower()
    gender = GENDERS.get(gender_raw) if gender_raw else None
    if gender_raw and gender is None:
        problems.append(
            RosterProblem(
                row, "gender", said(_("%(value)r is not F, M or other"), value=gender_raw)
            )
        )
    language = values.get("language", "").lower() or None
    if language and language not in LOCALES:
        problems.append(
            RosterProblem(
                row,
                "language",
                said(_("%(value)r is not %(known)s"), value=language, known=", ".join(LOCALES)),
            )
        )
    if len(problems) > before or cohort is None:
        return None
    fields = ParticipantFields(
        external_id=external_id,
        full_name=name,
        email=email,
        gender=gender,
        agency=values.get("agency") or None,
        region=values.get("region") or None,
        cohort=cohort,
        language=language,
    )
    return RosterEntry(row, fields)


def _with_supervisor(
    entry: RosterEntry, values: dict[str, str], problems: list[RosterProblem]
) -> RosterEntry:
    email = (values.get("supervisor_email") or "").lower() or None
    name = values.get("supervisor_name") or None
    if email and not EMAIL.fullmatch(email):
        problems.append(
            RosterProblem(
                entry.row,
                "supervisor_email",
                said(_("not an e-mail address: %(value)r"), value=email),
            )
        )
    elif email and email == entry.fields.email:
        problems.append(
            RosterProblem(entry.row, "supervisor_email", said(_("is the participant's own e-mail")))
        )
    if name and not email:
        problems.append(
            RosterProblem(entry.row, "supervisor_name", said(_("needs a supervisor_email")))
        )
    return RosterEntry(entry.row, entry.fields, True, email, name)


async def import_roster(
    db: Database, data: bytes, *, cohort_ids: Collection[str], clock: Clock, actor: str
) -> ImportReport:
    """Create or update every participant of the file in one transaction, or change nothing."""
    entries = parse_roster(data, cohort_ids)
    now = clock.now()
    digest = hashlib.sha256(data).hexdigest()
    # One short transaction run on the database thread: everyone read in one query, the
    # plan made in memory, the writes in two statements. A 50,000-row file then holds the
    # write lock for about a second instead of a minute of trips, so the running bot's
    # taps and outbox are not held up (they wait up to the busy timeout, 5 s).
    return await db.run(lambda conn: _import_in(conn, entries, now, actor, digest))


def _nocase(email: str) -> str:
    # As the column's COLLATE NOCASE compares: ASCII letters only.
    return "".join(c.lower() if c.isascii() else c for c in email)


@dataclass(frozen=True, slots=True)
class RosterPlan:
    """What importing the file would do, worked out before anything is written."""

    created: list[ParticipantFields]
    changed: list[tuple[int, ParticipantFields]]
    unchanged: int
    # cohort -> (created, updated, unchanged)
    by_cohort: dict[str, tuple[int, int, int]]

    @property
    def report(self) -> ImportReport:
        """The counts alone."""
        return ImportReport(len(self.created), len(self.changed), self.unchanged)


async def preview_roster(db: Database, data: bytes, *, cohort_ids: Collection[str]) -> RosterPlan:
    """Validate the file against the database and say what an import would do; write nothing.

    Raises ``RosterError`` naming every bad row, exactly as ``import_roster`` would.
    """
    entries = parse_roster(data, cohort_ids)
    return await db.run(lambda conn: _plan(conn, entries))


def _plan(conn: sqlite3.Connection, entries: list[RosterEntry]) -> RosterPlan:
    people = repo.sync_participants(conn)
    by_external = {p.external_id: p for p in people if p.external_id}
    by_mail = {_nocase(p.email): p for p in people if p.email}
    problems: list[RosterProblem] = []
    plan = []
    claimed: dict[int, int] = {}  # participant id -> the row that matched it
    for entry in entries:
        f = entry.fields
        by_id = by_external.get(f.external_id) if f.external_id else None
        by_email = by_mail.get(_nocase(f.email)) if f.email else None
        if by_id and by_email and by_id.id != by_email.id:
            problems.append(
                RosterProblem(
                    entry.row, "email", said(_("belongs to another participant already imported"))
                )
            )
            continue
        existing = by_id or by_email
        if existing is not None:
            # One row by e-mail, another by external id: both would update one person,
            # the second overwriting the first (and taking their answers and Telegram).
            if existing.id in claimed:
                problems.append(
                    RosterProblem(
                        entry.row,
                        None,
                        said(
                            _(
                                "row %(row)d and this row both match participant %(code)s;"
                                " keep one row for that person"
                            ),
                            row=claimed[existing.id],
                            code=existing.code,
                        ),
                    )
                )
                continue
            claimed[existing.id] = entry.row
        plan.append((entry, existing))
    if problems:
        raise RosterError(problems)
    created: list[ParticipantFields] = []
    changed: list[tuple[int, ParticipantFields]] = []
    unchanged = 0
    counts: dict[str, list[int]] = {}
    for entry, existing in plan:
        f = entry.fields
        tally = counts.setdefault(f.cohort, [0, 0, 0])
        if existing is None:
            created.append(f)
            tally[0] += 1
            continue
        current = ParticipantFields(
            existing.external_id,
            existing.full_name,
            existing.email,
            existing.gender,
            existing.agency,
            existing.region,
            existing.cohort,
            f.language and existing.language,
        )
        if current == f:
            unchanged += 1
            tally[2] += 1
        else:
            changed.append((existing.id, f))
            tally[1] += 1
    by_cohort = {c: (n[0], n[1], n[2]) for c, n in sorted(counts.items())}
    return RosterPlan(created, changed, unchanged, by_cohort)


def _import_in(
    conn: sqlite3.Connection, entries: list[RosterEntry], now: datetime, actor: str, digest: str
) -> ImportReport:
    found = _plan(conn, entries)
    created, changed, unchanged = found.created, found.changed, found.unchanged
    repo.sync_update_participants(conn, changed, now)
    repo.sync_insert_participants(conn, created, now)
    supervisions = _link_supervisors(conn, entries, now)
    repo.sync_audit(
        conn,
        actor=actor,
        action="roster.import",
        target=None,
        details={
            "created": len(created),
            "updated": len(changed),
            "unchanged": unchanged,
            "supervisions": supervisions,
            "sha256": digest,
        },
        now=now,
    )
    return ImportReport(len(created), len(changed), unchanged, supervisions)


def _link_supervisors(conn: sqlite3.Connection, entries: list[RosterEntry], now: datetime) -> int:
    """Each row's supervisor, once the participants exist; rows of a file without the column
    leave the links as they are."""
    rows = [e for e in entries if e.sets_supervisor]
    if not rows:
        return 0
    people = repo.sync_participants(conn)
    by_external = {p.external_id: p.id for p in people if p.external_id}
    by_mail = {_nocase(p.email): p.id for p in people if p.email}
    links = []
    for entry in rows:
        f = entry.fields
        pid = (by_external.get(f.external_id) if f.external_id else None) or (
            by_mail.get(_nocase(f.email)) if f.email else None
        )
        assert pid is not None  # imported in this transaction
        links.append(Link(pid, entry.supervisor_email, entry.supervisor_name))
    return sync_apply_links(conn, links, now)
