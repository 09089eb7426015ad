"""The shared fit path: validate once -> plan -> net -> train -> commit.

Regression tests for what a full read of the fit path found (each failed before the
redesign), and for the promises of the shared base: per-fit seeding, fitted modules in
eval mode, a stopping rule that cannot end a fit on its initial plateau.
"""

import threading
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

import sksequence._base
from sksequence import (
    DivergenceWarning,
    LSTMAutoencoderTransformer,
    Seq2SeqClassifier,
    Seq2SeqRegressor,
    SequenceClassifier,
)
from sksequence._net import PlateauStopping

TINY = dict(hidden_size=4, max_epochs=3, batch_size=8, random_state=0)


def _data(seed=0, n=24, steps=6, features=2):
    rng = np.random.RandomState(seed)
    return rng.randn(n, steps, features), rng.randint(0, 2, n)


def _estimators():
    X, y = _data()
    y2 = np.random.RandomState(1).rand(len(X), 2)
    return [
        (LSTMAutoencoderTransformer(**TINY), X, None),
        (SequenceClassifier(**TINY, window_warp=None), X, y),
        (Seq2SeqRegressor(**TINY), X, y2),
        (Seq2SeqClassifier(**TINY), X, np.stack([y, 1 - y], axis=1)),
    ]


class _Fresh:
    """A parameter that builds a fresh (estimator, X, y) for each test."""

    def __init__(self, i):
        self.i = i

    def __repr__(self):
        return type(_estimators()[self.i][0]).__name__


EACH = pytest.mark.parametrize("case", [_Fresh(i) for i in range(4)], ids=repr)


@pytest.fixture
def est_X_y(case):
    return _estimators()[case.i]


# -- validation happens once per public call -----------------------------------------
@pytest.fixture
def validations(monkeypatch):
    """The X conversions made (every estimator validates through the base's
    check_sequences; an already validated SequenceBatch passes through)."""
    calls = []
    original = sksequence._base.check_sequences

    def counting(X, *args, **kwargs):
        if not isinstance(X, sksequence._base.SequenceBatch):
            calls.append(kwargs.get("reset", True))
        return original(X, *args, **kwargs)

    monkeypatch.setattr(sksequence._base, "check_sequences", counting)
    return calls


@EACH
def test_every_public_method_validates_X_exactly_once(est_X_y, validations):
    est, X, y = est_X_y
    est.fit(X, y)
    assert len(validations) == 1, "fit"
    methods = [
        "transform",
        "score_samples",
        "predict",
        "predict_proba",
        "decision_function",
        "hidden_states",
        "attention_weights",
    ]
    for name in methods:
        method = getattr(est, name, None)
        if method is None or (name == "attention_weights" and est.attention is None):
            continue
        validations.clear()
        method(X)
        assert len(validations) == 1, name
    validations.clear()
    if y is None:
        est.score(X)
    else:
        est.score(X, y)
    assert len(validations) == 1, "score"
    validations.clear()
    est.partial_fit(X) if y is None else est.partial_fit(X, y)
    assert len(validations) == 1, "partial_fit"


def test_an_unfitted_encoder_is_pretrained_on_the_validated_batch(validations):
    X, y = _data()
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=2, random_state=0)
    clf = SequenceClassifier(encoder=ae, **{**TINY, "hidden_size": 4})
    clf.fit(X, y)
    assert validations == [True]
    assert clf.encoder_.n_epochs_ == 2


