"""A course team adds a questionnaire file, with no code change: it is checked, answered in
the sandbox, exported with its codebook and reported in its own section."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.app import RelaisApp
from bot.cli import main
from bot.cli.common import EXIT_INVALID, EXIT_OK
from bot.clock import FixedClock
from bot.content import Content, check_content, load_content
from bot.i18n import Translator
from bot.rules.questionnaire import visible_items
from bot.sandbox.chat import SimulatedUser, direct_delivery
from bot.sandbox.offline import OfflineBotAPI
from bot.services import export
from bot.services.report import figures
from bot.settings import Settings
from bot.storage import Database
from bot.views.report.html import render_html
from tests.conftest import CONTENT_DIR, add_participant, content_copy, invite_for

PULSE = """\
# Une enquête éclair ajoutée par l'équipe pédagogique.
id: pulse
kind: survey
level: 1
order: 35
purpose: {fr: Prendre le pouls en cours de formation, en: Take the pulse during the training}
title: {fr: Pouls de la formation, en: Training pulse, ar: نبض التكوين}
intro: {fr: Deux questions rapides.}
stages:
  - id: week-1
    title: {fr: Première semaine}
    short: {fr: Semaine 1}
    intro: {fr: "Deux questions sur votre première semaine."}
    opens: 2027-01-05T08:00
    closes: 2027-02-01T08:00
  - id: week-9
    title: {fr: Neuvième semaine}
    opens: 2027-03-01T08:00
    closes: 2027-03-08T08:00
items:
  - id: pace
    type: scale
    text: Le rythme vous convient-il ?
    labels: {low: Pas du tout, high: Tout à fait}
  - id: late
    type: single
    text: Avez-vous pris du retard ?
    options: [{id: "yes", text: Oui}, {id: "no", text: Non}]
    show_if: {stage: [week-9]}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = content_copy(tmp_path)
    (target / "pulse.yaml").write_text(PULSE, encoding="utf-8")
    return target


@pytest.fixture
def content(folder: Path) -> Content:
    return load_content(folder)


@pytest.fixture
def settings(tmp_path: Path, folder: Path) -> Settings:
    return Settings(database=tmp_path / "relais.db", content_dir=folder)


def test_relais_check_accepts_a_new_survey_file(
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(folder))
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_BOT_USERNAME", "relais_test_bot")
    assert main(["check"]) == EXIT_OK
    assert "pulse.yaml" in capsys.readouterr().out
    # A campaign naming a questionnaire that is not there is refused, with its line.
    programme = folder / "programme.yaml"
    text = programme.read_text(encoding="utf-8")
    programme.write_text(
        text.replace("kind: invitation\n", "kind: invitation\n    instruments: [pulse, pouls]\n"),
        encoding="utf-8",
    )
    assert main(["check"]) == EXIT_INVALID
    err = capsys.readouterr().err
    line = text.index("kind: invitation\n")
    line = text[:line].count("\n") + 2
    # In French by default (the course team's language), in English on request.
    assert (
        f"programme.yaml:{line}: campaigns[1].instruments[1]: pas de questionnaire 'pouls'" in err
    )
    assert main(["check", "--locale", "en"]) == EXIT_INVALID
    assert (
        "campaigns[1].instruments[1]: no questionnaire 'pouls' (known: " in capsys.readouterr().err
    )


def test_relais_check_says_the_models_own_mistakes_in_french(
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(folder))
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_BOT_USERNAME", "relais_test_bot")
    path = folder / "pulse.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("kind: survey", "kind: enquete").replace("[week-9]", "[week-7]")
    text = text.replace(
        "    short: {fr: Semaine 1}", "    short: {fr: La toute première semaine du cours}"
    )
    path.write_text(text, encoding="utf-8")
    assert main(["check"]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert "pulse.yaml:3: kind: 'enquete' n'est pas permis ici ; attendu : quiz, survey" in err
    assert "le libellé court (fr) fait 34 caractères ; 24 au plus" in err
    text = text.replace("kind: enquete", "kind: survey").replace(
        "La toute première semaine du cours", "S1"
    )
    path.write_text(text, encoding="utf-8")
    assert main(["check"]) == EXIT_INVALID
    assert "items[1].show_if.stage[0]: pas d'étape 'week-7'" in capsys.readouterr().err


def test_new_instrument_takes_its_place_and_fields(content: Content) -> None:
    assert list(content.instruments) == ["needs", "kat", "satisfaction", "pulse", "followup"]
    pulse = content.instruments["pulse"]
    assert (pulse.kind, pulse.level, pulse.order, pulse.audience) == (
        "survey",
        1,
        35,
        "participants",
    )
    week1, week9 = pulse.stages
    assert [i.id for i in visible_items(pulse, week1, {})] == ["pace"]
    assert [i.id for i in visible_items(pulse, week9, {})] == ["pace", "late"]
    # Campaigns that name none cover every participants' instrument.
    assert pulse in content.for_campaign(None)


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        (
            "show_if: {stage: [week-9]}",
            "show_if: {stage: [week-7]}",
            "items[1].show_if.stage[0]",
            "no stage 'week-7'",
        ),
        (
            "    short: {fr: Semaine 1}",
            "    short: {fr: La toute première semaine du cours}",
            "stages[0].short",
            "at most 24",
        ),
        ("kind: survey", "kind: enquete", "kind", "'quiz' or 'survey'"),
        ("level: 1", "level: 4", "level", "1, 2 or 3"),
    ],
)
def test_mistakes_in_the_new_file_are_named_with_their_line(
    folder: Path, old: str, new: str, field: str, message: str
) -> None:
    path = folder / "pulse.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = [p for p in check_content(folder) if p.file.endswith("pulse.yaml")]
    assert [p.field for p in problems] == [field], problems
    assert message in problems[0].message
    assert problems[0].line == text[: text.index(old)].count("\n") + 1


