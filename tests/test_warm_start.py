"""Continuing training: warm_start=True and partial_fit, on every estimator."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sksequence import (
    DivergenceWarning,
    LSTMAutoencoderTransformer,
    Seq2SeqClassifier,
    Seq2SeqRegressor,
    SequenceClassifier,
    TrainingInterrupted,
)

COMMON = dict(hidden_size=4, max_epochs=3, batch_size=8, random_state=0)


def _data(kind, seed=0, n=40):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 6, 2)
    y = {
        "ae": None,
        "clf": rng.randint(0, 3, n),
        "reg": rng.rand(n, 3),
        "s2s": rng.randint(0, 3, (n, 2)),
    }[kind]
    return X, y


KINDS = {
    "ae": LSTMAutoencoderTransformer,
    "clf": SequenceClassifier,
    "reg": Seq2SeqRegressor,
    "s2s": Seq2SeqClassifier,
}


def _make(kind):
    return KINDS[kind](**COMMON)


def _partial_fit(est, X, y, kind):
    if kind in ("clf", "s2s"):
        return est.partial_fit(X, y, classes=[0, 1, 2])
    return est.partial_fit(X, y)


def _output(est, X):
    out = est.transform(X) if hasattr(est, "transform") else est.predict(X)
    return np.asarray(out, dtype=float)


def _state(est):
    return {k: v.clone() for k, v in est.net_.module_.state_dict().items()}


def _user(net):
    """The position of the user's callback among the net's callbacks."""
    return next(
        i for i, (name, _) in enumerate(net.callbacks_) if name.startswith("user_")
    )


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class _Record(Callback):
    """Keep a copy of the module's weights when training begins."""

    def on_train_begin(self, net, **kwargs):
        self.start = {k: v.clone() for k, v in net.module_.state_dict().items()}


