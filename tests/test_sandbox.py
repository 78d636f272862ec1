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
    # Ramadan: Morocco is on UTC+0 then, and the sandbox says the time the bot speaks.
    before, after = out.split(
        "simulated time is now Tue 2027-03-02 12:00 Africa/Casablanca (12:00 UTC)"
    )
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
    assert ":as ROLE [N]" in out  # :help
    assert "``" not in out  # :help is plain text, not the docstring's markup
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
    # The training-needs analysis: answered in the chat, and its own section of the report.
    assert "Vos besoins de formation · Avant la formation\n    Vérifiez vos réponses" in out
    assert "Vos besoins de formation" in report
    assert report.index("Vos besoins de formation") < report.index("Score moyen avant")
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
    assert re.search(
        r"\[document: certificate-participation-[^ ]+\.pdf · application/pdf · \d+ KB\]"
        r"  \(:save keeps it\)\n"
        r"    🎓 Félicitations, Omar Skalli !",
        out,
    )
    assert "✅ Certificat valide\n    Titulaire : O. S." in out
    assert len(list((out_dir / "certificates").glob("participation-*.pdf"))) == 1
    # Omar's line manager enrols by her own link, then answers about him at six months:
    # the questionnaire names him, and the list keeps the people still to answer about.
    assert "Vous êtes inscrit(e) comme supérieur(e) hiérarchique" in out
    assert "Omar Skalli applique les principes du recrutement équitable" in out
    after = out[out.index("Karima > :press Envoyer") :]
    assert "[1] Commencer — Adil Haddaoui" in after
    assert "Commencer — Omar Skalli" not in after
    # The other line managers answer about the simulated class, through the same services.
    managers = re.search(r"Line managers: (\d+) enrolled .* sent (\d+) questionnaire", out)
    assert managers is not None
    assert int(managers.group(1)) > 0
    assert int(managers.group(2)) > 0


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
    assert before.count("Pointage : Module 2") == 1
    assert "Pointage : Module 2" in after  # a new code on the screen
    assert re.search(r"\[photo: image/png · \d+ K?B\]  \(:save keeps it\)", before)


def _interactive(monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> None:
    typed = _typed(lines)

    def fake_input(prompt: str = "") -> str:
        try:
            return next(typed)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", fake_input)


def test_switching_to_someone_beyond_the_roster_is_refused_and_you_stay_who_you_were(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _interactive(monkeypatch, [":invite", ":as participant 200", ":as participant x", "/me"])
    assert main(["sandbox"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "! there are 100 participants" in out
    assert "! 'x' is not a number" in out
    # Still Omar, and the session goes on.
    assert "Cohorte : Marrakech" in out.split("! 'x' is not a number")[1]


def test_clock_is_shown_and_set_in_the_programme_time_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 6 January: Morocco is on UTC+1; a time without an offset is the programme's, as in
    # the content files.
    path = script(tmp_path, ":clock 2027-01-06T14:00\n:clock\n")
    assert main(["sandbox", "--clock", "--script", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert "simulated time is now Wed 2027-01-06 14:00 Africa/Casablanca (13:00 UTC)" in out
    assert "simulated time: Wed 2027-01-06 14:00 Africa/Casablanca (13:00 UTC)" in out


def test_a_message_delivered_to_someone_else_shows_when_you_switch_to_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(
        tmp_path,
        ":invite\n:as coordinator\n:invite\n/broadcast\n1\n"
        "Pensez à tester votre connexion Zoom.\n1\n:tick\n:as participant 1\n",
    )
    assert main(["sandbox", "--script", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    away = out.split("You are Omar Skalli")[-1]
    assert "message(s) while you were away" in away
    assert "Pensez à tester votre connexion Zoom." in away


def test_a_photo_is_described_and_can_be_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, ":invite\n/checkin tanger-module-2\n:save saved.png\n")
    args = ["sandbox", "--as", "coordinator", "--clock", "2027-02-15T09:10+00:00"]
    assert main([*args, "--script", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert re.search(r"\[photo: image/png · \d+ K?B\]  \(:save keeps it\)\n    Pointage", out)
    saved = tmp_path / "saved.png"
    assert saved.read_bytes().startswith(b"\x89PNG")
    assert f"to {saved}" in out


def test_a_document_shows_its_name_type_and_size_and_can_be_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = script(tmp_path, ":invite\n/export\n:save\n")
    assert main(["sandbox", "--as", "evaluator", "--script", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.search(
        rf"\[document: relais-export\.xlsx · {re.escape(xlsx)} · \d+ KB\]  \(:save keeps it\)\n"
        r"    .*codes",
        out,
    )
    assert (tmp_path / "relais-export.xlsx").read_bytes().startswith(b"PK")


def test_answers_lists_the_key_and_marks_the_right_option_in_the_sandbox_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /me's second button: the KAT's pre-test (the needs analysis, first, is not a quiz).
    path = script(tmp_path, ":answers\n:invite\n:answers on\n/me\n2\n:answers off\n:chat\n")
    assert main(["sandbox", "--clock", "2027-01-05T09:00+01:00", "--script", str(path)]) == EXIT_OK
    out = capsys.readouterr().out
    key, screens = out.split("right answers marked on each quiz screen")
    assert "1. [" in key
    assert "✔" in key
    marked, after_off = screens.split("right answers no longer marked")
    assert marked.count("✔ right answer") == 1  # one right option on the first question
    assert "✔ right answer" not in after_off


def test_warnings_go_to_the_log_file_not_into_the_transcript(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Jumping two months makes the scheduler record missed deliveries, with a warning each.
    path = script(tmp_path, ":invite\n:clock +60d\n/me\n")
    assert main(["sandbox", "--clock", "--script", str(path)]) == EXIT_OK
    captured = capsys.readouterr()
    assert "WARNING" not in captured.out
    assert "WARNING" not in captured.err
    log = (tmp_path / "relais-sandbox.log").read_text(encoding="utf-8")
    assert "WARNING bot.scheduling" in log
