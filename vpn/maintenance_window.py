"""The customer's maintenance window as time: is a moment inside it, and when does it next
open.

A window is one weekday, from one hour to another on the customer's own clock (an IANA
time zone). Its end may be at or before its start on the clock (22:00 to 02:00): it then
ends the next day. Hours are the clock's, so a window keeps its local hours across
daylight saving time: its length in real time is then an hour more or less, and an hour
the clock skips opens the window at the first moment after it.

Pure functions over aware datetimes; no database here.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@cache
def time_zones() -> frozenset[str]:
    """Every IANA time zone name the system knows."""
    return frozenset(zoneinfo.available_timezones())


@dataclass(frozen=True)
class Window:
    """A weekly window: `weekday` (0 Monday ... 6 Sunday), `start_hour` (0-23) to
    `end_hour` (1-24, not equal to the start), in `time_zone`."""

    weekday: int
    start_hour: int
    end_hour: int
    time_zone: str

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("The weekday must be 0 (Monday) to 6 (Sunday).")
        if not 0 <= self.start_hour <= 23:
            raise ValueError("The window must start at an hour from 0 to 23.")
        if not 1 <= self.end_hour <= 24 or self.end_hour == self.start_hour:
            raise ValueError("The window must end at an hour from 1 to 24, not at its start.")
        if self.time_zone not in time_zones():
            raise ValueError(f"“{self.time_zone}” is not a time zone.")

    @property
    def wraps(self) -> bool:
        """Whether the window ends on the next day."""
        return self.end_hour <= self.start_hour or self.end_hour == 24

    def describe(self) -> str:
        """The window in words: "Sunday 02:00-05:00 (Europe/Paris)"."""
        end = f"{self.end_hour % 24:02d}:00"
        if self.wraps and self.end_hour != 24:
            end += " the next day"
        return f"{WEEKDAYS[self.weekday]} {self.start_hour:02d}:00-{end} ({self.time_zone})"

    def opening(self, day: date) -> tuple[datetime, datetime]:
        """The window that starts on local date `day` (a date of its weekday), as UTC
        (start, end)."""
        zone = zoneinfo.ZoneInfo(self.time_zone)
        start = datetime.combine(day, time(self.start_hour), tzinfo=zone)
        end_day = day + timedelta(days=1) if self.wraps else day
        end = datetime.combine(end_day, time(self.end_hour % 24), tzinfo=zone)
        # A skipped hour (fold 0, PEP 495) takes the offset before the gap: the whole
        # hour the clock jumps over becomes the instant it resumes. A repeated hour is
        # taken the first time round.
        return start.astimezone(UTC), end.astimezone(UTC)


def _openings(window: Window, moment: datetime):
    """The window's openings around `moment`: from the week before to two weeks after,
    in order."""
    local_day = moment.astimezone(zoneinfo.ZoneInfo(window.time_zone)).date()
    first = local_day - timedelta(days=7 + (local_day.weekday() - window.weekday) % 7)
    for week in range(4):
        yield window.opening(first + timedelta(weeks=week))


def window_contains(window: Window, moment: datetime) -> bool:
    """Whether `moment` (aware) is inside the window: at or after an opening's start and
    before its end."""
    return any(start <= moment < end for start, end in _openings(window, moment))


def window_next_start(window: Window, after: datetime) -> datetime:
    """The first opening of the window at or after `after` (aware), in UTC.

    Inside an open window this is the next week's opening: the current one has already
    started.
    """
    return next(start for start, _ in _openings(window, after) if start >= after)
