"""Research (issue 12): does a prior that weakens as the windows grow in number
help one series' model on short series? A working-copy patch of the module's loss
adds ``alpha / (N * T * O) * ||theta - theta_0||^2`` on the chosen parameter groups
(``skip``: the linear path, toward its start, the naive forecast; ``out``: the
network's read-out layer, toward its initial weights), N the training windows:
ridge regression's penalty toward the start, for a mean loss. ``updates_per_window``
instead caps the training budget at that many updates per window.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \
        benchmarks/exp_shrink.py --series r-LakeHuron --configs '{}' '{"alpha": 10}' \
        --seeds 0 --log benchmarks/out/exp_shrink.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_forecast as bf  # noqa: E402

import sksequence.nn.seq2seq as S  # noqa: E402

_STATE = {"alpha": 0.0, "groups": ("skip",), "n": 1}
_orig_loss = S.Seq2Seq.loss


def _loss(self, outputs, target, reduction="mean", sample_weight=None, **batch):
    base = _orig_loss(self, outputs, target, reduction, sample_weight, **batch)
    alpha = _STATE["alpha"]
    if reduction == "none" or not self.training or not alpha:
        return base
    if not hasattr(self, "_theta0"):
        self._theta0 = {
            g: [p.detach().clone() for p in getattr(self, g).parameters()]
            for g in _STATE["groups"]
        }
    pen = 0.0
    for g, start in self._theta0.items():
        for p, p0 in zip(getattr(self, g).parameters(), start):
            pen = pen + ((p - p0) ** 2).sum()
    t, o = target.shape[1], target.shape[2]
    return base + alpha / (_STATE["n"] * t * o) * pen


S.Seq2Seq.loss = _loss


def forecast(train, h, m, L, seed, cfg):
    from sksequence import Seq2SeqRegressor
    from sksequence.preprocessing import sliding_window

    torch.set_num_threads(1)
    X, y = sliding_window(train, L, h)
    n = len(X)
    _STATE.update(
        alpha=float(cfg.get("alpha", 0.0)),
        groups=tuple(cfg.get("groups", ("skip",))),
        n=n,
    )
    params = dict(cfg.get("params", {}))
    if "updates_per_window" in cfg:
        updates = min(
            500, max(cfg.get("min_updates", 50), cfg["updates_per_window"] * n)
        )
        steps = math.ceil(n / 32)
        params["max_epochs"] = max(1, math.ceil(updates / steps))
    if "val_budgets" in cfg:  # the budget chosen on the latest windows
        updates = _choose_budget(X, y, h, seed, params, cfg)
        params["max_epochs"] = max(1, math.ceil(updates / math.ceil(n / 32)))
    reg = Seq2SeqRegressor(random_state=seed, **params).fit(X, y)
    return reg.predict(train[-L:][None])[0]


def _choose_budget(X, y, h, seed, params, cfg):
    """Fit on the earlier windows with each budget (in updates), score the mean
    absolute error of the latest ``frac`` windows (none of whose targets lie in a
    fit window), return the best budget."""
    from sksequence import Seq2SeqRegressor

    n = len(X)
    n_valid = math.ceil(cfg.get("frac", 0.3) * n)
    n_fit = n - n_valid - (h - 1)
    budgets = cfg["val_budgets"]
    if n_fit < cfg.get("min_fit", 10):
        return cfg.get("fallback", 500)
    errors = []
    scale = 1.0  # (the same for every budget)
    for u in budgets:
        p = dict(params, max_epochs=max(1, math.ceil(u / math.ceil(n_fit / 32))))
        reg = Seq2SeqRegressor(random_state=seed, **p).fit(X[:n_fit], y[:n_fit])
        pred = reg.predict(X[-n_valid:])
        errors.append(float(np.mean(np.abs(pred - y[-n_valid:])) / scale))
    best = budgets[int(np.argmin(errors))]
    if os.environ.get("BENCH_VERBOSE"):
        print(
            f"  n={n} budgets={budgets} errors={np.round(errors, 3)} -> {best}",
            file=sys.stderr,
            flush=True,
        )
    return best


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--series", nargs="+", required=True)
    p.add_argument("--configs", nargs="+", default=["{}"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--log", required=True)
    a = p.parse_args(argv)
    for name in a.series:
        y, m, h = bf.load_series(name)
        for c in a.configs:
            cfg = json.loads(c)
            for seed in a.seeds:
                errs = []
                for origin in bf.origins(len(y), h):
                    train, truth = y[:origin], y[origin : origin + h]
                    L = bf.window_length(len(train), h, m)
                    fc = forecast(train, h, m, L, seed, cfg)
                    errs.append(bf.mase(train, truth, fc, m))
                row = {
                    "series": name,
                    "cfg": c,
                    "seed": seed,
                    "mase": float(np.mean(errs)),
                }
                with open(a.log, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
