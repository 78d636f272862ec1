"""Load the content folder, reporting every problem as ``file:line: field: message``."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from bot.content.certificate_texts import CertificateTexts, check_signatures
from bot.content.instruments import Instrument, check_instrument
from bot.content.models import CAMPAIGN_KINDS, LocalizedText, Programme
from bot.content.yaml_syntax import Diagnosis, diagnose, explain


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a content file."""

    file: str
    line: int
    field: str
    message: str
    # A YAML syntax error, to say again in another language (``in_locale``).
    syntax: Diagnosis | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


def in_locale(problem: Problem, locale: str) -> Problem:
    """The problem said in ``locale`` where it can be (YAML syntax errors)."""
    if problem.syntax is None:
        return problem
    return replace(problem, message=explain(problem.syntax, locale))


class ContentError(Exception):
    """The content is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Content:
    """The validated content and its version hash."""

    programme: Programme
    version: str
    files: tuple[Path, ...]
    instruments: dict[str, Instrument] = field(default_factory=dict)
    # What the certificates say (certificates.yaml); None: Relais issues none.
    certificates: CertificateTexts | None = None

    def instrument(self, kind: str) -> Instrument | None:
        """The KAT, satisfaction or follow-up questionnaire, if the content has it."""
        return self.instruments.get(kind)


Path_ = tuple[str | int, ...]
Checker = Callable[[Any, Callable[[Path_, str], None]], None]


def _field(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _line(tree: Any, path: Path_) -> int:
    """The 1-based line of the deepest node of ``path`` present in the YAML tree."""
    node, line = tree, 1
    for part in path:
        if isinstance(node, CommentedMap) and isinstance(part, str) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _check_programme(tree: Any, report: Callable[[Path_, str], None]) -> None:
    """Cross-references pydantic cannot see, run on the raw tree so all problems show at once."""
    if not isinstance(tree, dict):
        return
    timezone = tree.get("timezone")
    if isinstance(timezone, str):
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            report(("timezone",), f"unknown time zone {timezone!r}")
    cohorts = tree.get("cohorts") or []
    known = sorted(str(c["id"]) for c in cohorts if isinstance(c, dict) and c.get("id"))
    seen: dict[str, Path_] = {}
    for i, cohort in enumerate(cohorts if isinstance(cohorts, list) else []):
        if isinstance(cohort, dict) and isinstance(cohort.get("id"), str):
            _unique(cohort["id"], ("cohorts", i, "id"), seen, report)
    campaigns = tree.get("campaigns") or []
    for c, campaign in enumerate(campaigns if isinstance(campaigns, list) else []):
        if isinstance(campaign, dict) and isinstance(campaign.get("id"), str):
            _unique(campaign["id"], ("campaigns", c, "id"), seen, report)
    phases = tree.get("phases") or []
    for p, phase in enumerate(phases if isinstance(phases, list) else []):
        if not isinstance(phase, dict):
            continue
        if isinstance(phase.get("id"), str):
            _unique(phase["id"], ("phases", p, "id"), seen, report)
        sessions = phase.get("sessions") or []
        for s, session in enumerate(sessions if isinstance(sessions, list) else []):
            if not isinstance(session, dict):
                continue
            here: Path_ = ("phases", p, "sessions", s)
            if isinstance(session.get("id"), str):
                _unique(session["id"], (*here, "id"), seen, report)
            for c, cohort_id in enumerate(session.get("cohorts") or []):
                if cohort_id not in known:
                    report(
                        (*here, "cohorts", c),
                        f"unknown cohort {cohort_id!r} (known: {', '.join(known)})",
                    )
            if ("link" in session) == ("place" in session):
                report(here, "give exactly one of 'link' (online) or 'place'")
            start, end = _when(session.get("start")), _when(session.get("end"))
            if start is not None and end is not None:
                try:
                    if end <= start:
                        report((*here, "end"), "ends before it starts")
                except TypeError:
                    report((*here, "end"), "start and end must both have, or both omit, an offset")
            _check_checkins(session, here, start, end, report)


def _check_checkins(
    session: dict[str, Any],
    here: Path_,
    start: datetime | None,
    end: datetime | None,
    report: Callable[[Path_, str], None],
) -> None:
    """Check-in windows lie inside their session, in order, with distinct ids."""
    attendance = session.get("attendance")
    windows = attendance.get("checkins") if isinstance(attendance, dict) else None
    ids: set[str] = set()
    for w, window in enumerate(windows if isinstance(windows, list) else []):
        if not isinstance(window, dict):
            continue
        where: Path_ = (*here, "attendance", "checkins", w)
        if window.get("id") in ids:
            report((*where, "id"), f"duplicate check-in id {window.get('id')!r}")
        ids.add(str(window.get("id")))
        opens, closes = _when(window.get("start")), _when(window.get("end"))
        if opens is None or closes is None:
            continue
        try:
            if closes <= opens:
                report((*where, "end"), "ends before it starts")
            elif start is not None and end is not None and (opens < start or closes > end):
                report(where, "a check-in must lie within its session")
        except TypeError:
            report((*where, "end"), "give the check-in times like the session's")


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value is not None else None
    except ValueError:
        return None


def _unique(
    value: str, path: Path_, seen: dict[str, Path_], report: Callable[[Path_, str], None]
) -> None:
    if value in seen:
        report(path, f"duplicate id {value!r} (also at {_field(seen[value])})")
    else:
        seen[value] = path


def _no_raw_checks(tree: Any, report: Callable[[Path_, str], None]) -> None:
    return None


# One entry per kind of content file: its model and its checks on the raw tree.
REGISTRY: dict[str, tuple[type[BaseModel], Checker]] = {
    "programme.yaml": (Programme, _check_programme),
    "kat.yaml": (Instrument, _no_raw_checks),
    "satisfaction.yaml": (Instrument, _no_raw_checks),
    "followup.yaml": (Instrument, _no_raw_checks),
    "certificates.yaml": (CertificateTexts, _no_raw_checks),
}
REQUIRED = ("programme.yaml",)
INSTRUMENT_FILES = {
    "kat.yaml": "kat",
    "satisfaction.yaml": "satisfaction",
    "followup.yaml": "followup",
}
# The raw trees of the last load, so that later reports can name lines.
_TREES: dict[str, Any] = {}


# Far above any real programme (the shipped files are a few kB and a few thousand values).
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 200_000


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


@functools.lru_cache(maxsize=16)
def _parse(text: str) -> Any:
    """The round-trip tree of ``text``, parsed once per distinct text: ruamel's round-trip
    parser is pure Python (about a second for the shipped files), and every CLI command,
    reload and check reads the same files again. Nothing downstream mutates a tree; a text
    that fails to parse raises and is not cached."""
    return _yaml().load(text)


def _load_file(
    path: Path, display: str, problems: list[Problem], programme: Programme | None
) -> BaseModel | None:
    model, checker = REGISTRY[path.name]
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(
                Problem(
                    display,
                    1,
                    "(file)",
                    f"{size} bytes; a content file is at most {MAX_FILE_BYTES} bytes",
                )
            )
            return None
        text = path.read_text(encoding="utf-8")
        tree = _parse(text)
    except MarkedYAMLError as exc:
        # The line to fix, which for an indentation mistake is often not the parser's.
        syntax = diagnose(text, exc)
        problems.append(Problem(display, syntax.line, "(yaml)", explain(syntax), syntax))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(display, 1, "(file)", f"cannot read: {exc}"))
        return None
    if _expanded_size(tree) > MAX_NODES:
        # Aliases share nodes, so loading is cheap; walking them expanded is not (an alias
        # bomb of a few kB would be billions of nodes).
        problems.append(
            Problem(
                display,
                1,
                "(yaml)",
                f"more than {MAX_NODES} values once anchors (&) and aliases (*) are expanded; "
                "write the values out instead",
            )
        )
        return None
    before = len(problems)

    def report(where: Path_, message: str) -> None:
        problems.append(Problem(display, _line(tree, where), _field(where), message))

    checker(tree, report)
    if path.name == "certificates.yaml":
        for where, message in check_signatures(tree, path.parent):
            report(where, message)
    try:
        result = model.model_validate(_plain(tree))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(
                part
                for part in error["loc"]
                if not (isinstance(part, str) and part.startswith("function-"))
                # A campaign's kind, as pydantic names the union member: not a YAML key.
                and not (path.name == "programme.yaml" and part in CAMPAIGN_KINDS)
            )
            message = error["msg"]
            if error["type"] == "missing":
                message = "field required"
            elif "datetime" in error["type"]:
                message = f"invalid date {error.get('input')!r}: {error['msg']}"
            report(loc, message)
        return None
    if isinstance(result, Instrument):
        expected = INSTRUMENT_FILES[path.name]
        if result.kind != expected:
            report(("kind",), f"{path.name} holds the {expected!r} questionnaire")
        for where, message in check_instrument(result, programme):
            report(where, message)
    _TREES[display] = tree
    return result if len(problems) == before else None


def _expanded_size(tree: Any) -> int:
    """How many values the tree has with aliases expanded, counting no further than the cap."""
    count, stack = 0, [tree]
    while stack and count <= MAX_NODES:
        node = stack.pop()
        count += 1
        if isinstance(node, dict):
            stack.extend(node.values())
            count += len(node)
        elif isinstance(node, list):
            stack.extend(node)
    return count


def _plain(node: Any) -> Any:
    """Turn ruamel's commented containers into plain ones for pydantic."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def check_content(content_dir: Path) -> list[Problem]:
    """Every problem in the content folder; empty when valid."""
    try:
        load_content(content_dir)
    except ContentError as exc:
        return exc.problems
    return []


