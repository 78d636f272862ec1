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
from bot.content.instruments import Instrument, Loop, LoopItem, Stage, check_instrument
from bot.content.messages import pydantic_said
from bot.content.models import CAMPAIGN_KINDS, LocalizedText, Programme
from bot.content.yaml_syntax import Diagnosis, diagnose, explain
from bot.i18n import Said, _, said


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a content file."""

    file: str
    line: int
    field: str
    message: str
    # A YAML syntax error, to say again in another language (``in_locale``).
    syntax: Diagnosis | None = None
    # Any other message that can be said again in another language.
    said: Said | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


def in_locale(problem: Problem, locale: str) -> Problem:
    """The problem said in ``locale`` where it can be (pydantic's rarer errors stay in English)."""
    if problem.syntax is not None:
        return replace(problem, message=explain(problem.syntax, locale))
    if problem.said is not None:
        return replace(problem, message=problem.said.in_locale(locale))
    return problem


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
    # The participants' questionnaire files, by id, in the report's order (``order``, then
    # file name). Everything a participant answers, is scored on or is counted by goes
    # through this one: the supervisors' instruments are apart, so that no participant
    # path (tallies, scores, certificates, /me, the participant export) can meet them.
    instruments: dict[str, Instrument] = field(default_factory=dict)
    # The questionnaires of ``audience: supervisors``, by id, in the same order.
    supervisor_instruments: dict[str, Instrument] = field(default_factory=dict)
    # What the certificates say (certificates.yaml); None: Relais issues none.
    certificates: CertificateTexts | None = None
    # The file each instrument was read from, by id.
    sources: dict[str, Path] = field(default_factory=dict)

    def instrument(self, instrument_id: str) -> Instrument | None:
        """The participants' instrument with this id, if the content has it."""
        return self.instruments.get(instrument_id)

    def supervisor_instrument(self, instrument_id: str) -> Instrument | None:
        """The supervisors' instrument with this id, if the content has it."""
        return self.supervisor_instruments.get(instrument_id)

    @property
    def all_instruments(self) -> dict[str, Instrument]:
        """Every instrument, whoever answers it, in the report's order (for checks, item
        versions and the codebook)."""
        every = {**self.instruments, **self.supervisor_instruments}
        return {i: every[i] for i in self.sources}

    def for_campaign(
        self, ids: list[str] | None, audience: str = "participants"
    ) -> list[Instrument]:
        """The instruments of ``audience`` a campaign names; all of them when it names none."""
        found = self.supervisor_instruments if audience == "supervisors" else self.instruments
        if ids is None:
            return list(found.values())
        return [i for i in (found.get(x) for x in ids) if i is not None]

    def quiz(self) -> Instrument | None:
        """The quiz a participant's scores and results card are about: the one the
        certificates count, else the first quiz (its stages: before, then after)."""
        counted = self.certificate_quiz()
        if counted is not None:
            return counted[0]
        return next((i for i in self.instruments.values() if i.scored), None)

    def quiz_stages(self) -> tuple[Instrument, Stage, Stage] | None:
        """``quiz()`` with its stage before and its stage after the training (the one the
        certificates count, else its last)."""
        quiz = self.quiz()
        if quiz is None:
            return None
        counted = self.certificate_quiz()
        after = counted[1] if counted is not None else quiz.stages[-1]
        before = next((s for s in quiz.stages if s is not after), after)
        return quiz, before, after

    def certificate_quiz(self) -> tuple[Instrument, Stage] | None:
        """The quiz and its stage whose score the certificates count, if any."""
        ref = self.certificates.quiz if self.certificates is not None else None
        if ref is not None:
            quiz = self.instruments.get(ref.instrument)
            stage = quiz.stage(ref.stage) if quiz is not None else None
            return (quiz, stage) if quiz is not None and stage is not None else None
        # Without a reference: the one quiz with thresholds, counted on its last stage.
        found = [i for i in self.instruments.values() if i.scored and i.certificates]
        return (found[0], found[0].stages[-1]) if len(found) == 1 else None


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


def _check_loops(tree: Any, report: Callable[[Path_, str], None]) -> None:
    """A ``repeat`` block's mistakes, at their line (the model expands valid blocks only)."""
    items = tree.get("items") if isinstance(tree, dict) else None
    for index, entry in enumerate(items if isinstance(items, list) else []):
        if not (isinstance(entry, dict) and "repeat" in entry):
            continue
        try:
            Loop.model_validate(_plain(entry))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = tuple(p for p in error["loc"] if not str(p).startswith("function-"))
                message = "field required" if error["type"] == "missing" else error["msg"]
                report(("items", index, *where), message)


def _loop_problems(tree: Any, instrument: Instrument) -> list[tuple[Path_, str]]:
    """A block that no stage asks about anyone: nobody would ever see it."""
    items = tree.get("items") if isinstance(tree, dict) else None
    blocks = {item.block for item in instrument.items if isinstance(item, LoopItem)}
    return [
        (
            ("items", index, "repeat"),
            f"no facilitator in the sessions the stages are about "
            f"(programme.yaml: facilitators; stage: about) for block {entry.get('id')!r}",
        )
        for index, entry in enumerate(items if isinstance(items, list) else [])
        if isinstance(entry, dict)
        and "repeat" in entry
        and entry.get("id") not in blocks
        and _valid_loop(entry)
    ]


def _item_paths(tree: Any, instrument: Instrument) -> list[Path_]:
    """Where each loaded item is written: a loop's items come from one block of the file."""
    items = tree.get("items") if isinstance(tree, dict) else None
    entries = items if isinstance(items, list) else []
    blocks = {
        entry.get("id"): index
        for index, entry in enumerate(entries)
        if isinstance(entry, dict) and "repeat" in entry
    }
    plain = [index for index, entry in enumerate(entries) if index not in blocks.values()]
    paths: list[Path_] = []
    for item in instrument.items:
        if isinstance(item, LoopItem) and item.block in blocks:
            block = entries[blocks[item.block]]
            inner = [i.get("id") for i in block.get("items") or [] if isinstance(i, dict)]
            base = item.id.split(".", 1)[0]
            at = inner.index(base) if base in inner else 0
            paths.append(("items", blocks[item.block], "items", at))
        else:
            paths.append(("items", plain.pop(0) if plain else len(paths)))
    return paths


def _in_file(where: Path_, paths: list[Path_]) -> Path_:
    """A path into the loaded items, as a path into the file."""
    if (
        len(where) >= 2
        and where[0] == "items"
        and isinstance(where[1], int)
        and where[1] < len(paths)
    ):
        return (*paths[where[1]], *where[2:])
    return where


def _valid_loop(entry: Any) -> bool:
    try:
        Loop.model_validate(_plain(entry))
    except ValidationError:
        return False  # reported at its line by _check_loops
    return True


# One entry per kind of content file: its model and its checks on the raw tree.
# The files that are not questionnaires; every other ``*.yaml`` with ``items:`` is one.
REGISTRY: dict[str, tuple[type[BaseModel], Checker]] = {
    "programme.yaml": (Programme, _check_programme),
    "certificates.yaml": (CertificateTexts, _no_raw_checks),
}
REQUIRED = ("programme.yaml",)
_UNKNOWN_FILE = _("unknown content file (expected %(names)s, or a questionnaire with 'items:')")
# The raw trees of the last load, so that later reports can name lines.
_TREES: dict[str, Any] = {}
# Per instrument file, where each loaded item is written (loop blocks expand to several).
_ITEM_PATHS: dict[str, list[Path_]] = {}


def _kind_of(path: Path) -> tuple[type[BaseModel], Checker] | None:
    """The model of a content file: by name, or an instrument when it has ``items:``."""
    if path.name in REGISTRY:
        return REGISTRY[path.name]
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return (Instrument, _no_raw_checks)  # the loader refuses it, saying why
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return (Instrument, _no_raw_checks)  # the loader reports why it cannot be read
    # A top-level key, as written by hand (the YAML is parsed, errors and all, later).
    if any(line.startswith("items:") for line in text.splitlines()):
        return (Instrument, _check_loops)
    return None


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
    kind = _kind_of(path)
    assert kind is not None
    model, checker = kind
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

    def report(where: Path_, message: str | Said) -> None:
        text = message if isinstance(message, Said) else None
        problems.append(
            Problem(display, _line(tree, where), _field(where), str(message), said=text)
        )

    checker(tree, report)
    if path.name == "certificates.yaml":
        for where, message in check_signatures(tree, path.parent):
            report(where, message)
    try:
        result = model.model_validate(_plain(tree), context={"programme": programme})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(
                part
                for part in error["loc"]
                if not (isinstance(part, str) and part.startswith("function-"))
                # A campaign's kind, as pydantic names the union member: not a YAML key.
                and not (path.name == "programme.yaml" and part in CAMPAIGN_KINDS)
            )
            said_as: str | Said = error["msg"]
            if error["type"] == "missing":
                said_as = said(_("field required"))
            elif "datetime" in error["type"]:
                said_as = said(
                    _("invalid date %(value)r: %(reason)s"),
                    value=error.get("input"),
                    reason=error["msg"],
                )
            else:
                translated = pydantic_said(error)
                if translated is not None:
                    # English as pydantic says it (tests and logs), the reader's language later.
                    problems.append(
                        Problem(
                            display, _line(tree, loc), _field(loc), error["msg"], said=translated
                        )
                    )
                    continue
            report(loc, said_as)
        return None
    if isinstance(result, Instrument):
        paths = _item_paths(tree, result)
        _ITEM_PATHS[display] = paths
        for where, found in check_instrument(result, programme):
            report(_in_file(where, paths), found)
        if programme is not None:
            for where, message in _loop_problems(tree, result):
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
        if _kind_of(path) is None:
            problems.append(
                Problem(
                    _display(path),
                    1,
                    "(file)",
                    str(unknown := said(_UNKNOWN_FILE, names=" / ".join(sorted(REGISTRY)))),
                    said=unknown,
                )
            )
            continue
        known = loaded.get("programme.yaml")
        model = _load_file(
            path, _display(path), problems, known if isinstance(known, Programme) else None
        )
        if model is not None:
            loaded[path.name] = model
    sources: dict[str, Path] = {}
    for path in files:
        model = loaded.get(path.name)
        if isinstance(model, Instrument):
            if model.id in sources:
                twice = said(
                    _("duplicate questionnaire id %(id)r (also in %(file)s)"),
                    id=model.id,
                    file=sources[model.id].name,
                )
                problems.append(
                    Problem(
                        _display(path),
                        _line(_TREES.get(_display(path)), ("id",)),
                        "id",
                        str(twice),
                        said=twice,
                    )
                )
            sources[model.id] = path
    if not problems:
        problems += _cross_problems(loaded, sources, content_dir)
    if problems:
        raise ContentError(problems)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    programme = loaded["programme.yaml"]
    assert isinstance(programme, Programme)
    ordered = sorted(sources.items(), key=lambda kv: (loaded_order(loaded, kv[1]), kv[1].name))
    instruments: dict[str, Instrument] = {}
    supervisor_instruments: dict[str, Instrument] = {}
    for ident, path in ordered:
        model = loaded[path.name]
        assert isinstance(model, Instrument)
        if model.audience == "supervisors":
            supervisor_instruments[ident] = model
        else:
            instruments[ident] = model
    texts = loaded.get("certificates.yaml")
    content = Content(
        programme=programme,
        version=digest.hexdigest(),
        files=tuple(files),
        instruments=instruments,
        supervisor_instruments=supervisor_instruments,
        certificates=texts if isinstance(texts, CertificateTexts) else None,
        sources=dict(ordered),
    )
    problems = _screen_problems(content, content_dir)
    if problems:
        raise ContentError(problems)
    return content


def loaded_order(loaded: dict[str, BaseModel], path: Path) -> int:
    """An instrument's ``order`` (the report's sections follow it)."""
    model = loaded[path.name]
    return model.order if isinstance(model, Instrument) else 0


def _cross_problems(
    loaded: dict[str, BaseModel], sources: dict[str, Path], content_dir: Path
) -> list[Problem]:
    """What one file says about another: campaigns and certificates name instruments."""
    problems: list[Problem] = []
    instruments = {i: loaded[p.name] for i, p in sources.items()}
    programme = loaded.get("programme.yaml")
    if isinstance(programme, Programme):
        display = _display(content_dir / "programme.yaml")
        tree = _TREES.get(display)
        for c, campaign in enumerate(programme.campaigns):
            named = getattr(campaign, "instruments", None) or []
            for n, ident in enumerate(named):
                if ident not in instruments:
                    at: Path_ = ("campaigns", c, "instruments", n)
                    known = ", ".join(sorted(instruments)) or "-"
                    unknown = said(
                        _("no questionnaire %(id)r (known: %(known)s)"), id=ident, known=known
                    )
                    problems.append(
                        Problem(display, _line(tree, at), _field(at), str(unknown), said=unknown)
                    )
            # A campaign writes to one audience, its ``audience``: it names only questionnaires
            # answered by that audience (supervisors get one message per step, however many
            # people they supervise, participants one each).
            audience = getattr(campaign, "audience", "participants")
            for n, ident in enumerate(named):
                model = instruments.get(ident)
                if not isinstance(model, Instrument) or model.audience == audience:
                    continue
                at = ("campaigns", c, "instruments", n)
                if model.audience == "supervisors":
                    wrong = said(
                        _(
                            "%(id)r is answered by supervisors: their campaigns say"
                            " audience: supervisors"
                        ),
                        id=ident,
                    )
                else:
                    wrong = said(
                        _(
                            "%(id)r is answered by participants, not by supervisors"
                            " (audience: supervisors)"
                        ),
                        id=ident,
                    )
                problems.append(
                    Problem(display, _line(tree, at), _field(at), str(wrong), said=wrong)
                )
    texts = loaded.get("certificates.yaml")
    if isinstance(texts, CertificateTexts):
        display = _display(content_dir / "certificates.yaml")
        tree = _TREES.get(display)
        ref = texts.quiz
        quizzes = [i for i, m in instruments.items() if isinstance(m, Instrument) and m.scored]
        found = instruments.get(ref.instrument) if ref is not None else None
        message: Said | None = None
        where: Path_ = ("quiz",)
        if ref is None:
            with_rules = [i for i in quizzes if getattr(instruments[i], "certificates", None)]
            if len(with_rules) > 1:
                message = said(_("several quizzes have certificates: name the one counted (quiz:)"))
        elif not isinstance(found, Instrument) or not found.scored:
            where = ("quiz", "instrument")
            message = said(
                _("no quiz %(id)r (quizzes: %(known)s)"),
                id=ref.instrument,
                known=", ".join(quizzes) or "-",
            )
        elif found.stage(ref.stage) is None:
            where = ("quiz", "stage")
            message = said(_("%(id)r has no stage %(stage)r"), id=ref.instrument, stage=ref.stage)
        elif found.certificates is None:
            where = ("quiz", "instrument")
            message = said(_("%(id)r has no 'certificates' thresholds"), id=ref.instrument)
        if message is not None:
            problems.append(
                Problem(display, _line(tree, where), _field(where), str(message), said=message)
            )
    return problems


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
    for ident, index, message in found:
        display = _display(content.sources[ident])
        where: Path_ = ("items",) if index is None else ("items", index)
        where = _in_file(where, _ITEM_PATHS.get(display, []))
        problems.append(Problem(display, _line(_TREES.get(display), where), _field(where), message))
    return problems


def untranslated(content_dir: Path) -> dict[str, list[Problem]]:
    """Per language (en, ar), every content text that will show in French for want of one."""
    content = load_content(content_dir)
    by_path = {p: content.all_instruments[i] for i, p in content.sources.items()}
    found: dict[str, list[Problem]] = {"en": [], "ar": []}
    for path in content.files:
        display = _display(path)
        model: BaseModel | None = (
            content.programme
            if path.name == "programme.yaml"
            else content.certificates
            if path.name == "certificates.yaml"
            else by_path.get(path)
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
