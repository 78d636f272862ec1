"""Files staff send to the bot (roster, attendance): kept private until used, then deleted.

An uploaded roster names people, so it waits for the coordinator's confirmation in an
owner-only folder next to the database (0700, files 0600), under a random name that the
confirmation button carries. Confirming, cancelling, a newer upload by the same person, or
age past ``MAX_AGE`` removes it: a stale or forged button finds nothing and writes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from bot.i18n import _, said
from bot.services import attendance, roster
from bot.services.csvfile import RowProblem, TableError

# Telegram lets a bot download 20 MB; a 500-person roster is about 60 kB.
MAX_BYTES = 5 * 1024 * 1024
MAX_AGE = timedelta(hours=1)
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16}$")
_XLSX_MAGIC = b"PK\x03\x04"


class Kind(StrEnum):
    """What an uploaded table is."""

    ROSTER = "roster"
    ATTENDANCE = "attendance"
    ZOOM = "zoom"


class UploadError(TableError):
    """The file cannot be read as a table; ``problems`` says why."""


def folder_for(database: Path) -> Path:
    """The private folder for uploads, beside the database (which holds identities too)."""
    return database.resolve().parent / "uploads"


def as_csv(data: bytes, file_name: str) -> bytes:
    """The upload as CSV bytes: a CSV as is, an XLSX's first sheet converted.

    Raises ``UploadError`` for other types or a workbook that does not open.
    """
    lowered = file_name.lower()
    if lowered.endswith(".csv"):
        return data
    if not lowered.endswith(".xlsx") or not data.startswith(_XLSX_MAGIC):
        raise UploadError([RowProblem(1, None, said(_("send a CSV or XLSX file")))])
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        reason = said(_("the workbook does not open (%(error)s)"), error=exc)
        raise UploadError([RowProblem(1, None, reason)]) from None
    try:
        sheet = workbook.worksheets[0]
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        for cells in sheet.iter_rows(values_only=True):
            writer.writerow(["" if c is None else _cell(c) for c in cells])
    finally:
        workbook.close()
    return out.getvalue().encode()


def _cell(value: object) -> str:
    # Excel stores a typed 12 as 12.0; a roster's ids and codes are text.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def kind_of(data: bytes) -> Kind | None:
    """Which import a CSV is for, from its header; None if none fits."""
    text = data[:8192].decode("utf-8-sig", errors="replace").lower()
    lines = [line for line in text.splitlines()[:12] if line.strip()]
    if any("join time" in line and "leave time" in line for line in lines):
        return Kind.ZOOM
    if not lines:
        return None
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","
    header = {c.strip() for c in next(csv.reader([lines[0]], delimiter=delimiter))}
    columns = {roster.ALIASES.get(h, h) for h in header}
    if "cohort" in columns and "full_name" in columns:
        return Kind.ROSTER
    columns = {attendance.ALIASES.get(h, h) for h in header}
    if {"participant", "session", "attended"} <= columns:
        return Kind.ATTENDANCE
    if any(line.startswith("meeting id") for line in lines):
        return Kind.ZOOM
    return None


@dataclass(frozen=True, slots=True)
class Pending:
    """An upload waiting for a decision."""

    nonce: str
    kind: Kind
    data: bytes


class Uploads:
    """The private folder of pending uploads, one per staff member at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, user_id: int, nonce: str, kind: Kind) -> Path:
        return self.folder / f"{user_id}-{nonce}.{kind.value}"

    def keep(self, user_id: int, kind: Kind, data: bytes, now: datetime) -> str:
        """Store ``data`` owner-only, replacing this person's earlier pending upload."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        self.discard_all(user_id)
        self.purge_expired(now)
        nonce = secrets.token_urlsafe(12)
        path = self._path(user_id, nonce, kind)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # Stamped with the bot's clock (not the file system's), which ``take`` compares with.
        os.utime(path, (now.timestamp(), now.timestamp()))
        return nonce

    def take(self, user_id: int, nonce: str, now: datetime) -> Pending | None:
        """The upload ``nonce`` of ``user_id`` if it is still there and fresh; else None."""
        if not _NONCE.fullmatch(nonce):
            return None
        for kind in Kind:
            path = self._path(user_id, nonce, kind)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if not 0 <= now.timestamp() - stat.st_mtime <= MAX_AGE.total_seconds():
                path.unlink(missing_ok=True)
                return None
            return Pending(nonce, kind, path.read_bytes())
        return None

    def discard(self, user_id: int, nonce: str) -> None:
        """Delete the upload ``nonce`` (after import or cancel)."""
        if _NONCE.fullmatch(nonce):
            for kind in Kind:
                self._path(user_id, nonce, kind).unlink(missing_ok=True)

    def purge_expired(self, now: datetime) -> int:
        """Delete everyone's uploads left undecided past ``MAX_AGE``; return how many."""
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for path in self.folder.iterdir():
                with contextlib.suppress(FileNotFoundError):
                    if now.timestamp() - path.stat().st_mtime > MAX_AGE.total_seconds():
                        path.unlink()
                        removed += 1
        return removed

    def discard_all(self, user_id: int) -> None:
        """Delete every pending upload of ``user_id``."""
        with contextlib.suppress(FileNotFoundError):
            for path in self.folder.glob(f"{user_id}-*"):
                path.unlink(missing_ok=True)
