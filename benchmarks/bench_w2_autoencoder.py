"""W2 / W2-small: LSTMAutoencoderTransformer fit time and transform throughput.

Three contenders train the same model (``sksequence.nn.SequenceAutoencoder`` built
with the estimator's default module arguments for the data, taken from the estimator
itself: input standardisation, convolutional front end, bidirectional LSTM encoder,
mean/max pooling with the front end's pooled features, batch-normed 16-value
bottleneck, unconditioned RepeatDecoder, reversed reconstruction target; MSE in
standardised units, AdamW lr 3e-3 and weight decay 1e-2 with a one-cycle schedule
stepped every batch, global gradient-norm clipping at 1.0 every step) on the same
data, with the same batch size and number of epochs:

- ``hand-written``: a plain PyTorch loop (input statistics with ``fit_scaling``,
  randperm shuffle, tensors sliced per batch, zero_grad, loss, backward,
  clip_grad_norm_, step, scheduler step, ``loss.item()`` for the epoch mean; after
  training, ``fit_ppv_thresholds``, the one pass over the training set that the
  estimator's fit makes for its default features' quantile shares). This is the
  floor: the cost of the math itself.
- ``sksequence``: ``LSTMAutoencoderTransformer(...).fit(X)`` (input validation and
  everything else a user pays for included).
- ``skorch``: what a skorch user writes without sksequence: ``NeuralNet`` with a module
  that returns the reconstruction, ``MSELoss``, AdamW with skorch's ``LRScheduler``
  (one-cycle, every batch), ``partial_fit(X, X)`` after setting the input statistics,
  ``train_split=None``, ``verbose=0`` and skorch's ``GradientNormClipping(1.0)``.

Fit ratios are the median over rounds of (contender time / hand-written time) within a
round; the order rotates each round. Lockstep runs (``_common.lockstep``) then run the
three fits in threads that take turns batch by batch on one CPU, giving paired per-step
ratios that a busy machine cannot bias (the script re-executes itself once with
``MALLOC_ARENA_MAX=1`` for them). Transform throughput compares
``LSTMAutoencoderTransformer.transform`` with a hand-written ``torch.no_grad()`` batched
encode loop over the same fitted module (same inference batch size).

Usage (from the repository root)::

    python benchmarks/bench_w2_autoencoder.py --workload w2-small --rounds 3 --lockstep-rounds 2
    python benchmarks/bench_w2_autoencoder.py --workload w2 --rounds 2 --lockstep-rounds 1
    python benchmarks/bench_w2_autoencoder.py --workload w2-small --n-samples 20000 --profile
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
from skorch.callbacks import Callback
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (  # noqa: E402
    alternate,
    lockstep,
    machine_info,
    machine_line,
    markdown_table,
    set_threads,
    single_malloc_arena,
    summarize,
)

WORKLOADS = {
    # name: (n_samples, n_timesteps, n_features, hidden_size, max_epochs, batch_size)
    "w2": (20_000, 50, 8, 64, 5, 64),
    "w2-small": (100_000, 10, 2, 32, 1, 32),
}
CLIP = 1.0
LR = 3e-3
WEIGHT_DECAY = 1e-2


def make_data(n: int, t: int, f: int, seed: int = 0) -> np.ndarray:
    """Smooth multivariate sequences (random sines plus a little noise), float32."""
    rng = np.random.default_rng(seed)
    steps = np.linspace(0.0, 1.0, t, dtype=np.float32)[None, :, None]  # (1, T, 1)
    freq = rng.uniform(0.5, 3.0, size=(n, 1, f)).astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, f)).astype(np.float32)
    amp = rng.uniform(0.2, 1.0, size=(n, 1, f)).astype(np.float32)
    X = amp * np.sin(2 * np.pi * freq * steps + phase)  # (N, T, F)
    X += 0.05 * rng.standard_normal(X.shape).astype(np.float32)
    return np.ascontiguousarray(X, dtype=np.float32)


def module_kwargs(n_features: int, hidden: int, n_timesteps: int) -> dict:
    """SequenceAutoencoder kwargs of LSTMAutoencoderTransformer's defaults for data
    of this shape (asked from the estimator, so that they cannot drift apart)."""
    from sksequence import LSTMAutoencoderTransformer

    est = LSTMAutoencoderTransformer(hidden_size=hidden)
    strides = est._architecture(n_timesteps)["conv_strides"]
    dilations = est._ppv_dilations(None, n_timesteps)
    return est._module_kwargs(n_features, strides, dilations)


def one_cycle(opt, total_steps: int):
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=total_steps)


# -- per-step timestamps ------------------------------------------------------------------
class _Hook(Callback):
    """skorch callback that calls ``hook()`` at the start of every batch."""

    def __init__(self, hook) -> None:
        self.hook = hook

    def on_batch_begin(self, net, **kwargs) -> None:
        self.hook()


def step_stats(stamps: list[float]) -> dict:
    """Median and 10th percentile of the intervals between batch starts, in us."""
    d = sorted(1e6 * (b - a) for a, b in zip(stamps, stamps[1:]))
    return {"median_us": statistics.median(d), "p10_us": d[len(d) // 10]}


# -- contender 1: hand-written PyTorch --------------------------------------------------
def fit_handwritten(
    X: np.ndarray, hidden: int, epochs: int, batch_size: int, hook=None, device="cpu"
) -> float:
    from sksequence.nn import SequenceAutoencoder

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x_all = torch.from_numpy(X)
    module = SequenceAutoencoder(**module_kwargs(X.shape[2], hidden, X.shape[1]))
    module.fit_scaling(x_all)
    # on a GPU the module and the whole data set go there once (as the estimator does)
    module.to(device)
    x_all = x_all.to(device)
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY)
    n = len(x_all)
    sched = one_cycle(opt, epochs * math.ceil(n / batch_size))
    module.train()
    last = math.nan
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen).to(device)
        total = 0.0
        for start in range(0, n, batch_size):
            if hook is not None:
                hook()
            xb = x_all[perm[start : start + batch_size]]
            opt.zero_grad()
            loss = module.loss(module(xb), xb)
            loss.backward()
            nn.utils.clip_grad_norm_(params, CLIP)
            opt.step()
            sched.step()
            total += loss.item() * len(xb)
        last = total / n
    # what the estimator's fit also does: the thresholds of the default
    # features' quantile shares, one pass over the training set
    module.eval()
    with torch.no_grad():
        module.fit_ppv_thresholds(x_all)
    return last


def encode_handwritten(module, X: np.ndarray, batch_size: int) -> np.ndarray:
    x_all = torch.from_numpy(X)
    module.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(x_all), batch_size):
            outs.append(module.encode(x_all[start : start + batch_size]).numpy())
    return np.concatenate(outs)


# -- contender 2: sksequence ------------------------------------------------------------
def make_ours(hidden: int, epochs: int, batch_size: int, hook=None):
    from sksequence import LSTMAutoencoderTransformer

    return LSTMAutoencoderTransformer(
        hidden_size=hidden,
        max_epochs=epochs,
        batch_size=batch_size,
        # The defaults the references copy, spelled out so that a change of default
        # cannot silently change the benchmark.
        lr=LR,
        optimizer="adamw",
        weight_decay=WEIGHT_DECAY,
        lr_schedule="onecycle",  # (runs all max_epochs: no plateau rule)
        clip_grad_norm=CLIP,
        reverse_target=True,
        conditional=False,
        random_state=0,
        callbacks=[("hook", _Hook(hook))] if hook is not None else None,
    )


# -- contender 3: skorch by hand --------------------------------------------------------
class _ReconstructionModule(nn.Module):
    """What a skorch user would write: forward returns the reconstruction."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        from sksequence.nn import SequenceAutoencoder

        self.ae = SequenceAutoencoder(**kwargs)

    def forward(self, X):
        return self.ae(X)["reconstruction"]


