"""What a red-team pass found: each defect replayed as the person who met it would."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot import callbacks
from bot.app import RelaisApp
from bot.callbacks import language_data
from bot.clock import FixedClock
from bot.logs import LIBRARIES, configure_logging
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.offline import OfflineBotAPI
from bot.services.privacy import forget
from bot.services.roster import RosterError, import_roster
from bot.services.text import clean_text
from bot.storage import Database, repo
from bot.storage.repo import Role
from tests.conftest import add_participant, invite_for, staff_invite

NewUser = Callable[..., SimulatedUser]
COHORTS = {"tanger", "agadir", "marrakech"}


async def scalar(db: Database, sql: str, *params: object) -> object:
    async with db.read() as conn, conn.execute(sql, params) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def enrolled(db: Database, clock: FixedClock, new_user: NewUser) -> SimulatedUser:
    participant = await add_participant(db, clock)
    user = new_user("Khadija")
    await user.send(f"/start {(await invite_for(db, clock, participant)).token}")
    return user


# --- 4: only the private chat's membership counts -------------------------------------------


async def test_a_group_membership_change_does_not_touch_private_reachability(
    db: Database, clock: FixedClock, new_user: NewUser, api: OfflineBotAPI
) -> None:
    user = await enrolled(db, clock, new_user)
    group = {"id": -100_555, "type": "group", "title": "Promo Tanger"}
    for old, new in (("member", "left"), ("left", "member"), ("member", "kicked")):
        update = api.chat_member_update(user.account, old, new)
        update["chat"] = group
        await user.deliver("my_chat_member", update)
        reachable = "SELECT reachable FROM telegram_bindings WHERE user_id = ?"
        assert await scalar(db, reachable, user.user_id) == 1
    await user.block()  # the private chat does count
    assert await scalar(db, reachable, user.user_id) == 0
    update = api.chat_member_update(user.account, "member", "member")
    update["chat"] = group
    await user.deliver("my_chat_member", update)  # a group says nothing of the blocker either
    assert await scalar(db, reachable, user.user_id) == 0


# --- 5: a roster re-import cannot merge two people ------------------------------------------

FIRST = (
    b"external_id;full_name;email;cohort\n"
    b"N-1;Nadia Amrani;nadia@example.org;tanger\n"
    b"Y-1;Youssef Berrada;youssef@example.org;tanger\n"
)
# Row 2 finds Nadia by e-mail, row 3 finds her by external id: both would rewrite her.
MERGING = (
    b"external_id;full_name;email;cohort\n"
    b"Y-2;Youssef Berrada;nadia@example.org;tanger\n"
    b"N-1;Nadia Amrani;nadia.a@example.org;tanger\n"
)


async def test_two_rows_resolving_to_one_participant_are_refused_naming_both(
    db: Database, clock: FixedClock
) -> None:
    await import_roster(db, FIRST, cohort_ids=COHORTS, clock=clock, actor="test")
    with pytest.raises(RosterError) as refused:
        await import_roster(db, MERGING, cohort_ids=COHORTS, clock=clock, actor="test")
    assert [str(p) for p in refused.value.problems] == [
        "row 3: row 2 and this row both match participant "
        + str(await scalar(db, "SELECT code FROM participants WHERE external_id = 'N-1'"))
        + "; keep one row for that person"
    ]
    # Nothing changed: Nadia is still Nadia.
    name = "SELECT full_name FROM participants WHERE email = 'nadia@example.org'"
    assert await scalar(db, name) == "Nadia Amrani"


async def test_row_numbers_are_the_spreadsheets_after_a_multi_line_cell(
    db: Database, clock: FixedClock
) -> None:
    data = (
        b"external_id;full_name;agency;cohort\n"
        b'A-1;Amina;"Agence\nCentre-ville\nTanger";tanger\n'
        b"A-2;Omar;Agadir;casablanca\n"
    )
    with pytest.raises(RosterError) as refused:
        await import_roster(db, data, cohort_ids=COHORTS, clock=clock, actor="test")
    assert str(refused.value.problems[0]).startswith("row 3, column cohort: unknown cohort")


# --- 7: a revoked coordinator cannot finish a broadcast; an idle draft expires --------------


async def coordinator(db: Database, clock: FixedClock, new_user: NewUser) -> SimulatedUser:
    await enrolled(db, clock, new_user)
    salma = new_user("Salma")
    await salma.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    return salma


async def test_a_coordinator_revoked_mid_broadcast_cannot_send_it(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    salma = await coordinator(db, clock, new_user)
    await salma.send("/broadcast")
    await salma.press("Tout le monde (1)")
    preview = await salma.send("Réunion demain")
    assert preview.last.button_texts == ["Valider", "Annuler"]
    async with db.transaction() as conn:
        assert await repo.revoke_role(conn, salma.user_id, Role.COORDINATOR)
    turn = await salma.press("Valider")
    # No role left: she is told, as anyone without access, how to get in.
    assert turn.text.startswith("Bonjour ! Ce bot est réservé")
    assert await scalar(db, "SELECT count(*) FROM broadcasts") == 0
    assert await scalar(db, "SELECT count(*) FROM outbox WHERE kind = 'broadcast'") == 0


async def test_a_revoked_coordinator_cannot_even_give_the_message(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    salma = await coordinator(db, clock, new_user)
    await salma.send("/broadcast")
    await salma.press("Tout le monde (1)")
    async with db.transaction() as conn:
        await repo.revoke_role(conn, salma.user_id, Role.COORDINATOR)
    turn = await salma.send("Réunion demain")
    assert turn.text.startswith("Bonjour ! Ce bot est réservé")  # no preview
    assert len(turn.sent) == 1


async def test_an_idle_broadcast_draft_expires(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    salma = await coordinator(db, clock, new_user)
    await salma.send("/broadcast")
    await salma.press("Tout le monde (1)")
    await salma.send("Réunion demain")
    clock.advance(timedelta(hours=2))
    turn = await salma.press("Valider")
    assert "attendu trop longtemps" in turn.text
    assert await scalar(db, "SELECT count(*) FROM broadcasts") == 0
    # The conversation is over: the next /broadcast starts afresh.
    assert "À qui envoyer l'annonce ?" in (await salma.send("/broadcast")).text


# --- 9: forget leaves no identity behind -----------------------------------------------------


async def test_forget_erases_the_telegram_id_of_attempts_and_the_action_plan_file(
    db: Database, clock: FixedClock, new_user: NewUser
) -> None:
    user = await enrolled(db, clock, new_user)
    await user.send_document(b"%PDF-1.4 plan", "Plan_action_Khadija_El_Idrissi_A-001.pdf")
    clock.advance(timedelta(days=1))
    await user.send("/me")
    await user.press("Commencer : Test avant la formation")
    code = str(await scalar(db, "SELECT code FROM participants"))
    assert await scalar(db, "SELECT chat_id FROM attempts") == user.user_id
    salma = new_user("Salma")
    await salma.send(f"/start {(await staff_invite(db, clock, Role.COORDINATOR)).token}")
    await forget(db, code, with_answers=False, actor="test", now=clock.now())
    assert await scalar(db, "SELECT chat_id FROM attempts") is None
    assert await scalar(db, "SELECT file_name FROM action_plans") is None
    assert await scalar(db, "SELECT file_id FROM action_plans") == ""
    turn = await salma.send(f"/plans {code}")
    assert turn.text == f"Aucun plan d'action de {code}."
    assert not [m for m in turn.sent if m.document]
    raw = await asyncio.to_thread(Path(db.path).read_bytes)
    assert b"Plan_action_Khadija" not in raw


# --- 14: control characters never reach the database ----------------------------------------


def test_clean_text_keeps_newlines_and_tabs_and_drops_other_controls() -> None:
    assert clean_text("a\x00b\x1b[31mc\r\nd\re\tf\u2028g\x7f\ud800") == "ab[31mc\nd\ne\tf\ng"
    assert clean_text("مرحبا\u200f 1") == "مرحبا\u200f 1"  # format characters stay


# --- 15: small things that logged errors or crashed ------------------------------------------


async def test_a_forged_stop_button_with_30_digits_is_refused_quietly(
    db: Database, clock: FixedClock, new_user: NewUser, caplog: pytest.LogCaptureFixture
) -> None:
    salma = await coordinator(db, clock, new_user)
    with caplog.at_level(logging.ERROR):
        turn = await salma.press_data(callbacks.broadcast_stop(10**30 - 1))
    assert turn.answers
    assert turn.answers[0]["text"] == "Ce bouton n'est plus valide."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_double_tap_on_a_language_button_is_no_error(
    app: RelaisApp,
    db: Database,
    clock: FixedClock,
    new_user: NewUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await enrolled(db, clock, new_user)
    await user.send("/language")
    message = user.chat[-1]
    with caplog.at_level(logging.ERROR):
        await user.press("English", message)
        second = await user.press_data(language_data("en"), message)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not second.sent  # no apology
    assert user.chat[-1].text == "Done: I will now write to you in English."


# --- 11: DEBUG logging carries no personal data -----------------------------------------------


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in LIBRARIES}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


@pytest.mark.usefixtures("_restore_logging")
async def test_debug_logging_writes_no_name_nor_what_people_typed(
    db: Database, clock: FixedClock, new_user: NewUser, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG")
    logging.getLogger("bot.test").debug("relais' own debug lines still show")
    user = await enrolled(db, clock, new_user)  # greeted by full name
    await user.send("Mon numéro est le 0612345678")
    err = capsys.readouterr().err
    assert "relais' own debug lines still show" in err
    for personal in ("Khadija El Idrissi", "Khadija", "0612345678"):
        assert personal not in err
