"""Attendance from Zoom reports and the e-campus: hand-computed shares, matching, review.

The shipped samples in ``examples/`` are for the introduction's live session, 13 January
2027 10:00–11:30 in Casablanca (90 minutes = 5,400 s), with the sample roster.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from bot.content import Content
from bot.sandbox.chat import SimulatedUser
from bot.services.attendance import (
    AttendanceError,
    ZoomImport,
    import_moodle,
    import_zoom,
    mapping_csv,
    normalise_name,
    read_mapping,
    resolve,
    review_items,
)
from bot.services.csvfile import TableError
from bot.services.presence import attended_of, presence_at, presences_of
from bot.services.roster import import_roster
from bot.services.zoom import ZoomError, share_of, union_seconds
from bot.storage import Database, repo
from bot.storage.presence import Evidence, Imported
from bot.storage.repo import Participant
from tests.conftest import add_participant, invite_for

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CASABLANCA = ZoneInfo("Africa/Casablanca")
HEADER = "Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest\n"


def local(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2027, 1, 13, hour, minute, second, tzinfo=CASABLANCA)


def test_union_of_overlapping_visits_clipped_to_the_window() -> None:
    start, end = local(10, 0), local(11, 30)
    visits = [
        (local(9, 50), local(10, 20)),  # early join: counts from 10:00 -> 20 min
        (local(10, 10), local(10, 40)),  # overlaps the first -> adds 20 min
        (local(11, 0), local(11, 45)),  # leaves after the end -> 30 min
    ]
    assert union_seconds(visits, start, end) == (20 + 20 + 30) * 60
    assert share_of(visits, start, end) == pytest.approx(70 / 90)
    assert union_seconds([(local(8, 0), local(9, 0))], start, end) == 0
    assert union_seconds([], start, end) == 0


async def sample_roster(
    db: Database, clock: FixedClock, content: Content
) -> dict[str, Participant]:
    await import_roster(
        db,
        (EXAMPLES / "roster-sample.csv").read_bytes(),
        cohort_ids=content.programme.cohort_ids,
        clock=clock,
        actor="t",
    )
    async with db.read() as conn:
        return {p.external_id or "": p for p in await repo.list_participants(conn)}


async def _zoom(
    db: Database, content: Content, clock: FixedClock, data: bytes, session_id: str
) -> ZoomImport:
    """A Zoom participant report of the session, imported as the tests' actor."""
    return await import_zoom(
        db, data, programme=content.programme, session_id=session_id, clock=clock, actor="t"
    )


async def test_zoom_sample_gives_the_hand_computed_shares(
    db: Database, clock: FixedClock, content: Content
) -> None:
    people = await sample_roster(db, clock, content)
    data = (EXAMPLES / "zoom-intro-live.csv").read_bytes()
    done = await import_zoom(
        db, data, programme=content.programme, session_id="intro-live", clock=clock, actor="t"
    )
    assert done.topic is not None
    assert done.topic.startswith("Module d'introduction")
    assert (done.visits, done.added) == (10, 10)
    shares = {pid: round(share * 5400) for pid, share in done.shares.items()}
    assert shares == {
        # 09:52:10–11:31:05, early and late: the whole window.
        people["AN-0001"].id: 5400,
        # rejoined: 10:00–10:20:30 (1,230 s) + 10:25:15–11:10:45 (2,730 s) = 3,960 s, 73 %.
        people["AN-0002"].id: 3960,
        # two devices overlapping, renamed "Loubna": 10:02–11:29 = 5,220 s, 96 %.
        people["AN-0003"].id: 5220,
        # "ENNAJI Meryem", no e-mail, found by name: 10:00–11:12 = 4,320 s, exactly 80 %.
        people["AN-0004"].id: 4320,
        # e-mail in other capitals; 10:30–11:45 clipped to 11:30 = 3,600 s.
        people["AN-0007"].id: 3600,
    }
    assert [(i.name, i.reason) for i in done.review] == [
        (
            "Asmae Alaoui",
            f"2 participants have this name ({people['AN-0009'].code}, {people['AN-0016'].code})",
        ),
        ("Coordination ANAPEC", "no participant has this e-mail or name"),
        ("iPhone de Karim", "no e-mail, and no participant has this name"),
    ]
    async with db.read() as conn:
        verdict = {
            key: (await attended_of(conn, content.programme, people[key])).get("intro-live")
            for key in ("AN-0001", "AN-0002", "AN-0003", "AN-0004", "AN-0007", "AN-0009")
        }
    # 80 % is enough; 73 % and 66 % are not; the ambiguous Asmae is absent until resolved.
    assert verdict == {
        "AN-0001": True,
        "AN-0002": False,
        "AN-0003": True,
        "AN-0004": True,
        "AN-0007": False,
        "AN-0009": False,
    }

    again = await import_zoom(
        db, data, programme=content.programme, session_id="intro-live", clock=clock, actor="t"
    )
    assert again.added == 0
    assert again.shares == done.shares
    assert len(again.review) == 3


