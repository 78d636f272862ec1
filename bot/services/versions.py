"""Item versions: what each person saw and was scored with, across edits of the content.

When the bot loads content (start-up, ``/reload``, SIGHUP) ``register`` records the
version of every item, moves questionnaires in progress to the same item (by id) in
the new order, versions answers written before versions existed, and applies the key
corrections the content declares. ``pending_changes`` tells the course team, before a
reload, what an edit would change for answers already given (``relais check``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot.content import Content, LocalizedText
from bot.content.instruments import Instrument, Item
from bot.i18n import LOCALES
from bot.rules.questionnaire import resume_position, saved_choices
from bot.storage import Database
from bot.storage import answers as store
from bot.storage import versions as vstore
from bot.storage.versions import ItemVersion

log = logging.getLogger(__name__)


@dataclass
class Registration:
    """What loading the content changed in the database."""

    new_versions: int = 0
    moved: int = 0
    versioned: int = 0
    unknown: int = 0
    rescored: int = 0


@dataclass(frozen=True, slots=True)
class Correction:
    """A key correction declared in the content: answers scored with ``was`` now with ``key``."""

    instrument: str
    item: str
    was: str
    key: str
    reason: LocalizedText


def declared_corrections(content: Content) -> list[Correction]:
    """Every key correction the content declares, in the instruments' order (for the report)."""
    return [
        Correction(kind, item.id, item.correction.was, item.answer or "", item.correction.reason)
        for kind, instrument in content.instruments.items()
        for item in instrument.items
        if item.correction is not None
    ]


def _option_ids(definition: dict[str, Any]) -> list[str]:
    return [str(o["id"]) for o in definition.get("options") or []]


def scored_key(item: Item | None, version: ItemVersion) -> str | None:
    """The key a version's answers are scored with under this content's item.

    Their own version's key, unless the item declares a correction of exactly that key
    and the options still have the same ids.
    """
    correction = item.correction if item is not None else None
    if (
        item is not None
        and correction is not None
        and version.answer_key == correction.was
        and _option_ids(version.definition) == [o.id for o in item.options or []]
    ):
        return item.answer
    return version.answer_key


async def register(db: Database, content: Content, now: datetime) -> Registration:
    """Record the loaded content's item versions and bring the stored answers in line."""
    done = Registration()
    async with db.transaction() as conn:
        recorded = await vstore.versions(conn)
        # Every instrument, the supervisors' too: their answers are stamped the same way.
        for kind, instrument in content.all_instruments.items():
            before = sorted(
                (v for v in recorded if v.instrument == kind and v.loaded),
                key=lambda v: v.position or 0,
            )
            loaded = [(i.id, i.fingerprint) for i in instrument.items]
            if [(v.item, v.fingerprint) for v in before] == loaded:
                continue
            done.moved += await _follow(conn, content, instrument, before, now)
            known = {(v.item, v.fingerprint) for v in recorded if v.instrument == kind}
            for item in instrument.items:
                if (item.id, item.fingerprint) not in known:
                    done.new_versions += 1
                await vstore.add_version(
                    conn,
                    instrument=kind,
                    item=item.id,
                    fingerprint=item.fingerprint,
                    definition=item.definition,
                    answer_key=item.answer,
                    now=now,
                )
            await vstore.set_loaded(conn, kind, loaded)
        unversioned = await vstore.has_unversioned_answers(conn)
        # Backfill and scoring read the participants' answers: the supervisors' were always
        # stamped (they came after versions) and are never scored.
        for kind, instrument in content.instruments.items():
            if unversioned:
                # Answers given before versions were recorded: exact when their attempt was
                # started under this very content.
                stamps = [(i.id, i.fingerprint, i.answer) for i in instrument.items]
                done.versioned += await vstore.backfill(conn, kind, content.version, stamps)
                done.unknown += await vstore.unversioned(conn, kind)
            done.rescored += await _score(conn, instrument, rescore_unknown=done.unknown > 0)
    if done.new_versions or done.moved or done.versioned or done.rescored:
        log.info(
            "item versions: %d new, %d questionnaire(s) in progress moved, %d answer(s)"
            " versioned, %d of unknown version, %d re-scored",
            done.new_versions,
            done.moved,
            done.versioned,
            done.unknown,
            done.rescored,
        )
    return done


