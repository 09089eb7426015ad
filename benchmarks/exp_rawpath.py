"""Research (issue 12): the defaults with the linear path on the series' own
(standardised) units instead of the window's, without the level input
(``linear_units="series"``; the screen in RESULTS.md ran the same module
options as a working-copy patch before the parameter existed: identical
forecasts, checked on sunspots), logged in
``exp_combine.py``'s format (method ``raw``) so that its forecasts can be
compared origin by origin with the defaults', and a per-origin rule scored
offline: the raw path where an augmented Dickey-Fuller test on the training
part rejects a unit root.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \
        benchmarks/exp_rawpath.py --series <names> --log benchmarks/out/exp_rawpath.jsonl
    benchmarks/.venv/bin/python benchmarks/exp_rawpath.py --evaluate \
        --log benchmarks/out/exp_rawpath.jsonl --defaults benchmarks/out/exp_combine.jsonl
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_forecast as bf  # noqa: E402


def run(name, seed):
    """The estimator with ``linear_units="series"`` (``bench_forecast.estimator``)
    at every origin of the protocol, in ``exp_combine.py``'s format."""
    y, m, h = bf.load_series(name)
    cuts = bf.origins(len(y), h)
    out = []
    for origin in cuts:
        train = y[:origin]
        L = bf.window_length(len(train), h, m)
        fc = bf.estimator(train, h, m, L=L, seed=seed, linear_units="series")
        out.append(list(map(float, fc)))
    return {
        "series": name,
        "m": m,
        "h": h,
        "origins": cuts,
        "method": "raw",
        "seed": seed,
        "forecasts": out,
    }


# the series groups of the evaluations (this script's and exp_units_select.py's)
GROUPS = {
    "dev": bf.DEV_SERIES,
    "held": bf.HELD_OUT_SERIES,
    "econ": bf.ECON11,
    "R16": bf.R16,
}


def add_series(name, res, rows, tag=""):
    """Print one series' mean of each score (``res``: score -> values over its
    origins) and add them to its group's ``rows``."""
    line = {k: float(np.mean(v)) for k, v in res.items()}
    print(f"  {name:24s} {tag}" + " ".join(f"{k}={v:.3f}" for k, v in line.items()))
    for k, v in line.items():
        rows[k].append(v)


def print_group(group, rows):
    if rows:
        print(group, {k: round(float(np.mean(v)), 3) for k, v in rows.items()})


def adf_p(train):
    from statsmodels.tsa.stattools import adfuller

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(adfuller(train, autolag="AIC")[1])


def evaluate(paths):
    d = collections.defaultdict(dict)
    for p in paths:
        for line in open(p):
            r = json.loads(line)
            if r["method"] in ("ours", "raw", "ridge", "ets", "naive"):
                d[r["series"]][r["method"]] = r
    for g, names in GROUPS.items():
        rows = collections.defaultdict(list)
        for n in names:
            if "raw" not in d[n] or "ours" not in d[n]:
                continue
            y, m, h = bf.load_series(n)
            res = collections.defaultdict(list)
            for i, o in enumerate(d[n]["raw"]["origins"]):
                train, truth = y[:o], y[o : o + h]
                f = {k: np.asarray(d[n][k]["forecasts"][i]) for k in d[n]}
                p = adf_p(train)
                for k in ("ours", "raw", "ridge", "ets"):
                    res[k].append(bf.mase(train, truth, f[k], m))
                for a in (0.01, 0.05, 0.1):
                    pick = f["raw"] if p < a else f["ours"]
                    res[f"adf<{a}"].append(bf.mase(train, truth, pick, m))
                res["p"].append(p)
            add_series(n, res, rows)
        print_group(g, rows)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", nargs="*", default=[])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--defaults", default=None)
    ap.add_argument("--evaluate", action="store_true")
    a = ap.parse_args(argv)
    if a.evaluate:
        return evaluate([a.log] + ([a.defaults] if a.defaults else []))
    for name in a.series:
        row = run(name, a.seed)
        with open(a.log, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(name, "done", flush=True)


if __name__ == "__main__":
    main()
