"""A live class: N participants take the KAT at once over Telegram's round trip, a broadcast drains.

The project's HTTP emulator plays Telegram with its limits (per chat 3 calls in any 3 s,
sends and edits alike; bulk sends 30/s; 429 with ``retry_after`` past either) and a
network delay on every Bot API call (``LATENCY`` each way). The real bot runs in its
own process (``relais run``: polling, outbox, JobQueue). N simulated participants take
the whole KAT pre-test (open, ten answers, send) with ``THINK`` seconds between taps,
while a coordinator's broadcast to ``RECIPIENTS`` people drains. The reference, in the
same run against the same emulator settings, is a PTB bot that only answers each
callback and edits the message (same update processor), without any broadcast.

Run alone: ``python -m benchmarks.live_class 100 500`` (sizes), or through ``make bench``.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import (
    ADMIN_ID,
    CONTENT_DIR,
    USER_BASE,
    Outcome,
    Row,
    bulk_build,
    create_schema,
    mark,
    percentile,
)
from bot.clock import SystemClock
from bot.content import load_content
from bot.outgoing import OutgoingMessage
from bot.sandbox.emulator import BotAPIEmulator, JSONDict, RateLimit, SentMessage, Upload
from bot.sandbox.offline import BOT_TOKEN
from bot.sandbox.server import EmulatorServer
from bot.services import broadcasts
from bot.storage import Database

SIZES = (100, 500, 1000)
TARGET_SIZE = 500
RECIPIENTS = 5000
OUTBOX_RATE = 25.0
THINK = 3.0  # seconds between a participant's taps
LATENCY = float(os.environ.get("RELAIS_BENCH_LATENCY", "0.040"))  # each way, per call
TAP_TIMEOUT = 60.0
ANNOUNCEMENT = "Annonce : la séance en direct reprend à 14 h."
START_TEXT = "Le test commence maintenant."


class LiveEmulator(BotAPIEmulator):
    """The emulator, counting answers by HTTP status and waking whoever waits on a chat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.statuses: Counter[int] = Counter()
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.announced: list[float] = []

    async def call(
        self, method: str, params: JSONDict, uploads: dict[str, Upload] | None = None
    ) -> tuple[int, JSONDict]:
        """Answer as the emulator does; count; tell a participant their screen changed."""
        status, body = await super().call(method, params, uploads)
        self.statuses[status] += 1
        if status == 200 and method.lower() in ("editmessagetext", "sendmessage"):
            chat = int(params["chat_id"])
            if method.lower() == "sendmessage" and params.get("text") == ANNOUNCEMENT:
                self.announced.append(time.monotonic())
            elif (waiter := self.waiting.pop(chat, None)) is not None and not waiter.done():
                waiter.set_result(time.monotonic())
        return status, body

    def emulator_call_log_off(self) -> None:
        """Keep memory flat: this run does not read the call log."""
        self.calls = _NoLog()


class _NoLog(list[Any]):
    def append(self, item: Any) -> None:
        return None


@dataclass
class Participant:
    """One simulated counsellor and what they tapped, in order."""

    user_id: int
    participant_id: int
    tapped: list[tuple[int, str]] = field(default_factory=list)  # (question, option id)
    latencies: list[float] = field(default_factory=list)
    open_latency: float | None = None
    finished: bool = False
    error: str | None = None


async def take_kat(api: LiveEmulator, person: Participant, rng: random.Random) -> None:
    """Open the KAT from the invitation, answer ten questions at random, send."""
    user = api.users[person.user_id]
    screen = next(m for m in api.visible(person.user_id) if m.text == START_TEXT)
    data = screen.buttons[0][0]["callback_data"]
    for step in range(14):
        question = _question(screen.text)
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        api.waiting[person.user_id] = waiter
        pressed = time.monotonic()
        await api.push_update("callback_query", api.callback_query(user, screen, data))
        try:
            arrived = await asyncio.wait_for(waiter, TAP_TIMEOUT)
        except TimeoutError:
            person.error = f"no answer to tap {step + 1}"
            return
        if step == 0:
            person.open_latency = arrived - pressed
        else:
            person.latencies.append(arrived - pressed)
            if data.split(":")[3] == "a" and question is not None:
                person.tapped.append((question, data.rsplit(":", 1)[-1]))
        screen = _questionnaire(api, person.user_id)
        if screen.text.startswith("Merci"):
            person.finished = True
            return
        data = _choose(screen, rng)
        await asyncio.sleep(THINK)
    person.error = "never reached the end"


