"""Calendar arithmetic on day numbers (days since 1970-01-01), vectorised.

The contract counts service in calendar months: `s + d months` lands on the same day of
the month `d` months later, clamped to that month's last day (31 Jan + 1 month = 28/29 Feb).
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import numpy as np
from numpy.typing import NDArray

I64 = NDArray[np.int64]
_EPOCH = dt.date(1970, 1, 1)


def to_days(d: dt.date) -> int:
    """Day number of a date."""
    return (d - _EPOCH).days


def from_days(n: int) -> dt.date:
    """Date of a day number."""
    return _EPOCH + dt.timedelta(days=int(n))


def split_days(days: I64) -> tuple[I64, I64]:
    """(month number since 1970-01, zero-based day of month) of each day number."""
    return _split(days)


def is_month_end(days: I64) -> NDArray[np.bool_]:
    """Whether each day is the last day of its month."""
    m, _ = _split(np.asarray(days, dtype=np.int64) + 1)
    m0, _ = _split(np.asarray(days, dtype=np.int64))
    return cast("NDArray[np.bool_]", m != m0)  # numpy types `!=` on arrays as Any


def months_fitting_split(
    start_month: I64, start_dom: I64, until_month: I64, until_dom: I64, until_eom: NDArray[np.bool_]
) -> I64:
    """`months_fitting` on pre-split dates, integer arithmetic only.

    `start + k months` lands on day min(start_dom, last day of the target month), so it
    is <= `until` exactly when the target month is before until's, or is until's month
    and either start_dom <= until_dom or `until` is its month's last day.
    """
    short = ~((start_dom <= until_dom) | until_eom)
    return until_month - start_month - short.astype(np.int64)


def _split(days: I64) -> tuple[I64, I64]:
    """(month number since 1970-01, zero-based day of month) of each day number."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    dom = (d - month.astype("datetime64[D]")).astype(np.int64)
    return month.astype(np.int64), dom


def add_months(days: I64, months: I64) -> I64:
    """`days + months` calendar months, clamping to the last day of the target month."""
    m, dom = _split(np.asarray(days, dtype=np.int64))
    target = m + np.asarray(months, dtype=np.int64)
    first = target.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    last = (target + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) - 1
    return cast(I64, np.minimum(first + dom, last))  # ufuncs are typed as returning Any


def months_fitting(start: I64, until: I64) -> I64:
    """Largest whole number of months `k` with `add_months(start, k) <= until` (may be < 0)."""
    ms, _ = _split(np.asarray(start, dtype=np.int64))
    mu, _ = _split(np.asarray(until, dtype=np.int64))
    k = mu - ms
    over = add_months(start, k) > until
    return k - over.astype(np.int64)


def age_on(birth: I64, on: I64) -> I64:
    """Age in whole years on day `on` of people born on day `birth`."""
    b = np.asarray(birth, dtype=np.int64).astype("datetime64[D]")
    o = np.asarray(on, dtype=np.int64).astype("datetime64[D]")
    by = b.astype("datetime64[Y]").astype(np.int64)
    oy = o.astype("datetime64[Y]").astype(np.int64)
    # day of year is not usable (leap years); compare (month, day) instead
    bm, bd = _split(b.astype(np.int64))
    om, od = _split(o.astype(np.int64))
    b_moy = bm - by * 12
    o_moy = om - oy * 12
    before_birthday = (o_moy < b_moy) | ((o_moy == b_moy) & (od < bd))
    return cast(I64, oy - by - before_birthday.astype(np.int64))
