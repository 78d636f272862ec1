"""Questionnaire validation: the shipped KAT, satisfaction and follow-up are valid, and
each mistake a course team can make is named as ``file:line: field: message``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.content import Problem, check_content, load_content
from bot.content.loader import untranslated
from tests.conftest import CONTENT_DIR, content_copy

COHORTS = ("agadir", "marrakech", "tanger")


def _line_of(folder: Path, name: str, text: str) -> int:
    """The 1-based line where ``text`` first starts in ``name``."""
    content = (folder / name).read_text(encoding="utf-8")
    assert text in content, text
    return content[: content.index(text)].count("\n") + 1


def _edit(folder: Path, name: str, old: str, new: str) -> int:
    """Replace the first ``old`` in ``name`` and return its 1-based line."""
    line = _line_of(folder, name, old)
    path = folder / name
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return line


def _problems(folder: Path, name: str) -> list[Problem]:
    problems = check_content(folder)
    assert problems, "the edited content should be invalid"
    assert all(p.file.endswith(name) for p in problems), [str(p) for p in problems]
    return problems


def _only(problems: list[Problem], line: int, field: str, message: str) -> None:
    """Exactly one problem, at this line and field, whose message contains ``message``."""
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert (problem.line, problem.field) == (line, field), str(problem)
    assert message in problem.message, str(problem)
    assert str(problem).endswith(f"{_name(problem)}:{line}: {field}: {problem.message}")


def _name(problem: Problem) -> str:
    return Path(problem.file).name


# --- the shipped content -------------------------------------------------------------


def test_shipped_questionnaires_load() -> None:
    content = load_content(CONTENT_DIR)
    kat = content.instrument("kat")
    assert kat is not None
    assert kat.max_score == 10
    assert [i.id for i in kat.items] == [f"q{n:02d}" for n in range(1, 11)]
    assert {s.id for s in kat.stages} == {"pre", "post"}
    satisfaction = content.instrument("satisfaction")
    assert satisfaction is not None
    assert [s.id for s in satisfaction.stages] == ["intro", "module-1", "residential", "workshop"]
    assert satisfaction.max_score == 0
    followup = content.instrument("followup")
    assert followup is not None
    assert [s.id for s in followup.stages] == ["six-months"]


def test_shipped_content_is_fully_translated() -> None:
    assert untranslated(CONTENT_DIR) == {"en": [], "ar": []}


def test_a_missing_arabic_text_is_found_with_its_file_and_line(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    text_line = _line_of(folder, "followup.yaml", "    text:\n      fr: Décrivez un exemple")
    _edit(folder, "followup.yaml", "      ar: صفوا مثالًا ملموسًا", "      # ar: (à traduire)")
    found = untranslated(folder)
    assert found["en"] == []
    assert len(found["ar"]) == 1
    problem = found["ar"][0]
    assert _name(problem) == "followup.yaml"
    assert (problem.line, problem.field, problem.message) == (
        text_line,
        "items[2].text",
        "no ar text",
    )


# --- item problems -------------------------------------------------------------------


def test_quiz_answer_not_among_options(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    item_line = _line_of(folder, "kat.yaml", "  - id: q01")
    _edit(folder, "kat.yaml", "    answer: b\n", "    answer: e\n")
    problems = _problems(folder, "kat.yaml")
    _only(problems, item_line, "items[0]", "answer 'e' is not one of the option ids")


def test_quiz_item_without_answer(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    item_line = _line_of(folder, "kat.yaml", "  - id: q01")
    _edit(folder, "kat.yaml", "    answer: b\n", "")
    problems = _problems(folder, "kat.yaml")
    _only(problems, item_line, "items[0]", "a quiz item needs its right 'answer'")


def test_scale_item_without_labels(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    item_line = _line_of(folder, "satisfaction.yaml", "  - id: objectives")
    _edit(folder, "satisfaction.yaml", "    labels: *satisfaction\n", "")
    problems = _problems(folder, "satisfaction.yaml")
    _only(problems, item_line, "items[1]", "a scale item needs 'labels' (low and high)")


def test_duplicate_item_ids(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    line = _edit(folder, "satisfaction.yaml", "  - id: content\n", "  - id: objectives\n")
    problems = _problems(folder, "satisfaction.yaml")
    _only(problems, line, "items[2].id", "duplicate id 'objectives'")


def test_kat_with_a_non_quiz_item(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    path = folder / "kat.yaml"
    extra = "\n  - id: q11\n    type: text\n    text: Un commentaire ?\n"
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    problems = _problems(folder, "kat.yaml")
    line = _line_of(folder, "kat.yaml", "    type: text\n")
    _only(problems, line, "items[10].type", "every item of a quiz is a quiz item")


def test_quiz_item_outside_the_kat(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    kat = (folder / "kat.yaml").read_text(encoding="utf-8")
    quiz = kat[kat.index("  - id: q09") : kat.index("  - id: q10")]
    path = folder / "followup.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + quiz, encoding="utf-8")
    problems = _problems(folder, "followup.yaml")
    line = _line_of(folder, "followup.yaml", "  - id: q09") + 1
    assert len(problems) == 1, [str(p) for p in problems]
    assert problems[0].field.endswith(".type")
    assert problems[0].line == line
    assert "quiz items belong in a quiz (kind: quiz)" in problems[0].message


# --- show_if -------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["obstacles", "nowhere"])
def test_show_if_refers_to_a_later_or_unknown_item(tmp_path: Path, target: str) -> None:
    folder = content_copy(tmp_path)
    line = _edit(
        folder,
        "followup.yaml",
        "show_if: {item: frequency,",
        f"show_if: {{item: {target},",
    )
    problems = _problems(folder, "followup.yaml")
    _only(problems, line, "items[2].show_if.item", f"{target!r} is not an earlier item")


def test_show_if_with_an_answer_of_another_item(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    line = _edit(folder, "followup.yaml", "in: [other]}", "in: [other, weekly]}")
    problems = _problems(folder, "followup.yaml")
    _only(problems, line, "items[6].show_if.in", "['weekly'] are not answers of 'obstacles'")


def test_show_if_on_a_scale_takes_points_one_to_five(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    line = _edit(
        folder,
        "followup.yaml",
        "show_if: {item: frequency, in: [monthly, weekly, daily]}",
        "show_if: {item: usefulness, in: ['4', '5', '6']}",
    )
    problems = _problems(folder, "followup.yaml")
    _only(problems, line, "items[2].show_if.in", "['6'] are not answers of 'usefulness'")


# --- stages --------------------------------------------------------------------------


def test_stage_anchor_on_an_unknown_session_names_each_cohort(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    line = _edit(folder, "kat.yaml", "closes: {before: intro}", "closes: {before: module-9}")
    problems = _problems(folder, "kat.yaml")
    assert [(p.line, p.field) for p in problems] == [(line, "stages[0].closes")] * 3
    assert [p.message for p in problems] == [
        f"no session or module 'module-9' for cohort {c!r}" for c in COHORTS
    ]


def test_stage_anchor_on_another_cohorts_session(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    line = _edit(
        folder, "kat.yaml", "opens: {before: quiz-final}", "opens: {before: tanger-quiz-final}"
    )
    problems = _problems(folder, "kat.yaml")
    assert [str(p).split(":", 1)[1] for p in problems] == [
        f"{line}: stages[1].opens: no session or module 'tanger-quiz-final' for cohort {c!r}"
        for c in ("agadir", "marrakech")
    ]


def test_stage_closing_before_it_opens(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    line = _edit(
        folder,
        "satisfaction.yaml",
        "closes: {after: intro, days: 10}",
        "closes: {before: intro}",
    )
    problems = _problems(folder, "satisfaction.yaml")
    assert [(p.line, p.field) for p in problems] == [(line, "stages[0].closes")] * 3
    assert [p.message for p in problems] == [
        f"closes before it opens for cohort {c!r}" for c in COHORTS
    ]


# --- files ---------------------------------------------------------------------------


def test_a_survey_cannot_have_certificates(tmp_path: Path) -> None:
    folder = content_copy(tmp_path)
    line = _edit(folder, "followup.yaml", "kind: survey\n", "kind: survey\nreveal: after-post\n")
    problems = _problems(folder, "followup.yaml")
    _only(problems, line + 1, "reveal", "only a quiz (kind: quiz) has 'reveal'")
