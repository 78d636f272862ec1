"""The emulator and the real bot running side by side, as in production but on 127.0.0.1.

``open_sandbox`` starts the HTTP emulator, builds the application from settings whose
only difference from production is the Bot API base URL, and runs it by long
polling (or a webhook). Simulated users then queue updates in the emulator, and
each action returns once the bot has handled it. Used by ``relais sandbox``,
``relais demo`` and the end-to-end tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.app import RelaisApp, Webhook, build_application, runtime_of, serving
from bot.clock import Clock, SystemClock
from bot.content import Content
from bot.ratelimit import RelaisRateLimiter, VirtualTime
from bot.sandbox.chat import Deliver, SimulatedUser
from bot.sandbox.emulator import BotAPIEmulator, JSONDict
from bot.sandbox.server import EmulatorServer
from bot.scheduling import replan
from bot.services.invites import (
    IssuedInvite,
    issue_participant_invites,
    issue_staff_invite,
    issue_supervisor_invites,
)
from bot.services.roster import ImportReport, import_roster
from bot.settings import Settings
from bot.storage import Database
from bot.storage.repo import Role

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLE_ROSTER = ROOT / "examples" / "roster-sample.csv"


def queued_delivery(api: BotAPIEmulator, app: RelaisApp, seconds: float = 15.0) -> Deliver:
    """Queue the update in the emulator and return once the bot, polling or hooked, handled it."""

    async def deliver(kind: str, payload: JSONDict) -> None:
        update_id = await api.push_update(kind, payload)
        await app.wait_handled(update_id, seconds)

    return deliver


@dataclass
class Seed:
    """What ``seed`` put in the database: the roster report and one invite per role."""

    report: ImportReport
    participants: list[IssuedInvite]
    staff: dict[Role, IssuedInvite] = field(default_factory=dict)
    # One invitation per supervisor the roster names, in the roster's order.
    supervisors: list[IssuedInvite] = field(default_factory=list)


async def seed(db: Database, content: Content, clock: Clock, roster: bytes) -> Seed:
    """Import a roster and issue invites for every participant, each staff role and every
    supervisor the roster names."""
    report = await import_roster(
        db, roster, cohort_ids=content.programme.cohort_ids, clock=clock, actor="sandbox"
    )
    issued = await issue_participant_invites(
        db, clock=clock, ttl=timedelta(days=30), actor="sandbox"
    )
    staff = {
        role: await issue_staff_invite(
            db, role=role, label="sandbox", clock=clock, ttl=timedelta(days=30), actor="sandbox"
        )
        for role in (Role.COORDINATOR, Role.EVALUATOR, Role.ADMIN)
    }
    supervisors = await issue_supervisor_invites(
        db, clock=clock, ttl=timedelta(days=30), actor="sandbox"
    )
    return Seed(report, issued, staff, supervisors)


@dataclass
class Sandbox:
    """A running emulator and bot."""

    api: BotAPIEmulator
    server: EmulatorServer
    app: RelaisApp
    clock: Clock

    @property
    def db(self) -> Database:
        return runtime_of(self.app).db

    async def tick(self) -> int:
        """What the scheduler would do at this (simulated) moment: plan, send what is due,
        refresh broadcast progress messages and check-in codes."""
        await replan(self.app)
        sender = runtime_of(self.app).sender
        sent = await sender.drain_all() if sender is not None else 0
        queue = self.app.job_queue
        if queue is not None:
            for job in queue.jobs():
                # Broadcast progress, and the check-in QR code renewed as simulated time moves.
                if job.name and job.name.startswith(("relais-broadcast-", "relais-checkin-")):
                    await job.run(self.app)
        return sent

    def user(
        self, user_id: int, first_name: str, *, language_code: str | None = "fr"
    ) -> SimulatedUser:
        """A Telegram account whose actions go through the emulator to the running bot."""
        return SimulatedUser(
            self.api,
            queued_delivery(self.api, self.app),
            user_id,
            first_name,
            language_code=language_code,
        )


@asynccontextmanager
async def running_bot(
    api: BotAPIEmulator,
    server: EmulatorServer,
    settings: Settings,
    content: Content,
    *,
    clock: Clock | None = None,
    webhook: Webhook | None = None,
    paced: bool = True,
) -> AsyncIterator[Sandbox]:
    """Run the real bot against a running emulator until the block exits.

    ``paced=False`` (scripts): the rate limiter decides on virtual time, so a script is
    not slowed to a person's pace.
    """
    clock = clock or SystemClock()
    local = settings.model_copy(
        update={"api_base_url": server.base_url, "api_file_url": server.base_file_url}
    )
    limiter, virtual = None, None
    if not paced:
        virtual = VirtualTime()
        limiter = RelaisRateLimiter(
            bulk_rate=local.outbox_rate, monotonic=virtual.monotonic, sleep=virtual.sleep
        )
    app = build_application(local, content, clock=clock, token=api.token, rate_limiter=limiter)
    # Short long-polls keep shutdown quick; the emulator answers at once when there is news.
    async with serving(app, webhook=webhook, poll_timeout=2):
        sender = runtime_of(app).sender
        if virtual is not None and sender is not None:
            # The outbox paces each chat too (a second apart): on the same virtual time, or
            # every reminder a moved clock makes due waits a real second in a script.
            sender.sleep, sender.monotonic = virtual.sleep, virtual.monotonic
        yield Sandbox(api, server, app, clock)


@asynccontextmanager
async def open_sandbox(
    settings: Settings,
    content: Content,
    *,
    clock: Clock | None = None,
    webhook: Webhook | None = None,
    api: BotAPIEmulator | None = None,
    paced: bool = True,
) -> AsyncIterator[Sandbox]:
    """Start an emulator on a free port and the real bot against it."""
    api = api or BotAPIEmulator(clock=clock)
    async with (
        EmulatorServer(api) as server,
        running_bot(
            api, server, settings, content, clock=clock, webhook=webhook, paced=paced
        ) as sandbox,
    ):
        yield sandbox
