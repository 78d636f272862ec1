"""``relais sandbox``: chat with the real bot in a terminal, or play a script of the same lines.

One line is one action, typed or read from a script (``HELP`` lists them as ``:help`` prints
them). In scripts, ``#`` starts a comment and ``##`` a heading printed in the transcript;
anything that is not a ``:`` command is sent as a message (``/command`` included).
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clock import FixedClock
from bot.content import Content
from bot.i18n import LOCALES
from bot.runtime import runtime_of
from bot.sandbox.answers import answer_key, right_answer_buttons
from bot.sandbox.chat import BotBlocked, SimulatedUser
from bot.sandbox.emulator import ChatEvent, SentMessage, StoredFile
from bot.sandbox.harness import Sandbox, Seed
from bot.services.invites import IssuedInvite, deep_link
from bot.storage.repo import Role

# What :help prints: plain text for a terminal, one command a line.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("TEXT, /command", "send a message to the bot"),
    ("N (a number)", "press button N of the latest message that has buttons"),
    (":press TEXT", "press the button labelled TEXT (or the letter of the option TEXT)"),
    (":invite [participant N]", "open your invitation link (or someone else's, to see a replay)"),
    (
        ":as ROLE [N]",
        "switch person; ROLE is participant|coordinator|evaluator|admin|stranger, or "
        "supervisor (the Nth line manager the roster names)",
    ),
    (
        ":clock [+2d|+3h|+30m|WHEN]",
        "show or move simulated time (with --clock); WHEN is "
        "2027-03-01T08:00 in the programme's time zone, or with an offset",
    ),
    (":tick", "send what the scheduler and the outbox have due now"),
    (
        ":answers [on|off]",
        "list the KAT's answer key, or mark the right option on each quiz "
        "screen (the sandbox only)",
    ),
    (":save [PATH]", "save the latest document or photo of the chat (default: its name, here)"),
    (":doc FILE [caption]", "send a document (a path from here, else beside the script)"),
    (":attendance FILE", "import an attendance file as 'relais attendance import' does"),
    (":verify [participant N]", "open the link of the QR code on N's latest certificate"),
    (":block, :unblock", "block or unblock the bot as this person"),
    (":chat, :last [N]", "print the chat as it looks now (or its last N messages)"),
    (":help, :quit", "this list; leave"),
)


def help_text() -> str:
    """The commands in two aligned columns, as a terminal shows them."""
    width = max(len(syntax) for syntax, _ in COMMANDS)
    lines = []
    for syntax, what in COMMANDS:
        wrapped = textwrap.wrap(what, 76 - width) or [""]
        lines.append(f"  {syntax.ljust(width)}  {wrapped[0]}")
        lines += [f"  {'':{width}}  {more}" for more in wrapped[1:]]
    return "\n".join(lines) + "\n"


HELP = help_text()
# Appended, never inserted: each role's position gives its people their Telegram ids.
ROLES = ("participant", "coordinator", "evaluator", "admin", "stranger", "supervisor")
_DURATION = re.compile(r"^\+(\d+)([dhm])$")
_TAG = re.compile(r"<(/?)(\w[\w-]*)([^>]*)>")
_HREF = re.compile(r'href="([^"]*)"')


class ScriptError(Exception):
    """A line that cannot be played; the message says why."""


@dataclass
class Style:
    """ANSI styling for a real terminal; plain text for scripts, pipes and logs."""

    color: bool = False

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.color else text

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.color else text


def render_html(text: str, style: Style) -> str:
    """Telegram HTML as a terminal shows it: bold kept, links spelled out, entities decoded."""
    out: list[str] = []
    pos = 0
    links: list[str] = []
    for match in _TAG.finditer(text):
        out.append(html.unescape(text[pos : match.start()]))
        pos = match.end()
        closing, tag, attrs = match.groups()
        if tag in ("b", "strong") and style.color:
            out.append("\x1b[0m" if closing else "\x1b[1m")
        elif tag == "a":
            if closing and links:
                out.append(f" ({links.pop()})")
            elif not closing:
                href = _HREF.search(attrs)
                links.append(html.unescape(href.group(1)) if href else "")
    out.append(html.unescape(text[pos:]))
    return "".join(out)


@dataclass
class Transcript:
    """Turns chat events into readable lines and numbers the buttons of the latest keyboard."""

    style: Style
    write: Callable[[str], None]
    keyboard: SentMessage | None = None
    # The emulator's files, to say what a document or photo is (name, type, size).
    files: Mapping[str, StoredFile] = field(default_factory=dict)
    # Which buttons of a message carry the right answer (``:answers on``); None: none marked.
    right_answers: Callable[[SentMessage], set[str]] | None = None

    def message(self, label: str, message: SentMessage) -> None:
        self.write(f"  {self.style.bold(label)}:")
        body = render_html(message.text, self.style)
        file_id = message.document or message.photo
        if file_id:
            kind = "document" if message.document else "photo"
            about = describe_file(self.files.get(file_id), photo=not message.document)
            self.write(f"    [{kind}{': ' + about if about else ''}]  (:save keeps it)")
        for line in body.splitlines() or ([] if file_id else [""]):
            self.write(f"    {line}")
        if message.buttons:
            self.keyboard = message
            right = self.right_answers(message) if self.right_answers else set()
            number = 0
            for row in message.buttons:
                cells = []
                for button in row:
                    number += 1
                    mark = " ✔ right answer" if button.get("callback_data") in right else ""
                    cells.append(f"[{number}] {button['text']}{mark}")
                self.write("    " + "   ".join(cells))

    def events(self, events: list[ChatEvent]) -> None:
        for event in events:
            if event.kind == "sent" and event.message and not event.message.deleted:
                self.message("Relais", event.message)
            elif event.kind == "edited" and event.message and not event.message.deleted:
                self.message(f"Relais (edited message {event.message.message_id})", event.message)
            elif event.kind == "deleted" and event.message:
                self.write(self.style.dim(f"  (Relais deleted message {event.message.message_id})"))
            elif event.kind == "answer" and event.text:
                kind = "alert" if event.data.get("show_alert") else "notice"
                self.write(f"  Relais ({kind}): {event.text}")
        self.write("")


# A photo has no name in Telegram, and a library uploading raw bytes names them after
# their type: the first bytes say what the file is.
_SIGNATURES = ((b"\x89PNG", "image/png", ".png"), (b"\xff\xd8\xff", "image/jpeg", ".jpg"))
_GENERIC = ("application/octet-stream", None)


def file_facts(stored: StoredFile, *, photo: bool = False) -> tuple[str | None, str | None, str]:
    """The name, type and a file name to save it under."""
    name, mime = stored.file_name, stored.mime_type
    suffix = Path(stored.file_path).suffix
    for magic, sniffed, extension in _SIGNATURES:
        if stored.content.startswith(magic):
            if mime in _GENERIC or photo:
                mime, suffix = sniffed, extension
            break
    if photo or name == "application.octet-stream":
        name = None
    return name, mime, name or f"{'photo' if photo else 'file'}-{stored.file_unique_id}{suffix}"


def describe_file(stored: StoredFile | None, *, photo: bool = False) -> str:
    """A file as a chat shows it before it is opened: name, type and size."""
    if stored is None:
        return ""
    name, mime, _ = file_facts(stored, photo=photo)
    size = len(stored.content)
    if size < 1024:
        amount = f"{size} B"
    elif size < 1024 * 1024:
        amount = f"{size / 1024:.0f} KB"
    else:
        amount = f"{size / (1024 * 1024):.1f} MB"
    return " · ".join(part for part in (name, mime, amount) if part)


@dataclass
class Session:
    """The people of the sandbox and the one currently typing."""

    sandbox: Sandbox
    seed: Seed
    transcript: Transcript
    role: str = "participant"
    index: int = 1
    people: dict[tuple[str, int], SimulatedUser] = field(default_factory=dict)
    # The folder of the script being played: files it names are found there too.
    folder: Path | None = None
    # How many of each chat's events were printed: what arrived while someone else typed
    # (a broadcast, a reminder) is shown when you switch to the person who received it.
    seen: dict[int, int] = field(default_factory=dict)
    # ``:answers on``: the right option of each KAT screen is marked (never in the real bot).
    show_answers: bool = False

    def __post_init__(self) -> None:
        self.transcript.files = self.sandbox.api.files
        self.transcript.right_answers = self._right_answers

    @property
    def clock(self) -> FixedClock | None:
        clock = self.sandbox.clock
        return clock if isinstance(clock, FixedClock) else None

    @property
    def content(self) -> Content:
        return runtime_of(self.sandbox.app).content

    def show(self, user: SimulatedUser, *, away: bool = False) -> None:
        """Print what happened in this person's chat since it was last printed."""
        events = [e for e in user.events[self.seen.get(user.user_id, 0) :] if e.kind != "user"]
        self.seen[user.user_id] = len(user.events)
        if away:
            shown = [e for e in events if e.kind in ("sent", "edited") and e.message]
            if not shown:
                return
            self.transcript.write(
                self.transcript.style.dim(f"  ({len(shown)} message(s) while you were away)")
            )
        self.transcript.events(events)

    def _right_answers(self, message: SentMessage) -> set[str]:
        if not self.show_answers:
            return set()
        quizzes = [i for i in self.content.instruments.values() if i.scored]
        return {b for quiz in quizzes for b in right_answer_buttons(message, quiz)}

    def person(self) -> SimulatedUser:
        """The current person's Telegram account, created on first use."""
        key = (self.role, self.index)
        if key not in self.people:
            user_id = 700_000 + ROLES.index(self.role) * 1_000 + self.index
            name, language = "Visiteur", "fr"
            if self.role == "participant":
                participant = self.invite().participant
                assert participant is not None
                name = participant.full_name.split()[0]
                language = participant.language or "fr"
            elif self.role == "supervisor":
                supervisor = self.invite().supervisor
                assert supervisor is not None
                name = (supervisor.name or supervisor.email).split()[0]
            elif self.role != "stranger":
                name = {"coordinator": "Salma", "evaluator": "Karim", "admin": "Admin"}[self.role]
            self.people[key] = self.sandbox.user(user_id, name, language_code=language)
        return self.people[key]

    def invite(self) -> IssuedInvite:
        """The current person's invitation."""
        return self.invite_of(self.role, self.index)

    def invite_of(self, role: str, index: int) -> IssuedInvite:
        """The invitation the sandbox issued to participant ``index`` or to a staff role."""
        if role == "participant":
            if not 1 <= index <= len(self.seed.participants):
                raise ScriptError(f"there are {len(self.seed.participants)} participants")
            return self.seed.participants[index - 1]
        if role == "supervisor":
            if not 1 <= index <= len(self.seed.supervisors):
                raise ScriptError(f"the roster names {len(self.seed.supervisors)} supervisors")
            return self.seed.supervisors[index - 1]
        if role not in ROLES or role == "stranger":
            raise ScriptError(f"{role!r} has no invitation")
        return self.seed.staff[Role(role)]

    def describe(self) -> str:
        """Who is typing now, and how to enrol."""
        if self.role == "stranger":
            return "You are a stranger: nobody invited you."
        invite = self.invite()
        link = deep_link(self.sandbox.api.username, invite.token)
        if invite.participant is not None:
            who = f"{invite.participant.full_name} (cohort {invite.participant.cohort})"
        elif invite.supervisor is not None:
            who = f"{invite.supervisor.name or invite.supervisor.email}, a line manager"
        else:
            who = f"a new {self.role}"
        return f"You are {who}. Invitation link: {link}\nType :invite to open it."

    async def play(self, line: str) -> bool:
        """Play one line; False when the session should end."""
        try:
            return await self._play(line.strip())
        except BotBlocked as exc:
            raise ScriptError(str(exc)) from None

    async def _play(self, line: str) -> bool:
        if not line:
            return True
        if line.startswith(":"):
            return await self._meta(line[1:].split())
        user = self.person()
        if line.isdigit():
            await self._press(user, int(line))
        else:
            await user.send(line)
        self.show(user)
        return True

    async def _press(self, user: SimulatedUser, number: int) -> None:
        message = next((m for m in reversed(user.chat) if m.buttons), None)
        buttons = [b for row in message.buttons for b in row] if message else []
        if message is None or not 1 <= number <= len(buttons):
            raise ScriptError(f"no button {number} on the latest keyboard")
        await user.press_data(buttons[number - 1]["callback_data"], message)

    async def _meta(self, words: list[str]) -> bool:
        if not words:
            raise ScriptError("empty command; type :help")
        command, args = words[0], words[1:]
        write = self.transcript.write
        if command in ("quit", "exit", "q"):
            return False
        if command == "help":
            write(HELP)
        elif command == "as":
            if not args or args[0] not in ROLES:
                raise ScriptError(f"usage: :as {'|'.join(ROLES)} [N]")
            role, index = args[0], _number(args[1]) if len(args) > 1 else 1
            if role != "stranger":
                # Checked before switching: a wrong number leaves you who you were.
                self.invite_of(role, index)
            self.role, self.index = role, index
            write(self.describe())
            write("")
            if (role, index) in self.people:
                self.show(self.people[(role, index)], away=True)
        elif command == "invite":
            # ":invite participant 1" opens someone else's link, to show that replays fail.
            invite = (
                self.invite_of(args[0], _number(args[1]) if len(args) > 1 else 1) if args else None
            )
            await self.play(f"/start {(invite or self.invite()).token}")
        elif command == "clock":
            user = self.person() if self.role != "stranger" or self.people else None
            self._move_clock(args)
            if args:
                # Whatever the scheduler would have sent by now arrives, as on a phone.
                await self.sandbox.tick()
                if user is not None:
                    self.show(user)
        elif command in ("block", "unblock"):
            user = self.person()
            await (user.block() if command == "block" else user.unblock())
            write(f"  ({user.account.first_name} {command}ed the bot)\n")
        elif command == "doc":
            if not args:
                raise ScriptError("usage: :doc FILE [caption]")
            path = Path(args[0])
            try:
                content = await asyncio.to_thread(_read_near, path, self.folder)
            except OSError as exc:
                raise ScriptError(f"cannot read {path}: {exc.strerror}") from None
            user = self.person()
            await user.send_document(content, path.name, " ".join(args[1:]))
            self.show(user)
        elif command in ("chat", "last"):
            messages = self.person().chat
            if command == "last":
                messages = messages[-(int(args[0]) if args and args[0].isdigit() else 1) :]
            for message in messages:
                self.transcript.message("Relais", message)
            write("")
        elif command == "press":
            user = self.person()
            await self._press_label(user, " ".join(args))
            self.show(user)
        elif command == "attendance":
            await self._attendance(args)
        elif command == "verify":
            index = _number(args[1]) if len(args) > 1 else (_number(args[0]) if args else 1)
            await self.play(f"/start {await self._certificate_link(index)}")
        elif command == "tick":
            user = self.person()
            await self.sandbox.tick()
            self.show(user)
        elif command == "save":
            await self._save(args)
        elif command == "answers":
            self._answers(args)
        else:
            raise ScriptError(f"unknown command :{command}; type :help")
        return True

    async def _press_label(self, user: SimulatedUser, label: str) -> None:
        """Press by what the button says, or by the letter a long option is written with."""
        message = next((m for m in reversed(user.chat) if m.buttons), None)
        if message is None or not label:
            raise ScriptError("usage: :press TEXT (on a message with buttons)")
        buttons = [b for row in message.buttons for b in row]
        wanted = {label}
        for line in html.unescape(_TAG.sub("", message.text)).splitlines():
            letter, dot, text = line.partition(". ")
            if dot and text.strip() == label:
                wanted.add(letter.strip())
        for button in buttons:
            if button["text"].removeprefix("✓ ").strip() in wanted:
                await user.press_data(button["callback_data"], message)
                return
        raise ScriptError(f"no button {label!r} on the latest keyboard")

    async def _attendance(self, args: list[str]) -> None:
        from bot.services.attendance import AttendanceError, import_attendance

        if not args:
            raise ScriptError("usage: :attendance FILE")
        try:
            data = await asyncio.to_thread(_read_near, Path(args[0]), self.folder)
        except OSError as exc:
            raise ScriptError(f"cannot read {args[0]}: {exc.strerror}") from None
        sandbox = self.sandbox
        try:
            count = await import_attendance(
                sandbox.db,
                data,
                programme=runtime_of(sandbox.app).content.programme,
                clock=sandbox.clock,
                actor="sandbox",
            )
        except AttendanceError as exc:
            raise ScriptError(f"{args[0]}: nothing imported: {exc}") from None
        self.transcript.write(f"  (attendance: {count} row(s) imported from {args[0]})\n")

    async def _certificate_link(self, index: int) -> str:
        from bot.services.certification import DEEP_LINK_PREFIX, certificates_of

        participant = self.invite_of("participant", index).participant
        assert participant is not None
        issued = await certificates_of(self.sandbox.db, participant.id)
        if not issued:
            raise ScriptError(f"participant {index} has no certificate yet")
        return DEEP_LINK_PREFIX + issued[-1].code

    async def _save(self, args: list[str]) -> None:
        """Write the latest document or photo of the chat to a file, to open it."""
        message = next((m for m in reversed(self.person().chat) if m.document or m.photo), None)
        file_id = (message.document or message.photo or "") if message else ""
        stored = self.sandbox.api.files.get(file_id)
        if message is None or stored is None:
            raise ScriptError("no document or photo in this chat")
        photo = message.document is None
        name = Path(file_facts(stored, photo=photo)[2]).name
        target = Path(args[0]) if args else Path(name)
        if target.is_dir():
            target = target / name
        try:
            await asyncio.to_thread(target.write_bytes, stored.content)
        except OSError as exc:
            raise ScriptError(f"cannot write {target}: {exc.strerror}") from None
        about = describe_file(stored, photo=photo)
        self.transcript.write(f"  (saved {about} to {target.resolve()})\n")

    def _answers(self, args: list[str]) -> None:
        """``:answers``: the answer key; ``on``/``off``: mark the right option on quiz screens."""
        if args and args[0] in ("on", "off"):
            self.show_answers = args[0] == "on"
            state = "marked on each quiz screen" if self.show_answers else "no longer marked"
            self.transcript.write(f"  (right answers {state}: the sandbox only)\n")
            return
        if args:
            raise ScriptError("usage: :answers [on|off]")
        quizzes = [i for i in self.content.instruments.values() if i.scored]
        if not quizzes:
            raise ScriptError("there is no quiz (kind: quiz) in the content")
        locale = self.person().account.language_code or "fr"
        for quiz in quizzes:
            self.transcript.write(answer_key(quiz, locale if locale in LOCALES else "fr"))

    def _local(self, instant: datetime) -> str:
        """A simulated instant as the bot speaks it (the programme's zone), and in UTC."""
        tz = self.content.programme.tz
        local = instant.astimezone(tz)
        return f"{local:%a %Y-%m-%d %H:%M} {tz.key} ({instant.astimezone(UTC):%H:%M} UTC)"

    def _move_clock(self, args: list[str]) -> None:
        clock = self.clock
        if clock is None:
            raise ScriptError("time is real here; start the sandbox with --clock to move it")
        if not args:
            self.transcript.write(f"  (simulated time: {self._local(clock.now())})\n")
            return
        match = _DURATION.match(args[0])
        if match:
            amount, unit = int(match.group(1)), match.group(2)
            clock.advance(timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: amount}))
        else:
            try:
                instant = datetime.fromisoformat(args[0])
            except ValueError:
                raise ScriptError("usage: :clock +2d | +3h | +30m | 2027-03-01T08:00") from None
            if instant.tzinfo is None:
                # As the content writes times: in the programme's zone.
                instant = instant.replace(tzinfo=self.content.programme.tz)
            clock.set(instant)
        self.transcript.write(f"  (simulated time is now {self._local(clock.now())})\n")


