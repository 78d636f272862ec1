"""Pydantic model of ``certificates.yaml``: what each certificate says and who signs it.

Two levels, as in the concept note: ``participation`` (signed by the activity manager)
and ``success`` (co-signed by the training director). Each states the activity's
title and objectives, the learning hours and the level reached. The document is
written in ``languages[0]`` (French by default); further languages are printed
beneath, smaller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from bot.content.models import LocalizedText, _Model
from bot.i18n import LocaleCode

LEVELS = ("participation", "success")
Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]
# A signature is a small picture: anything larger is almost certainly the wrong file.
MAX_SIGNATURE_BYTES = 1024 * 1024
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}


class Signatory(_Model):
    """Someone who signs a certificate."""

    name: Name
    function: LocalizedText
    # A PNG or JPEG file, relative to the content folder.
    signature: str | None = None


class Activity(_Model):
    """The learning activity the certificate is for."""

    title: LocalizedText
    objectives: list[LocalizedText] = Field(min_length=1, max_length=8)


class LevelText(_Model):
    """The texts of one certificate."""

    title: LocalizedText
    activity: Activity
    hours: int = Field(gt=0, le=2000)
    level: LocalizedText
    signatories: list[Signatory] = Field(min_length=1, max_length=3)


def _french() -> list[LocaleCode]:
    return ["fr"]


class QuizRef(_Model):
    """The quiz stage whose score the certificates count (its file has the thresholds)."""

    instrument: str
    stage: str


class CertificateTexts(_Model):
    """``certificates.yaml``: the issuer and the two certificates."""

    # Omitted: the one quiz that has ``certificates`` thresholds, on its last stage.
    quiz: QuizRef | None = None
    issuer: LocalizedText
    languages: list[LocaleCode] = Field(default_factory=_french, min_length=1, max_length=3)
    participation: LevelText
    success: LevelText

    @field_validator("languages")
    @classmethod
    def _distinct(cls, value: list[LocaleCode]) -> list[LocaleCode]:
        if len(set(value)) != len(value):
            raise ValueError("each language at most once")
        return value

    def level(self, name: str) -> LevelText:
        """The texts of ``participation`` or ``success``."""
        return self.success if name == "success" else self.participation


def check_signatures(tree: object, folder: Path) -> list[tuple[tuple[str | int, ...], str]]:
    """Every signature image that is missing or not a PNG/JPEG, from the raw YAML tree (so
    that these show along with any other problem of the file)."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if not isinstance(tree, dict):
        return found
    for name in LEVELS:
        level = tree.get(name)
        people = level.get("signatories") if isinstance(level, dict) else None
        for index, person in enumerate(people if isinstance(people, list) else []):
            signature = person.get("signature") if isinstance(person, dict) else None
            if isinstance(signature, str):
                problem = signature_problem(folder, signature)
                if problem is not None:
                    found.append(((name, "signatories", index, "signature"), problem))
    return found


def signature_problem(folder: Path, relative: str) -> str | None:
    """Why this signature file cannot be printed, or None when it can."""
    path = folder / relative
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        return f"{relative!r}: give a path inside the content folder"
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError:
        return f"no such file {relative!r} (relative to the content folder)"
    if size > MAX_SIGNATURE_BYTES:
        return f"{relative!r} is larger than 1 MB"
    if not any(head.startswith(magic) for magic in _IMAGE_MAGIC):
        return f"{relative!r} is not a PNG or JPEG image"
    return None
