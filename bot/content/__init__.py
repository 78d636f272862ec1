"""Programme content: YAML files a course team edits, validated into pydantic models."""

from bot.content.loader import Content, ContentError, Problem, check_content, load_content
from bot.content.models import Cohort, LocalizedText, Phase, Programme, Session

__all__ = [
    "Cohort",
    "Content",
    "ContentError",
    "LocalizedText",
    "Phase",
    "Problem",
    "Programme",
    "Session",
    "check_content",
    "load_content",
]
