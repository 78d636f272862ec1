"""Pydantic models of the questionnaires (instruments), one file each in the content folder.

An instrument is a ``quiz`` (scored, with answer keys) or a ``survey``. It has stages
(a quiz before and after the training, a survey after each activity...) whose windows
are written relative to the programme's sessions, so that each cohort gets its own
dates, and items of five types. Ids are short slugs because they travel in
Telegram's 64-byte callback data.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.content.messages import ContentValueError
from bot.content.models import (
    Facilitator,
    LocalizedText,
    Programme,
    Session,
    _aware,
    _Model,
)
from bot.i18n import Said, _, said

ShortId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=12)]
ItemType = Literal["quiz", "scale", "single", "multi", "text"]
SCALE_POINTS = (1, 2, 3, 4, 5)
MAX_TEXT_LENGTH = 4000
# A stage's short label becomes a button on a phone.
MAX_SHORT_LABEL = 24


class Option(_Model):
    """One answer a participant can tap."""

    id: ShortId
    text: LocalizedText


class Condition(_Model):
    """When an item is shown: after some answers to an earlier item, after some activities
    (by mode), or in some stages."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    item: ShortId | None = None
    answer_in: list[str] | None = Field(default=None, alias="in")
    mode: Literal["online", "residential"] | None = None
    stage: Annotated[list[ShortId], Field(min_length=1)] | None = None

    @field_validator("answer_in", mode="before")
    @classmethod
    def _points_as_text(cls, value: object) -> object:
        # Scale points are written as numbers (in: [4, 5]); answers compare as text.
        if isinstance(value, list):
            return [str(v) if isinstance(v, int) else v for v in value]
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        by_answer = self.item is not None or self.answer_in is not None
        if by_answer + (self.mode is not None) + (self.stage is not None) != 1:
            raise ContentValueError(said(_("give one of: 'item' with 'in', 'mode', or 'stage'")))
        if by_answer and (self.item is None or not self.answer_in):
            raise ContentValueError(said(_("'item' and 'in' go together")))
        return self


class ScaleLabels(_Model):
    """The words at both ends of a 1-5 scale."""

    low: LocalizedText
    high: LocalizedText


class KeyCorrection(_Model):
    """A declared mistake in a quiz item's answer key: answers scored with ``was`` are re-scored.

    It applies to every stored version of the item whose key was ``was`` and whose options
    have the same ids as now; without it, each answer keeps the key it was given under.
    """

    was: ShortId
    reason: LocalizedText


# What a person saw and was scored with: a change to any of these is a new item version.
# The explanation, ``optional``, ``show_if`` and the limits do not change what an answer means.
VERSIONED_FIELDS = ("type", "text", "options", "labels", "answer")


