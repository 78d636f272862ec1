"""Transcripts of the small things a participant notices on a phone: the welcome offers what
is open, Start/Continue buttons fit, the question count never jumps, /mydata shows names."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FixedClock
from bot.content import Content
from bot.content.loader import check_content
from bot.i18n import LOCALES, Translator
from bot.rules.questionnaire import counted_items
from bot.sandbox.chat import SimulatedUser
from bot.storage import Database, progress
from bot.storage import answers as store
from bot.storage.repo import Participant
from bot.views.common import BUTTON_TEXT_MAX, open_button
from tests.conftest import CONTENT_DIR, add_participant, invite_for

NewUser = Callable[..., SimulatedUser]
# 5 March 2027: module 3 is over in Marrakech; its final quiz and its residential
# satisfaction questionnaire are open.
MARCH_5 = datetime(2027, 3, 5, 9, 0, tzinfo=UTC)


async def _enrol(
    db: Database, clock: FixedClock, new_user: NewUser, cohort: str = "tanger"
) -> tuple[SimulatedUser, list[str], Participant]:
    participant = await add_participant(db, clock, cohort=cohort)
    invite = await invite_for(db, clock, participant)
    user = new_user("Khadija")
    turn = await user.send(f"/start {invite.token}")
    return user, [m.text for m in turn.sent], participant


async def test_the_welcome_offers_what_is_open_now_with_a_button(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    user, (welcome, offer), participant = await _enrol(db, clock, new_user)
    # 6 January: the test before the training is open; the welcome does not send to /me.
    assert welcome.startswith("Bienvenue, Khadija El Idrissi !")
    assert "juste en dessous : un appui pour commencer" in welcome
    assert "Envoyez /me pour voir" not in welcome
    assert "Envoyez /mydata pour voir ce qui est conservé" in welcome  # the privacy notice
    assert offer.startswith("<b>À compléter</b>")
    assert "Test d'acquisition des connaissances (Test avant la formation)" in offer
    # The needs analysis and the test before the training are both open on 6 January.
    assert user.chat[-1].button_texts == [
        "Commencer : Vos besoins",
        "Commencer : Test avant la formation",
    ]

    opened = await user.press("Commencer : Test avant la formation")
    # The offer became the questionnaire; the welcome and its privacy notice stay.
    assert opened.edited
    assert not opened.sent
    assert "Question 1/10" in opened.edited[0].text
    assert user.chat[0].text == welcome
    async with db.read() as conn:
        attempts = await store.attempts_of(conn, participant.id)
    assert [(a.instrument, a.stage) for a in attempts] == [("kat", "pre")]

    await user.press(user.chat[-1].buttons[0][0]["text"])
    again = await user.send("/start")
    assert "vous êtes déjà inscrit·e" in again.sent[0].text
    assert again.last.button_texts == [
        "Commencer : Vos besoins",
        "Continuer : Test avant la formation",
    ]


async def test_the_welcome_says_when_nothing_is_open_and_offers_no_button(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    clock.set(datetime(2027, 1, 2, 9, 0, tzinfo=UTC))  # before the first test opens
    user, texts, _ = await _enrol(db, clock, new_user)
    assert len(texts) == 1
    assert "Rien à remplir pour l'instant : je vous écrirai dès qu'un questionnaire" in texts[0]
    assert not any(m.buttons for m in user.chat)


async def test_start_buttons_name_the_stage_shortly_in_each_language(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    clock.set(MARCH_5)
    user, _, _ = await _enrol(db, clock, new_user, cohort="marrakech")
    me = await user.send("/me")
    labels = me.last.button_texts
    assert "Commencer : Avis sur le résidentiel" in labels
    assert "Commencer : Quiz final" in labels
    # The message names each questionnaire in full; the buttons stay short.
    assert "Votre avis sur la formation (Formation résidentielle (modules 2 et 3))" in me.text
    await user.send("/language")
    await user.press("العربية")
    arabic = (await user.send("/me")).last.button_texts
    assert "بدء: تقييم التكوين الحضوري" in arabic
    for label in labels + arabic:
        assert len(label) <= BUTTON_TEXT_MAX, label


def test_every_shipped_stage_fits_a_button_in_every_language(content: Content) -> None:
    for locale in LOCALES:
        t = Translator(locale, content.programme.tz)
        for instrument in content.instruments.values():
            for stage in instrument.stages:
                assert stage.short is not None, (instrument.kind, stage.id)
                for started in (False, True):
                    label = open_button(t, instrument, stage, started).text
                    assert len(label) <= BUTTON_TEXT_MAX, label
                    assert stage.short.get(locale) in label


def test_without_a_short_label_the_title_is_clipped_to_fit(content: Content) -> None:
    t = Translator("fr", content.programme.tz)
    instrument = content.instrument("satisfaction")
    assert instrument is not None
    stage = instrument.stage("residential")
    assert stage is not None
    button = open_button(t, instrument, stage.model_copy(update={"short": None}), started=True)
    assert button.text == "Continuer : Formation résidentielle…"
    assert len(button.text) <= BUTTON_TEXT_MAX


def test_a_short_label_over_24_characters_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    for name in CONTENT_DIR.iterdir():
        (folder / name.name).write_bytes(name.read_bytes())
    path = folder / "kat.yaml"
    text = path.read_text(encoding="utf-8")
    old = "    short:\n      fr: Quiz final\n"
    assert old in text
    path.write_text(
        text.replace(old, "    short:\n      fr: Quiz final de la formation\n"), encoding="utf-8"
    )
    problems = check_content(folder)
    assert [p.field for p in problems] == ["stages[1].short"]
    assert "26" in problems[0].message
    assert "24" in problems[0].message


def test_the_count_is_over_the_questions_no_answer_can_hide(content: Content) -> None:
    satisfaction = content.instrument("satisfaction")
    followup = content.instrument("followup")
    assert satisfaction is not None
    assert followup is not None
    online = satisfaction.stage("intro")
    onsite = satisfaction.stage("residential")
    assert online is not None
    assert onsite is not None
    # The online-only questions count after an online activity only.
    assert len(counted_items(satisfaction, online)) == len(satisfaction.items)
    assert len(counted_items(satisfaction, onsite)) == len(satisfaction.items) - 2
    # The follow-up's two questions shown after some answers are extras, not counted.
    revealed = {"example", "other-obst"}
    counted = counted_items(followup, followup.stages[0])
    assert {i.id for i in followup.items} - {i.id for i in counted} == revealed


async def test_mydata_shows_names_in_the_readers_language_never_ids(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    user, _, participant = await _enrol(db, clock, new_user, cohort="marrakech")
    await user.press("Commencer : Test avant la formation")
    for _ in range(2):
        await user.press(user.chat[-1].buttons[0][0]["text"])
    async with db.transaction() as conn:
        await progress.record_attendance(conn, participant.id, "intro-live", True, clock.now())
    mine = (await user.send("/mydata")).text
    assert "Cohorte : Marrakech" in mine
    # One session: no "1 sessions", and no noun for a count to agree with.
    assert "Séances suivies : 1 sur 1" in mine
    assert "Langue : français" in mine
    assert "Test d'acquisition des connaissances · Test avant la formation : 2 réponses" in mine
    for internal in ("marrakech", "kat pre", "Langue : fr"):
        assert not re.search(rf"(?<![\w-]){re.escape(internal)}(?![\w-])", mine), internal

    await user.send("/language")
    await user.press("English")
    english = (await user.send("/mydata")).text
    assert "Cohort: Marrakesh" in english
    assert "Language: English" in english
    assert "Sessions attended: 1 of 1" in english
    assert "Knowledge acquisition test · Pre-training test: 2 answers" in english

    await user.send("/language")
    await user.press("العربية")
    arabic = (await user.send("/mydata")).text
    assert "مراكش" in arabic
    assert "اللغة: العربية" in arabic
    assert "اختبار اكتساب المعارف · الاختبار القبلي" in arabic
