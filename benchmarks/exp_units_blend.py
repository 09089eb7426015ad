"""Research screen (issue 12), offline: the average of the forecasts with the
linear path in window units (the defaults, ``exp_combine.py``'s ``ours``) and in
the series' units (``exp_rawpath.py``'s ``raw``), everywhere or where the
augmented Dickey-Fuller test rejects a unit root at 5%, against either alone
(seed 0, every origin of the protocol). MASE, mean per group; losses to Ridge
counted per series.

    PYTHONPATH=.:benchmarks benchmarks/.venv/bin/python benchmarks/exp_units_blend.py
"""

import collections
import json

import bench_forecast as bf
import numpy as np
from exp_rawpath import GROUPS, adf_p

LOGS = ("benchmarks/out/exp_rawpath.jsonl", "benchmarks/out/exp_combine.jsonl")


def main() -> None:
    d = collections.defaultdict(dict)
    for path in LOGS:
        for line in open(path):
            r = json.loads(line)
            d[r["series"]][r["method"]] = r
    for group, names in GROUPS.items():
        rows = collections.defaultdict(list)
        for n in (n for n in names if "raw" in d[n] and "ours" in d[n]):
            y, m, h = bf.load_series(n)
            res = collections.defaultdict(list)
            for i, o in enumerate(d[n]["raw"]["origins"]):
                train, truth = y[:o], y[o : o + h]
                f = {k: np.asarray(d[n][k]["forecasts"][i]) for k in d[n]}
                stationary = adf_p(train) < 0.05
                blend = (f["raw"] + f["ours"]) / 2
                picks = {
                    "ours": f["ours"],
                    "adf_raw": f["raw"] if stationary else f["ours"],
                    "adf_avg": blend if stationary else f["ours"],
                    "avg": blend,
                    "ridge": f["ridge"],
                }
                for k, v in picks.items():
                    res[k].append(bf.mase(train, truth, v, m))
            for k, v in res.items():
                rows[k].append(float(np.mean(v)))
        means = {k: round(float(np.mean(v)), 3) for k, v in rows.items()}
        lost = {
            k: sum(a > r + 1e-12 for a, r in zip(v, rows["ridge"]))
            for k, v in rows.items()
            if k != "ridge"
        }
        print(group, means, "lost to Ridge:", lost)


if __name__ == "__main__":
    main()
