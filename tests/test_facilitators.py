"""Facilitator loops: a block of items asked once per facilitator of the stage's sessions."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.callbacks import open_data
from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.content.loader import ContentError
from bot.i18n import Translator, load_catalogs
from bot.sandbox.chat import SimulatedUser
from bot.services import export, report
from bot.storage import Database
from bot.storage import answers as store
from tests.conftest import CONTENT_DIR, add_participant, content_copy, invite_for

# After module 3 of Tanger (18 February) and of Agadir (25 February), both windows open.
AFTER_RESIDENTIAL = datetime(2027, 2, 26, 10, 0, tzinfo=UTC)


async def _answer_everything(user: SimulatedUser) -> list[str]:
    """Answer each question with a middle choice, and return every question's text."""
    seen: list[str] = []
    for _ in range(60):
        screen = user.chat[-1]
        buttons = screen.button_texts
        if "Envoyer" in buttons:
            await user.press("Envoyer")
            return seen
        seen.append(screen.text)
        if "Passer" in buttons:
            await user.press("Passer")
        elif "4" in buttons:
            await user.press("4")
        elif "Valider" in buttons:
            await user.press(buttons[0])
            await user.press("Valider")
        elif buttons and buttons[0] != "◀ Précédent":
            await user.press(buttons[0])
        else:
            await user.send("Très bien")
    raise AssertionError("the questionnaire never reached its summary")


async def _residential(
    db: Database, clock: FixedClock, new_user: object, external_id: str, cohort: str
) -> tuple[SimulatedUser, list[str], int]:
    participant = await add_participant(db, clock, external_id=external_id, cohort=cohort)
    invite = await invite_for(db, clock, participant)
    user = new_user()  # type: ignore[operator]
    assert isinstance(user, SimulatedUser)
    await user.send(f"/start {invite.token}")
    clock.set(AFTER_RESIDENTIAL)
    await user.press_data(open_data("satisfaction", "residential"))
    questions = await _answer_everything(user)
    assert user.chat[-1].text == "Merci ! Vos réponses ont été envoyées."
    return user, questions, participant.id


async def test_each_cohort_rates_its_own_facilitators_and_the_report_shows_them_apart(
    db: Database, clock: FixedClock, content: Content, new_user: object, tmp_path: Path
) -> None:
    _, agadir, agadir_id = await _residential(db, clock, new_user, "A-001", "agadir")
    _, tanger, tanger_id = await _residential(db, clock, new_user, "T-001", "tanger")
    # Agadir's residential sessions have a third facilitator; Tanger's do not.
    assert any("Salma Ouali (conseillère ANAPEC) : clarté des explications" in q for q in agadir)
    assert not any("Salma Ouali" in q for q in tanger)
    for questions in (agadir, tanger):
        assert any("Youssef Berrada (expert recrutement équitable)" in q for q in questions)
        assert any("Nadia Lamrani (experte migrations" in q for q in questions)
    async with db.read() as conn:
        a = await store.latest_attempt(conn, agadir_id, "satisfaction", "residential")
        t = await store.latest_attempt(conn, tanger_id, "satisfaction", "residential")
        assert a is not None
        assert t is not None
        stored_a = await store.answers_of(conn, a.id)
        stored_t = await store.answers_of(conn, t.id)
    # One answer per facilitator, under the item's id and the facilitator's.
    assert stored_a["fac-clarity.ouali"] == 4
    assert stored_a["fac-answers.berrada"] == 4
    assert "fac-clarity.ouali" not in stored_t
    assert stored_t["fac-clarity.lamrani"] == 4

    # The export names the facilitator's item like any other (pseudonymous, as ever).
    load_catalogs()
    path = tmp_path / "export.csv"
    await export.write_csv(
        db, content, path, export.Filters("satisfaction"), Translator("fr", content.programme.tz)
    )
    rows = list(csv.DictReader(path.read_text("utf-8-sig").splitlines(), delimiter=";"))
    ouali = [r for r in rows if r["item"] == "fac-clarity.ouali"]
    assert len(ouali) == 1
    assert ouali[0]["participant"].startswith("P-")

    book_path = tmp_path / "export.xlsx"
    await export.write_xlsx(
        db,
        content,
        book_path,
        export.Filters("satisfaction"),
        Translator("fr", content.programme.tz),
    )
    codebook = list(
        load_workbook(book_path, read_only=True)["codebook"].iter_rows(values_only=True)
    )
    header = list(codebook[0])
    about = {row[1]: row[header.index("facilitator")] for row in codebook[1:]}
    assert about["fac-clarity.ouali"] == "ouali"
    assert about["resource"] in ("", None)

    # Per facilitator, with the same disclosure control: with k=2, Berrada (rated by both)
    # is shown, Ouali (one respondent) is not.
    found = await report.figures(db, content, clock.now(), k=2, open_answers=False)
    stage = next(s for s in found.stages_of("satisfaction") if s.stage.id == "residential")
    by_id = {f.item.id: f for f in stage.items}
    assert by_id["fac-clarity.berrada"].respondents == 2
    assert by_id["fac-clarity.berrada"].mean == 4
    assert by_id["fac-clarity.ouali"].respondents is None
    # A facilitator of the online modules only is not listed under the residential stage.
    intro = next(s for s in found.stages_of("satisfaction") if s.stage.id == "intro")
    assert all(not f.item.id.endswith(".berrada") for f in intro.items)


