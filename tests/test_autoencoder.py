"""Behaviour of LSTMAutoencoderTransformer: results a user can check."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from skorch.callbacks import Callback

from sksequence import DivergenceWarning, LSTMAutoencoderTransformer

from .conftest import make_waves

TUTORIAL = dict(hidden_size=32, lr=1e-2, max_epochs=300)
# the classic LSTM autoencoder: the raw input into one LSTM, its final state the code
CLASSIC = dict(
    conv_channels=None,
    pooling="last",
    bidirectional=False,
    code_norm="none",
    scaling="none",
    shape_basis=0,
    feature_loss=0.0,
    input_noise=0.0,
)


# -- the classic tutorial trio --------------------------------------------------------
def test_reconstructs_tutorial_sequence(tutorial_sequence):
    ae = LSTMAutoencoderTransformer(random_state=0, **TUTORIAL).fit(tutorial_sequence)
    recon = ae.inverse_transform(ae.transform(tutorial_sequence))
    assert recon.shape == (1, 9, 1)
    np.testing.assert_allclose(recon, tutorial_sequence, atol=0.05)
    assert ae.history_[-1, "train_loss"] < ae.history_[0, "train_loss"] / 100


def test_predicts_continuation_of_tutorial_sequence(tutorial_sequence):
    ae = LSTMAutoencoderTransformer(
        objective="predict", n_future=4, random_state=0, **TUTORIAL
    ).fit(tutorial_sequence)
    forecast = ae.forecast(tutorial_sequence[:, :5])
    assert forecast.shape == (1, 4, 1)
    np.testing.assert_allclose(forecast, tutorial_sequence[:, 5:], atol=0.05)
    with pytest.raises(ValueError, match="reconstruction decoder"):
        ae.inverse_transform(ae.transform(tutorial_sequence[:, :5]))


def test_composite_reconstructs_and_predicts(tutorial_sequence):
    ae = LSTMAutoencoderTransformer(
        objective="composite", n_future=4, random_state=0, **TUTORIAL
    ).fit(tutorial_sequence)
    observed = tutorial_sequence[:, :5]
    recon = ae.inverse_transform(ae.transform(observed))
    np.testing.assert_allclose(recon, observed, atol=0.05)
    np.testing.assert_allclose(
        ae.forecast(observed), tutorial_sequence[:, 5:], atol=0.05
    )
    # two decoders on one encoder
    module = ae.net_.module_
    assert module.reconstructor is not None and module.predictor is not None


def test_next_step_forecast_generalises_to_new_windows():
    # Windows of a sine wave; learn to forecast the next step of unseen windows.
    rng = np.random.RandomState(0)
    t0 = rng.uniform(0, 2 * np.pi, size=200)
    steps = np.arange(11) * 0.3
    X = np.sin(t0[:, None] + steps[None, :])[:, :, None]
    ae = LSTMAutoencoderTransformer(
        objective="predict",
        n_future=1,
        hidden_size=16,
        max_epochs=40,
        lr=1e-2,
        random_state=0,
    ).fit(X[:150])
    pred = ae.forecast(X[150:, :10])
    err = np.abs(pred[:, 0, 0] - X[150:, 10, 0])
    naive = np.abs(X[150:, 9, 0] - X[150:, 10, 0])  # repeat the last value
    assert err.mean() < 0.5 * naive.mean()


@pytest.mark.parametrize("conditional", [False, True])
@pytest.mark.parametrize("reverse_target", [False, True])
def test_decoder_variants_learn(conditional, reverse_target, tutorial_sequence):
    ae = LSTMAutoencoderTransformer(
        conditional=conditional,
        reverse_target=reverse_target,
        random_state=0,
        **TUTORIAL,
    ).fit(tutorial_sequence)
    # Conditional decoders feed back their own outputs at inference; the score is
    # the negative mean absolute error: the sequence is recreated within 0.05
    assert ae.score(tutorial_sequence) > -0.05


# -- scikit-learn integration ------------------------------------------------------
def test_features_feed_a_classifier_in_grid_search():
    # slow vs fast sines with random phase: the encodings must capture frequency
    rng = np.random.RandomState(0)
    y = rng.randint(0, 2, 80)
    t = np.linspace(0, 4 * np.pi, 24)
    freq = np.where(y == 0, 1.0, 2.5)[:, None]
    X = np.sin(freq * t + rng.uniform(0, 2 * np.pi, (80, 1))) + 0.05 * rng.randn(80, 24)
    pipe = make_pipeline(
        LSTMAutoencoderTransformer(
            hidden_size=16, max_epochs=20, lr=1e-2, batch_size=8, random_state=0
        ),
        SVC(),
    )
    search = GridSearchCV(
        pipe, {"lstmautoencodertransformer__n_components": [2, 8]}, cv=2
    ).fit(X, y)
    # both code sizes capture the frequency (with the default feature loss even
    # the 2-value code does: 1.0, where it got 0.875 without it)
    assert min(search.cv_results_["mean_test_score"]) > 0.75
    best = search.best_estimator_[0]
    assert (
        best.n_components
        == search.best_params_["lstmautoencodertransformer__n_components"]
    )
    assert best.transform(X).shape == (80, best.n_components)
    assert search.best_estimator_.predict(X).shape == (80,)


def test_pickle_round_trip_gives_same_encodings(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(hidden_size=8, max_epochs=2, random_state=0).fit(X)
    loaded = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(loaded.transform(X), ae.transform(X))
    np.testing.assert_array_equal(loaded.score_samples(X), ae.score_samples(X))


def test_same_random_state_same_model(waves):
    X, _ = waves
    params = dict(hidden_size=8, max_epochs=3, dropout=0.0)
    a = LSTMAutoencoderTransformer(random_state=3, **params).fit(X).transform(X)
    b = LSTMAutoencoderTransformer(random_state=3, **params).fit(X).transform(X)
    c = LSTMAutoencoderTransformer(random_state=4, **params).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_random_state_does_not_touch_global_torch_seed(waves):
    import torch

    X, _ = waves
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1, random_state=0).fit(X)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_pandas_output_and_feature_names(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(n_components=3, hidden_size=8, max_epochs=1)
    ae.set_output(transform="pandas")
    Z = ae.fit_transform(X)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == [f"lstmautoencodertransformer{i}" for i in range(3)]


def test_clone_keeps_params_and_drops_fit(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(
        n_components=5, objective="composite", lr=0.01, hidden_size=4, max_epochs=2
    ).fit(X)
    copy = clone(ae)
    assert copy.get_params() == ae.get_params()
    assert not any(k.endswith("_") for k in vars(copy))
    with pytest.raises(NotFittedError):
        copy.transform(X)


# -- variable length and padding ---------------------------------------------------
def test_padding_never_changes_an_encoding_or_score(ragged):
    ae = LSTMAutoencoderTransformer(hidden_size=8, max_epochs=3, random_state=0)
    ae.fit(ragged)
    Z = ae.transform(ragged)
    S = ae.score_samples(ragged)
    for i, seq in enumerate(ragged):
        np.testing.assert_allclose(ae.transform([seq])[0], Z[i], atol=1e-5)
        np.testing.assert_allclose(ae.score_samples([seq])[0], S[i], rtol=1e-4)


def test_dilated_shares_do_not_depend_on_the_batch_padding():
    """The default features' dilated maps (dilations 1, 2, 3, 4 for a median
    length of 40) and first differences stop at each sequence's end: a sequence encoded
    alone or padded in a batch of longer ones gets the same features."""
    rng = np.random.RandomState(2)
    X = [np.cumsum(rng.randn(n, 2), axis=0) for n in (25, 40, 61, 33, 52, 40)]
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=2, random_state=0)
    Z = ae.fit(X).transform(X)
    assert ae.ppv_dilations_ == (1, 2, 3, 4)
    for i, seq in enumerate(X):
        np.testing.assert_allclose(ae.transform([seq])[0], Z[i], atol=1e-5)


def test_ragged_input_is_not_truncated(ragged):
    ae = LSTMAutoencoderTransformer(
        hidden_size=8, max_epochs=1, random_state=0, **CLASSIC
    )
    ae.fit(ragged)
    assert ae.n_timesteps_ == 12
    out = ae.hidden_states(ragged)
    assert out.shape == (7, 12, 8)
    # past each sequence's end, every hidden state is exactly zero
    assert np.all(out[1, 3:] == 0) and np.any(out[1, 2] != 0)


def test_hidden_states_and_final_states(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(
        hidden_size=6, num_layers=2, max_epochs=1, **CLASSIC
    )
    ae.fit(X)
    out, h_n, c_n = ae.hidden_states(X, return_state=True)
    assert out.shape == (80, 24, 6)
    assert h_n.shape == c_n.shape == (80, 2, 6)
    np.testing.assert_allclose(out[:, -1], h_n[:, -1], atol=1e-6)  # last layer
    np.testing.assert_allclose(ae.transform(X), h_n[:, -1], atol=1e-6)


def test_bidirectional_gru_encoding_size(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(
        hidden_size=5,
        cell="gru",
        bidirectional=True,
        conv_channels=None,
        pooling="last",
        max_epochs=1,
    ).fit(X)
    assert ae.transform(X).shape == (80, 10)
    _, h_n, c_n = ae.hidden_states(X, return_state=True)
    assert h_n.shape == (80, 2, 5) and c_n is None


# -- anomaly scores -------------------------------------------------------------------
def _span_error(ae, train, X):
    """What score_samples measures, from the public API: the mean absolute error
    of X's reconstructions from its pooled features (transform's first P values)
    projected onto the affine span of the training sequences', with the features
    standardised over the training sequences and in their own units, averaged
    over the two."""
    P = ae.net_.module_.pooled_size
    F_tr = ae.transform(train)[:, :P].astype(np.float64)
    mean, std = F_tr.mean(axis=0), F_tr.std(axis=0)
    Z_x = ae.transform(X).astype(np.float64)
    errors = []
    for scale in (np.where(std > 1e-6, std, 1.0), np.ones_like(std)):
        Z = Z_x.copy()
        _, s, vt = np.linalg.svd((F_tr - mean) / scale, full_matrices=False)
        v = vt[s**2 >= 1e-10 * s[0] ** 2]  # the axes the training features span
        Z[:, :P] = mean + ((Z[:, :P] - mean) / scale) @ v.T @ v * scale
        recon = ae.inverse_transform(Z.astype(np.float32))
        errors.append(np.abs(recon - X).mean(axis=(1, 2)))
    return np.mean(errors, axis=0)


def _span_distance(Z_tr, Z):
    """Euclidean distance of each row of Z to the affine span of the rows of
    Z_tr, by least squares."""
    base = Z_tr[0]
    A = (Z_tr[1:] - base).T  # (P, n - 1)
    coef = np.linalg.lstsq(A, (Z - base).T, rcond=None)[0]
    return np.linalg.norm((Z - base).T - A @ coef, axis=0)


def _novelty(ae, train, X, shares=False):
    """A factor's novelty, from the public API: the distance of X's pooled
    features (with ``shares``: of its shares, the columns of transform after
    them, each standardised where its deviation is at least 1e-3), standardised
    over the training sequences, to the training sequences' affine span, over
    the median of each training sequence's distance to the span of the
    others."""
    P = ae.net_.module_.pooled_size
    cols = slice(P, None) if shares else slice(None, P)
    F_tr = ae.transform(train)[:, cols].astype(np.float64)
    mean, std = F_tr.mean(axis=0), F_tr.std(axis=0)
    scale = np.where(std > (1e-3 if shares else 1e-6), std, 1.0)
    Z_tr = (F_tr - mean) / scale
    Z = (ae.transform(X)[:, cols].astype(np.float64) - mean) / scale
    loo = np.array(
        [
            _span_distance(np.delete(Z_tr, i, axis=0), Z_tr[i : i + 1])[0]
            for i in range(len(Z_tr))
        ]
    )
    if X is train:  # as each training sequence would score left out
        return loo / np.median(loo)
    return _span_distance(Z_tr, Z) / np.median(loo)


def test_score_samples_rebuilds_from_the_training_features_span():
    """score_samples is the negative mean absolute error of reconstructions from
    the sequence's pooled features projected onto the affine span of the training
    sequences' (20 sequences: a 19-dimensional span of the P features), in two
    metrics, times 1 + how far the standardised features lie outside that span
    (in units of a training sequence's typical distance to the others' span),
    times 1 + the same of its shares; a training sequence is rebuilt as by
    inverse_transform(transform(X)) and lies in both spans."""
    X, y = make_waves(n=80)
    train, test = X[y == 0][:20], np.concatenate([X[y == 0][20:30], X[y == 1][:10]])
    ae = LSTMAutoencoderTransformer(hidden_size=8, max_epochs=5, random_state=0)
    ae.fit(train)
    assert ae.net_.module_.span_rank.tolist() == [19, 19]
    assert ae.net_.module_.share_axes == 19  # every training row's share span
    novelty = _novelty(ae, train, test)
    assert (novelty > 0.1).all()
    share_novelty = _novelty(ae, train, test, shares=True)
    assert (share_novelty > 0.1).all()
    expected = -_span_error(ae, train, test) * (1 + novelty) * (1 + share_novelty)
    np.testing.assert_allclose(ae.score_samples(test), expected, rtol=1e-3)
    plain = -np.abs(ae.inverse_transform(ae.transform(test)) - test).mean(axis=(1, 2))
    assert not np.allclose(ae.score_samples(test), plain, rtol=1e-3)
    recon = ae.inverse_transform(ae.transform(train))
    np.testing.assert_allclose(
        ae.score_samples(train), -np.abs(recon - train).mean(axis=(1, 2)), rtol=1e-3
    )
    # one sequence at a time gives the same scores (no dependence on the batch)
    one = [ae.score_samples(test[i : i + 1])[0] for i in range(3)]
    np.testing.assert_allclose(one, ae.score_samples(test)[:3], rtol=1e-4)


def test_left_out_scores_weigh_the_error_by_each_novelty_left_out():
    """What the sliding-window detector calibrates on: each training sequence's
    error weighed by the novelty of its pooled features and of its shares as
    if it had been left out of the training spans, not its own (0)."""
    X, y = make_waves(n=40)
    train = X[y == 0][:15]
    ae = LSTMAutoencoderTransformer(hidden_size=8, max_epochs=3, random_state=0)
    ae.fit(train)
    own = ae.score_samples(train)
    expected = own * (1 + _novelty(ae, train, train))
    expected = expected * (1 + _novelty(ae, train, train, shares=True))
    np.testing.assert_allclose(ae._left_out_scores(train), expected, rtol=1e-3)


def test_share_novelty_spans_every_kth_sequence_beyond_the_basis(monkeypatch):
    """The share basis holds the span of at most _SHARE_AXES + 1 training
    sequences: a fit on more spans every k-th one (k = ceil(n / (K + 1))), and
    the score weighs the error by the distance to that span; so does a
    continuing fit on more sequences than the first fit's basis holds."""
    import sksequence._autoencoder as ae_module

    X = make_waves(n=24, n_timesteps=30, n_features=1, seed=0)[0]
    other = make_waves(n=4, n_timesteps=30, n_features=1, seed=1)[0]
    kw = dict(hidden_size=4, max_epochs=1, random_state=0)
    monkeypatch.setattr(ae_module, "_SHARE_AXES", 10)

    def expected(ae):
        error = _span_error(ae, X, other) * (1 + _novelty(ae, X, other))
        return -error * (1 + _novelty(ae, X[::3], other, shares=True))

    wide = LSTMAutoencoderTransformer(**kw).fit(X)
    assert wide.net_.module_.share_axes == 10
    np.testing.assert_allclose(wide.score_samples(other), expected(wide), rtol=1e-4)
    grown = LSTMAutoencoderTransformer(warm_start=True, **kw).fit(X[:8])
    assert grown.net_.module_.share_axes == 7
    grown.fit(X)  # every 3rd of 24: 8 rows, as many as the basis holds
    assert grown.net_.module_.share_axes == 7
    np.testing.assert_allclose(grown.score_samples(other), expected(grown), rtol=1e-4)


