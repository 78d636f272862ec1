"""Pydantic models of the programme calendar."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from bot.i18n import LOCALES

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


class LocalizedText(BaseModel):
    """A text in French, with optional English and Arabic versions."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fr: Annotated[str, StringConstraints(min_length=1)]
    en: str | None = None
    ar: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _plain_string_is_french(cls, value: object) -> object:
        return {"fr": value} if isinstance(value, str) else value

    def get(self, locale: str) -> str:
        """The text in ``locale``, falling back to French."""
        text = getattr(self, locale, None) if locale in LOCALES else None
        return text or self.fr


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cohort(_Model):
    """A group of participants following the residential phase in one city."""

    id: Slug
    name: LocalizedText
    city: str | None = None


class CheckinWindow(_Model):
    """A moment of a residential session when participants scan the check-in QR code."""

    id: Slug
    label: LocalizedText | None = None
    start: datetime
    end: datetime


class SessionAttendance(_Model):
    """How a session's attendance is measured, beyond a hand-typed yes/no."""

    # Zoom: the share of the scheduled duration that counts as present (the concept note's 80 %).
    threshold: int = Field(default=80, ge=1, le=100)
    # At the venue: every window needs a check-in (morning and afternoon...); none: one
    # check-in during the session.
    checkins: list[CheckinWindow] = Field(default_factory=list)
    # The e-campus: Moodle activity names (as in its completion report) to complete.
    activities: list[Annotated[str, StringConstraints(min_length=1)]] = Field(default_factory=list)


class Facilitator(_Model):
    """Someone who leads a session: the satisfaction questionnaire may rate them by name."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=20)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    role: LocalizedText


class Session(_Model):
    """One dated activity of the programme."""

    id: Slug
    title: LocalizedText
    module: str | None = None
    start: datetime
    end: datetime
    cohorts: list[Slug] | None = None
    link: str | None = Field(default=None, pattern=r"^https?://\S+$")
    place: LocalizedText | None = None
    description: LocalizedText | None = None
    attendance: SessionAttendance = Field(default_factory=SessionAttendance)
    # A deadline (the action plan's): what counts is when it ends, and that is the time shown.
    deadline: bool = False
    # Who leads it: the questionnaires' "repeat: facilitators" blocks ask about each of them.
    facilitators: list[Facilitator] = Field(default_factory=list)

    # Set by Programme once the time zone is known.
    tz: ZoneInfo = Field(default=ZoneInfo("UTC"), exclude=True)

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @property
    def start_utc(self) -> datetime:
        """Start as an aware instant; naive times are local to the programme."""
        return _aware(self.start, self.tz)

    @property
    def end_utc(self) -> datetime:
        """End as an aware instant."""
        return _aware(self.end, self.tz)

    @property
    def shown_utc(self) -> datetime:
        """The moment people are told: the start, or the end of a deadline."""
        return self.end_utc if self.deadline else self.start_utc

    def is_for(self, cohort_id: str | None) -> bool:
        """Whether a participant of this cohort attends the session."""
        return self.cohorts is None or cohort_id in self.cohorts

    def checkin_windows(self) -> list[tuple[str, datetime, datetime]]:
        """(id, start, end) of each check-in; the whole session when none is configured."""
        windows = self.attendance.checkins
        if not windows:
            return [("session", self.start_utc, self.end_utc)]
        return [(w.id, _aware(w.start, self.tz), _aware(w.end, self.tz)) for w in windows]


def _aware(value: datetime, tz: ZoneInfo) -> datetime:
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


class Phase(_Model):
    """A phase of the programme (online, residential...)."""

    id: Slug
    title: LocalizedText
    kind: Literal["online", "residential"]
    description: LocalizedText | None = None
    sessions: list[Session] = Field(default_factory=list)


class Delay(_Model):
    """A duration written as days, hours and minutes."""

    days: int = Field(default=0, ge=0)
    hours: int = Field(default=0, ge=0)
    minutes: int = Field(default=0, ge=0)

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)

    @property
    def label(self) -> str:
        """A stable short name used in delivery keys, e.g. ``1d``, ``1h30m``."""
        parts = [
            f"{v}{u}" for v, u in ((self.days, "d"), (self.hours, "h"), (self.minutes, "m")) if v
        ]
        return "".join(parts) or "0m"


class _Campaign(_Model):
    """Messages sent on a schedule (one of the three kinds below)."""

    id: Slug
    # A send missed while the bot was down still goes out if no later than this.
    grace: Delay = Field(default_factory=lambda: Delay(hours=1))


# Ids of instruments (questionnaire files), checked against those found in the content
# folder; omitted: every instrument of the campaign's audience.
Instruments = Annotated[list[Slug], Field(min_length=1)] | None
# Whom a questionnaire campaign writes to: the participants, or their supervisors (one
# message per supervisor and step, however many of the people it concerns they supervise).
CampaignAudience = Literal["participants", "supervisors"]


class SessionReminder(_Campaign):
    """A reminder ``before`` each session of the participant's cohort."""

    kind: Literal["session-reminder"]
    before: Annotated[list[Delay], Field(min_length=1)]


