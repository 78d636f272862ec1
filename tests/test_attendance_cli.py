"""``relais attendance import-zoom | import-moodle | review | resolve`` from the terminal."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.cli import EXIT_INVALID, EXIT_OK, main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(ROOT / "conversations"))
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))


def test_zoom_review_resolve_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["roster", "import", str(EXAMPLES / "roster-sample.csv")]) == EXIT_OK
    zoom = str(EXAMPLES / "zoom-intro-live.csv")
    assert main(["attendance", "import-zoom", zoom, "--session", "intro-live"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "session intro-live: 10 row(s) read, 10 new; 5 participant(s) matched" in out
    assert "Hanane Bouzid: 73.3% (below, 80 %)" in out
    assert "Meryem Ennaji: 80.0% (present, 80 %)" in out
    assert "to review (3):" in out
    assert "relais attendance review --out mapping.csv" in out

    mapping = tmp_path / "mapping.csv"
    assert main(["attendance", "review", "--out", str(mapping)]) == EXIT_OK
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600  # names and e-mails
    text = mapping.read_text(encoding="utf-8-sig")
    mapping.write_text(text.replace("Asmae Alaoui;;;", "Asmae Alaoui;;AN-0016;"), "utf-8")
    assert main(["attendance", "resolve", str(mapping)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "1 decision(s) recorded, 1 row(s) matched" in out
    assert "to review (2):" in out

    assert main(["attendance", "list", "intro-live"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "intro-live: 4 present, 96 missing, of 100" in out
    assert "Hanane Bouzid: Zoom 73%" in out
    assert "Meryem Ennaji: Zoom 80%" in out

    assert main(["attendance", "import-moodle", str(EXAMPLES / "moodle-completion.csv")]) == 0
    assert "3 activit(y/ies), 9 state(s) read, 6 completed" in capsys.readouterr().out
    # The introduction also needs its two e-campus activities: only Omar has both.
    assert main(["attendance", "list", "intro-live"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "intro-live: 1 present, 99 missing, of 100" in out
    assert "Omar Skalli: Zoom 100% · e-campus 2/2" in out
    assert main(["attendance", "list", "nowhere"]) == EXIT_INVALID


def test_refusals_say_why_and_record_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unique = tmp_path / "unique.csv"
    unique.write_text("Name (Original Name),User Email,Total Duration (Minutes),Guest\nA,,9,No\n")
    assert main(["attendance", "import-zoom", str(unique), "--session", "intro-live"]) == (
        EXIT_INVALID
    )
    err = capsys.readouterr().err
    assert "refused, nothing recorded" in err
    assert "'unique users' export" in err
    args = ["attendance", "import-zoom", str(unique), "--session", "intro-live"]
    assert main([*args, "--timezone", "Mars/Olympus"]) == EXIT_INVALID
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err
    assert main(["attendance", "import-moodle", str(tmp_path / "missing.csv")]) == EXIT_INVALID
    assert "cannot read" in capsys.readouterr().err