def test_distances_to_a_sampled_span_leave_rows_out():
    """The detector's left-out share novelty where the span is that of every
    k-th training row: each row's distance to the affine span of those rows
    less itself and the rows it leaves out, checked by least squares; every
    row (k = 1) gives the leave-one-out distances."""
    from sksequence.nn.autoencoder import (
        _leave_one_out_distances,
        _sample_span_distances,
    )

    u = torch.as_tensor(np.random.RandomState(0).randn(23, 40))
    near = np.abs(np.arange(23)[:, None] - np.arange(23)[None, :]) < 3
    for every in (2, 3):
        for leave_out in (None, near):
            rows = np.arange(0, 23, every)
            expected = []
            for i in range(23):
                keep = [j for j in rows if j != i]
                if leave_out is not None:
                    keep = [j for j in keep if not leave_out[i, j]]
                expected.append(_span_distance(u.numpy()[keep], u.numpy()[i : i + 1]))
            mask = None if leave_out is None else torch.as_tensor(leave_out)
            got = _sample_span_distances(u, every, mask).numpy()
            np.testing.assert_allclose(got, np.concatenate(expected), rtol=1e-6)
    np.testing.assert_allclose(
        _sample_span_distances(u, 1, torch.as_tensor(near)).numpy(),
        _leave_one_out_distances(u, torch.as_tensor(near)).numpy(),
        rtol=1e-6,
    )