async def test_review_is_resolved_with_a_mapping_file_never_guessed(
    db: Database, clock: FixedClock, content: Content
) -> None:
    people = await sample_roster(db, clock, content)
    await _zoom(db, content, clock, (EXAMPLES / "zoom-intro-live.csv").read_bytes(), "intro-live")
    async with db.read() as conn:
        template = mapping_csv(await review_items(conn)).decode("utf-8-sig")
    assert template.splitlines()[0] == "name;email;participant;reason;source;seen_in"
    filled = template.replace("Asmae Alaoui;;;", "Asmae Alaoui;;AN-0009;").replace(
        "coordination@example.org;;", "coordination@example.org;-;"
    )
    decisions = await read_mapping(db, filled.encode())
    assert len(decisions) == 2  # the row left blank is not decided yet
    matched = await resolve(db, decisions, programme=content.programme, clock=clock, actor="t")
    assert matched == 1
    async with db.read() as conn:
        left = await review_items(conn)
        asmae = await attended_of(conn, content.programme, people["AN-0009"])
        other = await attended_of(conn, content.programme, people["AN-0016"])
    assert [i.name for i in left] == ["iPhone de Karim"]
    assert asmae["intro-live"] is True  # 09:59:30–11:30:10: the whole window
    assert other["intro-live"] is False
    # The resolution is remembered: the next report of the session matches her at once.
    late = HEADER + "Asmae Alaoui,,01/13/2027 10:00:00 AM,01/13/2027 10:45:00 AM,45,Yes\n"
    done = await _zoom(db, content, clock, late.encode(), "intro-live")
    assert done.shares[people["AN-0009"].id] == 1.0
    with pytest.raises(AttendanceError) as caught:
        await read_mapping(db, b"name;email;participant\nX;;AN-9999\n;;AN-0001\n")
    assert [str(p) for p in caught.value.problems] == [
        "row 2, column participant: no participant 'AN-9999'",
        "row 3, column name: give the name or the e-mail to resolve",
    ]


async def test_day_month_year_without_header_and_the_account_time_zone(
    db: Database, clock: FixedClock, content: Content
) -> None:
    people = await sample_roster(db, clock, content)
    done = await _zoom(
        db, content, clock, (EXAMPLES / "zoom-module-1-live.csv").read_bytes(), "module-1-live"
    )
    # Omar: 09:55–10:40 and 10:38:30–11:35 overlap: the whole window. Hanane: 10:10–11:30,
    # 80 of 90 minutes.
    assert done.shares == {people["AN-0001"].id: 1.0, people["AN-0002"].id: pytest.approx(8 / 9)}

    # An account in UTC: 09:00–10:30 there is 10:00–11:30 in Casablanca (UTC+1 in January).
    utc = (
        HEADER
        + "Omar Skalli,omar.skalli1@example.org,"
        + "01/13/2027 09:00:00 AM,01/13/2027 10:30:00 AM,90,No\n"
    )
    shifted = await import_zoom(
        db,
        utc.encode(),
        programme=content.programme,
        session_id="intro-live",
        tz=ZoneInfo("UTC"),
        clock=clock,
        actor="t",
    )
    assert shifted.shares[people["AN-0001"].id] == 1.0

    # Day/month in 24 hours, as Zoom writes it outside the United States: 13/01 can only
    # be day first.
    both = HEADER + "Omar Skalli,omar.skalli1@example.org,13/01/2027 10:00,13/01/2027 10:45,45,No\n"
    read = await _zoom(db, content, clock, both.encode(), "intro-live")
    assert read.shares[people["AN-0001"].id] == 1.0  # union with the UTC report above


