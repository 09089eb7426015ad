"""Research loop for the autoencoder's design and training recipe (not a benchmark).

Trains ``sksequence.nn.SequenceAutoencoder`` with a plain torch loop that does what the
estimator is to do: per-feature input standardisation fitted on the training data
(inside the module), AdamW, gradient clipping at 1.0, shuffled mini-batches, a
learning-rate schedule over a budget counted in optimizer updates. Then measures

- ``acc_code``: test accuracy of StandardScaler + LogisticRegression(max_iter=2000) on
  ``encode`` (the transform's output);
- ``acc_pooled``: the same on the pooled encoder features before the bottleneck;
- anomaly AUROCs (``--anom``): for each class, a model fitted on that class's training
  series, several scores of the test series.

Every run appends one JSON line per (config, problem, seed) to ``--out``.

Usage::

    PYTHONPATH=. benchmarks/.venv/bin/python benchmarks/exp_autoencoder.py \\
        --config conv --set n_components=16 updates=1000 --problems OSULeaf \\
        --out benchmarks/out/exp/screen.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ucr_data import DEV, load_problem  # noqa: E402

from sksequence._classifier import _auto_strides  # noqa: E402
from sksequence.nn.autoencoder import SequenceAutoencoder  # noqa: E402

# module keyword arguments and training settings; "conv_strides": "auto" resolves
# like the classifier's (stride 2 from the last block backwards until <= max_steps)
BASE = dict(
    # module
    hidden_size=64,
    num_layers=1,
    cell="lstm",
    bidirectional=False,
    n_components=None,
    objective="reconstruct",
    conditional=False,
    reverse_target=True,
    pooling="last",
    conv_channels=(),
    conv_kernel_sizes=(7, 5, 3),
    conv_strides="auto",
    conv_skip=False,
    scaling="standard",
    code_norm="none",
    decoder_stride=None,
    input_noise=0.0,
    mask_fraction=0.0,
    encoding="code",
    conv_ppv=False,
    feature_loss=0.0,
    shape_basis=0,
    # training
    max_steps=64,
    max_steps_stride4=256,
    optimizer="adamw",
    lr=3e-3,
    weight_decay=1e-2,
    batch_size=16,
    updates=1000,
    min_epochs=1,
    max_epochs=None,
    schedule="onecycle",
    pct_start=0.3,
    clip=1.0,
)
CONFIGS = {
    "classic": dict(),
    "conv": dict(
        conv_channels=(64, 64, 64),
        bidirectional=True,
        pooling="mean_max",
        conv_skip=True,
    ),
}
READOUTS = False
# the recipe under test (bench_autoencoder_real.py --proto); updated as research goes
RECIPE = dict(
    n_components=16,
    encoding="pooled",
    code_norm="batch",
    conv_ppv=True,
    max_steps_stride4=128,
    shape_basis=32,
    feature_loss=3.0,
)
MODULE_KEYS = {
    "feature_loss",
    "shape_basis",
    "encoding",
    "conv_ppv",
    "hidden_size",
    "num_layers",
    "cell",
    "bidirectional",
    "n_components",
    "objective",
    "conditional",
    "reverse_target",
    "pooling",
    "conv_channels",
    "conv_kernel_sizes",
    "conv_strides",
    "conv_skip",
    "scaling",
    "code_norm",
    "decoder_stride",
    "input_noise",
    "mask_fraction",
}


def parse_value(v: str):
    try:
        return json.loads(v)
    except json.JSONDecodeError:
        return v


def to_tensors(X):
    """(n, T, F) array or list of (T_i, F) -> padded float tensor, lengths or None."""
    if isinstance(X, list):
        lengths = torch.tensor([len(x) for x in X])
        out = torch.zeros(len(X), int(lengths.max()), X[0].shape[1])
        for i, x in enumerate(X):
            out[i, : len(x)] = torch.as_tensor(x)
        return out, lengths
    return torch.as_tensor(np.asarray(X, dtype=np.float32)), None


def build(cfg: dict, n_features: int, n_timesteps: int) -> SequenceAutoencoder:
    kw = {k: cfg[k] for k in MODULE_KEYS}
    channels = tuple(kw["conv_channels"] or ())
    kernels = tuple(kw["conv_kernel_sizes"])[: len(channels)]
    if kw["conv_strides"] == "auto":
        strides = _auto_strides(
            n_timesteps, kernels, cfg["max_steps"], cfg["max_steps_stride4"]
        )
    else:
        strides = tuple(kw["conv_strides"])
    if not channels:
        kernels, strides = (), ()
    kw.update(conv_channels=channels, conv_kernel_sizes=kernels, conv_strides=strides)
    return SequenceAutoencoder(n_features, **kw)


def n_updates(cfg: dict, n: int) -> tuple[int, int]:
    """(epochs, updates) of a fit on n sequences."""
    spe = math.ceil(n / cfg["batch_size"])
    epochs = max(cfg["min_epochs"], math.ceil(cfg["updates"] / spe))
    if cfg["max_epochs"]:
        epochs = min(epochs, cfg["max_epochs"])
    return epochs, epochs * spe


def train(cfg: dict, X, seed: int, log_every: int = 0):
    """Fit a module on X; returns (module, info)."""
    torch.manual_seed(seed)
    x, lengths = to_tensors(X)
    n = len(x)
    model = build(cfg, x.shape[2], x.shape[1])
    if cfg["scaling"] == "standard":
        model.fit_scaling(x, lengths)
    opt_cls = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam}[cfg["optimizer"]]
    opt = opt_cls(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    epochs, total = n_updates(cfg, n)
    if cfg["schedule"] == "onecycle":
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg["lr"], total_steps=total, pct_start=cfg["pct_start"]
        )
    elif cfg["schedule"] == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    else:
        sched = None
    gen = torch.Generator().manual_seed(seed)
    bs = cfg["batch_size"]
    if cfg["updates"] == 0:  # untrained reference: batch-norm statistics only
        model.train()
        with torch.no_grad():
            for _ in range(20):
                model(x, lengths)
        return model, dict(
            epochs=0, updates=0, fit_cpu=0.0, loss_first=None, loss_final=None, curve=[]
        )
    curve = []
    model.train()
    step = 0
    t0 = time.process_time()
    for epoch in range(epochs):
        perm = torch.randperm(n, generator=gen)
        ep_loss, ep_n = 0.0, 0
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            batch = {"x": x[idx]}
            if lengths is not None:
                batch["lengths"] = lengths[idx]
            if cfg["objective"] != "reconstruct":
                batch = split_future(batch)
            opt.zero_grad(set_to_none=True)
            loss = model.loss(model(**batch), **batch)
            loss.backward()
            if cfg["clip"]:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
            opt.step()
            if sched is not None:
                sched.step()
            step += 1
            ep_loss += float(loss.detach()) * len(idx)
            ep_n += len(idx)
        curve.append(ep_loss / ep_n)
        if log_every and (epoch % log_every == 0 or epoch == epochs - 1):
            print(f"    epoch {epoch} step {step} loss {curve[-1]:.4f}", flush=True)
    info = dict(
        epochs=epochs,
        updates=step,
        fit_cpu=time.process_time() - t0,
        loss_first=curve[0],
        loss_final=curve[-1],
        curve=[curve[int(round(f * (len(curve) - 1)))] for f in np.linspace(0, 1, 11)],
    )
    return model, info


def split_future(batch):
    """Last half of each sequence as the future (equal-length batches only)."""
    x = batch["x"]
    half = x.shape[1] // 2
    return {"x": x[:, :half], "future": x[:, half:]}


@torch.no_grad()
def encodings(model, X, chunk: int = 256):
    """(code, pooled) features of X, in batches."""
    model.eval()
    x, lengths = to_tensors(X)
    codes, pooled = [], []
    for i in range(0, len(x), chunk):
        xb = x[i : i + chunk]
        lb = None if lengths is None else lengths[i : i + chunk]
        if lb is not None:
            xb = xb[:, : int(lb.max())]
        xs = model.scale(xb, lb)
        f = model.features(xs, lb)
        pooled.append(f)
        codes.append(model.norm(model.bottleneck(f)))
    return torch.cat(codes).numpy(), torch.cat(pooled).numpy()


@torch.no_grad()
def step_errors(model, X, chunk: int = 256):
    """Per-step squared errors (list of (T_i,) arrays)."""
    model.eval()
    x, lengths = to_tensors(X)
    out = []
    for i in range(0, len(x), chunk):
        xb = x[i : i + chunk]
        lb = None if lengths is None else lengths[i : i + chunk]
        e = model.step_errors(xb, lb).numpy()
        for j in range(len(e)):
            out.append(e[j] if lb is None else e[j, : int(lb[j])])
    return out


@torch.no_grad()
def readouts(model, X, chunk: int = 256) -> dict:
    """Candidate feature vectors read from a trained model (research only)."""
    import torch.nn.functional as F

    from sksequence.nn.functional import length_mask
    from sksequence.nn.pooling import masked_max, masked_mean

    def halves(h, lens):
        """mean and max over each half of the valid steps: (N, 4H)."""
        n, steps = h.shape[0], h.shape[1]
        lens = torch.full((n,), steps) if lens is None else lens
        t = torch.arange(steps)[None, :]
        out = []
        for lo, hi in ((0, 0.5), (0.5, 1.0)):
            m = (t >= (lens[:, None] * lo).floor()) & (t < (lens[:, None] * hi).ceil())
            m = m & (t < lens[:, None])
            mf = m[:, :, None].to(h.dtype)
            out.append((h * mf).sum(1) / mf.sum(1).clamp(min=1))
            out.append(h.masked_fill(~m[:, :, None], float("-inf")).amax(1))
        return torch.cat(out, -1)

    model.eval()
    x, lengths = to_tensors(X)
    parts: dict = {}
    for i in range(0, len(x), chunk):
        xb = x[i : i + chunk]
        lb = None if lengths is None else lengths[i : i + chunk]
        if lb is not None:
            xb = xb[:, : int(lb.max())]
        h = model.scale(xb, lb).transpose(1, 2)  # (N, F, L)
        lens = lb
        r: dict = {}
        front = model.front
        for b, (conv, norm, k, s) in enumerate(
            zip(front.convs, front.norms, front.kernel_sizes, front.strides)
        ):
            from sksequence.nn.conv import conv_output_lengths

            h = conv(h)
            mask = None
            if lens is not None:
                lens = conv_output_lengths(lens, k, s)
                mask = length_mask(lens, h.shape[-1])
            pre = norm(h, mask)
            h = F.relu(pre)
            if mask is not None:
                h = h * mask[:, None, :]
            hb = h.transpose(1, 2)  # (N, L_b, C)
            pos = (pre > 0).to(h.dtype).transpose(1, 2)
            r[f"c{b}_mm"] = torch.cat([masked_mean(hb, lens), masked_max(hb, lens)], -1)
            r[f"c{b}_ppv"] = masked_mean(pos, lens)
        last_lens = lens
        out, (h_n, _) = model.encoder(hb, last_lens, cell_state=False)
        r["lstm_mm"] = torch.cat(
            [masked_mean(out, last_lens), masked_max(out, last_lens)], -1
        )
        r["lstm_last"] = model.encoder.final_hidden(h_n)
        r["lstm_pyr"] = halves(out, last_lens)
        r["clast_pyr"] = halves(hb, last_lens)
        f = model.features(model.scale(xb, lb), lb)
        r["pooled"] = f
        r["code"] = model.norm(model.bottleneck(f))
        for k, v in r.items():
            parts.setdefault(k, []).append(v)
    r = {k: torch.cat(v).numpy() for k, v in parts.items()}
    nb = len(model.front.convs)
    cat = np.concatenate
    return {
        "code": r["code"],
        "pooled": r["pooled"],
        "lstm_mm": r["lstm_mm"],
        "conv_last_mm": r[f"c{nb - 1}_mm"],
        "conv_all_mm": cat([r[f"c{b}_mm"] for b in range(nb)], 1),
        "conv_all_ppv": cat([r[f"c{b}_ppv"] for b in range(nb)], 1),
        "pooled+ppv": cat([r["pooled"]] + [r[f"c{b}_ppv"] for b in range(nb)], 1),
        "pooled+last": cat([r["pooled"], r["lstm_last"]], 1),
        "pyr": cat([r["lstm_pyr"], r["clast_pyr"]], 1),
        "pooled+pyr": cat([r["pooled"], r["lstm_pyr"], r["clast_pyr"]], 1),
    }


def linear_acc(Ftr, ytr, Fte, yte) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        pipe.fit(Ftr, ytr)
        return float(np.mean(pipe.predict(Fte) == yte))


def anomaly_scores(model, Xtr_normal, Xte) -> dict:
    """Several anomaly scores of the test series (higher = more anomalous)."""
    errs = step_errors(model, Xte)
    # per-step error profile of the training series (EncDec-AD style normalisation)
    tr_errs = step_errors(model, Xtr_normal)
    longest = max(len(e) for e in tr_errs + errs)
    acc = np.zeros(longest)
    acc2 = np.zeros(longest)
    cnt = np.zeros(longest)
    for e in tr_errs:
        acc[: len(e)] += e
        acc2[: len(e)] += e**2
        cnt[: len(e)] += 1
    g_mu = np.concatenate(tr_errs).mean()
    g_sd = np.concatenate(tr_errs).std() + 1e-8
    mu = np.where(cnt > 0, acc / np.maximum(cnt, 1), g_mu)
    sd = np.where(
        cnt > 1, np.sqrt(np.maximum(acc2 / np.maximum(cnt, 1) - mu**2, 0)), g_sd
    )
    sd = np.maximum(sd, 0.1 * g_sd)
    scores = {
        "mse_z": np.array(
            [(((e - mu[: len(e)]) / sd[: len(e)]) ** 2).mean() for e in errs]
        ),
        "mse_rel": np.array([(e / (mu[: len(e)] + 0.1 * g_mu)).mean() for e in errs]),
        "mse_gz": np.array([((e - g_mu) / g_sd).clip(min=0).mean() for e in errs]),
        "mse": np.array([e.mean() for e in errs]),
        "rmse_max10": np.array(
            [
                np.sqrt(
                    np.convolve(e, np.ones(w) / w, mode="valid").max()
                    if (w := max(1, len(e) // 10)) <= len(e)
                    else e.mean()
                )
                for e in errs
            ]
        ),
        "q90": np.array([np.quantile(e, 0.9) for e in errs]),
    }
    ctr, ptr = encodings(model, Xtr_normal)
    cte, pte = encodings(model, Xte)
    loo = {}
    for name, a, b in (("knn_code", ctr, cte), ("knn_pooled", ptr, pte)):
        f_mu, f_sd = a.mean(0), a.std(0) + 1e-6
        a, b = (a - f_mu) / f_sd, (b - f_mu) / f_sd
        d = (b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]
        scores[name] = d.min(1)
        daa = (a**2).sum(1)[:, None] - 2 * a @ a.T + (a**2).sum(1)[None, :]
        np.fill_diagonal(daa, np.inf)
        loo[name] = daa.min(1) if len(a) > 1 else np.zeros(1)
    # combinations, each part z-scored by its values on the training series
    rel_tr = np.array([(e / (mu[: len(e)] + 0.1 * g_mu)).mean() for e in tr_errs])
    mse_tr = np.array([e.mean() for e in tr_errs])

    def z(test, train):
        return (test - train.mean()) / (train.std() + 1e-8)

    def lz(test, train):  # on log scale (errors and distances are skewed)
        return z(
            np.log(np.maximum(test, 0) + 1e-6), np.log(np.maximum(train, 0) + 1e-6)
        )

    scores["combo_rel_knn"] = lz(scores["mse_rel"], rel_tr) + lz(
        scores["knn_pooled"], loo["knn_pooled"]
    )
    scores["combo_mse_knn"] = lz(scores["mse"], mse_tr) + lz(
        scores["knn_pooled"], loo["knn_pooled"]
    )
    return scores


def run_repr(cfg, prob, seed):
    model, info = train(cfg, prob["X_train"], seed)
    ctr, ptr = encodings(model, prob["X_train"])
    cte, pte = encodings(model, prob["X_test"])
    info["acc_code"] = linear_acc(ctr, prob["y_train"], cte, prob["y_test"])
    info["acc_pooled"] = linear_acc(ptr, prob["y_train"], pte, prob["y_test"])
    # reference: 16 principal components of the standardised pooled features
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(ptr)
    pca = PCA(min(16, len(ptr) - 1), random_state=0).fit(sc.transform(ptr))
    info["acc_pca_pooled"] = linear_acc(
        pca.transform(sc.transform(ptr)),
        prob["y_train"],
        pca.transform(sc.transform(pte)),
        prob["y_test"],
    )
    if READOUTS:
        rtr, rte = readouts(model, prob["X_train"]), readouts(model, prob["X_test"])
        for k in rtr:
            info["ro_" + k] = linear_acc(
                rtr[k], prob["y_train"], rte[k], prob["y_test"]
            )
    info["code_std"] = float(ctr.std(0).mean())
    info["code_dim"] = int(ctr.shape[1])
    return info


def run_anom(cfg, prob, seed, max_classes=None):
    from _ucr_data import subset
    from sklearn.metrics import roc_auc_score

    ytr, yte = prob["y_train"], prob["y_test"]
    classes = np.unique(ytr)
    if max_classes:
        classes = classes[:max_classes]
    aucs, cpus = {}, []
    for c in classes:
        normal = np.flatnonzero(ytr == c)
        lab = (yte != c).astype(int)
        model, info = train(cfg, subset(prob["X_train"], normal), seed)
        cpus.append(info["fit_cpu"])
        for k, s in anomaly_scores(
            model, subset(prob["X_train"], normal), prob["X_test"]
        ).items():
            aucs.setdefault(k, []).append(float(roc_auc_score(lab, s)))
        # the anchors on the same classes
        Etr = prob["E_train"][normal].reshape(len(normal), -1)
        Ete = prob["E_test"].reshape(len(prob["E_test"]), -1)
        from sklearn.decomposition import PCA

        pca = PCA(min(16, len(normal) - 1)).fit(Etr)
        rec = pca.inverse_transform(pca.transform(Ete))
        d = (Ete**2).sum(1)[:, None] - 2 * Ete @ Etr.T + (Etr**2).sum(1)[None, :]
        for k, sc in (("pca", ((Ete - rec) ** 2).mean(1)), ("nn", d.min(1))):
            aucs.setdefault(k, []).append(float(roc_auc_score(lab, sc)))
    return {"auc_" + k: float(np.mean(v)) for k, v in aucs.items()} | {
        "anom_fit_cpu": float(np.mean(cpus)),
        "anom_classes": len(classes),
    }


def table(paths, metrics, problems=None) -> None:
    """Print one row per run name: each metric per problem and its mean."""
    recs = []
    for path in paths:
        with open(path) as f:
            recs += [json.loads(line) for line in f if line.strip()]
    probs = problems or list(dict.fromkeys(r["problem"] for r in recs))
    names = list(dict.fromkeys(r["name"] for r in recs))
    for metric in metrics:
        print(f"\n{metric}\n")
        print("| run | " + " | ".join(p[:10] for p in probs) + " | mean | fit s |")
        print("|---" * (len(probs) + 3) + "|")
        for name in names:
            vals, fits = [], []
            for p in probs:
                rs = [
                    r[metric]
                    for r in recs
                    if r["name"] == name
                    and r["problem"] == p
                    and r.get(metric) is not None
                ]
                fits += [
                    r.get("fit_cpu") or r.get("anom_fit_cpu") or 0
                    for r in recs
                    if r["name"] == name and r["problem"] == p
                ]
                vals.append(float(np.mean(rs)) if rs else None)
            if all(v is None for v in vals):
                continue
            done = [v for v in vals if v is not None]
            mean = f"{np.mean(done):.3f}" + ("" if len(done) == len(vals) else "*")
            print(
                f"| {name} | "
                + " | ".join("-" if v is None else f"{v:.3f}" for v in vals)
                + f" | {mean} | {np.mean(fits):.0f} |"
            )


class Prototype(TransformerMixin, BaseEstimator):
    """What the estimator is to do, outside the package: a scikit-learn style
    transformer over :func:`train` (for ``bench_autoencoder_real.py --proto``).

    ``n_components=None`` returns the pooled encoder features (``encoding="pooled"``
    with the recipe's internal bottleneck); an int returns that bottleneck's code.
    """

    def __init__(self, n_components=None, random_state=0, **overrides):
        self.n_components = n_components
        self.random_state = random_state
        self.overrides = overrides

    def get_params(self, deep=True):
        return dict(
            n_components=self.n_components,
            random_state=self.random_state,
            **self.overrides,
        )

    def set_params(self, **params):
        for k, v in params.items():
            if k in ("n_components", "random_state"):
                setattr(self, k, v)
            else:
                self.overrides[k] = v
        return self

    def _cfg(self):
        cfg = dict(BASE) | CONFIGS["conv"] | RECIPE | self.overrides
        if self.n_components is not None:
            cfg |= dict(n_components=self.n_components, encoding="code")
        return cfg

    def fit(self, X, y=None):
        self.cfg_ = self._cfg()
        self.model_, self.info_ = train(self.cfg_, X, self.random_state)
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    @torch.no_grad()
    def transform(self, X):
        self.model_.eval()
        x, lengths = to_tensors(X)
        out = []
        for i in range(0, len(x), 256):
            lb = None if lengths is None else lengths[i : i + 256]
            out.append(self.model_.encode(x[i : i + 256], lb))
        return torch.cat(out).numpy()

    @torch.no_grad()
    def inverse_transform(self, Z, n_timesteps):
        self.model_.eval()
        z = torch.as_tensor(np.asarray(Z, dtype=np.float32))
        out = [
            self.model_.reconstruct(z[i : i + 256], n_timesteps)
            for i in range(0, len(z), 256)
        ]
        return torch.cat(out).numpy()

    def score_samples(self, X):
        """Negative mean squared reconstruction error per sequence (standardised
        units)."""
        return -np.array([e.mean() for e in step_errors(self.model_, X)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", nargs="+", default=None, metavar="JSONL")
    parser.add_argument("--metrics", nargs="+", default=["acc_code", "acc_pooled"])
    parser.add_argument("--config", default="conv", choices=sorted(CONFIGS))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--name", default=None, help="label of this run")
    parser.add_argument("--problems", nargs="+", default=DEV)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--anom", action="store_true", help="anomaly protocol too")
    parser.add_argument("--no-repr", action="store_true")
    parser.add_argument("--anom-classes", type=int, default=None)
    parser.add_argument("--out", default="benchmarks/out/exp/runs.jsonl")
    parser.add_argument("--log-every", type=int, default=0)
    parser.add_argument("--readouts", action="store_true")
    args = parser.parse_args(argv)
    if args.table:
        table(args.table, args.metrics, None if args.problems == DEV else args.problems)
        return
    torch.set_num_threads(1)
    global READOUTS
    READOUTS = args.readouts
    cfg = dict(BASE) | CONFIGS[args.config]
    for kv in args.set:
        k, v = kv.split("=", 1)
        if k not in cfg:
            raise SystemExit(f"unknown key {k!r}")
        cfg[k] = parse_value(v)
    name = args.name or args.config + "".join(f" {kv}" for kv in args.set)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    for pname in args.problems:
        prob = load_problem(pname)
        for seed in args.seeds:
            rec = dict(name=name, problem=pname, seed=seed, cfg=cfg)
            if not args.no_repr:
                rec |= run_repr(cfg, prob, seed)
            if args.anom:
                rec |= run_anom(cfg, prob, seed, args.anom_classes)
            with open(args.out, "a") as f:
                f.write(json.dumps(rec) + "\n")
            show = {
                k: (round(v, 3) if isinstance(v, float) else v)
                for k, v in rec.items()
                if k.startswith(("acc", "auc", "fit", "anom_fit", "loss", "code"))
            }
            print(f"{name} | {pname} s{seed} | {show}", flush=True)


if __name__ == "__main__":
    main()
