"""Content validation: the shipped programme is valid; every problem is named with its line."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.content import ContentError, check_content, load_content

ROOT = Path(__file__).resolve().parent.parent


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(ROOT / "conversations", target)
    return target


def _edit(folder: Path, old: str, new: str) -> int:
    """Replace the first ``old`` and return its 1-based line."""
    path = folder / "programme.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def test_shipped_content_is_valid() -> None:
    content = load_content(ROOT / "conversations")
    programme = content.programme
    assert programme.cohort_ids == {"tanger", "agadir", "marrakech"}
    assert len(content.version) == 64
    # 10:00 in Casablanca in January is 09:00 UTC (UTC+1 outside Ramadan).
    intro = next(s for s in programme.all_sessions() if s.id == "intro-live")
    assert intro.start_utc == datetime(2027, 1, 13, 9, 0, tzinfo=UTC)


def test_wrong_date_unknown_cohort_and_missing_field_are_all_named(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    date_line = _edit(folder, "start: 2027-02-22T09:00", "start: 2027-02-30T09:00")
    cohort_line = _edit(folder, "cohorts: [marrakech]", "cohorts: [casablanca]")
    title_line = _edit(
        folder,
        "      - id: remise-plan-action\n        title:",
        "      - id: remise-plan-action\n        titre:",
    )
    with pytest.raises(ContentError) as info:
        load_content(folder)
    lines = str(info.value).splitlines()
    prefix = "programme.yaml:"
    assert any(f"{prefix}{date_line}: " in ln and ".start: invalid date" in ln for ln in lines)
    assert any(
        f"{prefix}{cohort_line}: " in ln and "unknown cohort 'casablanca'" in ln for ln in lines
    )
    assert any(".title: field required" in ln for ln in lines)
    assert any(f"{prefix}{title_line + 1}: " in ln and "titre" in ln for ln in lines)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("timezone: Africa/Casablanca", "timezone: Africa/Atlantis", "unknown time zone"),
        ("end: 2027-01-13T11:30", "end: 2027-01-13T09:30", "ends before it starts"),
        ("- id: module-1-live", "- id: intro-live", "duplicate id 'intro-live'"),
        ("- id: module-1-live", "- id: Module_1", "should match pattern"),
        (
            "link: https://zoom.us/j/00000000001",
            "link: https://zoom.us/j/00000000001\n        place: Rabat",
            "exactly one of 'link'",
        ),
        ("kind: online", "kind: hybrid", "'online' or 'residential'"),
        ("cohorts:\n  - id: tanger", "cohorts:\n  - id: tanger\n  - [broken", "(yaml)"),
    ],
)
def test_each_problem_has_a_clear_message(tmp_path: Path, old: str, new: str, message: str) -> None:
    folder = _copy(tmp_path)
    _edit(folder, old, new)
    problems = check_content(folder)
    assert problems
    assert any(message in str(p) for p in problems), [str(p) for p in problems]
    assert all(str(p).split(":")[1].isdigit() for p in problems)


def test_missing_and_unknown_files_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.yaml").write_text("a: 1\n", encoding="utf-8")
    messages = [str(p) for p in check_content(folder)]
    assert any("programme.yaml" in m and "missing" in m for m in messages)
    assert any("notes.yaml" in m and "unknown content file" in m for m in messages)


def test_version_changes_with_the_content(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    first = load_content(folder).version
    assert load_content(folder).version == first
    _edit(folder, "Atelier final et remise des certificats", "Atelier final")
    assert load_content(folder).version != first


def test_sessions_follow_the_cohort_and_the_clock() -> None:
    programme = load_content(ROOT / "conversations").programme
    tanger = programme.sessions_for("tanger")
    assert any(s.id == "tanger-module-2" for s in tanger)
    assert not any(s.id == "agadir-module-2" for s in tanger)
    after_residential = datetime(2027, 3, 10, tzinfo=UTC)
    upcoming = programme.upcoming_sessions("tanger", after_residential, 10)
    assert upcoming[0].id == "coaching-collectif"
    assert programme.cohort("agadir") is not None
    assert programme.cohort("agadir").name.get("ar") == "أكادير"  # type: ignore[union-attr]
    assert programme.title.get("xx") == programme.title.fr


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        # Each campaign kind has its own fields: a missing one, or another kind's, is named.
        ("    before: [{days: 1}, {hours: 1}]\n", "", "campaigns[0].before", "field required"),
        ("    every: {days: 3}\n", "", "campaigns[2].every", "field required"),
        ("    every: {days: 3}", "    every: {days: 0}", "campaigns[2]", "needs 'every'"),
        (
            "    kind: invitation\n",
            "    kind: invitation\n    every: {days: 1}\n",
            "campaigns[1].every",
            "Extra inputs",
        ),
        ("    kind: nudge", "    kind: relance", "campaigns[2]", "does not match any"),
    ],
)
def test_a_campaign_is_checked_against_its_own_kind(
    tmp_path: Path, old: str, new: str, field: str, message: str
) -> None:
    folder = _copy(tmp_path)
    _edit(folder, old, new)
    found = [str(p) for p in check_content(folder)]
    assert any(f": {field}: " in p and message in p for p in found), found
