"""LSTMAutoencoderTransformer on real archive problems: features and anomaly scores.

The protocols of ``BENCHMARKS.md`` ("Quality on real data"), with the package's
defaults (only ``random_state`` and, for one row, ``n_components=16`` set). Every series
is z-normalised per channel (``_ucr_data.py``).

Representation (test accuracy of a linear model on the features):

- ``ae16``: ``make_pipeline(LSTMAutoencoderTransformer(n_components=16),
  StandardScaler(), LogisticRegression(max_iter=2000))``;
- ``ae``: the same with the default ``n_components``;
- ``pca16``: ``PCA(16)`` in the same pipeline, on the flattened equal-length copy
  (the archive's ``_eq`` copy, else zero-padded);
- ``catch22``: aeon ``Catch22(replace_nans=True)`` + StandardScaler +
  LogisticRegression;
- ``minirocket``: aeon ``MiniRocket`` + ``StandardScaler(with_mean=False)`` +
  ``RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))`` (aeon's MiniRocketClassifier
  pipeline), on the equal-length copy;
- ``minirocket16`` (context for ``ae16``, not an anchor of the issue): 16 values
  from MiniRocket's features as ``ae16`` gets them from the default features,
  ``MiniRocket`` + StandardScaler + ``PCA(16, whiten=True)`` + StandardScaler +
  LogisticRegression, on the equal-length copy.

Anomaly scores (for each class: fit on the training series of that class, score the
test series, AUROC of "another class"; mean over the classes):

- ``ae``: ``-LSTMAutoencoderTransformer().fit(normal).score_samples(test)`` (the
  default ``anomaly_score="reconstruction"``: mean absolute reconstruction error);
- ``ae_combined``: the same model scored with ``anomaly_score="combined"``
  (reconstruction error and distance to the nearest training sequence's pooled
  features). ``ae`` and ``ae_combined`` come from ONE fit per class (the option
  changes no weight; fit with "combined" only also keeps the training sequences'
  features, so the fit time is that of the "combined" fit);
- ``pca``: PCA reconstruction error, ``PCA(min(16, n_normal - 1))`` on the flattened
  equal-length copy;
- ``nn``: Euclidean distance to the nearest normal training series (equal-length
  copy).

Fit time: CPU seconds (``time.process_time``) of one fit with one torch thread (the
anomaly figure is the mean over the per-class fits).

Usage (benchmark environment, repository root)::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/bench_autoencoder_real.py \\
        --seeds 0 1 2 --json benchmarks/out/ae_real.json
    ... --problems GunPoint --only ae16 pca16 --tasks repr
    ... --table-from benchmarks/out/ae_real.json benchmarks/out/ae_anchors.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import machine_line, set_threads  # noqa: E402
from _ucr_data import DEV, HELD_OUT, UNSEEN, load_problem, subset  # noqa: E402

REPR = ["ae16", "ae", "pca16", "catch22", "minirocket", "minirocket16"]
ANOM = ["ae", "ae_combined", "pca", "nn"]
DETERMINISTIC = {
    ("repr", "pca16"),
    ("repr", "catch22"),
    ("anom", "pca"),
    ("anom", "nn"),
}


class Timer:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


SHARED_FIT = False  # --shared-fit: "ae" read from the "ae16" fit (see run_repr)
PROTO = False  # --proto: the research prototype of the recipe (exp_autoencoder.py)


PARAMS: dict = {}  # --params


def make_ae(seed, n_components=None, **kw):
    kw = {**PARAMS, **kw}
    if PROTO:
        from exp_autoencoder import Prototype

        return Prototype(n_components=n_components, random_state=seed, **kw)
    from sksequence import LSTMAutoencoderTransformer

    return LSTMAutoencoderTransformer(
        n_components=n_components, random_state=seed, **kw
    )


def _lr():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)


def f64(X):
    """aeon's numba code wants float64."""
    if isinstance(X, list):
        return [np.asarray(x, dtype=np.float64) for x in X]
    return np.asarray(X, dtype=np.float64)


def flat(E):
    return E.reshape(len(E), -1)


