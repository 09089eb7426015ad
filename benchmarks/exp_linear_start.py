"""Research runner (fc4): where the linear path starts, chosen per fit.

For every series, rolling origin and seed of ``bench_forecast.py``'s protocol, fits
``Seq2SeqRegressor(random_state=seed, linear_start=...)`` with the linear path
started at zero (the defaults before fc4) and at its closed-form ridge solution,
on all the training windows (the forecasts), and on the earlier windows only for
each validation share ``--fracs`` (the latest ``ceil(frac * n)`` of ``n`` windows
validated, the ``h - 1`` between left out): their mean absolute errors on the
validated windows, and their forecasts from the origin. One JSON line per origin;
``--evaluate`` scores the selection rules on those lines offline (MASE).

Usage (from the repository root, benchmark environment)::

    PYTHONPATH=. OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \
        benchmarks/exp_linear_start.py --seeds 0 --log benchmarks/out/exp_linear_start.jsonl
    benchmarks/.venv/bin/python benchmarks/exp_linear_start.py --evaluate \
        --log benchmarks/out/exp_linear_start.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

STARTS = ("zero", "ridge")


def fit_origin(train, h, m, L, seed, fracs, min_fit=20):
    from sksequence import Seq2SeqRegressor
    from sksequence.preprocessing import sliding_window

    X, Y = sliding_window(train, L, h)
    x_last = train[-L:][None]
    out = {"n_windows": len(X), "forecast": {}, "valid": {}}
    t0 = time.process_time()
    for start in STARTS:
        reg = Seq2SeqRegressor(random_state=seed, linear_start=start).fit(X, Y)
        out["forecast"][start] = reg.predict(x_last)[0].tolist()
    out["fit_cpu_s"] = (time.process_time() - t0) / len(STARTS)
    for frac in fracs:
        n_valid = math.ceil(frac * len(X))
        n_fit = len(X) - n_valid - (h - 1)
        if n_fit < min_fit:
            continue
        preds, last = {}, {}
        for start in STARTS:
            reg = Seq2SeqRegressor(random_state=seed, linear_start=start)
            reg.fit(X[:n_fit], Y[:n_fit])
            preds[start] = reg.predict(X[-n_valid:])
            last[start] = reg.predict(x_last)[0].tolist()
        truth, scale = Y[-n_valid:], np.std(train)
        errors = {
            s: float(np.mean(np.abs(p - truth)) / scale) for s, p in preds.items()
        }
        mean_pred = np.mean([preds[s] for s in STARTS], axis=0)
        errors["mean"] = float(np.mean(np.abs(mean_pred - truth)) / scale)
        out["valid"][str(frac)] = {"errors": errors, "last_forecast": last}
    return out


def run(args):
    import torch
    from bench_forecast import (
        load_series,
        origins,
        ridge,
        seasonal_naive,
        window_length,
    )

    torch.set_num_threads(1)
    for seed in args.seeds:
        for name in args.series:
            y, m, h = load_series(name)
            for k, origin in enumerate(origins(len(y), h)):
                train, truth = y[:origin], y[origin : origin + h]
                L = window_length(len(train), h, m)
                r = fit_origin(train, h, m, L, seed, args.fracs)
                r.update(
                    name=name,
                    seed=seed,
                    origin=k,
                    truth=truth.tolist(),
                    mase_scale=float(np.mean(np.abs(train[m:] - train[:-m]))),
                    ridge=ridge(train, h, m, L=L).tolist(),
                    naive=seasonal_naive(train, h, m).tolist(),
                )
                with open(args.log, "a") as fh:
                    fh.write(json.dumps(r) + "\n")
                print(f"{name} seed {seed} origin {k} {r['valid']}", flush=True)


def evaluate(args):
    """MASE of each rule, per series (mean over origins and the seeds logged)."""
    from _common import markdown_table

    with open(args.log) as fh:
        lines = [json.loads(x) for x in fh if x.strip()]

    def err(f, r):
        return float(np.mean(np.abs(np.asarray(f) - r["truth"]))) / r["mase_scale"]

    def rules(r):
        fz, fr = r["forecast"]["zero"], r["forecast"]["ridge"]
        out = {
            "zero": err(fz, r),
            "ridge start": err(fr, r),
            "mean of both": err(np.mean([fz, fr], axis=0), r),
            "Ridge": err(r["ridge"], r),
            "naive": err(r["naive"], r),
        }
        for frac in args.fracs:
            v = r["valid"].get(str(frac))
            for margin in args.margins:
                key = f"choice {frac}" + (f" margin {margin}" if margin else "")
                pick = "zero"
                if v and v["errors"]["ridge"] < (1 - margin) * v["errors"]["zero"]:
                    pick = "ridge"
                out[key] = err(r["forecast"][pick], r)
            key = f"choice {frac} of 3 (zero, ridge, mean)"
            if v:
                best = min(v["errors"], key=v["errors"].get)
                f = np.mean([fz, fr], axis=0) if best == "mean" else r["forecast"][best]
                out[key] = err(f, r)
            else:
                out[key] = err(fz, r)
            key = f"choice {frac}, validation fit kept"
            if v:
                pick = min(STARTS, key=v["errors"].get)
                out[key] = err(v["last_forecast"][pick], r)
            else:
                out[key] = err(fz, r)
        return out

    per = {}
    for r in lines:
        for k, v in rules(r).items():
            per.setdefault(k, {}).setdefault(r["name"], []).append(v)
    names = list(dict.fromkeys(r["name"] for r in lines))
    rows = []
    for k, d in per.items():
        means = [float(np.mean(d[n])) for n in names]
        ridge = [float(np.mean(per["Ridge"][n])) for n in names]
        naive = [float(np.mean(per["naive"][n])) for n in names]
        lost = sum(a > b for a, b in zip(means, ridge))
        lost_naive = sum(a > b for a, b in zip(means, naive))
        rows.append(
            [k, f"{np.mean(means):.3f}"]
            + [f"{v:.3f}" for v in means]
            + [str(lost), str(lost_naive)]
        )
    seeds = sorted({r["seed"] for r in lines})
    print(f"seeds {seeds}")
    print(
        markdown_table(
            ["rule", "mean"] + names + ["lost to Ridge", "lost to naive"], rows
        )
    )


def main(argv=None):
    from bench_forecast import DEV_SERIES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", nargs="*", default=DEV_SERIES)
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--fracs", nargs="*", type=float, default=[0.2, 0.4])
    parser.add_argument("--margins", nargs="*", type=float, default=[0.0, 0.1])
    parser.add_argument("--log", default="benchmarks/out/exp_linear_start.jsonl")
    parser.add_argument("--evaluate", action="store_true")
    args = parser.parse_args(argv)
    if args.evaluate:
        evaluate(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
