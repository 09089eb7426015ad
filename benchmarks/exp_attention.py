"""Research runner for issue 12, item 4: why "dot" and "concat" attention lag.

The protocol of ``bench_attention.py`` (5,000 sequences of 5 one-hot integers in
0..49 -> the first 2 then 3 zeros, batch size 1, one pass, 150 units, Adam 1e-3,
clipping 1.0, teacher forcing, cross-entropy; exact-sequence accuracy on 1,000
fresh sequences) as a plain torch loop over ``sksequence.nn.seq2seq.Seq2Seq``, with
score variants patched onto the attention module to find what holds them back.

    PYTHONPATH=. python benchmarks/exp_attention.py --variants dot dot-gain --seeds 0
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_attention import CARD, HIDDEN, N_TEST, N_TRAIN, make_data  # noqa: E402

from sksequence.nn.seq2seq import Seq2Seq  # noqa: E402


def stats_hook(model, log):
    """Record the scores' spread and the attention entropy at a few steps."""
    original = model.attn.scores

    def scores(self, query, keys):
        s = original(query, keys)
        if self.training and log.get("_n", 0) % 250 == 0:
            w = torch.softmax(s, dim=-1)
            ent = float(-(w * w.clamp_min(1e-12).log()).sum(-1).mean().detach())
            log.setdefault("trace", []).append(
                (
                    log.get("_n", 0),
                    float(s.detach().std(-1).mean()),
                    ent,
                    float(query.norm(dim=-1).mean()),
                    float(keys.norm(dim=-1).mean()),
                )
            )
        return s

    model.attn.scores = types.MethodType(scores, model.attn)


def patch(model, variant):
    attn = model.attn
    size = HIDDEN
    if variant.endswith("-gain"):  # learnable scalar multiplying the scores
        attn.gain = torch.nn.Parameter(torch.ones(()))
        base = attn.scores

        def scores(self, q, k):
            return self.gain * base(q, k)

        attn.scores = types.MethodType(scores, attn)
    elif variant.endswith("-scaled"):  # divide by sqrt(size), Vaswani
        base = attn.scores
        attn.scores = types.MethodType(
            lambda self, q, k: base(q, k) / math.sqrt(size), attn
        )
    elif variant.endswith("-cos"):  # cosine similarity with learnable temperature
        attn.log_temp = torch.nn.Parameter(torch.tensor(math.log(10.0)))

        def scores(self, q, k):
            qn = torch.nn.functional.normalize(q, dim=-1)
            kn = torch.nn.functional.normalize(k, dim=-1)
            return self.log_temp.exp() * (qn @ kn.transpose(1, 2))

        attn.scores = types.MethodType(scores, attn)
    elif variant.endswith("-cosfix"):  # cosine similarity times sqrt(size), fixed

        def scores(self, q, k):
            qn = torch.nn.functional.normalize(q, dim=-1)
            kn = torch.nn.functional.normalize(k, dim=-1)
            return math.sqrt(size) * (qn @ kn.transpose(1, 2))

        attn.scores = types.MethodType(scores, attn)
    elif variant.endswith("-ln"):  # standardise query and key (now the default)
        pass
    elif variant.endswith("-lnold"):  # standardise query and key entries first
        base = attn.scores
        norm = torch.nn.functional.layer_norm

        def scores(self, q, k):
            qn, kn = norm(q, q.shape[-1:]), norm(k, k.shape[-1:])
            s = base(qn, kn)
            return s / math.sqrt(size) if self.score == "dot" else s

        attn.scores = types.MethodType(scores, attn)
    elif variant.endswith("-raw"):  # Luong's formulas on the raw states (before)

        def scores(self, q, k):
            if self.score == "dot":
                return q @ k.transpose(1, 2)
            qq = self.w_query(q)[:, :, None, :]
            kk = self.w_key(k)[:, None, :, :]
            return self.v(torch.tanh(qq + kk)).squeeze(-1)

        attn.scores = types.MethodType(scores, attn)
    elif variant.endswith("-vzero"):
        torch.nn.init.zeros_(attn.v.weight)
    elif variant.endswith("-vbig"):
        torch.nn.init.normal_(attn.v.weight, std=1.0)
    elif variant.endswith("-noctx"):
        pass
    elif "-" in variant:
        raise ValueError(variant)


def run(variant, seed, lr=1e-3, trace=False, n_train=N_TRAIN):
    kind = variant.split("-")[0]
    X, y = make_data(n_train, seed=seed)
    X_test, y_test = make_data(N_TEST, seed=10_000 + seed)
    torch.manual_seed(seed)
    model = Seq2Seq(
        CARD, CARD, hidden_size=HIDDEN, attention=kind, categorical=True, max_length=5
    )
    patch(model, variant)
    log = {}
    if trace:
        stats_hook(model, log)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    X, y = torch.tensor(X), torch.tensor(y)
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(n_train))
    losses = []
    start = time.process_time()
    model.train()
    for i in perm:
        x, t = X[i : i + 1], y[i : i + 1]
        loss = model.loss(model(x, target=t), t)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        log["_n"] = log.get("_n", 0) + 1
    cpu = time.process_time() - start
    model.eval()
    with torch.no_grad():
        pred = model.decode(torch.tensor(X_test), n_steps=5).numpy()
    acc = float((pred == y_test).all(axis=1).mean())
    curve = np.array(losses).reshape(-1, 500).mean(axis=1)
    return {
        "variant": variant,
        "seed": seed,
        "accuracy": acc,
        "cpu_s": cpu,
        "curve": curve.round(4).tolist(),
        "trace": log.get("trace"),
    }


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", nargs="*", default=["dot"])
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--n-train", type=int, default=N_TRAIN)
    parser.add_argument("--log", default="benchmarks/out/exp_attention.jsonl")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    os.makedirs(os.path.dirname(args.log), exist_ok=True)
    for variant in args.variants:
        for seed in args.seeds:
            r = run(variant, seed, trace=args.trace, n_train=args.n_train)
            with open(args.log, "a") as fh:
                fh.write(json.dumps(r) + "\n")
            print(
                f"{variant:<16s} seed {seed}: acc {r['accuracy']:.3f} "
                f"cpu {r['cpu_s']:.0f}s curve {r['curve'][::2]}",
                flush=True,
            )
            if r["trace"]:
                for row in r["trace"]:
                    step, std, ent, q, k = row
                    print(
                        f"   step {step:5d} score-std {std:.3f} entropy {ent:.3f} "
                        f"|q| {q:.2f} |k| {k:.2f}"
                    )


if __name__ == "__main__":
    main()