def load_content(content_dir: Path) -> Content:
    """Load and validate every content file, or raise ``ContentError`` listing all problems."""
    problems: list[Problem] = []
    files = sorted(content_dir.glob("*.yaml")) if content_dir.is_dir() else []
    for name in REQUIRED:
        if not (content_dir / name).is_file():
            problems.append(Problem(_display(content_dir / name), 1, "(file)", "missing"))
    loaded: dict[str, BaseModel] = {}
    # The programme first: the questionnaires' windows refer to its sessions.
    for path in sorted(files, key=lambda p: p.name != "programme.yaml"):
        if path.name not in REGISTRY:
            problems.append(
                Problem(
                    _display(path),
                    1,
                    "(file)",
                    f"unknown content file (expected one of: {', '.join(sorted(REGISTRY))})",
                )
            )
            continue
        known = loaded.get("programme.yaml")
        model = _load_file(
            path, _display(path), problems, known if isinstance(known, Programme) else None
        )
        if model is not None:
            loaded[path.name] = model
    if problems:
        raise ContentError(problems)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    programme = loaded["programme.yaml"]
    assert isinstance(programme, Programme)
    # In the programme's order: before, during, after.
    order = ("kat", "satisfaction", "followup")
    found = {m.kind: m for m in loaded.values() if isinstance(m, Instrument)}
    instruments: dict[str, Instrument] = {kind: found[kind] for kind in order if kind in found}
    texts = loaded.get("certificates.yaml")
    content = Content(
        programme=programme,
        version=digest.hexdigest(),
        files=tuple(files),
        instruments=instruments,
        certificates=texts if isinstance(texts, CertificateTexts) else None,
    )
    problems = _screen_problems(content, content_dir)
    if problems:
        raise ContentError(problems)
    return content