async def test_unique_users_export_and_bad_rows_are_refused_with_nothing_recorded(
    db: Database, clock: FixedClock, content: Content
) -> None:
    await sample_roster(db, clock, content)

    async def refused(text: str, session: str = "intro-live") -> list[str]:
        with pytest.raises(TableError) as caught:
            await import_zoom(
                db,
                text.encode(),
                programme=content.programme,
                session_id=session,
                clock=clock,
                actor="t",
            )
        return [str(p) for p in caught.value.problems]

    unique = "Name (Original Name),User Email,Total Duration (Minutes),Guest\nOmar Skalli,,90,No\n"
    assert "untick 'Show unique users', then Export" in (await refused(unique))[0]
    assert "no 'Join Time' and 'Leave Time' columns" in (await refused("a,b\n1,2\n"))[0]
    bad = (
        HEADER
        + "Omar Skalli,,01/13/2027 10:00:00 AM,01/13/2027 09:00:00 AM,0,No\n"
        + "Hanane Bouzid,,01/13/2027 25:00:00,01/13/2027 11:00:00 AM,0,No\n"
        + ",,01/13/2027 10:00:00 AM,,0,No\n"
    )
    assert await refused(bad) == [
        "row 2, column Leave Time: leaves before joining",
        "row 3, column Join Time: unreadable time '01/13/2027 25:00:00'",
        "row 4, column Name (Original Name): empty name",
        "row 4, column Leave Time: empty time",
    ]
    wrong_day = HEADER + "Omar Skalli,,01/20/2027 10:00:00 AM,01/20/2027 11:30:00 AM,90,No\n"
    assert (
        "took place on 2027-01-20, not on the session's day (2027-01-13)"
        in (await refused(wrong_day))[0]
    )
    assert "no session 'nowhere'" in (await refused(wrong_day, "nowhere"))[0]
    async with db.read() as conn, conn.execute("SELECT COUNT(*) FROM attendance_visits") as cur:
        assert (await cur.fetchone())[0] == 0  # type: ignore[index]


async def test_moodle_completion_report_records_activities_matched_by_email(
    db: Database, clock: FixedClock, content: Content
) -> None:
    people = await sample_roster(db, clock, content)
    done = await import_moodle(
        db,
        (EXAMPLES / "moodle-completion.csv").read_bytes(),
        programme=content.programme,
        clock=clock,
        actor="t",
    )
    assert done.activities == [
        "Introduction : vidéo de présentation",
        "Introduction : quiz d'auto-évaluation",
        "Module 1 : lectures",
    ]
    assert (done.completions, done.completed) == (9, 6)
    assert [(i.source, i.email, i.reason) for i in done.review] == [
        ("ecampus", "karim.benjelloun@example.net", "no participant has this e-mail")
    ]
    async with db.read() as conn:
        omar = {
            p.session.id: p for p in await presences_of(conn, content.programme, people["AN-0001"])
        }
        hanane = {
            p.session.id: p for p in await presences_of(conn, content.programme, people["AN-0002"])
        }
    # No Zoom report yet: the e-campus alone decides the introduction.
    assert (omar["intro-live"].activities, omar["intro-live"].attended) == ((2, 2), True)
    assert (hanane["intro-live"].activities, hanane["intro-live"].attended) == ((1, 2), False)
    assert omar["module-1-live"].activities == (1, 2)

    # The same review list and mapping file as for Zoom: Karim is AN-0019 under another
    # address. His failed quiz still completes the activity.
    mapping = b"name;email;participant\nKarim;karim.benjelloun@example.net;AN-0019\n"
    decisions = await read_mapping(db, mapping)
    assert await resolve(db, decisions, programme=content.programme, clock=clock, actor="t") == 3
    async with db.read() as conn:
        assert await review_items(conn) == []
        karim = {
            p.session.id: p for p in await presences_of(conn, content.programme, people["AN-0019"])
        }
    assert karim["intro-live"].activities == (2, 2)

    # Moodle's "Excel-compatible" download: UTF-16 with tabs; a re-import updates states.
    excel = (
        "\tEmail address\tIntroduction : quiz d'auto-évaluation\t\n"
        "Hanane Bouzid\thanane.bouzid2@example.org\tCompleted\t2027-01-12 10:00:00\n"
    )
    await import_moodle(
        db,
        b"\xff\xfe" + excel.encode("utf-16-le"),
        programme=content.programme,
        clock=clock,
        actor="t",
    )
    async with db.read() as conn:
        assert (await attended_of(conn, content.programme, people["AN-0002"]))["intro-live"]

    with pytest.raises(TableError) as caught:
        await import_moodle(
            db,
            b',"Email address","Quiz",""\n"A","a@example.org","Peut-etre",""\n',
            programme=content.programme,
            clock=clock,
            actor="t",
        )
    assert [str(p) for p in caught.value.problems] == [
        "row 2, column Quiz: unknown completion state 'Peut-etre'"
    ]


