"""Inputs that the property-based tests (test_properties.py) found broken, kept as
plain regression tests: they need neither hypothesis nor onnx."""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sksequence import (
    DivergenceWarning,
    LSTMAutoencoderTransformer,
    Seq2SeqRegressor,
    SequenceClassifier,
)
from sksequence.utils.validation import check_sequences, check_target_sequences

TINY = dict(hidden_size=2, max_epochs=1, batch_size=4, random_state=0)
CLF = dict(conv_channels=(2,), conv_kernel_sizes=(3,), **TINY)


def _finite(a) -> bool:
    a = np.asarray(a)
    return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


def _fit_quietly(est, *args):
    with warnings.catch_warnings():
        # Huge magnitudes may diverge at once: that is reported, not silent.
        warnings.simplefilter("ignore", DivergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return est.fit(*args)


def _autoencoder():
    X = np.random.RandomState(0).randn(6, 4, 2)
    return _fit_quietly(LSTMAutoencoderTransformer(**TINY), X)


def test_found_y_and_z_beyond_float32_are_errors():
    batch = check_sequences(np.zeros((3, 2, 1)))
    with pytest.raises(ValueError, match="too large for float32"):
        check_target_sequences(np.full((3, 2), 1e39), batch)
    ae = _autoencoder()
    with pytest.raises(ValueError, match="too large for float32"):
        ae.inverse_transform(np.full((2, ae.n_components_), 1e39))


def test_found_y_with_zero_steps_is_an_error():
    with pytest.raises(ValueError, match="0 steps"):
        Seq2SeqRegressor(**TINY).fit(np.zeros((3, 2, 1)), np.zeros((3, 0)))


@pytest.mark.parametrize("which", [0, 1, 2])
def test_found_huge_magnitudes_give_finite_outputs(which):
    rng = np.random.RandomState(0)
    X, y = rng.rand(4, 3, 1), rng.rand(4, 2)
    if which == 0:  # score_samples overflowed float32 to -inf
        ae = _fit_quietly(LSTMAutoencoderTransformer(**TINY), X * 1e30)
        out = ae.score_samples(X * 1e30)
    elif which == 1:  # the classifier's float32 input mean overflowed to NaN
        clf = _fit_quietly(SequenceClassifier(**CLF), X * -3e38, [0, 1, 0, 1])
        out = clf.predict_proba(X * -3e38)
    else:  # the regressor's float32 target statistics overflowed
        out = _fit_quietly(Seq2SeqRegressor(**TINY), X, y * 1e30).predict(X)
    assert _finite(out)


class _FirstConv(Callback):
    """Keeps the first convolution's weights from before training."""

    def on_train_begin(self, net, **kwargs):
        self.before = net.module_.front.convs[0].weight.detach().clone()


def test_found_one_step_batch_of_one_trains_the_conv_front_end():
    # batches of 4 and 1, one step each: batch norm has one value per channel in
    # the last batch (torch refuses that); the front end must still train
    X = np.random.RandomState(0).rand(5, 1, 2)
    probe = _FirstConv()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the one-timestep layout warning)
        clf = SequenceClassifier(**{**CLF, "max_epochs": 2}, callbacks=[probe])
        clf.fit(X, [0, 1, 0, 1, 0])
    assert _finite(clf.predict_proba(X))
    kept = next(cb for _, cb in clf.net_.callbacks_ if isinstance(cb, _FirstConv))
    after = clf.net_.module_.front.convs[0].weight
    assert not torch.equal(kept.before, after)


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_found_non_positive_decode_lengths_are_errors(bad):
    ae = _autoencoder()
    with pytest.raises(ValueError, match="n_timesteps must be a positive integer"):
        ae.inverse_transform(np.zeros((1, ae.n_components_)), n_timesteps=bad)
