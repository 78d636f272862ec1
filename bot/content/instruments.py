"""Pydantic models of the questionnaires: the KAT, the satisfaction and the follow-up.

One file per instrument in ``conversations/``. An instrument has stages (KAT: ``pre``
and ``post``; satisfaction: one per activity; follow-up: one) whose windows are
written relative to the programme's sessions, so that each cohort gets its own
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

from bot.content.models import (
    Facilitator,
    LocalizedText,
    Programme,
    Session,
    Slug,
    _aware,
    _Model,
)

ShortId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=12)]
ItemType = Literal["quiz", "scale", "single", "multi", "text"]
SCALE_POINTS = (1, 2, 3, 4, 5)
MAX_TEXT_LENGTH = 4000


class Option(_Model):
    """One answer a participant can tap."""

    id: ShortId
    text: LocalizedText


class Condition(_Model):
    """When an item is shown: after some answers to an earlier item, or after some activities."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    item: ShortId | None = None
    answer_in: list[str] | None = Field(default=None, alias="in")
    mode: Literal["online", "residential"] | None = None

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
        if by_answer == (self.mode is not None):
            raise ValueError("give either 'item' with 'in', or 'mode'")
        if by_answer and (self.item is None or not self.answer_in):
            raise ValueError("'item' and 'in' go together")
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
            raise ValueError(f"a {self.type} item needs options")
        if not choice and self.options:
            raise ValueError(f"a {self.type} item has no options")
        if self.options:
            if not 2 <= len(self.options) <= 8:
                raise ValueError("between 2 and 8 options")
            ids = [o.id for o in self.options]
            if len(set(ids)) != len(ids):
                raise ValueError(f"duplicate option ids: {ids}")
        if self.type == "quiz":
            if self.answer is None:
                raise ValueError("a quiz item needs its right 'answer'")
            if self.answer not in {o.id for o in self.options or []}:
                raise ValueError(f"answer {self.answer!r} is not one of the option ids")
            if self.optional:
                raise ValueError("a quiz item cannot be optional")
        elif self.answer is not None or self.explanation is not None:
            raise ValueError("only quiz items have 'answer' and 'explanation'")
        if self.correction is not None:
            if self.type != "quiz":
                raise ValueError("only quiz items have a key 'correction'")
            if self.correction.was == self.answer:
                raise ValueError("correction.was is the current answer: nothing to correct")
            if self.option(self.correction.was) is None:
                raise ValueError(f"correction.was {self.correction.was!r} is not an option id")
        if self.max_choices is not None:
            if self.type != "multi":
                raise ValueError("only multi items have 'max_choices'")
            if self.max_choices > len(self.options or []):
                raise ValueError("'max_choices' is more than the number of options")
        if self.type == "scale" and self.labels is None:
            raise ValueError("a scale item needs 'labels' (low and high)")
        if self.type != "scale" and self.labels is not None:
            raise ValueError("only scale items have 'labels'")
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
            raise ValueError("give either 'after' or 'before' a session or module")
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
    """One administration of an instrument: KAT pre or post, satisfaction after an activity..."""

    id: ShortId
    title: LocalizedText
    mode: Literal["online", "residential"] | None = None
    opens: When
    closes: When
    # The sessions or modules the stage is about (whose facilitators a loop asks about);
    # by default the one its ``opens`` is written after or before.
    about: list[str] | None = None

    @property
    def about_refs(self) -> list[str]:
        """The session or module refs the stage is about."""
        if self.about is not None:
            return self.about
        return [self.opens.ref] if isinstance(self.opens, Anchor) else []


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


def _with_person(text: LocalizedText, person: Facilitator) -> LocalizedText:
    values = {}
    for locale in ("fr", "en", "ar"):
        value = getattr(text, locale)
        if value:
            role = person.role.get(locale)
            values[locale] = value.replace("{name}", person.name).replace("{role}", role)
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