def fit_skorch(
    X: np.ndarray, hidden: int, epochs: int, batch_size: int, hook=None
) -> float:
    from skorch import NeuralNet
    from skorch.callbacks import GradientNormClipping, LRScheduler

    torch.manual_seed(0)
    kwargs = module_kwargs(X.shape[2], hidden, X.shape[1])
    net = NeuralNet(
        module=_ReconstructionModule,
        criterion=nn.MSELoss,
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=WEIGHT_DECAY,
        lr=LR,
        max_epochs=epochs,
        batch_size=batch_size,
        iterator_train__shuffle=True,
        train_split=None,
        verbose=0,
        callbacks=[
            GradientNormClipping(gradient_clip_value=CLIP),
            LRScheduler(
                torch.optim.lr_scheduler.OneCycleLR,
                max_lr=LR,
                total_steps=epochs * math.ceil(len(X) / batch_size),
                step_every="batch",
            ),
        ]
        + ([("hook", _Hook(hook))] if hook is not None else []),
        **{f"module__{k}": v for k, v in kwargs.items()},
    )
    net.initialize()
    net.module_.ae.fit_scaling(torch.from_numpy(X))
    net.partial_fit(X, X)
    return float(net.history[-1, "train_loss"])


# -- driver --------------------------------------------------------------------------
def _trimmed_mean(values: list[float], cut: float = 0.1) -> float:
    """Mean of the values without the lowest and highest ``cut`` fraction."""
    v = sorted(values)
    k = int(len(v) * cut)
    return statistics.fmean(v[k : len(v) - k] or v)