def _questionnaire(api: BotAPIEmulator, chat_id: int) -> SentMessage:
    """The message showing the questionnaire (the one the invitation became)."""
    for message in api.visible(chat_id):
        if "Question" in message.text or "Vérifiez" in message.text or "Merci" in message.text:
            return message
    raise AssertionError(f"no questionnaire in chat {chat_id}")


def _question(text: str) -> int | None:
    if "Question " not in text:
        return None
    return int(text.split("Question ")[1].split("/")[0])


def _choose(screen: SentMessage, rng: random.Random) -> str:
    buttons = [b for row in screen.buttons for b in row]
    send = [b for b in buttons if b["callback_data"].endswith(":S")]
    if send:
        return str(send[0]["callback_data"])
    options = [b for b in buttons if ":a:" in b["callback_data"]]
    return str(rng.choice(options)["callback_data"])


async def enrol(api: BotAPIEmulator, n: int) -> list[Participant]:
    """The first ``n`` bound people get the trainer's "start now" message with its button."""
    people = []
    for i in range(1, RECIPIENTS + 1):
        user_id = USER_BASE + i
        api.add_user(user_id, f"P{i}")
        if i <= n:
            message = SentMessage(
                user_id,
                api.next_message_id(user_id),
                START_TEXT,
                reply_markup={
                    "inline_keyboard": [[{"text": "Commencer", "callback_data": "qo:kat:pre"}]]
                },
                date=api.now(),
            )
            api.chats[user_id].append(message)
            people.append(Participant(user_id, i))
    return people


def open_kat_now(folder: Path) -> Path:
    """The shipped content with the pre-test open whatever the date (the bot runs on the
    real clock)."""
    target = folder / "content"
    shutil.copytree(CONTENT_DIR, target)
    kat = target / "kat.yaml"
    text = kat.read_text(encoding="utf-8")
    text = text.replace("opens: 2027-01-04T08:00", "opens: 2020-01-01T08:00")
    text = text.replace("closes: {before: intro}", "closes: 2099-01-01T08:00")
    kat.write_text(text, encoding="utf-8")
    return target


def _env(server: EmulatorServer, database: Path, content: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAIS_")}
    env.update(
        RELAIS_BOT_TOKEN=BOT_TOKEN,
        RELAIS_API_BASE_URL=server.base_url,
        RELAIS_API_FILE_URL=server.base_file_url,
        RELAIS_DATABASE=str(database),
        RELAIS_CONTENT_DIR=str(content),
        RELAIS_LOG_LEVEL="WARNING",
        RELAIS_OUTBOX_RATE=str(OUTBOX_RATE),
        RELAIS_ADMIN_IDS=str(ADMIN_ID),
    )
    return env


async def _start(command: list[str], env: dict[str, str], api: BotAPIEmulator) -> Any:
    process = await asyncio.to_thread(
        subprocess.Popen, command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    started = time.monotonic()
    # Ready once it polls.
    while not any(c.method == "getUpdates" for c in api.calls[-50:]):
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"the bot exited: {error[-2000:]}")
        if time.monotonic() - started > 120:
            raise RuntimeError("the bot did not start polling within 120 s")
        await asyncio.sleep(0.1)
    return process


async def _stop(process: Any) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.to_thread(process.wait), 30)
    except TimeoutError:
        process.kill()


