"""CUDA checks and GPU timings of every estimator, in one run.

Written for a lent GPU machine (one short prepared run): it fits each estimator with
``device="cuda"`` and calls every public method a user would, checking that results
come back as finite numpy arrays in the user's layout, that a GPU fit learns as well
as the same fit on the CPU, that saved GPU models load on the CPU with the same
outputs, and that scores do not depend on the batch. Then it times the W2 /
W2-small autoencoder workloads against a hand-written PyTorch loop on the same GPU,
the default estimators on real problems, and ``transform`` throughput.

Every check runs even if an earlier one failed; the script prints one line per check
and a summary, and writes everything to ``--json``. The checks also run on the CPU
(``--device cpu``, a dry run of the script itself)::

    python benchmarks/gpu_check.py --device cuda --json out/gpu.json
    python benchmarks/gpu_check.py --device cpu --quick     # dry run here

On a lent machine whose image has torch but not skorch, carry skorch's wheel
(``.whl``, git-ignored) and the cached problems the timings read
(``benchmarks/out/cache/{GunPoint,ACSF1,PLAID}.pkl``), then run::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    PYTHONPATH=/tmp/site:.:benchmarks PYTHONUNBUFFERED=1 timeout 480 \
        python3 benchmarks/gpu_check.py --device cuda --json $OUT/gpu_check.json
    python3 -m pytest -q -n 14 -p no:cacheprovider tests     # the suite, GPU visible

The first run (2026-12-04, an H200) spent about 60 s on the checks; the W2
timings at full size did not finish in the 320 s left, hence ``--w2-scale``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import statistics
import sys
import tempfile
import time
import traceback
import warnings

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

RESULTS: list[dict] = []
JSON_PATH = None


def check(name):
    """Decorator: run the check, record pass / fail / its figures, never raise."""

    def wrap(fn):
        def run(*args, **kwargs):
            t0 = time.perf_counter()
            rec = {"check": name}
            try:
                figures = fn(*args, **kwargs) or {}
                rec.update(ok=True, **figures)
            except Exception as exc:  # noqa: BLE001 (a failed check is a finding)
                rec.update(ok=False, error=f"{type(exc).__name__}: {exc}")
                rec["trace"] = traceback.format_exc(limit=6)
            rec["s"] = round(time.perf_counter() - t0, 2)
            RESULTS.append(rec)
            if JSON_PATH:
                with open(
                    JSON_PATH, "w"
                ) as fh:  # after every check: a killed run keeps it
                    json.dump({"results": RESULTS}, fh, indent=1, default=str)
            shown = {k: v for k, v in rec.items() if k not in ("check", "trace")}
            print(f"[{'PASS' if rec['ok'] else 'FAIL'}] {name}: {shown}", flush=True)
            if not rec["ok"]:
                print(rec["trace"], flush=True)
            return rec

        return run

    return wrap


def sync(device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def finite_array(a, shape=None):
    assert isinstance(a, np.ndarray), f"expected an ndarray, got {type(a).__name__}"
    assert np.all(np.isfinite(a)), "non-finite values"
    if shape is not None:
        assert a.shape == shape, f"shape {a.shape}, expected {shape}"
    return a


def features_close(A, B, n_timesteps):
    """The default features of one model on two devices (or through ONNX) agree:
    the continuous ones to 1e-3; the quantile shares (counts of steps above a
    threshold, over the steps) may flip one step where a value sits on its
    threshold, a jump of 1 / n_timesteps, in under 1% of the entries."""
    d = np.abs(np.asarray(A, np.float64) - np.asarray(B, np.float64))
    big = d > 1e-3
    assert big.mean() < 0.01, f"{big.mean():.2%} of the entries differ by > 1e-3"
    assert d.max() <= 1.0 / n_timesteps + 1e-3, f"max difference {d.max():.4f}"
    return {"max_abs_diff": float(d.max()), "share_flips": int(big.sum())}


def waves(n=120, t=40, f=2, seed=0):
    """Two classes of noisy multichannel waves: sines and square waves."""
    rng = np.random.default_rng(seed)
    steps = np.linspace(0, 1, t)[None, :, None]
    freq = rng.uniform(1, 3, (n, 1, f))
    phase = rng.uniform(0, 2 * np.pi, (n, 1, f))
    y = rng.integers(0, 2, n)
    s = np.sin(2 * np.pi * freq * steps + phase)
    X = np.where(y[:, None, None] == 1, np.sign(s), s)
    X = X + 0.1 * rng.standard_normal(X.shape)
    return X.astype(np.float32), y


# -- correctness checks -------------------------------------------------------------------
@check("LSTMAutoencoderTransformer on the device: every method")
def ae_methods(device, epochs):
    from sksequence import LSTMAutoencoderTransformer

    X, _ = waves()
    X0 = X.copy()
    ae = LSTMAutoencoderTransformer(max_epochs=epochs, random_state=0, device=device)
    ae.fit(X)
    assert np.array_equal(X, X0), "fit modified X"
    assert ae.net_.device == device
    assert all(
        p.device.type == torch.device(device).type for p in ae.net_.module_.parameters()
    )
    Z = finite_array(ae.transform(X))
    R = finite_array(ae.inverse_transform(Z), X.shape)
    s = finite_array(ae.score_samples(X), (len(X),))
    assert np.isclose(ae.score(X), s.mean(), rtol=1e-5)
    H = ae.hidden_states(X)
    H = H[0] if isinstance(H, tuple) else H
    finite_array(np.asarray(H))
    # scores must not depend on the batch: one sequence alone vs in the full set
    s1 = ae.score_samples(X[5:6])
    z1 = ae.transform(X[5:6])
    assert np.allclose(s1, s[5:6], rtol=1e-4, atol=1e-5), (s1, s[5:6])
    assert np.allclose(z1, Z[5:6], rtol=1e-3, atol=1e-4)
    ae16 = LSTMAutoencoderTransformer(
        n_components=4, max_epochs=epochs, random_state=0, device=device
    ).fit(X)
    finite_array(ae16.transform(X), (len(X), 4))
    finite_array(ae16.inverse_transform(ae16.transform(X)), X.shape)
    comb = LSTMAutoencoderTransformer(
        anomaly_score="combined", max_epochs=3, random_state=0, device=device
    ).fit(X)
    finite_array(comb.score_samples(X), (len(X),))
    return {
        "n_features_out": Z.shape[1],
        "recon_mse": float(np.mean((R - X) ** 2)),
        "n_epochs": int(ae.n_epochs_) if hasattr(ae, "n_epochs_") else len(ae.history_),
    }


@check("LSTMAutoencoderTransformer: device fit learns as well as the CPU fit")
def ae_vs_cpu(device, epochs):
    from sksequence import LSTMAutoencoderTransformer

    X, _ = waves()
    out = {}
    for dev in ("cpu", device):
        ae = LSTMAutoencoderTransformer(
            max_epochs=epochs, random_state=0, device=dev, input_noise=0
        ).fit(X)
        R = ae.inverse_transform(ae.transform(X))
        out[dev] = float(np.mean((R - X) ** 2))
    ratio = out[device] / out["cpu"]
    assert ratio < 2.0, f"device reconstruction MSE {ratio:.2f}x the CPU's"
    return {"mse_cpu": out["cpu"], "mse_device": out[device], "ratio": ratio}


@check(
    "LSTMAutoencoderTransformer: objectives, conditional, truncated BPTT, pooled "
    "input, variable length"
)
def ae_variants(device, epochs):
    from sksequence import LSTMAutoencoderTransformer

    X, _ = waves(n=60, t=48)
    figs = {}
    for kw in (
        dict(objective="composite", n_future=8),
        dict(objective="predict", n_future=8),
        dict(conditional=True),
        dict(  # truncated BPTT runs on the classic model only
            truncate_bptt=16,
            conv_channels=None,
            pooling="last",
            bidirectional=False,
            shape_basis=0,
            feature_loss=0,
            input_noise=0,
        ),
        dict(input_noise=0, mask_fraction=0.25),
        dict(input_pool=3),  # the front end reads means of 3 steps
    ):
        ae = LSTMAutoencoderTransformer(
            max_epochs=max(2, epochs // 4), random_state=0, device=device, **kw
        ).fit(X)
        finite_array(ae.transform(X))
        if kw.get("objective") in ("composite", "predict"):
            finite_array(np.asarray(ae.forecast(X)))
        figs["/".join(f"{k}={v}" for k, v in kw.items())] = "ok"
    lengths = [30, 48, 41, 35] * 10
    Xv = [X[i, :L] for i, L in enumerate(lengths)]
    ae = LSTMAutoencoderTransformer(max_epochs=3, random_state=0, device=device).fit(Xv)
    Z = finite_array(ae.transform(Xv))
    # padding never leaks: a sequence's code is the same alone or with longer ones
    assert np.allclose(ae.transform(Xv[:1]), Z[:1], rtol=1e-3, atol=1e-4)
    finite_array(ae.score_samples(Xv), (len(Xv),))
    pooled = LSTMAutoencoderTransformer(
        max_epochs=3, input_pool=3, random_state=0, device=device
    ).fit(Xv)
    Z = finite_array(pooled.transform(Xv))
    assert np.allclose(pooled.transform(Xv[:1]), Z[:1], rtol=1e-3, atol=1e-4)
    return figs


@check(
    "wide series: channels-last convolutions, sampled patches, gathered "
    "thresholds, the noise bank, the dilated maps from the taps' products"
)
def ae_wide(device, epochs):
    from sksequence import LSTMAutoencoderTransformer

    rng = np.random.default_rng(0)
    import copy

    import sksequence.nn.autoencoder as nn_autoencoder

    # 400 x 100 = 40,000 values a sequence (> 32,768: 1 / 2 of the patches), 100
    # features (read channels last)
    X = np.cumsum(rng.normal(size=(40, 400, 100)), axis=1).astype(np.float32)
    kw = dict(max_epochs=max(2, epochs // 10), random_state=0, device=device)
    ae = LSTMAutoencoderTransformer(**kw).fit(X)
    Z = finite_array(ae.transform(X))
    # the thresholds computed at the kept steps only (every 32nd of 16,000 a map,
    # at most 500 kept) equal those of the full maps
    module = copy.deepcopy(ae.net_.module_).eval()
    x = torch.as_tensor(X, device=ae.net_.device)
    module.fit_ppv_thresholds(x, max_rows=500)
    gathered = module.ppv_thresholds.clone()
    every = nn_autoencoder._THRESHOLD_GATHER_EVERY
    nn_autoencoder._THRESHOLD_GATHER_EVERY = 10**9
    try:
        module.fit_ppv_thresholds(x, max_rows=500)
    finally:
        nn_autoencoder._THRESHOLD_GATHER_EVERY = every
    assert torch.allclose(gathered, module.ppv_thresholds, rtol=1e-4, atol=1e-4)
    assert np.allclose(ae.transform(X[:1]), Z[:1], rtol=1e-3, atol=1e-4)
    finite_array(ae.score_samples(X), (len(X),))
    # the dilated maps (100 features: the taps' products summed) on the device
    # equal the convolutions there
    from sksequence.nn.functional import dilated_maps_steps_last

    conv = module.front.convs[0]
    with torch.no_grad():
        for d, y in zip(
            (1, 8, 64),
            dilated_maps_steps_last(x[:4], conv.weight, conv.bias, (1, 8, 64)),
        ):
            ref = torch.nn.functional.conv1d(
                x[:4].transpose(1, 2), conv.weight, conv.bias, 1, 3 * d, d
            )
            assert torch.allclose(y, ref.transpose(1, 2), rtol=1e-3, atol=1e-3)
    ragged = [x[: 300 + 2 * i] for i, x in enumerate(X)]  # each its own patches
    ae = LSTMAutoencoderTransformer(**kw).fit(ragged)
    finite_array(ae.transform(ragged))
    finite_array(ae.score_samples(ragged), (len(ragged),))
    return {"features": Z.shape[1]}


@check("persistence: a device model saved, loaded on the CPU, pickled")
def persistence(device, epochs):
    import sksequence
    from sksequence import LSTMAutoencoderTransformer, SequenceClassifier

    X, y = waves()
    ae = LSTMAutoencoderTransformer(max_epochs=3, random_state=0, device=device).fit(X)
    clf = SequenceClassifier(max_epochs=3, random_state=0, device=device).fit(X, y)
    Z = ae.transform(X)
    P = clf.predict_proba(X)
    with tempfile.TemporaryDirectory() as d:
        ae.save(os.path.join(d, "ae.st"))
        clf.save(os.path.join(d, "clf.st"))
        same = sksequence.load(os.path.join(d, "ae.st"))
        cpu = sksequence.load(os.path.join(d, "ae.st"), device="cpu")
        clf_cpu = sksequence.load(os.path.join(d, "clf.st"), device="cpu")
    assert same.net_.device == device, same.net_.device
    assert cpu.net_.device == "cpu", cpu.net_.device
    on_cpu = features_close(cpu.transform(X), Z, X.shape[1])
    dp = float(np.max(np.abs(clf_cpu.predict_proba(X) - P)))
    assert dp < 1e-3, dp
    back = pickle.loads(pickle.dumps(ae))
    dpk = float(np.max(np.abs(back.transform(X) - Z)))
    assert dpk < 1e-5, dpk
    return {"transform_on_cpu": on_cpu, "max_abs_diff_proba_cpu": dp}


@check("sklearn composition on the device: Pipeline + GridSearchCV + clone")
def composition(device, epochs):
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sksequence import LSTMAutoencoderTransformer

    X, y = waves()
    pipe = make_pipeline(
        LSTMAutoencoderTransformer(max_epochs=3, random_state=0, device=device),
        StandardScaler(),
        LogisticRegression(max_iter=1000),
    )
    gs = GridSearchCV(
        pipe, {"lstmautoencodertransformer__n_components": [4, None]}, cv=2
    )
    gs.fit(X, y)
    clone(gs.best_estimator_)
    return {"best": gs.best_params_, "cv_acc": round(float(gs.best_score_), 3)}


@check("SequenceClassifier on the device: methods, encoder init, variable length")
def classifier(device, epochs):
    from sksequence import LSTMAutoencoderTransformer, SequenceClassifier

    X, y = waves()
    labels = np.array(["sine", "square"])[y]
    clf = SequenceClassifier(max_epochs=epochs, random_state=0, device=device)
    clf.fit(X[:80], labels[:80])
    P = finite_array(clf.predict_proba(X[80:]), (40, 2))
    assert np.allclose(P.sum(1), 1, atol=1e-5)
    acc = clf.score(X[80:], labels[80:])
    assert set(clf.predict(X[80:])) <= {"sine", "square"}
    finite_array(np.asarray(clf.transform_features(X[80:])))
    ae = LSTMAutoencoderTransformer(max_epochs=3, random_state=0, device=device).fit(X)
    pre = SequenceClassifier(encoder=ae, max_epochs=3, random_state=0, device=device)
    pre.fit(X, y)
    Xv = [X[i, : 25 + i % 15] for i in range(len(X))]
    SequenceClassifier(max_epochs=3, random_state=0, device=device).fit(Xv, y).predict(
        Xv
    )
    return {"test_acc": round(float(acc), 3)}


@check("Seq2SeqRegressor on the device: forecast, intervals, attention, global windows")
def regressor(device, epochs):
    from sksequence import Seq2SeqRegressor
    from sksequence.preprocessing import SeriesWindows, sliding_window

    t = np.arange(600)
    series = (10 + np.sin(2 * np.pi * t / 24) + 0.01 * t).astype(np.float64)
    series += 0.1 * np.random.default_rng(0).standard_normal(len(t))
    X, y = sliding_window(series[:-12], 48, 12)
    reg = Seq2SeqRegressor(max_epochs=epochs, random_state=0, device=device).fit(X, y)
    pred = finite_array(np.asarray(reg.predict(X[-1:])))
    mae = float(np.mean(np.abs(pred.ravel() - series[-12:])))
    naive = float(np.mean(np.abs(series[-36:-24] - series[-12:])))
    finite_array(np.asarray(reg.forecast(series[None, -48:, None], 24)))
    reg.calibrate(X[-60:], y[-60:])
    lo_hi = reg.predict_interval(X[-5:], coverage=0.8)
    for a in lo_hi if isinstance(lo_hi, tuple) else (lo_hi,):
        finite_array(np.asarray(a))
    kinds = {}
    for att in ("dot", "general", "concat", "location", "bahdanau"):
        r = Seq2SeqRegressor(
            attention=att, max_epochs=2, random_state=0, device=device
        ).fit(X[:100], y[:100])
        W = finite_array(np.asarray(r.attention_weights(X[:3])))
        kinds[att] = list(W.shape)
    many = [series[: 300 + 20 * i] * (1 + i) for i in range(6)]
    sw = SeriesWindows(n_steps_in=48, n_steps_out=12)
    Xg, yg = sw.fit_windows(many)
    g = Seq2SeqRegressor(max_epochs=3, random_state=0, device=device).fit(Xg, yg)
    fc = sw.forecast(g)
    fc = fc if isinstance(fc, np.ndarray) else np.asarray(fc)
    return {
        "mae_last12": round(mae, 3),
        "seasonal_naive_mae": round(naive, 3),
        "attention_shapes": kinds,
        "global_forecast_shape": list(np.shape(fc)),
    }


@check("Seq2SeqClassifier on the device: greedy, beam search, proba, generate")
def seq_classifier(device, epochs):
    from sksequence import Seq2SeqClassifier
    from sksequence.datasets import make_reversal

    X, y = make_reversal(1500, n_in=6, n_out=3, n_symbols=12, random_state=0)
    clf = Seq2SeqClassifier(
        attention="general", max_epochs=epochs, random_state=0, device=device
    ).fit(X[:1200], y[:1200])
    acc = clf.score(X[1200:], y[1200:])
    P = finite_array(clf.predict_proba(X[1200:1210]))
    assert P.shape[:2] == (10, 3)
    beam = clf.set_params(beam_width=3).predict(X[1200:1300])
    assert beam.shape == (100, 3)
    gen = clf.generate(X[:5], temperature=0.8, random_state=0)
    assert np.shape(gen)[0] == 5
    return {"exact_seq_acc": round(float(acc), 3)}


@check("SlidingWindowAnomalyDetector on the device: ECG, batch independence")
def detector(device, epochs):
    from sklearn.metrics import roc_auc_score

    from sksequence import LSTMAutoencoderTransformer, SlidingWindowAnomalyDetector
    from sksequence.datasets import load_ecg_anomaly

    x, lab = load_ecg_anomaly()
    det = SlidingWindowAnomalyDetector(
        LSTMAutoencoderTransformer(random_state=0, device=device, max_epochs=epochs),
        window_size=200,
    )
    det.fit(x[:6000])
    s = finite_array(np.asarray(det.score_samples(x)).ravel())
    auc = roc_auc_score(lab, -s)  # score_samples: higher is more normal
    both = det.score_samples([x, x[:3000]])
    alone = np.asarray(det.score_samples(x[:3000])).ravel()
    assert np.allclose(np.asarray(both[1]).ravel(), alone, rtol=1e-4, atol=1e-5)
    return {"step_auroc": round(float(auc), 3)}


@check("export_onnx from a device-fitted model")
def onnx_export(device, epochs):
    import onnxruntime as ort

    from sksequence import LSTMAutoencoderTransformer
    from sksequence.export import export_onnx

    X, _ = waves()
    ae = LSTMAutoencoderTransformer(max_epochs=2, random_state=0, device=device).fit(X)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ae.onnx")
        export_onnx(ae, path)
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        out = sess.run(None, {name: X})[0]
    return features_close(out, ae.transform(X), X.shape[1])


@check("device='auto' takes the GPU; a diverging fit is reported, not NaN")
def auto_and_divergence(device, epochs):
    from sksequence import LSTMAutoencoderTransformer

    X, _ = waves(n=40)
    ae = LSTMAutoencoderTransformer(max_epochs=2, device="auto").fit(X)
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert ae.net_.device.startswith(want), ae.net_.device
    bad = X.copy()
    bad[:, :, 0] *= 1e30
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            est = LSTMAutoencoderTransformer(
                max_epochs=5, lr=1e6, clip_grad_norm=None, device=device, random_state=0
            ).fit(bad)
            Z = est.transform(bad)
            outcome = "finite" if np.all(np.isfinite(Z)) else "NaN handed back"
        except (ValueError, RuntimeError, FloatingPointError) as exc:
            outcome = f"raised {type(exc).__name__}"
    assert outcome != "NaN handed back"
    return {"auto_device": ae.net_.device, "diverging_fit": outcome}


# -- timings ------------------------------------------------------------------------------
@check("timing: W2 / W2-small fit, sksequence vs a hand-written loop on the device")
def w2_timing(device, rounds, n_scale):
    from bench_w2_autoencoder import WORKLOADS, fit_handwritten, make_data, make_ours

    out = {}
    for name, (n, t, f, hidden, epochs, bs) in WORKLOADS.items():
        n = max(bs * 8, int(n * n_scale))
        X = make_data(n, t, f)
        fit_handwritten(X[: 8 * bs], hidden, 1, bs, device=device)  # warm-up
        make_ours(hidden, 1, bs).set_params(device=device).fit(X[: 8 * bs])
        times = {"hand-written": [], "sksequence": []}
        losses = {}
        for r in range(rounds):
            order = ["hand-written", "sksequence"][:: 1 if r % 2 == 0 else -1]
            for who in order:
                sync(device)
                t0 = time.perf_counter()
                if who == "hand-written":
                    losses[who] = fit_handwritten(X, hidden, epochs, bs, device=device)
                    sync(device)
                else:
                    est = make_ours(hidden, epochs, bs).set_params(device=device).fit(X)
                    sync(device)
                    losses[who] = float(est.history_[-1, "train_loss"])
                times[who].append(time.perf_counter() - t0)
                print(
                    f"    {name} round {r + 1}: {who} {times[who][-1]:.1f} s",
                    flush=True,
                )
        ratios = [a / b for a, b in zip(times["sksequence"], times["hand-written"])]
        # transform throughput on the same fitted module
        module = est.net_.module_
        Xt = X[: min(len(X), 20_000)]
        tt = {"hand-written": [], "sksequence": []}
        for _ in range(3):
            sync(device)
            t0 = time.perf_counter()
            with torch.no_grad():
                module.eval()
                xt = torch.from_numpy(Xt)
                parts = [
                    module.encode(xt[i : i + 1024].to(device)).cpu()
                    for i in range(0, len(xt), 1024)
                ]
            sync(device)
            tt["hand-written"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            Z = est.transform(Xt)
            sync(device)
            tt["sksequence"].append(time.perf_counter() - t0)
        ref = torch.cat(parts).numpy()
        out[name] = {
            "shape": [n, t, f],
            "steps": epochs * math.ceil(n / bs),
            "fit_s": {k: [round(v, 2) for v in vs] for k, vs in times.items()},
            "fit_ratio_median": round(statistics.median(ratios), 3),
            "ms_per_step": {
                k: round(1e3 * statistics.median(vs) / (epochs * math.ceil(n / bs)), 3)
                for k, vs in times.items()
            },
            "final_loss": {k: round(v, 4) for k, v in losses.items()},
            "transform_ratio_median": round(
                statistics.median(tt["sksequence"])
                / statistics.median(tt["hand-written"]),
                3,
            ),
            "transform_seq_per_s": round(len(Xt) / statistics.median(tt["sksequence"])),
            "transform_max_abs_diff": float(np.max(np.abs(Z - ref))),
        }
    return out


@check("timing: default estimators on real problems (device vs 1 CPU thread)")
def real_timing(device, problems, cpu_too):
    from _ucr_data import load_problem
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sksequence import LSTMAutoencoderTransformer, SequenceClassifier

    out = {}
    for name in problems:
        p = load_problem(name)
        row = {}
        devices = [device] + (["cpu"] if cpu_too else [])
        for dev in devices:
            t0 = time.perf_counter()
            pipe = make_pipeline(
                LSTMAutoencoderTransformer(random_state=0, device=dev, n_threads=1),
                StandardScaler(),
                LogisticRegression(max_iter=1000),
            ).fit(p["X_train"], p["y_train"])
            sync(dev)
            fit_s = time.perf_counter() - t0
            acc = pipe.score(p["X_test"], p["y_test"])
            row[f"ae_{dev}"] = {"fit_s": round(fit_s, 1), "acc": round(float(acc), 3)}
        t0 = time.perf_counter()
        clf = SequenceClassifier(random_state=0, device=device).fit(
            p["X_train"], p["y_train"]
        )
        sync(device)
        row[f"classifier_{device}"] = {
            "fit_s": round(time.perf_counter() - t0, 1),
            "acc": round(float(clf.score(p["X_test"], p["y_test"])), 3),
        }
        out[name] = row
        print(f"    {name}: {row}", flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="few epochs, small timings")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--w2-scale",
        type=float,
        default=0.25,
        help="share of the W2 / W2-small sequences to time (1.0: full size; the "
        "first GPU run, at full size, did not finish 3 rounds in 5 minutes)",
    )
    ap.add_argument("--problems", nargs="*", default=["GunPoint", "ACSF1", "PLAID"])
    ap.add_argument(
        "--cpu-too", action="store_true", help="also time the real fits on CPU"
    )
    ap.add_argument(
        "--skip", nargs="*", default=[], help="names of check functions to skip"
    )
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    global JSON_PATH
    JSON_PATH = args.json
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    torch.set_num_threads(
        1 if args.device == "cpu" else max(1, torch.get_num_threads())
    )
    info = {
        "torch": torch.__version__,
        "cuda": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "threads": torch.get_num_threads(),
    }
    print(info, flush=True)
    epochs = 5 if args.quick else 30
    todo = {
        "ae_methods": lambda: ae_methods(args.device, epochs),
        "ae_vs_cpu": lambda: ae_vs_cpu(args.device, epochs),
        "ae_variants": lambda: ae_variants(args.device, epochs),
        "ae_wide": lambda: ae_wide(args.device, epochs),
        "persistence": lambda: persistence(args.device, epochs),
        "composition": lambda: composition(args.device, epochs),
        "classifier": lambda: classifier(args.device, epochs),
        "regressor": lambda: regressor(args.device, epochs),
        "seq_classifier": lambda: seq_classifier(args.device, 2 if args.quick else 8),
        "detector": lambda: detector(args.device, 5 if args.quick else 40),
        "onnx_export": lambda: onnx_export(args.device, epochs),
        "auto_and_divergence": lambda: auto_and_divergence(args.device, epochs),
        "w2_timing": lambda: w2_timing(
            args.device,
            1 if args.quick else args.rounds,
            0.02 if args.quick else args.w2_scale,
        ),
        "real_timing": lambda: real_timing(
            args.device, [] if args.quick else args.problems, args.cpu_too
        ),
    }
    t0 = time.perf_counter()
    for key, fn in todo.items():
        if key not in args.skip:
            fn()
    n_ok = sum(r["ok"] for r in RESULTS)
    print(
        f"\n{n_ok} of {len(RESULTS)} checks passed in {time.perf_counter() - t0:.0f} s"
    )
    for r in RESULTS:
        if not r["ok"]:
            print(f"  FAILED {r['check']}: {r['error']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {"machine": info, "argv": sys.argv, "results": RESULTS},
                fh,
                indent=1,
                default=str,
            )


if __name__ == "__main__":
    main()