def lockstep_stats(fits: dict, rounds: int, log=print) -> dict:
    """Step-time ratios to the hand-written loop from ``rounds`` lockstep runs."""
    steps = {c: {k: [] for k in fits} for c in ("wall", "cpu")}
    paired = {c: {k: [] for k in fits} for c in ("wall", "cpu")}
    for r in range(rounds):
        wall, cpu, _ = lockstep(fits)
        m = min(len(d) for d in wall.values())
        for clock, durations in (("wall", wall), ("cpu", cpu)):
            ref = durations["hand-written"][:m]
            for k, d in durations.items():
                steps[clock][k] += d[:m]
                paired[clock][k] += [a / b for a, b in zip(d[:m], ref)]
        log(
            f"  lockstep {r + 1}/{rounds}: median step (wall / thread CPU) "
            + ", ".join(
                f"{k} {1e6 * statistics.median(wall[k]):.0f} / "
                f"{1e6 * statistics.median(cpu[k]):.0f} us"
                for k in wall
            )
        )
    out = {}
    for clock in ("wall", "cpu"):
        ref = steps[clock]["hand-written"]
        out[clock] = {
            k: {
                "steps": len(d),
                "median_us": 1e6 * statistics.median(d),
                "trimmed_mean_us": 1e6 * _trimmed_mean(d),
                "ratio_of_medians": statistics.median(d) / statistics.median(ref),
                "ratio_of_trimmed_means": _trimmed_mean(d) / _trimmed_mean(ref),
                "median_paired_ratio": statistics.median(paired[clock][k]),
            }
            for k, d in steps[clock].items()
        }
    return out


def run_workload(
    name, n_samples, rounds, transform_rounds, lockstep_rounds=1, log=print
) -> dict:
    n, t, f, hidden, epochs, bs = WORKLOADS[name]
    if n_samples:
        n = n_samples
    X = make_data(n, t, f)
    log(f"{name}: {n} x {t} x {f}, hidden {hidden}, {epochs} epoch(s), batch {bs}")

    # Warm-up (first-call costs: allocator, kernels, lazy imports) on a small slice.
    Xw = X[: 8 * bs]
    fit_handwritten(Xw, hidden, 1, bs)
    make_ours(hidden, 1, bs).fit(Xw)
    fit_skorch(Xw, hidden, 1, bs)

    fitted = {}

    def fit_ours(hook):
        est = make_ours(hidden, epochs, bs, hook=hook).fit(X)
        fitted["est"] = est
        return float(est.history_[-1, "train_loss"])

    fits = {
        "hand-written": lambda hook: fit_handwritten(X, hidden, epochs, bs, hook),
        "sksequence": fit_ours,
        "skorch": lambda hook: fit_skorch(X, hidden, epochs, bs, hook),
    }

    def stamped(fit):
        def run():
            stamps = []
            loss = fit(lambda: stamps.append(time.perf_counter()))
            return loss, step_stats(stamps)

        return run

    contenders = {k: stamped(v) for k, v in fits.items()}
    wall, cpu, results = alternate(contenders, rounds, log=log)
    n_batches = epochs * math.ceil(n / bs)
    fit = {
        "wall": summarize(wall, "hand-written"),
        "cpu": summarize(cpu, "hand-written"),
    }
    for key in ("median_us", "p10_us"):
        per_round = {k: [r[1][key] for r in v] for k, v in results.items()}
        fit["step_" + key] = summarize(per_round, "hand-written")
    losses = {k: v[-1][0] for k, v in results.items()}

    # Lockstep: the three fits take turns batch by batch (paired steps, same load).
    lock = lockstep_stats(fits, lockstep_rounds, log) if lockstep_rounds else None

    # Transform throughput: the same fitted module, same inference batch size.
    est = fitted["est"]
    module = est.net_.module_
    inf_bs = est._inference_batch_size(t)
    Z_ours = est.transform(X)
    Z_hand = encode_handwritten(module, X, inf_bs)
    same = bool(np.allclose(Z_ours, Z_hand, atol=1e-5))
    twall, tcpu, _ = alternate(
        {
            "hand-written": lambda: encode_handwritten(module, X, inf_bs),
            "sksequence": lambda: est.transform(X),
        },
        transform_rounds,
        log=log,
    )
    return {
        "workload": name,
        "shape": [n, t, f],
        "hidden": hidden,
        "epochs": epochs,
        "batch_size": bs,
        "n_batches": n_batches,
        "fit": fit,
        "final_train_loss": losses,
        "lockstep": lock,
        "transform": {
            "wall": summarize(twall, "hand-written"),
            "cpu": summarize(tcpu, "hand-written"),
        },
        "transform_batch_size": inf_bs,
        "transform_same_encodings": same,
    }


