"""``relais demo``: everything Relais does today, played through the sandbox and printed.

The real application runs by long polling against the local Bot API emulator over
HTTP, on a real SQLite file in the output folder; the clock is fixed a week before
the programme starts. The conversation is ``examples/demo.script``, in the same
language as ``relais sandbox --script``. Then the rest of the roster lives the year
through the questionnaire services (``bot.sandbox.population``), so that the export
and the report at the end have a whole class behind them. Logs go to a file in the
output folder: the transcript is what a person reads, the log what an operator reads.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.i18n import Translator
from bot.logs import configure_logging
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.harness import SAMPLE_ROSTER, open_sandbox, seed
from bot.sandbox.population import DEFAULT_SEED, SimulationError, simulate_class
from bot.sandbox.terminal import Session, Style, Transcript, play_script
from bot.services import export
from bot.services.invites import IssuedInvite, write_invites_csv, write_qr_codes
from bot.services.report import figures
from bot.settings import Settings
from bot.storage import Database, outbox
from bot.views.report import draw_charts, render_html

ROOT = Path(__file__).resolve().parent.parent
DEMO_SCRIPT = ROOT / "examples" / "demo.script"
DEMO_NOW = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)
# The report is made once the six-month follow-up has closed for every cohort.
REPORT_AT = datetime(2027, 11, 26, 9, 0, tzinfo=UTC)
LOG_NAME = "relais.log"


def run_demo(
    out: Path,
    settings: Settings | None = None,
    *,
    people: int | None = None,
    seed_value: int = DEFAULT_SEED,
) -> int:
    """Start from an empty output folder and play the demo.

    ``people`` limits the simulated class to the first so many of the roster (tests).
    """
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    # The database, the invitation links and their QR codes name people: owner only.
    out.chmod(0o700)
    configure_logging("INFO", path=out / LOG_NAME)
    base = settings or Settings(content_dir=ROOT / "conversations")
    try:
        return asyncio.run(
            _play(
                out,
                base.model_copy(update={"database": out / "relais-demo.db"}),
                people,
                seed_value,
            )
        )
    finally:
        # Close the log file; anything logged after the demo goes to stderr again.
        for handler in logging.getLogger().handlers:
            handler.close()
        configure_logging("WARNING")


async def _evaluation(out: Path, db: Database, content: Content, settings: Settings) -> None:
    """What an evaluator takes away: the export and the report, in the output folder."""
    t = Translator("fr", content.programme.tz)
    answers = await export.write_csv(db, content, out / "export.csv", export.Filters(), t)
    await export.write_xlsx(db, content, out / "export.xlsx", export.Filters(), t)
    found = await figures(db, content, REPORT_AT, settings.report_min_cell)
    drawn = draw_charts(found, content, t)  # once, for the page and the chart files
    (out / "report.html").write_text(render_html(found, content, t, drawn), encoding="utf-8")
    # The same report in Arabic (right to left), as `relais report --locale ar` writes it.
    arabic = Translator("ar", content.programme.tz)
    (out / "report-ar.html").write_text(render_html(found, content, arabic), encoding="utf-8")
    charts = out / "charts"
    charts.mkdir(exist_ok=True)
    for chart in drawn:
        (charts / chart.name).write_bytes(chart.png)
    print(
        f"7. Evaluation on {REPORT_AT:%Y-%m-%d} (every stage closed): {answers} answers "
        f"exported to {out / 'export.csv'} and {out / 'export.xlsx'} (participants as codes); "
        f"report in {out / 'report.html'} (in Arabic: {out / 'report-ar.html'}), charts in "
        f"{charts} (every figure on at least {found.k} people).\n"
    )


async def _missed_line(db: Database, out: Path) -> str:
    """One line on what the scheduler recorded as missed, counted per campaign."""
    async with db.read() as conn:
        marks = await outbox.plan_marks(conn)
    missed = Counter(m.step.split(":", 1)[0] for m in marks.values() if m.reason)
    if not missed:
        return "Scheduler: nothing was recorded as missed."
    each = ", ".join(f"{campaign} {n}" for campaign, n in sorted(missed.items()))
    return (
        f"Scheduler: {sum(missed.values())} planned deliveries (cohort and step) recorded as "
        f"missed because the simulated clock jumped past them ({each}); each one is in "
        f"{out / LOG_NAME}."
    )


async def _class(
    out: Path,
    db: Database,
    api: BotAPIEmulator,
    content: Content,
    invites: list[IssuedInvite],
    seed_value: int,
    supervisors: list[IssuedInvite],
) -> None:
    """The rest of the roster and their line managers, simulated through the questionnaire
    services."""
    report = await simulate_class(
        db,
        api,
        content,
        invites,
        start=DEMO_NOW,
        until=REPORT_AT,
        out=out,
        seed=seed_value,
        supervisors=supervisors,
    )
    print(
        f"6. The rest of the roster, simulated (seed {seed_value}) through the same services "
        f"as the chat's taps: of {report.roster - report.narrated} people, "
        f"{report.enrolled} enrolled and {report.never_enrolled} never did; "
        f"{report.dropped_out} dropped out on the way, {report.unfinished} questionnaire(s) "
        f"left half done, {report.scored_lower} scored lower after the training.\n"
        f"   Submitted: {report.stage_counts(content)}.\n"
        f"   Attendance: {report.attendance_rows} rows imported from {out / 'attendance.csv'}; "
        f"{report.plans} action plans received.\n"
        f"   Line managers: {report.supervisors_enrolled} enrolled besides the narrated one and "
        f"sent {report.supervisor_submitted} questionnaire(s) about the people they supervise.\n"
    )


async def _certificates(out: Path, db: Database, api: BotAPIEmulator) -> None:
    """The certificates as their holders received them in the chat, to open in a PDF viewer."""
    from bot.storage import certificates as store

    async with db.read() as conn:
        issued = [c for c in await store.all_certificates(conn) if c.file_id]
    folder = out / "certificates"
    folder.mkdir(exist_ok=True)
    for cert in issued:
        assert cert.file_id is not None
        (folder / f"{cert.level}-{cert.code}.pdf").write_bytes(api.files[cert.file_id].content)
    print(f"8. Certificates: {len(issued)} received in the chat, as PDF in {folder}.\n")


async def _play(out: Path, settings: Settings, people: int | None, seed_value: int) -> int:
    content = load_content(settings.content_dir)
    clock = FixedClock(DEMO_NOW)
    print("Relais demo — no Telegram token, no network: the real bot talks to a local emulator.\n")
    print(
        f"1. Content {', '.join(p.name for p in content.files)}: valid "
        f"(version {content.version[:12]})."
    )
    async with open_sandbox(settings, content, clock=clock, paced=False) as sandbox:
        print(f"   Emulator listening on {sandbox.server.root}; the bot is polling it.")
        seeded = await seed(sandbox.db, content, clock, SAMPLE_ROSTER.read_bytes())
        print(f"2. Roster {SAMPLE_ROSTER.name}: {seeded.report.created} participants imported.")
        username = sandbox.api.username
        write_invites_csv(out / "invites.csv", seeded.participants, username)
        qr = write_qr_codes(out / "qr", seeded.participants, username)
        print(
            f"3. Invites: {len(seeded.participants)} single-use links in {out / 'invites.csv'}, "
            f"{len(qr)} QR codes in {out / 'qr'}.\n"
        )
        print(f"4. Conversations (simulated time {DEMO_NOW:%Y-%m-%d %H:%M} UTC):\n")
        session = Session(sandbox, seeded, Transcript(Style(), print))
        lines = DEMO_SCRIPT.read_text(encoding="utf-8").splitlines()
        status = await play_script(session, lines, str(DEMO_SCRIPT))
        print(await _missed_line(sandbox.db, out) + "\n")
    if status != 0:
        return status
    # The bot has stopped, as on a server once the programme is over. The rest of the year
    # is replayed on its database through the same services (no polling to keep alive
    # meanwhile), then the evaluator's export and report are made from it.
    invites = seeded.participants if people is None else seeded.participants[:people]
    db = await Database.open(settings.database)
    try:
        try:
            await _class(out, db, sandbox.api, content, invites, seed_value, seeded.supervisors)
        except SimulationError as exc:
            # A questionnaire no longer goes the way the simulation expects: say where.
            print(f"6. The simulated class stopped: {exc}")
            return 1
        await _evaluation(out, db, content, settings)
        await _certificates(out, db, sandbox.api)
    finally:
        await db.close()
    print(f"Database: {settings.database}")
    return status