def _screen_problems(content: Content, content_dir: Path) -> list[Problem]:
    """A screen longer than a Telegram message would fail for every participant: refuse it."""
    # Rendering lives with the questionnaire engine, which imports this module.
    from bot.i18n import LOCALES, CatalogError
    from bot.services.questionnaire import screen_problems

    try:
        found = screen_problems(content, LOCALES)
    except CatalogError:
        return []  # catalogs not compiled yet: the bot itself refuses to start then
    problems = []
    files = {kind: name for name, kind in INSTRUMENT_FILES.items()}
    for kind, index, message in found:
        display = _display(content_dir / files[kind])
        where: Path_ = ("items",) if index is None else ("items", index)
        problems.append(Problem(display, _line(_TREES.get(display), where), _field(where), message))
    return problems


def untranslated(content_dir: Path) -> dict[str, list[Problem]]:
    """Per language (en, ar), every content text that will show in French for want of one."""
    content = load_content(content_dir)
    found: dict[str, list[Problem]] = {"en": [], "ar": []}
    for path in content.files:
        display = _display(path)
        model: BaseModel | None = (
            content.programme
            if path.name == "programme.yaml"
            else content.certificates
            if path.name == "certificates.yaml"
            else content.instruments[INSTRUMENT_FILES[path.name]]
        )
        if model is None:
            continue
        tree = _TREES.get(display)
        for where, text in _texts(model, ()):
            for locale, problems in found.items():
                if not getattr(text, locale):
                    line = _line(tree, where) if tree is not None else 1
                    problems.append(Problem(display, line, _field(where), f"no {locale} text"))
    return found


def _texts(node: Any, path: Path_) -> list[tuple[Path_, LocalizedText]]:
    """Every LocalizedText in a validated model, with its path."""
    if isinstance(node, LocalizedText):
        return [(path, node)]
    out: list[tuple[Path_, LocalizedText]] = []
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            out += _texts(getattr(node, name), (*path, name))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out += _texts(value, (*path, index))
    return out
