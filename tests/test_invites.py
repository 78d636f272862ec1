"""Invite tokens: random, hashed at rest, single use, expiring, bound to one account."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.sandbox.chat import SimulatedUser
from bot.services.invites import (
    RedeemStatus,
    deep_link,
    hash_token,
    issue_participant_invites,
    new_token,
    redeem,
    write_invites_csv,
    write_qr_codes,
)
from bot.storage import Database, repo
from tests.conftest import add_participant, invite_for


def test_tokens_are_random_url_safe_and_fit_a_start_payload() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        assert len(token) <= 64
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    # 24 random bytes: 192 bits, well above the 128 required.
    assert all(len(t) == 32 for t in tokens)


async def _redeem(db: Database, clock: FixedClock, token: str, user_id: int) -> RedeemStatus:
    result = await redeem(
        db,
        token=token,
        user_id=user_id,
        chat_id=user_id,
        language_code="fr",
        default_locale="fr",
        display_name="x",
        clock=clock,
    )
    return result.status


async def test_only_the_hash_is_stored(db: Database, clock: FixedClock, tmp_path: Path) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    async with db.read() as conn:
        stored = await repo.invite_by_hash(conn, hash_token(invite.token))
        assert stored is not None
        cursor = await conn.execute("SELECT * FROM invites")
        rows = [tuple(r) for r in await cursor.fetchall()]
    assert invite.token not in repr(rows)


async def test_use_replay_another_user_and_same_user(db: Database, clock: FixedClock) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    assert await _redeem(db, clock, invite.token, 501) is RedeemStatus.ENROLLED
    assert await _redeem(db, clock, invite.token, 502) is RedeemStatus.USED
    assert await _redeem(db, clock, invite.token, 501) is RedeemStatus.ALREADY_ENROLLED
    async with db.read() as conn:
        binding = await repo.binding_for_participant(conn, participant.id)
        assert binding is not None
        assert binding.user_id == 501
        assert await repo.participant_for_user(conn, 502) is None


async def test_expiry_is_checked_against_the_clock(db: Database, clock: FixedClock) -> None:
    participant = await add_participant(db, clock)
    invite = await invite_for(db, clock, participant)
    clock.advance(timedelta(days=30))
    assert await _redeem(db, clock, invite.token, 501) is RedeemStatus.EXPIRED
    async with db.read() as conn:
        assert await repo.binding_for_participant(conn, participant.id) is None


async def test_one_account_per_participant_and_per_person(db: Database, clock: FixedClock) -> None:
    first = await add_participant(db, clock, external_id="A-1")
    second = await add_participant(db, clock, external_id="A-2", full_name="Sara Bennani")
    issued = await issue_participant_invites(db, clock=clock, ttl=timedelta(days=5), actor="t")
    token = {i.participant.id: i.token for i in issued if i.participant}
    assert await _redeem(db, clock, token[first.id], 501) is RedeemStatus.ENROLLED
    assert await _redeem(db, clock, token[second.id], 501) is RedeemStatus.ACCOUNT_TAKEN
    assert await _redeem(db, clock, "x" * 32, 503) is RedeemStatus.UNKNOWN
    assert await _redeem(db, clock, "not a token!", 503) is RedeemStatus.UNKNOWN


async def test_reissuing_revokes_the_earlier_link(db: Database, clock: FixedClock) -> None:
    participant = await add_participant(db, clock)
    old = await invite_for(db, clock, participant)
    new = await invite_for(db, clock, participant)
    assert await _redeem(db, clock, old.token, 501) is RedeemStatus.USED
    assert await _redeem(db, clock, new.token, 501) is RedeemStatus.ENROLLED
    # An enrolled participant gets no new link.
    again = await issue_participant_invites(db, clock=clock, ttl=timedelta(days=5), actor="t")
    assert again == []


async def test_csv_and_qr_files_open_in_other_programs(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    await add_participant(db, clock, external_id="A-1")
    await add_participant(db, clock, external_id="A-2", full_name="Sara Bennani")
    issued = await issue_participant_invites(db, clock=clock, ttl=timedelta(days=5), actor="t")
    out = tmp_path / "invites.csv"
    write_invites_csv(out, issued, "relais_test_bot")
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert len(rows) == 2
    links = {deep_link("relais_test_bot", i.token) for i in issued}
    assert {r[k] for r in rows for k in r if r[k] and r[k].startswith("https://t.me/")} == links
    write_qr_codes(tmp_path / "qr", issued, "relais_test_bot")
    pngs = sorted((tmp_path / "qr").glob("*.png"))
    assert len(pngs) == 2
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)


async def test_an_invitation_that_begins_like_a_check_in_code_still_enrols(
    db: Database,
    clock: FixedClock,
    new_user: Callable[..., SimulatedUser],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One token in 4,096 begins with "c_", the check-in codes' prefix (and as many with
    # the certificates' "v_"): /start tells them apart by length, not by prefix alone.
    drawn = iter(["c_" + "A" * 30, "v_" + "B" * 30])
    monkeypatch.setattr("bot.services.invites.secrets.token_urlsafe", lambda _n: next(drawn))
    await add_participant(db, clock)
    await add_participant(db, clock, external_id="A-002", full_name="Nadia Alami")
    issued = await issue_participant_invites(db, clock=clock, ttl=timedelta(days=30), actor="t")
    assert [i.token[:2] for i in issued] == ["c_", "v_"]
    for invite in issued:
        assert invite.participant is not None
        welcome = await new_user("Khadija").send(f"/start {invite.token}")
        assert welcome.sent[0].text.startswith(f"Bienvenue, {invite.participant.full_name} !")