def test_feature_novelty_is_off_where_the_training_rows_span_everything():
    """With more training rows than pooled features (the span is every
    direction) no sequence is novel, and the score is the plain error; with
    fewer, a training row's novelty is 0 and another's is its distance to the
    span over the rows' median distance to the others' span."""
    from sksequence.nn.autoencoder import SequenceAutoencoder, _typical_residual

    gen = torch.Generator().manual_seed(0)
    wide = torch.randn(12, 30, generator=gen, dtype=torch.float64)
    loo = [
        _span_distance(np.delete(wide.numpy(), i, axis=0), wide.numpy()[i : i + 1])
        for i in range(12)
    ]
    assert _typical_residual(wide) == pytest.approx(float(np.median(loo)), rel=1e-6)
    assert _typical_residual(torch.randn(40, 30, generator=gen)) == 0.0
    assert _typical_residual(wide[:1]) == 0.0
    # most rows repeated: most lie in the others' span
    assert _typical_residual(torch.cat([wide[:3]] * 3)) == 0.0
    module = SequenceAutoencoder(
        input_size=1,
        hidden_size=4,
        n_components=3,
        feature_span=True,
        span_novelty=True,
        conv_channels=(),
        pooling="mean_max",
    )
    P = module.pooled_size
    f = torch.randn(P + 5, P, generator=gen)
    module.fit_feature_span(f)
    assert float(module.span_typical) == 0.0
    assert module.feature_novelty(torch.randn(4, P, generator=gen)).eq(0).all()
    few = f[: P // 2]
    module.fit_feature_span(few)
    assert float(module.span_typical) > 0
    assert module.feature_novelty(few).abs().max() < 1e-4
    other = torch.randn(3, P, generator=gen)
    mean, std = few.double().mean(0), few.double().std(0, unbiased=False)
    expected = _span_distance(
        ((few.double() - mean) / std).numpy(), ((other.double() - mean) / std).numpy()
    )
    np.testing.assert_allclose(
        module.feature_novelty(other).numpy() * float(module.span_typical),
        expected,
        rtol=1e-4,
    )


def test_share_novelty_is_the_distance_to_the_training_shares_span():
    """The shares' novelty: a row's distance to the affine span of the training
    shares (each standardised where its deviation is at least 1e-3), over the
    training rows' median distance to the span of the others (what a left-out
    row scores); off (0) with more training rows than the basis holds."""
    from sksequence.nn.autoencoder import SequenceAutoencoder

    module = SequenceAutoencoder(
        input_size=1,
        hidden_size=4,
        n_components=3,
        encoding="pooled",
        conv_channels=(6,),
        conv_kernel_sizes=(3,),
        conv_strides=(1,),
        conv_skip=True,
        conv_ppv=True,
        ppv_quantiles=(0.25, 0.75),
        feature_span=True,
        span_novelty=True,
        share_axes=5,
    )
    S = module.encoding_size - module.pooled_size
    assert S == 12 and tuple(module.share_basis.shape) == (5, S)
    gen = torch.Generator().manual_seed(0)
    few, other = torch.rand(6, S, generator=gen), torch.rand(3, S, generator=gen)
    few[:, 0] = 0.5  # a share that does not vary keeps its units
    module.fit_share_novelty(few)
    assert module.share_novelty(few).abs().max() < 1e-4
    mean, std = few.double().mean(0), few.double().std(0, unbiased=False)
    std[0] = 1.0
    z, zo = (
        ((few.double() - mean) / std).numpy(),
        ((other.double() - mean) / std).numpy(),
    )
    loo = np.array(
        [_span_distance(np.delete(z, i, 0), z[i : i + 1])[0] for i in range(6)]
    )
    typical = float(module.share_typical)
    assert typical == pytest.approx(float(np.median(loo)), rel=1e-5)
    np.testing.assert_allclose(
        module.share_novelty(other).numpy(), _span_distance(z, zo) / typical, rtol=1e-4
    )
    np.testing.assert_allclose(
        module.training_share_novelty(few).numpy(), loo / typical, rtol=1e-4
    )
    module.fit_share_novelty(torch.rand(7, S, generator=gen))  # more than 5 + 1
    assert float(module.share_typical) == 0.0
    assert module.share_novelty(other).eq(0).all()
    assert module.training_share_novelty(few).eq(0).all()
    with pytest.raises(ValueError, match="share_axes must be >= 0"):
        SequenceAutoencoder(input_size=1, share_axes=-1)


def test_score_samples_flags_anomalies():
    X, y = make_waves(n=120)
    normal = X[y == 0]
    ae = LSTMAutoencoderTransformer(
        hidden_size=32, max_epochs=200, lr=3e-3, batch_size=8, random_state=0
    ).fit(normal[:40])
    test = np.concatenate([normal[40:], X[y == 1][:20]])
    is_anomaly = np.r_[np.zeros(len(normal) - 40), np.ones(20)]
    assert roc_auc_score(is_anomaly, -ae.score_samples(test)) > 0.9


def test_combined_score_is_log_error_plus_log_neighbour_distance():
    """anomaly_score="combined": -(log(error / median training error) + log(distance
    of the standardised pooled features to the nearest training sequence's / their
    median leave-one-out distance)), every part computed here from the public API."""
    X, y = make_waves(n=60)
    first = np.flatnonzero(y == 0)[:20]
    train, test = X[first], np.delete(X, first, axis=0)[:20]
    ae = LSTMAutoencoderTransformer(
        hidden_size=8, max_epochs=3, anomaly_score="combined", random_state=0
    ).fit(train)
    ref = ae.anomaly_reference_
    # the pooled features: transform's first values (the quantile shares follow)
    P = ae.net_.module_.pooled_size
    F_tr = ae.transform(train)[:, :P].astype(np.float64)
    F_te = ae.transform(test)[:, :P]
    mean, std = F_tr.mean(axis=0), F_tr.std(axis=0)
    scale = np.where(std > 1e-6, std, 1.0)
    Z_tr, Z_te = (F_tr - mean) / scale, (F_te - mean) / scale
    np.testing.assert_allclose(ref["features"], Z_tr, rtol=1e-4, atol=1e-4)
    d_tr = np.sqrt(((Z_tr[:, None] - Z_tr[None]) ** 2).sum(-1))
    np.fill_diagonal(d_tr, np.inf)
    np.testing.assert_allclose(ref["distance"], np.median(d_tr.min(1)), rtol=1e-4)
    # the reconstruction part: the default score, the mean absolute error of the
    # reconstruction from the training features' span
    recon = ae.inverse_transform(ae.transform(train))
    np.testing.assert_allclose(
        ref["error"], np.median(np.abs(recon - train).mean(axis=(1, 2))), rtol=1e-3
    )
    err = _span_error(ae, train, test) * (1 + _novelty(ae, train, test))
    err = err * (1 + _novelty(ae, train, test, shares=True))
    dist = np.sqrt(((Z_te[:, None] - Z_tr[None]) ** 2).sum(-1)).min(1)
    expected = -(np.log(err / ref["error"]) + np.log(dist / ref["distance"]))
    np.testing.assert_allclose(ae.score_samples(test), expected, rtol=1e-3, atol=1e-3)
    # one sequence at a time gives the same scores (no dependence on the batch)
    one = [ae.score_samples(test[i : i + 1])[0] for i in range(3)]
    np.testing.assert_allclose(one, ae.score_samples(test)[:3], rtol=1e-4, atol=1e-5)
    # a training sequence itself (distance 0) gets a finite, high score: each
    # ratio counts as at least 1e-3
    assert np.isfinite(ae.score_samples(train[:1])).all()
    assert ae.score_samples(train[:1])[0] > ae.score_samples(test).max()


def test_combined_score_flags_anomalies_and_needs_its_reference():
    X, y = make_waves(n=120)
    normal = X[y == 0]
    ae = LSTMAutoencoderTransformer(
        hidden_size=16, max_epochs=30, anomaly_score="combined", random_state=0
    ).fit(normal[:40])
    test = np.concatenate([normal[40:], X[y == 1][:20]])
    is_anomaly = np.r_[np.zeros(len(normal) - 40), np.ones(20)]
    assert roc_auc_score(is_anomaly, -ae.score_samples(test)) > 0.9
    # the default fit keeps no reference: asking for the combined score says so
    plain = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1).fit(normal[:10])
    assert plain.anomaly_reference_ is None
    with pytest.raises(ValueError, match='fit again with anomaly_score="combined"'):
        plain.set_params(anomaly_score="combined").score_samples(normal[:3])


