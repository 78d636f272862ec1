"""``relais check`` on YAML syntax errors: what to check, in the course team's language, on
the line to fix (not the line after, where the parser gives up)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.cli import EXIT_INVALID, main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def content(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("RELAIS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "content"
    shutil.copytree(ROOT / "conversations", folder)
    monkeypatch.setenv("RELAIS_CONTENT_DIR", str(folder))
    monkeypatch.setenv("RELAIS_DATABASE", str(tmp_path / "relais.db"))
    return folder


def _break(folder: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in programme.yaml; the 1-based line where it starts."""
    path = folder / "programme.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def _check(capsys: pytest.CaptureFixture[str], *locale: str) -> str:
    assert main(["check", *locale]) == EXIT_INVALID
    return capsys.readouterr().err


def test_a_line_indented_one_space_too_few_is_named_in_french_by_default(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _break(content, "        end: 2027-01-13T11:30", "       end: 2027-01-13T11:30")
    err = _check(capsys)
    assert (
        f"programme.yaml:{line}: (yaml): cette ligne commence par 7 espaces, mais les lignes de "
        "son niveau au-dessus en ont 8 : vérifiez les espaces en début de ligne"
    ) in err


def test_the_same_mistake_in_english(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _break(content, "        end: 2027-01-13T11:30", "       end: 2027-01-13T11:30")
    err = _check(capsys, "--locale", "en")
    assert (
        f"programme.yaml:{line}: (yaml): this line is indented by 7 spaces, but the lines at "
        "its level above are indented by 8"
    ) in err


def test_a_key_without_its_colon_points_to_itself_not_to_the_line_after(
    content: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ruamel reports the next line ("mapping values are not allowed here").
    line = _break(content, "        module: intro\n", "        module intro\n")
    err = _check(capsys, "--locale", "en")
    assert f"programme.yaml:{line}: (yaml): this line looks like a key without its colon" in err
    assert f"programme.yaml:{line + 1}:" not in err


def test_a_line_indented_under_a_value(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _break(content, "        end: 2027-01-13T11:30", "          end: 2027-01-13T11:30")
    err = _check(capsys)
    assert (
        f"programme.yaml:{line}: (yaml): cette ligne est décalée sous la ligne {line - 1}, "
        "qui a déjà une valeur"
    ) in err


def test_a_tab_and_an_unclosed_quote(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _break(content, "        end: 2027-01-13T11:30", "\tend: 2027-01-13T11:30")
    err = _check(capsys, "--locale", "en")
    assert f"programme.yaml:{line}: (yaml): a tab is used to indent this line" in err

    shutil.copy(ROOT / "conversations" / "programme.yaml", content / "programme.yaml")
    old = '          en: "Introductory module: labour migration governance (Zoom session)"'
    line = _break(content, old, old[:-1])
    err = _check(capsys)
    assert f'programme.yaml:{line}: (yaml): le guillemet " ouvert sur cette ligne' in err


def test_arabic_messages_exist(content: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _break(content, "        end: 2027-01-13T11:30", "       end: 2027-01-13T11:30")
    err = _check(capsys, "--locale", "ar")
    assert f"programme.yaml:{line}: (yaml): يبدأ هذا السطر بـ 7 مسافات" in err