def _range(v: dict, key: str, fmt: str) -> str:
    return (
        f"{format(v[key], fmt)} ({format(v[key + '_min'], fmt)}-"
        f"{format(v[key + '_max'], fmt)})"
    )


def report(res: dict) -> str:
    n, t, f = res["shape"]
    head = (
        f"**{res['workload']}** ({n:,} x {t} x {f}, hidden {res['hidden']}, "
        f"{res['epochs']} epoch(s), batch {res['batch_size']}, "
        f"{res['n_batches']:,} optimizer steps)"
    )
    fit = res["fit"]
    rows = []

    def ratio(v):
        return f"**{v['ratio']:.3f}** ({v['ratio_min']:.3f}-{v['ratio_max']:.3f})"

    for name in fit["wall"]:
        w, c = fit["wall"][name], fit["cpu"][name]
        sm, sp = fit["step_median_us"][name], fit["step_p10_us"][name]
        rows.append(
            [
                name,
                f"{w['median_s']:.2f} ({w['min_s']:.2f}-{w['max_s']:.2f})",
                ratio(w),
                f"{c['median_s']:.2f}",
                ratio(c),
                f"{sm['median_s']:.0f}",
                ratio(sm),
                f"{sp['median_s']:.0f}",
                ratio(sp),
                f"{res['final_train_loss'][name]:.4f}",
            ]
        )
    fit_table = markdown_table(
        [
            "fit",
            "wall s, median (min-max)",
            "wall ratio",
            "CPU s, median",
            "CPU ratio",
            "step us, median",
            "step-median ratio",
            "step us, p10",
            "step-p10 ratio",
            "final train loss",
        ],
        rows,
    )
    wall, cpu = res["transform"]["wall"], res["transform"]["cpu"]
    rows = []
    for name in wall:
        w, c = wall[name], cpu[name]
        rows.append(
            [
                name,
                f"{w['median_s']:.3f}",
                f"{n / w['median_s']:,.0f}",
                f"{n / c['median_s']:,.0f}",
                f"**{w['ratio']:.3f}** ({w['ratio_min']:.3f}-{w['ratio_max']:.3f})",
                f"**{c['ratio']:.3f}** ({c['ratio_min']:.3f}-{c['ratio_max']:.3f})",
            ]
        )
    lock_table = ""
    if res.get("lockstep"):
        lock = res["lockstep"]
        lock_table = (
            "Lockstep (the three fits take turns batch by batch, on one pinned CPU; "
            "wall and thread-CPU time per step):\n\n"
        )
        lock_rows = []
        for k in lock["wall"]:
            w, c = lock["wall"][k], lock["cpu"][k]
            lock_rows.append(
                [
                    k,
                    f"{w['steps']:,}",
                    f"{w['median_us']:.0f} / {c['median_us']:.0f}",
                    f"**{w['median_paired_ratio']:.3f}** / "
                    f"**{c['median_paired_ratio']:.3f}**",
                    f"{w['ratio_of_medians']:.3f} / {c['ratio_of_medians']:.3f}",
                    f"{w['ratio_of_trimmed_means']:.3f} / "
                    f"{c['ratio_of_trimmed_means']:.3f}",
                ]
            )
        lock_table += markdown_table(
            [
                "fit",
                "steps",
                "step us, median (wall / CPU)",
                "median of paired step ratios (wall / CPU)",
                "ratio of medians (wall / CPU)",
                "ratio of 10%-trimmed means (wall / CPU)",
            ],
            lock_rows,
        )
        lock_table += "\n\n"
    tr_table = markdown_table(
        [
            "transform",
            "wall s, median",
            "sequences / s (wall)",
            "sequences / s (CPU)",
            "wall ratio",
            "CPU ratio",
        ],
        rows,
    )
    note = (
        f"Transform batch size {res['transform_batch_size']} for both; encodings "
        f"identical: {res['transform_same_encodings']}. "
        f"{wall['hand-written']['rounds']} transform rounds, "
        f"{res['fit']['wall']['hand-written']['rounds']} fit rounds."
    )
    return f"{head}\n\n{fit_table}\n\n{lock_table}{tr_table}\n\n{note}\n"


