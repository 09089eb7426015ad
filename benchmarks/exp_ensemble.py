"""Research: does averaging the defaults with a closed-form ridge regression help?

For every series, rolling origin and seed of ``bench_forecast.py``'s protocol, one
``Seq2SeqRegressor(random_state=seed)`` fit (the defaults) and two ridge fits on the
same windows: ``Ridge()`` on the raw windows (the anchor) and ``Ridge()`` on the
windows standardised by the training part's mean and std (scale-free, what an
estimator could do inside). Records the MASE of ours, of both ridges, and of the
averages ``(ours + ridge) / 2``.

``--seed-ensemble``: instead, the average of the forecasts of the defaults fitted with
each of ``--seeds`` (one row per series: the MASE of the average, and the mean of
the single seeds' MASE on the same fits).

    OMP_NUM_THREADS=1 PYTHONPATH=. nice -n 10 benchmarks/.venv/bin/python \
        benchmarks/exp_ensemble.py --json benchmarks/out/exp_ensemble.json
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_forecast import (  # noqa: E402
    DEV_SERIES,
    HELD_OUT_SERIES,
    load_series,
    mase,
    origins,
    window_length,
)


def main():
    import torch
    from sklearn.linear_model import Ridge

    from sksequence import Seq2SeqRegressor
    from sksequence.preprocessing import sliding_window

    torch.set_num_threads(1)
    p = argparse.ArgumentParser()
    p.add_argument("--series", nargs="*", default=DEV_SERIES + HELD_OUT_SERIES)
    p.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    p.add_argument("--json", default="benchmarks/out/exp_ensemble.json")
    p.add_argument("--seed-ensemble", action="store_true")
    a = p.parse_args()
    rows = []
    if a.seed_ensemble:
        for name in a.series:
            y, m, h = load_series(name)
            single, averaged, cpu = [], [], []
            for origin in origins(len(y), h):
                train, truth = y[:origin], y[origin : origin + h]
                L = window_length(len(train), h, m)
                X, Y = sliding_window(train, L, h)
                x = train[-L:][None]
                t0 = time.process_time()
                fs = [
                    Seq2SeqRegressor(random_state=s).fit(X, Y).predict(x)[0]
                    for s in a.seeds
                ]
                cpu.append(time.process_time() - t0)
                single.append(np.mean([mase(train, truth, f, m) for f in fs]))
                averaged.append(mase(train, truth, np.mean(fs, axis=0), m))
            row = {
                "name": name,
                "seeds": a.seeds,
                "single": float(np.mean(single)),
                "averaged": float(np.mean(averaged)),
                "cpu": float(np.mean(cpu)),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            with open(a.json, "w") as fh:
                json.dump(rows, fh)
        return
    for name in a.series:
        y, m, h = load_series(name)
        for seed in a.seeds:
            acc = {}
            for origin in origins(len(y), h):
                train, truth = y[:origin], y[origin : origin + h]
                L = window_length(len(train), h, m)
                X, Y = sliding_window(train, L, h)
                x = train[-L:][None]
                t0 = time.process_time()
                ours = Seq2SeqRegressor(random_state=seed).fit(X, Y).predict(x)[0]
                cpu = time.process_time() - t0
                raw = Ridge().fit(X, Y).predict(x)[0]
                mu, sd = train.mean(), train.std()
                std = Ridge().fit((X - mu) / sd, (Y - mu) / sd).predict((x - mu) / sd)
                std = std[0] * sd + mu
                f = {
                    "ours": ours,
                    "ridge_raw": raw,
                    "ridge_std": std,
                    "avg_raw": (ours + raw) / 2,
                    "avg_std": (ours + std) / 2,
                }
                for k, v in f.items():
                    acc.setdefault(k, []).append(mase(train, truth, v, m))
                acc.setdefault("cpu", []).append(cpu)
            row = {
                "name": name,
                "seed": seed,
                **{k: float(np.mean(v)) for k, v in acc.items()},
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
            with open(a.json, "w") as fh:
                json.dump(rows, fh)


if __name__ == "__main__":
    main()
