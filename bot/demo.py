"""``relais demo``: everything Relais does today, played through the sandbox and printed.

The real application runs by long polling against the local Bot API emulator over
HTTP, on a real SQLite file in the output folder; the clock is fixed a week before
the programme starts. The conversation is ``examples/demo.script``, in the same
language as ``relais sandbox --script``.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.i18n import Translator
from bot.logs import configure_logging
from bot.sandbox.harness import SAMPLE_ROSTER, Sandbox, open_sandbox, seed
from bot.sandbox.terminal import Session, Style, Transcript, play_script
from bot.services import export
from bot.services.invites import write_invites_csv, write_qr_codes
from bot.services.report import figures
from bot.services.report_render import render_charts, render_html
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_SCRIPT = ROOT / "examples" / "demo.script"
DEMO_NOW = datetime(2027, 1, 6, 9, 0, tzinfo=UTC)


def run_demo(out: Path, settings: Settings | None = None) -> int:
    """Start from an empty output folder and play the demo."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    configure_logging("WARNING")
    base = settings or Settings(content_dir=ROOT / "conversations")
    return asyncio.run(_play(out, base.model_copy(update={"database": out / "relais-demo.db"})))


async def _evaluation(out: Path, sandbox: Sandbox, content: Content, settings: Settings) -> None:
    """What an evaluator takes away: the export and the report, in the output folder."""
    t = Translator("fr", content.programme.tz)
    db = sandbox.db
    answers = await export.write_csv(db, content, out / "export.csv", export.Filters(), t)
    await export.write_xlsx(db, content, out / "export.xlsx", export.Filters(), t)
    found = await figures(db, content, sandbox.clock.now(), settings.report_min_cell)
    (out / "report.html").write_text(render_html(found, content, t), encoding="utf-8")
    charts = out / "charts"
    charts.mkdir(exist_ok=True)
    for name, data in render_charts(found, content, t):
        (charts / name).write_bytes(data)
    print(
        f"5. Evaluation: {answers} answers exported to {out / 'export.csv'} and "
        f"{out / 'export.xlsx'} (participants as codes); report in {out / 'report.html'}, "
        f"charts in {charts} (figures under {found.k} respondents hidden).\n"
    )


async def _play(out: Path, settings: Settings) -> int:
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
        if status == 0:
            await _evaluation(out, sandbox, content, settings)
    print(f"Database: {settings.database}")
    return status
