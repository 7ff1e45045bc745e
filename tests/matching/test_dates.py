"""Calendar arithmetic on day numbers (`matching.dates`)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from volmatch.matching.dates import add_months, months_fitting, to_days


def test_calendar_months_clamp_to_month_end() -> None:
    jan31 = np.array([to_days(dt.date(2027, 1, 31))])
    feb28 = to_days(dt.date(2027, 2, 28))
    assert int(add_months(jan31, np.array([1]))[0]) == feb28
    assert int(months_fitting(jan31, np.array([feb28]))[0]) == 1
    assert int(months_fitting(jan31, np.array([feb28 - 1]))[0]) == 0