class _Poison(Callback):
    """Fill the first weight with NaN at (epoch, batch) of the history."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if (
            training
            and len(net.history) == self.epoch
            and len(net.history[-1]["batches"]) == self.batch
        ):
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


EACH = pytest.mark.parametrize("kind", KINDS, ids=[c.__name__ for c in KINDS.values()])


@EACH
def test_warm_start_fit_continues_from_the_fitted_weights(kind):
    est = _make(kind)
    X, y = _data(kind)
    est.fit(X, y)
    fitted, n_before = _state(est), est.n_epochs_
    record = _Record()
    est.set_params(warm_start=True, callbacks=[record]).fit(X, y)
    start = est.net_.callbacks_[_user(est.net_)][1].start  # the fit's own copy
    assert _same_state(start, fitted)
    assert est.n_epochs_ == n_before + 3
    assert [row["epoch"] for row in est.history_] == list(range(1, est.n_epochs_ + 1))
    assert not _same_state(_state(est), fitted)  # it did train
    # warm_start=False starts afresh: the same model as a first fit
    est.set_params(warm_start=False, callbacks=None).fit(X, y)
    assert est.n_epochs_ == 3
    assert _same_state(_state(est), fitted)


@EACH
def test_partial_fit_trains_one_epoch_per_call(kind):
    est = _make(kind)
    X, y = _data(kind)
    _partial_fit(est, X, y, kind)
    net = est.net_
    assert est.n_epochs_ == 1
    first = _state(est)
    _partial_fit(est, X, y, kind)
    assert est.net_ is net  # the same net: the optimizer's moments carry over
    assert est.n_epochs_ == 2 and not _same_state(_state(est), first)
    assert net.optimizer_.state  # Adam's running averages exist
    assert np.isfinite(_output(est, X)).all()
    steps = float(next(iter(net.optimizer_.state.values()))["step"])
    assert steps == 2 * 5  # 40 samples in batches of 8, two epochs
    # a changed lr is used; the optimizer's statistics still carry over
    est.set_params(lr=1e-4)
    _partial_fit(est, X, y, kind)
    assert est.net_ is not net
    assert all(g["lr"] == 1e-4 for g in est.net_.optimizer_.param_groups)
    assert float(next(iter(est.net_.optimizer_.state.values()))["step"]) == 15
    # pickles and keeps training after unpickling
    again = pickle.loads(pickle.dumps(est))
    _partial_fit(again, X, y, kind)
    assert again.n_epochs_ == 4


@EACH
def test_partial_fit_is_deterministic(kind):
    X, y = _data(kind)
    X2, y2 = _data(kind, seed=1)
    a, b = _make(kind), _make(kind)
    states = []
    for e in (a, b):
        _partial_fit(e, X, y, kind)
        states.append(_state(e))
        _partial_fit(e, X2, y2, kind)
    assert _same_state(_state(a), _state(b))
    # and the second call trained: the weights moved from those after the first
    assert not _same_state(_state(a), states[0])
    assert a.n_epochs_ == 2


@EACH
def test_training_goes_on_after_divergence(kind):
    est = _make(kind)
    X, y = _data(kind)
    est.set_params(callbacks=[_Poison(2, 2)])
    with pytest.warns(DivergenceWarning, match="partial_fit or set warm_start=True"):
        est.fit(X, y)
    assert est.diverged_
    restored, n_before = _state(est), est.n_epochs_
    assert all(torch.isfinite(v).all() for v in restored.values())
    # go on, slower, from the restored weights
    est.set_params(callbacks=[_Record()], lr=est.lr / 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        _partial_fit(est, X, y, kind)
    assert _same_state(est.net_.callbacks_[_user(est.net_)][1].start, restored)
    assert not est.diverged_ and est.n_epochs_ == n_before + 1
    assert est.history_[n_before - 1].get("diverged")  # the record is kept
    est.set_params(warm_start=True, callbacks=None).fit(X, y)
    assert not est.diverged_ and est.n_epochs_ == n_before + 4
    assert np.isfinite(_output(est, X)).all()


def test_partial_fit_interrupted_keeps_finished_epochs():
    X, y = _data("clf")
    est = SequenceClassifier(**COMMON)
    est.partial_fit(X, y, classes=[0, 1, 2])

    class _Interrupt(Callback):
        def on_batch_begin(self, net, batch=None, training=False, **kwargs):
            if training and len(net.history[-1]["batches"]) == 2:
                raise KeyboardInterrupt

    est.set_params(callbacks=[_Interrupt()])
    with pytest.warns(TrainingInterrupted):
        est.partial_fit(X, y)
    assert est.n_epochs_ == 1 and "train_loss" in est.history_[-1]
    assert np.isfinite(est.predict_proba(X)).all()


def test_partial_fit_on_chunks_learns_a_classification_problem():
    rng = np.random.RandomState(0)
    t = np.linspace(0, 4 * np.pi, 30)
    y = rng.randint(0, 2, 400)
    X = np.where(y[:, None], np.sign(np.sin(t)), np.sin(t)) + 0.2 * rng.randn(400, 30)
    est = SequenceClassifier(hidden_size=16, random_state=0)
    for _ in range(4):
        for start in range(0, 300, 50):  # data arriving in chunks of 50
            est.partial_fit(
                X[start : start + 50], y[start : start + 50], classes=[0, 1]
            )
    assert est.n_epochs_ == 24
    assert est.score(X[300:], y[300:]) >= 0.95


def test_partial_fit_after_fit_keeps_what_fit_learnt():
    rng = np.random.RandomState(0)
    X = [rng.rand(n, 1) for n in rng.randint(5, 40, 30)]
    y = rng.choice(["a", "b"], 30)
    est = SequenceClassifier(max_epochs=2, random_state=0, hidden_size=4).fit(X, y)
    strides, pooling = est.conv_strides_, est.pooling_
    scale = est.net_.module_.input_scale.clone()
    est.partial_fit(rng.rand(30, 80) * 100, y)  # longer, equal-length, other scale
    assert est.conv_strides_ == strides and est.pooling_ == pooling == "last_max"
    assert torch.equal(est.net_.module_.input_scale, scale)
    assert list(est.classes_) == ["a", "b"] and est.n_timesteps_ == 80
    assert est.n_epochs_ == 3


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda e, X, y: e.partial_fit(X, y), "classes must be passed on the first"),
        (
            lambda e, X, y: e.set_params(class_weight="balanced").partial_fit(
                X, y, classes=[0, 1, 2]
            ),
            "class_weight='balanced' is not supported by partial_fit",
        ),
        (
            lambda e, X, y: e.partial_fit(X, y, classes=[0, 1]),
            r"labels \[2\] that are not among the classes",
        ),
    ],
)
def test_partial_fit_first_call_errors(call, match):
    X, y = _data("clf")
    with pytest.raises(ValueError, match=match):
        call(SequenceClassifier(**COMMON), X, y)


@EACH
def test_continuing_refuses_incompatible_data(kind):
    est = _make(kind)
    X, y = _data(kind)
    est.fit(X, y)
    with pytest.raises(ValueError, match="fitted with 2"):
        _partial_fit(est, np.ones((40, 6, 3)), y, kind)
    if kind in ("clf", "s2s"):
        with pytest.raises(ValueError, match=r"labels \[7\] that are not among"):
            est.partial_fit(X, np.full_like(y, 7))
        with pytest.raises(ValueError, match="not the same as on the first call"):
            est.partial_fit(X, y, classes=[0, 1, 2, 3])
    if kind in ("reg", "s2s"):
        with pytest.raises(ValueError, match="same"):
            est.partial_fit(X, y[:, :1])
    with pytest.raises(ValueError, match="do not fit the model"):
        est.set_params(warm_start=True, hidden_size=5).fit(X, y)
    # the refused calls left the fitted model as it was
    assert est.n_epochs_ == 3 and np.isfinite(_output(est, X)).all()


def test_seq2seq_classifier_variable_length_labels_continue():
    rng = np.random.RandomState(0)
    X = rng.rand(30, 5, 1)
    short = [list(rng.randint(0, 3, k)) for k in rng.randint(1, 3, 30)]
    longer = [list(rng.randint(0, 3, k)) for k in rng.randint(1, 5, 30)]
    est = Seq2SeqClassifier(**COMMON).fit(X, short)
    est.partial_fit(X, longer)
    assert est.n_steps_out_ == max(len(s) for s in longer)
    assert max(len(p) for p in est.predict(X)) <= est.n_steps_out_
    with pytest.raises(ValueError, match="keeps the layout of the first fit"):
        est.partial_fit(X, rng.randint(0, 3, (30, 2)))


def test_location_attention_keeps_its_length():
    rng = np.random.RandomState(0)
    est = Seq2SeqRegressor(attention="location", **COMMON).fit(
        rng.rand(20, 6, 1), rng.rand(20, 2)
    )
    with pytest.raises(ValueError, match="at most 6"):
        est.partial_fit(rng.rand(20, 9, 1), rng.rand(20, 2))
    est.partial_fit(rng.rand(20, 4, 1), rng.rand(20, 2))
    assert est.n_timesteps_ == 6


def test_saved_model_continues_training(tmp_path):
    X, y = _data("clf")
    est = SequenceClassifier(**COMMON).fit(X, y)
    est.save(tmp_path / "m.sks")
    loaded = SequenceClassifier.load(tmp_path / "m.sks")
    record = _Record()
    loaded.set_params(callbacks=[record]).partial_fit(X, y)
    user = loaded.net_.callbacks_[_user(loaded.net_)][1]
    assert _same_state(user.start, _state(est))
    assert loaded.n_epochs_ == est.n_epochs_ + 1
