"""A whole class, simulated: the roster enrols and answers every questionnaire, seeded.

``relais demo`` narrates one participant through the chat; this module gives the
other people of the roster a plausible year so that the evaluation report has real
figures and real suppression. Every step goes through the services the handlers
call, at a moment inside the stage's window for the person's cohort: ``redeem``
(the invitation link), ``open_stage``, ``tap`` with the data of a button the
screen really shows, ``type_answer`` for typed answers, the attendance import and
``submit_plan`` for a document stored in the emulator. Nothing is written to the
database directly, so what the report counts is what real taps would have stored.

The same seed gives the same class: most answer, some never enrol, some enrol late
or drop out on the way, a few leave a questionnaire half done, scores rise on
average and two people score lower after the training than before.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.callbacks import Action
from bot.clock import FixedClock
from bot.content import Content
from bot.content.instruments import Instrument, Item, Stage
from bot.i18n import FALLBACK_LOCALE, LOCALES, Translator
from bot.rules.questionnaire import current_item, window_for
from bot.sandbox.emulator import BotAPIEmulator, Upload
from bot.services.attendance import import_attendance
from bot.services.certificates import sessions_required
from bot.services.invites import IssuedInvite, RedeemStatus, redeem
from bot.services.plans import PlanStatus, submit_plan
from bot.services.questionnaire import (
    PARTICIPANTS,
    SUPERVISORS,
    Book,
    Outcome,
    Shown,
    Submitted,
    open_for_supervisee,
    open_stage,
    tap,
    type_answer,
)
from bot.services.scores import kat_result
from bot.storage import Database, repo
from bot.storage import answers as store
from bot.storage import supervisors as sstore
from bot.storage.repo import Participant
from bot.storage.supervisors import Supervisor
from bot.views.screen import Screen

DEFAULT_SEED = 2027
# Telegram user ids of the simulated class, clear of the sandbox's own people (700 000...).
USER_ID_BASE = 5_000_000
# And of the simulated line managers, clear of the participants' (one per participant id).
SUPERVISOR_ID_BASE = 6_000_000
# The smallest valid PDF a phone could send: the action plan's stand-in.
PLAN_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)

# Typed answers, mostly in French as most counsellors write, a few in Arabic: a beginning
# and an ending drawn apart, so that open answers vary as real ones do.
TEXTS: dict[str, tuple[list[str], list[str]]] = {
    "most-useful": (
        [
            "Les études de cas",
            "Les échanges avec les collègues des autres agences",
            "La grille de vérification des offres",
            "Les explications sur les conventions de l'OIT",
            "Les exercices pratiques en groupe",
            "Le témoignage des travailleurs revenus de l'étranger",
            "Les fiches pratiques distribuées",
        ],
        [
            ".",
            " sur le recrutement équitable.",
            ", très concrets pour mon travail.",
            ", surtout pour les offres vers l'Europe.",
            " : je les réutilise déjà.",
        ],
    ),
    "suggestions": (
        [
            "Plus de temps pour les travaux de groupe",
            "Envoyer les supports avant la session",
            "Une meilleure connexion pour les sessions Zoom",
            "Ajouter des cas concrets sur les pays du Golfe",
            "Des sessions plus courtes",
            "Prévoir une traduction en arabe des supports",
        ],
        [".", ", si possible.", " la prochaine fois.", " : ce serait plus efficace."],
    ),
    "comments": (
        [
            "Formation très utile pour notre travail quotidien",
            "Merci à l'équipe pour l'organisation",
            "Bonne ambiance et formateurs disponibles",
            "Le rythme était un peu rapide",
        ],
        [".", " !", ", merci.", " dans l'ensemble."],
    ),
    "example": (
        [
            "J'ai vérifié les frais facturés par une agence",
            "J'ai expliqué leurs droits à un groupe de candidats",
            "J'ai utilisé la liste de contrôle avec un employeur étranger",
            "J'ai orienté une candidate vers les services compétents",
            "J'ai refusé de publier une offre qui demandait des frais au candidat",
        ],
        [
            " avant de publier son offre.",
            " le mois dernier.",
            " pour un recrutement vers l'Espagne.",
            " lors d'une session d'information.",
            ".",
        ],
    ),
    "changes": (
        [
            "Je vérifie systématiquement les conditions de recrutement",
            "J'informe mieux les candidats sur les frais interdits",
            "Je travaille davantage avec la mobilité internationale",
            "Je documente chaque offre à l'étranger",
            "أتحقق من شروط التوظيف",
        ],
        [" avant de publier.", " selon la grille vue en formation.", ".", " avec mes collègues."],
    ),
    "other-obst": (
        ["Les offres arrivent par des intermédiaires", "Les employeurs étrangers répondent peu"],
        [" difficiles à vérifier.", "."],
    ),
}
DEFAULT_TEXTS = (["Rien à ajouter", "Très bonne formation"], ["."])
# How an activity is liked, on top of a person's own leniency (the residential phase best).
ACTIVITY_MOOD = {"intro": 0.0, "module-1": -0.2, "residential": 0.35, "workshop": 0.2}
FREQUENCY_WEIGHTS = {"never": 2, "rarely": 6, "monthly": 10, "weekly": 12, "daily": 5}


@dataclass
class Person:
    """One simulated participant's disposition, drawn from the seed."""

    invite: IssuedInvite
    user_id: int
    enrols: bool
    enrol_at: datetime
    # Stages after this many (in time order) are not answered: a drop-out.
    keeps_up_for: int
    pre_ability: float
    post_ability: float
    leniency: float
    # How far each question is from this person's grasp (0..1), and their hunch when they
    # do not know, the same before and after: what they knew before they still know after,
    # unless they are one of the "lower" two.
    latent: dict[str, float] = field(default_factory=dict)


