"""Questions have versions: answers keep what the person saw and the key they were scored with.

Editing a question that has answers, declaring a correction of its key, inserting an
item into a questionnaire someone is halfway through, and ``relais check`` telling the
course team beforehand what an edit touches.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.app import RelaisApp, running, runtime_of
from bot.cli import EXIT_OK, main
from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.i18n import Translator
from bot.sandbox.chat import SimulatedUser, direct_delivery
from bot.sandbox.offline import OfflineBotAPI
from bot.scheduling import reload_content
from bot.services.export import Filters, write_csv
from bot.services.report import figures
from bot.services.scores import kat_result, normalised_change
from bot.services.versions import declared_corrections, pending_changes, register
from bot.settings import Settings
from bot.storage import Database, tally
from bot.storage import answers as store
from bot.storage.repo import Participant
from tests.conftest import (
    add_participant,
    content_copy,
    invite_for,
    offline_app,
    submitted_attempt,
)
from tests.test_flow_questionnaire import SURVEY, answer_kat

OLD_Q03 = "qui doit payer"


def edit(folder: Path, name: str, change: Callable[[Any], None]) -> None:
    """Edit a content file as the course team would (comments and order kept)."""
    yaml = YAML(typ="rt")
    path = folder / name
    tree = yaml.load(path.read_text(encoding="utf-8"))
    change(tree)
    out = io.StringIO()
    yaml.dump(tree, out)
    path.write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    found = content_copy(tmp_path)
    (found / "satisfaction.yaml").write_text(SURVEY, encoding="utf-8")
    return found


@pytest.fixture
def content(folder: Path) -> Content:
    return load_content(folder)


@pytest.fixture
def settings(tmp_path: Path, folder: Path) -> Settings:
    return Settings(database=tmp_path / "relais.db", content_dir=folder)


async def enrol(
    app: RelaisApp, api: OfflineBotAPI, db: Database, clock: FixedClock
) -> tuple[SimulatedUser, Participant]:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    user = SimulatedUser(api, direct_delivery(app, api), 630_001, "Khadija")
    await user.send(f"/start {invite.token}")
    return user, participant


def q03_reworded(tree: Any) -> None:
    """A new wording, new option texts and another right answer for question 3."""
    q03 = tree["items"][2]
    q03["text"]["fr"] = "Qui prend en charge les frais de recrutement ?"
    q03["options"][0]["text"]["fr"] = "Le travailleur ou la travailleuse, en partie"
    q03["answer"] = next(o["id"] for o in q03["options"] if o["id"] != q03["answer"])


async def report_score(db: Database, content: Content, clock: FixedClock, pid: int) -> int:
    """The pre-test score the report counts for one person."""
    await figures(db, content, clock.now())
    async with db.read() as conn:
        return (await tally.scores(conn, "kat", "pre"))[pid][0]


async def test_an_edited_question_keeps_the_wording_and_key_its_answers_were_given_under(
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
    content: Content,
    folder: Path,
    tmp_path: Path,
) -> None:
    kat = content.instrument("kat")
    assert kat is not None
    old_key = kat.items[2].answer
    user, participant = await enrol(app, api, db, clock)
    await user.send("/me")
    await user.press("Commencer : Test avant la formation")
    await answer_kat(user, {item.id: item.answer or "" for item in kat.items})
    await user.press("Envoyer")
    assert (await kat_result(db, content, participant.id)).pre == 10  # type: ignore[union-attr]

    edit(folder, "kat.yaml", q03_reworded)
    edited = load_content(folder)
    # Before the reload the course team is told what the edit touches.
    changes = [str(c) for c in await pending_changes(db, edited)]
    assert changes == [
        "kat q03: text (fr), option texts, answer key "
        f"{old_key} -> {edited.instruments['kat'].items[2].answer}: 1 answer(s) to the version "
        "loaded now keep the wording and key they were given under"
    ]
    assert await reload_content(app) == []
    # Scored with the key she answered under, not re-scored with the new one.
    assert (await kat_result(db, edited, participant.id)).pre == 10  # type: ignore[union-attr]
    # The report too (before: re-scored with the key loaded now).
    assert await report_score(db, edited, clock, participant.id) == 10
    # The export shows the wording she saw.
    path = tmp_path / "export.csv"
    await write_csv(
        db, edited, path, Filters(instrument="kat"), Translator("fr", edited.programme.tz)
    )
    with path.open(encoding="utf-8-sig") as handle:
        rows = {r["item"]: r for r in csv.DictReader(handle, delimiter=";")}
    assert OLD_Q03 in rows["q03"]["item_text"]
    assert rows["q03"]["value_label"] == kat.items[2].option(old_key or "").text.fr  # type: ignore[union-attr]

    # The team realises the old key was the mistake: they declare a correction.
    def corrected(tree: Any) -> None:
        tree["items"][2]["correction"] = {
            "was": old_key,
            "reason": {"fr": "La bonne réponse avait été mal saisie."},
        }

    edit(folder, "kat.yaml", corrected)
    declared = load_content(folder)
    [change] = await pending_changes(db, declared)
    assert change.rescored == 1
    assert (
        str(change)
        == "kat q03: key correction: 1 answer(s) re-scored by the declared key correction"
    )
    assert await reload_content(app) == []
    assert (await kat_result(db, declared, participant.id)).pre == 9  # type: ignore[union-attr]
    assert await report_score(db, declared, clock, participant.id) == 9
    found = await figures(db, declared, clock.now())
    quiz = found.quiz_of("kat")
    assert quiz is not None
    [stated] = quiz.corrections  # the report says so, and re-scores nobody it hides
    assert (stated.item.id, stated.was, stated.answers) == ("q03", old_key, None)
    [correction] = declared_corrections(declared)
    assert (correction.item, correction.was) == ("q03", old_key)
    assert correction.reason.fr == "La bonne réponse avait été mal saisie."

    # Withdrawn, the correction no longer applies: back to the key she answered under.
    def withdrawn(tree: Any) -> None:
        del tree["items"][2]["correction"]

    edit(folder, "kat.yaml", withdrawn)
    assert await reload_content(app) == []
    assert (await kat_result(db, load_content(folder), participant.id)).pre == 10  # type: ignore[union-attr]


def test_a_key_correction_is_checked(folder: Path) -> None:
    def wrong(tree: Any) -> None:
        q01 = tree["items"][0]
        q01["correction"] = {"was": q01["answer"], "reason": "x"}
        tree["items"][1]["correction"] = {"was": "zz", "reason": "x"}

    edit(folder, "kat.yaml", wrong)
    from bot.content import check_content

    problems = [str(p) for p in check_content(folder)]
    assert any("items[0]" in p and "nothing to correct" in p for p in problems), problems
    assert any("items[1]" in p and "'zz' is not an option id" in p for p in problems), problems


async def test_an_item_inserted_mid_questionnaire_is_asked_and_nothing_is_misplaced(
    app: RelaisApp, api: OfflineBotAPI, db: Database, clock: FixedClock, folder: Path
) -> None:
    user, participant = await enrol(app, api, db, clock)
    await user.send("/me")
    await user.press("Commencer : Après le module en ligne")
    await user.press("4")
    await user.press("Non")
    old = user.chat[-1]
    assert "Quels thèmes" in old.text

    def inserted(tree: Any) -> None:
        # A new first question, before everything she has answered.
        tree["items"].insert(
            0,
            {
                "id": "useful",
                "type": "single",
                "text": "Le module vous a-t-il été utile ?",
                "options": [{"id": "yes", "text": "Oui"}, {"id": "no", "text": "Non"}],
            },
        )

    edit(folder, "satisfaction.yaml", inserted)
    assert await reload_content(app) == []
    # Her old screen's buttons now point elsewhere: refused, nothing written.
    stale = await user.press_data(old.buttons[0][0]["callback_data"], old)
    assert stale.answers[0]["text"] == "Ce bouton n'est plus valide."
    me = await user.send("/me")
    await user.press("Continuer : Après le module en ligne")
    resumed = user.chat[-1]
    assert "Le module vous a-t-il été utile" in resumed.text  # the new item is asked
    await user.press("Oui")
    for _ in range(2):  # her earlier answers are still hers
        assert "✓" in " ".join(user.chat[-1].button_texts)
        await user.press_data(
            next(
                b["callback_data"]
                for row in user.chat[-1].buttons
                for b in row
                if b["text"].startswith("✓")
            ),
            user.chat[-1],
        )
    assert "Quels thèmes" in user.chat[-1].text
    await user.press("☐ Compétences")
    await user.press("Valider")
    await user.press("Passer")
    await user.press("Envoyer")
    async with db.read() as conn:
        attempt = await store.latest_attempt(conn, participant.id, "satisfaction", "online")
        assert attempt is not None
        assert await store.answers_of(conn, attempt.id) == {
            "useful": "yes",
            "rate": 4,
            "tools": "no",
            "topics": ["b"],
            "more": None,
        }
    assert me.text


async def test_an_item_added_behind_someone_on_the_summary_is_asked_before_sending(
    app: RelaisApp, api: OfflineBotAPI, db: Database, clock: FixedClock, folder: Path
) -> None:
    user, participant = await enrol(app, api, db, clock)
    await user.send("/me")
    await user.press("Commencer : Après le module en ligne")
    await user.press("5")
    await user.press("Oui")
    await user.press("☐ Recrutement")
    await user.press("Valider")
    await user.press("Passer")
    assert "Vérifiez vos réponses" in user.chat[-1].text

    def added(tree: Any) -> None:
        tree["items"].insert(
            1,
            {
                "id": "pace",
                "type": "scale",
                "text": "Le rythme ?",
                "labels": {"low": "lent", "high": "rapide"},
            },
        )

    edit(folder, "satisfaction.yaml", added)
    assert await reload_content(app) == []
    refused = await user.press("Envoyer")  # the old summary: not sent without the new item
    assert refused.answers[0]["text"] == "Ce bouton n'est plus valide."
    await user.send("/me")
    await user.press("Continuer : Après le module en ligne")
    assert "Le rythme ?" in user.chat[-1].text
    async with db.read() as conn:
        attempt = await store.latest_attempt(conn, participant.id, "satisfaction", "online")
    assert attempt is not None
    assert not attempt.submitted


async def test_answers_written_before_versions_existed_are_versioned_at_start(
    app: RelaisApp, db: Database, clock: FixedClock, content: Content
) -> None:
    participant = await add_participant(db, clock)
    kat = content.instrument("kat")
    assert kat is not None
    right = {i.id: i.answer for i in kat.items}
    async with db.transaction() as conn:
        ids = []
        for stage, version in (("pre", content.version), ("post", "an-older-content")):
            attempt = await store.insert_attempt(
                conn,
                participant_id=participant.id,
                instrument="kat",
                stage=stage,
                number=1,
                content_version=version,
                seed=1,
                now=clock.now(),
            )
            for item, value in right.items():
                await store.save_answer(conn, attempt.id, item, value, clock.now())  # no stamp
            await store.submit(conn, attempt.id, clock.now())
            ids.append(attempt.id)
    done = await register(db, content, clock.now())
    assert (done.versioned, done.unknown) == (10, 10)
    async with (
        db.read() as conn,
        conn.execute(
            "SELECT attempt_id, count(item_version), sum(correct) FROM answers"
            " GROUP BY 1 ORDER BY 1"
        ) as cur,
    ):
        rows = [tuple(r) for r in await cur.fetchall()]
    # Started under this content: exact. Under content no longer on disk: version unknown,
    # scored with the key of the earliest version recorded.
    assert rows == [(ids[0], 10, 10), (ids[1], 0, 10)]
    result = await kat_result(db, content, participant.id)
    assert result is not None
    assert (result.pre, result.post) == (10, 10)


def test_relais_check_with_the_database_names_items_with_answers_it_changes(
    settings: Settings,
    content: Content,
    clock: FixedClock,
    api: OfflineBotAPI,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def one_answer() -> None:
        application = offline_app(settings, content, api, clock)
        async with running(application):
            user, _participant = await enrol(application, api, runtime_of(application).db, clock)
            await user.send("/me")
            await user.press("Commencer : Après le module en ligne")
            await user.press("4")

    asyncio.run(one_answer())
    for name in list(os.environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(folder))
    monkeypatch.setenv("RELAIS_DATABASE", str(settings.database))
    assert main(["check"]) == EXIT_OK
    assert f"database {settings.database}: no item with answers changes" in capsys.readouterr().out

    def reworded(tree: Any) -> None:
        tree["items"][0]["text"] = "Globalement, êtes-vous satisfait(e) ?"
        del tree["items"][4]  # 'more' has no answers: not listed
        tree["items"].append(
            {
                "id": "pace",
                "type": "scale",
                "text": "Le rythme ?",
                "labels": {"low": "lent", "high": "vif"},
            }
        )

    edit(folder, "satisfaction.yaml", reworded)
    assert main(["check"]) == EXIT_OK
    out = capsys.readouterr().out
    assert (
        "  satisfaction rate: text (fr): 1 answer(s) to the version loaded now (1 in "
        "questionnaires in progress) keep the wording and key they were given under"
    ) in out
    assert (
        "  satisfaction pace: added: asked to the 1 person(s) who have a questionnaire in progress,"
        " wherever they are in it"
    ) in out
    assert "more" not in out.split("database")[1]


def test_normalised_change_follows_marx_and_cummings() -> None:
    assert normalised_change(50, 75) == 0.5  # half of what was left to learn
    assert normalised_change(80, 60) == -0.25  # a quarter of what was known
    assert normalised_change(40, 40) == 0.0
    assert normalised_change(100, 100) is None  # left out: nothing to gain or lose
    assert normalised_change(0, 0) is None
    assert normalised_change(7, 8, 10) == pytest.approx(1 / 3)


async def test_me_shows_a_lower_post_test_kindly_never_as_a_negative_percentage(
    app: RelaisApp, api: OfflineBotAPI, db: Database, clock: FixedClock, content: Content
) -> None:
    kat = content.instrument("kat")
    assert kat is not None
    user, participant = await enrol(app, api, db, clock)

    def answers(right: int) -> dict[str, Any]:
        return {
            item.id: item.answer
            if n < right
            else next(o.id for o in item.options or [] if o.id != item.answer)
            for n, item in enumerate(kat.items)
        }

    await submitted_attempt(db, clock, content, participant.id, "kat", "pre", answers(8))
    await submitted_attempt(db, clock, content, participant.id, "kat", "post", answers(6))
    me = await user.send("/me")
    assert "Avant la formation : 8/10" in me.text
    assert "Après la formation : 6/10" in me.text
    assert "Un score plus bas qu'avant la formation" in me.text
    kat_part = me.text[me.text.index("Avant la formation : 8/10") :].split("Certificats")[0]
    assert "%" not in kat_part.replace("30 %", "").replace("60 %", "")
    assert "-" not in kat_part.split("Après la formation")[1].split("\n")[1]


def test_reveal_after_close_waits_for_the_cohort_and_answers_for_every_cohort(
    content: Content,
) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from bot.services.scores import answers_release, answers_released, results_visible
    from bot.storage.repo import Participant

    kat = content.instrument("kat")
    assert kat is not None
    closing = replace(
        content,
        instruments={
            **content.instruments,
            "kat": kat.model_copy(update={"reveal": "after-close"}),
        },
    )
    tanger = Participant(
        id=1,
        code="P-TEST01",
        external_id="A-1",
        full_name="X",
        email=None,
        gender=None,
        agency=None,
        region=None,
        cohort="tanger",
        language=None,
    )
    feb_19 = datetime(2027, 2, 19, 12, tzinfo=UTC)  # Tanger's post-test is open
    mar_5 = datetime(2027, 3, 5, 12, tzinfo=UTC)  # closed for Tanger, open for Marrakech
    assert results_visible(content, tanger, feb_19)  # after-post: scores at once
    assert not results_visible(closing, tanger, feb_19)
    assert results_visible(closing, tanger, mar_5)
    release = answers_release(content)
    assert release is not None
    assert release > mar_5  # Marrakech can still take it: the right answers wait
    for each in (content, closing):
        assert not answers_released(each, mar_5)
        assert answers_released(each, release)