async def _follow(
    conn: Any, content: Content, instrument: Instrument, before: list[ItemVersion], now: datetime
) -> int:
    """Keep each questionnaire in progress on the same item (by id) in the new order.

    Someone on the summary goes to an item added since; someone whose question changed,
    or whose position number moved, gets a new revision, so a tap on the old screen is
    refused rather than applied to another question.
    """
    old_ids = [v.item for v in before]
    old_prints = {v.item: v.fingerprint for v in before}
    new_ids = {i.id for i in instrument.items}
    moved = 0
    # A supervisor's questionnaire in progress follows the edit as a participant's does.
    tables = store.SUPERVISORS if instrument.audience == "supervisors" else store.PARTICIPANTS
    for attempt, answers in await store.open_with_answers(conn, instrument.id, tables=tables):
        stage = instrument.stage(attempt.stage)
        if stage is None:
            continue
        resume = resume_position(instrument, stage, answers)
        if not old_ids:
            # No order recorded yet (the first start with versions): positions are only
            # known to match when the attempt was started under this content.
            if attempt.content_version == content.version:
                continue
            position = resume
        else:
            # The item shown, or the first later one that still exists; None: the summary.
            here = next((i for i in old_ids[attempt.position :] if i in new_ids), None)
            if here is None:
                position = resume
            else:
                found = instrument.item(here)
                assert found is not None
                position = instrument.position(found)
        shown = instrument.items[position] if position < len(instrument.items) else None
        unchanged = position == attempt.position and (
            shown is None or old_prints.get(shown.id) == shown.fingerprint
        )
        if not unchanged:
            draft = saved_choices(instrument, position, answers)
            await store.move(conn, attempt, position=position, draft=draft, now=now, tables=tables)
            moved += 1
    return moved


async def _score(conn: Any, instrument: Instrument, *, rescore_unknown: bool) -> int:
    """Score each version's answers with the key this content gives it; the rows changed."""
    rescored = 0
    kind = instrument.id
    by_item: dict[str, list[ItemVersion]] = {}
    for version in await vstore.versions(conn, kind):
        by_item.setdefault(version.item, []).append(version)
    for item_id, found in by_item.items():
        item = instrument.item(item_id)
        for number, version in enumerate(found):
            key = scored_key(item, version)
            earliest = number == 0
            if key is None:
                continue
            if key != version.scored_key:
                rescored += await vstore.rescore(
                    conn, kind, item_id, version.fingerprint, key, rows="version"
                )
            if earliest and rescore_unknown:
                # Answers of unknown version are scored like the earliest version known.
                rescored += await vstore.rescore(
                    conn, kind, item_id, version.fingerprint, key, rows="unknown"
                )
    return rescored


# --- the wording a person saw --------------------------------------------------------------


@dataclass
class Catalog:
    """Every recorded item version, to show an answer with the wording the person saw."""

    by_version: dict[tuple[str, str, str], Item] = field(default_factory=dict)
    earliest: dict[tuple[str, str], Item] = field(default_factory=dict)
    keys: dict[tuple[str, str, str | None], str | None] = field(default_factory=dict)

    def scored_key(self, instrument: str, item: str, version: str | None) -> str | None:
        """The key the answers to that version are scored with now (a correction's, if any)."""
        return self.keys.get((instrument, item, version))

    def item(self, instrument: str, item: str, version: str | None) -> Item | None:
        """The version answered; for an answer of unknown version, the earliest recorded."""
        if version is not None:
            found = self.by_version.get((instrument, item, version))
            if found is not None:
                return found
        return self.earliest.get((instrument, item))


async def catalog(db: Database) -> Catalog:
    """Every version recorded, as items (a few per question: small)."""
    async with db.read() as conn:
        found = await vstore.versions(conn)
    out = Catalog()
    for version in found:
        try:
            item = Item.model_validate(version.definition)
        except ValidationError:
            # Stored by an older Relais whose item model differed: the loaded one stands in.
            log.warning(
                "item version %s of %s is no longer readable", version.fingerprint, version.item
            )
            continue
        out.by_version[(version.instrument, version.item, version.fingerprint)] = item
        out.keys[(version.instrument, version.item, version.fingerprint)] = version.scored_key
        if (version.instrument, version.item) not in out.earliest:
            out.earliest[(version.instrument, version.item)] = item
            out.keys[(version.instrument, version.item, None)] = version.scored_key
    return out