# -- training machinery ------------------------------------------------------------------
def test_history_has_grad_norm_and_clipping_can_be_turned_off(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(hidden_size=8, max_epochs=2, clip_grad_norm=None)
    ae.fit(X)
    assert ae.history_[:, "grad_norm"][0] > 0
    assert ae.history_[-1, "grad_norm_max"] >= ae.history_[-1, "grad_norm"]


def test_early_stopping_uses_a_validation_split(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(
        hidden_size=8,
        max_epochs=400,
        early_stopping=True,
        n_iter_no_change=2,
        lr=0.05,
        batch_size=32,
        random_state=0,
    ).fit(X)
    assert "valid_loss" in ae.history_[-1]
    # not before the minimum number of updates (3 a epoch here), then on a plateau
    assert 500 / 3 <= ae.n_epochs_ < 400
    assert ae.history_[-1, "stopped"] == "valid_loss plateau"


def test_verbose_prints_progress_and_log(waves, capsys):
    X, _ = waves
    LSTMAutoencoderTransformer(hidden_size=4, max_epochs=2, verbose=1).fit(X)
    captured = capsys.readouterr()
    assert "train_loss" in captured.out and "grad_norm" in captured.out
    LSTMAutoencoderTransformer(hidden_size=4, max_epochs=2, verbose=0).fit(X)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_user_callbacks_are_called_and_not_mutated(waves):
    X, _ = waves

    class CountEpochs(Callback):
        def initialize(self):
            self.count = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.count += 1
            net.history.record("counted", self.count)

    cb = CountEpochs()
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=3, callbacks=[cb])
    ae.fit(X)
    assert ae.history_[:, "counted"] == [1, 2, 3]
    assert not hasattr(cb, "count")  # the parameter itself is left untouched


def test_weight_decay_shrinks_weights(waves):
    X, _ = waves

    def norm(wd):
        ae = LSTMAutoencoderTransformer(
            hidden_size=8,
            max_epochs=5,
            optimizer="adamw",
            weight_decay=wd,
            lr=0.01,
            random_state=0,
        ).fit(X)
        return sum(float(p.detach().norm()) for p in ae.net_.module_.parameters())

    assert norm(0.5) < norm(0.0)


def test_diverging_fit_warns_and_keeps_finite_weights(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(
        hidden_size=8,
        max_epochs=20,
        optimizer="sgd",
        lr=1e12,
        clip_grad_norm=None,
        random_state=0,
    )
    with pytest.warns(DivergenceWarning, match="non-finite"):
        ae.fit(X * 100)
    assert ae.diverged_
    assert np.isfinite(ae.transform(X)).all()
    assert np.isfinite(ae.score_samples(X)).all()


def test_clipping_prevents_that_divergence(waves):
    X, _ = waves
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        ae = LSTMAutoencoderTransformer(
            hidden_size=8,
            max_epochs=3,
            optimizer="sgd",
            lr=0.5,
            clip_grad_norm=1.0,
            random_state=0,
        ).fit(X * 100)
    assert not ae.diverged_


def test_truncated_bptt_trains_long_sequences():
    rng = np.random.RandomState(0)
    t = np.linspace(0, 20, 300)
    X = np.sin(t[None, :] * rng.uniform(0.5, 1.5, size=(16, 1)))[:, :, None]
    ae = LSTMAutoencoderTransformer(
        hidden_size=16,
        max_epochs=8,
        truncate_bptt=50,
        lr=1e-2,
        random_state=0,
        **CLASSIC,
    ).fit(X)
    losses = ae.history_[:, "train_loss"]
    assert losses[-1] < losses[0]
    assert np.isfinite(ae.transform(X)).all()


# -- input errors ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros(5), "Expected 2-D or 3-D input.*Reshape your data"),
        (np.zeros((2, 3, 4, 5)), "Expected 2-D or 3-D input, but got 4-D"),
        (np.zeros((0, 4, 2)), "0 sample"),
        (np.array([[1.0, np.nan]]), "contains NaN"),
        (np.array([[1.0, np.inf]]), "contains infinity"),
        (np.array([["a", "b"]]), "must be numeric"),
        ([np.zeros((3, 2)), np.zeros((4, 3))], r"same number of features.*\[2, 3\]"),
        ([np.zeros((3, 2)), np.zeros((0, 2))], "Sequence 1 of X is empty"),
    ],
)
def test_bad_input_gets_a_clear_error(X, match):
    with pytest.raises(ValueError, match=match):
        LSTMAutoencoderTransformer(max_epochs=1).fit(X)


