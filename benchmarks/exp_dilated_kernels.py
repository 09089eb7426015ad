"""Research screen: how the default features read the first block's kernels at
several dilations (``ppv_dilations_``, the shares above three quantiles).

Fits ``LSTMAutoencoderTransformer(random_state=seed)`` (the defaults) once per
problem and seed and keeps ``transform``'s first 1152 values (the pooled
features and the blocks' quantile shares); the dilated part is recomputed here
in variants, from the same fitted module:

- ``default``: the estimator's whole transform, as the package at hand
  computes it (at commit 694082e, where the rows of RESULTS.md were run: the
  plain kernels at dilations 1, 2, 4, ...);
- ``mine``: that former dilated part, recomputed here (the plain kernels at
  powers of 2 up to the one whose width-7 kernel spans the median training
  length, at most 256): a check of this script, it scored as ``default``;
- ``zm``: each kernel made zero-mean over its taps (per input channel) before
  it reads the series, so that it sees shape and not level (MiniRocket's
  kernels sum to zero); the differences' maps as before; ``zm_all``: the
  differences' kernels too;
- ``dense``: dilations spaced by sqrt(2) instead of 2 (1, 2, 3, 4, 6, 8, 11,
  16, ...), up to the same largest one, on both; ``zm+dense``: both changes
  (what the estimator does since); ``zm+dense_s``: the denser dilations on
  the input only;
- ``zm+raw1``, ``zm+raw``: ``zm`` plus the plain kernels' maps of the input at
  dilation 1, or at every dilation (the level back).

Thresholds: the 25/50/75% quantiles of each map's channel over the training
sequences' valid steps (at most 50,000, evenly spaced). Saves the feature sets
(``benchmarks/out/exp/dilk/<problem>_s<seed>.npz``); ``--table`` scores each
with the benchmark's linear model (StandardScaler + LogisticRegression) and
(``--ridge``) with RidgeClassifierCV, test accuracy, mean over the saved
seeds. The fitted estimators are kept next to them (``est_*.pkl``), so that a
later round of variants reads the same fits.

    PYTHONPATH=.:benchmarks OMP_NUM_THREADS=1 benchmarks/.venv/bin/python \\
        benchmarks/exp_dilated_kernels.py --seed 0 --problems OSULeaf ...
    benchmarks/.venv/bin/python benchmarks/exp_dilated_kernels.py --table
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import pickle
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import variant_means_table  # noqa: E402
from _ucr_data import DEV, HELD_OUT, UNSEEN, load_problem  # noqa: E402

from sksequence import LSTMAutoencoderTransformer  # noqa: E402
from sksequence.nn.functional import length_mask  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out", "exp", "dilk")
QS = (0.25, 0.5, 0.75)
VARIANTS = ["default", "mine", "zm", "zm_all", "dense", "zm+dense", "zm+dense_s"]
VARIANTS += ["zm+raw1", "zm+raw"]


def dense_dilations(dils):
    top = max(dils)
    out, i = [], 0
    while True:
        d = int(round(2 ** (i / 2)))
        if d > top:
            break
        if d not in out:
            out.append(d)
        i += 1
    return out


def maps(est, X, weight_series, weight_diff, dils, ddils):
    """Yield per map a list of (values at valid steps (V, C)) chunks and shares fn."""
    batch = est._inputs(X)
    arrays = batch.inputs()
    x_all = torch.as_tensor(arrays["x"])
    len_all = arrays["lengths"]
    n, steps, _ = x_all.shape
    len_all = torch.full((n,), steps) if len_all is None else torch.as_tensor(len_all)
    m = est.net_.module_.eval()
    conv = m.front.convs[0]
    k = conv.kernel_size[0]
    out = collections.defaultdict(list)  # map index -> list of (N_chunk, L, C), lens
    with torch.no_grad():
        for i in range(0, n, 32):
            lb = len_all[i : i + 32]
            xb = m.scale(x_all[i : i + 32], lb)
            valid = length_mask(lb, steps)[:, :, None]
            xb = xb * valid
            dl = (lb - 1).clamp(min=1)
            dv = length_mask(lb - 1, steps - 1)[:, :, None]
            dx = (xb[:, 1:] - xb[:, :-1]) * dv
            j = 0
            for h, lens, w, ds in (
                (xb, lb, weight_series, dils),
                (dx, dl, weight_diff, ddils),
            ):
                for d in ds:
                    y = torch.nn.functional.conv1d(
                        h.transpose(1, 2),
                        w,
                        conv.bias,
                        padding=d * (k // 2),
                        dilation=d,
                    ).transpose(1, 2)
                    out[j].append((y, lens))
                    j += 1
    return out


def shares(chunks, thresholds):
    res = []
    for y, lens in chunks:
        mask = length_mask(lens, y.shape[1])[:, :, None].float()
        per = [
            ((y > t + 1e-4).float() * mask).sum(1) / lens[:, None] for t in thresholds
        ]
        res.append(torch.cat(per, -1))
    return torch.cat(res)


def variant(est, Xtr, Xte, ws, wd, dils, ddils):
    mtr = maps(est, Xtr, ws, wd, dils, ddils)
    mte = maps(est, Xte, ws, wd, dils, ddils)
    ftr, fte = [], []
    for j in sorted(mtr):
        vals = torch.cat([y[length_mask(lens, y.shape[1])] for y, lens in mtr[j]])
        every = max(1, -(-len(vals) // 50_000))
        q = np.quantile(vals[::every].numpy(), QS, axis=0)
        th = [torch.as_tensor(r, dtype=vals.dtype) for r in q]
        ftr.append(shares(mtr[j], th))
        fte.append(shares(mte[j], th))
    return torch.cat(ftr, 1).numpy(), torch.cat(fte, 1).numpy()


def screen(problems, seed):
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for name in problems:
        p = load_problem(name)
        path = os.path.join(OUT, f"est_{name}_s{seed}.pkl")
        if os.path.exists(path):  # the same fit for a later round of variants
            with open(path, "rb") as f:
                est = pickle.load(f)
        else:
            est = LSTMAutoencoderTransformer(random_state=seed).fit(p["X_train"])
            with open(path, "wb") as f:
                pickle.dump(est, f)
        Ttr, Tte = est.transform(p["X_train"]), est.transform(p["X_test"])
        # the former defaults' dilations: powers of 2 up to the median length
        # (the estimator's own since the change these rows led to)
        steps = np.median([len(x) for x in p["X_train"]])
        top = int(np.floor(np.log2(max(1.0, (steps - 1) / 6))))
        dils = [2**e for e in range(min(top + 1, 9))]
        dense = dense_dilations(dils)
        w = est.net_.module_.front.convs[0].weight.detach()
        wz = w - w.mean(dim=2, keepdim=True)
        sets = {"default": (Ttr, Tte)}  # the estimator's transform as it is
        for v, ws, wd, ds, dds in (
            ("mine", w, w, dils, dils),
            ("zm", wz, w, dils, dils),
            ("zm_all", wz, wz, dils, dils),
            ("dense", w, w, dense, dense),
            ("zm+dense", wz, w, dense, dense),
            ("zm+dense_s", wz, w, dense, dils),
            ("raw1", w, w, dils[:1], []),
        ):
            a, b = variant(est, p["X_train"], p["X_test"], ws, wd, ds, dds)
            sets[v] = (
                np.concatenate([Ttr[:, :1152], a], 1),
                np.concatenate([Tte[:, :1152], b], 1),
            )
        n_series = 192 * len(dils)  # the input's maps come before the differences'
        for v, extra in (
            ("zm+raw1", [s[:, 1152:] for s in sets.pop("raw1")]),
            ("zm+raw", [s[:, 1152 : 1152 + n_series] for s in sets["mine"]]),
        ):
            sets[v] = tuple(
                np.concatenate([s, e], 1) for s, e in zip(sets["zm"], extra)
            )
        np.savez_compressed(
            os.path.join(OUT, f"{name}_s{seed}.npz"),
            y_train=p["y_train"],
            y_test=p["y_test"],
            **{"tr_" + k: v[0] for k, v in sets.items()},
            **{"te_" + k: v[1] for k, v in sets.items()},
        )
        print(f"{name} seed {seed}: saved (dilations {dils})", flush=True)


def table(ridge):
    from sklearn.linear_model import LogisticRegression, RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    acc = collections.defaultdict(lambda: collections.defaultdict(list))
    for path in sorted(glob.glob(os.path.join(OUT, "*.npz"))):
        d = np.load(path)
        name = os.path.basename(path)[:-4].rsplit("_s", 1)[0]
        for v in [v for v in VARIANTS if "tr_" + v in d]:
            clf = (
                RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
                if ridge
                else LogisticRegression(max_iter=2000)
            )
            model = make_pipeline(StandardScaler(), clf)
            acc[name][v].append(
                model.fit(d["tr_" + v], d["y_train"]).score(d["te_" + v], d["y_test"])
            )
    print(variant_means_table(acc, VARIANTS, DEV + HELD_OUT + UNSEEN))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", nargs="+", default=DEV + HELD_OUT + UNSEEN)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--ridge", action="store_true")
    args = parser.parse_args()
    if args.table:
        table(args.ridge)
    else:
        screen(args.problems, args.seed)


if __name__ == "__main__":
    main()
