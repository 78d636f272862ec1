"""One final quiz: the calendar's certificate quiz is the KAT post-test, with one name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from bot.clock import FixedClock
from bot.content import Content
from bot.i18n import Translator
from bot.rules.questionnaire import window_for
from bot.sandbox.chat import SimulatedUser
from bot.storage import Database
from tests.conftest import add_participant, invite_for

NewUser = Callable[..., SimulatedUser]


def test_the_calendar_quiz_is_the_kat_post_test_with_one_name(content: Content) -> None:
    programme = content.programme
    kat = content.instrument("kat")
    assert kat is not None
    post = kat.stage("post")
    assert post is not None
    # No second quiz somewhere else (the e-campus link the calendar used to give).
    assert not [s for s in programme.all_sessions() if s.link and "quiz" in s.link]
    for cohort in sorted(programme.cohort_ids):
        quizzes = [s for s in programme.sessions_for(cohort) if s.module == "quiz-final"]
        assert len(quizzes) == 1, cohort
        window = window_for(content, kat, post, cohort)
        # The calendar's dates are the test's window, for each cohort.
        assert (window.opens, window.closes) == (quizzes[0].start_utc, quizzes[0].end_utc)
        for locale in ("fr", "en", "ar"):
            t = Translator(locale, programme.tz)
            name = post.title.get(locale)
            assert quizzes[0].title.get(locale) == name
            # The report's heading and what /me says is missing for a certificate.
            assert t.gettext("Final quiz") == name
            certificate = t.gettext("the final quiz (at least %(required)d %%)", required=30)
            assert name.lower() in certificate.lower()


async def test_me_announces_the_final_quiz_then_offers_it_in_the_chat(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    participant = await add_participant(db, clock, cohort="tanger")
    user = new_user()
    await user.send(f"/start {(await invite_for(db, clock, participant)).token}")
    clock.set(datetime(2027, 2, 10, 9, 0, tzinfo=UTC))
    before = await user.send("/me")
    assert "<b>Quiz final</b>\njeudi 18 février 2027 à 17:00" in before.text
    assert "Lieu : Dans cette conversation : le test de connaissances" in before.text
    assert "relais/quiz" not in before.text  # the old, separate e-campus quiz
    # Tanger's module 3 is over: the same quiz is now open here, with its button.
    clock.set(datetime(2027, 2, 19, 9, 0, tzinfo=UTC))
    after = await user.send("/me")
    assert "• Test d'acquisition des connaissances (Quiz final), jusqu'au" in after.text
    assert "Commencer : Quiz final" in (after.last.button_texts)