class Instrument(_Model):
    """A questionnaire and when each cohort answers it."""

    id: Slug
    kind: Literal["kat", "satisfaction", "followup"]
    title: LocalizedText
    intro: LocalizedText | None = None
    stages: list[Stage]
    items: list[Item]
    # KAT only: when scores and explanations are shown.
    reveal: Literal["after-post", "after-close"] = "after-post"
    certificates: Certificates | None = None

    @model_validator(mode="before")
    @classmethod
    def _expand_loops(cls, data: Any, info: ValidationInfo) -> Any:
        # A loop block becomes one item per facilitator, where it stands. The programme
        # comes in the validation context (the loader validates it first); without it, or
        # with an invalid block (the loader reports it with its line), the block is left out.
        if not isinstance(data, dict) or not isinstance(data.get("items"), list):
            return data
        if not any(isinstance(e, dict) and "repeat" in e for e in data["items"]):
            return data
        context = info.context or {}
        programme = context.get("programme")
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


Report = list[tuple[tuple[str | int, ...], str]]


def check_instrument(instrument: Instrument, programme: Programme | None) -> Report:
    """Cross-references a model cannot check alone, each with the path of the field at fault.

    Windows are checked against the programme's sessions when the programme is valid.
    """
    problems: Report = []
    kat = instrument.kind == "kat"
    for label, ids in (
        ("stages", [s.id for s in instrument.stages]),
        ("items", [i.id for i in instrument.items]),
    ):
        for index, ident in enumerate(ids):
            if ident in ids[:index]:
                problems.append(((label, index, "id"), f"duplicate id {ident!r}"))
    if kat and sorted(s.id for s in instrument.stages) != ["post", "pre"]:
        problems.append((("stages",), "a KAT has exactly the stages 'pre' and 'post'"))
    if not kat and instrument.certificates is not None:
        problems.append((("certificates",), "only the KAT has certificates"))
    modes = {s.mode for s in instrument.stages}
    seen: dict[str, Item] = {}
    for index, item in enumerate(instrument.items):
        if kat and item.type != "quiz":
            problems.append((("items", index, "type"), "every KAT item is a quiz item"))
        if kat and item.show_if is not None:
            problems.append((("items", index, "show_if"), "every KAT item is shown to everyone"))
        if not kat and item.type == "quiz":
            problems.append((("items", index, "type"), "quiz items belong in the KAT"))
        if (
            item.show_if is not None
            and item.show_if.mode is not None
            and item.show_if.mode not in modes
        ):
            problems.append(
                (("items", index, "show_if", "mode"), f"no stage has mode {item.show_if.mode!r}")
            )
        cond = item.show_if
        if cond is not None and cond.item is not None:
            here = ("items", index, "show_if")
            earlier = seen.get(cond.item)
            if earlier is None:
                problems.append(((*here, "item"), f"{cond.item!r} is not an earlier item"))
            else:
                valid = {o.id for o in earlier.options or []}
                if earlier.type == "scale":
                    valid |= {str(p) for p in SCALE_POINTS}
                wrong = [v for v in cond.answer_in or [] if v not in valid]
                if wrong:
                    problems.append(((*here, "in"), f"{wrong} are not answers of {cond.item!r}"))
        seen[item.id] = item
    if programme is not None and instrument.certificates is not None:
        for name in ("participation_attendance", "success_attendance"):
            for index, ref in enumerate(getattr(instrument.certificates, name)):
                for cohort in sorted(programme.cohort_ids):
                    if anchor_session(programme, ref, cohort) is None:
                        problems.append(
                            (
                                ("certificates", name, index),
                                f"no session or module {ref!r} for cohort {cohort!r}",
                            )
                        )
    for index, stage in enumerate(instrument.stages if programme is not None else []):
        assert programme is not None
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
                            f"no session or module {when.ref!r} for cohort {cohort!r}",
                        )
                    )
            if opens is not None and closes is not None and closes <= opens:
                problems.append(
                    (("stages", index, "closes"), f"closes before it opens for cohort {cohort!r}")
                )
    return problems
