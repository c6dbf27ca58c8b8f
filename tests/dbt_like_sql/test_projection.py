"""Month-end projection (issue 13, item 2): actual to date plus a per-provider forecast at the recent level with
weekday factors, the 80 % band from backtesting, at_risk, and a lagging export, against hand-worked values."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.dbt_like_sql.test_decisions import make_wh  # noqa: F401  (fixture)
from tests.dbt_like_sql.test_models_business import Warehouse, _at

D = Decimal
NOV = date(2026, 11, 1)   # a Sunday


def _daily(wh: Warehouse, team: str, provider: str, first: date, last: date, amount) -> None:
    """One hosted-API line a day, amount(day) GBP, covering the whole day."""
    d = first
    while d <= last:
        wh.line(start=_at(d), end=_at(d + timedelta(days=1)), cost=str(amount(d)), team=team, provider=provider,
                kind="hosted_api", x_model="gpt-4o-2024-08-06")
        d += timedelta(days=1)


def _flags(wh: Warehouse, team: str) -> dict:
    return wh.one("SELECT * FROM threshold_flags WHERE month = ? AND team = ?", [NOV, team])


def test_weekday_factors_and_a_lagging_provider(make_wh):
    """OpenAI £100 on weekdays and £40 at weekends through Sun 15 Nov; Anthropic £50 a day, its export 3 days
    behind (through 12 Nov).  Both since 1 September, so the weekday factors see four whole weeks."""
    wh = make_wh()
    wh.config({"alpha": D("3000")})
    _daily(wh, "alpha", "openai", date(2026, 9, 1), date(2026, 11, 15), lambda d: 40 if d.weekday() >= 5 else 100)
    _daily(wh, "alpha", "anthropic", date(2026, 9, 1), date(2026, 11, 12), lambda d: 50)
    wh.build()
    f = _flags(wh, "alpha")
    # OpenAI, from its own last day (15 Nov): last 7 days' rate 580/7; the 28-day mean is the same, so the weekday
    # factor is 100/(580/7) on weekdays, 40/(580/7) at weekends: the forecast is £100 a weekday, £40 a weekend day.
    # 16-30 Nov: 11 weekdays, 4 weekend days = 1,100 + 160 = 1,260.  Actual 1-15 Nov: 10 weekdays, 5 weekend days = 1,200.
    # Anthropic, from 12 Nov (not from the team's latest day): actual 12 x 50 = 600, forecast 18 x 50 = 900.
    # Projected: 1,200 + 1,260 + 600 + 900 = 3,960.  (A team run-rate would say 1,800 / 15 x 30 = 3,600.)
    assert (f["variable_spend"], f["projected_variable"]) == (D("1800.00"), D("3960.00"))
    assert (f["projection_days_used"], f["projection_from"]) == (12, date(2026, 11, 12))
    # The projected path: 1,950 by 15 Nov (1,200 + 15 x 50), then +150 a weekday, +90 a weekend day:
    # 16: 2,100, 17: 2,250, 18: 2,400, 19: 2,550, 20: 2,700, 21: 2,790, 22: 2,880, 23: 3,030 > 3,000.
    assert (f["status"], f["crossed_on"], f["projected_cross_date"]) == ("projected_over", None, date(2026, 11, 23))
    # The band: a periodic history is forecast exactly at every origin (ratio 1): the band is the projection itself.
    assert (f["projected_low"], f["projected_high"]) == (D("3960.00"), D("3960.00"))
    assert f["backtests"] >= 5 and f["band_method"].startswith("backtest")


def test_a_ramp_is_followed_on_the_8th_and_the_15th(make_wh):
    """£10 a day until Mon 2 Nov, £30 a day from Tue 3 Nov (a launch).  The month really ends at 20 + 28 x 30 = £860."""
    got = {}
    for cut in (date(2026, 11, 8), date(2026, 11, 15)):
        wh = make_wh(str(cut))
        wh.config({"ramp": None})
        _daily(wh, "ramp", "openai", date(2026, 10, 1), cut, lambda d: 30 if d >= date(2026, 11, 3) else 10)
        wh.build()
        got[cut] = _flags(wh, "ramp")
    # 8 Nov (Sun).  Weekday factors, from each day's spend over its centred 7-day mean on 4 Oct - 5 Nov (1 before the
    # launch; 31 Oct 10/(90/7), 1 Nov 10/(110/7), 2 Nov 10/(130/7), 3 Nov 30/(150/7), 4 Nov 30/(170/7), 5 Nov 30/(190/7)):
    # the weekday means (Mon..Sun) 0.9077, 1.0800, 1.0471, 1.0211, 1.0000, 0.9444, 0.9273 vary by 0.00360, less than the
    # variance of a weekday's mean from its own days (0.00371 on average): k = 0, no weekday factors (all 1).
    # Level shift: the last 7 days' mean (2-8 Nov) 190/7 = 27.14 against the 21 days before (12 Oct - 1 Nov) 10:
    # 17.14 > 2 x 8.357 (sd of the 28 days) x sqrt(1/7 + 1/21) = 7.29.  Trend of 2-8 Nov (10, 30 x 6): slope
    # (-3 x 10 + 30 x (-2 - 1 + 0 + 1 + 2 + 3)) / 28 = 60/28 = 15/7 a day; level at 8 Nov = 190/7 + 3 x 15/7 = 235/7.
    # Forecast 9-30 Nov: 22 x 235/7 = 738.57; actual 1-8 Nov = 200: projected £938.57 (+9.1 % against £860: a step
    # read as a ramp overshoots; the 28-day mean would say 200 + 22 x 100/7 = £514.29, -40 %, and the month-to-date
    # run-rate 200 / 8 x 30 = £750.00, -12.8 %).
    assert (got[date(2026, 11, 8)]["variable_spend"], got[date(2026, 11, 8)]["projected_variable"]) == (D("200.00"), D("938.57"))
    # The band on 8 Nov.  No backtests (origins need 28 days of history: from 28 Oct, so at most 11 days back, less
    # than the 22-day horizon): 0.75-1.25.  Noise: the last 7 days' sample sd 7.559 (mean 190/7, squares
    # 17.143^2 + 6 x 2.857^2 = 342.86, / 6 = 57.143), level_sd 7.559 x sqrt(1/7 + 9/28) = 5.151; sqrt(22 x 57.143 +
    # 22^2 x 26.531) = 118.74, / 738.57 x 1.2816 = 0.206: inside 0.75-1.25.  The ramp's trend continued for 7 more days
    # (9-15 Nov at 235/7 + 15/7 x 1..7, then 340/7 flat) adds 15/7 x (1 + ... + 7 + 15 x 7) = 15/7 x 133 = 285:
    # ratio 1 + 285 / 738.57 = 1.385880 sets the upper edge.  Band: 200 + 0.75 x 738.57 = £753.93 to
    # 200 + 1.385880 x 738.57 = £1,223.57, which holds the month's £860.
    g8 = got[date(2026, 11, 8)]
    assert (g8["projected_low"], g8["projected_high"]) == (D("753.93"), D("1223.57"))
    assert g8["band_method"] == "default 0.75-1.25 (fewer than 5 backtests), widened to the trend continued 7 days"
    # 15 Nov (Sun): weekday means 0.9231, 1.0667, 1.0392, 1.0175, 1.0000, 0.9556, 0.9394 vary by 0.00248, under 0.00255:
    # k = 0.  Shift: 30 (9-15 Nov) against 15.71 (19 Oct - 8 Nov) > 2 x 10.157 x 0.436 = 8.86; the last 7 days are flat
    # (slope 0): level 30.  Forecast 16-30 Nov 15 x 30 = 450; actual 410: projected £860.00, the month's actual.
    assert (got[date(2026, 11, 15)]["variable_spend"], got[date(2026, 11, 15)]["projected_variable"]) == (D("410.00"), D("860.00"))


def test_at_risk_when_only_the_band_upper_edge_passes(make_wh):
    """Ten days of history (1-10 Nov) at £45 a day: fewer than 5 backtests, so the band is 0.75-1.25 of the forecast."""
    wh = make_wh()
    wh.config({"beta": None})
    _daily(wh, "beta", "openai", NOV, date(2026, 11, 10), lambda d: 45)
    wh.build()
    f = _flags(wh, "beta")
    # actual 450, forecast 20 x 45 = 900: projected 1,350 (under 1,500); low 450 + 675 = 1,125; high 450 + 1,125 = 1,575 (over)
    assert (f["projected_variable"], f["projected_low"], f["projected_high"]) == (D("1350.00"), D("1125.00"), D("1575.00"))
    assert (f["status"], f["backtests"]) == ("at_risk", 0)
    assert f["band_method"] == "default 0.75-1.25 (fewer than 5 backtests)"
    # The upper edge's path: 450 to 10 Nov, then 45 x 1.25 = 56.25 a day; 450 + 56.25 k > 1,500 first for k = 19,
    # so it crosses on 10 + 19 = 29 Nov (the date the at-risk alert and the review give); no projected crossing.
    assert (f["band_cross_date"], f["projected_cross_date"]) == (date(2026, 11, 29), None)


def test_unallocated_is_not_a_team(make_wh):
    wh = make_wh()
    wh.config({"beta": None})
    _daily(wh, "unallocated", "openai", NOV, date(2026, 11, 30), lambda d: 100)   # £3,000: no rule matches it
    wh.build()
    f = _flags(wh, "unallocated")
    assert (f["threshold"], f["status"], f["is_unallocated"]) == (None, "not_a_team", True)


def test_the_band_is_at_least_as_wide_as_the_day_to_day_noise(make_wh):
    """1-14 Nov: £10 on odd days, £80 on even days.  Too short a history to backtest (and for weekday factors:
    8 days with a centred mean, fewer than 14)."""
    wh = make_wh()
    wh.config({"gamma": None})
    _daily(wh, "gamma", "openai", NOV, date(2026, 11, 14), lambda d: 80 if d.day % 2 == 0 else 10)
    wh.build()
    f = _flags(wh, "gamma")
    # Under 28 days: the level is the last 7 days' mean (8-14 Nov: 4 x 80 + 3 x 10 = 350) / 7 = 50; their sample
    # variance (4 x 30^2 + 3 x 40^2) / 6 = 1,400, the level's 1,400 / 7 = 200.  Forecast 15-30 Nov: 16 x 50 = 800;
    # actual 7 x 10 + 7 x 80 = 630: projected £1,430.00.  Noise: sqrt(16 x 1,400 + 16^2 x 200) = sqrt(73,600) = 271.293
    # -> 271.293 / 800 = 0.339116 x 1.2816 = 0.434612, wider than the default 0.25: ratios 0.565388 and 1.434612.
    # Band: 630 + 800 x 0.565388 = £1,082.31 to 630 + 800 x 1.434612 = £1,777.69: only the upper edge passes 1,500.
    assert (f["projected_variable"], f["projected_low"], f["projected_high"]) == (D("1430.00"), D("1082.31"), D("1777.69"))
    assert (f["status"], f["backtests"]) == ("at_risk", 0)
    assert f["band_method"] == "default 0.75-1.25 (fewer than 5 backtests), widened to the day-to-day noise"


# The two intermittent tests share this arithmetic.  Weekday factors on 15 Nov: every centred 7-day window holds one
# Wednesday, so Wednesday's ratio is y / (y / 7) = 7 and every other day's 0: raw [0, 0, 7, 0, 0, 0, 0], no spread within
# a weekday (k = 1): factors [0, 0, 7, 0, 0, 0, 0].  The 91-day window is 17 Aug - 15 Nov (13 whole weeks, 13 Wednesdays):
# ADI = 91 / 13 = 7 >= 1.32, intermittent.  The deseasonalised spend z is y / 7 on Wednesdays whose factors were learned
# (from 2 Sep: 14 days of ratios by then), y on 19 and 26 Aug (factors still 1), 0 on other days (a factor under 0.05
# leaves y, 0).


def _wednesdays(wh: Warehouse, team: str, recent: int) -> None:
    """Spend only on Wednesdays: £70 each from Wed 12 Aug to Wed 14 Oct, £``recent`` each from Wed 21 Oct to Wed 11 Nov;
    the export runs to Sun 15 Nov.  A Monday-first day-of-week series, so the weekday factors are exact."""
    _daily(wh, team, "openai", date(2026, 8, 12), date(2026, 11, 15),
           lambda d: 0 if d.weekday() != 2 else (70 if d < date(2026, 10, 19) else recent))


def test_an_intermittent_series_takes_its_rate_from_the_long_window(make_wh):
    """Wednesdays only: £70 until mid-October, then £63.  A memoryless burst rate is best read over the long window."""
    wh = make_wh()
    wh.config({"delta": None})
    _wednesdays(wh, "delta", 63)
    wh.build()
    # (Shared arithmetic above.)  Last 28 days (19 Oct - 15 Nov): 4 x 63 / 28 = 9; the 63 days before (17 Aug - 18 Oct):
    # 9 x 70 / 63 = 10.  Do they agree?  z over the 91 days: 70, 70, 7 x 10, 4 x 9 and 78 zeros: sum 246, mean 2.7033,
    # squares 10,824: sample sd sqrt((10,824 - 91 x 2.7033^2) / 90) = 10.624; 2 x 10.624 x sqrt(1/28 + 1/63) = 4.82 >
    # |9 - 10|: pooled.  No level shift (the last 7 days and the 21 before are both at 9 a day).
    # Level: the 91-day mean (9 x 70 + 4 x 63) / 91 = 882/91 = 9.6923.  Forecast 16-30 Nov: Wednesdays 18 and 25 Nov,
    # 2 x 9.6923 x 7 = 135.69; actual 1-15 Nov: 2 x 63 = 126: projected £261.69 (the 28-day mean would say £252.00).
    v = wh.one("SELECT level_method, level, adi_91d FROM int_daily_variable WHERE team = 'delta' AND provider = 'openai' "
               "AND day = ?", [date(2026, 11, 15)])
    assert (v["level_method"], round(v["level"], 4), v["adi_91d"]) == ("long", 9.6923, 7)
    f = _flags(wh, "delta")
    assert (f["variable_spend"], f["projected_variable"]) == (D("126.00"), D("261.69"))


def test_an_intermittent_series_whose_rate_changed_keeps_the_28_day_mean(make_wh):
    """Wednesdays only: £70 until mid-October, then £28: the older history no longer describes the rate."""
    wh = make_wh()
    wh.config({"delta": None})
    _wednesdays(wh, "delta", 28)
    wh.build()
    # (Shared arithmetic above.)  Last 28 days: 4 x 28 / 28 = 4 against 10 before.  z: 70, 70, 7 x 10, 4 x 4, 78 zeros:
    # sum 226, mean 2.4835, squares 10,564: sd sqrt((10,564 - 91 x 2.4835^2) / 90) = 10.542; 2 x 10.542 x 0.22682 =
    # 4.78 < |4 - 10| = 6: not pooled.  No level shift inside the 28 days: the level is the 28-day mean, 4.
    # Forecast: 2 Wednesdays x 4 x 7 = 56; actual 2 x 28 = 56: projected £112.00.
    v = wh.one("SELECT level_method, level FROM int_daily_variable WHERE team = 'delta' AND provider = 'openai' AND day = ?",
               [date(2026, 11, 15)])
    assert (v["level_method"], v["level"]) == ("28d", 4)
    assert _flags(wh, "delta")["projected_variable"] == D("112.00")