@dataclass
class ClassReport:
    """What the simulated class did, for the demo's transcript."""

    roster: int = 0
    narrated: int = 0
    enrolled: int = 0
    never_enrolled: int = 0
    dropped_out: int = 0
    submitted: Counter[str] = field(default_factory=Counter)
    unfinished: int = 0
    scored_lower: int = 0
    attendance_rows: int = 0
    plans: int = 0
    # The line managers: enrolled, and the questionnaires they sent (one per supervisee).
    supervisors_enrolled: int = 0
    supervisor_submitted: int = 0

    def stage_counts(self, content: Content) -> str:
        """``KAT pre 84, …``: submissions per stage, in the content's order."""
        parts = []
        for instrument in content.instruments.values():
            for stage in instrument.stages:
                count = self.submitted[f"{instrument.id}:{stage.id}"]
                parts.append(f"{instrument.id} {stage.id} {count}")
        return ", ".join(parts)


class SimulationError(RuntimeError):
    """The simulated class met a screen it could not answer: the flow has changed."""


def _people(invites: Sequence[IssuedInvite], rng: random.Random, start: datetime) -> list[Person]:
    people = []
    for invite in invites:
        participant = invite.participant
        assert participant is not None
        late = rng.random() < 0.06
        # Most open their link in the week after it is sent; a few weeks later.
        delay = timedelta(days=rng.uniform(14, 28) if late else rng.uniform(0.05, 6))
        pre = rng.uniform(0.2, 0.65)
        people.append(
            Person(
                invite=invite,
                user_id=USER_ID_BASE + participant.id,
                enrols=rng.random() >= 0.07,
                enrol_at=start + delay,
                keeps_up_for=rng.randint(1, 6) if rng.random() < 0.12 else 99,
                pre_ability=pre,
                post_ability=pre + (1 - pre) * rng.uniform(0.3, 0.8),
                leniency=min(4.8, max(2.6, rng.gauss(4.0, 0.45))),
            )
        )
    # One or two people do worse after the training (a bad day, a guess that failed).
    steady = [p for p in people if p.enrols and p.keeps_up_for == 99]
    for person in rng.sample(steady, min(2, len(steady))):
        person.pre_ability = rng.uniform(0.6, 0.8)
        person.post_ability = person.pre_ability - rng.uniform(0.3, 0.4)
    return people


