"""Exports and report figures on a synthetic cohort of 100 answering the real content."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.clock import FixedClock
from bot.content import Content
from bot.content.instruments import Item
from bot.i18n import Translator, load_catalogs
from bot.services import export
from bot.services.report import figures
from bot.services.scores import normalised_change, stamp_of
from bot.storage import Database, answers, repo
from bot.storage.repo import Participant, ParticipantFields, Role

Expected = dict[tuple[str, str, str, str], Any]  # (code, instrument, stage, item) -> value


def random_answer(item: Item, rng: random.Random) -> Any:
    if item.type in ("quiz", "single"):
        return rng.choice([o.id for o in item.options or []])
    if item.type == "scale":
        return rng.randint(1, 5)
    if item.type == "multi":
        ids = [o.id for o in item.options or []]
        return sorted(rng.sample(ids, rng.randint(1, min(2, len(ids)))), key=ids.index)
    if item.optional and rng.random() < 0.3:
        return None
    return rng.choice(["Très utile", "Les études de cas", "Plus de temps; merci", "Α, é, ع"])


async def populate(db: Database, clock: FixedClock, content: Content, n: int = 100) -> Expected:
    """n participants across the cohorts, each submitting every stage with seeded answers."""
    from bot.rules.questionnaire import visible_items

    rng = random.Random(2027)
    expected: Expected = {}
    cohorts = sorted(content.programme.cohort_ids)
    now = clock.now()
    async with db.transaction() as conn:
        for number in range(n):
            participant = await repo.insert_participant(
                conn,
                ParticipantFields(
                    external_id=f"S-{number:03d}",
                    full_name=f"Synthétique {number}",
                    email=f"s{number}@example.org",
                    gender=rng.choice(["female", "male"]),
                    agency=None,
                    region=None,
                    cohort=cohorts[number % len(cohorts)],
                    language="fr",
                ),
                now,
            )
            await repo.bind_participant(conn, participant.id, 10_000 + number, 10_000 + number, now)
            for instrument in content.instruments.values():
                for stage in instrument.stages:
                    given: dict[str, Any] = {}
                    for item in instrument.items:
                        given[item.id] = random_answer(item, rng)
                    shown = {i.id for i in visible_items(instrument, stage, given)}
                    given = {k: v for k, v in given.items() if k in shown}
                    attempt = await answers.insert_attempt(
                        conn,
                        participant_id=participant.id,
                        instrument=instrument.id,
                        stage=stage.id,
                        number=1,
                        content_version=content.version,
                        seed=number,
                        now=now,
                    )
                    for item_id, value in given.items():
                        stamp = stamp_of(instrument.item(item_id), value)
                        await answers.save_answer(conn, attempt.id, item_id, value, now, stamp)
                        expected[(participant.code, instrument.id, stage.id, item_id)] = value
                    await answers.submit(conn, attempt.id, now + timedelta(minutes=5))
    return expected


def label(content: Content, instrument: str, item_id: str, value: Any) -> str:
    item = content.instruments[instrument].item(item_id)
    assert item is not None
    if value is None:
        return "(passée)"
    if item.type in ("scale", "text"):
        return str(value)
    ids = value if isinstance(value, list) else [value]
    return "; ".join(o.text.get("fr") for i in ids if (o := item.option(i)) is not None)


@pytest.fixture
def t(content: Content) -> Translator:
    load_catalogs()
    return Translator("fr", content.programme.tz)


# Every answer exactly once is the same property on 24 people (every cohort, both genders,
# every stage) as on 100; the class of 100 stays in make test.
@pytest.mark.parametrize("size", [24, pytest.param(100, marks=pytest.mark.slow)])
async def test_csv_and_xlsx_hold_every_answer_exactly_once_with_its_label(
    db: Database, clock: FixedClock, content: Content, t: Translator, tmp_path: Path, size: int
) -> None:
    expected = await populate(db, clock, content, n=size)
    path = tmp_path / "export.csv"
    count = await export.write_csv(db, content, path, export.Filters(), t)
    assert count == len(expected)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    seen: dict[tuple[str, str, str, str], int] = {}
    for row in rows:
        key = (row["participant"], row["instrument"], row["stage"], row["item"])
        seen[key] = seen.get(key, 0) + 1
        value = expected[key]
        assert row["value"] == export.value_code(value)
        assert row["value_label"] == label(content, row["instrument"], row["item"], value)
        assert row["participant"].startswith("P-")
        assert row["answered_at_utc"].endswith("Z")
    assert set(seen) == set(expected)
    assert set(seen.values()) == {1}
    text = raw.decode("utf-8-sig")
    assert "Synthétique" not in text
    assert "@example.org" not in text

    book_path = tmp_path / "export.xlsx"
    assert await export.write_xlsx(db, content, book_path, export.Filters(), t) == len(expected)
    book = load_workbook(book_path, read_only=True)
    assert book.sheetnames == [
        "needs",
        "kat",
        "satisfaction",
        "followup",
        "answers",
        "supervisors",
        "codebook",
    ]
    long_rows = list(book["answers"].iter_rows(values_only=True))
    assert len(long_rows) == len(expected) + 1
    satisfaction = content.instruments["satisfaction"]
    wide = list(book["satisfaction"].iter_rows(values_only=True))
    header = list(wide[0])
    assert header[:4] == ["participant", "cohort", "gender", "stage"]
    assert len(wide) == 1 + size * len(satisfaction.stages)
    item = satisfaction.items[0]
    column = header.index(f"{item.id} · {item.text.get('fr')}")
    for line in wide[1:]:
        assert line[column] == expected[(line[0], "satisfaction", line[3], item.id)]
    codebook = list(book["codebook"].iter_rows(values_only=True))
    # In the content's order: the needs analysis, then the KAT.
    assert codebook[1][:3] == ("needs", "experience", "single")
    assert ("kat", "q01", "quiz") in [row[:3] for row in codebook]
    assert "Synthétique" not in str(long_rows)


async def test_filters_and_identities(
    db: Database, clock: FixedClock, content: Content, t: Translator, tmp_path: Path
) -> None:
    expected = await populate(db, clock, content, n=12)
    path = tmp_path / "kat-tanger.csv"
    count = await export.write_csv(db, content, path, export.Filters("kat", "tanger"), t)
    assert count == sum(1 for key in expected if key[1] == "kat") // 3
    rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert {(r["instrument"], r["cohort"]) for r in rows} == {("kat", "tanger")}
    identities = tmp_path / "identities.csv"
    assert await export.write_identities(db, identities) == 12
    assert "Synthétique 0;s0@example.org" in identities.read_text(encoding="utf-8-sig")


async def test_report_figures_equal_a_hand_computation(
    db: Database, clock: FixedClock, content: Content
) -> None:
    expected = await populate(db, clock, content)
    kat = content.instruments["kat"]
    found = await figures(db, content, clock.now() + timedelta(days=400), k=5)
    assert found.participants == 100
    codes = sorted({key[0] for key in expected})

    def kat_score(code: str, stage: str) -> int:
        return sum(
            1 for item in kat.items if expected.get((code, "kat", stage, item.id)) == item.answer
        )

    pre = [kat_score(c, "pre") for c in codes]
    post = [kat_score(c, "post") for c in codes]
    quiz = found.quiz_of("kat")
    assert quiz is not None
    assert quiz.people == 100
    assert quiz.pre_mean == pytest.approx(fmean(pre))
    assert quiz.post_mean == pytest.approx(fmean(post))
    improved = sum(1 for a, b in zip(pre, post, strict=True) if b > a) / 100
    assert quiz.improved == pytest.approx(improved)
    changes = [
        c for a, b in zip(pre, post, strict=True) if (c := normalised_change(a, b, 10)) is not None
    ]
    assert quiz.change == pytest.approx(fmean(changes))
    assert quiz.class_gain == pytest.approx((fmean(post) - fmean(pre)) / (10 - fmean(pre)))
    q01 = kat.items[0]
    right_before = sum(1 for c in codes if expected[(c, "kat", "pre", q01.id)] == q01.answer)
    assert quiz.facility[0].before == pytest.approx(right_before / 100)

    first = content.instruments["satisfaction"].items[0]
    for stage in found.stages_of("satisfaction"):
        values = [
            v
            for (c, i, s, item), v in expected.items()
            if i == "satisfaction" and s == stage.stage.id and item == first.id
        ]
        row = next(f for f in stage.items if f.item.id == first.id)
        assert row.respondents == len(values)  # people at this activity, each once
        assert row.mean == pytest.approx(fmean(values))
        assert row.bands is not None
        assert sum(b.n for b in row.bands) == len(values)
    rates = next(r for r in found.rates if (r.instrument, r.stage) == ("kat", "pre"))
    assert rates.total is not None
    assert (rates.total.roster, rates.total.enrolled, rates.total.responded) == (100, 100, 100)


async def test_export_and_report_in_the_chat_respect_roles(
    db: Database, clock: FixedClock, content: Content, new_user: Any, api: Any
) -> None:
    from bot.storage.repo import Role
    from tests.conftest import staff_invite

    await populate(db, clock, content, n=10)
    participant = new_user("Curieux")
    refused = await participant.send("/export")
    assert "lien d'invitation personnel" in refused.text

    evaluator = new_user("Karim")
    await evaluator.send(f"/start {(await staff_invite(db, clock, Role.EVALUATOR)).token}")
    sent = await evaluator.send("/export csv kat")
    document = sent.last
    assert document.document is not None
    assert api.files[document.document].file_name == "relais-export.csv"
    data = api.files[document.document].content.decode("utf-8-sig")
    assert "Synthétique" not in data
    assert {line.split(";")[3] for line in data.splitlines()[1:]} == {"kat"}
    assert (await evaluator.send("/export identities")).text == (
        "Les identités sont réservées à la coordination."
    )

    coordinator = new_user("Salma")
    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    identities = await coordinator.send("/export identities")
    assert identities.last.document is not None
    assert "Synthétique 0" in api.files[identities.last.document].content.decode("utf-8-sig")
    async with db.read() as conn:
        actions = [
            e.action for e in await repo.audit_entries(conn) if e.action.startswith("export")
        ]
    assert actions == ["export.responses", "export.identities"]

    report = await evaluator.send("/report")
    html_file = report.sent[0]
    assert html_file.document is not None
    html = api.files[html_file.document].content.decode("utf-8")
    assert "<html" in html
    assert "Rapport d&#x27;évaluation" in html
    photos = [m for m in report.sent[1:] if m.photo]
    assert photos
    assert all(api.files[m.photo].content.startswith(b"\x89PNG") for m in photos if m.photo)


def _class_for_the_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """A database of ``n`` people with answers, and ``relais`` pointed at it from ``tmp_path``."""
    import asyncio

    from bot.content import load_content
    from tests.conftest import CONTENT_DIR

    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))
    monkeypatch.chdir(tmp_path)

    async def fill() -> None:
        db = await Database.open(tmp_path / "relais.db")
        try:
            clock = FixedClock(datetime(2027, 1, 6, tzinfo=UTC))
            await populate(db, clock, load_content(CONTENT_DIR), n=n)
        finally:
            await db.close()

    asyncio.run(fill())


def test_export_and_report_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import EXIT_OK, main

    _class_for_the_terminal(tmp_path, monkeypatch, 8)
    out = tmp_path / "x.xlsx"
    assert (
        main(["export", "--out", str(out), "--with-identities", str(tmp_path / "ids.csv")])
        == EXIT_OK
    )
    assert load_workbook(out, read_only=True).sheetnames[-1] == "codebook"
    assert "Synthétique 3" in (tmp_path / "ids.csv").read_text(encoding="utf-8-sig")
    assert (
        main(["report", "--out", str(tmp_path / "r.html"), "--charts", str(tmp_path / "c")])
        == EXIT_OK
    )
    assert (tmp_path / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert list((tmp_path / "c").glob("*.png"))
    assert "identities of 8 participant(s)" in capsys.readouterr().out


# --- Issue 12: exports that are safe, scorable, readable, and a Moodle grades file ------

# What participants may type that a spreadsheet would run or that XML cannot hold.
HOSTILE = [
    '=HYPERLINK("http://x","click")',
    "=1+1",
    "+33 6 12",
    "-2+3",
    "@SUM(A1)",
    "\tTab",
    "\rReturn",
    "Vertical\x0btab",
    "Normal, é ع",
]


async def _person(db: Database, clock: FixedClock, number: int, **fields: Any) -> Participant:
    values: dict[str, Any] = {
        "external_id": f"AN-{number:04d}",
        "full_name": f"Personne {number}",
        "email": f"p{number}@example.org",
        "gender": "female",
        "agency": None,
        "region": None,
        "cohort": "tanger",
        "language": "fr",
    }
    values.update(fields)
    async with db.transaction() as conn:
        return await repo.insert_participant(conn, ParticipantFields(**values), clock.now())


async def _hostile_followups(db: Database, clock: FixedClock, content: Content) -> None:
    from tests.conftest import submitted_attempt

    for number, text in enumerate(HOSTILE):
        pid = (await _person(db, clock, number)).id
        given = {"usefulness": 4, "frequency": "weekly", "example": text}
        await submitted_attempt(db, clock, content, pid, "followup", "six-months", given)


async def test_typed_formulas_and_control_characters_stay_text_in_csv_and_xlsx(
    db: Database, clock: FixedClock, content: Content, t: Translator, tmp_path: Path
) -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    await _hostile_followups(db, clock, content)
    path = tmp_path / "export.csv"
    await export.write_csv(db, content, path, export.Filters("followup"), t)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    typed = [r for r in rows if r["item"] == "example"]
    values = {r["value"] for r in typed}
    for text in HOSTILE:
        if text[0] in "=+-@\t":
            assert "'" + text in values, text
    assert "Normal, é ع" in values
    assert not any(v[:1] in "=+-@\t" for r in rows for v in r.values() if v)

    book_path = tmp_path / "export.xlsx"
    # Before: one \x0b made openpyxl stop mid-file (IllegalCharacterError).
    await export.write_xlsx(db, content, book_path, export.Filters("followup"), t)
    book = load_workbook(book_path)  # the full reader: it sees data types and formulas
    long_sheet = book["answers"]
    header = [c.value for c in long_sheet[1]]
    column = header.index("value") + 1
    cells = [
        long_sheet.cell(row, column)
        for row in range(2, long_sheet.max_row + 1)
        if long_sheet.cell(row, header.index("item") + 1).value == "example"
    ]
    assert {c.data_type for c in cells} == {"s"}
    # XML reads a raw carriage return back as a line feed: the line break survives.
    expected = {ILLEGAL_CHARACTERS_RE.sub("\ufffd", text).replace("\r", "\n") for text in HOSTILE}
    assert {c.value for c in cells} == expected
    assert "Vertical\ufffdtab" in expected
    wide = book["followup"]
    wide_header = [c.value for c in wide[1]]
    example = next(i for i, h in enumerate(wide_header, 1) if str(h).startswith("example ·"))
    column_cells = [wide.cell(r, example) for r in range(2, wide.max_row + 1)]
    assert {c.data_type for c in column_cells} == {"s"}
    assert '=HYPERLINK("http://x","click")' in {c.value for c in column_cells}


async def test_the_evaluator_receives_a_safe_file_in_the_chat(
    db: Database, clock: FixedClock, content: Content, new_user: Any, api: Any, tmp_path: Path
) -> None:
    from tests.conftest import staff_invite

    await _hostile_followups(db, clock, content)
    evaluator = new_user("Karim")
    await evaluator.send(f"/start {(await staff_invite(db, clock, Role.EVALUATOR)).token}")
    sent = await evaluator.send("/export followup")
    assert sent.last.document is not None
    received = tmp_path / "received.xlsx"
    received.write_bytes(api.files[sent.last.document].content)
    book = load_workbook(received)
    formulas = [c for row in book["answers"].iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


def _kat_given(content: Content, code_rng: random.Random, right: int) -> dict[str, Any]:
    """KAT answers with exactly ``right`` right ones."""
    kat = content.instruments["kat"]
    given: dict[str, Any] = {}
    for index, item in enumerate(kat.items):
        wrong = [o.id for o in item.options or [] if o.id != item.answer]
        given[item.id] = item.answer if index < right else code_rng.choice(wrong)
    return given


async def test_the_kat_sheet_can_be_scored_and_the_codebook_names_the_answer(
    db: Database, clock: FixedClock, content: Content, t: Translator, tmp_path: Path
) -> None:
    from tests.conftest import submitted_attempt

    kat = content.instruments["kat"]
    rng = random.Random(12)
    scores = {0: (3, 8), 1: (5, None), 2: (10, 9)}
    codes: dict[int, str] = {}
    answered: dict[tuple[int, str], dict[str, Any]] = {}
    for number, (pre, post) in scores.items():
        person = await _person(db, clock, number, gender="male" if number else "female")
        codes[number] = person.code
        pid = person.id
        for stage, right in (("pre", pre), ("post", post)):
            if right is None:
                continue
            answered[(number, stage)] = _kat_given(content, rng, right)
            given = answered[(number, stage)]
            await submitted_attempt(db, clock, content, pid, "kat", stage, given)
    path = tmp_path / "kat.xlsx"
    await export.write_xlsx(db, content, path, export.Filters("kat"), t)
    book = load_workbook(path, read_only=True)
    lines = list(book["kat"].iter_rows(values_only=True))
    header = list(lines[0])
    assert header[:6] == ["participant", "cohort", "gender", "max_score", "pre_score", "post_score"]
    assert header[6:10] == ["q01_pre", "q01_pre_correct", "q01_post", "q01_post_correct"]
    # The reader drops trailing empty cells: pad the rows back to the header.
    by_code = {
        line[0]: dict(zip(header, [*line, *[None] * (len(header) - len(line))], strict=True))
        for line in lines[1:]
    }
    assert set(by_code) == set(codes.values())  # one row per participant, pre and post side by side
    for number, (pre, post) in scores.items():
        row = by_code[codes[number]]
        assert row["max_score"] == 10
        assert row["pre_score"] == pre
        assert row["post_score"] == (post if post is not None else None)
        for index, item in enumerate(kat.items):
            assert row[f"{item.id}_pre_correct"] == (1 if index < pre else 0)
            mark = row[f"{item.id}_post_correct"]
            assert mark == (None if post is None else int(index < post))
            chosen = next(
                o for o in item.options or [] if o.id == answered[(number, "pre")][item.id]
            )
            assert row[f"{item.id}_pre"] == chosen.text.get("fr")
        # The sum of the marks is the score: a spreadsheet user can check one with the other.
        assert sum(row[f"{i.id}_pre_correct"] for i in kat.items) == row["pre_score"]

    codebook = list(book["codebook"].iter_rows(values_only=True))
    columns = list(codebook[0])
    assert columns == list(export.CODEBOOK_COLUMNS)
    q01 = kat.items[0]
    q01_rows = [dict(zip(columns, r, strict=True)) for r in codebook[1:] if r[1] == "q01"]
    assert {r["answer"] for r in q01_rows} == {q01.answer}
    assert [r["code"] for r in q01_rows if r["correct"] == "yes"] == [q01.answer]
    assert len({r["item_version"] for r in q01_rows}) == 1
    assert q01_rows[0]["item_version"]


async def test_the_item_version_changes_with_the_wording_or_the_key(content: Content) -> None:
    item = content.instruments["kat"].items[0]
    other = next(o.id for o in item.options or [] if o.id != item.answer)
    same = type(item).model_validate(item.model_dump())
    rekeyed = type(item).model_validate({**item.model_dump(), "answer": other})
    assert export.item_version(item) == export.item_version(same) == item.fingerprint
    assert export.item_version(item) != export.item_version(rekeyed)


async def test_xlsx_sheets_are_readable_and_right_to_left_in_arabic(
    db: Database, clock: FixedClock, content: Content, tmp_path: Path
) -> None:
    load_catalogs()
    await populate(db, clock, content, n=6)
    for locale in ("fr", "ar"):
        path = tmp_path / f"export-{locale}.xlsx"
        await export.write_xlsx(
            db, content, path, export.Filters(), Translator(locale, content.programme.tz)
        )
        book = load_workbook(path)
        for sheet in book.worksheets:
            assert sheet.freeze_panes in ("A2", "B2"), sheet.title
            assert sheet.auto_filter.ref == (
                f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
            ), sheet.title
            widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
            assert all(8 <= w <= 60 for w in widths), (sheet.title, widths)
            assert bool(sheet.sheet_view.rightToLeft) is (locale == "ar"), sheet.title
            assert all(c.font.b for c in sheet[1])
        assert (
            book["answers"].column_dimensions["F"].width
            < book["answers"].column_dimensions["G"].width
        )  # item (a code) narrower than item_text


async def test_the_fast_csv_rows_equal_the_reference_rows(
    db: Database, clock: FixedClock, content: Content, t: Translator, tmp_path: Path
) -> None:
    await populate(db, clock, content, n=9)
    reference = [
        [export.neutralise(c) if i in (2, 6, 7, 8) else c for i, c in enumerate(row)]
        async for row in _reference_rows(db, content, t)
    ]
    path = tmp_path / "export.csv"
    await export.write_csv(db, content, path, export.Filters(), t)
    written = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert written[1:] == reference


async def _reference_rows(db: Database, content: Content, t: Translator) -> Any:
    async for answer in export.answers(db, export.Filters()):
        yield export.long_row(answer, content, t)


async def test_moodle_grades_by_email_with_kat_percentages_and_certificates(
    db: Database, clock: FixedClock, content: Content, t: Translator, tmp_path: Path
) -> None:
    from bot.services.certificates import sessions_required
    from bot.storage import progress
    from tests.conftest import submitted_attempt

    kat = content.instruments["kat"]
    rules = kat.certificates
    assert rules is not None
    rng = random.Random(9)
    plan = [
        # number, pre right, post right, attended everything, plan submitted, e-mail
        (0, 4, 9, True, True, "p0@example.org"),  # 90 %: achievement
        (1, 2, 5, True, False, "p1@example.org"),  # 50 %, no plan: participation
        (2, 6, None, False, False, "p2@example.org"),  # no post-test: none
        (3, 5, 7, False, False, None),  # no e-mail: left out (Moodle could not match it)
    ]
    for number, pre, post, attended, planned, email in plan:
        pid = (await _person(db, clock, number, email=email)).id
        await submitted_attempt(
            db, clock, content, pid, "kat", "pre", _kat_given(content, rng, pre)
        )
        if post is not None:
            given = _kat_given(content, rng, post)
            await submitted_attempt(db, clock, content, pid, "kat", "post", given)
        async with db.transaction() as conn:
            if attended:
                required = sessions_required(content, rules, "tanger")
                for session in {s.id for level in required.values() for s in level}:
                    await progress.record_attendance(conn, pid, session, True, clock.now())
            if planned:
                await progress.add_plan(
                    conn,
                    pid,
                    file_id="f",
                    file_unique_id="u",
                    file_name="plan.pdf",
                    mime_type="application/pdf",
                    size=10,
                    now=clock.now(),
                )
    path = tmp_path / "moodle.csv"
    written = await export.write_moodle(db, content, path, t)
    assert written == export.MoodleExport(rows=3, without_email=1)
    assert path.stat().st_mode & 0o777 == 0o600
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8").splitlines()))
    assert rows == [
        ["email", "idnumber", "fullname", "kat_pre", "kat_post", "certificate"],
        ["p0@example.org", "AN-0000", "Personne 0", "40", "90", "Réussite"],
        ["p1@example.org", "AN-0001", "Personne 1", "20", "50", "Participation"],
        ["p2@example.org", "AN-0002", "Personne 2", "60", "-", "Aucun"],
    ]


async def test_only_coordinators_get_the_moodle_grades_in_the_chat(
    db: Database, clock: FixedClock, content: Content, new_user: Any, api: Any
) -> None:
    from tests.conftest import staff_invite

    await populate(db, clock, content, n=4)
    evaluator = new_user("Karim")
    await evaluator.send(f"/start {(await staff_invite(db, clock, Role.EVALUATOR)).token}")
    refused = await evaluator.send("/export moodle")
    assert refused.text == "Les notes nominatives sont réservées à la coordination."
    assert refused.last.document is None

    coordinator = new_user("Salma")
    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    sent = await coordinator.send("/export moodle")
    document = sent.last
    assert document.document is not None
    received = api.files[document.document]
    assert received.file_name == "relais-moodle-grades.csv"
    lines = received.content.decode("utf-8").splitlines()
    assert lines[0] == "email,idnumber,fullname,kat_pre,kat_post,certificate"
    assert len(lines) == 5
    assert all("@example.org" in line for line in lines[1:])
    assert "Notes de 4 participants" in document.text
    async with db.read() as conn:
        actions = [e.action for e in await repo.audit_entries(conn)]
    assert "export.moodle" in actions


def test_moodle_grades_and_identities_from_the_command_line_are_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import EXIT_INVALID, EXIT_OK, main

    _class_for_the_terminal(tmp_path, monkeypatch, 5)
    ids = tmp_path / "ids.csv"
    ids.write_text("old", encoding="utf-8")
    ids.chmod(0o644)
    assert main(["export", "--format", "moodle"]) == EXIT_OK
    grades = tmp_path / "relais-moodle-grades.csv"
    assert grades.stat().st_mode & 0o777 == 0o600
    assert len(grades.read_text(encoding="utf-8").splitlines()) == 6
    assert "grades of 5 participant(s) for Moodle" in capsys.readouterr().out
    assert (
        main(
            [
                "export",
                "--out",
                str(tmp_path / "x.csv"),
                "--format",
                "csv",
                "--with-identities",
                str(ids),
            ]
        )
        == EXIT_OK
    )
    assert ids.stat().st_mode & 0o777 == 0o600
    assert main(["export", "--format", "moodle", "--instrument", "kat"]) == EXIT_INVALID
