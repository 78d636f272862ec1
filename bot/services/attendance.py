"""Attendance imports: the yes/no spreadsheet (all or nothing), Zoom reports and the e-campus."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import aiosqlite

from bot.clock import Clock
from bot.content import Programme, Session
from bot.i18n import _, said
from bot.services.csvfile import RowProblem, TableError, read_table
from bot.services.moodle import parse_completion
from bot.services.presence import Presence, presence_at
from bot.services.zoom import parse_report, share_of
from bot.storage import Database, progress, repo
from bot.storage import attendance as records
from bot.storage.presence import Evidence, evidence_by_participant, imported
from bot.storage.repo import Participant

COLUMNS = ("participant", "session", "attended")
ALIASES = {
    "code": "participant",
    "external_id": "participant",
    "identifiant": "participant",
    "email": "participant",
    "courriel": "participant",
    "séance": "session",
    "seance": "session",
    "present": "attended",
    "présent": "attended",
    "presence": "attended",
    "présence": "attended",
}
PRESENT = {"1", "yes", "oui", "true", "vrai", "x", "present", "présent", "présente", "p"}
ABSENT = {"0", "no", "non", "false", "faux", "absent", "absente", "a"}


class AttendanceError(TableError):
    """The attendance file was refused; ``problems`` names every bad row."""


async def import_attendance(
    db: Database, data: bytes, *, programme: Programme, clock: Clock, actor: str
) -> int:
    """Record every row in one transaction, or nothing if any row is wrong; return the count."""
    table = read_table(
        data, columns=COLUMNS, aliases=ALIASES, required=COLUMNS, error=AttendanceError
    )
    if table.header_problems:
        raise AttendanceError(table.header_problems)
    sessions = {s.id: s for s in programme.all_sessions()}
    now = clock.now()
    problems: list[RowProblem] = []
    async with db.transaction() as conn:
        plan: list[tuple[int, str, bool]] = []
        seen: dict[tuple[int, str], int] = {}
        for row, values in table.rows:
            key, session_id = values["participant"], values["session"]
            mark = values["attended"].lower()
            participant = await repo.participant_by_key(conn, key) if key else None
            session = sessions.get(session_id)
            if participant is None:
                problems.append(
                    RowProblem(row, "participant", said(_("no participant %(value)r"), value=key))
                )
            if session is None:
                problems.append(
                    RowProblem(row, "session", said(_("no session %(value)r"), value=session_id))
                )
            elif participant is not None and not session.is_for(participant.cohort):
                problems.append(
                    RowProblem(
                        row,
                        "session",
                        said(
                            _("%(value)r is not for cohort %(cohort)r"),
                            value=session_id,
                            cohort=participant.cohort,
                        ),
                    )
                )
            if mark not in PRESENT | ABSENT:
                problems.append(
                    RowProblem(
                        row,
                        "attended",
                        said(_("%(value)r is not yes/oui/1 or no/non/0"), value=mark),
                    )
                )
            if participant is None or session is None:
                continue
            if (participant.id, session_id) in seen:
                other = seen[(participant.id, session_id)]
                problems.append(
                    RowProblem(
                        row, None, said(_("same participant and session as row %(row)d"), row=other)
                    )
                )
            seen[(participant.id, session_id)] = row
            plan.append((participant.id, session_id, mark in PRESENT))
        if problems:
            raise AttendanceError(problems)
        for participant_id, session_id, attended in plan:
            await progress.record_attendance(conn, participant_id, session_id, attended, now)
        await repo.audit(
            conn,
            actor=actor,
            action="attendance.import",
            target=None,
            details={"rows": len(plan)},
            now=now,
        )
    return len(plan)


# --- attendance from where it happens: Zoom, the e-campus, and the review of unmatched rows ---


def normalise_name(name: str) -> str:
    """A name as compared with the roster: no accents, case or punctuation, words in order.

    Sorting the words lets "EL IDRISSI Khadija" find "Khadija El Idrissi"; two people
    whose names differ only so are then both candidates, and the row goes to review.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(sorted(re.findall(r"\w+", plain)))


def person_key(email: str, name: str) -> str:
    """How an unmatched row is remembered and resolved: its e-mail, else its name."""
    if email.strip():
        return "email:" + email.strip().lower()
    return "name:" + normalise_name(name)


@dataclass(frozen=True, slots=True)
class Match:
    """Who a row is: a participant, someone to ignore, or a reason for the review list."""

    participant: Participant | None
    ignored: bool = False
    reason: str | None = None