async def test_a_new_survey_is_answered_exported_and_reported(
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
    content: Content,
    tmp_path: Path,
) -> None:
    participant = await add_participant(db, clock, external_id="A-001")
    invite = await invite_for(db, clock, participant)
    user = SimulatedUser(api, direct_delivery(app, api), 610_001, "Khadija")
    await user.send(f"/start {invite.token}")
    await user.send("/me")
    turn = await user.press("Commencer : Semaine 1")
    screen = turn.last.text
    assert "Deux questions sur votre première semaine." in screen  # the stage's own intro
    assert "Deux questions rapides." not in screen
    assert "Question 1/1" in screen  # 'late' is for the ninth week only
    await user.press("4")
    turn = await user.press("Envoyer")
    assert turn.last.text == "Merci ! Vos réponses ont été envoyées."

    t = Translator("fr", content.programme.tz)
    book_path = tmp_path / "export.xlsx"
    assert await export.write_xlsx(db, content, book_path, export.Filters(), t) == 1
    book = load_workbook(book_path, read_only=True)
    assert "pulse" in book.sheetnames
    rows = list(book["pulse"].iter_rows(values_only=True))
    assert 4 in rows[1]
    codebook = [r for r in book["codebook"].iter_rows(values_only=True) if r and r[0] == "pulse"]
    assert {r[1] for r in codebook} >= {"pace", "late"}

    found = await figures(db, content, clock.now(), k=1)
    assert [s.instrument.id for s in found.sections] == [
        "needs",
        "kat",
        "satisfaction",
        "pulse",
        "followup",
        "supervisors",
    ]
    [week1, _] = found.stages_of("pulse")
    assert week1.respondents == 1
    page = render_html(found, content, t)
    assert "Niveau 1 : Pouls de la formation" in page
    assert "Prendre le pouls en cours de formation" in page
    # Its section comes after the satisfaction's and before the follow-up's.
    assert page.index("i-satisfaction") < page.index("i-pulse") < page.index("i-followup")


def _line(path: Path, text: str) -> int:
    content = path.read_text(encoding="utf-8")
    assert text in content, text
    return content[: content.index(text)].count("\n") + 1


def test_the_certificates_name_a_quiz_stage_that_exists(folder: Path) -> None:
    path = folder / "certificates.yaml"
    line = _line(path, "quiz: {instrument: kat, stage: post}")
    path.write_text(
        path.read_text(encoding="utf-8").replace("stage: post}", "stage: final}"), encoding="utf-8"
    )
    [problem] = check_content(folder)
    assert (problem.line, problem.field, problem.message) == (
        line,
        "quiz.stage",
        "'kat' has no stage 'final'",
    )
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "instrument: kat, stage: final", "instrument: pulse, stage: week-1"
        ),
        encoding="utf-8",
    )
    [problem] = check_content(folder)
    assert (problem.field, problem.message) == ("quiz.instrument", "no quiz 'pulse' (quizzes: kat)")


def test_a_stage_is_about_sessions_of_every_cohort(folder: Path) -> None:
    path = folder / "pulse.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "    short: {fr: Semaine 1}\n",
            "    short: {fr: Semaine 1}\n    about: [intro, module-9]\n",
        ),
        encoding="utf-8",
    )
    problems = check_content(folder)
    assert {p.field for p in problems} == {"stages[0].about[1]"}
    assert [p.message for p in problems] == [
        f"no session or module 'module-9' for cohort {c!r}"
        for c in ("agadir", "marrakech", "tanger")
    ]
    content = load_content(CONTENT_DIR)
    satisfaction = content.instruments["satisfaction"]
    # Without 'about': the session or module its 'opens' names.
    assert satisfaction.stages[0].about_refs == ["intro"]


def test_two_files_with_one_id_and_a_file_that_is_no_questionnaire(folder: Path) -> None:
    (folder / "pulse-copy.yaml").write_text(PULSE, encoding="utf-8")
    (folder / "notes.yaml").write_text("remarques: a revoir\n", encoding="utf-8")
    problems = check_content(folder)
    found = {(Path(p.file).name, p.field): p.message for p in problems}
    assert (
        found[("pulse.yaml", "id")]
        == "duplicate questionnaire id 'pulse' (also in pulse-copy.yaml)"
    )
    assert found[("notes.yaml", "(file)")].startswith("unknown content file (expected ")


def test_a_quiz_holds_only_quiz_items_shown_to_everyone(folder: Path) -> None:
    path = folder / "pulse.yaml"
    text = path.read_text(encoding="utf-8").replace("kind: survey", "kind: quiz")
    path.write_text(text, encoding="utf-8")
    fields = {p.field for p in check_content(folder) if p.file.endswith("pulse.yaml")}
    # Every item of a quiz is a scored quiz item shown to everyone.
    assert fields == {"items[0].type", "items[1].type", "items[1].show_if"}
