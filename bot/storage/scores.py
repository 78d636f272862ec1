"""The SQL behind the quiz's answer cards (the scores themselves: ``versions.quiz_scores``)."""

from __future__ import annotations

import aiosqlite

from bot.storage.repo import fetch_all


async def waiting_for_answers(
    conn: aiosqlite.Connection, key_prefix: str, instrument: str, stage: str
) -> set[int]:
    """The reachable participants who sent the quiz's after-training stage and whose answer card
    (outbox key ``<key_prefix><participant id>:1``) is not queued yet."""
    rows = await fetch_all(
        conn,
        "SELECT b.participant_id FROM telegram_bindings b WHERE b.reachable = 1"
        " AND EXISTS (SELECT 1 FROM attempts a WHERE a.participant_id = b.participant_id"
        " AND a.instrument = ? AND a.stage = ? AND a.submitted_at IS NOT NULL)"
        " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.key = ? || b.participant_id || ':1')",
        (instrument, stage, key_prefix),
    )
    return {int(r[0]) for r in rows}