def test_presence_needs_every_source_measured_and_the_threshold(content: Content) -> None:
    intro = next(s for s in content.programme.all_sessions() if s.id == "intro-live")
    visits = {"intro-live": [(local(10, 0), local(11, 12))]}  # 72 of 90 minutes: 80 %
    zoom_only = Imported(frozenset({"intro-live"}), {}, ecampus=False)
    assert presence_at(intro, Evidence(visits=visits), zoom_only).attended is True
    stricter = intro.model_copy(
        update={"attendance": intro.attendance.model_copy(update={"threshold": 81})}
    )
    assert presence_at(stricter, Evidence(visits=visits), zoom_only).attended is False
    with_ecampus = Imported(frozenset({"intro-live"}), {}, ecampus=True)
    half = Evidence(visits=visits, completed={"Introduction : vidéo de présentation"})
    assert presence_at(intro, half, with_ecampus).attended is False
    # A coordinator's yes/no import overrides the measures.
    assert presence_at(
        intro, Evidence(visits=visits, manual={"intro-live": True}), with_ecampus
    ).attended
    nothing = Imported(frozenset(), {}, ecampus=False)
    assert presence_at(intro, Evidence(), nothing).attended is None


def test_names_are_compared_without_accents_case_or_order() -> None:
    assert normalise_name("EL IDRISSI Khadija") == normalise_name("Khadija El Idrissi")
    assert normalise_name("Asmae Aït-Benhaddou") == normalise_name("asmae ait benhaddou")
    assert normalise_name("Omar Skalli") != normalise_name("Omar Skali")


async def test_zoom_dates_must_agree_on_one_order(
    db: Database, clock: FixedClock, content: Content
) -> None:
    await sample_roster(db, clock, content)
    mixed = (
        HEADER
        + "Omar Skalli,,13/01/2027 10:00,13/01/2027 10:30,30,No\n"
        + "Omar Skalli,,01/13/2027 10:40,01/13/2027 11:00,20,No\n"
    )
    with pytest.raises(ZoomError) as caught:
        await _zoom(db, content, clock, mixed.encode(), "intro-live")
    assert "mix day/month/year and month/day/year" in str(caught.value)


async def test_me_shows_the_share_of_the_session_and_the_certificate_follows(
    db: Database, clock: FixedClock, content: Content, new_user: Callable[..., SimulatedUser]
) -> None:
    participant = await add_participant(db, clock)  # a-001@example.org, cohort tanger
    user = new_user("Khadija")
    await user.send(f"/start {(await invite_for(db, clock, participant)).token}")
    # 10:00:00–11:16:30 = 4,590 s of 5,400: 85 %.
    report = HEADER + (
        "Khadija,a-001@example.org,01/13/2027 09:58:00 AM,01/13/2027 11:16:30 AM,79,Yes\n"
    )
    await _zoom(db, content, clock, report.encode(), "intro-live")
    me = await user.send("/me")
    assert (
        "<b>Présence</b>\n• présence : 85\u00a0% de la session du 13 janvier (80 % requis)"
        in me.text
    )
    # The introduction now counts for the certificates: two sessions are still missing.
    assert "Certificat de participation : il manque la présence à 2 sessions" in me.text
    await user.send("/language")
    await user.press("English")
    again = await user.send("/me")
    assert "• attendance: 85% of the session of 13 January (80 % required)" in again.text