async def simulate_class(
    db: Database,
    api: BotAPIEmulator,
    content: Content,
    invites: Sequence[IssuedInvite],
    *,
    start: datetime,
    until: datetime,
    out: Path,
    seed: int = DEFAULT_SEED,
    supervisors: Sequence[IssuedInvite] = (),
) -> ClassReport:
    """Enrol the invited people and answer, through the services, every stage before ``until``.

    People whose link was already used (the narrated participant) are left as they are.
    ``out`` receives ``attendance.csv``, the sheet imported for the certificates. Then the
    line managers of ``supervisors`` enrol and answer about the people of the class they
    supervise, in each person's window (``_supervisors``).
    """
    rng = random.Random(seed)
    report = ClassReport(roster=len(invites))
    translators = {loc: Translator(loc, content.programme.tz) for loc in LOCALES}
    stages = [(i, s) for i in content.instruments.values() for s in i.stages]
    attended: list[tuple[Participant, str, bool]] = []
    # Who is in the class the line managers are asked about (the narrated one included).
    enrolled: set[int] = set()
    for person in _people(invites, rng, start):
        if not person.enrols:
            report.never_enrolled += 1
            continue
        participant = person.invite.participant
        assert participant is not None
        redemption = await redeem(
            db,
            token=person.invite.token,
            user_id=person.user_id,
            chat_id=person.user_id,
            language_code=participant.language or FALLBACK_LOCALE,
            # Every simulated phone says its language: the default never decides.
            default_locale=FALLBACK_LOCALE,
            display_name=participant.full_name,
            clock=FixedClock(person.enrol_at),
        )
        if redemption.status is RedeemStatus.USED:
            report.narrated += 1  # already enrolled in the narrated chat: left as it is
            enrolled.add(participant.id)
            continue
        if redemption.status is not RedeemStatus.ENROLLED or redemption.participant is None:
            raise SimulationError(f"{participant.code} could not enrol: {redemption.status}")
        report.enrolled += 1
        enrolled.add(participant.id)
        participant = redemption.participant
        t = translators.get(participant.language or "fr", translators["fr"])
        timeline = sorted(
            ((window_for(content, i, s, participant.cohort), i, s) for i, s in stages),
            key=lambda entry: entry[0].opens,
        )
        answered = 0
        for window, instrument, stage in timeline:
            if answered >= person.keeps_up_for:
                break
            begin = max(window.opens, person.enrol_at)
            end = min(window.closes, until)
            # Each stage draws from its own stream: a questionnaire added to the content
            # leaves everyone's answers to the others as they were.
            own = random.Random(f"{seed}:{participant.id}:{instrument.id}:{stage.id}")
            if begin >= end or own.random() < 0.06:
                continue  # closed before they enrolled, not yet open, or simply not answered
            at = begin + (end - begin) * own.uniform(0.02, 0.8)
            done = await _answer(db, content, participant, person, instrument, stage, t, at, own)
            if done:
                report.submitted[f"{instrument.id}:{stage.id}"] += 1
                answered += 1
            else:
                report.unfinished += 1
        if person.keeps_up_for < 99:
            report.dropped_out += 1
        result = await kat_result(db, content, participant.id)
        if result is not None and (result.gain or 0) < 0:
            report.scored_lower += 1
        attended += _attendance(content, participant, person, rng)
    report.attendance_rows = await _import_attendance(db, content, attended, out, until)
    report.plans = await _plans(db, api, content, invites, rng)
    await _supervisors(db, content, supervisors, enrolled, report, start, until, seed)
    return report


async def _supervisors(
    db: Database,
    content: Content,
    invites: Sequence[IssuedInvite],
    enrolled: set[int],
    report: ClassReport,
    start: datetime,
    until: datetime,
    seed: int,
) -> None:
    """Most line managers enrol and answer about most of the enrolled people they supervise."""
    translators = {loc: Translator(loc, content.programme.tz) for loc in LOCALES}
    t = translators["fr"]
    for invite in invites:
        supervisor = invite.supervisor
        assert supervisor is not None
        rng = random.Random(f"{seed}:supervisor:{supervisor.id}")
        if rng.random() < 0.1:
            continue  # never opens the link
        user_id = SUPERVISOR_ID_BASE + supervisor.id
        redemption = await redeem(
            db,
            token=invite.token,
            user_id=user_id,
            chat_id=user_id,
            language_code="fr",
            default_locale=FALLBACK_LOCALE,
            display_name=supervisor.name,
            clock=FixedClock(start + timedelta(days=rng.uniform(0.1, 10))),
        )
        if redemption.status is RedeemStatus.USED:
            continue  # the narrated line manager answers in the chat
        if redemption.status is not RedeemStatus.SUPERVISOR_ENROLLED:
            raise SimulationError(
                f"supervisor {supervisor.id} could not enrol: {redemption.status}"
            )
        report.supervisors_enrolled += 1
        person = Person(invite, user_id, True, start, 99, 0.5, 0.5, rng.uniform(3.2, 4.4))
        async with db.read() as conn:
            supervised = await sstore.supervisees(conn, supervisor.id)
        for supervisee in supervised:
            if supervisee.participant_id not in enrolled or rng.random() < 0.15:
                continue
            async with db.read() as conn:
                subject = await _participant(conn, supervisee.participant_id)
            for instrument in content.supervisor_instruments.values():
                for stage in instrument.stages:
                    window = window_for(content, instrument, stage, supervisee.cohort)
                    end = min(window.closes, until)
                    if window.opens >= end:
                        continue
                    at = window.opens + (end - window.opens) * rng.uniform(0.02, 0.8)
                    done = await _answer(
                        db, content, subject, person, instrument, stage, t, at, rng, supervisor
                    )
                    report.supervisor_submitted += done


