"""Research: which anomaly score of a fitted LSTMAutoencoderTransformer separates
classes.

The protocol of ``bench_autoencoder_real.py --tasks anom`` (for each class: fit
``LSTMAutoencoderTransformer(random_state=seed)`` with its defaults on that class's
training series, score the test series, AUROC of "another class", mean over the
classes), with every candidate score computed from the SAME fitted model. Each
(problem, class, seed) fit is done once and its outputs cached under
``benchmarks/out/anom_cache/`` (npz): the standardised reconstruction residuals of the
training and test series (every step and feature), the pooled features
(``transform``), the 16-value code, the input scale and the fit's CPU seconds.

Usage (benchmark environment, repository root)::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_anomaly_class.py \\
        --fit --seeds 0 --problems ItalyPowerDemand GunPoint
    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_anomaly_class.py \\
        --seeds 0 [--scores mse knn1 ...]          # the table from the cache
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import set_threads  # noqa: E402
from _ucr_data import DEV, HELD_OUT, load_problem, subset  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "out", "anom_cache")
ORDER = [
    "ItalyPowerDemand",
    "GunPoint",
    "Covid3Month_disc",
    "BasicMotions",
    "ArrowHead",
    "JapaneseVowels",
    "PickupGestureWiimoteZ",
    "OSULeaf",
    "ACSF1",
    "PLAID",
]


def _path(problem, cls, seed):
    return os.path.join(CACHE, f"{problem}_c{cls}_s{seed}.npz")


def _outputs(est, X):
    """Standardised residuals (n, L, F), lengths (n,), pooled features, codes."""
    batch = est._inputs(X)
    arrays = batch.inputs()

    def res(module, x, lengths=None, **_):
        out = module(x=x, lengths=lengths)["reconstruction"]
        r = (out - x) / module.input_scale  # (N, L, F)
        return r

    r = est._batched(res, arrays, batch.n_timesteps).astype(np.float32)
    lengths = (
        np.asarray(arrays["lengths"])
        if arrays.get("lengths") is not None
        else np.full(len(r), r.shape[1])
    )
    pooled = est.transform(X)
    code = est._batched(
        lambda m, **b: m.code(m.encode(**b)), arrays, batch.n_timesteps
    ).astype(np.float32)
    return r, lengths, pooled, code


def fit_one(prob, cls, seed):
    from sksequence import LSTMAutoencoderTransformer

    normal = np.flatnonzero(prob["y_train"] == cls)
    Xn = subset(prob["X_train"], normal)
    est = LSTMAutoencoderTransformer(random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        est.fit(Xn)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        r_tr, l_tr, p_tr, c_tr = _outputs(est, Xn)
        r_te, l_te, p_te, c_te = _outputs(est, prob["X_test"])
        official = est.score_samples(prob["X_test"])
    return dict(
        r_tr=r_tr,
        l_tr=l_tr,
        p_tr=p_tr,
        c_tr=c_tr,
        r_te=r_te,
        l_te=l_te,
        p_te=p_te,
        c_te=c_te,
        scale=est.net_.module_.input_scale.numpy(),
        official=official,
        wall=wall,
        cpu=cpu,
    )


# -- candidate scores (higher = more anomalous) ----------------------------------------
def _per_seq(r, lengths, fn):
    return np.array([fn(r[i, : lengths[i]]) for i in range(len(r))])


def _sqdist(b, a):
    d = (b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]
    return np.maximum(d, 0)


def _knn(a, b, k=1, standardise=True):
    if standardise:
        mu, sd = a.mean(0), a.std(0)
        sd = np.where(sd > 1e-6, sd, 1.0)
        a, b = (a - mu) / sd, (b - mu) / sd
    d = np.sqrt(_sqdist(b, a))
    k = min(k, a.shape[0])
    return np.sort(d, axis=1)[:, :k].mean(1)


def _knn_loo(a, k=1, standardise=True):
    """Leave-one-out kNN distance of the training rows (for z-scoring)."""
    if standardise:
        mu, sd = a.mean(0), a.std(0)
        sd = np.where(sd > 1e-6, sd, 1.0)
        a = (a - mu) / sd
    d = np.sqrt(_sqdist(a, a))
    np.fill_diagonal(d, np.inf)
    k = min(k, max(1, a.shape[0] - 1))
    return np.sort(d, axis=1)[:, :k].mean(1)


def _smooth_max(e, frac=10):
    w = max(1, len(e) // frac)
    if w >= len(e):
        return e.mean()
    return np.convolve(e, np.ones(w) / w, mode="valid").max()


def _rank(x):
    from scipy.stats import rankdata

    return rankdata(x) / len(x)


def scores(d) -> dict:
    r_tr, l_tr, r_te, l_te = d["r_tr"], d["l_tr"], d["r_te"], d["l_te"]
    scale = d["scale"]
    out = {}
    sq_te = r_te**2  # standardised units
    sq_tr = r_tr**2
    out["official"] = -d["official"]
    out["mse_std"] = _per_seq(sq_te, l_te, lambda e: e.mean())
    out["mse_user"] = _per_seq(sq_te * scale**2, l_te, lambda e: e.mean())
    out["max_step"] = _per_seq(sq_te, l_te, lambda e: e.mean(1).max())
    out["q90_step"] = _per_seq(sq_te, l_te, lambda e: np.quantile(e.mean(1), 0.9))
    out["smooth10_max"] = _per_seq(sq_te, l_te, lambda e: _smooth_max(e.mean(1)))
    out["rmse_abs"] = _per_seq(r_te, l_te, lambda e: np.abs(e).mean())
    out["mae_user"] = _per_seq(r_te * scale, l_te, lambda e: np.abs(e).mean())
    out["rms_step_mean"] = _per_seq(
        r_te, l_te, lambda e: np.sqrt((e**2).mean(1)).mean()
    )
    out["log_mse"] = _per_seq(
        r_te, l_te, lambda e: np.log((e**2).mean(1) + 1e-4).mean()
    )
    out["median_abs"] = _per_seq(r_te, l_te, lambda e: np.median(np.abs(e)))
    out["pow05"] = _per_seq(r_te, l_te, lambda e: (np.abs(e) ** 0.5).mean())
    # the training series' mean absolute error per feature normalises the test one
    abs_tr = np.concatenate([np.abs(r_tr[i, : l_tr[i]]) for i in range(len(r_tr))])
    f_mae = abs_tr.mean(0) + 1e-6
    out["mae_featnorm"] = _per_seq(r_te, l_te, lambda e: (np.abs(e) / f_mae).mean())
    # Malhotra et al. 2016: Gaussian of the per-step error vectors (F values) on the
    # training steps; score = mean / max over steps of the Mahalanobis distance
    flat_tr = np.concatenate([r_tr[i, : l_tr[i]] for i in range(len(r_tr))])
    mu = flat_tr.mean(0)
    cov = np.atleast_2d(np.cov(flat_tr.T)) + 1e-6 * np.eye(flat_tr.shape[1])
    icov = np.linalg.inv(cov)

    def maha(e):
        z = e - mu
        return np.einsum("tf,fg,tg->t", z, icov, z)

    out["maha_mean"] = _per_seq(r_te, l_te, lambda e: maha(e).mean())
    out["maha_max"] = _per_seq(r_te, l_te, lambda e: maha(e).max())
    # per-position normalisation of the training step errors (equal-length-ish)
    steps_tr = [sq_tr[i, : l_tr[i]].mean(1) for i in range(len(sq_tr))]
    longest = max(r_te.shape[1], r_tr.shape[1])
    acc, acc2, cnt = np.zeros(longest), np.zeros(longest), np.zeros(longest)
    for e in steps_tr:
        acc[: len(e)] += e
        acc2[: len(e)] += e**2
        cnt[: len(e)] += 1
    allv = np.concatenate(steps_tr)
    g_mu, g_sd = allv.mean(), allv.std() + 1e-8
    pmu = np.where(cnt > 0, acc / np.maximum(cnt, 1), g_mu)
    psd = np.where(
        cnt > 1, np.sqrt(np.maximum(acc2 / np.maximum(cnt, 1) - pmu**2, 0)), g_sd
    )
    psd = np.maximum(psd, 0.1 * g_sd)
    out["pos_z"] = _per_seq(
        sq_te,
        l_te,
        lambda e: (((e.mean(1) - pmu[: len(e)]) / psd[: len(e)]) ** 2).mean(),
    )
    out["pos_rel"] = _per_seq(
        sq_te, l_te, lambda e: (e.mean(1) / (pmu[: len(e)] + 0.1 * g_mu)).mean()
    )
    # relative to the training series' errors (log-z): same ranking as mse_std
    # feature spaces
    spaces = (("pooled", d["p_tr"], d["p_te"]), ("code", d["c_tr"], d["c_te"]))
    for name, a, b in spaces:
        for k in (1, 3):
            out[f"knn{k}_{name}"] = _knn(a, b, k)
        out[f"knn1_{name}_raw"] = _knn(a, b, 1, standardise=False)
    # combinations (test scores z-scored by the training rows' own values)
    mse_tr = _per_seq(sq_tr, l_tr, lambda e: e.mean())
    loo = _knn_loo(d["p_tr"], 1)

    def lz(test, train):
        t, tr = np.log(test + 1e-8), np.log(train + 1e-8)
        return (t - tr.mean()) / (tr.std() + 1e-8)

    out["combo_lz"] = lz(out["mse_std"], mse_tr) + lz(out["knn1_pooled"], loo)
    out["combo_rank"] = _rank(out["mse_std"]) + _rank(out["knn1_pooled"])
    mae_tr = _per_seq(r_tr, l_tr, lambda e: np.abs(e).mean())
    out["combo_lz_mae"] = lz(out["rmse_abs"], mae_tr) + lz(out["knn1_pooled"], loo)
    out["combo_rank_mae"] = _rank(out["rmse_abs"]) + _rank(out["knn1_pooled"])
    loo3 = _knn_loo(d["p_tr"], 3)
    out["combo_lz_mae3"] = lz(out["rmse_abs"], mae_tr) + lz(out["knn3_pooled"], loo3)
    out["combo_lr_mae"] = np.log(out["rmse_abs"] / np.median(mae_tr)) + np.log(
        out["knn1_pooled"] / np.median(loo)
    )
    # the estimator's anomaly_score="combined" (each ratio at least 1e-3)
    mae_user_tr = _per_seq(r_tr * scale, l_tr, lambda e: np.abs(e).mean())
    out["combined"] = np.log(
        np.maximum(out["mae_user"] / np.median(mae_user_tr), 1e-3)
    ) + np.log(np.maximum(out["knn1_pooled"] / np.median(loo), 1e-3))
    out["combo_lr_mae3"] = np.log(out["rmse_abs"] / np.median(mae_tr)) + np.log(
        out["knn3_pooled"] / np.median(loo3)
    )
    out["combo_lr_mae2"] = np.log(out["rmse_abs"] / np.median(mae_tr)) + np.log(
        _knn(d["p_tr"], d["p_te"], 2) / np.median(_knn_loo(d["p_tr"], 2))
    )
    out["combo_lz_mse"] = lz(out["mse_std"], mse_tr) + lz(out["knn3_pooled"], loo3)
    out["combo_lz_mae_w"] = 0.5 * lz(out["rmse_abs"], mae_tr) + lz(
        out["knn1_pooled"], loo
    )
    # features standardised with a floor on the scale (tiny training sets)
    a, b = d["p_tr"], d["p_te"]
    mu, sd = a.mean(0), a.std(0)
    sd = np.maximum(sd, 0.1 * np.median(sd) + 1e-6)
    out["knn1_floor"] = np.sqrt(_sqdist((b - mu) / sd, (a - mu) / sd)).min(1)
    an = a / (np.linalg.norm(a, axis=1, keepdims=True) + 1e-8)
    bn = b / (np.linalg.norm(b, axis=1, keepdims=True) + 1e-8)
    out["knn1_cos"] = (1 - bn @ an.T).min(1)
    out["combo_rank3"] = _rank(out["knn3_pooled"]) + _rank(out["mse_std"])
    return out


def anchors(prob, cls):
    from sklearn.decomposition import PCA

    normal = np.flatnonzero(prob["y_train"] == cls)
    Etr = prob["E_train"][normal].reshape(len(normal), -1)
    Ete = prob["E_test"].reshape(len(prob["E_test"]), -1)
    pca = PCA(min(16, len(normal) - 1), random_state=0).fit(Etr)
    rec = pca.inverse_transform(pca.transform(Ete))
    return {
        "pca": ((Ete - rec) ** 2).mean(1),
        "nn": _sqdist(Ete, Etr).min(1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", nargs="+", default=ORDER)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--fit", action="store_true", help="fit what is not cached")
    parser.add_argument("--scores", nargs="+", default=None)
    parser.add_argument(
        "--json",
        default=None,
        help="also write bench_autoencoder_real.py records (mae_user as 'ae', "
        "combined as 'ae_combined', mse_user as 'ae_mse', pca, nn) for its "
        "--table-from",
    )
    args = parser.parse_args(argv)
    from sklearn.metrics import roc_auc_score

    set_threads(1)
    os.makedirs(CACHE, exist_ok=True)
    table = {}  # (problem, score) -> list over seeds of mean AUROC
    cpu = {}
    records = []
    as_bench = {"mae_user": "ae", "combined": "ae_combined", "mse_user": "ae_mse"}
    for name in args.problems:
        prob = load_problem(name)
        classes = np.unique(prob["y_train"])
        for seed in args.seeds:
            aucs = {}
            for c in classes:
                lab = (prob["y_test"] != c).astype(int)
                path = _path(name, c, seed)
                if not os.path.exists(path):
                    if not args.fit:
                        aucs = None
                        break
                    d = fit_one(prob, c, seed)
                    np.savez(path, **d)
                    print(
                        f"  fit {name} class {c} seed {seed}: {d['cpu']:.1f} s cpu",
                        flush=True,
                    )
                d = dict(np.load(path))
                cpu.setdefault(name, []).append(float(d["cpu"]))
                sc = scores(d)
                if seed == args.seeds[0]:
                    sc |= anchors(prob, c)
                for k, s in sc.items():
                    s = np.nan_to_num(np.asarray(s, np.float64), nan=np.inf)
                    aucs.setdefault(k, []).append(float(roc_auc_score(lab, s)))
            if aucs is None:
                continue
            for k, v in aucs.items():
                table.setdefault((name, k), []).append(float(np.mean(v)))
                who = as_bench.get(k, k if k in ("pca", "nn") else None)
                if who is not None:
                    own = who.startswith("ae")
                    fit_cpu = cpu[name][-len(classes) :] if own else [0]
                    records.append(
                        dict(
                            problem=name,
                            shape=prob["shape"],
                            task="anom",
                            who=who,
                            seed=seed,
                            value=float(np.mean(v)),
                            wall=float("nan"),
                            cpu=float(np.mean(fit_cpu)),
                        )
                    )
    names = list(dict.fromkeys(n for n, _ in table))
    keys = list(dict.fromkeys(k for _, k in table))
    if args.scores:
        keys = [k for k in keys if k in args.scores or k in ("pca", "nn")]
    print("| score | " + " | ".join(n[:8] for n in names) + " | dev | held | wins |")
    for k in keys:
        vals = {n: np.mean(table[(n, k)]) for n in names if (n, k) in table}
        dev = [vals[n] for n in names if n in DEV and n in vals]
        held = [vals[n] for n in names if n in HELD_OUT and n in vals]
        wins = sum(
            vals[n] >= max(np.mean(table[(n, "pca")]), np.mean(table[(n, "nn")]))
            for n in vals
        )
        print(
            f"| {k} | "
            + " | ".join(f"{vals[n]:.3f}" if n in vals else "-" for n in names)
            + f" | {np.mean(dev) if dev else float('nan'):.3f}"
            + f" | {np.mean(held) if held else float('nan'):.3f} | {wins} |"
        )
    print("cpu per fit:", {n: round(float(np.mean(v)), 1) for n, v in cpu.items()})
    if args.json:
        import json

        with open(args.json, "w") as f:
            json.dump({"machine": "exp_anomaly_class.py", "records": records}, f)


if __name__ == "__main__":
    main()