def _number(word: str) -> int:
    """A person's number on the roster, as typed."""
    if not word.isdigit():
        raise ScriptError(f"{word!r} is not a number")
    return int(word)


def _read_near(path: Path, folder: Path | None) -> bytes:
    """A file named in a script: relative to the working directory, else to the script."""
    if not path.is_file() and folder is not None:
        path = folder / path
    return path.read_bytes()


async def play_script(session: Session, lines: list[str], source: str) -> int:
    """Play a script, echoing each action; stop at the first line that cannot be played."""
    write = session.transcript.write
    session.folder = Path(source).parent
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or (line.startswith("#") and not line.startswith("##")):
            continue
        if line.startswith("##"):
            write(session.transcript.style.bold(line.lstrip("# ").strip()))
            write("")
            continue
        if not line.startswith(":") or line.startswith((":invite", ":doc", ":press", ":verify")):
            who = session.person().account.first_name
            write(f"  {who} > {line}")
        try:
            if not await session.play(line):
                return 0
        except ScriptError as exc:
            print(f"{source}:{number}: {exc}", file=sys.stderr)
            return 1
    return 0


async def interact(session: Session, log: Path | None = None) -> int:
    """Read lines from the terminal until :quit or end of input."""
    write = session.transcript.write
    write("Relais sandbox: type a message, a number to press a button, :help for more.")
    if log is not None:
        write(f"The bot's warnings and errors go to {log}.")
    write(session.describe())
    write("")
    while True:
        try:
            line = await asyncio.to_thread(input, "> ")
        except EOFError:
            write("")
            return 0
        try:
            if not await session.play(line):
                return 0
        except ScriptError as exc:
            write(f"  ! {exc}")