class Invitation(_Campaign):
    """An invitation when a stage of each listed questionnaire opens, with a Start button."""

    kind: Literal["invitation"]
    audience: CampaignAudience = "participants"
    instruments: Instruments = None


class Nudge(_Campaign):
    """``every`` delay after a stage opens, at most ``max`` times, to those who have not
    submitted, while the stage is open."""

    kind: Literal["nudge"]
    audience: CampaignAudience = "participants"
    instruments: Instruments = None
    every: Delay
    max: int = Field(default=3, ge=1, le=20)

    @model_validator(mode="after")
    def _every_is_a_delay(self) -> Nudge:
        if self.every.delta <= timedelta(0):
            raise ValueError("a nudge campaign needs 'every' (e.g. {days: 3})")
        return self


Campaign = Annotated[SessionReminder | Invitation | Nudge, Field(discriminator="kind")]
# The values of ``kind``: pydantic names the one it tried in an error's location.
CAMPAIGN_KINDS = frozenset({"session-reminder", "invitation", "nudge"})


class Programme(_Model):
    """The whole calendar of one edition of the programme."""

    id: Slug
    title: LocalizedText
    timezone: str
    cohorts: list[Cohort]
    phases: list[Phase]
    campaigns: list[Campaign] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @model_validator(mode="after")
    def _localise_sessions(self) -> Programme:
        try:
            tz = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        for phase in self.phases:
            for session in phase.sessions:
                object.__setattr__(session, "tz", tz)
        return self

    @model_validator(mode="after")
    def _one_facilitator_per_id(self) -> Programme:
        # The same person leads several sessions: their results are gathered under one id.
        seen: dict[str, Facilitator] = {}
        for session in self.all_sessions():
            for person in session.facilitators:
                known = seen.setdefault(person.id, person)
                if known != person:
                    raise ValueError(
                        f"facilitator {person.id!r} has another name or role in session "
                        f"{session.id!r}: give the same one everywhere"
                    )
        return self

    @property
    def facilitators(self) -> list[Facilitator]:
        """Everyone who leads a session, once each, in the programme's order."""
        found: dict[str, Facilitator] = {}
        for session in self.all_sessions():
            for person in session.facilitators:
                found.setdefault(person.id, person)
        return list(found.values())

    @property
    def tz(self) -> ZoneInfo:
        """The programme's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def cohort_ids(self) -> frozenset[str]:
        """Every cohort id."""
        return frozenset(c.id for c in self.cohorts)

    def cohort(self, cohort_id: str) -> Cohort | None:
        """The cohort with this id."""
        return next((c for c in self.cohorts if c.id == cohort_id), None)

    def all_sessions(self) -> list[Session]:
        """Every session, by start time."""
        return sorted((s for p in self.phases for s in p.sessions), key=lambda s: s.start_utc)

    def sessions_for(self, cohort_id: str | None) -> list[Session]:
        """The sessions a cohort attends, by start time."""
        return [s for s in self.all_sessions() if s.is_for(cohort_id)]

    def upcoming_sessions(self, cohort_id: str | None, now: datetime, limit: int) -> list[Session]:
        """The next sessions of a cohort that have not ended yet."""
        return [s for s in self.sessions_for(cohort_id) if s.end_utc > now][:limit]