def run_repr(who, prob, seed, threads):
    """Test accuracy and fit timer of one representation contender."""
    import torch
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    torch.set_num_threads(threads)  # aeon's numba code may change the OpenMP pool
    ytr, yte = prob["y_train"], prob["y_test"]
    if who in ("ae16", "ae"):
        est = make_ae(seed, 16 if who == "ae16" else None)
        pipe = make_pipeline(est, StandardScaler(), _lr())
        Xtr, Xte = prob["X_train"], prob["X_test"]
    elif who == "pca16":
        from sklearn.decomposition import PCA

        pipe = make_pipeline(PCA(16, random_state=seed), StandardScaler(), _lr())
        Xtr, Xte = flat(prob["E_train"]), flat(prob["E_test"])
    elif who == "catch22":
        from aeon.transformations.collection.feature_based import Catch22

        pipe = make_pipeline(Catch22(replace_nans=True), StandardScaler(), _lr())
        Xtr, Xte = f64(prob["A_train"]), f64(prob["A_test"])
    elif who == "minirocket":
        from aeon.transformations.collection.convolution_based import MiniRocket
        from sklearn.linear_model import RidgeClassifierCV

        pipe = make_pipeline(
            MiniRocket(random_state=seed),
            StandardScaler(with_mean=False),
            RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)),
        )
        Xtr, Xte = f64(prob["E_train"]), f64(prob["E_test"])
    elif who == "minirocket16":
        from aeon.transformations.collection.convolution_based import MiniRocket
        from sklearn.decomposition import PCA

        pipe = make_pipeline(
            MiniRocket(random_state=seed),
            StandardScaler(),
            PCA(16, whiten=True, random_state=seed),
            StandardScaler(),
            _lr(),
        )
        Xtr, Xte = f64(prob["E_train"]), f64(prob["E_test"])
    else:
        raise ValueError(who)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Timer() as t:
            pipe.fit(Xtr, ytr)
        acc = float(np.mean(pipe.predict(Xte) == yte))
        if who == "ae16" and SHARED_FIT:
            # the default (n_components=None) trains exactly this module
            # (n_components=16 only adds the principal components of its default
            # features after training): read its transform from this fit
            est = pipe[0]
            module = est.net_.module_
            module.encoding = "pooled"
            est.n_components_ = module.principal_mean.numel()
            ae = make_pipeline(StandardScaler(), _lr())
            ae.fit(est.transform(Xtr), ytr)
            t.pooled_acc = float(np.mean(ae.predict(est.transform(Xte)) == yte))
    return acc, t


_SAME_FIT: dict = {}  # (problem, seed) -> {who: (AUROC, timer)} of ae / ae_combined


def run_anom(who, prob, seed, threads):
    """Mean AUROC over the classes taken as normal, and the mean fit times."""
    if who in ("ae", "ae_combined"):
        key = (prob["name"], seed)
        if key not in _SAME_FIT:
            _SAME_FIT[key] = _run_anom_ae(prob, seed, threads)
        return _SAME_FIT[key][who]
    return _run_anom(who, prob, seed, threads)


def _normal_classes(prob):
    """For every class taken as the normal one: the indices of its training series
    and the test labels "another class" (classes whose test set is all one kind are
    left out)."""
    for c in np.unique(prob["y_train"]):
        normal = np.flatnonzero(prob["y_train"] == c)
        is_anomaly = (prob["y_test"] != c).astype(int)
        if is_anomaly.min() != is_anomaly.max():
            yield normal, is_anomaly


def _run_anom_ae(prob, seed, threads):
    """``ae`` and ``ae_combined`` from one fit per class."""
    import torch
    from sklearn.metrics import roc_auc_score

    torch.set_num_threads(threads)
    aucs = {"ae": [], "ae_combined": []}
    walls, cpus = [], []
    for normal, is_anomaly in _normal_classes(prob):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = make_ae(seed, anomaly_score="combined")
            with Timer() as t:
                est.fit(subset(prob["X_train"], normal))
            for who, option in (("ae_combined", "combined"), ("ae", "reconstruction")):
                est.set_params(anomaly_score=option)
                score = -est.score_samples(prob["X_test"])
                score = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=np.inf)
                aucs[who].append(float(roc_auc_score(is_anomaly, score)))
        walls.append(t.wall)
        cpus.append(t.cpu)
    t = Timer()
    t.wall, t.cpu = float(np.mean(walls)), float(np.mean(cpus))
    return {who: (float(np.mean(v)), t) for who, v in aucs.items()}


