"""W1: Seq2SeqClassifier on the integer reversal problem, fit time and accuracy.

The problem (BENCHMARKS.md, after the classic Keras encoder-decoder tutorial): a
sequence of 6 random integers in 1..50 (one-hot over 51 symbols, 0 being the
tutorial's start symbol) maps to its first 3 integers reversed. 100,000 training
sequences, one epoch, batch 32, 128 units; exact-sequence accuracy (all three steps
right) on 1,000 fresh sequences.

All contenders train the same model, ``sksequence.nn.Seq2Seq`` with the estimator's
defaults (LSTM encoder, recursive LSTM decoder started from the encoder's final states,
fed the previous label through an embedding, teacher forcing, cross-entropy, Adam lr
1e-3, global gradient-norm clipping at 1.0 every step):

- ``hand-written``: a plain PyTorch loop (randperm shuffle, tensors sliced per batch,
  zero_grad, loss, backward, clip_grad_norm_, step, ``loss.item()``). The floor.
- ``sksequence``: ``Seq2SeqClassifier(hidden_size=128, max_epochs=1).fit(X, y)``, input
  validation, label encoding and everything else a user pays for included.
- ``skorch-dict`` (for the record, fewer rounds: it is slow): what a skorch user writes
  without sksequence, a ``NeuralNet`` fed ``{"x": X, "target": Y}`` (encoder input and
  the decoder's teacher-forcing input as a dict), ``train_split=None``, ``verbose=0``,
  skorch's ``GradientNormClipping(1.0)``.

Ratios are medians over rounds of (contender time / hand-written time) within a round;
the order rotates each round. Prediction compares ``predict`` (greedy decoding of all
samples at once) with a hand-written ``torch.no_grad()`` greedy loop over the same
fitted module and batch size.

The headline ratio comes from a *lockstep* run (``_common.lockstep``, as for W2): the
three fits run in threads that take turns batch by batch on one pinned CPU, so step
``i`` of each runs back to back under the same machine load; the median of the paired
per-step ratios is reported. Whole-fit alternating rounds are recorded too.

Usage (from the repository root)::

    python benchmarks/bench_w1_seq2seq.py --rounds 3 --skorch-rounds 1 --lockstep-rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    alternate,
    machine_info,
    machine_line,
    markdown_table,
    set_threads,
    single_malloc_arena,
    summarize,
)
from bench_w2_autoencoder import lockstep_stats  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from sksequence import Seq2SeqClassifier  # noqa: E402
from sksequence.nn.seq2seq import Seq2Seq  # noqa: E402

N_TRAIN, N_TEST, N_IN, N_OUT, CARD = 100_000, 1_000, 6, 3, 51
HIDDEN, BATCH, LR, CLIP = 128, 32, 1e-3, 1.0


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One-hot X (n, 6, 51) float32 and y (n, 3) ints in 1..50."""
    rng = np.random.default_rng(seed)
    src = rng.integers(1, CARD, size=(n, N_IN))
    y = np.ascontiguousarray(src[:, :N_OUT][:, ::-1])
    return np.eye(CARD, dtype=np.float32)[src], y


def module_kwargs() -> dict:
    """Seq2Seq kwargs equal to Seq2SeqClassifier's defaults on this data."""
    return dict(
        input_size=CARD,
        output_size=CARD - 1,
        hidden_size=HIDDEN,
        categorical=True,
        max_length=N_IN,
    )


class Hook(Callback):
    """skorch callback that calls ``hook()`` at the start of every batch."""

    def __init__(self, hook) -> None:
        self.hook = hook

    def on_batch_begin(self, net, **kwargs) -> None:
        self.hook()


def hand_written(X: np.ndarray, y: np.ndarray, seed: int, hook=None) -> Seq2Seq:
    torch.manual_seed(seed)
    model = Seq2Seq(**module_kwargs())
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    Xt = torch.from_numpy(X)
    Yt = torch.from_numpy(y - 1)  # labels 1..50 -> class ids 0..49
    perm = torch.randperm(len(Xt))
    params = list(model.parameters())
    for start in range(0, len(Xt), BATCH):
        if hook is not None:
            hook()
        idx = perm[start : start + BATCH]
        target = Yt[idx]
        logits, _ = model(Xt[idx], None, target)
        loss = nn.functional.cross_entropy(logits.transpose(1, 2), target)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        loss.item()
    return model