def test_wrong_feature_count_names_both_numbers(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1).fit(X)
    msg = "X has 3 features per timestep, but LSTMAutoencoderTransformer was fitted with 2"
    with pytest.raises(ValueError, match=msg):
        ae.transform(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="Z has 7 components"):
        ae.inverse_transform(np.zeros((2, 7)))


def test_not_fitted_raises_not_fitted_error(waves):
    X, _ = waves
    for method in ("transform", "score_samples", "hidden_states"):
        with pytest.raises(NotFittedError):
            getattr(LSTMAutoencoderTransformer(), method)(X)


def test_predict_objective_needs_long_enough_sequences():
    with pytest.raises(ValueError, match="at least 4 timesteps"):
        LSTMAutoencoderTransformer(objective="predict", n_future=3).fit(
            np.zeros((2, 3))
        )


def test_bad_parameter_is_reported():
    with pytest.raises(ValueError, match="objective"):
        LSTMAutoencoderTransformer(objective="nope").fit(np.zeros((2, 3)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"mask_fraction": 1.0}, "mask_fraction"),
        ({"mask_fraction": -0.1}, "mask_fraction"),
        ({"input_noise": -1.0}, "input_noise"),
    ],
)
def test_bad_corruption_parameter_is_reported(params, match):
    with pytest.raises(ValueError, match=match):
        LSTMAutoencoderTransformer(**params).fit(np.zeros((2, 3)))


@pytest.mark.parametrize("params", [{"mask_fraction": 0.25}, {"input_noise": 0.3}])
def test_training_corruption_changes_the_fit_not_inference(waves, params):
    """Masking and noise act in training only: the fitted module carries them,
    the fit differs from an uncorrupted one, and inference reads the clean
    input (two calls give the same encodings and scores)."""
    X = waves[0][:24]
    fit = dict(hidden_size=8, max_epochs=3, batch_size=8, random_state=0)
    clean = LSTMAutoencoderTransformer(mask_fraction=0.0, input_noise=0.0, **fit)
    corrupt = LSTMAutoencoderTransformer(
        **{"mask_fraction": 0.0, "input_noise": 0.0, **params}, **fit
    )
    clean.fit(X)
    corrupt.fit(X)
    module = corrupt.net_.module_
    assert (module.mask_fraction, module.input_noise) == (
        params.get("mask_fraction", 0.0),
        params.get("input_noise", 0.0),
    )
    assert not np.allclose(clean.transform(X), corrupt.transform(X))
    np.testing.assert_array_equal(corrupt.transform(X), corrupt.transform(X))
    np.testing.assert_array_equal(corrupt.score_samples(X), corrupt.score_samples(X))
    again = clone(corrupt).fit(X)  # the corruption is drawn from random_state
    np.testing.assert_array_equal(again.transform(X), corrupt.transform(X))


def test_input_arrays_are_never_modified(ragged, waves):
    X, _ = waves
    X_copy, ragged_copy = X.copy(), [r.copy() for r in ragged]
    LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1).fit(X).transform(X)
    LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1).fit(ragged).transform(
        ragged
    )
    np.testing.assert_array_equal(X, X_copy)
    for a, b in zip(ragged, ragged_copy):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_parallel_search_matches_serial(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=2, random_state=0)
    grid = {"n_components": [2, 3]}
    serial = GridSearchCV(ae, grid, cv=2, n_jobs=1).fit(X)
    parallel = GridSearchCV(ae, grid, cv=2, n_jobs=2).fit(X)
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"],
        serial.cv_results_["mean_test_score"],
        rtol=1e-5,
    )
    assert parallel.best_params_ == serial.best_params_


# -- ragged in, ragged out; decodes that cannot fit in memory --------------------------
@pytest.mark.parametrize("reverse_target", [True, False])
def test_inverse_transform_with_lengths_gives_each_sequence_its_own_length(
    ragged, reverse_target
):
    ae = LSTMAutoencoderTransformer(
        hidden_size=8, max_epochs=2, reverse_target=reverse_target, random_state=0
    ).fit(ragged)
    lengths = [len(s) for s in ragged]
    Z = ae.transform(ragged)
    out = ae.inverse_transform(Z, n_timesteps=lengths)
    assert isinstance(out, list)
    assert [o.shape for o in out] == [(n, 3) for n in lengths]
    # the same as decoding each sequence alone at its own length
    for i, n in enumerate(lengths):
        alone = ae.inverse_transform(Z[i : i + 1], n_timesteps=n)[0]
        np.testing.assert_allclose(out[i], alone, rtol=1e-5, atol=1e-6)
    # a NumPy array of lengths works as well
    assert len(ae.inverse_transform(Z, n_timesteps=np.array(lengths))) == len(ragged)


def test_inverse_transform_lengths_are_checked(ragged):
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1).fit(ragged)
    Z = ae.transform(ragged)
    with pytest.raises(ValueError, match="n_timesteps has 2 lengths, but Z has 7 rows"):
        ae.inverse_transform(Z, n_timesteps=[3, 4])
    with pytest.raises(ValueError, match="must hold positive integers"):
        ae.inverse_transform(Z, n_timesteps=[0, 1, 2, 3, 4, 5, 6])


def test_inverse_transform_refuses_a_decode_that_cannot_fit_in_memory(waves):
    X, _ = waves
    ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=1).fit(X)
    Z = ae.transform(X[:3])
    with pytest.raises(
        ValueError, match=r"n_timesteps=1000000000 would need about .* GiB"
    ):
        ae.inverse_transform(Z, n_timesteps=10**9)
    assert ae.inverse_transform(Z, n_timesteps=1000).shape == (3, 1000, 2)


