"""The authorisation matrix: every command and button, as each kind of user.

Only the allowed ones act; for the others the reply is a refusal and the database
is exactly as before (checked on every row of every table).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from bot import callbacks
from bot.app import RelaisApp
from bot.clock import FixedClock
from bot.sandbox.chat import SimulatedUser, direct_delivery
from bot.sandbox.offline import OfflineBotAPI
from bot.storage import Database
from bot.storage.repo import Role
from tests.conftest import ADMIN_ID, add_participant, invite_for, staff_invite

NewUser = Callable[..., SimulatedUser]
ROLES = ("stranger", "participant", "coordinator", "evaluator", "admin")
EVERYONE = frozenset(ROLES)
PARTICIPANT = frozenset({"participant"})
COORDINATION = frozenset({"coordinator", "admin"})
EVALUATION = frozenset({"coordinator", "evaluator", "admin"})

# (what the user does, who may): commands as text, buttons as "press:<data>".
MATRIX: list[tuple[str, frozenset[str]]] = [
    # A stranger's /help is the access text: how to get in, no content.
    ("/help", EVERYONE - {"stranger"}),
    ("/language", EVERYONE),
    ("press:lang:fr", EVERYONE),
    ("/me", PARTICIPANT),
    ("/plan", PARTICIPANT),
    ("/mydata", PARTICIPANT),
    ("press:qo:kat:pre", PARTICIPANT),
    ("/plans", COORDINATION),
    ("/broadcast", COORDINATION),
    ("/broadcasts", COORDINATION),
    ("/stats", COORDINATION),
    ("/pending kat", COORDINATION),
    ("press:nudge:kat:pre", COORDINATION),
    ("/export", EVALUATION),
    ("/report", EVALUATION),
    ("/reload", frozenset({"admin"})),
    ("/checkin tanger-module-2", COORDINATION),
    ("/attendance intro-live", COORDINATION),
    ("press:" + callbacks.checkin("new", "tanger-module-2"), COORDINATION),
    ("/certificates", COORDINATION),
    ("press:" + callbacks.cert_approve(1, "participation"), COORDINATION),
    ("press:" + callbacks.cert_approve_all("0123456789"), COORDINATION),
    # Nobody fetches a certificate that is not theirs (here: none exists).
    ("press:" + callbacks.cert_get(1), frozenset()),
    # Setting up from the chat (issue 18). Forged confirmation buttons act for nobody.
    ("/roster", COORDINATION),
    ("/invites", COORDINATION),
    ("press:iv:pending:", COORDINATION),
    ("/newlink A-001", COORDINATION),
    ("/review", COORDINATION),
    ("press:ro:ok:AAAAAAAAAAAAAAAA", frozenset()),
    ("press:zs:AAAAAAAAAAAAAAAA:intro-live", frozenset()),
    ("press:rv:000000000000:-", frozenset()),
    ("/staff", frozenset({"admin"})),
    ("press:si:evaluator", frozenset({"admin"})),
    ("press:sr:1:coordinator", frozenset()),
    # Anyone may check a certificate's code.
    ("/start v_0000000000000000", EVERYONE),
]
REFUSALS = (
    "lien d'invitation personnel",
    "réservée à la coordination",
    "réservée à l'évaluation et à la coordination",
    "Ce bouton n'est plus valide",
    "réservée aux administrateurs",
    "Vous n'êtes pas inscrit·e comme participant·e",
    "Seuls les participants envoient un plan d'action",
)


async def snapshot(db: Database) -> str:
    """A digest of every row of every table: equal digests, nothing written."""
    digest = hashlib.sha256()
    async with db.read() as conn:
        async with conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ) as cur:
            tables = [row[0] for row in await cur.fetchall()]
        for table in tables:
            async with conn.execute(f"SELECT * FROM {table} ORDER BY rowid") as cur:
                for row in await cur.fetchall():
                    digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


async def people(
    app: RelaisApp, api: OfflineBotAPI, db: Database, clock: FixedClock, new_user: NewUser
) -> dict[str, SimulatedUser]:
    participant = await add_participant(db, clock)
    cast = {"stranger": new_user("Inconnu"), "participant": new_user("Khadija")}
    await cast["participant"].send(f"/start {(await invite_for(db, clock, participant)).token}")
    for role in (Role.COORDINATOR, Role.EVALUATOR):
        user = new_user(role.value.title())
        await user.send(f"/start {(await staff_invite(db, clock, role)).token}")
        cast[role.value] = user
    cast["admin"] = SimulatedUser(api, direct_delivery(app, api), ADMIN_ID, "Admin")
    return cast


def refused(texts: list[str]) -> bool:
    return any(marker in text for text in texts for marker in REFUSALS)


@pytest.mark.parametrize("role", ROLES)
async def test_every_action_as_each_kind_of_user(
    role: str,
    app: RelaisApp,
    api: OfflineBotAPI,
    db: Database,
    clock: FixedClock,
    new_user: NewUser,
) -> None:
    cast = await people(app, api, db, clock, new_user)
    user = cast[role]
    for action, allowed in MATRIX:
        before = await snapshot(db)
        if action.startswith("press:"):
            turn = await user.press_data(action.removeprefix("press:"))
        else:
            turn = await user.send(action)
            if action == "/broadcast" and role in allowed:
                await user.send("/cancel")  # leave the conversation for the next action
        texts = [m.text for m in turn.sent + turn.edited] + [a["text"] for a in turn.answers]
        if role in allowed:
            assert not refused(texts), (role, action, texts)
        else:
            assert refused(texts), (role, action, texts)
            assert await snapshot(db) == before, (role, action)
            assert not [m for m in turn.sent if m.document or m.photo], (role, action)
