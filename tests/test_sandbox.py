"""``relais sandbox`` and ``relais demo``: scripts, the terminal, simulated time, the transcript."""

from __future__ import annotations

import builtins
import csv
import html
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import EXIT_INVALID, EXIT_OK, main
from bot.sandbox.terminal import Style, render_html
from tests.conftest import CONTENT_DIR


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(CONTENT_DIR))


def script(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conversation.script"
    path.write_text(text, encoding="utf-8")
    return path


def test_render_html_keeps_the_words_and_spells_out_links() -> None:
    text = '<b>Module 1</b> &amp; <a href="https://zoom.us/j/1">Zoom</a> &lt;3'
    assert render_html(text, Style()) == "Module 1 & Zoom (https://zoom.us/j/1) <3"
    assert "\x1b[1m" in render_html("<b>x</b>", Style(color=True))


def test_script_plays_enrolment_language_and_buttons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(
        tmp_path,
        "# a comment is not played\n## Enrolment\n:invite\n/language\n2\n/me\n",
    )
    assert main(["sandbox", "--script", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "a comment" not in out
    assert "Enrolment" in out
    assert "Omar > :invite" in out
    assert "Bienvenue, Omar Skalli !" in out
    assert "[1] Français   [2] English   [3] العربية" in out
    assert "Relais (edited message" in out
    assert "Done: I will now write to you in English." in out
    assert "Cohort: Marrakesh" in out


def test_script_stops_at_a_line_it_cannot_play_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, ":invite\n7\n/me\n")
    assert main(["sandbox", "--script", str(path)]) == EXIT_INVALID
    captured = capsys.readouterr()
    assert f"{path}:2: no button 7 on the latest keyboard" in captured.err
    assert "Cohorte" not in captured.out


def test_clock_moves_simulated_time_and_me_follows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, ":invite\n/me\n:clock 2027-03-02T12:00+00:00\n/me\n")
    assert main(["sandbox", "--clock", "--script", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    before, after = out.split("simulated time is now 2027-03-02 12:00 UTC")
    assert "mercredi 13 janvier 2027 à 10:00" in before  # the introduction's live session
    assert "mercredi 13 janvier 2027 à 10:00" not in after
    assert "Module 3" in after


def test_clock_is_refused_without_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, ":clock +1d\n")
    assert main(["sandbox", "--script", str(path)]) == EXIT_INVALID
    assert "start the sandbox with --clock" in capsys.readouterr().err


def test_staff_roles_block_and_unblock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = script(
        tmp_path,
        ":invite\n/help\n:as participant 2\n:invite\n:block\n:unblock\n/me\n",
    )
    assert main(["sandbox", "--as", "evaluator", "--script", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "« évaluation »" in out
    assert "exports pseudonymes" in out
    assert "blocked the bot" in out
    assert "unblocked the bot" in out
    assert "Cohorte : Tanger" in out


def _typed(lines: list[str]) -> Iterator[str]:
    yield from lines


def test_interactive_terminal_reads_lines_until_end_of_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = _typed([":help", "Bonjour", ":invite", ":block", "/me", ":nope", "1"])

    def fake_input(prompt: str = "") -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)
    assert main(["sandbox", "--as", "participant"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Invitation link: https://t.me/relais_demo_bot?start=" in out
    assert ":as participant|coordinator|evaluator|admin|stranger" in out  # :help
    assert "Bienvenue, Omar Skalli !" in out
    assert "! Omar blocked the bot; unblock it first" in out
    assert "! unknown command :nope" in out
    assert "! no button 1 on the latest keyboard" in out


def test_demo_runs_over_the_emulator_and_writes_invites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_dir = tmp_path / "demo"
    # A smaller simulated class keeps the test quick; the narrated part is played whole.
    assert main(["demo", "--out", str(out_dir), "--people", "30"]) == EXIT_OK
    captured = capsys.readouterr()
    out = captured.out
    assert "Emulator listening on http://127.0.0.1:" in out
    assert "100 participants imported" in out
    assert "Ce lien d'invitation a déjà été utilisé" in out
    assert "« coordination »" in out
    rows = list(
        csv.reader(
            (out_dir / "invites.csv").read_text(encoding="utf-8-sig").splitlines(), delimiter=";"
        )
    )
    assert len(rows) == 101
    assert len(list((out_dir / "qr").glob("*.png"))) == 100
    assert out_dir.stat().st_mode & 0o077 == 0  # links and names: for its owner only

    # The transcript is for people: the scheduler's warnings are in the log file, and the
    # transcript says in one line what was recorded as missed.
    assert "WARNING" not in out
    assert "WARNING" not in captured.err
    log = (out_dir / "relais.log").read_text(encoding="utf-8")
    assert "WARNING bot.scheduling: campaigns: invitations:kat:pre missed for agadir" in log
    missed = next(line for line in out.splitlines() if line.startswith("Scheduler: "))
    assert "recorded as missed" in missed
    assert "relances" in missed
    assert str(out_dir / "relais.log") in missed

    # The report stands on a whole (simulated) class: real figures, and small cells hidden.
    assert "6. The rest of the roster, simulated (seed 2027)" in out
    report = _report_text(out_dir / "report.html")
    pre = re.search(r"Score moyen avant (\d+,\d) / 10", report)
    post = re.search(r"Score moyen après (\d+,\d) / 10", report)
    assert pre is not None, report[:2000]
    assert post is not None, report[:2000]
    assert float(post.group(1).replace(",", ".")) > float(pre.group(1).replace(",", "."))
    participants = re.search(r"Participants inscrits : (\d+)", report)
    assert participants is not None
    assert int(participants.group(1)) >= 20
    # A response rate shown: on the roster, enrolled, responded, rate.
    assert re.search(r"Toutes les cohortes \d+ \d+ \d+ \d+ %", report)
    # And the disclosure rules at work: figures hidden, or small groups shown together.
    assert "masqué" in report or re.search(r"(Tanger|Agadir|Marrakech) \+ ", report)
    # The attendance sheet the certificates were computed from is there to read.
    assert (
        (out_dir / "attendance.csv")
        .read_text(encoding="utf-8")
        .startswith("participant;session;attended\n")
    )
    # The coordinator approves Omar's certificate; he receives it; an employer verifies it.
    assert "Approuvé : la personne le reçoit maintenant." in out
    assert "[document] 🎓 Félicitations, Omar Skalli !" in out
    assert "✅ Certificat valide\n    Titulaire : O. S." in out
    assert len(list((out_dir / "certificates").glob("participation-*.pdf"))) == 1


def _report_text(path: Path) -> str:
    """The report's words and figures as a reader sees them, without markup or images."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    return re.sub(r"\s+", " ", text)


def test_moving_the_clock_renews_the_check_in_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, ":invite\n/checkin tanger-module-2\n:clock +3m\n")
    args = ["sandbox", "--as", "coordinator", "--clock", "2027-02-15T09:10+00:00"]
    assert main([*args, "--script", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    before, after = out.split("simulated time is now")
    assert before.count("[photo] Pointage : Module 2") == 1
    assert "[photo] Pointage : Module 2" in after  # a new code on the screen