# -- the defaults: scaling in the estimator, features for a linear model --------------
def test_scaling_round_trip_in_user_units():
    """Raw-unit series far from zero (offset 1000, amplitude 50): the model reads
    them standardised, and inverse_transform, forecast and score_samples answer in
    the input's units."""
    rng = np.random.RandomState(0)
    t = np.linspace(0, 2 * np.pi, 24)
    amp = rng.uniform(20, 80, size=(48, 1))
    X = (1000 + amp * np.sin(t + rng.uniform(0, np.pi, size=(48, 1))))[:, :, None]
    ae = LSTMAutoencoderTransformer(hidden_size=16, random_state=0).fit(X)
    module = ae.net_.module_
    np.testing.assert_allclose(module.input_mean.numpy(), [X.mean()], rtol=1e-5)
    np.testing.assert_allclose(module.input_scale.numpy(), [X.std()], rtol=1e-4)
    recon = ae.inverse_transform(ae.transform(X))
    assert np.abs(recon - X).mean() < 0.1 * X.std()  # not rebuilt around 0
    # score_samples: the mean absolute reconstruction error in the input's units
    mae = np.abs(recon - X).mean(axis=(1, 2))
    np.testing.assert_allclose(-ae.score_samples(X), mae, rtol=1e-3)


def test_unscaled_model_reads_raw_input():
    X = 1000 + make_waves(n=20, n_timesteps=10, n_features=1, seed=0)[0]
    ae = LSTMAutoencoderTransformer(scaling="none", hidden_size=4, max_epochs=1).fit(X)
    assert not hasattr(ae.net_.module_, "input_mean")


def test_default_features_beat_pca_on_shape_classes():
    """Two shapes (a bump vs a step) at random positions, with noise: the default
    transform feeds a linear model well; PCA of the raw series cannot."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    rng = np.random.RandomState(0)
    n, steps = 120, 48
    y = rng.randint(0, 2, n)
    X = 0.3 * rng.randn(n, steps)
    t = np.arange(steps)
    for i in range(n):
        at = rng.randint(4, steps - 12)
        if y[i]:
            X[i] += np.where((t >= at) & (t < at + 8), 2.0, 0.0)  # a step
        else:
            X[i] += 2.0 * np.exp(-0.5 * ((t - at - 4) / 2.0) ** 2)  # a bump
    train, test = slice(0, 60), slice(60, None)

    def accuracy(first):
        pipe = make_pipeline(first, StandardScaler(), LogisticRegression(max_iter=2000))
        return pipe.fit(X[train], y[train]).score(X[test], y[test])

    ae = LSTMAutoencoderTransformer(hidden_size=16, random_state=0)
    ae_acc = accuracy(ae)
    assert ae_acc >= 0.85
    assert ae_acc > accuracy(PCA(8, random_state=0)) + 0.1


@pytest.mark.slow
def test_short_code_beats_pca_on_gunpoint():
    """The 16-value code (``n_components=16``) feeds a linear model about as well
    as PCA(16) (0.88) on the shipped GunPoint problem: 0.86-0.97 over seeds 0-2
    in benchmarks/RESULTS.md, where the code without the shape path and the
    feature loss got 0.74-0.82."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from sksequence.datasets import load_gunpoint

    data = load_gunpoint()

    def accuracy(first):
        pipe = make_pipeline(first, StandardScaler(), LogisticRegression(max_iter=2000))
        pipe.fit(data.X_train, data.y_train)
        return pipe.score(data.X_test, data.y_test)

    pca = accuracy(PCA(16, random_state=0))
    ae = accuracy(LSTMAutoencoderTransformer(n_components=16, random_state=0))
    assert pca == pytest.approx(0.88, abs=0.01)
    assert ae >= 0.84


def test_short_code_is_the_default_features_principal_components():
    """n_components=k trains the default model (the same weights, the same
    anomaly scores) and transform returns the k leading principal components of
    its standardised default features over the training sequences, whitened;
    components beyond the training features' rank are 0; inverse_transform
    decodes them through the default bottleneck."""
    X = make_waves(n=12, n_timesteps=40, n_features=2, seed=0)[0]
    kw = dict(hidden_size=4, max_epochs=1, random_state=0)
    ae = LSTMAutoencoderTransformer(n_components=4, **kw).fit(X)
    default = LSTMAutoencoderTransformer(**kw).fit(X)
    module = ae.net_.module_
    assert module.encoding == "principal" and module.code_size == 16
    assert ae.ppv_dilations_ == default.ppv_dilations_ == (1, 2, 3, 4)
    assert module.feature_loss_steps == 0
    np.testing.assert_array_equal(ae.score_samples(X), default.score_samples(X))
    F = default.transform(X).astype(np.float64)
    scale = F.std(axis=0)
    Fs = (F - F.mean(axis=0)) / np.where(scale > 1e-6, scale, 1.0)
    u, s, _ = np.linalg.svd(Fs, full_matrices=False)
    expected = u[:, :4] * np.sqrt(len(X))  # whitened: unit variance
    Z = ae.transform(X)
    assert Z.shape == (12, 4)
    np.testing.assert_allclose(np.abs(Z), np.abs(expected), atol=2e-3)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, atol=1e-3)
    assert ae.inverse_transform(Z).shape == X.shape
    wide = LSTMAutoencoderTransformer(n_components=20, **kw).fit(X)
    Z = wide.transform(X)
    assert Z.shape == (12, 20)
    assert np.all(Z[:, 11:] == 0) and np.all(Z[:, :11].std(axis=0) > 0.5)


def test_principal_components_read_at_most_max_rows_sequences(monkeypatch):
    """Of more than _PRINCIPAL_ROWS training sequences every k-th is read: 12
    sequences, at most 5 -> every 3rd, 4 sequences, 3 components (whitened over
    those 4)."""
    import sksequence._autoencoder as autoencoder

    X = make_waves(n=12, n_timesteps=40, n_features=2, seed=0)[0]
    kw = dict(hidden_size=4, max_epochs=1, random_state=0)
    ae = LSTMAutoencoderTransformer(n_components=8, **kw).fit(X)
    assert np.all(ae.transform(X).std(axis=0) > 0.5)
    monkeypatch.setattr(autoencoder, "_PRINCIPAL_ROWS", 5)
    ae.fit(X)
    Z = ae.transform(X)
    assert np.all(Z[:, 3:] == 0)
    np.testing.assert_allclose(Z[::3, :3].std(axis=0), 1.0, atol=1e-3)


def test_a_code_fitted_before_the_principal_components_keeps_training(monkeypatch):
    """A model fitted with n_components set before n_components gave principal
    components (its decoders read the n_components-value code transform returns,
    with the sampled shares in its feature loss) loads and continues training as
    it was built."""
    X = make_waves(n=12, n_timesteps=40, n_features=2, seed=0)[0]
    kw = dict(n_components=4, hidden_size=4, max_epochs=2, random_state=0)
    build = LSTMAutoencoderTransformer._module_kwargs
    with monkeypatch.context() as m:
        m.setattr(
            LSTMAutoencoderTransformer,
            "_module_kwargs",
            lambda self, *a, **k: build(self, *a, **{**k, "legacy_code": True}),
        )
        old = LSTMAutoencoderTransformer(**kw).fit(X)
    old = pickle.loads(pickle.dumps(old))
    assert old.net_.module_.encoding == "code"
    old.set_params(warm_start=True).fit(X)
    old.partial_fit(X)
    module = old.net_.module_
    assert module.encoding == "code" and module.code_size == 4
    assert module.feature_loss_steps == 256
    assert old.transform(X).shape == (12, 4)


