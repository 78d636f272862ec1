"""Findings of the evaluation review, each reproduced: figures that mean what they say."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.clock import FixedClock
from bot.content import Content
from bot.sandbox.chat import SimulatedUser
from bot.services.report import figures
from bot.storage import Database
from tests.conftest import add_participant, invite_for, staff_invite, submitted_attempt
from tests.test_disclosure import NOW, Person, make_people, report_of

NewUser = Callable[..., SimulatedUser]


def ratings(content: Content, value: int) -> dict[str, Any]:
    instrument = content.instruments["satisfaction"]
    return {i.id: value for i in instrument.items if i.type == "scale"}


def test_two_people_answering_three_activities_are_two_people(content: Content) -> None:
    # Before: one row per stage submitted, so 2 x 3 = "6 respondents" and their figures shown.
    people = [Person("tanger", "female"), Person("tanger", "male")]
    for person in people:
        for stage_id in ("intro", "module-1", "residential"):
            person.given[("satisfaction", stage_id)] = ratings(content, 4)
    found = asyncio.run(report_of(content, people))
    for stage in found.stages_of("satisfaction"):
        assert stage.respondents is None  # two people: hidden at every activity
        assert all(item.mean is None for item in stage.items)
    assert found.summary_of("satisfaction") is None  # nothing shown, nothing pooled
    assert all(not stage.open_answers for stage in found.stages_of("satisfaction"))


def test_each_activity_has_its_own_figures(content: Content) -> None:
    # Before: the introduction, module 1, the residential phase and the workshop were one table.
    people = [Person("tanger", "female") for _ in range(6)]
    for person in people:
        person.given[("satisfaction", "intro")] = ratings(content, 2)
        person.given[("satisfaction", "workshop")] = ratings(content, 5)
    found = asyncio.run(report_of(content, people))
    by_stage = {s.stage.id: s for s in found.stages_of("satisfaction")}
    assert by_stage["intro"].items[0].mean == 2.0
    assert by_stage["workshop"].items[0].mean == 5.0
    assert by_stage["module-1"].respondents is None
    summary = found.summary_of("satisfaction")
    assert summary is not None
    assert summary.people == 6  # each person once, over both activities
    row = summary.rows[0]
    assert row.by_stage == {"intro": 2.0, "workshop": 5.0}
    assert row.mean == 3.5


def test_typed_answers_of_two_questionnaires_stay_apart(content: Content) -> None:
    # Before: answers were keyed by item id, and both questionnaires have "comments".
    people = [Person("tanger", "female") for _ in range(5)]
    for number, person in enumerate(people):
        person.given[("satisfaction", "intro")] = {"comments": f"Satisfaction {number}"}
        person.given[("followup", "six-months")] = {"comments": f"Suivi {number}"}
    found = asyncio.run(report_of(content, people))
    intro = next(s for s in found.stages_of("satisfaction") if s.stage.id == "intro")
    followup = found.stages_of("followup")[0]
    comments = {o.item.id: o.answers for o in intro.open_answers}
    assert comments["comments"] == [f"Satisfaction {n}" for n in range(5)]
    assert {o.item.id: o.answers for o in followup.open_answers}["comments"] == [
        f"Suivi {n}" for n in range(5)
    ]


def test_one_lower_post_test_does_not_drag_the_class_below_zero(content: Content) -> None:
    # Before: (post - pre) / (max - pre) per person: 9 -> 3 is -600 %, and the mean went negative.
    kat = content.instruments["kat"]
    right = {i.id: i.answer for i in kat.items}
    wrong = {i.id: next(o.id for o in i.options or [] if o.id != i.answer) for i in kat.items}

    def answers(score: int) -> dict[str, Any]:
        ids = [i.id for i in kat.items]
        return {i: right[i] if n < score else wrong[i] for n, i in enumerate(ids)}

    people = [Person("tanger", "female") for _ in range(6)]
    for person in people[:5]:
        person.given[("kat", "pre")] = answers(2)
        person.given[("kat", "post")] = answers(3)
    people[5].given[("kat", "pre")] = answers(9)
    people[5].given[("kat", "post")] = answers(3)
    found = asyncio.run(report_of(content, people))
    quiz = found.quiz_of("kat")
    assert quiz is not None
    assert quiz.people == 6
    # c: +1/8 for five people, -6/9 for one: mean 0.993 / 6 > -1; <g> from the class means.
    assert quiz.change is not None
    assert abs(quiz.change - (5 * (1 / 8) - 6 / 9) / 6) < 1e-9
    pre, post = (5 * 2 + 9) / 6, 3.0
    assert quiz.class_gain is not None
    assert abs(quiz.class_gain - (post - pre) / (10 - pre)) < 1e-9
    assert quiz.improved is None  # one person did not improve: hidden, both sides count


async def test_rates_are_over_the_roster_and_wait_for_the_stage_to_open(
    db: Database, clock: FixedClock, content: Content
) -> None:
    # Before: a roster of 100 with one enrolled showed "Invited 1".
    for number in range(12):
        await add_participant(db, clock, external_id=f"R-{number:03d}", cohort="tanger")
    found = await figures(db, content, clock.now())
    pre = next(r for r in found.rates if (r.instrument, r.stage) == ("kat", "pre"))
    post = next(r for r in found.rates if (r.instrument, r.stage) == ("kat", "post"))
    if pre.total is not None:
        assert pre.total.roster == 12
        assert pre.total.enrolled == 0
    assert post.total is None  # the post-test has not opened yet
    assert "tanger" in post.not_open
    later = await figures(db, content, NOW)
    post = next(r for r in later.rates if (r.instrument, r.stage) == ("kat", "post"))
    assert post.total is not None
    assert post.total.roster == 12


async def test_pending_says_not_open_and_nobody_enrolled(
    db: Database, clock: FixedClock, new_user: NewUser, content: Content
) -> None:
    # Before: "everyone has answered" for a stage not open yet, or with nobody enrolled.
    await add_participant(db, clock, external_id="P-1", full_name="Nadia Alami")
    coordinator = new_user("Salma")
    from bot.storage.repo import Role

    await coordinator.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    turn = await coordinator.send("/pending kat")
    assert "Tout le monde a répondu" not in turn.text
    assert "Pas encore ouvert." in turn.text  # the post-test
    assert "Personne ne s'est encore inscrit." in turn.text or "pas encore inscrite" in turn.text
    participant = await add_participant(db, clock, external_id="P-2", full_name="Youssef Berrada")
    await new_user("Youssef").send(f"/start {(await invite_for(db, clock, participant)).token}")
    turn = await coordinator.send("/pending kat")
    assert "Youssef Berrada" in turn.text
    assert "1 personne de la liste ne s'est pas encore inscrite." in turn.text
    await submitted_attempt(db, clock, content, participant.id, "kat", "pre")
    turn = await coordinator.send("/pending kat")
    assert "Toutes les personnes inscrites ont répondu." in turn.text


def test_a_seeded_class_has_real_figures(content: Content) -> None:
    people = make_people(content, seed=3, size=60, answer_rate=0.9)
    found = asyncio.run(report_of(content, people))
    quiz = found.quiz_of("kat")
    assert quiz is not None
    assert quiz.pre_mean is not None
    assert any(s.mean is not None for s in found.stages_of("satisfaction"))


async def test_a_question_asked_after_some_answers_does_not_count_a_hidden_answer(
    db: Database, clock: FixedClock, content: Content
) -> None:
    # k = 3. Two people have no experience yet: too few to show, so "Pas encore" is pooled
    # with another answer. The caseload question is asked of everyone else; its count of
    # respondents (8 - 2) beside the pooled band would give the hidden 2 back.
    answers = ["none", "none", "lt1", "y1-3", "y1-3", "y1-3", "gt3", "gt3"]
    for n, experience in enumerate(answers):
        person = await add_participant(db, clock, external_id=f"N-{n}")
        given: dict[str, Any] = {"experience": experience, "trained": "yes"}
        if experience != "none":
            given["caseload"] = "lt10"
        await submitted_attempt(db, clock, content, person.id, "needs", "before", given)
    found = await figures(db, content, clock.now(), k=3, open_answers=False)
    (stage,) = found.stages_of("needs")
    by_id = {f.item.id: f for f in stage.items}
    asked = by_id["experience"]
    assert asked.bands is not None
    pooled = next(b for b in asked.bands if "none" in b.categories)
    assert len(pooled.categories) > 1  # "none" is not shown on its own
    assert by_id["caseload"].respondents is None
    # An unconditional question beside it is shown as usual.
    assert by_id["trained"].respondents == 8


async def test_typed_answers_after_a_hidden_tick_are_not_listed(
    db: Database, clock: FixedClock, content: Content
) -> None:
    # k = 3. Six of eight tick "other" obstacle: the two who did not are too few, so the
    # tick count is hidden; six typed "other obstacles" listed beside it would say it.
    for n in range(8):
        person = await add_participant(db, clock, external_id=f"F-{n}")
        given: dict[str, Any] = {"frequency": "never"}
        if n < 6:
            given |= {"obstacles": ["other"], "other-obst": f"Obstacle {n}"}
        else:
            given |= {"obstacles": ["time"]}
        await submitted_attempt(db, clock, content, person.id, "followup", "six-months", given)
    found = await figures(db, content, clock.now(), k=3, open_answers=True)
    (stage,) = found.stages_of("followup")
    ticks = next(f for f in stage.items if f.item.id == "obstacles").ticked
    assert ticks is not None
    assert ticks["other"] is None
    typed = next(o for o in stage.open_answers if o.item.id == "other-obst")
    assert typed.answers is None
