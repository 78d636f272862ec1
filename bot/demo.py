"""``relais demo``: the whole enrolment journey, offline, printed as a chat transcript.

It uses the real application, handlers, services and a real SQLite file; only
Telegram is replaced by the in-process offline Bot API. The clock is fixed a
week before the programme starts so that /me has sessions to show.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import build_application, running, runtime_of
from bot.clock import FixedClock
from bot.content import load_content
from bot.sandbox.chat import SimulatedUser, Turn
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI
from bot.services.invites import (
    deep_link,
    issue_participant_invites,
    issue_staff_invite,
    write_invites_csv,
    write_qr_codes,
)
from bot.services.roster import import_roster
from bot.settings import Settings
from bot.storage.repo import Role

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ROSTER = ROOT / "examples" / "roster-sample.csv"
DEMO_NOW = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)
_TAG = re.compile(r"<[^>]+>")


def _show(who: str, turn: Turn) -> None:
    for message in turn.sent + turn.edited:
        label = "Relais" if message in turn.sent else "Relais (edited)"
        print(f"  {label}:")
        for line in _TAG.sub("", message.text).splitlines():
            print(f"    {line}")
        if message.button_texts:
            print("    " + "  ".join(f"[{b}]" for b in message.button_texts))
    for answer in turn.answers:
        if answer.get("text"):
            print(f"  Relais (notice): {answer['text']}")
    print()


def run_demo(out: Path) -> int:
    """Start from an empty output folder and play the demo."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return asyncio.run(_play(out, SAMPLE_ROSTER.read_bytes()))


async def _play(out: Path, roster: bytes) -> int:
    """Import the sample roster, issue invites and play a few conversations."""
    settings = Settings(database=out / "relais-demo.db", content_dir=ROOT / "conversations")
    content = load_content(settings.content_dir)
    clock = FixedClock(DEMO_NOW)
    api = OfflineBotAPI()
    app = build_application(settings, content, clock=clock, request=api.request(), token=BOT_TOKEN)
    print("Relais demo — offline: no Telegram token, no network.\n")
    print(
        f"1. Content {', '.join(p.name for p in content.files)}: valid "
        f"(version {content.version[:12]})."
    )
    async with running(app):
        db = runtime_of(app).db
        report = await import_roster(
            db,
            roster,
            cohort_ids=content.programme.cohort_ids,
            clock=clock,
            actor="demo",
        )
        print(f"2. Roster {SAMPLE_ROSTER.name}: {report.created} participants imported.")
        issued = await issue_participant_invites(
            db, clock=clock, ttl=timedelta(days=30), actor="demo"
        )
        write_invites_csv(out / "invites.csv", issued, api.username)
        qr = write_qr_codes(out / "qr", issued, api.username)
        print(
            f"3. Invites: {len(issued)} single-use links in {out / 'invites.csv'}, "
            f"{len(qr)} QR codes in {out / 'qr'}.\n"
        )

        first = issued[0]
        assert first.participant is not None
        print(f"4. Conversations (the clock is fixed at {DEMO_NOW:%Y-%m-%d %H:%M} UTC):\n")
        stranger = SimulatedUser(app, api, 500_001, "Visiteur", language_code="fr")
        print("— Someone without an invitation writes to the bot:\n  > Bonjour")
        _show("stranger", await stranger.send("Bonjour"))

        name = first.participant.full_name.split()[0]
        person = SimulatedUser(app, api, 500_002, name, language_code="fr")
        link = deep_link(api.username, first.token)
        print(f"— {name} opens the invitation link {link}:\n  > /start {first.token}")
        _show(name, await person.send(f"/start {first.token}"))
        print(f"— {name} asks for the next sessions:\n  > /me")
        _show(name, await person.send("/me"))
        print(f"— {name} switches to Arabic:\n  > /language")
        _show(name, await person.send("/language"))
        print("  taps [العربية]")
        _show(name, await person.press("العربية"))
        print("  > /me")
        _show(name, await person.send("/me"))

        other = SimulatedUser(app, api, 500_003, "Yassine", language_code="fr")
        print(f"— Someone else tries {name}'s link again:\n  > /start {first.token}")
        _show("other", await other.send(f"/start {first.token}"))

        staff = await issue_staff_invite(
            db,
            role=Role.COORDINATOR,
            label="demo",
            clock=clock,
            ttl=timedelta(days=7),
            actor="demo",
        )
        coordinator = SimulatedUser(app, api, 500_004, "Salma", language_code="en")
        print(
            f"— A coordinator enrols with a staff link (Telegram set to English):\n"
            f"  > /start {staff.token}"
        )
        _show("coordinator", await coordinator.send(f"/start {staff.token}"))
        print("  > /help")
        _show("coordinator", await coordinator.send("/help"))
    print(f"Database: {settings.database}")
    return 0
