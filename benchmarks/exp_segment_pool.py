"""Research screen: positional summaries added to the default features.

Every block of the default features is pooled over the whole sequence (means,
maxima, shares of steps above thresholds): they say what happens, not when.
On small aligned problems (ItalyPowerDemand: 24 hourly values; Coffee: spectra)
where the raw values at given positions separate the classes, PCA(16) of the
raw series is level with or ahead of them. This screen fits the default model
once per problem and scores, with the benchmark's pipeline (StandardScaler +
LogisticRegression, test accuracy), the default features with each of these
blocks appended (every one read from the same fitted encoder, no training
change; each sequence's valid steps cut into ``k`` equal segments):

- ``lstmK``: the mean of the bidirectional LSTM's outputs over each of K
  segments (K x 128 values);
- ``convK``: the mean of the last convolutional block's outputs (after the
  ReLU) over each of K segments (K x 64);
- ``ppvK``: the share of positive values of the last block over each segment;
- ``all``: the default features alone.

``--json`` appends one record per (problem, seed); ``--params`` sets estimator
parameters (JSON) for a run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit  # noqa: E402
from _ucr_data import load_problem  # noqa: E402
from exp_components import score  # noqa: E402


def segment_means(h, lengths, k):
    """(N, L, C) -> (N, k * C): the mean over each of k equal parts of the valid
    steps (a segment of a sequence shorter than k steps: its nearest step)."""
    n, steps, _ = h.shape
    lens = (
        torch.full((n,), steps) if lengths is None else lengths.clamp(min=1, max=steps)
    )
    t = torch.arange(steps)[None, :].double()  # (1, L)
    seg = torch.floor(t * k / lens[:, None].double()).long()  # (N, L)
    valid = t < lens[:, None]
    out = []
    for j in range(k):
        w = ((seg == j) & valid).to(h.dtype)  # (N, L)
        cnt = w.sum(1, keepdim=True)
        # empty segment (length < k): the step the segment's centre falls on
        centre = ((j + 0.5) * lens / k).long().clamp(max=steps - 1)
        fallback = torch.nn.functional.one_hot(centre, steps).to(h.dtype)
        w = torch.where(cnt > 0, w / cnt.clamp(min=1), fallback)
        out.append(torch.einsum("nl,nlc->nc", w, h))
    return torch.cat(out, dim=-1)


@torch.no_grad()
def blocks(est, X, ks=(2, 4, 8)):
    from exp_anomaly_memory import _tensors

    m = est.net_.module_.eval()
    x, lengths = _tensors(est, X)
    out = {}
    parts = {f"{name}{k}": [] for k in ks for name in ("lstm", "conv", "ppv")}
    for i in range(0, len(x), 256):
        xb = x[i : i + 256]
        lb = None if lengths is None else lengths[i : i + 256]
        xs = m.scale(xb, lb)
        h, lh, _ = m.front(xs, lb, return_blocks=True)
        outputs, _ = m.encoder(h, lh, cell_state=False)
        for k in ks:
            parts[f"lstm{k}"].append(segment_means(outputs, lh, k))
            parts[f"conv{k}"].append(segment_means(h, lh, k))
            parts[f"ppv{k}"].append(segment_means((h > 0).to(h.dtype), lh, k))
    for key, v in parts.items():
        out[key] = torch.cat(v).numpy()
    return out


def run(name, seed, params=None):
    from sksequence import LSTMAutoencoderTransformer

    prob = load_problem(name)
    torch.set_num_threads(1)
    est = LSTMAutoencoderTransformer(random_state=seed, **(params or {}))
    c0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ftr = est.fit_transform(prob["X_train"])
    fte = est.transform(prob["X_test"])
    cpu = time.process_time() - c0
    btr, bte = blocks(est, prob["X_train"]), blocks(est, prob["X_test"])
    ytr, yte = prob["y_train"], prob["y_test"]
    rec = {"problem": name, "seed": seed, "cpu": cpu}
    rec["all"] = score(ftr, fte, ytr, yte)
    for key in btr:
        rec[key] = score(
            np.hstack([ftr, btr[key]]), np.hstack([fte, bte[key]]), ytr, yte
        )
    rec["lstm4_conv4"] = score(
        np.hstack([ftr, btr["lstm4"], btr["conv4"]]),
        np.hstack([fte, bte["lstm4"], bte["conv4"]]),
        ytr,
        yte,
    )
    return rec


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", nargs="+", required=True)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--json", default=None)
    parser.add_argument("--params", default="{}", help="estimator parameters (JSON)")
    args = parser.parse_args()
    for seed in args.seeds:
        for name in args.problems:
            rec = run(name, seed, json.loads(args.params))
            rec["params"] = json.loads(args.params)
            emit(rec, args.json)


if __name__ == "__main__":
    main()