def _without(arguments: dict, key: str) -> dict:
    return {k: v for k, v in arguments.items() if k != key}


def _fit_as_built(monkeypatch, X, edit, **params):
    """A model fitted with the module's arguments changed by ``edit``: as an
    earlier version of the estimator built it."""
    build = LSTMAutoencoderTransformer._module_kwargs
    with monkeypatch.context() as m:
        m.setattr(
            LSTMAutoencoderTransformer,
            "_module_kwargs",
            lambda self, *a, **k: edit(build(self, *a, **k)),
        )
        return LSTMAutoencoderTransformer(**params).fit(X)


def test_a_model_fitted_before_the_zero_mean_kernels_keeps_its_features(monkeypatch):
    """A model fitted before the dilated kernels lost their mean on the input
    (its module spec has no ppv_zero_mean) loads, transforms with the plain
    kernels and continues training as it was built."""
    X = make_waves(n=12, n_timesteps=40, n_features=2, seed=0)[0]
    kw = dict(hidden_size=4, max_epochs=2, random_state=0)
    old = _fit_as_built(monkeypatch, X, lambda a: _without(a, "ppv_zero_mean"), **kw)
    expected = old.transform(X)
    old = pickle.loads(pickle.dumps(old))
    assert not old.net_.module_.ppv_zero_mean
    np.testing.assert_allclose(old.transform(X), expected, rtol=1e-6)
    old.set_params(warm_start=True).fit(X)
    assert not old.net_.module_.ppv_zero_mean
    new = LSTMAutoencoderTransformer(**kw).fit(X)
    assert new.net_.module_.ppv_zero_mean
    # the same training: only the input's dilated maps differ
    plain = _fit_as_built(monkeypatch, X, lambda a: {**a, "ppv_zero_mean": False}, **kw)
    a, b = plain.transform(X), new.transform(X)
    start = new.net_.module_.pooled_size
    c = [conv.out_channels for conv in new.net_.module_.front.convs]
    first = start + 3 * sum(c)  # the dilated maps on the input come next
    stop = first + 3 * c[0] * len(new.ppv_dilations_)
    np.testing.assert_array_equal(a[:, :first], b[:, :first])
    np.testing.assert_array_equal(a[:, stop:], b[:, stop:])
    assert np.abs(a[:, first:stop] - b[:, first:stop]).max() > 0


@pytest.mark.parametrize("missing", ["feature_span", "span_novelty", "share_axes"])
def test_a_model_fitted_before_the_features_span_keeps_its_scores(monkeypatch, missing):
    """A model fitted before score_samples read the code of the training
    features' span (its module has no span buffers) loads, scores with the plain
    reconstruction and continues training as it was built; one fitted before the
    error was weighed by the features' novelty scores with the span's error
    alone; one fitted before the shares' novelty, without that factor."""
    X = make_waves(n=12, n_timesteps=40, n_features=2, seed=0)[0]
    kw = dict(hidden_size=4, max_epochs=2, random_state=0)
    old = _fit_as_built(monkeypatch, X, lambda a: _without(a, missing), **kw)
    old = pickle.loads(pickle.dumps(old))
    other = make_waves(n=6, n_timesteps=40, n_features=2, seed=1)[0]  # not trained on
    for step in ("warm_start", "partial_fit"):
        if step == "warm_start":
            old.set_params(warm_start=True).fit(X)
        else:
            old.partial_fit(X)
        module = old.net_.module_
        assert not module.share_axes
        assert module.span_novelty == (missing == "share_axes")
        if missing == "feature_span":
            assert not module.feature_span
            error = np.abs(old.inverse_transform(old.transform(other)) - other)
            error = error.mean(axis=(1, 2))
        else:
            assert module.feature_span
            error = _span_error(old, X, other)
            if missing == "share_axes":
                error = error * (1 + _novelty(old, X, other))
        np.testing.assert_allclose(old.score_samples(other), -error, rtol=1e-4)
    module = LSTMAutoencoderTransformer(**kw).fit(X).net_.module_
    assert module.feature_span and module.span_novelty and module.share_axes == 11


def test_truncate_bptt_needs_the_classic_encoder():
    X = make_waves(n=8, n_timesteps=10, n_features=1, seed=0)[0]
    with pytest.raises(ValueError, match="truncate_bptt needs the classic model"):
        LSTMAutoencoderTransformer(truncate_bptt=5, max_epochs=1).fit(X)
    classic = dict(conv_channels=None, pooling="last", bidirectional=False)
    for extra in ({}, {"shape_basis": 0}, {"feature_loss": 0.0}):
        # the shape path and the feature loss are not chunked: refused too
        with pytest.raises(ValueError, match="shape_basis=0 and feature_loss=0"):
            LSTMAutoencoderTransformer(
                truncate_bptt=5, max_epochs=1, **classic, **extra
            ).fit(X)
    LSTMAutoencoderTransformer(
        truncate_bptt=5, max_epochs=1, shape_basis=0, feature_loss=0.0, **classic
    ).fit(X)


def test_input_pool_auto_reads_only_long_series_as_means_of_steps():
    """Above 4096 steps the front end reads the means of ceil(L / 4096) steps
    (the model still rebuilds every step); up to 4096 it reads every step."""
    X = np.random.default_rng(0).normal(size=(3, 8193, 1)).cumsum(axis=1)
    kw = dict(hidden_size=4, conv_channels=(4, 4, 4), max_epochs=1, random_state=0)
    ae = LSTMAutoencoderTransformer(**kw).fit(X)
    module = ae.net_.module_
    assert ae.input_pool_ == module.input_pool == 3
    assert module.decoder_stride == 3 * int(np.prod(ae.conv_strides_))
    assert ae.inverse_transform(ae.transform(X[:2])).shape == (2, 8193, 1)
    assert np.isfinite(ae.score_samples(X)).all()
    assert LSTMAutoencoderTransformer(**kw).fit(X[:, :4096]).input_pool_ == 1
    # training on long series of different lengths (each sequence's steps only)
    ragged = LSTMAutoencoderTransformer(**{**kw, "max_epochs": 2}).fit(
        [X[0], X[1, :6000], X[2, :7000]]
    )
    assert ragged.input_pool_ == 3
    assert np.isfinite(ragged.net_.history[:, "train_loss"]).all()
    # the classic model has no front end: nothing is pooled
    classic = LSTMAutoencoderTransformer(input_pool=4, **{**kw, **CLASSIC})
    assert classic.fit(X[:, :40]).input_pool_ == 1


