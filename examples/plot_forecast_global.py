"""One global model for many short series: fertility rates of 196 countries.

statsmodels' fertility data hold the yearly births per woman of each country,
1960-2013: many short series (30 to 54 years) with a shared kind of behaviour
(mostly slow declines that flatten out). Instead of one model per series, one
``Seq2SeqRegressor`` (defaults) learns from the windows of every series at once:
``SeriesWindows`` standardises each series by its own mean and standard deviation,
cuts it into 12-year windows followed by the next 6 years, and after fitting turns
the model's forecasts from the end of every series back into that series' units.

Each series is compared with three models fitted to it alone (statsmodels): ETS
(Holt's additive damped trend), Theta, and the naive forecast with drift (the
last value plus the average yearly change). Rolling origins: the last 6 years of
every series are held out, then the 6 before them (each model is refitted on the
years before the origin). The error is the MASE (mean absolute error over the 6
years divided by the in-sample mean absolute yearly change), per series, averaged
over series and origins. The plot shows four countries' forecasts and the
distribution of the errors.

Per-series ETS is hard to beat here: smooth declines that flatten out are what a
damped trend describes. The global model trains on the absolute error of each
window relative to the window's own step size (the way MASE scores every series
alike), and so it is level with ETS or ahead: this script's two origins give a
MASE of 1.15 against 1.24 for ETS (seed 0; it was 1.29 with the squared error the
defaults used before). In the repository's benchmarks (last 6 years, 3 seeds) the
global model scored 1.07 against 1.08 for ETS, 2.67 for Theta and 3.08 for drift;
on the 181 yearly series of the M1 competition 3.43 against 3.44 for ETS, 3.49 for
drift and 4.19 for Theta (on three other seeds 1.09 and 3.45: level with ETS; see
the benchmarks' results for the per-series models' side).

Run:  python examples/plot_forecast_global.py   (saves forecast_global.png; needs
the ``examples`` extra for statsmodels). With ``SKSEQUENCE_EXAMPLES_QUICK=1`` it
uses 40 series and one origin (about 15 s).
"""

import os
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.holtwinters import ExponentialSmoothing

from sksequence import Seq2SeqRegressor
from sksequence.preprocessing import SeriesWindows

QUICK = os.environ.get("SKSEQUENCE_EXAMPLES_QUICK") == "1"
N_IN, HORIZON = 12, 6
ORIGINS = [HORIZON] if QUICK else [HORIZON, 2 * HORIZON]  # years before the end


def load():
    """Country names, their series and years (missing years dropped), 30+ years."""
    data = sm.datasets.fertility.load_pandas().data
    columns = [c for c in data.columns if c.isdigit()]
    names, series, years = [], [], []
    for name, row in zip(data["Country Name"], data[columns].to_numpy(float)):
        kept = ~np.isnan(row)
        if kept.sum() >= 30:
            names.append(name)
            series.append(row[kept])
            years.append(np.array(columns, dtype=int)[kept])
    if QUICK:  # every fifth series, 40 in all
        names, series, years = names[::5][:40], series[::5][:40], years[::5][:40]
    return names, series, years


def drift(train):
    slope = (train[-1] - train[0]) / (len(train) - 1)
    return train[-1] + slope * np.arange(1, HORIZON + 1)


def ets(train):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes on short series
        model = ExponentialSmoothing(
            train, trend="add", damped_trend=True, initialization_method="estimated"
        ).fit()
    return np.asarray(model.forecast(HORIZON))


def theta(train):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(ThetaModel(train, period=1).fit().forecast(HORIZON))


def global_model(trains):
    """One model on the windows of every series; the next HORIZON years of each."""
    windows = SeriesWindows(n_steps_in=N_IN, n_steps_out=HORIZON)
    X, y = windows.fit_windows(trains)
    reg = Seq2SeqRegressor(random_state=0).fit(X, y)
    print(f"  global model: {len(X)} windows of {len(trains)} series")
    return windows.forecast(reg)  # (n_series, HORIZON), each in its own units


def mase(train, truth, forecast):
    return np.mean(np.abs(forecast - truth)) / np.mean(np.abs(np.diff(train)))


def main(out="forecast_global.png"):
    names, series, years = load()
    errors = {"global Seq2SeqRegressor": [], "ETS": [], "Theta": [], "drift": []}
    shown = {}  # the last origin's forecasts, for the plot
    for back in ORIGINS:
        print(f"Origin {back} years before the end:")
        trains = [s[:-back] for s in series]
        truths = [s[len(s) - back : len(s) - back + HORIZON] for s in series]
        forecasts = {"global Seq2SeqRegressor": global_model(trains)}
        forecasts["ETS"] = [ets(t) for t in trains]
        forecasts["Theta"] = [theta(t) for t in trains]
        forecasts["drift"] = [drift(t) for t in trains]
        for name, fs in forecasts.items():
            errors[name] += [mase(t, v, f) for t, v, f in zip(trains, truths, fs)]
        if back == HORIZON:
            shown = forecasts
    print(f"MASE, mean (median) over {len(series)} series x {len(ORIGINS)} origin(s):")
    for name, errs in errors.items():
        print(f"  {name:<24s} {np.mean(errs):.3f} ({np.median(errs):.3f})")

    fig = plt.figure(figsize=(15, 6.5))
    grid = fig.add_gridspec(2, 3)
    picks = [
        names.index(n) for n in ("Brazil", "India", "Italy", "Niger") if n in names
    ]
    picks += [i for i in range(len(names)) if i not in picks][: 4 - len(picks)]
    for k, i in enumerate(picks):
        ax = fig.add_subplot(grid[k // 2, k % 2])
        ax.plot(years[i], series[i], color="k", lw=1, label="observed")
        future = years[i][-HORIZON:]
        for name, color in (("global Seq2SeqRegressor", "C0"), ("ETS", "C2")):
            ax.plot(future, shown[name][i], color=color, lw=2, label=name)
        ax.plot(future, shown["drift"][i], "--", color="C3", label="drift")
        ax.axvline(future[0] - 0.5, color="gray", lw=0.8)
        ax.set(title=names[i], ylabel="births per woman")
        if k == 0:
            ax.legend(fontsize=8)
    ax = fig.add_subplot(grid[:, 2])
    ax.boxplot(list(errors.values()), showfliers=False)
    ax.set_xticks(range(1, len(errors) + 1), [n.split(" ")[0] for n in errors])
    ax.set(title="MASE per series (lower is better)", ylabel="MASE")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"Saved {out}")
    return {name: float(np.mean(errs)) for name, errs in errors.items()}


if __name__ == "__main__":
    main()