@dataclass
class ClassRun:
    """What one run of the class measured."""

    people: list[Participant]
    seconds: float
    broadcast_rate: float | None
    rate_limited: int
    in_order: int | None = None  # participants whose stored answers match their taps
    bot_cpu: float = float("nan")  # the bot process's CPU seconds while the class ran
    harness_cpu: float = float("nan")  # this process's (emulator and participants)
    broadcast_sent: int = 0  # broadcast messages delivered while the class ran

    @property
    def taps(self) -> list[float]:
        return [x for p in self.people for x in p.latencies]

    @property
    def opens(self) -> list[float]:
        return [p.open_latency for p in self.people if p.open_latency is not None]

    @property
    def finished(self) -> int:
        return sum(p.finished for p in self.people)


async def play(n: int, workdir: Path, *, reference: bool) -> ClassRun:
    """One class of ``n``: Relais (with the broadcast) or the reference bot."""
    database = workdir / f"{'ref' if reference else 'relais'}-{n}.db"
    content_dir = open_kat_now(workdir / f"{'ref' if reference else 'relais'}-{n}")
    api = LiveEmulator(chat_rate=RateLimit(3, 3.0), global_rate=RateLimit(30, 1.0))
    people = await enrol(api, n)
    rng = random.Random(n)
    if not reference:
        await create_schema(database)
        bulk_build(database, load_content(content_dir), RECIPIENTS, answers=False)
        await _queue_broadcast(database, content_dir)
    async with EmulatorServer(api, latency=LATENCY) as server:
        if reference:
            command = [sys.executable, "-m", "benchmarks.live_class", "--reference"]
        else:
            command = [
                sys.executable,
                "-c",
                "from bot.cli import main; raise SystemExit(main(['run']))",
            ]
        process = await _start(command, _env(server, database, content_dir), api)
        api.emulator_call_log_off()
        try:
            announced_before = len(api.announced)
            started = time.monotonic()
            cpu_before, harness_before = cpu_seconds(process.pid), time.process_time()

            async def one(person: Participant, delay: float) -> None:
                await asyncio.sleep(delay)  # people start within one think time
                await take_kat(api, person, random.Random(rng.random()))

            await asyncio.gather(*(one(p, rng.uniform(0, THINK)) for p in people))
            seconds = time.monotonic() - started
            bot_cpu = cpu_seconds(process.pid) - cpu_before
            harness_cpu = time.process_time() - harness_before
            during = [t for t in api.announced[announced_before:] if t <= started + seconds]
        finally:
            await _stop(process)
    rate = None
    if not reference and len(during) > 1:
        rate = (len(during) - 1) / (during[-1] - during[0])
    run = ClassRun(
        people, seconds, rate, api.statuses[429], bot_cpu=bot_cpu, harness_cpu=harness_cpu
    )
    run.broadcast_sent = len(during)
    if not reference:
        run.in_order = _check_answers(database, people)
    return run


async def _queue_broadcast(database: Path, content_dir: Path) -> None:
    clock = SystemClock()
    db = await Database.open(database)
    try:
        content = load_content(content_dir)
        people = await broadcasts.recipients(db, content, "all", clock.now())
        assert len(people) == RECIPIENTS, len(people)
        await broadcasts.create(
            db,
            created_by=ADMIN_ID,
            audience="all",
            message=OutgoingMessage(ANNOUNCEMENT),
            people=people,
            now=clock.now(),
        )
    finally:
        await db.close()