def _content_with(tmp_path: Path, satisfaction: str) -> Path:
    folder = content_copy(tmp_path)
    (folder / "satisfaction.yaml").write_text(satisfaction, encoding="utf-8")
    return folder


SURVEY = """\
id: satisfaction
kind: survey
title: {fr: Test}
stages:
  - id: online
    title: {fr: En ligne}
    opens: {after: intro}
    closes: {after: intro, days: 10}
items:
  - id: rate
    type: scale
    text: Satisfait(e) ?
    labels: {low: Non, high: Oui}
"""


def test_a_broken_block_is_reported_at_its_line(tmp_path: Path) -> None:
    broken = SURVEY + (
        "  - id: fac\n"
        "    repeat: speakers\n"
        "    items:\n"
        "      - {id: fac-x, type: quiz, text: X, answer: a,"
        " options: [{id: a, text: A}, {id: b, text: B}]}\n"
    )
    with pytest.raises(ContentError) as raised:
        load_content(_content_with(tmp_path, broken))
    text = str(raised.value)
    assert "satisfaction.yaml:15" in text  # the 'repeat' line
    assert "items[1].repeat" in text
    assert "no facilitator in the sessions" not in text  # one mistake, one message
    with pytest.raises(ContentError, match="a facilitators block has no quiz items"):
        load_content(_content_with(tmp_path / "quiz", broken.replace("speakers", "facilitators")))


def test_a_block_nobody_is_asked_about_is_refused(tmp_path: Path) -> None:
    # The workshop has no facilitator: nobody would ever see the block.
    lonely = SURVEY.replace("after: intro", "after: atelier-final-rabat") + (
        "  - id: fac\n"
        "    repeat: facilitators\n"
        "    items:\n"
        "      - {id: fac-x, type: scale, text: '{name}', labels: {low: Non, high: Oui}}\n"
    )
    with pytest.raises(ContentError, match="no facilitator in the sessions"):
        load_content(_content_with(tmp_path, lonely))


def test_a_facilitator_has_one_name_everywhere(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    programme = folder / "programme.yaml"
    text = programme.read_text(encoding="utf-8")
    programme.write_text(
        text.replace("- *lamrani", "- {id: lamrani, name: N. Lamrani, role: experte}", 1),
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match="facilitator 'lamrani' has another name or role"):
        load_content(folder)


def test_a_mistake_after_a_block_names_its_own_line(tmp_path: Path) -> None:
    # The block expands to several items: a later item's line must still be its own.
    text = (
        SURVEY + "  - id: fac\n"
        "    repeat: facilitators\n"
        "    items:\n"
        "      - {id: fac-x, type: scale, text: '{name}', labels: {low: Non, high: Oui}}\n"
        "      - {id: fac-y, type: scale, text: '{role}', labels: {low: Non, high: Oui}}\n"
        "  - id: after\n"
        "    type: single\n"
        "    text: Après\n"
        "    options: [{id: a, text: A}, {id: b, text: B}]\n"
        "    show_if: {item: nowhere, in: [a]}\n"
    )
    with pytest.raises(ContentError) as raised:
        load_content(_content_with(tmp_path, text))
    assert "satisfaction.yaml:23: items[2].show_if.item" in str(raised.value)


def test_a_block_validated_without_the_programme_is_a_mistake_not_a_silent_loss() -> None:
    from ruamel.yaml import YAML

    from bot.content.instruments import Instrument

    tree = YAML(typ="safe").load((CONTENT_DIR / "satisfaction.yaml").read_text(encoding="utf-8"))
    # The loader passes the programme: the block becomes one item per facilitator.
    content = load_content(CONTENT_DIR)
    expanded = Instrument.model_validate(tree, context={"programme": content.programme})
    assert any(i.id.startswith("fac-") for i in expanded.items)
    # Without it the facilitators' items would be missing without a word: refused.
    with pytest.raises(TypeError, match="validated with the programme"):
        Instrument.model_validate(tree)