def _run_anom(who, prob, seed, threads):
    import torch
    from sklearn.metrics import roc_auc_score

    torch.set_num_threads(threads)
    aucs, walls, cpus = [], [], []
    for normal, is_anomaly in _normal_classes(prob):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if who == "pca":
                from sklearn.decomposition import PCA

                Etr, Ete = flat(prob["E_train"][normal]), flat(prob["E_test"])
                with Timer() as t:
                    pca = PCA(min(16, len(normal) - 1), random_state=seed).fit(Etr)
                rec = pca.inverse_transform(pca.transform(Ete))
                score = ((Ete - rec) ** 2).mean(axis=1)
            elif who == "nn":
                Etr, Ete = flat(prob["E_train"][normal]), flat(prob["E_test"])
                with Timer() as t:
                    pass
                d = (
                    (Ete**2).sum(1)[:, None]
                    - 2 * Ete @ Etr.T
                    + (Etr**2).sum(1)[None, :]
                )
                score = d.min(axis=1)
            else:
                raise ValueError(who)
        score = np.nan_to_num(np.asarray(score, dtype=np.float64), nan=np.inf)
        aucs.append(float(roc_auc_score(is_anomaly, score)))
        walls.append(t.wall)
        cpus.append(t.cpu)
    t = Timer()
    t.wall, t.cpu = float(np.mean(walls)), float(np.mean(cpus))
    return float(np.mean(aucs)), t


def warm_up(only) -> None:
    """Compile aeon's numba code once, outside the timings."""
    if only and not {"catch22", "minirocket", "minirocket16"} & set(only):
        return
    from aeon.transformations.collection.convolution_based import MiniRocket
    from aeon.transformations.collection.feature_based import Catch22

    X = np.random.RandomState(0).randn(10, 1, 50)
    Catch22(replace_nans=True).fit_transform(X)
    Catch22(replace_nans=True).fit_transform([x for x in X])
    MiniRocket(random_state=0).fit_transform(X)


def fmt(values, digits=3):
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return (
        f"{statistics.mean(values):.{digits}f} "
        f"({min(values):.{digits}f}-{max(values):.{digits}f})"
    )


def load_results(paths) -> list:
    """Records of result files; ``path:tag`` appends ``tag`` to the contenders'
    names of that file (e.g. ``ae_before.json:before``)."""
    records = []
    for path in paths:
        path, _, tag = path.partition(":")
        with open(path) as f:
            recs = json.load(f)["records"]
        for r in recs:
            if tag:
                r["who"] = f"{r['who']} {tag}"
        records += recs
    return records


