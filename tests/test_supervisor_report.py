"""The line managers' answers in the report and the evaluators' export.

Supervisors' questionnaires are written straight into storage (the answering engine is
tested in tests/test_supervisors.py). Each figure of the supervisors' section must stand on
at least k distinct supervisors and k distinct supervisees, with the report's complementary
suppression; the export holds them on a sheet of their own keyed by the pairs' random
pseudonyms only.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.cli import EXIT_OK, main
from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.content.instruments import Instrument
from bot.i18n import Translator, load_catalogs
from bot.services import export, exporting
from bot.services.invites import issue_supervisor_invites
from bot.services.report import MEAN_DECIMALS, Figures, ItemFigures, StageFigures, figures
from bot.storage import Database, repo
from bot.storage.repo import ParticipantFields, Role, to_db_time
from bot.views.report import draw_charts, render_html
from tests.auditor import Problem, audit
from tests.conftest import CONTENT_DIR, staff_invite
from tests.test_disclosure import Person, _answer_problems, _stage_mean_problem, where

K = 5
NOW = datetime(2028, 6, 1, tzinfo=UTC)
SUBMITTED = datetime(2027, 12, 3, 14, 37, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="module")
def _catalogs() -> None:
    load_catalogs()


@dataclass
class Rating:
    """One supervisor's questionnaire about one supervisee."""

    supervisor: int  # index of the supervisor
    answers: dict[str, Any]
    cohort: str = "tanger"
    # Earlier questionnaires about the same person (sent again: the latest counts).
    earlier: list[dict[str, Any]] = field(default_factory=list)
    submitted: bool = True


@dataclass(frozen=True, slots=True)
class Stored:
    """What the test knows of what it stored (the report must not show it all)."""

    codes: list[str]
    emails: list[str]
    names: list[str]
    pseudonyms: list[str]


async def store(db: Database, content: Content, ratings: Sequence[Rating]) -> Stored:
    """Participants, their supervisors and the supervisors' questionnaires, in storage."""
    instrument = content.supervisor_instruments["supervisors"]
    stage = instrument.stages[0].id
    now = to_db_time(SUBMITTED)
    codes, emails, names, pseudonyms = [], [], [], []
    async with db.transaction() as conn:
        ids: dict[int, int] = {}
        for number, rating in enumerate(ratings):
            person = await repo.insert_participant(
                conn,
                ParticipantFields(
                    external_id=f"P-{number:03d}",
                    full_name=f"Conseillère {number}",
                    email=f"p{number}@example.org",
                    gender="female",
                    agency=None,
                    region=None,
                    cohort=rating.cohort,
                    language="fr",
                ),
                SUBMITTED,
            )
            codes.append(person.code)
            names.append(person.full_name)
            if rating.supervisor not in ids:
                email = f"chef{rating.supervisor}@anapec.example"
                emails.append(email)
                cursor = await conn.execute(
                    "INSERT INTO supervisors (email, name, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (email, f"Chef {rating.supervisor}", now, now),
                )
                assert cursor.lastrowid is not None
                ids[rating.supervisor] = cursor.lastrowid
            supervisor = ids[rating.supervisor]
            await conn.execute(
                "INSERT INTO supervisions (participant_id, supervisor_id, since) VALUES (?, ?, ?)",
                (person.id, supervisor, now),
            )
            pseudonym = "S-" + secrets.token_hex(4).upper()
            pseudonyms.append(pseudonym)
            for attempt, given in enumerate([*rating.earlier, rating.answers], 1):
                cursor = await conn.execute(
                    "INSERT INTO supervisor_attempts (supervisor_id, participant_id, pseudonym,"
                    " instrument, stage, number, content_version, seed, started_at, updated_at,"
                    " submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                    (
                        supervisor,
                        person.id,
                        pseudonym,
                        instrument.id,
                        stage,
                        attempt,
                        content.version,
                        now,
                        now,
                        now if rating.submitted else None,
                    ),
                )
                for item, value in given.items():
                    await conn.execute(
                        "INSERT INTO supervisor_answers (attempt_id, item, value, answered_at)"
                        " VALUES (?, ?, ?, ?)",
                        (cursor.lastrowid, item, json.dumps(value), now),
                    )
    return Stored(codes, emails, names, pseudonyms)


