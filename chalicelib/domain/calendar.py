"""Calendar arithmetic in the programme's time zone.

Times are stored in UTC; calendar days, months and quarters are Asia/Shanghai
(RULES.md, "Units"). Every function here takes the instant it works on; nothing reads
the wall clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")

# The calendar the programme takes from outside: a birthday is the oldest date anyone
# sends, nothing is planned past 2100. Far from years 1 and 9999, where a conversion to
# UTC, a month end or a year of expiry would overflow.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)
FIRST_INSTANT = datetime.combine(FIRST_DAY, time.min, UTC)
END_INSTANT = datetime.combine(LAST_DAY + timedelta(days=1), time.min, UTC)  # excluded

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class PeriodError(ValueError):
    """A period string is not ``YYYY-MM`` or ``YYYY-Qn``, or falls outside the calendar."""


def in_calendar(day: date) -> bool:
    """Whether ``day`` lies between ``FIRST_DAY`` and ``LAST_DAY``."""
    return FIRST_DAY <= day <= LAST_DAY


def instant_in_calendar(instant: datetime) -> bool:
    """Whether an aware ``instant`` lies in the calendar's days (UTC); ``False`` where it
    has no UTC representation at all (year 1 at +14:00, year 9999 at -14:00)."""
    try:
        utc = instant.astimezone(UTC)
    except OverflowError:
        return False
    return FIRST_INSTANT <= utc < END_INSTANT


def _period_year(text: str) -> int:
    year = int(text[:4])
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise PeriodError(f"period must fall in {FIRST_DAY.year}..{LAST_DAY.year}, got {text!r}")
    return year


def local_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar day of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime")
    return instant.astimezone(TZ).date()


def start_of_local_day(day: date) -> datetime:
    """The UTC instant at which an Asia/Shanghai calendar day starts."""
    return datetime.combine(day, time.min, TZ).astimezone(UTC)


def seconds_until_next_local_day(instant: datetime) -> int:
    nxt = start_of_local_day(local_date(instant) + timedelta(days=1))
    return max(1, int((nxt - instant).total_seconds()))


def add_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def end_of_month(year: int, month: int) -> date:
    ny, nm = add_months(year, month, 1)
    return date(ny, nm, 1) - timedelta(days=1)


def utc_now() -> datetime:
    """The only wall-clock read of the code base; services get time from a Clock."""
    return datetime.now(UTC)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = _MONTH.match(text or "")
        if not m:
            raise PeriodError(f"period must be YYYY-MM, got {text!r}")
        return cls(_period_year(text), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Month:
        return Month(*add_months(self.year, self.month, months))

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return end_of_month(self.year, self.month)


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        m = _QUARTER.match(text or "")
        if not m:
            raise PeriodError(f"period must be YYYY-Qn, got {text!r}")
        return cls(_period_year(text), int(m.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-Q{self.quarter}"

    @property
    def months(self) -> tuple[Month, Month, Month]:
        first = (self.quarter - 1) * 3 + 1
        return (Month(self.year, first), Month(self.year, first + 1), Month(self.year, first + 2))

    @property
    def last_day(self) -> date:
        return self.months[-1].last_day

    def shift(self, quarters: int) -> Quarter:
        index = self.year * 4 + (self.quarter - 1) + quarters
        return Quarter(index // 4, index % 4 + 1)
