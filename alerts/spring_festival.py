"""The Spring Festival (春节, the first day of the Chinese lunar year) by Gregorian year.

Its date moves between 21 January and 20 February, so a silence for "the Spring
Festival weeks" cannot repeat on fixed Gregorian dates: ``alerts.silences`` moves such
a window with the festival. The dates, from the Chinese calendar as published, are
kept here for 2000 to 2050.
"""

from __future__ import annotations

from datetime import date

from alerts.errors import AlertError

FIRST_YEAR = 2000
#: Month and day of the festival, one entry per year from ``FIRST_YEAR`` on.
_MONTH_DAYS = (
    "0205", "0124", "0212", "0201", "0122", "0209", "0129", "0218", "0207", "0126",  # 2000-
    "0214", "0203", "0123", "0210", "0131", "0219", "0208", "0128", "0216", "0205",  # 2010-
    "0125", "0212", "0201", "0122", "0210", "0129", "0217", "0206", "0126", "0213",  # 2020-
    "0203", "0123", "0211", "0131", "0219", "0208", "0128", "0215", "0204", "0124",  # 2030-
    "0212", "0201", "0122", "0210", "0130", "0217", "0206", "0126", "0214", "0202",  # 2040-
    "0123",  # 2050
)  # fmt: skip
LAST_YEAR = FIRST_YEAR + len(_MONTH_DAYS) - 1


def spring_festival(year: int) -> date:
    """The Gregorian date of the Spring Festival in ``year`` (``AlertError`` if unknown)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise AlertError(
            "the Spring Festival is known for %(first)s to %(last)s only, not %(year)s",
            first=FIRST_YEAR,
            last=LAST_YEAR,
            year=year,
        )
    month_day = _MONTH_DAYS[year - FIRST_YEAR]
    return date(year, int(month_day[:2]), int(month_day[2:]))


def nearest_festival_year(day: date) -> int:
    """The year whose Spring Festival lies nearest ``day``: its own year's in the first
    half of the year, perhaps the next year's in the second (``AlertError`` if unknown)."""
    this_year = spring_festival(day.year)
    if day.month < 7:  # more than 150 days from any other year's festival
        return day.year
    next_year = spring_festival(day.year + 1)
    return day.year if day - this_year <= next_year - day else day.year + 1