def print_tables(records: list) -> None:
    problems = list(dict.fromkeys(r["problem"] for r in records))
    for task, title in (("repr", "test accuracy"), ("anom", "anomaly AUROC")):
        rows = [r for r in records if r["task"] == task]
        if not rows:
            continue
        order = REPR if task == "repr" else ANOM
        whos = sorted(
            dict.fromkeys(r["who"] for r in rows),
            key=lambda w: order.index(w.split()[0]) if w.split()[0] in order else 99,
        )
        print(f"\n{title} (mean (min-max) over seeds; fit: mean CPU s, 1 thread)\n")
        print(
            "| problem | "
            + " | ".join(whos)
            + " | "
            + " | ".join(f"{w} fit s" for w in whos)
            + " |"
        )
        print("|---" * (1 + 2 * len(whos)) + "|")
        means = {w: {} for w in whos}
        for p in problems:
            vals, fits = [], []
            for w in whos:
                rs = [r for r in rows if r["problem"] == p and r["who"] == w]
                vals.append(fmt([r["value"] for r in rs]))
                fits.append(
                    f"{statistics.mean(r['cpu'] for r in rs):.1f}" if rs else "-"
                )
                if rs:
                    means[w][p] = statistics.mean(r["value"] for r in rs)
            if any(v != "-" for v in vals):
                print(f"| {p} | " + " | ".join(vals + fits) + " |")
        groups = (
            ("mean dev", DEV),
            ("mean held-out", HELD_OUT),
            ("mean unseen", UNSEEN),
        )
        for label, group in groups:
            if not any(p in means[w] for w in whos for p in group):
                continue
            cells = []
            for w in whos:
                got = [means[w][p] for p in group if p in means[w]]
                cells.append(
                    f"{statistics.mean(got):.3f}"
                    + ("" if len(got) == len(group) else f" ({len(got)})")
                    if got
                    else "-"
                )
            print(f"| {label} | " + " | ".join(cells) + " |" + " |" * len(whos))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=DEV + HELD_OUT)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--tasks", nargs="+", default=["repr", "anom"])
    parser.add_argument(
        "--only", nargs="+", default=None, help="contenders (default: all)"
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="write the raw results here")
    parser.add_argument("--table-from", nargs="+", default=None, metavar="JSON")
    parser.add_argument(
        "--proto",
        action="store_true",
        help="ae/ae16: the recipe's prototype (exp_autoencoder.Prototype, a plain "
        "torch loop) instead of the estimator",
    )
    parser.add_argument(
        "--shared-fit",
        action="store_true",
        help="with ae16 and ae both asked for: one fit per seed; 'ae' is the "
        "default transform of the 'ae16' fit, which trains the default's module "
        "exactly; 'ae' fit times are then those of that fit",
    )
    parser.add_argument(
        "--params",
        default="{}",
        help="research: parameters (JSON) of every autoencoder fitted, e.g. "
        "'{\"feature_loss\": 6.0}'",
    )
    parser.add_argument(
        "--code-size",
        type=int,
        default=None,
        help="research: the size of the code the default model's decoders read "
        "(n_components=None; the estimator's is 16)",
    )
    args = parser.parse_args(argv)
    if args.code_size is not None:
        import sksequence._autoencoder as autoencoder

        autoencoder._CODE_SIZE = args.code_size
    global PROTO, SHARED_FIT, PARAMS
    PROTO = args.proto
    PARAMS = json.loads(args.params)
    SHARED_FIT = args.shared_fit and (not args.only or "ae16" in args.only)
    if args.table_from:
        print_tables(load_results(args.table_from))
        return
    warm_up(args.only)
    set_threads(args.threads)  # (after aeon's MiniRocket, which resets torch's)
    machine = machine_line()
    print(machine, flush=True)
    records = []
    for name in args.problems:
        prob = load_problem(name)
        for task in args.tasks:
            whos = REPR if task == "repr" else ANOM
            for who in whos:
                if args.only and who not in args.only:
                    continue
                if SHARED_FIT and task == "repr" and who == "ae":
                    continue  # recorded with ae16
                seeds = args.seeds[:1] if (task, who) in DETERMINISTIC else args.seeds
                for seed in seeds:
                    set_threads(args.threads)  # (MiniRocket resets torch's threads)
                    run = run_repr if task == "repr" else run_anom
                    value, t = run(who, prob, seed, args.threads)
                    rows = [(who, value)]
                    if hasattr(t, "pooled_acc"):
                        rows.append(("ae", t.pooled_acc))
                    for w, v in rows:
                        records.append(
                            dict(
                                problem=name,
                                shape=prob["shape"],
                                task=task,
                                who=w,
                                seed=seed,
                                value=v,
                                wall=t.wall,
                                cpu=t.cpu,
                                shared_fit=len(rows) > 1,
                            )
                        )
                    if len(rows) > 1:
                        print(
                            f"{name:22s} {task} ae (same fit) seed {seed}: "
                            f"{t.pooled_acc:.3f}",
                            flush=True,
                        )
                    print(
                        f"{name:22s} {task} {who:10s} seed {seed}: {value:.3f}  "
                        f"fit {t.wall:7.1f} s wall, {t.cpu:7.1f} s cpu",
                        flush=True,
                    )
                    if args.json:
                        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
                        with open(args.json, "w") as f:
                            json.dump(
                                {"machine": machine, "records": records}, f, indent=1
                            )
    print_tables(records)


if __name__ == "__main__":
    main()