def _check_answers(database: Path, people: list[Participant]) -> int:
    """Participants whose stored answers are exactly what they tapped, none lost, in order."""
    conn = sqlite3.connect(database)
    good = 0
    try:
        for person in people:
            rows = conn.execute(
                "SELECT x.item, x.value, x.answered_at FROM answers x"
                " JOIN attempts a ON a.id = x.attempt_id WHERE a.participant_id = ?"
                " AND a.instrument = 'kat' AND a.stage = 'pre' AND a.submitted_at IS NOT NULL"
                " ORDER BY x.answered_at, x.rowid",
                (person.participant_id,),
            ).fetchall()
            stored = [(int(item[1:]), value.strip('"')) for item, value, _ in rows]
            tapped = sorted(person.tapped)  # one tap per question, questions in order
            order = [q for q, _ in person.tapped]
            if person.finished and stored == tapped and order == sorted(order) and len(rows) == 10:
                good += 1
    finally:
        conn.close()
    return good


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system), from /proc; NaN where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # After the command's name: state is field 3, utime and stime fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def rows_for(n: int, relais: ClassRun, ref: ClassRun) -> list[Row]:
    """The table rows of one size, with the targets at ``TARGET_SIZE``."""
    judged = n == TARGET_SIZE
    name = f"live class ({n:,})"
    rows = []
    for q, label in ((50, "p50"), (95, "p95"), (99, "p99"), (100, "max")):
        a = percentile(relais.taps, q) if relais.taps else float("nan")
        b = percentile(ref.taps, q) if ref.taps else float("nan")
        target, status = f"{a / b:.2f}×", "—"
        if q == 99 and judged:
            target, status = f"{a / b:.2f}× (≤ 1.5×)", mark(a <= 1.5 * b)
        rows.append(Row(name, f"tap {label}", _ms(a), _ms(b), target, status))
    if relais.opens and ref.opens:
        rows.append(
            Row(
                name,
                f"opens ({len(relais.opens)}) p99",
                _ms(percentile(relais.opens, 99)),
                _ms(percentile(ref.opens, 99)),
                "",
                "—",
            )
        )
    rows.append(
        Row(
            name,
            "taps/s",
            f"{len(relais.taps) / relais.seconds:,.0f}",
            f"{len(ref.taps) / ref.seconds:,.0f}",
            "",
            "—",
        )
    )
    cpu = (
        (
            "bot CPU per tap",
            relais.bot_cpu / max(1, len(relais.taps)),
            ref.bot_cpu / max(1, len(ref.taps)),
        ),
        ("bot CPU busy", relais.bot_cpu / relais.seconds, ref.bot_cpu / ref.seconds),
        ("harness CPU busy", relais.harness_cpu / relais.seconds, ref.harness_cpu / ref.seconds),
    )
    for label, a, b in cpu:
        if label.endswith("tap"):
            shown = (f"{a * 1000:.2f} ms", f"{b * 1000:.2f} ms")
        else:
            shown = (f"{a:.0%}", f"{b:.0%}")
        rows.append(Row(name, label, *shown, f"{a / b:.2f}×", "—"))
    rate = relais.broadcast_rate or 0.0
    rows.append(
        Row(
            name,
            "broadcast msg/s",
            f"{rate:.1f}",
            f"{OUTBOX_RATE:.0f} set",
            f"{rate / OUTBOX_RATE:.2f} (≥ 0.8)" if judged else f"{rate / OUTBOX_RATE:.2f}",
            mark(rate >= 0.8 * OUTBOX_RATE) if judged else "—",
        )
    )
    limited = relais.rate_limited + ref.rate_limited
    rows.append(
        Row(
            name,
            "429 responses",
            str(relais.rate_limited),
            str(ref.rate_limited),
            "0" if judged else "",
            mark(limited == 0) if judged else "—",
        )
    )
    rows.append(
        Row(
            name,
            "finished",
            f"{relais.finished}/{n}",
            f"{ref.finished}/{n}",
            f"{n}" if judged else "",
            mark(relais.finished == n) if judged else "—",
        )
    )
    rows.append(
        Row(
            name,
            "answers stored in tap order",
            f"{relais.in_order}/{n}",
            "—",
            f"{n}" if judged else "",
            mark(relais.in_order == n) if judged else "—",
        )
    )
    return rows


