"""Forecasting raw Mauna Loa CO2 levels with Seq2SeqRegressor's defaults.

The CO2 series shipped with statsmodels (weekly Mauna Loa readings, 1958-2001) is
averaged by month: a rising trend plus a yearly cycle, in ppm. The model is
``Seq2SeqRegressor(random_state=0)`` with nothing else set, fitted on windows of the
raw levels cut by ``sliding_window`` (24 months in, the next 12 out): no scaler, no
differencing. Its defaults scale every window by its own mean and standard
deviation inside the model and answer in ppm, so levels above every training value
(the trend carries each forecast past them) are no problem.

Rolling origins: from several forecast origins in the last six years, every method
is fitted on the months before the origin only and forecasts the next 12 months:

- ``Seq2SeqRegressor`` (defaults);
- seasonal naive: each month as it was a year before;
- statsmodels' Holt-Winters exponential smoothing (ETS: additive damped trend,
  additive yearly season).

The script prints the mean absolute error of each over the origins and horizons,
and plots the forecasts from every origin, the error by horizon, and a 24-month
forecast from the last origin (``forecast`` goes past the 12 trained steps by
feeding its predictions back).

Run:  python examples/plot_forecast_co2.py   (saves forecast_co2.png; needs the
``examples`` extra for statsmodels). With ``SKSEQUENCE_EXAMPLES_QUICK=1`` it uses 2
origins instead of 11 (about 10 s).
"""

import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from sksequence import Seq2SeqRegressor
from sksequence.preprocessing import sliding_window

QUICK = os.environ.get("SKSEQUENCE_EXAMPLES_QUICK") == "1"
N_IN, HORIZON, SEASON = 24, 12, 12
TEST_MONTHS = 72  # origins lie in the last six years
EVERY = 60 if QUICK else 6  # months between origins


def seasonal_naive(train, steps):
    return np.resize(train[-SEASON:], steps)


def ets(train, steps):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes
        model = ExponentialSmoothing(
            train,
            trend="add",
            damped_trend=True,
            seasonal="add",
            seasonal_periods=SEASON,
            initialization_method="estimated",
        ).fit()
    return np.asarray(model.forecast(steps))


def seq2seq(train, steps):
    """Fit on the windows of ``train`` (raw levels); the fitted model and its
    forecast of the ``steps`` months after it."""
    X, y = sliding_window(train, N_IN, HORIZON)
    reg = Seq2SeqRegressor(random_state=0).fit(X, y)
    return reg, reg.forecast(train[-N_IN:][None], n_steps=steps)[0]


def main(out="forecast_co2.png"):
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    monthly = co2.resample("MS").mean().interpolate()  # a few weeks are missing
    levels, dates = monthly.to_numpy(), monthly.index
    origins = np.arange(len(levels) - TEST_MONTHS, len(levels) - HORIZON + 1, EVERY)

    methods = {"Seq2SeqRegressor": None, "seasonal naive": seasonal_naive, "ETS": ets}
    forecasts = {name: [] for name in methods}
    for origin in origins:
        train = levels[:origin]  # only the months before the origin
        reg, f = seq2seq(train, HORIZON)
        forecasts["Seq2SeqRegressor"].append(f)
        for name in ("seasonal naive", "ETS"):
            forecasts[name].append(methods[name](train, HORIZON))
    truth = np.stack([levels[o : o + HORIZON] for o in origins])  # (origins, 12)
    errors = {name: np.abs(np.stack(f) - truth) for name, f in forecasts.items()}
    print(
        f"Mean absolute error (ppm), {len(origins)} origins x {HORIZON} months "
        f"(trained {reg.n_epochs_} epochs on {len(levels) - TEST_MONTHS}+ months):"
    )
    for name, err in errors.items():
        print(f"  {name:<18s} {err.mean():.3f}")

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.5))
    ax = axes[0]
    shown = slice(origins[0] - 24, None)
    ax.plot(dates[shown], levels[shown], color="k", lw=1, label="observed")
    for i, origin in enumerate(origins):
        span = dates[origin : origin + HORIZON]
        for name, color in (("Seq2SeqRegressor", "C0"), ("ETS", "C2")):
            ax.plot(
                span,
                forecasts[name][i],
                color=color,
                lw=1.5,
                label=name if i == 0 else None,
            )
    ax.set(title="12-month forecasts from each origin", ylabel="CO2 (ppm)")
    ax.legend(fontsize=8)

    ax = axes[1]
    months = np.arange(1, HORIZON + 1)
    for name, err in errors.items():
        ax.plot(months, err.mean(axis=0), marker="o", label=name)
    ax.set(
        title=f"Error by horizon ({len(origins)} origins)",
        xlabel="months ahead",
        ylabel="mean absolute error (ppm)",
    )
    ax.legend(fontsize=8)

    # Past the trained horizon: 12 learnt steps, then 12 more fed back.
    origin = len(levels) - 24
    _, long = seq2seq(levels[:origin], 24)
    ax = axes[2]
    shown = slice(origin - 48, None)
    ax.plot(dates[shown], levels[shown], color="k", lw=1, label="observed")
    ax.plot(dates[origin:], long, color="C0", lw=2, label="Seq2SeqRegressor.forecast")
    ax.plot(
        dates[origin:],
        seasonal_naive(levels[:origin], 24),
        "--",
        color="C3",
        label="seasonal naive",
    )
    ax.axvline(dates[origin], color="gray", lw=0.8)
    ax.set(title="A 24-month forecast (12 steps learnt, 12 fed back)", ylabel="ppm")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"Saved {out}")
    return {name: float(err.mean()) for name, err in errors.items()}


if __name__ == "__main__":
    main()
