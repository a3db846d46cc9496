"""Periods: parse the ways statistics offices write them, format, step and enumerate them.

A period is stored as the ``date`` of its first day: March 2024 is 2024-03-01, 2024Q2
is 2024-04-01 and the year 2024 is 2024-01-01.

Accepted text (full-width digits and letters are normalised first)::

    month    2024-03  2024/03  202403  2024M03  2024年3月  2024-03-01  2024年3月1日
    quarter  2024Q1  2024-Q1  2024 Q1  Q1 2024  2024年第1季度  2024年一季度
    year     2024  2024年  2024年度

A month is accepted for a quarterly indicator only when it is the first month of a
quarter, and for an annual one only when it is January: that is how the period is
stored, so a file exported from the database reads back. Any other month (say
``2024-02`` for a quarterly indicator) is rejected rather than silently moved, since
it usually means the value is not what the indicator measures. A full date must be
the first day of its month. A quarter is never accepted for an annual indicator, nor
a quarter or year for a monthly one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from monitor.vocabulary import Frequency

__all__ = [
    "PeriodError",
    "PeriodFrequencyError",
    "format_period",
    "is_period_start",
    "looks_like_period",
    "next_period",
    "parse_period",
    "parse_periods",
    "period_range",
    "shift_period",
]

MONTHS_PER_STEP = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.ANNUAL: 12}
FREQUENCY_NAMES = {
    Frequency.MONTHLY: "monthly",
    Frequency.QUARTERLY: "quarterly",
    Frequency.ANNUAL: "annual",
}
GRANULE_NAMES = {
    Frequency.MONTHLY: "month",
    Frequency.QUARTERLY: "quarter",
    Frequency.ANNUAL: "year",
}
MIN_YEAR, MAX_YEAR = 1900, 2199
CHINESE_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4}


class PeriodError(ValueError):
    """A period text cannot be read as a period."""


class PeriodFrequencyError(PeriodError):
    """A period text is readable but does not fit the indicator's frequency."""


@dataclass(frozen=True)
class _Parsed:
    """What a text names before the indicator's frequency is applied."""

    granularity: Frequency
    year: int
    number: int  # month 1..12, quarter 1..4, or 1 for a year


_TIME = r"(?:[ T]00:00(?::00(?:\.0+)?)?)?"
_PATTERNS: tuple[tuple[re.Pattern[str], Frequency], ...] = tuple(
    (re.compile(pattern), granularity)
    for pattern, granularity in (
        (r"(?P<y>\d{4})[-/](?P<m>\d{1,2})", Frequency.MONTHLY),
        (r"(?P<y>\d{4})(?P<m>\d{2})", Frequency.MONTHLY),
        (r"(?P<y>\d{4})M(?P<m>\d{1,2})", Frequency.MONTHLY),
        (r"(?P<y>\d{4})年(?P<m>\d{1,2})月份?", Frequency.MONTHLY),
        (r"(?P<y>\d{4})([-/])(?P<m>\d{1,2})\2(?P<d>\d{1,2})" + _TIME, Frequency.MONTHLY),
        (r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})", Frequency.MONTHLY),
        (r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日", Frequency.MONTHLY),
        (r"(?P<y>\d{4}) ?[-/]? ?Q(?P<q>[1-4])", Frequency.QUARTERLY),
        (r"Q(?P<q>[1-4]) ?[-/]? ?(?P<y>\d{4})", Frequency.QUARTERLY),
        (r"(?P<y>\d{4})年第?(?P<q>[1-4一二三四])季度?", Frequency.QUARTERLY),
        (r"(?P<y>\d{4})年?Q(?P<q>[1-4])", Frequency.QUARTERLY),
        (r"(?P<y>\d{4})(?:年度?)?", Frequency.ANNUAL),
    )
)


def _normalise(text: str) -> str:
    # NFKC turns full-width digits, letters and punctuation (２０２４－０３) into ASCII.
    return unicodedata.normalize("NFKC", text).strip().upper()


def _match(cleaned: str) -> tuple[dict[str, str | None], Frequency] | None:
    for pattern, granularity in _PATTERNS:
        match = pattern.fullmatch(cleaned)
        if match is not None:
            return match.groupdict(), granularity
    return None


def _read(text: str) -> _Parsed:
    """Read a period text into (granularity, year, number) or raise ``PeriodError``."""
    cleaned = _normalise(text)
    if not cleaned:
        raise PeriodError("missing period")
    found = _match(cleaned)
    if found is None:
        raise PeriodError(f"unparseable period {text!r}")
    groups, granularity = found
    year = int(str(groups["y"]))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(f"period {text!r}: year {year} is out of range")
    if granularity is Frequency.QUARTERLY:
        raw = str(groups["q"])
        return _Parsed(granularity, year, CHINESE_QUARTERS.get(raw) or int(raw))
    if granularity is Frequency.ANNUAL:
        return _Parsed(granularity, year, 1)
    month = int(str(groups["m"]))
    if not 1 <= month <= 12:
        raise PeriodError(f"period {text!r}: month {month} does not exist")
    if groups.get("d") is not None:
        day = int(str(groups["d"]))
        try:
            date(year, month, day)
        except ValueError as exc:
            raise PeriodError(f"period {text!r}: {exc}") from None
        if day != 1:
            raise PeriodError(f"period {text!r}: a date must be the first day of its period")
    return _Parsed(granularity, year, month)