# -- bug 2: a failed fit commits nothing -------------------------------------------------
class _Boom(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("boom")


@EACH
def test_a_failed_fit_leaves_the_estimator_unfitted(est_X_y):
    est, X, y = est_X_y
    est.set_params(callbacks=[_Boom()])
    with pytest.raises(RuntimeError, match="boom"):
        est.fit(X, y)
    with pytest.raises(NotFittedError):
        est.predict(X) if not hasattr(est, "transform") else est.transform(X)
    leftovers = [k for k in vars(est) if k.endswith("_") or k.startswith("_")]
    assert leftovers == []


@EACH
def test_a_failed_refit_keeps_the_previous_model(est_X_y):
    est, X, y = est_X_y
    est.fit(X, y)
    before = {k: v.clone() for k, v in est.net_.module_.state_dict().items()}
    net, history = est.net_, len(est.history_)
    est.set_params(callbacks=[_Boom()], warm_start=True)
    with pytest.raises(RuntimeError, match="boom"):
        est.fit(X, y)
    assert est.net_ is net and len(est.history_) == history
    after = est.net_.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # partial_fit reuses the fitted net: a failure restores its weights
    est.set_params(callbacks=None, warm_start=False)
    est.partial_fit(X) if y is None else est.partial_fit(X, y)
    before = {k: v.clone() for k, v in est.net_.module_.state_dict().items()}
    est.set_params(callbacks=[_Boom()])
    with pytest.raises(RuntimeError, match="boom"):
        est.partial_fit(X) if y is None else est.partial_fit(X, y)
    after = est.net_.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not est.net_.module_.training


def test_a_refit_forgets_the_previous_fit():
    X, _ = _data()
    ae = LSTMAutoencoderTransformer(objective="composite", **TINY).fit(X)
    assert ae.n_future_ == 3
    ae.set_params(objective="reconstruct").fit(X)
    assert ae.n_future_ is None


# -- bug 1: divergence falls back on the last two epochs ---------------------------------
class _Snapshots(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            self.seen = [where for where, _ in net.snapshots]


def test_divergence_snapshots_are_the_last_two_epochs_and_the_start():
    X, _ = _data()
    probe = _Snapshots(6)
    ae = LSTMAutoencoderTransformer(**{**TINY, "max_epochs": 6}, callbacks=[probe])
    ae.fit(X)
    seen = next(cb for _, cb in ae.net_.callbacks_ if isinstance(cb, _Snapshots)).seen
    assert seen == [
        "the weights from the end of epoch 5",
        "the weights from the end of epoch 4",
        "the weights from before training",
    ]


# -- bug 4: the divergence warning suggests only what the estimator offers ---------------
class _Poison(Callback):
    def on_batch_begin(self, net, training=False, **kwargs):
        if training and len(net.history) == 2:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


@EACH
def test_divergence_warning_suggests_truncate_bptt_only_where_offered(est_X_y):
    est, X, y = est_X_y
    est.set_params(callbacks=[_Poison()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    message = str(next(w for w in caught if w.category is DivergenceWarning).message)
    offered = "truncate_bptt" in est.get_params()
    assert ("truncate_bptt" in message) == offered


# -- bug 5: n_timesteps_ is the longest seen -----------------------------------------------
def test_n_timesteps_is_the_longest_over_partial_fit_chunks():
    rng = np.random.RandomState(0)
    ae = LSTMAutoencoderTransformer(**TINY)
    ae.partial_fit(rng.randn(8, 12, 1))
    ae.partial_fit(rng.randn(8, 5, 1))
    assert ae.n_timesteps_ == 12
    assert ae.inverse_transform(ae.transform(rng.randn(2, 5, 1))).shape == (2, 12, 1)


# -- the stopping rule cannot end a fit on the initial plateau ------------------------------
def test_plateau_rule_does_not_stop_before_min_epochs():
    class _Net:
        def __init__(self):
            from skorch.history import History

            self.history = History()

    net = _Net()
    rule = PlateauStopping(patience=2, tol=0.1, min_epochs=5)
    rule.on_train_begin(net)
    stopped_at = None
    for epoch in range(1, 9):
        net.history.new_epoch()
        net.history.record("train_loss", 1.0)  # a flat plateau
        try:
            rule.on_epoch_end(net)
        except KeyboardInterrupt:
            stopped_at = epoch
            break
    assert stopped_at == 5
    assert net.history[-1, "stopped"] == "train_loss plateau"


def test_a_fit_on_its_plateau_keeps_training():
    """An autoencoder first outputs the mean: its loss barely moves for many epochs.
    With n_iter_no_change=3 and a relative tol of 0.05, the old rule stopped it there
    (after 4 epochs); the minimum number of updates keeps it training."""
    X = (
        np.sin(np.linspace(0, 3, 20))[None, :, None]
        * np.linspace(-1, 1, 16)[:, None, None]
    )
    ae = LSTMAutoencoderTransformer(
        hidden_size=8,
        n_iter_no_change=3,
        tol=0.05,
        max_epochs=600,
        lr_schedule="constant",  # (a schedule runs its whole budget anyway)
        random_state=0,
        lr=1e-3,
    )
    ae.fit(X)
    assert ae.n_epochs_ >= ae._min_updates  # one batch per epoch here
    assert ae.loss_curve_[-1] < 0.5 * ae.loss_curve_[0]


def test_autoencoder_default_budget_is_counted_in_updates():
    """max_epochs="auto": 1000 optimizer updates, however few the sequences, and
    the one-cycle schedule runs all of them (no plateau rule)."""
    X = (
        np.sin(np.linspace(0, 3, 12))[None, :, None]
        * np.linspace(-1, 1, 40)[:, None, None]
    )
    ae = LSTMAutoencoderTransformer(
        hidden_size=4, conv_channels=(4,), conv_kernel_sizes=(3,), random_state=0
    ).fit(X)
    assert ae.n_epochs_ == 1000 // 3 + 1  # 3 batches of 16 per epoch
    assert "stopping" not in dict(ae.net_.callbacks_)


def test_autoencoder_budget_shrinks_for_wide_sequences(monkeypatch):
    """max_epochs="auto" for sequences of more than _PATCH_VALUES values on
    average (steps as the front end reads them, times features): that many
    times fewer updates, at least half; a model without a front end, or
    fitted before patch_values, keeps the whole budget."""
    import types

    import sksequence._autoencoder as autoencoder

    ae = LSTMAutoencoderTransformer()

    def budget(shape, patch_values, lengths=None, pool=1, front=(64,)):
        plan = types.SimpleNamespace(
            module_kwargs=dict(
                patch_values=patch_values, input_pool=pool, conv_channels=front
            ),
            inputs=dict(x=np.zeros(shape), lengths=lengths),
        )
        return ae._budget(plan)

    assert budget((5, 100, 4), 400) == 1000  # 400 values: every update
    assert budget((5, 100, 5), 400) == 800
    assert budget((5, 100, 50), 400) == 500  # at least half
    assert budget((5, 100, 5), 400, lengths=np.array([40, 60, 100, 100, 100])) == 1000
    assert budget((5, 100, 5), 400, pool=2) == 1000  # 50 steps read
    assert budget((5, 100, 50), 0) == 1000  # fitted before patch_values
    assert budget((5, 100, 50), 400, front=None) == 1000
    # a fit: 16 sequences (one update an epoch) of 12 x 1 values, 8 at most
    monkeypatch.setattr(autoencoder, "_PATCH_VALUES", 8)
    X = (
        np.sin(np.linspace(0, 3, 12))[None, :, None]
        * np.linspace(-1, 1, 16)[:, None, None]
    )
    small = dict(hidden_size=4, conv_channels=(4,), conv_kernel_sizes=(3,))
    fitted = LSTMAutoencoderTransformer(**small, random_state=0).fit(X)
    assert fitted.n_epochs_ == 667


# -- seeding per fit ---------------------------------------------------------------------
def test_fits_in_threads_match_serial_fits_and_leave_the_global_rng():
    X, _ = _data()
    seeds = [0, 1, 2, 3]

    def fit(seed):
        return (
            LSTMAutoencoderTransformer(
                hidden_size=4, max_epochs=2, batch_size=8, random_state=seed
            )
            .fit(X)
            .transform(X)
        )

    serial = [fit(s) for s in seeds]
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    for _ in range(3):
        results = [None] * len(seeds)

        def run(i, results=results):
            results[i] = fit(seeds[i])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(seeds))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for a, b in zip(serial, results):
            assert np.array_equal(a, b)
    assert torch.equal(state, torch.random.get_rng_state())


def test_initial_weights_do_not_depend_on_the_global_rng():
    X, y = _data()
    states = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        clf = SequenceClassifier(**{**TINY, "max_epochs": 1}, window_warp=None)
        clf.fit(X, y)
        states.append(clf.net_.module_.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


# -- thread-safe inference ------------------------------------------------------------------
def test_threaded_inference_is_exact_and_changes_nothing():
    X, y = _data(n=40, steps=30)
    clf = SequenceClassifier(hidden_size=8, max_epochs=2, random_state=0).fit(X, y)
    assert not clf.net_.module_.training
    before = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    serial = clf.predict_proba(X)
    results = []

    def run():
        for _ in range(5):
            results.append(clf.predict_proba(X))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40
    assert all(np.array_equal(r, serial) for r in results)
    after = clf.net_.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert np.array_equal(clf.predict_proba(X), serial)


# -- fit options --------------------------------------------------------------------------
@EACH
def test_validation_data_is_scored_every_epoch(est_X_y):
    est, X, y = est_X_y
    X_val = X[:6]
    kwargs = {"X_val": X_val} if y is None else {"X_val": X_val, "y_val": y[:6]}
    est.fit(X, y, **kwargs)
    assert len(est.validation_loss_curve_) == est.n_epochs_
    assert est.loss_curve_ == list(est.history_[:, "train_loss"])


def test_sample_weight_changes_the_fit_and_zero_weights_ignore_samples():
    X, y = _data(n=32)
    base = SequenceClassifier(**TINY, window_warp=None)
    a = base.fit(X, y, sample_weight=np.r_[np.ones(16), np.zeros(16)]).predict_proba(X)
    b = base.fit(X[:16], y[:16]).predict_proba(X)
    c = base.fit(X, y).predict_proba(X)
    assert not np.allclose(a, c)
    # zero-weight sequences only change the batches' composition, not the loss
    assert a.shape == b.shape


def test_epoch_scoring_accuracy_works_on_validation_data():
    from skorch.callbacks import EpochScoring

    X, y = _data(n=40)
    clf = SequenceClassifier(
        **TINY,
        window_warp=None,
        callbacks=[EpochScoring("accuracy", lower_is_better=False, name="valid_acc")],
    )
    clf.fit(X[:30], y[:30], X_val=X[30:], y_val=y[30:])
    accs = clf.history_[:, "valid_acc"]
    assert len(accs) == clf.n_epochs_ and all(0 <= a <= 1 for a in accs)
    assert accs[-1] == pytest.approx(clf.score(X[30:], y[30:]))


def test_device_is_checked_in_the_package_words():
    X, _ = _data()
    if torch.cuda.is_available():
        pytest.skip("a GPU is available here")
    with pytest.raises(ValueError, match="torch sees none on this machine"):
        LSTMAutoencoderTransformer(**TINY, device="cuda").fit(X)
    with pytest.raises(ValueError, match="not a device torch knows"):
        LSTMAutoencoderTransformer(**TINY, device="gpu0").fit(X)
    ae = LSTMAutoencoderTransformer(**TINY, device="auto").fit(X)
    assert ae.net_.device == "cpu"


def test_threads_are_set_for_the_fit_and_restored():
    X, _ = _data()
    seen = []

    class _Threads(Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        LSTMAutoencoderTransformer(**TINY, callbacks=[_Threads()]).fit(X)
        assert set(seen) == {1} and torch.get_num_threads() == 2
        seen.clear()
        LSTMAutoencoderTransformer(**TINY, n_threads=2, callbacks=[_Threads()]).fit(X)
        assert set(seen) == {2}
    finally:
        torch.set_num_threads(before)


def test_verbose_prints_plain_epoch_lines(capsys):
    X, _ = _data()
    LSTMAutoencoderTransformer(**TINY, verbose=1).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3
    assert out[0].startswith("[LSTMAutoencoderTransformer] epoch 1/3  train_loss=")
    assert "\x1b[" not in "".join(out)  # no colour codes


def test_fitting_inside_inference_mode_and_float64_default_dtype():
    X, _ = _data()
    with torch.inference_mode():
        ae = LSTMAutoencoderTransformer(**TINY).fit(X)
    assert ae.transform(X).shape == (len(X), ae.n_components_)
    assert ae.n_components_ == ae.net_.module_.encoding_size  # n_components=None
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        ae = LSTMAutoencoderTransformer(**TINY).fit(X)
        assert np.isfinite(ae.transform(X)).all()
        reg = Seq2SeqRegressor(**TINY).fit(X, X[:, :2, 0])
        assert np.isfinite(reg.predict(X)).all()
    finally:
        torch.set_default_dtype(before)


@pytest.mark.parametrize(
    "module_cls, kwargs",
    [
        ("SequenceAutoencoder", dict(input_size=2, n_components=3)),
        ("SequenceAutoencoder", dict(input_size=2, objective="composite")),
        (
            "RecurrentClassifier",
            dict(
                input_size=2,
                n_classes=3,
                conv_channels=(4,),
                conv_kernel_sizes=(3,),
                conv_strides=(1,),
            ),
        ),
        ("Seq2Seq", dict(input_size=2, output_size=2, attention="bahdanau")),
        (
            "Seq2Seq",
            dict(
                input_size=1,
                output_size=1,
                pattern="direct",
                scaling="mean",
                skip=True,
                max_length=8,
                horizon=3,
            ),
        ),
        (
            "Seq2Seq",
            dict(
                input_size=2,
                output_size=3,
                attention="concat",
                categorical=True,
                input_feeding=True,
            ),
        ),
    ],
)
def test_every_parameter_is_drawn_from_the_generator(module_cls, kwargs):
    """Building a module under two global seeds, then resetting it from the same
    generator, gives the same weights: no parameter keeps a global-rng draw."""
    import sksequence.nn as snn
    from sksequence.nn import reset_parameters

    states = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        module = getattr(snn, module_cls)(**kwargs)
        reset_parameters(module, torch.Generator().manual_seed(0))
        states.append(module.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


@pytest.mark.parametrize(
    "make", [SequenceClassifier, LSTMAutoencoderTransformer, Seq2SeqRegressor]
)
def test_dropout_with_one_layer_warns(make):
    """dropout acts between stacked layers only: with one layer fit says so."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 5, 1))
    y = np.arange(8) % 2 if make is SequenceClassifier else None
    if make is Seq2SeqRegressor:
        y = rng.normal(size=(8, 2, 1))
    params = dict(hidden_size=4, max_epochs=1)
    with pytest.warns(UserWarning, match="no effect with num_layers=1"):
        make(dropout=0.2, **params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        make(dropout=0.2, num_layers=2, **params).fit(X, y)