class Matcher:
    """Rows to participants: the coordinator's resolutions, then e-mail, then the name."""

    def __init__(
        self, people: list[Participant], aliases: dict[str, int | None], *, by_name: bool
    ) -> None:
        self.by_id = {p.id: p for p in people}
        self.by_email = {p.email.lower(): p for p in people if p.email}
        self.names: dict[str, list[Participant]] = {}
        for p in people:
            self.names.setdefault(normalise_name(p.full_name), []).append(p)
        self.aliases = aliases
        self.use_names = by_name

    def match(self, email: str, name: str) -> Match:
        email_key = "email:" + email.strip().lower() if email.strip() else None
        name_key = "name:" + normalise_name(name)
        for key in (email_key, name_key):
            if key is not None and key in self.aliases:
                target = self.aliases[key]
                if target is None:
                    return Match(None, ignored=True)
                if target in self.by_id:
                    return Match(self.by_id[target])
        if email_key is not None and email.strip().lower() in self.by_email:
            return Match(self.by_email[email.strip().lower()])
        if not self.use_names:
            return Match(None, reason="no participant has this e-mail")
        found = self.names.get(normalise_name(name), [])
        if len(found) == 1:
            return Match(found[0])
        if found:
            codes = ", ".join(p.code for p in found)
            return Match(None, reason=f"{len(found)} participants have this name ({codes})")
        if not email.strip():
            return Match(None, reason="no e-mail, and no participant has this name")
        return Match(None, reason="no participant has this e-mail or name")


async def _matcher(conn: aiosqlite.Connection, *, by_name: bool) -> Matcher:
    people = [p for p in await repo.list_participants(conn)]
    return Matcher(people, await records.aliases(conn), by_name=by_name)


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """Rows nobody could match, grouped by person: for the coordinator to resolve."""

    source: str  # zoom or ecampus
    where: str  # the session id or the activity name
    person: str
    name: str
    email: str
    reason: str
    rows: int


@dataclass(frozen=True, slots=True)
class ZoomImport:
    """What a Zoom import did."""

    session: Session
    visits: int
    added: int
    shares: dict[int, float]  # participant id -> share of the scheduled duration
    review: list[ReviewItem]
    topic: str | None


async def import_zoom(
    db: Database,
    data: bytes,
    *,
    programme: Programme,
    session_id: str,
    tz: ZoneInfo | None = None,
    clock: Clock,
    actor: str,
) -> ZoomImport:
    """Record a Zoom participant report for one session; the same file twice adds nothing.

    Unreadable rows refuse the whole file (nothing is recorded); rows that match nobody,
    or several people, are kept aside for the review list, never guessed.
    """
    session = next((s for s in programme.all_sessions() if s.id == session_id), None)
    if session is None:
        known = ", ".join(s.id for s in programme.all_sessions())
        raise AttendanceError(
            [
                RowProblem(
                    1,
                    None,
                    said(
                        _("no session %(value)r (known: %(known)s)"), value=session_id, known=known
                    ),
                )
            ]
        )
    report = parse_report(data, tz=tz or programme.tz, start=session.start_utc, end=session.end_utc)
    now = clock.now()
    added = 0
    async with db.transaction() as conn:
        matcher = await _matcher(conn, by_name=True)
        for visit in report.visits:
            found = matcher.match(visit.email, visit.original_name)
            if found.ignored:
                continue
            participant, reason = found.participant, found.reason
            if participant is not None and not session.is_for(participant.cohort):
                reason = (
                    f"{participant.code} is in cohort {participant.cohort!r}, not this session's"
                )
                participant = None
            values: records.Who
            if participant is not None:
                values = (f"p:{participant.id}", participant.id, None, None, None)
            else:
                key = person_key(visit.email, visit.original_name)
                values = (key, None, visit.name, visit.email or None, reason)
            added += await records.add_visit(
                conn, session.id, values, visit.joined, visit.left, now
            )
        await repo.audit(
            conn,
            actor=actor,
            action="attendance.import-zoom",
            target=session.id,
            details={"rows": len(report.visits), "added": added},
            now=now,
        )
        shares = await zoom_shares(conn, session)
        review = await review_items(conn, where=session.id)
    return ZoomImport(session, len(report.visits), added, shares, review, report.topic)


async def zoom_shares(conn: aiosqlite.Connection, session: Session) -> dict[int, float]:
    """Participant id -> share of the session's scheduled duration, for those in its report."""
    intervals = await records.matched_visits(conn, session.id)
    return {
        pid: share_of(found, session.start_utc, session.end_utc) for pid, found in intervals.items()
    }


@dataclass(frozen=True, slots=True)
class MoodleImport:
    """What an e-campus import did."""

    activities: list[str]
    completions: int
    completed: int
    review: list[ReviewItem]


async def import_moodle(
    db: Database, data: bytes, *, programme: Programme, clock: Clock, actor: str
) -> MoodleImport:
    """Record Moodle's activity-completion report; a re-import updates each state.

    Rows are matched by e-mail only (Moodle always has it); the others go to review.
    """
    activities, completions = parse_completion(data, tz=programme.tz)
    now = clock.now()
    async with db.transaction() as conn:
        matcher = await _matcher(conn, by_name=False)
        for item in completions:
            found = matcher.match(item.email, item.name)
            if found.ignored:
                continue
            values: records.Who
            if found.participant is not None:
                values = (f"p:{found.participant.id}", found.participant.id, None, None, None)
            else:
                key = person_key(item.email, item.name)
                values = (key, None, item.name, item.email or None, found.reason)
            await records.record_completion(
                conn,
                item.activity,
                values,
                completed=item.completed,
                state=item.state,
                at=item.at,
                now=now,
            )
        await repo.audit(
            conn,
            actor=actor,
            action="attendance.import-moodle",
            target=None,
            details={"rows": len(completions)},
            now=now,
        )
        review = await review_items(conn, source="ecampus")
    done = sum(1 for c in completions if c.completed)
    return MoodleImport(activities, len(completions), done, review)