def sizes_for(n: int) -> list[int]:
    """The sizes of a run up to ``n`` (``RELAIS_LIVE_SIZES=100,500`` picks others)."""
    chosen = os.environ.get("RELAIS_LIVE_SIZES")
    if chosen:
        return [int(x) for x in chosen.split(",") if x.strip()]
    return [s for s in SIZES if s <= n] or [n]


async def run(n: int, workdir: Path) -> Outcome:
    """The class at each size up to ``n``: Relais with the broadcast, then the reference."""
    rows: list[Row] = []
    notes: list[str] = []
    for size in sizes_for(n):
        print(f"  live class: {size} participants, Relais…", flush=True)
        relais = await play(size, workdir, reference=False)
        print(f"  live class: {size} participants, reference…", flush=True)
        ref = await play(size, workdir, reference=True)
        rows += rows_for(size, relais, ref)
        errors = Counter(p.error for p in relais.people if p.error)
        if errors:
            notes.append(f"live class ({size}): unfinished: {dict(errors)}")
    notes.append(
        f"live class: the HTTP emulator with Telegram-like limits (per chat 3 calls in any 3 s,"
        f" sends and edits alike; bulk sends 30/s; 429 past either) and {LATENCY * 1000:.0f} ms"
        f" added each way to every Bot API call; `relais run` in its own process; N people take"
        f" the KAT pre-test (open from a message with a button, ten answers at random, send)"
        f" with {THINK:.0f} s between taps, starting within the first {THINK:.0f} s, while a"
        f" broadcast to {RECIPIENTS:,} (RELAIS_OUTBOX_RATE={OUTBOX_RATE:.0f}) drains; tap ="
        f" press to the edited message arriving at the emulator; broadcast msg/s counted while"
        f" the class runs; CPU: user + system seconds of the bot's process (from /proc) and"
        f" of this one (the emulator and the N participants) while the class runs, per tap"
        f" and as a share of one core; answers checked in the database (each participant's ten"
        f" stored"
        f" answers equal to the options tapped). Reference: a PTB bot (same PerUserProcessor)"
        f" that answers each callback and edits the message, same emulator, no broadcast."
    )
    return Outcome(rows, notes)


# --- the reference bot, run as its own process ---------------------------------------------------


def reference_main() -> None:
    """A PTB bot that answers each callback and edits the message to the next screen."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import Application, CallbackQueryHandler, ContextTypes

    from bot.updates import PerUserProcessor

    async def tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        assert query.data is not None
        await query.answer()
        parts = query.data.split(":")
        step = 0 if parts[0] == "qo" else int(parts[2]) + 1
        if step >= 11:
            await query.edit_message_text("Merci ! Vos réponses ont été envoyées.")
            return
        if step == 10:
            text, buttons = "Vérifiez vos réponses", [("Envoyer", f"q:1:{step}:S")]
        else:
            text = f"Question {step + 1}/10"
            buttons = [(o.upper(), f"q:1:{step}:a:{o}") for o in "abcd"]
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(label, callback_data=data)] for label, data in buttons]
        )
        await query.edit_message_text(text, reply_markup=markup)

    app = (
        Application.builder()
        .token(os.environ["RELAIS_BOT_TOKEN"])
        .base_url(os.environ["RELAIS_API_BASE_URL"])
        .concurrent_updates(PerUserProcessor())
        .build()
    )
    app.add_handler(CallbackQueryHandler(tap))
    app.run_polling(poll_interval=0.0, timeout=10, allowed_updates=["callback_query"])


async def _main(sizes: list[int]) -> None:
    from benchmarks.common import table

    with tempfile.TemporaryDirectory(prefix="relais-live-") as folder:
        os.environ["RELAIS_LIVE_SIZES"] = ",".join(map(str, sizes))
        outcome = await run(max(sizes), Path(folder))
    print(table(outcome.rows))
    for note in outcome.notes:
        print(f"- {note}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--reference"]:
        reference_main()
    else:
        asyncio.run(_main([int(a) for a in sys.argv[1:]] or [100]))