class Item(_Model):
    """One question."""

    id: ShortId
    type: ItemType
    text: LocalizedText
    options: list[Option] | None = None
    answer: ShortId | None = None
    explanation: LocalizedText | None = None
    labels: ScaleLabels | None = None
    max_length: int = Field(default=2000, ge=1, le=MAX_TEXT_LENGTH)
    max_choices: int | None = Field(default=None, ge=1)
    optional: bool = False
    show_if: Condition | None = None
    correction: KeyCorrection | None = None

    @model_validator(mode="after")
    def _fits_its_type(self) -> Item:
        choice = self.type in ("quiz", "single", "multi")
        if choice and not self.options:
            raise ContentValueError(said(_("a %(type)s item needs options"), type=self.type))
        if not choice and self.options:
            raise ContentValueError(said(_("a %(type)s item has no options"), type=self.type))
        if self.options:
            if not 2 <= len(self.options) <= 8:
                raise ContentValueError(said(_("between 2 and 8 options")))
            ids = [o.id for o in self.options]
            if len(set(ids)) != len(ids):
                raise ContentValueError(said(_("duplicate option ids: %(ids)s"), ids=ids))
        if self.type == "quiz":
            if self.answer is None:
                raise ContentValueError(said(_("a quiz item needs its right 'answer'")))
            if self.answer not in {o.id for o in self.options or []}:
                raise ContentValueError(
                    said(_("answer %(answer)r is not one of the option ids"), answer=self.answer)
                )
            if self.optional:
                raise ContentValueError(said(_("a quiz item cannot be optional")))
        elif self.answer is not None or self.explanation is not None:
            raise ContentValueError(said(_("only quiz items have 'answer' and 'explanation'")))
        if self.correction is not None:
            if self.type != "quiz":
                raise ContentValueError(said(_("only quiz items have a key 'correction'")))
            if self.correction.was == self.answer:
                raise ContentValueError(
                    said(_("correction.was is the current answer: nothing to correct"))
                )
            if self.option(self.correction.was) is None:
                raise ContentValueError(
                    said(_("correction.was %(was)r is not an option id"), was=self.correction.was)
                )
        if self.max_choices is not None:
            if self.type != "multi":
                raise ContentValueError(said(_("only multi items have 'max_choices'")))
            if self.max_choices > len(self.options or []):
                raise ContentValueError(said(_("'max_choices' is more than the number of options")))
        if self.type == "scale" and self.labels is None:
            raise ContentValueError(said(_("a scale item needs 'labels' (low and high)")))
        if self.type != "scale" and self.labels is not None:
            raise ContentValueError(said(_("only scale items have 'labels'")))
        return self

    def option(self, option_id: str) -> Option | None:
        """The option with this id."""
        return next((o for o in self.options or [] if o.id == option_id), None)

    @cached_property
    def definition(self) -> dict[str, Any]:
        """The item as stored with each version of it (JSON-ready)."""
        return self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"correction"}
        )

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of what the person sees and is scored with: the key of this version."""
        seen = {name: self.definition.get(name) for name in VERSIONED_FIELDS}
        canonical = json.dumps(seen, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class Anchor(_Model):
    """A moment relative to a session of the cohort (by session id or module)."""

    after: str | None = None
    before: str | None = None
    days: int = Field(default=0, ge=0)
    hours: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_side(self) -> Anchor:
        if (self.after is None) == (self.before is None):
            raise ContentValueError(said(_("give either 'after' or 'before' a session or module")))
        return self

    @property
    def ref(self) -> str:
        return self.after or self.before or ""

    def resolve(self, session: Session) -> datetime:
        """The instant for the cohort whose session this is."""
        offset = timedelta(days=self.days, hours=self.hours)
        if self.after is not None:
            return session.end_utc + offset
        return session.start_utc - offset


When = datetime | Anchor


class Stage(_Model):
    """One administration of an instrument: a quiz before or after, a survey after an activity..."""

    id: ShortId
    title: LocalizedText
    # A label for buttons on a phone (another part of the interface shows it).
    short: LocalizedText | None = None
    # Replaces the instrument's intro for this stage (a post-test is graded, a pre-test not).
    intro: LocalizedText | None = None
    # The sessions or modules the stage is about; default: the one its ``opens`` names.
    about: list[str] | None = None
    mode: Literal["online", "residential"] | None = None
    opens: When
    closes: When

    @field_validator("short")
    @classmethod
    def _short_fits_a_button(cls, value: LocalizedText | None) -> LocalizedText | None:
        if value is not None:
            for locale in ("fr", "en", "ar"):
                text = getattr(value, locale)
                if text and len(text) > MAX_SHORT_LABEL:
                    raise ContentValueError(
                        said(
                            _("short %(locale)s label has %(n)d characters; at most %(max)d"),
                            locale=locale,
                            n=len(text),
                            max=MAX_SHORT_LABEL,
                        )
                    )
        return value

    @property
    def about_refs(self) -> list[str]:
        """The sessions or modules the stage is about."""
        if self.about is not None:
            return self.about
        return [self.opens.ref] if isinstance(self.opens, Anchor) else []

    def intro_for(self, instrument: Instrument) -> LocalizedText | None:
        """What the stage's first screen says: its own intro, else the instrument's."""
        return self.intro if self.intro is not None else instrument.intro


class LoopItem(Item):
    """One item of a ``repeat: facilitators`` block, for one facilitator.

    Its id is ``<item>.<facilitator>``: the answers, item versions, tallies and exports of
    each facilitator are those of an ordinary item. Ids do not travel in callback data
    (taps carry the attempt's position), so the longer id fits Telegram's 64 bytes.
    """

    id: str
    block: ShortId
    facilitator: str
    # (stage, cohort) pairs where this facilitator leads a session the stage is about.
    shown_in: frozenset[tuple[str, str]] = Field(default_factory=frozenset, exclude=True)


class Loop(_Model):
    """A block of items asked once for each facilitator of the sessions a stage is about."""

    id: ShortId
    repeat: Literal["facilitators"]
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _rateable(self) -> Loop:
        ids = [item.id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate item ids in the block: {ids}")
        if any(item.type == "quiz" for item in self.items):
            raise ValueError("a facilitators block has no quiz items")
        return self


def facilitators_for(programme: Programme, refs: list[str], cohort: str) -> list[Facilitator]:
    """The facilitators of the cohort's sessions named by id or module, once each."""
    found: dict[str, Facilitator] = {}
    for session in programme.sessions_for(cohort):
        if session.id in refs or session.module in refs:
            for person in session.facilitators:
                found.setdefault(person.id, person)
    return list(found.values())


# Where a text names a person: the facilitator of a loop block (with ``{role}``, filled
# when the block is expanded), or the person a supervisors' questionnaire is about
# (filled when it is shown).
NAME_FIELD = "{name}"
ROLE_FIELD = "{role}"


def _with_person(text: LocalizedText, person: Facilitator) -> LocalizedText:
    values = {}
    for locale in ("fr", "en", "ar"):
        value = getattr(text, locale)
        if value:
            role = person.role.get(locale)
            values[locale] = value.replace(NAME_FIELD, person.name).replace(ROLE_FIELD, role)
    return LocalizedText.model_validate(values)


def expand_loop(loop: Loop, stages: list[Stage], programme: Programme) -> list[LoopItem]:
    """The block's items for every facilitator some stage and cohort is about."""
    where: dict[str, set[tuple[str, str]]] = {}
    for stage in stages:
        for cohort in sorted(programme.cohort_ids):
            for person in facilitators_for(programme, stage.about_refs, cohort):
                where.setdefault(person.id, set()).add((stage.id, cohort))
    block_ids = {item.id for item in loop.items}
    out: list[LoopItem] = []
    for person in programme.facilitators:
        if person.id not in where:
            continue
        for item in loop.items:
            fields = item.model_dump(by_alias=True, exclude_none=True)
            fields["text"] = _with_person(item.text, person)
            cond = item.show_if
            if cond is not None and cond.item in block_ids:
                # A condition inside the block is on the same facilitator's answer.
                fields["show_if"] = cond.model_copy(update={"item": f"{cond.item}.{person.id}"})
            fields.update(
                id=f"{item.id}.{person.id}",
                block=loop.id,
                facilitator=person.id,
                shown_in=frozenset(where[person.id]),
            )
            out.append(LoopItem.model_validate(fields))
    return out


class Certificates(_Model):
    """The concept note's thresholds, in percent of the end-of-course quiz."""

    participation: int = Field(default=30, ge=0, le=100)
    success: int = Field(default=60, ge=0, le=100)
    # Sessions (ids or modules, resolved per cohort) the certificate requires attending.
    participation_attendance: list[str] = Field(
        default_factory=lambda: ["intro", "module-2", "module-3"]
    )
    success_attendance: list[str] = Field(
        default_factory=lambda: ["intro", "module-1", "module-2", "module-3", "coaching-collectif"]
    )


Kind = Literal["quiz", "survey"]
Audience = Literal["participants", "supervisors"]


class Instrument(_Model):
    """A questionnaire and when each cohort answers it."""

    id: ShortId
    # quiz: scored with answer keys, may count for certificates; survey: not scored.
    kind: Kind
    audience: Audience = "participants"
    # Kirkpatrick's level: 1 reaction, 2 learning, 3 behaviour (none for a needs analysis).
    level: Literal[1, 2, 3] | None = None
    purpose: LocalizedText | None = None
    # The report's sections follow it (ties: by file name).
    order: int = 0
    title: LocalizedText
    intro: LocalizedText | None = None
    stages: Annotated[list[Stage], Field(min_length=1)]
    items: Annotated[list[Item], Field(min_length=1)]
    # Quiz only: when scores and explanations are shown.
    reveal: Literal["after-post", "after-close"] = "after-post"
    certificates: Certificates | None = None

    @property
    def scored(self) -> bool:
        """A quiz: answers are scored against keys, options shuffled, results revealed."""
        return self.kind == "quiz"

    @model_validator(mode="before")
    @classmethod
    def _expand_loops(cls, data: Any, info: ValidationInfo) -> Any:
        # A loop block becomes one item per facilitator, where it stands. The programme
        # comes in the validation context (the loader validates it first); when it is None
        # there (programme.yaml is invalid, and reported), or the block is invalid (the
        # loader reports it with its line), the block is left out.
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return data
        if not any(isinstance(e, dict) and "repeat" in e for e in data["items"]):
            return data
        context = info.context or {}
        if "programme" not in context:
            # A caller's mistake, not the course team's: without the programme the
            # facilitators' items would silently be missing.
            raise TypeError("an instrument with a repeat block is validated with the programme")
        programme = context["programme"]
        try:
            stages = [Stage.model_validate(s) for s in data.get("stages") or []]
        except ValidationError:
            stages = []
        items: list[Any] = []
        for entry in data["items"]:
            if not (isinstance(entry, dict) and "repeat" in entry):
                items.append(entry)
                continue
            try:
                loop = Loop.model_validate(entry)
            except ValidationError:
                continue
            if isinstance(programme, Programme):
                items.extend(expand_loop(loop, stages, programme))
        return {**data, "items": items}

    def for_cohort(self, cohort: str | None) -> Instrument:
        """The instrument as one cohort's respondents see it: their own facilitators only.

        Every item keeps its position (attempts store positions); a facilitator who leads
        none of the cohort's sessions is simply never shown.
        """
        if cohort is None or not any(isinstance(i, LoopItem) for i in self.items):
            return self
        cached = self._per_cohort.get(cohort)
        if cached is None:
            items = [
                i.model_copy(
                    update={"shown_in": frozenset(p for p in i.shown_in if p[1] == cohort)}
                )
                if isinstance(i, LoopItem)
                else i
                for i in self.items
            ]
            cached = self.model_copy(update={"items": items})
            for key in ("_by_id", "_positions", "_per_cohort"):
                # model_copy copies the cached lookups too: they would name the full items.
                cached.__dict__.pop(key, None)
            self._per_cohort[cohort] = cached
        return cached

    @cached_property
    def _per_cohort(self) -> dict[str, Instrument]:
        return {}

    def stage(self, stage_id: str) -> Stage | None:
        """The stage with this id."""
        return next((s for s in self.stages if s.id == stage_id), None)

    def item(self, item_id: str) -> Item | None:
        """The item with this id."""
        return self._by_id.get(item_id)

    @cached_property
    def _by_id(self) -> dict[str, Item]:
        # Exports look an item up for each of a million answers.
        return {item.id: item for item in self.items}

    def position(self, item: Item) -> int:
        """The item's place in the instrument (ids are unique)."""
        return self._positions[item.id]

    @cached_property
    def _positions(self) -> dict[str, int]:
        # items.index() would compare whole models field by field on every tap.
        return {item.id: number for number, item in enumerate(self.items)}

    @property
    def max_score(self) -> int:
        """One point per quiz item."""
        return sum(1 for i in self.items if i.type == "quiz")


def anchor_session(programme: Programme, ref: str, cohort: str | None) -> Session | None:
    """The cohort's session with id ``ref``, else its last session of module ``ref``."""
    sessions = programme.sessions_for(cohort)
    by_id = [s for s in sessions if s.id == ref]
    if by_id:
        return by_id[0]
    by_module = [s for s in sessions if s.module == ref]
    return by_module[-1] if by_module else None


def resolve_when(when: When, programme: Programme, cohort: str | None) -> datetime | None:
    """An absolute instant for this cohort; None when the cohort has no such session."""
    if isinstance(when, datetime):
        return _aware(when, programme.tz)
    session = anchor_session(programme, when.ref, cohort)
    return when.resolve(session) if session is not None else None


Report = list[tuple[tuple[str | int, ...], Said]]


def check_instrument(instrument: Instrument, programme: Programme | None) -> Report:
    """Cross-references a model cannot check alone, each with the path of the field at fault.

    Windows are checked against the programme's sessions when the programme is valid.
    """
    problems: Report = []
    quiz = instrument.scored
    for label, ids in (
        ("stages", [s.id for s in instrument.stages]),
        ("items", [i.id for i in instrument.items]),
    ):
        for index, ident in enumerate(ids):
            if ident in ids[:index]:
                problems.append(((label, index, "id"), said(_("duplicate id %(id)r"), id=ident)))
    if quiz and len(instrument.stages) != 2:
        # The report compares each person's score before and after.
        problems.append(
            (("stages",), said(_("a quiz has two stages: before and after the training")))
        )
    if not quiz:
        for name in ("certificates", "reveal"):
            if name in instrument.model_fields_set:
                problems.append(
                    ((name,), said(_("only a quiz (kind: quiz) has %(name)r"), name=name))
                )
    stage_ids = {s.id for s in instrument.stages}
    modes = {s.mode for s in instrument.stages}
    seen: dict[str, Item] = {}
    for index, item in enumerate(instrument.items):
        if quiz and item.type != "quiz":
            problems.append(
                (("items", index, "type"), said(_("every item of a quiz is a quiz item")))
            )
        if quiz and item.show_if is not None:
            # Scores before and after compare the same questions.
            problems.append(
                (("items", index, "show_if"), said(_("every quiz item is shown to everyone")))
            )
        if not quiz and item.type == "quiz":
            problems.append(
                (("items", index, "type"), said(_("quiz items belong in a quiz (kind: quiz)")))
            )
        if item.show_if is not None and item.show_if.stage is not None:
            for s, ref in enumerate(item.show_if.stage):
                if ref not in stage_ids:
                    problems.append(
                        (
                            ("items", index, "show_if", "stage", s),
                            said(_("no stage %(stage)r"), stage=ref),
                        )
                    )
        if (
            item.show_if is not None
            and item.show_if.mode is not None
            and item.show_if.mode not in modes
        ):
            problems.append(
                (
                    ("items", index, "show_if", "mode"),
                    said(_("no stage has mode %(mode)r"), mode=item.show_if.mode),
                )
            )
        cond = item.show_if
        if cond is not None and cond.item is not None:
            here = ("items", index, "show_if")
            earlier = seen.get(cond.item)
            if earlier is None:
                problems.append(
                    ((*here, "item"), said(_("%(item)r is not an earlier item"), item=cond.item))
                )
            else:
                valid = {o.id for o in earlier.options or []}
                if earlier.type == "scale":
                    valid |= {str(p) for p in SCALE_POINTS}
                wrong = [v for v in cond.answer_in or [] if v not in valid]
                if wrong:
                    problems.append(
                        (
                            (*here, "in"),
                            said(
                                _("%(wrong)s are not answers of %(item)r"),
                                wrong=wrong,
                                item=cond.item,
                            ),
                        )
                    )
        seen[item.id] = item
    if programme is not None and instrument.certificates is not None:
        for name in ("participation_attendance", "success_attendance"):
            for index, ref in enumerate(getattr(instrument.certificates, name)):
                for cohort in sorted(programme.cohort_ids):
                    if anchor_session(programme, ref, cohort) is None:
                        problems.append(
                            (
                                ("certificates", name, index),
                                said(
                                    _("no session or module %(ref)r for cohort %(cohort)r"),
                                    ref=ref,
                                    cohort=cohort,
                                ),
                            )
                        )
    for index, stage in enumerate(instrument.stages if programme is not None else []):
        assert programme is not None
        for a, ref in enumerate(stage.about or []):
            for cohort in sorted(programme.cohort_ids):
                if anchor_session(programme, ref, cohort) is None:
                    problems.append(
                        (
                            ("stages", index, "about", a),
                            said(
                                _("no session or module %(ref)r for cohort %(cohort)r"),
                                ref=ref,
                                cohort=cohort,
                            ),
                        )
                    )
        for cohort in sorted(programme.cohort_ids):
            opens = resolve_when(stage.opens, programme, cohort)
            closes = resolve_when(stage.closes, programme, cohort)
            for name, value, when in (
                ("opens", opens, stage.opens),
                ("closes", closes, stage.closes),
            ):
                if value is None and isinstance(when, Anchor):
                    problems.append(
                        (
                            ("stages", index, name),
                            said(
                                _("no session or module %(ref)r for cohort %(cohort)r"),
                                ref=when.ref,
                                cohort=cohort,
                            ),
                        )
                    )
            if opens is not None and closes is not None and closes <= opens:
                problems.append(
                    (
                        ("stages", index, "closes"),
                        said(_("closes before it opens for cohort %(cohort)r"), cohort=cohort),
                    )
                )
    return problems