async def review_items(
    conn: aiosqlite.Connection, *, source: str | None = None, where: str | None = None
) -> list[ReviewItem]:
    """The rows still unmatched, one item per person and session (or activity)."""
    items: list[ReviewItem] = []
    for kind in records.SOURCES:
        if source is not None and kind != source:
            continue
        for row in await records.unmatched(conn, kind):
            if where is not None and row[0] != where:
                continue
            items.append(
                ReviewItem(kind, row[0], row[1], row[2] or "", row[3] or "", row[4] or "", row[5])
            )
    return sorted(items, key=lambda i: (i.source, i.where, i.name.casefold()))


MAPPING_COLUMNS = ("name", "email", "participant", "reason", "source", "seen_in")
MAPPING_ALIASES = {
    "nom": "name",
    "courriel": "email",
    "e-mail": "email",
    "identifiant": "participant",
    "code": "participant",
    "raison": "reason",
    "vu_dans": "seen_in",
}
IGNORE = {"-", "ignore", "ignorer", "invité", "invite", "guest"}


@dataclass(frozen=True, slots=True)
class Resolution:
    """One decision on a name or e-mail: it is this participant, or to be ignored (None)."""

    person: str
    participant: Participant | None


async def resolve(
    db: Database, decisions: list[Resolution], *, programme: Programme, clock: Clock, actor: str
) -> int:
    """Remember the decisions and apply them to the rows kept aside; return rows matched.

    The mapping file and (later) buttons in the chat both end here.
    """
    now = clock.now()
    sessions = {s.id: s for s in programme.all_sessions()}
    matched = 0
    async with db.transaction() as conn:
        for decision in decisions:
            target = decision.participant
            await records.save_alias(
                conn, decision.person, target.id if target else None, actor, now
            )
            if target is None:
                await records.drop_unmatched(conn, decision.person)
                continue
            for session_id in await records.unmatched_visit_sessions(conn, decision.person):
                session = sessions.get(session_id)
                if session is not None and not session.is_for(target.cohort):
                    reason = f"{target.code} is in cohort {target.cohort!r}, not this session's"
                    await records.explain_unmatched_visits(
                        conn, decision.person, session_id, reason
                    )
                    continue
                matched += await records.match_visits(conn, decision.person, session_id, target.id)
            matched += await records.match_completions(conn, decision.person, target.id)
        await repo.audit(
            conn,
            actor=actor,
            action="attendance.resolve",
            target=None,
            details={"decisions": len(decisions), "matched": matched},
            now=now,
        )
    return matched


async def read_mapping(db: Database, data: bytes) -> list[Resolution]:
    """A mapping file (``name;email;participant``) as decisions, or every bad row named."""
    table = read_table(
        data,
        columns=MAPPING_COLUMNS,
        aliases=MAPPING_ALIASES,
        required=("participant",),
        error=AttendanceError,
    )
    if table.header_problems:
        raise AttendanceError(table.header_problems)
    problems: list[RowProblem] = []
    decisions: list[Resolution] = []
    async with db.read() as conn:
        for row, values in table.rows:
            name, email = values.get("name", ""), values.get("email", "")
            target = values["participant"].strip()
            if not name and not email:
                problems.append(
                    RowProblem(row, "name", said(_("give the name or the e-mail to resolve")))
                )
                continue
            if not target:
                continue  # left blank: not decided yet
            if target.lower() in IGNORE:
                decisions.append(Resolution(person_key(email, name), None))
                continue
            participant = await repo.participant_by_key(conn, target)
            if participant is None:
                problems.append(
                    RowProblem(
                        row, "participant", said(_("no participant %(value)r"), value=target)
                    )
                )
                continue
            decisions.append(Resolution(person_key(email, name), participant))
    if problems:
        raise AttendanceError(problems)
    return decisions


def mapping_csv(items: list[ReviewItem]) -> bytes:
    """The review list as a mapping file to fill in (UTF-8 with BOM and ``;``, for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(MAPPING_COLUMNS)
    for item in items:
        writer.writerow([item.name, item.email, "", item.reason, item.source, item.where])
    return ("\ufeff" + out.getvalue()).encode()


async def roll(
    db: Database, session: Session
) -> tuple[list[tuple[Participant, Presence]], list[ReviewItem]]:
    """Every participant of the session's cohorts with their presence, and its review list."""
    async with db.read() as conn:
        people = [p for p in await repo.list_participants(conn) if session.is_for(p.cohort)]
        evidence = await evidence_by_participant(conn)
        sources = await imported(conn)
        review = await review_items(conn, where=session.id)
    rows = [(p, presence_at(session, evidence.get(p.id, Evidence()), sources)) for p in people]
    return rows, review
