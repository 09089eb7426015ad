"""Research (issue 12): choose the linear path's units per fit by rolling
origins inside the training part. Where the augmented Dickey-Fuller test of
``linear_units="auto"`` calls the training part stationary, both units
(``"window"``, the default, and ``"series"``) are fitted at the last
``--inner`` origins inside it (each one horizon before the next) and the one
with the lower mean MASE there is kept; elsewhere the default. Seed 0; the
full-data forecasts of both units are read from ``exp_combine.py``'s and
``exp_rawpath.py``'s logs, so only the inner fits run here.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_units_select.py --series <names> --log benchmarks/out/exp_units.jsonl
    benchmarks/.venv/bin/python benchmarks/exp_units_select.py --evaluate \\
        --log benchmarks/out/exp_units.jsonl
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_forecast as bf  # noqa: E402
from exp_rawpath import GROUPS, add_series, adf_p, print_group  # noqa: E402

UNITS = ("window", "series")


def inner_scores(train, h, m, seed, inner):
    """Mean MASE of each unit at the last ``inner`` origins inside ``train``
    (None where the training part is too short for any: the default then)."""
    scores = {u: [] for u in UNITS}
    for k in range(1, inner + 1):
        start = len(train) - k * h
        if start < h:
            continue
        part, truth = train[:start], train[start : start + h]
        L = bf.window_length(len(part), h, m)
        try:
            fcs = {
                u: bf.estimator(part, h, m, L=L, seed=seed, linear_units=u)
                for u in UNITS
            }
        except ValueError:  # too short for one window
            continue
        for u in UNITS:
            scores[u].append(bf.mase(part, truth, fcs[u], m))
    if not scores["window"]:
        return None
    return {u: float(np.mean(v)) for u, v in scores.items()}


def run(name, seed, inner, where="adf"):
    """``where="adf"``: the inner fits where the test calls the training part
    stationary; ``"rest"``: where it does not (for a rule without the test)."""
    y, m, h = bf.load_series(name)
    rows = []
    for origin in bf.origins(len(y), h):
        train = y[:origin]
        p = adf_p(train)
        fire = (p < 0.05) == (where == "adf")
        scores = inner_scores(train, h, m, seed, inner) if fire else None
        rows.append({"origin": origin, "p": p, "inner": scores})
    return {"series": name, "seed": seed, "inner_origins": inner, "rows": rows}


def evaluate(logs, defaults, raw):
    fc = collections.defaultdict(dict)
    for path in (defaults, raw):
        for line in open(path):
            r = json.loads(line)
            if r["method"] in ("ours", "raw", "ridge", "ets", "naive") and r.get(
                "seed", 0
            ) in (0, None):
                fc[r["series"]][r["method"]] = r
    sel = {}  # series -> origin -> row (the inner scores of any log that has them)
    for log in logs:
        for line in open(log):
            r = json.loads(line)
            rows = sel.setdefault(r["series"], {})
            for row in r["rows"]:
                if row["inner"] is not None or row["origin"] not in rows:
                    rows[row["origin"]] = row
    for g, names in GROUPS.items():
        rows = collections.defaultdict(list)
        for n in names:
            if n not in sel or "raw" not in fc[n] or "ours" not in fc[n]:
                continue
            y, m, h = bf.load_series(n)
            res = collections.defaultdict(list)
            picks = []
            for i, o in enumerate(sorted(sel[n])):
                row = sel[n][o]
                assert fc[n]["ours"]["origins"][i] == o == fc[n]["raw"]["origins"][i]
                train, truth = y[:o], y[o : o + h]
                f = {k: np.asarray(fc[n][k]["forecasts"][i]) for k in fc[n]}
                for k in ("ours", "raw", "ridge", "ets", "naive"):
                    if k in f:
                        res[k].append(bf.mase(train, truth, f[k], m))
                auto = f["raw"] if row["p"] < 0.05 else f["ours"]
                res["auto"].append(bf.mase(train, truth, auto, m))
                s = row["inner"]
                series = bool(s) and s["series"] < s["window"]
                gated = series and row["p"] < 0.05
                res["select"].append(
                    bf.mase(train, truth, f["raw" if gated else "ours"], m)
                )
                res["select_all"].append(
                    bf.mase(train, truth, f["raw" if series else "ours"], m)
                )
                picks.append("S" if series else ("." if s else "-"))
            add_series(n, res, rows, tag="".join(picks) + " ")
        print_group(g, rows)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", nargs="*", default=[])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--inner", type=int, default=2)
    ap.add_argument("--log", nargs="+", required=True)
    ap.add_argument("--where", choices=("adf", "rest"), default="adf")
    ap.add_argument("--defaults", default="benchmarks/out/exp_combine.jsonl")
    ap.add_argument("--raw", default="benchmarks/out/exp_rawpath.jsonl")
    ap.add_argument("--evaluate", action="store_true")
    a = ap.parse_args(argv)
    if a.evaluate:
        return evaluate(a.log, a.defaults, a.raw)
    for name in a.series:
        row = run(name, a.seed, a.inner, a.where)
        with open(a.log[0], "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(name, "done", flush=True)


if __name__ == "__main__":
    main()
