"""Shared training machinery: interruption and injected divergence, on every estimator."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sksequence import (
    DivergenceWarning,
    LSTMAutoencoderTransformer,
    Seq2SeqRegressor,
    SequenceClassifier,
    TrainingInterrupted,
)


class _At(Callback):
    """Act at (epoch, batch): raise KeyboardInterrupt or poison a weight with NaN."""

    def __init__(self, epoch, batch, action):
        self.epoch, self.batch, self.action = epoch, batch, action

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        epoch = len(net.history)
        current = len(net.history[-1]["batches"])  # 1-based: this batch is counted
        if training and epoch == self.epoch and current == self.batch:
            if self.action == "interrupt":
                raise KeyboardInterrupt
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


def _estimators():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 6, 2)
    common = dict(hidden_size=4, max_epochs=5, batch_size=8, random_state=0)
    return [
        (LSTMAutoencoderTransformer(**common), X, None),
        (SequenceClassifier(**common), X, rng.randint(0, 2, 40)),
        (Seq2SeqRegressor(**common), X, rng.rand(40, 2)),
    ]


@pytest.mark.parametrize("est, X, y", _estimators(), ids=lambda v: type(v).__name__)
def test_ctrl_c_leaves_a_usable_model_and_warns(est, X, y):
    est.set_params(callbacks=[_At(3, 2, "interrupt")])
    with pytest.warns(TrainingInterrupted, match="interrupted.*during epoch 3"):
        est.fit(X, y)
    assert len(est.history_) == 2  # the finished epochs only
    assert all("train_loss" in row for row in est.history_)
    out = est.transform(X) if hasattr(est, "transform") else est.predict(X)
    assert np.isfinite(np.asarray(out, dtype=float)).all()


@pytest.mark.parametrize("est, X, y", _estimators(), ids=lambda v: type(v).__name__)
def test_injected_nan_restores_finite_weights_and_warns(est, X, y):
    est.set_params(callbacks=[_At(3, 2, "poison")])
    with pytest.warns(DivergenceWarning, match="epoch 3, batch 2"):
        est.fit(X, y)
    assert est.diverged_
    weights = list(est.net_.module_.parameters())
    assert all(torch.isfinite(p).all() for p in weights)
    out = est.transform(X) if hasattr(est, "transform") else est.predict(X)
    assert np.isfinite(np.asarray(out, dtype=float)).all()


@pytest.mark.parametrize("est, X, y", _estimators(), ids=lambda v: type(v).__name__)
def test_answers_do_not_depend_on_the_batch(est, X, y):
    """predict/transform of one row, or of a few, equals that row of the whole
    batch bit for bit (tiny batches are padded; see _base._MIN_ROWS)."""
    est.fit(X, y)
    method = getattr(est, "transform", None) or getattr(est, "predict_proba", None)
    method = method or est.predict
    full = method(X)
    for i in range(0, len(X), 7):
        assert np.array_equal(method(X[i : i + 1])[0], full[i])
        assert np.array_equal(method(X[i : i + 3]), full[i : i + 3])
