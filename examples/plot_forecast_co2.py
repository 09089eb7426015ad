"""Forecasting Mauna Loa CO2 a year ahead with Seq2SeqRegressor.

The CO2 series shipped with statsmodels (weekly Mauna Loa readings, 1958-2001) is
averaged by month: a rising trend plus a yearly cycle. The model reads the last 36
month-to-month changes and predicts the next 12 (``sliding_window`` builds the
windows); adding the predicted changes to the last level gives the forecast.

The last 6 years are held out. From every month of that period the model forecasts
the next 12 months, and so do two baselines:

- seasonal naive: each month as it was a year before;
- seasonal naive with drift: the same plus the last year's rise.

The script prints the mean absolute error of each over all held-out origins and
horizons, and plots a 24-month forecast from the start of the last two years:
``forecast`` goes past the 12 trained steps by feeding its predictions back (the
recursive strategy).

Run:  python examples/plot_forecast_co2.py   (saves forecast_co2.png; needs the
``examples`` extra for statsmodels)
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm

from sksequence import Seq2SeqRegressor
from sksequence.preprocessing import sliding_window

N_IN, HORIZON, N_TEST = 36, 12, 72


def seasonal_naive(levels, origin, steps, drift=False):
    """Forecast levels[origin:origin+steps] from levels[:origin]."""
    last_year = levels[origin - 12 : origin]
    out = np.resize(last_year, steps)
    if drift:
        yearly_rise = levels[origin - 1] - levels[origin - 13]
        out = out + yearly_rise * (np.arange(steps) // 12 + 1)
    return out


def main(out="forecast_co2.png"):
    co2 = sm.datasets.co2.load_pandas().data["co2"]
    monthly = co2.resample("MS").mean().interpolate()  # a few weeks are missing
    levels = monthly.to_numpy()
    changes = np.diff(levels)  # changes[t] = levels[t + 1] - levels[t]
    split = len(levels) - N_TEST  # first held-out month

    # Train on windows whose targets end before the held-out period.
    train = changes[: split - 1]
    scale = train.std()
    X, y = sliding_window(train / scale, N_IN, HORIZON)  # (406, 36), (406, 12)
    reg = Seq2SeqRegressor(hidden_size=32, lr=3e-3, max_epochs=100, random_state=0)
    reg.fit(X, y)
    print(f"Trained on {len(X)} windows for {reg.n_epochs_} epochs.")

    def window(origin):  # the N_IN changes observed before month `origin`
        return changes[origin - 1 - N_IN : origin - 1] / scale

    origins = np.arange(split, len(levels) - HORIZON + 1)
    preds = reg.predict(np.stack([window(o) for o in origins])) * scale
    errors = {
        "Seq2SeqRegressor": [],
        "seasonal naive": [],
        "seasonal naive + drift": [],
    }
    for origin, pred in zip(origins, preds):
        truth = levels[origin : origin + HORIZON]
        forecasts = {
            "Seq2SeqRegressor": levels[origin - 1] + np.cumsum(pred),
            "seasonal naive": seasonal_naive(levels, origin, HORIZON),
            "seasonal naive + drift": seasonal_naive(levels, origin, HORIZON, True),
        }
        for name, f in forecasts.items():
            errors[name].append(np.abs(f - truth))
    print(f"Mean absolute error (ppm), {len(origins)} origins x {HORIZON} months:")
    for name, errs in errors.items():
        print(f"  {name:<24s} {np.mean(errs):.3f}")

    # A 24-month forecast from two years before the end: past the trained horizon.
    origin = len(levels) - 24
    long = reg.forecast(window(origin)[None], n_steps=24)[0] * scale
    dates = monthly.index
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
    ax = axes[0]
    shown = slice(origin - 60, None)
    ax.plot(dates[shown], levels[shown], color="k", label="observed")
    ax.plot(
        dates[origin:],
        levels[origin - 1] + np.cumsum(long),
        color="C0",
        lw=2,
        label="Seq2SeqRegressor (12 steps learnt, 12 more fed back)",
    )
    ax.plot(
        dates[origin:],
        seasonal_naive(levels, origin, 24),
        "--",
        color="C3",
        label="seasonal naive",
    )
    ax.axvline(dates[origin], color="gray", lw=0.8)
    ax.set(title="Mauna Loa CO2: 24-month forecast", ylabel="ppm")
    ax.legend(fontsize=8)
    ax = axes[1]
    months = np.arange(1, HORIZON + 1)
    for name, errs in errors.items():
        ax.plot(months, np.mean(errs, axis=0), marker="o", label=name)
    ax.set(
        title=f"Held-out error by horizon ({len(origins)} forecast origins)",
        xlabel="months ahead",
        ylabel="mean absolute error (ppm)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"Saved {out}")
    return {name: float(np.mean(errs)) for name, errs in errors.items()}


if __name__ == "__main__":
    main()
