"""Start the outbox sender and keep the campaign schedule in PTB's JobQueue.

At start-up (and on ``/reload`` or SIGHUP) the planner queues what is due and
schedules one job per future due instant, under a deterministic name
(``relais-due-<UTC time>``), so re-planning replaces jobs rather than adding twins.
Each job simply runs the planner again; the outbox's unique keys make that safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import datetime
from typing import Any

from telegram.ext import Application

from bot.certificate_sender import DELIVERY_SECONDS, deliver_pending
from bot.content import ContentError, load_content
from bot.context import RelaisContext
from bot.i18n import Translator
from bot.runtime import runtime_of
from bot.sender import Sender
from bot.services.campaigns import PlanReport, plan
from bot.services.privacy import apply_retention
from bot.services.scores import answers_release, queue_answer_cards
from bot.services.versions import register as register_versions

log = logging.getLogger(__name__)

JOB_PREFIX = "relais-due-"
STOP_SECONDS = 10.0
MAX_JOBS = 2000
CHECKPOINT_SECONDS = 30.0
AnyApp = Application[Any, Any, Any, Any, Any, Any]


async def start_background(app: AnyApp) -> None:
    """Take over WAL checkpoints, resume the outbox, start the sender, plan, listen for SIGHUP."""
    rt = runtime_of(app)
    if app.job_queue is not None:
        await rt.db.defer_checkpoints()
        app.job_queue.run_repeating(
            _checkpoint_job, interval=CHECKPOINT_SECONDS, name="relais-checkpoint"
        )
    sender = Sender(app.bot, rt.db, rt.clock, rate=rt.settings.outbox_rate)
    await sender.start()
    rt.sender = sender
    app.bot_data["sender_task"] = asyncio.create_task(sender.run(), name="relais-outbox")
    await replan(app)
    await _retention(app)
    if app.job_queue is not None:
        app.job_queue.run_repeating(_retention_job, interval=24 * 3600, name="relais-retention")
        # Certificates approved from the command line (another process) are sent from here.
        app.job_queue.run_repeating(
            _certificates_job, interval=DELIVERY_SECONDS, first=1.0, name="relais-certificates"
        )
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        # Only where the platform and the main thread allow it (not in every test runner).
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, lambda: app.create_task(reload_content(app))
        )
        app.bot_data["sighup"] = True
    if rt.settings.webhook_url is not None:
        from bot.verify_page import start_verification_page

        app.bot_data["verify_page"] = await start_verification_page(
            rt, rt.settings.webhook_listen, rt.settings.verify_port
        )


async def reload_content(app: AnyApp) -> list[str]:
    """Load the content again; if valid, use it and re-plan. Returns the problems, if any."""
    rt = runtime_of(app)
    try:
        # Off the event loop: participants keep getting answers while the files are read.
        content = await asyncio.to_thread(load_content, rt.settings.content_dir)
    except ContentError as exc:
        log.error("reload refused, the running content is kept:\n%s", exc)
        return [str(p) for p in exc.problems]
    # The new versions are recorded (and questionnaires in progress follow their item)
    # in one transaction with no tap in between; then the new content serves the taps.
    await register_versions(rt.db, content, rt.clock.now())
    rt.content = content
    report = await replan(app)
    log.info(
        "content reloaded (version %s); %d future delivery time(s) scheduled",
        content.version[:12],
        len(report.due_times),
    )
    return []


async def stop_background(app: AnyApp) -> None:
    """Stop the sender task (rows it had not sent stay pending for the next start)."""
    if app.bot_data.pop("sighup", False):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
    page = app.bot_data.pop("verify_page", None)
    if page is not None:
        await page.cleanup()
    task = app.bot_data.pop("sender_task", None)
    sender = runtime_of(app).sender
    if isinstance(task, asyncio.Task):
        if sender is not None:
            # Let the message in flight finish, so its row ends sent or failed, not sending.
            sender.stopping.set()
            sender.wake.set()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), timeout=STOP_SECONDS)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def replan(app: AnyApp) -> PlanReport:
    """Queue what is due, wake the sender, and schedule a job at each future due time."""
    rt = runtime_of(app)
    now = rt.clock.now()
    tz = rt.content.programme.tz
    default = rt.settings.default_locale
    report = await plan(rt.db, rt.content, lambda loc: Translator(loc, tz), now, default)
    # The KAT's right answers go out once no cohort can still take the post-test.
    cards = await queue_answer_cards(
        rt.db, rt.content, lambda loc: Translator(loc or default, tz), now
    )
    release = answers_release(rt.content)
    if release is not None and release > now:
        report.due_times = sorted({*report.due_times, release})
    if rt.sender is not None:
        rt.sender.wake.set()
    queue = app.job_queue
    if queue is not None:
        for job in queue.jobs():
            if job.name and job.name.startswith(JOB_PREFIX):
                job.schedule_removal()
        for when in report.due_times[:MAX_JOBS]:
            queue.run_once(_due, when=_delay(when, now), name=JOB_PREFIX + when.isoformat())
    if report.queued:
        log.info("campaigns: %d queued", report.queued)
    if cards:
        log.info("kat: right answers queued for %d participant(s)", cards)
    for missed in report.missed:
        log.warning("campaigns: %s missed for %s: %s", missed.step, missed.cohort, missed.reason)
    return report


def _delay(when: datetime, now: datetime) -> float:
    # Seconds from the runtime clock, so a simulated clock and the JobQueue agree.
    return max(0.0, (when - now).total_seconds())


async def _due(context: RelaisContext) -> None:
    await replan(context.application)


async def _retention(app: AnyApp) -> None:
    rt = runtime_of(app)
    erased = await apply_retention(rt.db, rt.content, rt.settings.retention_days, rt.clock.now())
    if erased:
        log.info("retention: %d identit(y/ies) erased after the retention period", erased)


async def _checkpoint_job(context: RelaisContext) -> None:
    await context.runtime.db.checkpoint()


async def _retention_job(context: RelaisContext) -> None:
    await _retention(context.application)


async def _certificates_job(context: RelaisContext) -> None:
    await deliver_pending(context.bot, context.runtime)