def seen_item(
    catalog: Catalog, content: Content, instrument: str, item: str, version: str | None
) -> Item | None:
    """The item as the person saw it, falling back to the content loaded now."""
    found = catalog.item(instrument, item, version)
    if found is not None:
        return found
    loaded = content.instrument(instrument)
    return loaded.item(item) if loaded is not None else None


# --- before a reload: what the edit changes ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """An edit of an item that already has answers, and how many answers it concerns."""

    instrument: str
    item: str
    what: tuple[str, ...]
    answers: int
    in_progress: int
    rescored: int = 0

    def __str__(self) -> str:
        head = f"{self.instrument} {self.item}: {', '.join(self.what)}"
        if self.what == ("added",):
            return (
                f"{head}: asked to the {self.in_progress} person(s) who have a questionnaire in"
                " progress, wherever they are in it"
            )
        parts = []
        if self.what != ("key correction",):
            parts.append(
                f"{self.answers} answer(s) to the version loaded now"
                + (
                    f" ({self.in_progress} in questionnaires in progress)"
                    if self.in_progress
                    else ""
                )
                + " keep the wording and key they were given under"
            )
        if self.rescored:
            parts.append(f"{self.rescored} answer(s) re-scored by the declared key correction")
        return f"{head}: " + "; ".join(parts)


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    what: list[str] = []
    if old.get("type") != new.get("type"):
        what.append("type")
    texts = [loc for loc in LOCALES if old["text"].get(loc) != new["text"].get(loc)]
    if texts:
        what.append(f"text ({', '.join(texts)})")
    if _option_ids(old) != _option_ids(new):
        what.append("option ids")
    elif old.get("options") != new.get("options"):
        what.append("option texts")
    if old.get("labels") != new.get("labels"):
        what.append("scale labels")
    if old.get("answer") != new.get("answer"):
        what.append(f"answer key {old.get('answer')} -> {new.get('answer')}")
    return what


async def pending_changes(db: Database, content: Content) -> list[Change]:
    """For each item with answers that this content changes: what, and how many answers."""
    changes: list[Change] = []
    async with db.read() as conn:
        recorded = await vstore.versions(conn)
        counts = await vstore.answer_counts(conn)
        open_by_kind = await vstore.open_attempts(conn)
        for kind, instrument in content.all_instruments.items():
            loaded = {v.item: v for v in recorded if v.instrument == kind and v.loaded}
            if not loaded:
                continue  # never loaded by the bot yet: nothing to compare with
            versions_of: dict[str, list[ItemVersion]] = {}
            for version in recorded:
                if version.instrument == kind:
                    versions_of.setdefault(version.item, []).append(version)
            answered = {item for (k, item, _v) in counts if k == kind}
            for item in instrument.items:
                before = loaded.get(item.id)
                rescored = 0
                for version in versions_of.get(item.id, []):
                    key = scored_key(item, version)
                    if key is not None and key != version.scored_key:
                        rescored += await vstore.rescore_preview(
                            conn, kind, item.id, [version.fingerprint], key
                        )
                if before is None:
                    if answered and open_by_kind.get(kind):
                        changes.append(Change(kind, item.id, ("added",), 0, open_by_kind[kind]))
                    continue
                count = counts.get((kind, item.id, before.fingerprint))
                if before.fingerprint == item.fingerprint and not rescored:
                    continue
                if count is None and not rescored:
                    continue
                # Only a correction declared or withdrawn: the loaded version stays the same.
                what = tuple(_differences(before.definition, item.definition)) or (
                    "key correction",
                )
                changes.append(
                    Change(
                        kind,
                        item.id,
                        what,
                        count.total if count else 0,
                        count.in_progress if count else 0,
                        rescored,
                    )
                )
            for item_id, before in loaded.items():
                count = counts.get((kind, item_id, before.fingerprint))
                if instrument.item(item_id) is None and count is not None:
                    changes.append(
                        Change(kind, item_id, ("removed",), count.total, count.in_progress)
                    )
    return changes


async def corrected_answers(db: Database) -> dict[tuple[str, str], int]:
    """(instrument, item) -> answers scored with a corrected key now (for the report)."""
    async with db.read() as conn:
        return await vstore.corrected_answer_counts(conn)
