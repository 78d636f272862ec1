"""Shared fixtures: a real application on a real SQLite file, with Telegram replaced offline."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import RelaisApp, build_application, running, runtime_of
from bot.clock import Clock, FixedClock
from bot.content import Content, load_content
from bot.i18n import Translator
from bot.ratelimit import RelaisRateLimiter
from bot.sandbox.chat import SimulatedUser, direct_delivery
from bot.sandbox.offline import BOT_TOKEN, OfflineBotAPI
from bot.services.invites import IssuedInvite, issue_participant_invites, issue_staff_invite
from bot.settings import Settings
from bot.storage import Database, repo
from bot.storage.repo import Participant, ParticipantFields, Role

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "conversations"
ADMIN_ID = 9_000_001
# A week before the first live session of the shipped programme.
START = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)


# The French a participant reads (the default locale), for tests about behaviour: they name
# a message by its source text, so that rewording the French catalog changes no test.
FRENCH = Translator("fr", ZoneInfo("Africa/Casablanca"))


def fr(message: str, **params: object) -> str:
    """The bot's French for ``message`` (its msgid), with its placeholders filled."""
    return FRENCH.gettext(message, **params)


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(CONTENT_DIR)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database=tmp_path / "relais.db",
        content_dir=CONTENT_DIR,
        admin_ids=(ADMIN_ID,),
    )


def content_copy(tmp_path: Path) -> Path:
    """A copy of the shipped content folder, for a test to edit."""
    folder = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, folder)
    return folder


@pytest.fixture
def api() -> OfflineBotAPI:
    return OfflineBotAPI()


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database through every migration, made once per worker."""
    path = tmp_path_factory.mktemp("migrated") / "relais.db"

    async def make() -> None:
        db = await Database.open(path)
        await db.close()

    asyncio.run(make())
    return path


@pytest.fixture
async def app(
    settings: Settings, content: Content, clock: FixedClock, api: OfflineBotAPI, migrated: Path
) -> AsyncIterator[RelaisApp]:
    # A copy of the migrated empty database: the migrations ran for real once, and each
    # test starts from the very file they made (about 20 ms of CPU less per test).
    if not settings.database.exists():
        shutil.copyfile(migrated, settings.database)
    async with running(offline_app(settings, content, api, clock)) as application:
        yield application


def offline_app(
    settings: Settings, content: Content, api: OfflineBotAPI, clock: Clock | None = None
) -> RelaisApp:
    """The real application against the offline Bot API, pacing on simulated time (every
    test that builds one more, a restart say, builds it here)."""
    return build_application(
        settings,
        content,
        clock=clock,
        request=api.request(),
        # The emulator answers getUpdates too: otherwise PTB builds its default HTTPS client
        # for it (never used here), loading the system's CA bundle for every test.
        get_updates_request=api.request(),
        token=BOT_TOKEN,
        rate_limiter=simulated_limiter(settings),
    )


@pytest.fixture
def db(app: RelaisApp) -> Database:
    return runtime_of(app).db


_user_ids = itertools.count(600_001)


@pytest.fixture
def new_user(app: RelaisApp, api: OfflineBotAPI) -> Callable[..., SimulatedUser]:
    deliver = direct_delivery(app, api)

    def make(first_name: str = "Amina", language_code: str | None = "fr") -> SimulatedUser:
        return SimulatedUser(api, deliver, next(_user_ids), first_name, language_code=language_code)

    return make


async def add_participant(
    db: Database,
    clock: FixedClock,
    *,
    external_id: str = "A-001",
    full_name: str = "Khadija El Idrissi",
    cohort: str = "tanger",
    language: str | None = None,
) -> Participant:
    """Put one participant in the roster."""
    fields = ParticipantFields(
        external_id=external_id,
        full_name=full_name,
        email=f"{external_id.lower()}@example.org",
        gender="female",
        agency="Tanger",
        region="Tanger-Tétouan-Al Hoceïma",
        cohort=cohort,
        language=language,
    )
    async with db.transaction() as conn:
        return await repo.insert_participant(conn, fields, clock.now())


async def invite_for(db: Database, clock: FixedClock, participant: Participant) -> IssuedInvite:
    """Issue invites and return the one for ``participant``."""
    issued = await issue_participant_invites(db, clock=clock, ttl=timedelta(days=30), actor="test")
    for invite in issued:
        if invite.participant is not None and invite.participant.id == participant.id:
            return invite
    raise AssertionError("no invite issued for the participant")


async def staff_invite(db: Database, clock: FixedClock, role: Role) -> IssuedInvite:
    """A single-use staff invite."""
    return await issue_staff_invite(
        db, role=role, label="test", clock=clock, ttl=timedelta(days=7), actor="test"
    )


async def submitted_attempt(
    db: Database,
    clock: FixedClock,
    content: Content,
    participant_id: int,
    kind: str,
    stage: str,
    given: dict[str, Any] | None = None,
) -> None:
    """A stage the participant has sent, with the ``given`` answers (item id -> value)."""
    from bot.services.scores import stamp_of
    from bot.storage import answers

    instrument = content.instrument(kind)
    async with db.transaction() as conn:
        attempt = await answers.insert_attempt(
            conn,
            participant_id=participant_id,
            instrument=kind,
            stage=stage,
            number=1,
            content_version=content.version,
            seed=1,
            now=clock.now(),
        )
        for item, value in (given or {}).items():
            # Stamped with the item's version, as the questionnaire engine does.
            stamp = stamp_of(instrument.item(item) if instrument else None, value)
            await answers.save_answer(conn, attempt.id, item, value, clock.now(), stamp)
        await answers.submit(conn, attempt.id, clock.now())


class FakeTime:
    """A monotonic clock that only sleeping moves (for the sender's and limiter's pacing)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def simulated_limiter(settings: Settings, time: FakeTime | None = None) -> RelaisRateLimiter:
    """The production rate limiter on simulated time: it paces, but no test waits for it."""
    fake = time or FakeTime()
    return RelaisRateLimiter(
        bulk_rate=settings.outbox_rate, monotonic=fake.monotonic, sleep=fake.sleep
    )