def test_default_features_hold_each_channels_share_above_its_training_quantiles():
    """n_components=None: after the pooled features come, map by map (the three
    front-end blocks, then the first block's kernels at stride 1 and dilations 1,
    2, 4, ... on the input, then on its first differences) and for the 25%, 50%
    and 75% quantiles of each channel's training values, the share of steps
    above them; over the training sequences (all of one length) those shares
    average 0.75, 0.5 and 0.25 for every channel."""
    X, _ = make_waves(n=40)
    ae = LSTMAutoencoderTransformer(hidden_size=8, max_epochs=3, random_state=0)
    Z = ae.fit_transform(X)
    module = ae.net_.module_
    # dilations spaced by sqrt(2) up to the power of 2 whose width-7 kernel spans
    # the training length
    steps = X.shape[1]
    top = int(np.floor(np.log2((steps - 1) / 6)))
    assert top == 1 and ae.ppv_dilations_ == (1, 2)
    # (longer series: powers of sqrt(2), rounded; at most 256)
    assert ae._ppv_dilations(None, 200) == (1, 2, 3, 4, 6, 8, 11, 16, 23, 32)
    longest = ae._ppv_dilations(None, 20_000)
    assert len(longest) == 16 and longest[-4:] == (91, 128, 181, 256)
    assert module.ppv_dilations == ae.ppv_dilations_
    blocks = [c.out_channels for c in module.front.convs]
    c1, n_dil = blocks[0], len(ae.ppv_dilations_)
    channels = blocks + [c1] * (2 * n_dil)
    assert ae.n_components_ == module.pooled_size + 3 * sum(channels) == Z.shape[1]
    shares, start = [], module.pooled_size
    for c in channels:
        shares.append(Z[:, start : start + 3 * c].reshape(len(X), 3, c))
        start += 3 * c
    mean = np.concatenate(shares, axis=2).mean(axis=0)  # (3, sum C)
    for q, row in zip((0.25, 0.5, 0.75), mean):
        np.testing.assert_allclose(row, 1 - q, atol=0.03)
    # two maps recomputed here: the first block's kernels less their mean over
    # the taps at the largest dilation d on the standardised input, and as they
    # are at dilation 1 on its first differences ("same" zero padding)
    conv, d = module.front.convs[0], ae.ppv_dilations_[-1]
    assert module.ppv_zero_mean
    shape = conv.weight - conv.weight.mean(dim=2, keepdim=True)
    x = module.scale(torch.as_tensor(X[:4], dtype=torch.float32)).transpose(1, 2)
    dx = x[:, :, 1:] - x[:, :, :-1]
    for m, h, dilation, w in (
        (len(blocks) + n_dil - 1, x, d, shape),
        (-n_dil, dx, 1, conv.weight),
    ):
        with torch.no_grad():
            y = torch.nn.functional.conv1d(
                h, w, conv.bias, padding=3 * dilation, dilation=dilation
            )  # (4, C_1, L)
        first = sum(channels[:m])
        t = module.ppv_thresholds[:, first : first + c1]  # (3, C_1)
        expected = (y[:, None] > t[None, :, :, None] + 1e-4).float().mean(-1)
        got = shares[m][:4]  # (4, 3, C_1)
        np.testing.assert_allclose(got, expected.numpy())
    # decoding reads the pooled features alone: changing the shares changes nothing
    Z2 = Z[:4].copy()
    Z2[:, module.pooled_size :] = 0.0
    np.testing.assert_allclose(
        ae.inverse_transform(Z2), ae.inverse_transform(Z[:4]), rtol=1e-5, atol=1e-6
    )


def test_wide_training_sequences_rebuild_a_sample_of_their_patches(monkeypatch):
    """Training sequences of more than _PATCH_VALUES values (steps x features)
    rebuild a random share of the decoder's patches each update; a model fitted
    before patch_values (its module spec has none) continues training on every
    patch."""
    import sksequence._autoencoder as autoencoder
    from sksequence.nn.autoencoder import SequenceAutoencoder

    def spy(name: str) -> list:
        # count the calls of SequenceAutoencoder.<name>
        calls, original = [], getattr(SequenceAutoencoder, name)

        def counted(module, *args, **kwargs):
            calls.append(1)
            return original(module, *args, **kwargs)

        monkeypatch.setattr(SequenceAutoencoder, name, counted)
        return calls

    sampled, own = spy("_sampled_patches"), spy("_sampled_own_patches")
    X = make_waves(n=12, n_timesteps=40, n_features=2, seed=0)[0]
    kw = dict(hidden_size=4, max_epochs=2, random_state=0)
    monkeypatch.setattr(autoencoder, "_PATCH_VALUES", 30)  # 80 values: 1 / 3
    ae = LSTMAutoencoderTransformer(**kw).fit(X)
    assert len(sampled) == 2  # (one batch an epoch: every update sampled)
    module = ae.net_.module_
    assert module.patch_values == 30 and module._patch_divisor(40) == 3
    assert "_noise_bank" not in module.__dict__  # (freed after training)
    module.train()
    out = module(torch.as_tensor(X[:4], dtype=torch.float32))
    patches = -(-40 // module.decoder_stride)
    assert out["reconstruction"] is None
    assert len(out["patch_index"]) == -(-patches // 3)
    assert np.isfinite(ae.transform(X)).all()
    # sequences of unequal lengths: each a sample of its own patches
    ragged = [x[: 25 + i] for i, x in enumerate(X)]
    ae.fit(ragged)
    assert len(own) == 2 and np.isfinite(ae.score_samples(ragged)).all()
    sampled.clear()
    old = _fit_as_built(monkeypatch, X, lambda a: _without(a, "patch_values"), **kw)
    old = pickle.loads(pickle.dumps(old))
    assert old.net_.module_.patch_values == 0
    old.set_params(warm_start=True).fit(X)
    assert old.net_.module_.patch_values == 0 and not sampled


def test_fit_transform_returns_the_encodings_the_fit_computed(monkeypatch):
    """fit_transform(X) is fit(X).transform(X) to the bit (equal and unequal
    lengths, the default encoding and n_components). With the default encoding
    and at most 257 sequences the fit's own encodings come back, with no
    second encoding pass; of more sequences (here: a smaller basis), or with
    n_components, transform runs. Nothing is left on the estimator."""
    import sksequence._autoencoder as autoencoder
    from sksequence.nn.autoencoder import SequenceAutoencoder

    calls, encode = [], SequenceAutoencoder.encode

    def counted(module, *args, **kwargs):
        calls.append(1)
        return encode(module, *args, **kwargs)

    monkeypatch.setattr(SequenceAutoencoder, "encode", counted)
    X = make_waves(n=12, n_timesteps=30, n_features=2, seed=0)[0]
    ragged = [x[: 20 + i] for i, x in enumerate(X)]
    kw = dict(hidden_size=4, max_epochs=2, random_state=0)
    for data, extra, passes in (
        (X, {}, 0),
        (ragged, {}, 0),
        (X, {"n_components": 3}, 1),
    ):
        calls.clear()
        ae = LSTMAutoencoderTransformer(**kw, **extra)
        Z = ae.fit_transform(data)
        assert (len(calls) > 0) == bool(passes)
        assert not {"_fit_encodings", "_keep_fit_encodings"} & set(vars(ae))
        expected = LSTMAutoencoderTransformer(**kw, **extra).fit(data).transform(data)
        np.testing.assert_array_equal(Z, expected)
    monkeypatch.setattr(autoencoder, "_SHARE_AXES", 4)  # every 3rd of 12 sequences
    calls.clear()
    Z = LSTMAutoencoderTransformer(**kw).fit_transform(X)
    assert calls and len(Z) == len(X)
    np.testing.assert_array_equal(
        Z, LSTMAutoencoderTransformer(**kw).fit(X).transform(X)
    )
