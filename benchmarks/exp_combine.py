"""Research: do simple combinations of the defaults' forecast with classical ones
help on every group of series? Saves every method's forecast at every origin of
``bench_forecast.py``'s protocol (one line per series, method and seed), then scores
combinations offline.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \
        benchmarks/exp_combine.py --series <names> --seeds 0 --log benchmarks/out/exp_combine.jsonl
    benchmarks/.venv/bin/python benchmarks/exp_combine.py --evaluate --log benchmarks/out/exp_combine.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_forecast as bf  # noqa: E402

ANCHORS = ("naive", "drift", "ridge", "ets", "theta")


def groups():
    return {
        "dev": list(bf.DEV_SERIES),
        "held": list(bf.HELD_OUT_SERIES),
        "econ": list(bf.ECON11),
        "R16": list(bf.R16),
    }


def run(name, seeds, extra, tag):
    y, m, h = bf.load_series(name)
    rows = []
    cuts = bf.origins(len(y), h)
    base = {"series": name, "m": m, "h": h, "origins": cuts}
    fc = {k: [] for k in ANCHORS}
    for origin in cuts:
        train = y[:origin]
        L = bf.window_length(len(train), h, m)
        for k in ANCHORS:
            fc[k].append(list(map(float, bf.MODELS[k](train, h, m, L=L, seed=0))))
    for k in ANCHORS:
        rows.append({**base, "method": k, "forecasts": fc[k]})
    for seed in seeds:
        out = []
        for origin in cuts:
            train = y[:origin]
            L = bf.window_length(len(train), h, m)
            out.append(
                list(map(float, bf.estimator(train, h, m, L=L, seed=seed, **extra)))
            )
        rows.append({**base, "method": tag, "seed": seed, "forecasts": out})
    return rows


def evaluate(path):
    import collections

    data = collections.defaultdict(dict)
    for line in open(path):
        r = json.loads(line)
        key = r["method"] if "seed" not in r else f"{r['method']}@{r['seed']}"
        data[r["series"]][key] = r
    ours_keys = sorted({k for d in data.values() for k in d if "@" in k})
    methods = {}

    def score(name, fn):
        y, m, h = bf.load_series(name)
        d = data[name]
        cuts = next(iter(d.values()))["origins"]
        errs = []
        for i, origin in enumerate(cuts):
            train, truth = y[:origin], y[origin : origin + h]
            errs.append(bf.mase(train, truth, fn(d, i), m))
        return float(np.mean(errs))

    for k in ANCHORS:
        methods[k] = lambda d, i, k=k: np.asarray(d[k]["forecasts"][i])
    tags = sorted({k.split("@")[0] for k in ours_keys})
    for t in tags:
        seeds = [k for k in ours_keys if k.startswith(t + "@")]

        def ours(d, i, seeds=seeds):
            return np.mean([d[s]["forecasts"][i] for s in seeds if s in d], axis=0)

        methods[t] = ours
        for k in ("naive", "drift", "ridge", "ets", "theta"):
            methods[f"({t}+{k})/2"] = lambda d, i, k=k, o=ours: (
                (o(d, i) + np.asarray(d[k]["forecasts"][i])) / 2
            )
        methods[f"median({t},ridge,theta)"] = lambda d, i, o=ours: np.median(
            [o(d, i), d["ridge"]["forecasts"][i], d["theta"]["forecasts"][i]], axis=0
        )
    table = {}
    for g, names in groups().items():
        names = [n for n in names if n in data and any("@" in k for k in data[n])]
        if not names:
            continue
        for meth, fn in methods.items():
            vals = [score(n, fn) for n in names]
            table.setdefault(meth, {})[g] = (float(np.mean(vals)), len(vals))
    gs = [g for g in groups() if any(g in v for v in table.values())]
    print("| method | " + " | ".join(gs) + " |")
    print("|---|" + "---|" * len(gs))
    for meth, row in table.items():
        cells = [f"{row[g][0]:.3f} ({row[g][1]})" if g in row else "" for g in gs]
        print(f"| {meth} | " + " | ".join(cells) + " |")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--series", nargs="*", default=[])
    p.add_argument("--seeds", nargs="*", type=int, default=[0])
    p.add_argument("--extra", default="{}")
    p.add_argument("--tag", default="ours")
    p.add_argument("--log", required=True)
    p.add_argument("--evaluate", action="store_true")
    a = p.parse_args(argv)
    if a.evaluate:
        return evaluate(a.log)
    extra = json.loads(a.extra)
    for name in a.series:
        rows = run(name, a.seeds, extra, a.tag)
        with open(a.log, "a") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
        print(name, "done", flush=True)


if __name__ == "__main__":
    main()