@torch.no_grad()
def hand_predict(model: Seq2Seq, X: np.ndarray, batch_size: int) -> np.ndarray:
    """Hand-written batched greedy decoding with the fitted module."""
    model.eval()
    out = []
    for start in range(0, len(X), batch_size):
        x = torch.from_numpy(X[start : start + batch_size])
        state = model.encode(x)
        inputs = model.start_inputs(len(x))
        ids = []
        for _ in range(N_OUT):
            logits, state, _ = model.step(inputs, state)
            inputs = logits.argmax(-1)
            ids.append(inputs)
        out.append(torch.stack(ids, 1).numpy())
    return np.concatenate(out) + 1


def fit_sksequence(X, y, seed, hook=None):
    return Seq2SeqClassifier(
        hidden_size=HIDDEN,
        max_epochs=1,
        batch_size=BATCH,
        # the defaults the reference copies, spelled out
        lr=LR,
        clip_grad_norm=CLIP,
        random_state=seed,
        callbacks=[("hook", Hook(hook))] if hook is not None else None,
    ).fit(X, y)


def fit_skorch_dict(X, y, seed, hook=None):
    from skorch import NeuralNet
    from skorch.callbacks import GradientNormClipping

    class Loss(nn.Module):
        def forward(self, outputs, target):
            return nn.functional.cross_entropy(outputs[0].transpose(1, 2), target)

    class Module(Seq2Seq):
        def forward(self, x, target):
            return super().forward(x, None, target)

    torch.manual_seed(seed)
    net = NeuralNet(
        Module,
        criterion=Loss,
        optimizer=torch.optim.Adam,
        lr=LR,
        max_epochs=1,
        batch_size=BATCH,
        train_split=None,
        verbose=0,
        callbacks=[GradientNormClipping(CLIP)]
        + ([("hook", Hook(hook))] if hook is not None else []),
        **{f"module__{k}": v for k, v in module_kwargs().items()},
    )
    net.fit({"x": X, "target": y - 1}, y - 1)
    return net