def answers(
    change: str, fair: int, changes: list[str] | None = None, **more: Any
) -> dict[str, Any]:
    """A questionnaire: what changed, the fair-recruitment rating, and anything else."""
    given: dict[str, Any] = {"change": change, "fair": fair, **more}
    if change in ("many", "some"):
        given["changes"] = changes or ["rights"]
    return given


async def report(db: Database, content: Content) -> Figures:
    return await figures(db, content, NOW, K)


def supervisors_stage(found: Figures) -> StageFigures:
    section = found.section("supervisors")
    assert section is not None
    (stage,) = section.stages
    return stage


def item_of(stage: StageFigures, item: str) -> ItemFigures:
    return next(f for f in stage.items if f.item.id == item)


# --- the section ------------------------------------------------------------------------


async def test_the_supervisors_section_counts_the_latest_questionnaire_of_each_pair(
    db: Database, content: Content
) -> None:
    # Ten supervisors, two counsellors each: 20 questionnaires, "many" about the first,
    # "some" about the second. The first was sent twice, first "none" then "many": only the
    # second counts. One more is still a draft: not counted.
    ratings = [
        Rating(i // 2, answers("some" if i % 2 else "many", 4 if i % 3 else 5, example=f"Ex {i}"))
        for i in range(20)
    ]
    ratings[0].earlier.append(answers("none", 1))
    ratings.append(Rating(0, answers("none", 1), submitted=False))
    await store(db, content, ratings)
    found = await report(db, content)

    # In the instruments' order: after the participants' follow-up (order 50).
    assert [s.instrument.id for s in found.sections] == list(content.all_instruments)
    assert [s.instrument.id for s in found.sections][-1] == "supervisors"
    stage = supervisors_stage(found)
    assert (stage.respondents, stage.supervisors, stage.supervisees) == (20, 10, 20)
    change = item_of(stage, "change")
    assert change.bands is not None
    assert {b.categories: b.n for b in change.bands if b.n} == {("many",): 10, ("some",): 10}
    fair = item_of(stage, "fair")
    assert fair.mean == pytest.approx((13 * 4 + 7 * 5) / 20)
    changes = item_of(stage, "changes")
    assert changes.ticked is not None
    assert changes.ticked["rights"] == 20
    (texts,) = stage.open_answers
    assert texts.answers == sorted(f"Ex {i}" for i in range(20))
    # The participants' sections know nothing of it.
    assert all(s.respondents is None for s in found.stages_of("followup"))

    t = Translator("fr", content.programme.tz)
    page = render_html(found, content, t)
    title = content.supervisor_instruments["supervisors"].title.get("fr")
    assert f"Niveau 3 : {title}" in page
    assert "Questionnaires de 10 supérieur(e)s hiérarchiques sur 20 participant(e)s" in page
    assert 'id="i-supervisors"' in page
    assert "moyenne de chaque questionnaire, puis moyenne des questionnaires" in page
    assert page.index('id="i-followup"') < page.index('id="i-supervisors"')
    assert page.index('id="i-supervisors"') < page.index('id="certificates"')
    # A question about "{name}" is about everyone supervised, in the report.
    assert "{name}" not in page
    assert "La personne encadrée applique les principes du recrutement équitable" in page
    charts = {c.name for c in draw_charts(found, content, t)}
    assert {"supervisors-six-months.png", "supervisors-six-months-change.png"} <= charts
    # The employer's version leaves the typed examples out.
    employer = await figures(db, content, NOW, K, open_answers=False)
    assert supervisors_stage(employer).open_answers[0].withheld


async def test_questionnaires_from_too_few_supervisors_show_nothing(
    db: Database, content: Content
) -> None:
    # Twelve counsellors, but only four supervisors: what each said could be read.
    await store(db, content, [Rating(i % 4, answers("many", 5)) for i in range(12)])
    found = await report(db, content)
    stage = supervisors_stage(found)
    assert (stage.respondents, stage.items, stage.open_answers) == (None, [], [])
    page = render_html(found, content, Translator("fr", content.programme.tz))
    section = page[page.index('id="i-supervisors"') : page.index('id="certificates"')]
    assert "Répondants : masqué" in section
    assert "5,0" not in section
    assert "12" not in section


async def test_a_group_of_one_supervisors_answers_cannot_be_subtracted_from_the_totals(
    db: Database, content: Content
) -> None:
    # One supervisor rates six counsellors "none" and "1": six answers, one person behind
    # them. Seven other supervisors answer "many"/"some" and rate 4 or 5.
    ratings = [Rating(0, answers("none", 1)) for _ in range(6)]
    ratings += [Rating(1 + i, answers("many" if i % 2 else "some", 4 + i % 2)) for i in range(14)]
    await store(db, content, ratings)
    stage = supervisors_stage(await report(db, content))
    assert stage.respondents == 20

    change = item_of(stage, "change")
    assert change.respondents == 20
    assert change.bands is not None
    # "none" is pooled with another answer, and the bands add up to the respondents: the
    # hidden count cannot be had as "total minus the others".
    pooled = next(b for b in change.bands if "none" in b.categories)
    assert len([c for c in pooled.categories if c != "cannot"]) >= 2
    assert sum(b.n for b in change.bands) == change.respondents

    fair = item_of(stage, "fair")
    assert fair.respondents == 20
    problem = Problem("fair", [(str(p),) for p in range(1, 6)], value=lambda a: float(str(a[0])))
    problem.count(lambda a: True, 20)
    for band in fair.bands or []:
        problem.count(where(0, *band.categories), band.n)
    if fair.mean is not None:
        problem.mean(lambda a: True, round(fair.mean, MEAN_DECIMALS), MEAN_DECIMALS)
    # The auditor may not pin the six ratings of 1, all from the one supervisor.
    low, high = problem.count_range(where(0, "1")) or (0, 0)
    assert low < high
    # "changes" was asked of the 14 who saw changes: its respondents would give the six
    # "none" away as 20 - 14, so it is hidden.
    assert item_of(stage, "changes").respondents is None


@dataclass
class _Truth:
    """Which questionnaires gave each answer, by (supervisor, supervisee)."""

    pairs: dict[str, set[tuple[int, int]]]

    def fails(self, categories: Sequence[str]) -> bool:
        found = set().union(*(self.pairs.get(c, set()) for c in categories))
        if not found:
            return False
        return len({s for s, _ in found}) < K or len({p for _, p in found}) < K


def _truth(ratings: Sequence[Rating], item: str) -> _Truth:
    pairs: dict[str, set[tuple[int, int]]] = {}
    for number, rating in enumerate(ratings):
        value = rating.answers.get(item)
        for v in value if isinstance(value, list) else [value]:
            if v is not None:
                pairs.setdefault(str(v), set()).add((rating.supervisor, number))
    return _Truth(pairs)


def _random_ratings(instrument: Instrument, seed: int) -> list[Rating]:
    """A class where a few supervisors rate many counsellors, so small groups abound."""
    rng = random.Random(seed)
    cohorts = ["tanger", "agadir", "marrakech"]
    size = rng.randint(0, 40)
    supervisors = rng.randint(1, 12)
    ratings = []
    for _ in range(size):
        supervisor = min(int(rng.expovariate(0.4)), supervisors - 1)
        given: dict[str, Any] = {}
        for item in instrument.items:
            cond = item.show_if
            if (
                cond is not None
                and cond.item is not None
                and given.get(cond.item) not in (cond.answer_in or [])
            ):
                continue
            options = [o.id for o in item.options or []]
            if item.type == "scale":
                given[item.id] = rng.choices(range(1, 6), weights=(1, 1, 2, 5, 6))[0]
            elif item.type == "single":
                given[item.id] = rng.choices(options, weights=range(len(options), 0, -1))[0]
            elif item.type == "multi":
                given[item.id] = rng.sample(options, rng.randint(1, 2))
        ratings.append(Rating(supervisor, given, rng.choice(cohorts)))
    return ratings


@pytest.mark.parametrize("seed", range(6))
async def test_random_classes_pass_the_supervisors_audit(
    db: Database, content: Content, seed: int
) -> None:
    """Every figure shown stands on k supervisors and k supervisees; no point of a scale
    or option resting on fewer can be solved for from the figures printed beside it."""
    instrument = content.supervisor_instruments["supervisors"]
    ratings = _random_ratings(instrument, seed)
    await store(db, content, ratings)
    stage = supervisors_stage(await report(db, content))
    everyone = {(r.supervisor, n) for n, r in enumerate(ratings)}
    if stage.respondents is None:
        assert not everyone or _Truth({"*": everyone}).fails(["*"])
        return
    # The report's own auditor (tests/test_disclosure.py), one "person" per questionnaire:
    # no hidden band, option or cohort can be solved for from what is printed.
    people = [
        Person(r.cohort, "female", given={(instrument.id, stage.stage.id): r.answers})
        for r in ratings
    ]
    problems = [*_answer_problems(stage, people), _stage_mean_problem(stage, people, content)]
    assert [leak for p in problems for leak in audit(p, K)] == []
    for found in stage.items:
        truth = _truth(ratings, found.item.id)
        answered = set().union(*truth.pairs.values()) if truth.pairs else set()
        if found.respondents is None:
            continue
        assert not truth.fails(list(truth.pairs))
        assert not _Truth({"*": everyone - answered}).fails(["*"])
        if found.ticked is not None:
            for option, count in found.ticked.items():
                if count is not None:
                    rest = answered - truth.pairs.get(option, set())
                    assert not truth.fails([option])
                    assert not _Truth({"*": rest}).fails(["*"])
            continue
        for band in found.bands or []:
            assert not truth.fails(band.categories), (found.item.id, band)
        if found.item.type != "scale":
            continue
        problem = Problem(
            found.item.id, [(str(p),) for p in range(1, 6)], value=lambda a: float(str(a[0]))
        )
        problem.count(lambda a: True, found.respondents)
        for band in found.bands or []:
            problem.count(where(0, *band.categories), band.n)
        if found.mean is not None:
            problem.mean(lambda a: True, round(found.mean, MEAN_DECIMALS), MEAN_DECIMALS)
        for point in map(str, range(1, 6)):
            count = len(truth.pairs.get(point, set()))
            problem.target(point, where(0, point), count, resolution=None)
            shown_alone = any(b.categories == (point,) for b in found.bands or [])
            if count and truth.fails([point]) and not shown_alone:
                low, high = problem.count_range(where(0, point)) or (0, 0)
                assert low < high, (found.item.id, point)
        assert audit(problem, K) == []
    for breakdown in stage.breakdowns:
        assert breakdown.dimension == "cohort"
        rated = {
            (r.supervisor, n): r.cohort
            for n, r in enumerate(ratings)
            if any(r.answers.get(i.id) is not None for i in instrument.items if i.type == "scale")
        }
        assert sum(row.n for row in breakdown.rows) == len(rated)
        for row in breakdown.rows:
            group = {p for p, c in rated.items() if c in row.members}
            assert not _Truth({"*": group}).fails(["*"])


async def test_the_breakdown_by_cohort_pools_cohorts_with_too_few_supervisors(
    db: Database, content: Content
) -> None:
    # Tanger and Agadir each rest on five supervisors; Marrakech on two, pooled.
    ratings = [Rating(i, answers("many", 4), "tanger") for i in range(5)]
    ratings += [Rating(5 + i, answers("many", 5), "agadir") for i in range(5)]
    ratings += [Rating(10 + i % 2, answers("some", 3), "marrakech") for i in range(4)]
    await store(db, content, ratings)
    stage = supervisors_stage(await report(db, content))
    (by_cohort,) = stage.breakdowns
    rows = {row.members: row.n for row in by_cohort.rows}
    assert ("tanger",) in rows
    assert all(len(m) > 1 for m in rows if "marrakech" in m)
    assert sum(rows.values()) == 14


# --- the export -------------------------------------------------------------------------


async def test_the_export_has_a_supervisors_sheet_with_pseudonyms_only(
    db: Database, content: Content, tmp_path: Path
) -> None:
    ratings = [Rating(i // 2, answers("many", 4, example=f"Exemple {i}")) for i in range(8)]
    stored = await store(db, content, ratings)
    t = Translator("fr", content.programme.tz)
    path = tmp_path / "export.xlsx"
    count = await export.write_xlsx(db, content, path, export.Filters(), t)
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == [
        "needs",
        "kat",
        "satisfaction",
        "followup",
        "answers",
        "supervisors",
        "codebook",
    ]
    rows = [list(r) for r in book["supervisors"].iter_rows(values_only=True)]
    header, lines = rows[0], rows[1:]
    assert header[:4] == ["pseudonym", "instrument", "stage", "submitted_on"]
    assert [line[0] for line in lines] == sorted(stored.pseudonyms)
    assert {line[3] for line in lines} == {"2027-12-03"}  # the day, not the time
    assert count == sum(len(r.answers) for r in ratings)
    fair = header.index(next(h for h in header if str(h).startswith("fair ·")))
    assert {line[fair] for line in lines} == {4}
    # Nothing in it names or links anyone: no participant code, name, supervisor e-mail.
    text = repr(rows)
    for forbidden in [*stored.codes, *stored.names, *stored.emails, "tanger", "female"]:
        assert forbidden not in text
    # And the participants' sheets never hold a pseudonym or the supervisors' questionnaire.
    for sheet in ("answers", "followup"):
        other = repr([list(r) for r in book[sheet].iter_rows(values_only=True)])
        assert not any(p in other for p in stored.pseudonyms)
    codebook = [list(r) for r in book["codebook"].iter_rows(values_only=True)]
    mine = [r for r in codebook if r[0] == "supervisors"]
    assert {r[1] for r in mine} >= {"pseudonym", "submitted_on", *instrument_items(content)}
    key = next(r for r in mine if r[1] == "pseudonym")
    assert "par construction" in str(key[4])
    assert ("change", "cannot") in {(r[1], r[5]) for r in mine}


def instrument_items(content: Content) -> list[str]:
    return [i.id for i in content.supervisor_instruments["supervisors"].items]


async def test_a_cohort_filtered_or_coordinators_export_leaves_the_supervisors_out(
    db: Database, content: Content, tmp_path: Path
) -> None:
    stored = await store(db, content, [Rating(i, answers("many", 4)) for i in range(6)])
    t = Translator("fr", content.programme.tz)
    for name, filters, allowed in (
        ("cohort", export.Filters(cohort="tanger"), True),
        ("coordinator", export.Filters(), False),
    ):
        path = tmp_path / f"{name}.xlsx"
        await export.write_xlsx(db, content, path, filters, t, supervisors=allowed)
        book = load_workbook(path, read_only=True)
        assert "supervisors" not in book.sheetnames
        every = repr([list(r) for s in book.worksheets for r in s.iter_rows(values_only=True)])
        assert not any(p in every for p in stored.pseudonyms)
    # A CSV holds them only when asked for by name, as a file of their own.
    path = tmp_path / "supervisors.csv"
    count = await exporting.responses(
        db,
        content,
        path,
        "csv",
        export.Filters("supervisors"),
        t,
        actor="test",
        now=NOW,
    )
    lines = list(csv.reader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))
    assert lines[0] == list(export.SUPERVISOR_LONG_COLUMNS)
    assert count == len(lines) - 1 == 6 * 3
    assert [line[0] for line in lines[1:]] == sorted(line[0] for line in lines[1:])
    assert {line[0] for line in lines[1:]} == set(stored.pseudonyms)
    with pytest.raises(PermissionError):
        await exporting.responses(
            db,
            content,
            tmp_path / "refused.csv",
            "csv",
            export.Filters("supervisors"),
            t,
            actor="test",
            now=NOW,
            supervisors=False,
        )
    plain = tmp_path / "participants.csv"
    await export.write_csv(db, content, plain, export.Filters(), t)
    assert not any(p in plain.read_text("utf-8-sig") for p in stored.pseudonyms)


async def test_an_evaluator_gets_the_supervisors_sheet_a_coordinator_and_a_supervisor_do_not(
    db: Database, clock: FixedClock, content: Content, new_user: Any, api: Any, tmp_path: Path
) -> None:
    stored = await store(db, content, [Rating(i, answers("many", 4)) for i in range(6)])

    def sheets(document: Any) -> list[str]:
        received = tmp_path / f"{secrets.token_hex(4)}.xlsx"
        received.write_bytes(api.files[document].content)
        return list(load_workbook(received, read_only=True).sheetnames)

    evaluator = new_user("Karim")
    await evaluator.send(f"/start {(await staff_invite(db, clock, Role.EVALUATOR)).token}")
    sent = await evaluator.send("/export")
    assert sent.last.document is not None
    assert "supervisors" in sheets(sent.last.document)
    as_csv = await evaluator.send("/export csv supervisors")
    assert as_csv.last.document is not None
    data = api.files[as_csv.last.document].content.decode("utf-8-sig")
    assert stored.pseudonyms[0] in data
    assert stored.codes[0] not in data

    coordinator = new_user("Salma")
    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    sent = await coordinator.send("/export")
    assert sent.last.document is not None
    assert "supervisors" not in sheets(sent.last.document)
    refused = await coordinator.send("/export csv supervisors")
    assert (
        refused.text
        == "Les réponses des supérieur(e)s hiérarchiques sont réservées à l'évaluation."
    )

    # A supervisor is no staff member: neither the export nor the report.
    issued = await issue_supervisor_invites(db, clock=clock, ttl=timedelta(days=30), actor="t")
    supervisor = new_user("Chef")
    await supervisor.send(f"/start {issued[0].token}")
    for command in ("/export", "/export csv supervisors", "/report"):
        reply = await supervisor.send(command)
        assert all(m.document is None for m in reply.sent)
    async with db.read() as conn:
        entries = [e for e in await repo.audit_entries(conn) if e.action == "export.responses"]
    # The audit log says who took the supervisors' answers.
    assert [e.details["supervisors"] for e in entries] == [True, True, False]


def test_relais_export_writes_the_supervisors_table_and_the_report_its_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "relais.db"
    monkeypatch.setenv("RELAIS_DATABASE", str(database))
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))

    async def fill() -> Stored:
        async with Database.opened(database) as db:
            content = load_content(CONTENT_DIR)
            return await store(db, content, [Rating(i, answers("many", 4)) for i in range(6)])

    stored = asyncio.run(fill())
    out = tmp_path / "supervisors.csv"
    argv = ["export", "--format", "csv", "--instrument", "supervisors", "--out", str(out)]
    assert main(argv) == EXIT_OK
    text = out.read_text("utf-8-sig")
    assert all(p in text for p in stored.pseudonyms)
    assert not any(c in text for c in stored.codes)
    page = tmp_path / "report.html"
    assert main(["report", "--out", str(page)]) == EXIT_OK
    html = page.read_text("utf-8")
    assert "Questionnaires de 6 supérieur(e)s hiérarchiques sur 6 participant(e)s" in html