def _fit(parsed: _Parsed, text: str, frequency: Frequency) -> date:
    """The period start for ``frequency``, or ``PeriodFrequencyError`` if it does not fit."""
    name = FREQUENCY_NAMES[frequency]
    if parsed.granularity is Frequency.MONTHLY:
        start = date(parsed.year, parsed.number, 1)
        if is_period_start(start, frequency):
            return start
        expected = format_period(_floor(start, frequency), frequency)
        raise PeriodFrequencyError(
            f"period {text!r} is a month inside {expected}; the indicator is {name}, "
            f"so give {expected} or the first month of that period"
        )
    if parsed.granularity is frequency:
        month = 1 + 3 * (parsed.number - 1) if frequency is Frequency.QUARTERLY else 1
        return date(parsed.year, month, 1)
    given = GRANULE_NAMES[parsed.granularity]
    raise PeriodFrequencyError(f"period {text!r} is a {given}, but the indicator is {name}")


def _floor(day: date, frequency: Frequency) -> date:
    step = MONTHS_PER_STEP[frequency]
    return date(day.year, 1 + (day.month - 1) // step * step, 1)


def _frequency(frequency: Frequency | str) -> Frequency:
    try:
        return Frequency(frequency)
    except ValueError:
        raise PeriodError(f"unknown frequency {frequency!r}") from None


def parse_period(text: str | date, frequency: Frequency | str) -> date:
    """The first day of the period ``text`` names, for an indicator of ``frequency``.

    Raises ``PeriodError`` when the text is not a period and its subclass
    ``PeriodFrequencyError`` when the period does not fit the frequency.
    """
    freq = _frequency(frequency)
    if isinstance(text, datetime):
        text = text.date() if text.time() == datetime.min.time() else text.isoformat()
    if isinstance(text, date):
        if text.day != 1:
            raise PeriodError(f"period {text.isoformat()!r}: a date must be the first day")
        return _fit(_Parsed(Frequency.MONTHLY, text.year, text.month), text.isoformat(), freq)
    if not isinstance(text, str):
        raise PeriodError(f"unparseable period {text!r}")
    return _fit(_read(text), text, freq)


def looks_like_period(text: str) -> bool:
    """Whether ``text`` names a month, quarter or year in one of the accepted forms."""
    try:
        _read(text)
    except PeriodError:
        return False
    return True


def parse_periods(
    texts: pd.Series, frequencies: pd.Series | Frequency | str
) -> tuple[pd.Series, pd.Series]:
    """Parse a column of period texts, each for its row's frequency.

    Returns ``(periods, errors)`` aligned with ``texts``: ``periods`` holds a ``date`` or
    ``None``, ``errors`` ``None`` or the ``PeriodError`` that row raised. Each distinct
    (text, frequency) pair is parsed once, so a file of a million rows over a few
    hundred periods costs a few hundred parses.
    """
    if not isinstance(frequencies, pd.Series):
        frequencies = pd.Series(str(frequencies), index=texts.index, dtype=object)
    text_codes, text_uniques = pd.factorize(texts.astype(object), use_na_sentinel=True)
    freq_codes, freq_uniques = pd.factorize(frequencies.astype(object), use_na_sentinel=True)
    width = len(freq_uniques) + 1
    pair_codes = (text_codes.astype(np.int64) + 1) * width + (freq_codes.astype(np.int64) + 1)
    pairs, inverse = np.unique(pair_codes, return_inverse=True)
    periods = np.empty(len(pairs), dtype=object)
    errors = np.empty(len(pairs), dtype=object)
    for position, pair in enumerate(pairs.tolist()):
        text_code, freq_code = divmod(pair, width)
        text = text_uniques[text_code - 1] if text_code else None
        frequency = freq_uniques[freq_code - 1] if freq_code else None
        try:
            if text is None or (isinstance(text, float) and np.isnan(text)):
                raise PeriodError("missing period")
            if frequency is None:
                raise PeriodError("no frequency to read the period with")
            periods[position] = parse_period(text, frequency)
        except PeriodError as exc:
            errors[position] = exc
    return (
        pd.Series(periods[inverse], index=texts.index, dtype=object),
        pd.Series(errors[inverse], index=texts.index, dtype=object),
    )


def is_period_start(day: date, frequency: Frequency | str) -> bool:
    """Whether ``day`` is the first day of a period of ``frequency``."""
    freq = _frequency(frequency)
    return day.day == 1 and (day.month - 1) % MONTHS_PER_STEP[freq] == 0


def _require_start(day: date, frequency: Frequency) -> None:
    if not is_period_start(day, frequency):
        raise PeriodError(
            f"{day.isoformat()} is not the first day of a {FREQUENCY_NAMES[frequency]} period"
        )


def shift_period(day: date, frequency: Frequency | str, steps: int) -> date:
    """The period ``steps`` periods after ``day`` (before it when negative)."""
    freq = _frequency(frequency)
    _require_start(day, freq)
    months = day.year * 12 + day.month - 1 + steps * MONTHS_PER_STEP[freq]
    return date(months // 12, months % 12 + 1, 1)


def next_period(day: date, frequency: Frequency | str) -> date:
    """The period after ``day``."""
    return shift_period(day, frequency, 1)


def period_range(first: date, last: date, frequency: Frequency | str) -> list[date]:
    """Every period from ``first`` to ``last``, both included (empty if ``last < first``)."""
    freq = _frequency(frequency)
    _require_start(first, freq)
    _require_start(last, freq)
    periods: list[date] = []
    current = first
    while current <= last:
        periods.append(current)
        current = shift_period(current, freq, 1)
    return periods


def format_period(day: date, frequency: Frequency | str) -> str:
    """The short text of a period: ``2024-03``, ``2024Q1`` or ``2024``."""
    freq = _frequency(frequency)
    _require_start(day, freq)
    if freq is Frequency.MONTHLY:
        return f"{day.year:04d}-{day.month:02d}"
    if freq is Frequency.QUARTERLY:
        return f"{day.year:04d}Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"
