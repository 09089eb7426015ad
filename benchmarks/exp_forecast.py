"""Research runner for issue 12: the forecasting design and training recipe.

A plain torch loop over ``sksequence.nn.Seq2Seq`` doing what the estimator does
(Adam, global gradient-norm clipping at 1.0, shuffled mini-batches), with the
options under study: per-window scaling, the linear skip path, direct vs recursive
decoder, teacher forcing vs free running, the budget (in optimizer updates), the
learning-rate schedule and the stopping rule.

Each series is first standardised by the mean and standard deviation of its own
training values (what the estimator's per-feature standardisation does for one
series, and what the global-model helper does per series), so the module's
``min_scale`` is in those units.

Usage (from the repository root, benchmark environment; one config a line)::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_forecast.py \
        --configs '{}' '{"scaling": null}' '{"skip": false}' --seeds 0
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DEFAULTS = dict(
    hidden_size=64,
    decoder="direct",
    attention=None,
    scaling="mean",
    skip=True,
    lr=1e-3,
    batch_size=32,
    updates=500,  # optimizer updates (the budget)
    min_epochs=0,  # at least this many passes over the data
    schedule="cosine",  # "constant", "cosine"
    stop=None,  # None, or patience in updates on the smoothed training loss
    teacher_forcing=1.0,
    weight_decay=0.0,
    cell="lstm",
    num_layers=1,
    zero_out=False,  # start the decoder's output layer at zero
    series_scaling=True,  # standardise each series by its training values first
    min_scale=1e-2,  # floor of the window scale (series-standardised units)
    linear_init=False,  # start the skip path at its ridge solution
    linear_alpha=1.0,
    freeze_linear=False,
    level=True,  # the linear path also reads the window's bounded level
    level_bound=None,  # soft bound of the level feature (window units); None: as the
    # estimator, 3 for one series, 1 for many (3 everywhere until fc3)
    linear_decay=0.0,  # L2 (Adam weight_decay) on the linear path's weights only
    window_loss=True,  # loss in window units (every window weighs 1); False: in the
    # series' standardised units (windows weigh by their variance, as Ridge's MSE)
    loss="mse",  # "mse", "l1" or "huber", in window units
    huber_delta=1.0,
    linear_lr=1.0,  # the linear path's learning rate, a multiple of lr
    loss_power=None,  # None: as window_loss; p: every window's squared error in
    # window units weighs scale ** p / (the batch's mean of scale ** p): 0 is the
    # window loss, 2 the series' standardised units (Ridge's weighting)
    series_power=None,  # p: each window weighs scale ** p over the mean of it
    # over its own series' windows (every series keeps a total weight of its
    # number of windows, as with equal weights)
    diff_weight=None,  # q: each window also weighs (scale / d) ** q, d its mean
    # absolute step-to-step change (MASE's scale, within the window): q = 2 is
    # the squared error in units of the window's naive one-step error
    net_dropout=0.0,  # dropout on the decoder's outputs before the read-out
    # layer (training only): regularises the network, not the linear path
    causal_level=False,  # the level of each training window is measured from
    # the mean of its series' values up to the window's end (the forecast's
    # window: the training mean, as before), not from the whole training mean,
    # which windows early in a series could not have known
    input_noise=0.0,  # Gaussian noise of this many window standard deviations
    # added to every training input step (a fresh draw each update)
)


def windows(series_list, L, h):
    """Training windows (N, L, 1), targets (N, h, 1) of every series long enough."""
    from sksequence.preprocessing import sliding_window

    Xs, ys = [], []
    for s in series_list:
        if len(s) >= L + h:
            X, y = sliding_window(s, L, h)
            Xs.append(X)
            ys.append(y)
    X, y = np.concatenate(Xs), np.concatenate(ys)
    return (
        torch.tensor(X, dtype=torch.float32)[:, :, None],
        torch.tensor(y, dtype=torch.float32)[:, :, None],
    )


def last_windows(series_list, L):
    """The last L values of every series (ragged: padded, with lengths)."""
    lengths = torch.tensor([min(L, len(s)) for s in series_list])
    x = torch.zeros((len(series_list), L, 1))
    for i, s in enumerate(series_list):
        tail = s[-L:]
        x[i, : len(tail), 0] = torch.tensor(tail, dtype=torch.float32)
    return x, (None if (lengths == L).all() else lengths)


def linear_probe(L, h, cfg, **options):
    """A Seq2Seq in evaluation mode whose output is its linear path alone (the
    network's output layer zeroed), for closed-form fits of that path."""
    from sksequence.nn.seq2seq import Seq2Seq

    model = Seq2Seq(
        1,
        1,
        hidden_size=1,
        pattern="direct",
        max_length=L,
        scaling=cfg["scaling"],
        min_scale=cfg["min_scale"],
        horizon=h,
        **options,
    ).eval()
    torch.nn.init.zeros_(model.out.weight)
    torch.nn.init.zeros_(model.out.bias)
    return model


def choose_linear_path(X, Y, L, h, cfg, one_series):
    """ "raw" or "scaled": the closed-form linear path with the lower MSE (in window
    units) on held-out windows (the latest 20% of one series, else every 5th)."""
    n = len(X)
    if one_series:
        held = torch.arange(n) >= int(0.8 * n)
    else:
        held = torch.arange(n) % 5 == 4
    errors = {}
    for units in ("scaled", "raw"):
        model = linear_probe(L, h, cfg, skip=units)
        model.fit_linear_path(X[~held], Y[~held], alpha=cfg["linear_alpha"])
        with torch.no_grad():
            out = model(X[held], n_steps=h)
            errors[units] = float(model.loss(out, Y[held], x=X[held]))
    return min(errors, key=errors.get)


CV_ALPHAS = np.logspace(-1, 4, 11)


def cv_alpha(X, Y, L, h, cfg, weight, folds=5):
    """The ridge penalty of the linear path (window units) with the lowest
    weighted squared error over ``folds`` contiguous blocks of the windows, each
    predicted by the linear path fitted on the windows that share no step with
    the block (a gap of L + h - 1 windows on either side)."""
    n = len(X)
    w = torch.ones(n) if weight is None else weight
    probe = linear_probe(
        L, h, cfg, skip=True, level=cfg["level"], level_bound=cfg["level_bound"] or 3.0
    )
    _, scale = probe._target_stats(probe.standardized(X), None)
    gap = L + h - 1
    edges = np.linspace(0, n, folds + 1).astype(int)
    errors, used = np.zeros(len(CV_ALPHAS)), 0
    for lo, hi in zip(edges[:-1], edges[1:]):
        idx = torch.arange(n)
        fit = (idx < lo - gap) | (idx >= hi + gap)
        if fit.sum() < 2 * L or hi <= lo:
            continue
        for j, alpha in enumerate(CV_ALPHAS):
            probe.fit_linear_path(
                X[fit], Y[fit], alpha=float(alpha), sample_weight=w[fit]
            )
            with torch.no_grad():
                out = probe(X[lo:hi], n_steps=h)[0]
            e = (((out - Y[lo:hi]) / scale[lo:hi]) ** 2).mean(dim=(1, 2))
            errors[j] += float((e * w[lo:hi]).sum())
        used += 1
    if used < 2:  # too few windows to validate: no ridge start
        return None
    alpha = float(CV_ALPHAS[int(np.argmin(errors))])
    if os.environ.get("CV_DEBUG"):
        print(f"  n={n} folds={used} alpha={alpha:g}", file=sys.stderr)
    return alpha


def fit_forecast(trains, h, L, seed=0, return_model=False, **options):
    """Train on the windows of every series in ``trains``; forecast h after each."""
    from sksequence.nn.seq2seq import Seq2Seq

    if "ensemble" in options:  # the mean of the members' forecasts
        members = options.pop("ensemble")
        return np.mean(
            [fit_forecast(trains, h, L, seed, **{**options, **m}) for m in members],
            axis=0,
        )
    cfg = {**DEFAULTS, **options}
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if cfg["series_scaling"]:
        stats = [(s.mean(), s.std() if s.std() > 0 else 1.0) for s in trains]
    else:
        stats = [(0.0, 1.0)] * len(trains)
    scaled = [(s - m) / sd for s, (m, sd) in zip(trains, stats)]
    X, Y = windows(scaled, L, h)
    if cfg["causal_level"]:  # each window's level from the mean of the values so far
        anchors = []
        for s in scaled:
            if len(s) >= L + h:
                ends = np.arange(L, len(s) - h + 1)  # each window's end (exclusive)
                anchors.append(np.cumsum(s)[ends - 1] / ends)
        shift = torch.tensor(np.concatenate(anchors), dtype=torch.float32)
        X, Y = X - shift[:, None, None], Y - shift[:, None, None]
    series_norm = None
    if cfg["series_power"] is not None:  # each series' mean window weight: 1
        sizes = [len(s) - L - h + 1 for s in scaled if len(s) >= L + h]
        ids = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
        w = X.std(dim=1, unbiased=False)[:, 0].clamp(min=cfg["min_scale"])
        w = w ** cfg["series_power"]
        means = torch.zeros(len(sizes)).index_add_(0, ids, w) / torch.tensor(sizes)
        series_norm = means[ids]  # (N,)
    if cfg["skip"] == "auto":  # pick the linear path that validates better
        cfg["skip"] = choose_linear_path(X, Y, L, h, cfg, len(trains) == 1)
    model = Seq2Seq(
        1,
        1,
        hidden_size=cfg["hidden_size"],
        num_layers=cfg["num_layers"],
        cell=cfg["cell"],
        pattern=cfg["decoder"],
        attention=cfg["attention"],
        max_length=L,
        scaling=cfg["scaling"],
        min_scale=cfg["min_scale"],
        skip=cfg["skip"],
        horizon=h,
        teacher_forcing_ratio=cfg["teacher_forcing"],
        level=cfg["level"],
        level_bound=cfg["level_bound"] or (3.0 if len(trains) == 1 else 1.0),
    )
    if cfg["linear_init"]:
        weight = None
        if cfg["loss_power"]:  # the least squares weighted as the loss is
            _, scale = model._target_stats(model.standardized(X), None)
            weight = scale[:, 0, 0] ** cfg["loss_power"]
        alpha = cfg["linear_alpha"]
        if alpha == "cv":  # chosen by blocked cross-validation of the linear path
            alpha = cv_alpha(X, Y, L, h, cfg, weight)
        if alpha is not None:
            model.fit_linear_path(X, Y, alpha=alpha, sample_weight=weight)
        if cfg["freeze_linear"]:
            model.skip.requires_grad_(False)
    if cfg["net_dropout"]:
        read_out, p_drop = model._read_out, cfg["net_dropout"]

        def dropped_read_out(hidden, state, *args, **kwargs):
            hidden = torch.nn.functional.dropout(hidden, p_drop, model.training)
            return read_out(hidden, state, *args, **kwargs)

        model._read_out = dropped_read_out
    if cfg["zero_out"]:
        torch.nn.init.zeros_(model.out.weight)
        torch.nn.init.zeros_(model.out.bias)
    params = [p for p in model.parameters() if p.requires_grad]
    linear = [model.skip.weight] if model.skip is not None else []
    if model.skip is not None and cfg["linear_lr"] != 1.0:
        linear.append(model.skip.bias)
    linear = [p for p in linear if p.requires_grad]
    others = [p for p in params if all(p is not q for q in linear)]
    groups = [{"params": others}]
    if linear:
        decay = cfg["linear_decay"] or cfg["weight_decay"]
        groups.append(
            {
                "params": linear,
                "weight_decay": decay,
                "lr": cfg["lr"] * cfg["linear_lr"],
                "scale": cfg["linear_lr"],
            }
        )
    opt = torch.optim.Adam(groups, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    n, bs = len(X), cfg["batch_size"]
    per_epoch = math.ceil(n / bs)
    total = max(cfg["updates"], cfg["min_epochs"] * per_epoch)
    model.train()
    done, best, since, smooth = 0, float("inf"), 0, None
    history = []
    while done < total:
        perm = torch.from_numpy(rng.permutation(n))
        for i in range(0, n, bs):
            if done >= total:
                break
            idx = perm[i : i + bs]
            x, y = X[idx], Y[idx]
            if cfg["input_noise"]:
                sd = x.std(dim=1, keepdim=True, unbiased=False).clamp(
                    min=cfg["min_scale"]
                )
                x = x + cfg["input_noise"] * sd * torch.randn_like(x)
            if cfg["schedule"] == "cosine":
                lr = cfg["lr"] * 0.5 * (1 + math.cos(math.pi * done / total))
                for g in opt.param_groups:
                    g["lr"] = lr * g.get("scale", 1.0)
            out = model(x, target=y)
            if cfg["loss"] != "mse":
                loss = robust_loss(
                    model,
                    out,
                    y,
                    x,
                    cfg["loss"],
                    cfg["huber_delta"],
                    cfg["loss_power"],
                    cfg["diff_weight"],
                )
            elif series_norm is not None:
                _, scale = model._target_stats(model.standardized(x), None)
                e = (((out[0] - y) / scale) ** 2).mean(dim=(1, 2))
                w = scale[:, 0, 0] ** cfg["series_power"] / series_norm[idx]
                loss = (e * w).mean()
            elif cfg["loss_power"] is not None or cfg["diff_weight"] is not None:
                loss = weighted_loss(
                    model, out, y, x, cfg["loss_power"] or 0.0, cfg["diff_weight"]
                )
            elif cfg["window_loss"]:
                loss = model.loss(out, y, x=x)
            else:
                loss = ((out[0] - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            done += 1
            value = loss.item()
            history.append(value)
            smooth = value if smooth is None else 0.9 * smooth + 0.1 * value
            if cfg["stop"]:
                if smooth < best * (1 - 1e-3):
                    best, since = smooth, 0
                else:
                    since += 1
                if since >= cfg["stop"] and done >= 0.2 * total:
                    total = done
        if done >= total:
            break
    model.eval()
    x, lengths = last_windows(scaled, L)
    with torch.no_grad():
        pred = model(x, lengths, n_steps=h)[0][:, :, 0].double().numpy()  # (S, h)
    out = np.array([p * sd + m for p, (m, sd) in zip(pred, stats)])
    if return_model:
        return out, model, history
    return out


def weighted_loss(model, out, y, x, power, diff_weight=None):
    """Squared error in window units, each window weighing its scale ** power
    (and (scale / d) ** diff_weight, d the window's mean absolute change;
    normalised to a mean weight of 1 over the batch)."""
    xs = model.standardized(x)
    _, scale = model._target_stats(xs, None)  # (N, 1, O)
    e = ((out[0] - y) / scale) ** 2
    w = scale**power
    if diff_weight is not None:
        d = (xs[:, 1:] - xs[:, :-1]).abs().mean(dim=1, keepdim=True).clamp(min=1e-2)
        w = w * (scale / d) ** diff_weight
    w = w / w.mean()
    return (e * w).mean()


def robust_loss(model, out, y, x, kind, delta=1.0, power=None, diff_weight=None):
    """Absolute ("l1") or Huber error in window units (as ``model.loss`` scales
    the squared error); with ``power`` (l1 only) each window weighs its scale **
    power (mean 1 over the batch): 1 is the absolute error in the series' units;
    with ``diff_weight`` q (l1 only) also (scale / d) ** q, d the window's mean
    absolute step-to-step change: q = 1 is the absolute error in units of the
    window's naive one-step error (MASE's scale, within the window)."""
    xs = model.standardized(x)
    _, scale = model._target_stats(xs, None)
    e = (out[0] - y) / scale
    if kind == "l1" and (power or diff_weight):
        w = scale ** (power or 0.0)
        if diff_weight:
            d = (xs[:, 1:] - xs[:, :-1]).abs().mean(dim=1, keepdim=True)
            w = w * (scale / d.clamp(min=1e-2)) ** diff_weight
        return (e.abs() * w / w.mean()).mean()
    if kind == "l1":
        return e.abs().mean()
    if kind == "huber":
        return torch.nn.functional.huber_loss(e, torch.zeros_like(e), delta=delta)
    raise ValueError(kind)


def table(path):
    """The research log (one JSON line per config) as a markdown table."""
    from _common import markdown_table

    with open(path) as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    names = list(dict.fromkeys(k for line in lines for k in line["per"]))
    rows = []
    for line in lines:
        cfg = {k: v for k, v in line["config"].items()}
        rows.append(
            [
                json.dumps(cfg) or "{}",
                "" if line["mean"] is None else f"{line['mean']:.3f}",
            ]
            + [f"{line['per'][n]:.3f}" if n in line["per"] else "" for n in names]
        )
    return markdown_table(["config (DEFAULTS + ...)", "mean"] + names, rows)


def main(argv=None):
    from bench_forecast import DEV_COLLECTIONS, DEV_SERIES, run_collection, run_series

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="*", default=["{}"])
    parser.add_argument("--series", nargs="*", default=DEV_SERIES)
    parser.add_argument("--collections", nargs="*", default=[])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--log", default="benchmarks/out/exp_forecast.jsonl")
    parser.add_argument("--table", action="store_true", help="print the log as a table")
    args = parser.parse_args(argv)
    if args.table:
        print(table(args.log))
        return
    torch.set_num_threads(1)
    if args.collections == ["dev"]:
        args.collections = DEV_COLLECTIONS
    os.makedirs(os.path.dirname(args.log), exist_ok=True)
    for text in args.configs:
        extra = json.loads(text)
        rows, secs = {}, []
        for seed in args.seeds:
            for name in args.series:
                r = run_series(name, "recipe", seed, extra)
                rows.setdefault(name, []).append(r["mase"])
                secs.append(r["fit_cpu_s"])
            for name in args.collections:
                r = run_collection(name, "global-recipe", seed, extra)
                rows.setdefault(name, []).append(r["mase"])
        means = {k: float(np.mean(v)) for k, v in rows.items()}
        dev = [means[k] for k in args.series]
        line = {
            "config": extra,
            "mean": float(np.mean(dev)) if dev else None,
            "fit_s": float(np.mean(secs)) if secs else None,
            "per": means,
            "seeds": args.seeds,
            "time": time.strftime("%H:%M:%S"),
        }
        with open(args.log, "a") as fh:
            fh.write(json.dumps(line) + "\n")
        per = " ".join(f"{k[:6]}={v:.3f}" for k, v in means.items())
        mean = f"{line['mean']:.3f}" if dev else "-"
        fit = f"{line['fit_s']:.1f}" if secs else "-"
        print(f"{text:<60s} mean {mean} fit {fit}s | {per}", flush=True)


if __name__ == "__main__":
    main()