async def _participant(conn: Any, participant_id: int) -> Participant:
    found = await repo.get_participant(conn, participant_id)
    assert found is not None
    return found


def _attendance(
    content: Content, participant: Participant, person: Person, rng: random.Random
) -> list[tuple[Participant, str, bool]]:
    """Who was present at the sessions the certificates require; drop-outs miss the later ones."""
    kat = content.quiz()
    if kat is None or kat.certificates is None:
        return []
    required = sessions_required(content, kat.certificates, participant.cohort)
    sessions = {s.id: s for level in required.values() for s in level}
    rows = []
    for number, session in enumerate(sorted(sessions.values(), key=lambda s: s.start_utc)):
        present = number < person.keeps_up_for + 1 and rng.random() < 0.93
        rows.append((participant, session.id, present))
    return rows


async def _import_attendance(
    db: Database,
    content: Content,
    rows: list[tuple[Participant, str, bool]],
    out: Path,
    now: datetime,
) -> int:
    """Write the attendance sheet a coordinator would import, and import it the same way."""
    lines = ["participant;session;attended"]
    lines += [f"{p.code};{session};{'oui' if present else 'non'}" for p, session, present in rows]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    (out / "attendance.csv").write_bytes(data)
    if not rows:
        return 0
    return await import_attendance(
        db, data, programme=content.programme, clock=FixedClock(now), actor="demo"
    )


async def _plans(
    db: Database,
    api: BotAPIEmulator,
    content: Content,
    invites: Sequence[IssuedInvite],
    rng: random.Random,
) -> int:
    """Three in four of those who took the final quiz send their action plan before the deadline."""
    deadline = next(
        (s.start_utc for s in content.programme.all_sessions() if s.id == "remise-plan-action"),
        None,
    )
    if deadline is None:
        return 0
    sent = 0
    stages = content.quiz_stages()
    if stages is None:
        return 0
    async with db.read() as conn:
        posted = {
            attempt.participant_id
            for attempt, _ in await store.submitted_with_answers(conn, stages[0].id)
            if attempt.stage == stages[2].id
        }
    for invite in invites:
        participant = invite.participant
        if participant is None or participant.id not in posted or rng.random() >= 0.75:
            continue
        stored = api.store_file(
            Upload(PLAN_PDF, f"plan-action-{participant.code}.pdf", "application/pdf"),
            "documents",
        )
        outcome = await submit_plan(
            db,
            participant,
            file_id=stored.file_id,
            file_unique_id=stored.file_unique_id,
            file_name=stored.file_name,
            mime_type=stored.mime_type,
            size=len(stored.content),
            now=deadline - timedelta(days=rng.uniform(0.5, 12)),
        )
        sent += outcome.status is PlanStatus.ACCEPTED
    return sent


