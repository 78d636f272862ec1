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
from bot.storage.repo import ParticipantFields

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
    from bot.services.questionnaire import visible_items

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
                        instrument=instrument.kind,
                        stage=stage.id,
                        number=1,
                        content_version=content.version,
                        seed=number,
                        now=now,
                    )
                    for item_id, value in given.items():
                        stamp = stamp_of(instrument.item(item_id), value)
                        await answers.save_answer(conn, attempt.id, item_id, value, now, stamp)
                        expected[(participant.code, instrument.kind, stage.id, item_id)] = value
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


async def test_csv_and_xlsx_hold_every_answer_exactly_once_with_its_label(
    db: Database, clock: FixedClock, content: Content, t: Translator, tmp_path: Path
) -> None:
    expected = await populate(db, clock, content)
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
    assert book.sheetnames == ["kat", "satisfaction", "followup", "answers", "codebook"]
    long_rows = list(book["answers"].iter_rows(values_only=True))
    assert len(long_rows) == len(expected) + 1
    satisfaction = content.instruments["satisfaction"]
    wide = list(book["satisfaction"].iter_rows(values_only=True))
    header = list(wide[0])
    assert header[:4] == ["participant", "cohort", "gender", "stage"]
    assert len(wide) == 1 + 100 * len(satisfaction.stages)
    item = satisfaction.items[0]
    column = header.index(f"{item.id} · {item.text.get('fr')}")
    for line in wide[1:]:
        assert line[column] == expected[(line[0], "satisfaction", line[3], item.id)]
    codebook = list(book["codebook"].iter_rows(values_only=True))
    assert codebook[1][:3] == ("kat", "q01", "quiz")
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
    assert found.kat is not None
    assert found.kat.people == 100
    assert found.kat.pre_mean == pytest.approx(fmean(pre))
    assert found.kat.post_mean == pytest.approx(fmean(post))
    improved = sum(1 for a, b in zip(pre, post, strict=True) if b > a) / 100
    assert found.kat.improved == pytest.approx(improved)
    changes = [
        c for a, b in zip(pre, post, strict=True) if (c := normalised_change(a, b, 10)) is not None
    ]
    assert found.kat.change == pytest.approx(fmean(changes))
    assert found.kat.class_gain == pytest.approx((fmean(post) - fmean(pre)) / (10 - fmean(pre)))
    q01 = kat.items[0]
    right_before = sum(1 for c in codes if expected[(c, "kat", "pre", q01.id)] == q01.answer)
    assert found.kat.facility[0].before == pytest.approx(right_before / 100)

    first = content.instruments["satisfaction"].items[0]
    for stage in found.satisfaction:
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


def test_export_and_report_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.cli import EXIT_OK, main
    from tests.conftest import CONTENT_DIR

    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))
    monkeypatch.chdir(tmp_path)

    async def fill() -> None:
        from bot.content import load_content

        db = await Database.open(tmp_path / "relais.db")
        try:
            await populate(
                db, FixedClock(datetime(2027, 1, 6, tzinfo=UTC)), load_content(CONTENT_DIR), n=8
            )
        finally:
            await db.close()

    asyncio.run(fill())
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