def accuracy_of(kind: str, fitted, Xt, yt) -> float:
    if kind == "sksequence":
        return float(fitted.score(Xt, yt))
    module = fitted.module_ if kind == "skorch-dict" else fitted
    return float((hand_predict(module, Xt, 1024) == yt).all(axis=1).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skorch-rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--n-predict", type=int, default=20_000)
    parser.add_argument(
        "--lockstep-rounds",
        type=int,
        default=1,
        help="fits run in lockstep (batch by batch, paired); 0 to skip",
    )
    parser.add_argument("--json", help="write the raw figures here")
    args = parser.parse_args(argv)
    if args.lockstep_rounds:
        single_malloc_arena()  # re-executes this script once, with MALLOC_ARENA_MAX=1
    set_threads(args.threads)
    info = machine_info()
    print(machine_line(info))

    X, y = make_data(N_TRAIN, seed=0)
    Xt, yt = make_data(N_TEST, seed=1)
    seeds = iter(range(1000))
    contenders = {
        "hand-written": lambda: hand_written(X, y, next(seeds)),
        "sksequence": lambda: fit_sksequence(X, y, next(seeds)),
    }
    wall, cpu, fitted = alternate(contenders, args.rounds)
    if args.skorch_rounds:
        sk_wall, sk_cpu, sk_fit = alternate(
            {
                "hand-written": lambda: hand_written(X, y, next(seeds)),
                "skorch-dict": lambda: fit_skorch_dict(X, y, next(seeds)),
            },
            args.skorch_rounds,
        )
        fitted["skorch-dict"] = sk_fit["skorch-dict"]
    acc = {k: [accuracy_of(k, f, Xt, yt) for f in fs] for k, fs in fitted.items()}
    fit_summary = summarize(wall, "hand-written")
    cpu_summary = summarize(cpu, "hand-written")
    if args.skorch_rounds:
        fit_summary["skorch-dict"] = summarize(sk_wall, "hand-written")["skorch-dict"]
        cpu_summary["skorch-dict"] = summarize(sk_cpu, "hand-written")["skorch-dict"]

    lock = None
    if args.lockstep_rounds:
        lock = lockstep_stats(
            {
                "hand-written": lambda hook: hand_written(X, y, 0, hook),
                "sksequence": lambda hook: fit_sksequence(X, y, 0, hook),
                "skorch-dict": lambda hook: fit_skorch_dict(X, y, 0, hook),
            },
            args.lockstep_rounds,
        )

    # Prediction: the last fitted estimator against a hand loop over its module.
    est = fitted["sksequence"][-1]
    Xp, _ = make_data(args.n_predict, seed=2)
    bs = est._inference_batch_size(N_IN)
    pwall, pcpu, _ = alternate(
        {
            "hand-written": lambda: hand_predict(est.net_.module_, Xp, bs),
            "sksequence": lambda: est.predict(Xp),
        },
        max(args.rounds, 3),
    )
    pred_summary = summarize(pwall, "hand-written")
    pred_cpu = summarize(pcpu, "hand-written")

    rows = []
    for name in fit_summary:
        f, c = fit_summary[name], cpu_summary[name]
        accs = acc[name]
        rows.append(
            [
                name,
                f"{f['median_s']:.1f}",
                f"{f['ratio']:.2f} ({f['ratio_min']:.2f}-{f['ratio_max']:.2f})",
                f"{c['ratio']:.2f}",
                f"{np.mean(accs):.3f} ({min(accs):.3f}-{max(accs):.3f})",
                f["rounds"],
            ]
        )
    print()
    print(f"W1 fit, {N_TRAIN:,} sequences, 1 epoch, batch {BATCH}, {HIDDEN} units")
    table = markdown_table(
        [
            "contender",
            "fit s (median)",
            "wall ratio (min-max)",
            "cpu ratio",
            "exact-seq acc, mean (min-max)",
            "rounds",
        ],
        rows,
    )
    print(table)
    p, pc = pred_summary["sksequence"], pred_cpu["sksequence"]
    line = (
        f"predict {args.n_predict:,} sequences: hand-written "
        f"{pred_summary['hand-written']['median_s']:.3f} s, sksequence "
        f"{p['median_s']:.3f} s, ratio {p['ratio']:.2f} (cpu {pc['ratio']:.2f})"
    )
    print(line)
    if lock:
        rows = [
            [
                k,
                f"{lock['wall'][k]['steps']:,}",
                f"{lock['wall'][k]['median_us']:.0f} / {lock['cpu'][k]['median_us']:.0f}",
                f"**{lock['wall'][k]['median_paired_ratio']:.3f}** / "
                f"**{lock['cpu'][k]['median_paired_ratio']:.3f}**",
                f"{lock['wall'][k]['ratio_of_trimmed_means']:.3f} / "
                f"{lock['cpu'][k]['ratio_of_trimmed_means']:.3f}",
            ]
            for k in lock["wall"]
        ]
        print()
        print("Lockstep (fits take turns batch by batch on one pinned CPU):")
        print(
            markdown_table(
                [
                    "fit",
                    "steps",
                    "step us, median (wall / CPU)",
                    "median of paired step ratios (wall / CPU)",
                    "ratio of 10%-trimmed means (wall / CPU)",
                ],
                rows,
            )
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "machine": info,
                    "fit": fit_summary,
                    "fit_cpu": cpu_summary,
                    "accuracy": acc,
                    "predict": pred_summary,
                    "predict_cpu": pred_cpu,
                    "wall": wall,
                    "lockstep": lock,
                },
                fh,
                indent=2,
            )


if __name__ == "__main__":
    main()