# -- where the per-batch overhead goes ---------------------------------------------------
def _us(fn, number: int = 2000, repeat: int = 5) -> float:
    """Best-of-``repeat`` mean microseconds per call (the least disturbed estimate)."""
    import timeit

    fn()
    return 1e6 * min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def profile_overhead(name: str, n_samples: int | None, log=print) -> str:
    """Per-batch cost of each framework operation that the hand-written loop does
    not do, measured in isolation (timeit), then a cProfile of both fits."""
    import cProfile
    import pstats

    from skorch.dataset import get_len, unpack_data
    from skorch.utils import TeeGenerator, to_tensor

    from sksequence._net import TensorDictDataset

    n, t, f, hidden, epochs, bs = WORKLOADS[name]
    n = n_samples or n
    X = make_data(n, t, f)
    est = make_ours(hidden, 1, bs).fit(X[: 8 * bs])
    net = est.net_
    data = TensorDictDataset({"x": torch.from_numpy(X)})
    perm = torch.randperm(n)
    batch = data.take(perm[:bs])
    Xi, _ = unpack_data(batch)
    out = net.infer(Xi)
    loss = net.get_loss(out, None, X=Xi)
    loss.backward()
    step = {"loss": loss, "y_pred": out}
    net.history.new_epoch()
    net.history.new_batch()
    x_all = torch.from_numpy(X)
    rows = [
        (
            "SequenceNet.train_step_single -> NeuralNet._set_training(True) "
            "(module.train() over every submodule, and the criterion)",
            _us(lambda: net._set_training(True)),
        ),
        (
            "run_single_epoch -> notify('on_batch_begin') (net + callbacks)",
            _us(lambda: net.notify("on_batch_begin", batch=batch, training=True)),
        ),
        (
            "run_single_epoch -> notify('on_batch_end')",
            _us(lambda: net.notify("on_batch_end", batch=batch, training=True, **step)),
        ),
        (
            "train_step.step_fn -> notify('on_grad_computed', "
            "TeeGenerator(get_all_learnable_params()))",
            _us(
                lambda: net.notify(
                    "on_grad_computed",
                    named_parameters=TeeGenerator(net.get_all_learnable_params()),
                    batch=batch,
                    training=True,
                )
            ),
        ),
        (
            "run_single_epoch -> History.record_batch('train_loss', loss.item())",
            _us(lambda: net.history.record_batch("train_loss", loss.item())),
        ),
        (
            "run_single_epoch -> get_len(batch[0]) + History.record_batch(size)",
            _us(
                lambda: net.history.record_batch("train_batch_size", get_len(batch[0]))
            ),
        ),
        (
            "NeuralNet.infer -> to_tensor(dict) + _merge_x_and_fit_params",
            _us(lambda: net._merge_x_and_fit_params(to_tensor(Xi, device="cpu"), {})),
        ),
        (
            "train_step -> get_train_step_accumulator + store_step/get_step",
            _us(
                lambda: (lambda a: (a.store_step(step), a.get_step()))(
                    net.get_train_step_accumulator()
                )
            ),
        ),
        (
            "SequenceNet.train_step_single -> float(loss), float(norm), isfinite x2",
            _us(
                lambda: (
                    math.isfinite(float(loss.detach())),
                    math.isfinite(float(loss.detach())),
                )
            ),
        ),
        (
            "BatchIterator -> TensorDictDataset.take(perm[i:j]) "
            "(hand-written: x[perm[i:j]])",
            _us(lambda: data.take(perm[:bs])) - _us(lambda: x_all[perm[:bs]]),
        ),
    ]
    total = sum(us for _, us in rows)
    table = markdown_table(
        ["per-batch operation the hand-written loop does not do", "us / batch"],
        [[k, f"{v:.1f}"] for k, v in rows] + [["**total**", f"**{total:.0f}**"]],
    )

    # cProfile of one epoch of each, grouped: time in framework code per batch.
    n_batches = math.ceil(n / bs)
    stats = {}
    for label, fn in (
        ("hand-written", lambda: fit_handwritten(X, hidden, 1, bs)),
        ("sksequence", lambda: make_ours(hidden, 1, bs).fit(X)),
    ):
        prof = cProfile.Profile()
        prof.enable()
        fn()
        prof.disable()
        stats[label] = pstats.Stats(prof)
    groups = {}
    for label, st in stats.items():
        g = {"skorch": 0.0, "sksequence/_net.py": 0.0, "Module.train": 0.0, "all": 0.0}
        for (file, _, func), (_, _, tt, _, _) in st.stats.items():
            g["all"] += tt
            if "/skorch/" in file:
                g["skorch"] += tt
            elif file.endswith("sksequence/_net.py"):
                g["sksequence/_net.py"] += tt
            elif func == "train" and file.endswith("torch/nn/modules/module.py"):
                g["Module.train"] += tt
        groups[label] = g
    prof_rows = [
        [
            k,
            f"{1e6 * groups['hand-written'][k] / n_batches:.0f}",
            f"{1e6 * groups['sksequence'][k] / n_batches:.0f}",
        ]
        for k in ("skorch", "sksequence/_net.py", "Module.train", "all")
    ]
    prof_table = markdown_table(
        ["cProfile own time, grouped", "hand-written us/batch", "sksequence us/batch"],
        prof_rows,
    )
    head = f"**{name}** per-batch overhead ({n:,} sequences, batch {bs}, 1 epoch)"
    text = (
        f"{head}\n\n{table}\n\nUnder cProfile (which inflates Python-level "
        f"code, so read it for where, not how much):\n\n{prof_table}\n"
    )
    log(text)
    return text


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all")
    p.add_argument("--rounds", type=int, default=3, help="alternating fit rounds")
    p.add_argument("--transform-rounds", type=int, default=5)
    p.add_argument(
        "--lockstep-rounds",
        type=int,
        default=1,
        help="fits run in lockstep (batch by batch, paired); 0 to skip",
    )
    p.add_argument(
        "--n-samples", type=int, default=None, help="override the number of sequences"
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads for every contender (default 1, see README)",
    )
    p.add_argument("--json", default=None, help="also write the raw results here")
    p.add_argument(
        "--profile",
        action="store_true",
        help="measure where the per-batch framework overhead goes instead",
    )
    args = p.parse_args(argv)
    if args.lockstep_rounds and not args.profile:
        single_malloc_arena()  # re-executes this script once, with MALLOC_ARENA_MAX=1

    set_threads(args.threads)
    info = machine_info()
    print(machine_line(info), flush=True)
    if args.profile:
        names = list(WORKLOADS) if args.workload == "all" else [args.workload]
        for name in names:
            profile_overhead(name, args.n_samples)
        return
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    out = {"machine": info, "argv": sys.argv, "results": []}
    for name in names:
        res = run_workload(
            name,
            args.n_samples,
            args.rounds,
            args.transform_rounds,
            args.lockstep_rounds,
            log=lambda s: print(s, flush=True),
        )
        out["results"].append(res)
        print()
        print(report(res), flush=True)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
