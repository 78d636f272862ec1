"""Transcripts of questionnaires: every item type, back and forth, typed answers, refusals, lock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest

from bot.app import RelaisApp, running, runtime_of
from bot.callbacks import Action, open_data, tap_data
from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.sandbox.chat import SimulatedUser, direct_delivery
from bot.sandbox.emulator import SentMessage
from bot.sandbox.offline import OfflineBotAPI
from bot.scheduling import replan
from bot.services.questionnaire import ReopenError, reopen_stage
from bot.settings import Settings
from bot.storage import Database
from bot.storage import answers as store
from bot.storage.answers import Attempt
from bot.storage.outbox import Row, rows_of
from bot.storage.repo import Participant
from tests.conftest import add_participant, invite_for, offline_app

# Their own small content (a programme, a three-question KAT, a survey with every item type):
# these tests are about how a questionnaire behaves, not about the shipped programme.
FIXTURE_CONTENT = Path(__file__).resolve().parent / "fixtures" / "content"
# The survey, for the tests that build content folders of their own around it.
SURVEY = (FIXTURE_CONTENT / "satisfaction.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def survey_dir() -> Path:
    return FIXTURE_CONTENT


@pytest.fixture
def content(survey_dir: Path) -> Content:
    return load_content(survey_dir)


@pytest.fixture
def settings(tmp_path: Path, survey_dir: Path) -> Settings:
    return Settings(database=tmp_path / "relais.db", content_dir=survey_dir)


Enrol = Callable[..., Any]


@pytest.fixture
def enrol(
    app: RelaisApp, api: OfflineBotAPI, db: Database, clock: FixedClock
) -> Callable[..., Any]:
    async def make(
        user_id: int = 610_001, external_id: str = "A-001"
    ) -> tuple[SimulatedUser, Participant]:
        participant = await add_participant(db, clock, external_id=external_id)
        invite = await invite_for(db, clock, participant)
        user = SimulatedUser(api, direct_delivery(app, api), user_id, "Khadija")
        await user.send(f"/start {invite.token}")
        return user, participant

    return make


async def attempt_of(db: Database, participant: Participant, stage: str = "online") -> Attempt:
    async with db.read() as conn:
        found = await store.latest_attempt(conn, participant.id, "satisfaction", stage)
    assert found is not None
    return found


async def answers(db: Database, attempt: Attempt) -> dict[str, Any]:
    async with db.read() as conn:
        return await store.answers_of(conn, attempt.id)


async def answer_rows(db: Database) -> int:
    async with db.read() as conn, conn.execute("SELECT count(*) FROM answers") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


def all_callback_data(user: SimulatedUser) -> list[str]:
    return [b["callback_data"] for m in user.chat for row in m.buttons for b in row]


async def start_survey(user: SimulatedUser) -> SentMessage:
    me = await user.send("/me")
    assert "<b>À compléter</b>" in me.text
    await user.press("Commencer : Après le module en ligne")
    return user.chat[-1]


async def test_every_item_type_one_tap_at_a_time(enrol: Enrol, db: Database) -> None:
    user, participant = await enrol()
    screen = await start_survey(user)
    # Online stage: 'tools' is shown; 'why' is hidden until a low rating.
    assert "Question 1/4" in screen.text
    assert "1 = Pas du tout · 5 = Tout à fait" in screen.text
    assert screen.button_texts == ["1", "2", "3", "4", "5"]

    turn = await user.press("2")
    assert turn.edited
    # The low rating revealed 'why': an extra question, so the count stays at 4.
    assert "Question 2/4" in turn.last.text
    assert turn.last.message_id == screen.message_id  # edited in place, no new message
    attempt = await attempt_of(db, participant)
    assert await answers(db, attempt) == {"rate": 2}

    turn = await user.press("Oui")
    assert "Quels thèmes" in turn.last.text
    assert turn.last.button_texts == [
        "☐ Recrutement",
        "☐ Compétences",
        "☐ Intermédiation",
        "Valider",
        "◀ Précédent",
    ]
    await user.press("☐ Recrutement")
    turn = await user.press("☐ Intermédiation")
    assert turn.last.button_texts[:3] == ["☑ Recrutement", "☐ Compétences", "☑ Intermédiation"]
    refused = await user.press("☐ Compétences")  # a third choice is over the limit
    assert refused.answers
    assert not refused.edited
    turn = await user.press("Valider")
    assert "Qu'est-ce qui vous a déçu" in turn.last.text
    assert "Question complémentaire" in turn.last.text
    attempt = await attempt_of(db, participant)
    assert (await answers(db, attempt))["topics"] == ["a", "c"]

    too_long = await user.send("x" * 60)
    assert "trop longue : 60 caractères pour 50 au plus" in too_long.text
    assert "why" not in await answers(db, await attempt_of(db, participant))
    turn = await user.send("Le rythme")
    assert "Autre chose" in turn.last.text
    assert "Question 4/4" in turn.last.text
    assert turn.deleted  # the old questionnaire message made way for the new one
    # /me's message became the questionnaire, then made way: only the new one and the
    # welcome's offer of what is open have buttons.
    offer, current = [m for m in user.chat if m.buttons]
    assert offer.text.startswith("<b>À compléter</b>")
    assert current is turn.last

    turn = await user.press("Passer")
    summary = turn.last.text
    assert "Vérifiez vos réponses" in summary
    for expected in ("2/5", "Oui", "Recrutement, Intermédiation", "Le rythme", "(passée)"):
        assert expected in summary
    # The summary numbers the questions as they were numbered; the extra one has a bullet.
    assert "3. Quels thèmes" in summary
    assert "• Qu'est-ce qui vous a déçu" in summary
    assert "4. Autre chose" in summary
    turn = await user.press("Envoyer")
    assert turn.last.text == "Merci ! Vos réponses ont été envoyées."
    assert turn.last.buttons == []
    attempt = await attempt_of(db, participant)
    assert attempt.submitted
    assert await answers(db, attempt) == {
        "rate": 2,
        "tools": "yes",
        "topics": ["a", "c"],
        "why": "Le rythme",
        "more": None,
    }
    assert all(len(d.encode()) <= 64 for d in all_callback_data(user))


async def test_previous_changes_an_answer_and_drops_what_it_hides(
    enrol: Enrol, db: Database
) -> None:
    user, participant = await enrol()
    await start_survey(user)
    await user.press("1")
    await user.press("Non")
    await user.press("☐ Compétences")
    await user.press("Valider")
    await user.send("Trop court")
    # Back to the first question, through the typed one (kept) and the others.
    for _ in range(4):
        await user.press("◀ Précédent")
    assert "Question 1/4" in user.chat[-1].text
    assert "✓ 1" in user.chat[-1].button_texts
    turn = await user.press("5")
    assert "Question 2/4" in turn.last.text  # 'why' hidden again: the count did not move
    await user.press("✓ Non")
    await user.press("Valider")
    await user.press("Passer")
    summary = user.chat[-1].text
    assert "Trop court" not in summary
    await user.press("Envoyer")
    final = await answers(db, await attempt_of(db, participant))
    assert "why" not in final
    assert final["rate"] == 5


async def test_double_taps_stale_and_forged_buttons_write_nothing(
    enrol: Enrol, db: Database
) -> None:
    user, participant = await enrol()
    screen = await start_survey(user)
    first = next(b["callback_data"] for b in screen.buttons[0] if b["text"] == "4")
    await user.press("4")
    rows = await answer_rows(db)
    before = await attempt_of(db, participant)

    double = await user.press_data(first, screen)  # the same tap again, as on a slow network
    assert double.answers[0]["text"] == "Ce bouton n'est plus valide."
    attempt_id = before.id
    for forged in (
        tap_data(attempt_id, before.revision, Action.ANSWER, "9"),  # not an answer of this item
        tap_data(attempt_id + 1, before.revision, Action.ANSWER, "yes"),  # not her attempt
        tap_data(attempt_id, before.revision, Action.SEND),  # submit before the end
        "q:1:1:" + "a" * 80,  # over-long garbage
        "qo:kat:nope",
    ):
        turn = await user.press_data(forged, screen)
        assert turn.answers, forged
        assert not turn.sent
        assert not turn.edited
    assert await answer_rows(db) == rows
    after = await attempt_of(db, participant)
    assert (after.position, after.revision) == (before.position, before.revision)

    # Another participant cannot tap in her questionnaire.
    other, _ = await enrol(610_002, "A-002")
    turn = await other.press_data(
        tap_data(attempt_id, before.revision, Action.ANSWER, "yes"), screen
    )
    assert turn.answers[0]["text"] == "Ce bouton n'est plus valide."
    assert await answer_rows(db) == rows


async def test_answers_are_locked_after_submission(enrol: Enrol, db: Database) -> None:
    user, _participant = await enrol()
    screen = await start_survey(user)
    await user.press("5")
    await user.press("Oui")
    await user.press("☐ Compétences")
    await user.press("Valider")
    await user.press("Passer")
    seen = all_callback_data(user)  # the summary's Envoyer and Précédent among them
    await user.press("Envoyer")
    rows = await answer_rows(db)
    for data in seen:
        turn = await user.press_data(data, screen)
        assert turn.answers
    reopen = await user.press_data(open_data("satisfaction", "online"))
    assert "déjà été envoyées" in reopen.answers[0]["text"]
    assert await answer_rows(db) == rows
    me = await user.send("/me")
    assert "Après le module en ligne" not in me.text
    assert "Après la formation résidentielle" in me.text  # the other stage is still open


async def test_closed_window_refuses_start_and_taps(
    enrol: Enrol, db: Database, clock: FixedClock
) -> None:
    user, _participant = await enrol()
    await start_survey(user)
    await user.press("3")
    rows = await answer_rows(db)
    clock.set(clock.now().replace(year=2027, month=2, day=2))
    turn = await user.press("Oui")
    assert "fermé depuis le" in turn.answers[0]["text"]
    assert await answer_rows(db) == rows
    start = await user.press_data(open_data("satisfaction", "onsite"))
    assert "fermé depuis le" in start.answers[0]["text"]
    me = await user.send("/me")
    assert "Questionnaire de test" not in me.text


async def test_resume_after_restart_from_continue_in_me(
    settings: Settings,
    content: Content,
    clock: FixedClock,
    api: OfflineBotAPI,
    tmp_path: Path,
) -> None:
    first = offline_app(settings, content, api, clock)
    async with running(first):
        db = runtime_of(first).db
        participant = await add_participant(db, clock)
        invite = await invite_for(db, clock, participant)
        user = SimulatedUser(api, direct_delivery(first, api), 620_001, "Khadija")
        await user.send(f"/start {invite.token}")
        old = await start_survey(user)
        await user.press("4")
        await user.press("Non")
        old = user.chat[-1]
    clock.advance(timedelta(days=3))

    second = offline_app(settings, content, api, clock)
    async with running(second):
        user = SimulatedUser(api, direct_delivery(second, api), 620_001, "Khadija")
        me = await user.send("/me")
        assert "Continuer : Après le module en ligne" in me.last.button_texts
        await user.press("Continuer : Après le module en ligne")
        resumed = user.chat[-1]
        assert "Quels thèmes" in resumed.text
        assert "Question 3/4" in resumed.text
        stale = await user.press_data(old.buttons[0][0]["callback_data"], old)
        assert stale.answers[0]["text"] == "Ce bouton n'est plus valide."
        db = runtime_of(second).db
        assert await answers(db, await attempt_of(db, participant)) == {"rate": 4, "tools": "no"}


async def answer_kat(user: SimulatedUser, kat_answers: dict[str, str]) -> None:
    """Answer each KAT question with the given option id, wherever the shuffle put it."""
    kat = None
    total = len(kat_answers)
    for _ in range(total):
        screen = user.chat[-1]
        item_id = next(i for i in kat_answers if f"{i[1:].lstrip('0')}/{total}" in screen.text)
        data = next(
            b["callback_data"]
            for row in screen.buttons
            for b in row
            if b["callback_data"].endswith(f":a:{kat_answers[item_id]}")
        )
        kat = await user.press_data(data, screen)
    assert kat is not None
    assert "Vérifiez vos réponses" in user.chat[-1].text


async def test_kat_right_answers_wait_until_no_cohort_can_still_take_the_test(
    enrol: Enrol, db: Database, clock: FixedClock, content: Content, app: RelaisApp
) -> None:
    kat = content.instrument("kat")
    assert kat is not None
    right = {item.id: item.answer or "" for item in kat.items}
    wrong = {
        item.id: next(o.id for o in item.options or [] if o.id != item.answer) for item in kat.items
    }
    user, participant = await enrol()
    me = await user.send("/me")
    await user.press("Commencer : Test avant la formation")
    first = user.chat[-1]
    assert "Trois questions" in first.text  # the intro, on the first screen only
    assert "Question 1/3" in first.text
    # Options are shuffled per attempt but the same when shown again.
    letters_before = first.text
    await user.press_data(open_data("kat", "pre"))
    assert user.chat[-1].text == letters_before
    pre_answers = {**right, **{k: wrong[k] for k in list(wrong)[:2]}}  # 1 right of 3
    await answer_kat(user, pre_answers)
    submitted = await user.press("Envoyer")
    everything = "\n".join(e.text + (e.message.text if e.message else "") for e in user.events)
    assert submitted.last.text == "Merci ! Vos réponses ont été envoyées."
    assert len(submitted.sent) == 0
    for secret in ("Bonne réponse", "✅", "❌", "Avant la formation"):
        assert secret not in everything
    for item in kat.items:
        assert item.explanation is not None
        assert escape(item.explanation.get("fr"), quote=False) not in everything

    # The post-test opens once the cohort's module 3 is over (Tanger: 18 February).
    clock.set(clock.now().replace(month=2, day=19))
    me = await user.send("/me")
    assert "Quiz final" in me.text
    await user.press("Commencer : Quiz final")
    await answer_kat(user, right)
    done = await user.press("Envoyer")
    results = done.sent[0].text
    assert "Avant la formation : 1/3" in results
    assert "Après la formation : 3/3" in results
    assert "Progression : +2 points, soit 100 % de ce qui restait à apprendre" in results
    # Marrakech can still take the test (until 18 March): no right answer leaks.
    assert "18 mars 2027" in results
    assert "✅" not in results
    for item in kat.items:
        assert item.explanation is not None
        assert escape(item.explanation.get("fr"), quote=False) not in results
    me = await user.send("/me")
    assert "Après la formation : 3/3" in me.text  # scores in /me from now on
    assert "18 mars 2027" in me.text  # and when the right answers come
    assert "Voir les bonnes réponses" not in me.last.button_texts
    early = await user.press_data("qr:kat")
    assert early.answers[0]["text"] == "Ce bouton n'est plus valide."
    assert not early.sent

    # Planned at each due time: nothing before the last close, then her card, once.
    await replan(app)
    assert not await outbox_rows(db, "kat-answers")
    clock.set(clock.now().replace(month=3, day=19))  # every cohort's post-test has closed
    await replan(app)
    await replan(app)
    cards = await outbox_rows(db, "kat-answers")
    keys = [r.key for r in cards]
    assert keys == [f"kat-answers:{participant.id}:{n}" for n in range(1, len(keys) + 1)]
    pushed = "\n".join(r.message.text for r in cards)
    assert all(len(r.message.text) <= 4096 for r in cards)
    assert pushed.count("✅") == len(kat.items)
    me = await user.send("/me")
    assert "18 mars 2027" not in me.text
    turn = await user.press("Voir les bonnes réponses")
    results = "\n".join(m.text for m in turn.sent)
    assert results.count("✅") == len(kat.items)
    for item in kat.items:
        assert item.explanation is not None
        assert escape(item.explanation.get("fr"), quote=False) in results


async def outbox_rows(db: Database, source: str) -> list[Row]:
    async with db.read() as conn:
        return await rows_of(conn, source)


async def test_a_coordinator_reopens_a_submitted_stage(
    enrol: Enrol, db: Database, clock: FixedClock, content: Content
) -> None:
    user, participant = await enrol()
    await start_survey(user)
    await user.press("5")
    await user.press("Oui")
    await user.press("☐ Compétences")
    await user.press("Valider")
    await user.press("Passer")
    await user.press("Envoyer")
    with pytest.raises(ReopenError, match="no participant 'P-NOBODY'"):
        await reopen_stage(
            db, content, "P-NOBODY", "satisfaction", "online", actor="t", now=clock.now()
        )
    with pytest.raises(ReopenError, match="no submitted satisfaction onsite"):
        await reopen_stage(
            db, content, participant.code, "satisfaction", "onsite", actor="t", now=clock.now()
        )
    reopened = await reopen_stage(
        db, content, participant.code, "satisfaction", "online", actor="t", now=clock.now()
    )
    assert reopened.number == 2
    me = await user.send("/me")
    assert "Commencer : Après le module en ligne" in me.last.button_texts
    await user.press("Commencer : Après le module en ligne")
    assert "Question 1/4" in user.chat[-1].text
    async with db.read() as conn:
        attempts = await store.attempts_of(conn, reopened.participant_id)
    [first] = [a for a in attempts if a.id == reopened.id - 1]
    assert first.submitted  # the first answers are kept


def test_a_condition_on_a_hidden_item_hides_its_dependants_too() -> None:
    from bot.content.instruments import Instrument
    from bot.rules.questionnaire import visible_items

    chained = Instrument.model_validate(
        {
            "id": "satisfaction",
            "kind": "survey",
            "title": "Test",
            "stages": [
                {
                    "id": "online",
                    "title": "x",
                    "opens": "2027-01-01T00:00",
                    "closes": "2027-02-01T00:00",
                }
            ],
            "items": [
                {
                    "id": "rate",
                    "type": "scale",
                    "text": "Note ?",
                    "labels": {"low": "bas", "high": "haut"},
                },
                {
                    "id": "reason",
                    "type": "single",
                    "text": "Pourquoi ?",
                    "options": [{"id": "x", "text": "X"}, {"id": "y", "text": "Y"}],
                    "show_if": {"item": "rate", "in": [1]},
                },
                {
                    "id": "detail",
                    "type": "scale",
                    "text": "Détail ?",
                    "labels": {"low": "bas", "high": "haut"},
                    "show_if": {"item": "reason", "in": ["x"]},
                },
            ],
        }
    )
    stage = chained.stages[0]
    assert [i.id for i in visible_items(chained, stage, {"rate": 1, "reason": "x"})] == [
        "rate",
        "reason",
        "detail",
    ]
    # The rating changed: 'reason' is hidden, so its old answer no longer shows 'detail'.
    assert [i.id for i in visible_items(chained, stage, {"rate": 5, "reason": "x"})] == ["rate"]


async def test_telegram_faults_during_a_questionnaire_lose_nothing(
    enrol: Enrol, db: Database, api: OfflineBotAPI
) -> None:
    user, participant = await enrol()
    await start_survey(user)
    api.inject("error", "editMessageText", status=502)
    failed = await user.press("4")
    # The answer was committed before Telegram failed; the person is told, kindly.
    assert "Désolé, une erreur s'est produite" in failed.text
    assert await answers(db, await attempt_of(db, participant)) == {"rate": 4}
    api.inject("slow", "sendMessage", delay=0.05)
    api.inject("drop", "answerCallbackQuery")
    await user.press_data(open_data("satisfaction", "online"))
    resumed = user.chat[-1]
    assert "Les outils en ligne" in resumed.text  # the next question, nothing lost
    await user.press("Oui")
    await user.press("☐ Compétences")
    await user.press("Valider")
    await user.press("Passer")
    done = await user.press("Envoyer")
    assert done.last.text == "Merci ! Vos réponses ont été envoyées."
    final = await answers(db, await attempt_of(db, participant))
    assert final == {"rate": 4, "tools": "yes", "topics": ["b"], "more": None}