async def _answer(
    db: Database,
    content: Content,
    participant: Participant,
    person: Person,
    instrument: Instrument,
    stage: Stage,
    t: Translator,
    at: datetime,
    rng: random.Random,
    supervisor: Supervisor | None = None,
) -> bool:
    """Open the stage and answer it screen by screen; True once submitted. With
    ``supervisor``, that line manager answers the stage about ``participant``."""
    if supervisor is None:
        book: Book = PARTICIPANTS
        respondent: Participant | Supervisor = participant
        opened = await open_stage(db, content, participant, instrument.id, stage.id, t, at)
    else:
        book, respondent = SUPERVISORS, supervisor
        opened = await open_for_supervisee(
            db, content, supervisor, participant.id, instrument.id, stage.id, t, at
        )
    outcome = _check(opened, f"{participant.code} opening {instrument.id} {stage.id}")
    # A few start and leave it half done (they appear as started, not submitted).
    stops_after = rng.randint(1, 4) if rng.random() < 0.015 else None
    answers: dict[str, Any] = {}
    steps = 0
    while True:
        if not isinstance(outcome, Shown):
            raise SimulationError(f"{participant.code}: {instrument.id} {stage.id} sent early")
        attempt, screen = outcome.attempt, outcome.screen
        # As the service sees it: this person's cohort's facilitators only.
        item = current_item(instrument.for_cohort(participant.cohort), stage, attempt, answers)
        at += timedelta(seconds=rng.uniform(8, 40))
        if item is None:
            outcome = await _press(db, content, person, screen, Action.SEND, None, t, at, book)
            return isinstance(outcome, Submitted)
        if stops_after is not None and steps >= stops_after:
            return False
        steps += 1
        value = _choose(item, instrument, stage, person, rng)
        answers[item.id] = value
        if item.type == "text":
            if value is None:
                outcome = await _press(db, content, person, screen, Action.SKIP, None, t, at, book)
            else:
                typed = await type_answer(db, content, respondent, value, t, at)
                outcome = _check(typed, f"{participant.code} typing {item.id}")
        elif item.type == "multi":
            for option in value or []:
                outcome = await _press(
                    db, content, person, screen, Action.TOGGLE, option, t, at, book
                )
                if not isinstance(outcome, Shown):
                    raise SimulationError(f"tap {option}: no screen")
                screen = outcome.screen
            outcome = await _press(db, content, person, screen, Action.CONFIRM, None, t, at, book)
        else:
            outcome = await _press(
                db, content, person, screen, Action.ANSWER, str(value), t, at, book
            )


def _choose(
    item: Item, instrument: Instrument, stage: Stage, person: Person, rng: random.Random
) -> Any:
    """What this person answers to this item."""
    options = [o.id for o in item.options or []]
    if item.type == "quiz":
        ability = person.post_ability if stage.id == "post" else person.pre_ability
        if person.latent.setdefault(item.id, rng.random()) < ability:
            return item.answer
        # Not known: a guess, the same hunch before and after (right one time in four).
        if person.latent.setdefault(item.id + ":guess", rng.random()) < 0.25:
            return item.answer
        return rng.choice([o for o in options if o != item.answer])
    if item.type == "scale":
        mood = person.leniency + ACTIVITY_MOOD.get(stage.id, 0.0)
        return min(5, max(1, round(rng.gauss(mood, 0.75))))
    if item.type == "single":
        weights = [FREQUENCY_WEIGHTS.get(o, 5) for o in options]
        return rng.choices(options, weights)[0]
    if item.type == "multi":
        if "none" in options and rng.random() < 0.1:
            return ["none"]
        pool = [o for o in options if o not in ("none", "other")] or options
        limit = min(item.max_choices or 3, 3, len(pool))
        chosen = set(rng.sample(pool, rng.randint(1, limit)))
        if "other" in options and rng.random() < 0.08:
            chosen.add("other")
        return [o for o in options if o in chosen]
    # Free text: optional questions are mostly skipped, as on a phone.
    if item.optional and rng.random() < 0.65:
        return None
    beginnings, endings = TEXTS.get(item.id, DEFAULT_TEXTS)
    return rng.choice(beginnings) + rng.choice(endings)


async def _press(
    db: Database,
    content: Content,
    person: Person,
    screen: Screen,
    action: Action,
    arg: str | None,
    t: Translator,
    at: datetime,
    book: Book = PARTICIPANTS,
) -> Shown | Submitted:
    """Tap the button of ``screen`` that does ``action`` (with ``arg``), as the person would."""
    suffix = f":{action}" + (f":{arg}" if arg is not None else "")
    data = next((b.data for row in screen.buttons for b in row if b.data.endswith(suffix)), None)
    if data is None:
        raise SimulationError(f"no button {suffix!r} on the screen:\n{screen.text}")
    tapped = await tap(db, content, person.user_id, data, lambda _: t, at, book=book)
    return _check(tapped, f"tap {data}")


def _check(outcome: Outcome, what: str) -> Shown | Submitted:
    if not isinstance(outcome, Shown | Submitted):
        raise SimulationError(f"{what}: refused ({outcome.refusal})")
    return outcome
