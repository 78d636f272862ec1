"""The review of unmatched attendance rows in the chat: which buttons to offer, pure rules.

Decisions go through ``attendance.resolve``, as the CLI's ``relais attendance resolve``.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence

from bot.content import Programme
from bot.services.attendance import ReviewItem, normalise_name
from bot.storage.repo import Participant

MAX_CANDIDATES = 4
# Below this similarity a name is not offered: a wrong button is worse than none.
CUTOFF = 0.5


def person_hash(person: str) -> str:
    """A short stand-in for a row's person key (an e-mail or a name) in callback data."""
    return hashlib.sha256(person.encode()).hexdigest()[:12]


def find_item(items: Sequence[ReviewItem], hashed: str) -> ReviewItem | None:
    """The item a button was made for, if it is still unresolved."""
    return next((i for i in items if person_hash(i.person) == hashed), None)


def next_item(items: Sequence[ReviewItem], after: ReviewItem | None = None) -> ReviewItem | None:
    """The item to show next: the first, or the one after ``after`` (wrapping round)."""
    if not items:
        return None
    if after is None or after not in items:
        return items[0]
    index = items.index(after)
    following = [*items[index + 1 :], *items[:index]]
    return following[0] if following else None


def candidates(
    item: ReviewItem, people: Sequence[Participant], programme: Programme
) -> list[Participant]:
    """The closest names of the people the row could be (the session's cohorts), best first."""
    session = next((s for s in programme.all_sessions() if s.id == item.where), None)
    pool = [p for p in people if session is None or session.is_for(p.cohort)]
    target = normalise_name(item.name)
    email = item.email.lower()
    scored = []
    for p in pool:
        score = difflib.SequenceMatcher(None, target, normalise_name(p.full_name)).ratio()
        if email and p.email and p.email.lower().split("@")[0] == email.split("@")[0]:
            score = max(score, 0.9)
        if score >= CUTOFF:
            scored.append((score, p.code, p))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [p for _score, _code, p in scored[:MAX_CANDIDATES]]