async def test_a_participant_of_another_cohort_is_not_counted(
    db: Database, clock: FixedClock, content: Content
) -> None:
    people = await sample_roster(db, clock, content)
    # AN-0013 is in Agadir: the Tangier module is not theirs.
    report = HEADER + (
        "Hicham Bouzid,hicham.bouzid13@example.org,"
        "02/15/2027 09:00:00 AM,02/15/2027 12:00:00 PM,180,No\n"
    )
    done = await _zoom(db, content, clock, report.encode(), "tanger-module-2")
    assert done.shares == {}
    assert [i.reason for i in done.review] == [
        f"{people['AN-0013'].code} is in cohort 'agadir', not this session's"
    ]


async def test_forget_erases_the_names_reports_gave(
    db: Database, clock: FixedClock, content: Content
) -> None:
    from bot.services.privacy import forget
    from tests.test_operation import file_bytes

    participant = await add_participant(db, clock)
    report = HEADER + "Kh (K. Idrissi-Zeta),,01/13/2027 10:00:00 AM,01/13/2027 11:30:00 AM,90,Yes\n"
    await _zoom(db, content, clock, report.encode(), "intro-live")
    decisions = await read_mapping(db, b"name;participant\nK. Idrissi-Zeta;A-001\n")
    assert await resolve(db, decisions, programme=content.programme, clock=clock, actor="t") == 1
    async with db.read() as conn:
        assert (await attended_of(conn, content.programme, participant))["intro-live"] is True

    await forget(db, participant.code, with_answers=False, actor="t", now=clock.now())
    raw = file_bytes(db)
    for secret in (b"Idrissi-Zeta", b"idrissi k zeta"):
        assert secret not in raw, secret
    async with db.read() as conn:
        # The visit stays, under the participant's id: attendance still counts for the report.
        assert (await attended_of(conn, content.programme, participant))["intro-live"] is True
    await forget(db, participant.code, with_answers=True, actor="t", now=clock.now())
    async with db.read() as conn:
        assert await attended_of(conn, content.programme, participant) == {}


def test_moodle_layouts_older_and_with_more_identity_fields() -> None:
    from bot.services.moodle import parse_completion

    older = (
        ',"Email address","ID number","Quiz 1","13 January 2027","Forum",""\n'
        '"Omar Skalli","omar@example.org","AN-0001","Completed","10 January 2027, 2:03 PM",'
        '"Not completed",""\n'
    )
    # The activities are found from their cells; a date written in words is dropped.
    activities, rows = parse_completion(older.encode(), tz=CASABLANCA)
    assert [(r.activity, r.completed, r.at) for r in rows] == [
        ("Quiz 1", True, None),
        ("Forum", False, None),
    ]
    current = older.replace("10 January 2027, 2:03 PM", "2027-01-10 14:03:00")
    activities, rows = parse_completion(current.encode(), tz=CASABLANCA)
    assert activities == ["Quiz 1", "Forum"]
    assert [(r.activity, r.completed, r.at) for r in rows] == [
        ("Quiz 1", True, datetime(2027, 1, 10, 14, 3, tzinfo=CASABLANCA)),
        ("Forum", False, None),
    ]


async def test_retention_erases_the_guests_names_too(
    db: Database, clock: FixedClock, content: Content
) -> None:
    from bot.services.privacy import apply_retention, retention_deadline

    await sample_roster(db, clock, content)
    await _zoom(db, content, clock, (EXAMPLES / "zoom-intro-live.csv").read_bytes(), "intro-live")
    deadline = retention_deadline(content, 365)
    assert deadline is not None
    await apply_retention(db, content, 365, deadline)
    async with db.read() as conn:
        assert await review_items(conn) == []
        async with conn.execute("SELECT COUNT(*) FROM attendance_visits") as cur:
            row = await cur.fetchone()
    assert row is not None
    assert row[0] == 7  # the matched visits stay, under ids, for the aggregates
