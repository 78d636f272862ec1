"""A report sent or written with its charts draws each chart once, and the page shows those."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from bot.cli import EXIT_OK, main
from bot.clock import FixedClock
from bot.content import Content, load_content
from bot.sandbox.chat import SimulatedUser
from bot.sandbox.offline import OfflineBotAPI
from bot.settings import Settings
from bot.storage import Database
from bot.storage.repo import Role
from bot.views.report import charts as drawing
from tests.conftest import staff_invite
from tests.test_export import populate
from tests.test_flow_questionnaire import FIXTURE_CONTENT

# The small test programme: how often a chart is drawn does not depend on how many there
# are, and its seven charts cost a quarter of the shipped programme's thirteen.


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(FIXTURE_CONTENT)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database=tmp_path / "relais.db", content_dir=FIXTURE_CONTENT)


def test_the_report_and_its_chart_files_draw_each_chart_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(FIXTURE_CONTENT))
    monkeypatch.chdir(tmp_path)

    async def fill() -> None:
        db = await Database.open(tmp_path / "relais.db")
        try:
            clock = FixedClock(datetime(2027, 1, 6, tzinfo=UTC))
            await populate(db, clock, load_content(FIXTURE_CONTENT), n=8)
        finally:
            await db.close()

    asyncio.run(fill())
    drawn: list[bytes] = []
    real = drawing._png

    def counting(figure: Figure) -> bytes:
        png = real(figure)
        drawn.append(png)
        return png

    monkeypatch.setattr(drawing, "_png", counting)
    page_path, folder = tmp_path / "r.html", tmp_path / "c"
    assert main(["report", "--out", str(page_path), "--charts", str(folder)]) == EXIT_OK
    files = sorted(folder.glob("*.png"))
    assert files
    assert len(drawn) == len(files)  # before: every chart drawn twice, once for the page
    page = page_path.read_text(encoding="utf-8")
    for path in files:
        # The page embeds the very images written as files.
        assert base64.b64encode(path.read_bytes()).decode() in page


async def test_the_report_in_the_chat_draws_each_chart_once(
    db: Database,
    clock: FixedClock,
    content: Content,
    new_user: Callable[..., SimulatedUser],
    api: OfflineBotAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await populate(db, clock, content, n=8)
    drawn: list[bytes] = []
    real = drawing._png

    def counting(figure: Figure) -> bytes:
        png = real(figure)
        drawn.append(png)
        return png

    monkeypatch.setattr(drawing, "_png", counting)
    evaluator = new_user("Karim")
    await evaluator.send(f"/start {(await staff_invite(db, clock, Role.EVALUATOR)).token}")
    report = await evaluator.send("/report")
    photos = [api.files[m.photo].content for m in report.sent if m.photo]
    assert photos
    assert len(drawn) == len(photos)  # before: drawn for the page, then again for the album
    assert photos == drawn
