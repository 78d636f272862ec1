"""Loading the content again parses each file once, and an edit is never hidden by that."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from bot.content import ContentError, load_content
from tests.conftest import content_copy


def test_loading_the_same_files_again_does_not_parse_them_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = content_copy(tmp_path)
    (folder / "programme.yaml").write_text(
        (folder / "programme.yaml").read_text(encoding="utf-8") + "\n# a new text\n",
        encoding="utf-8",
    )
    parsed: list[object] = []
    real = YAML.load

    def counting(self: YAML, stream: object) -> object:
        parsed.append(stream)
        return real(self, stream)

    monkeypatch.setattr(YAML, "load", counting)
    first = load_content(folder)
    assert len(parsed) >= 1  # at least the programme, whose text no earlier load has seen
    parsed.clear()
    again = load_content(folder)
    assert parsed == []
    assert again.version == first.version


def test_an_edited_file_is_read_anew(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    before = load_content(folder)
    path = folder / "programme.yaml"
    text = path.read_text(encoding="utf-8")
    old = before.programme.cohorts[0].name.fr
    assert old in text
    path.write_text(text.replace(old, "Cohorte renommée", 1), encoding="utf-8")
    after = load_content(folder)
    assert after.programme.cohorts[0].name.fr == "Cohorte renommée"
    assert after.version != before.version
    # A broken file is refused again on every load, not answered from an earlier parse.
    path.write_text(text + "\n  bad: [indent\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ContentError, match=r"programme\.yaml"):
            load_content(folder)
