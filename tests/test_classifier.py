"""Behaviour of SequenceClassifier: results a user can check."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, cross_val_score
from skorch.callbacks import Callback

from sksequence import LSTMAutoencoderTransformer, SequenceClassifier
from sksequence._classifier import _auto_strides
from sksequence.nn.conv import ConvFrontEnd
from sksequence.nn.pooling import SequencePooling

from .conftest import make_waves

FAST = dict(hidden_size=16, conv_channels=(16, 16), conv_kernel_sizes=(5, 3))


@pytest.fixture(scope="module")
def waves_split():
    X, y = make_waves(n=120, n_timesteps=30, n_features=2, seed=3)
    return X[:80], y[:80], X[80:], y[80:]


def _ragged_waves(n=90, seed=0):
    """Two classes of variable-length (8..40 steps) multivariate sequences."""
    X, y = make_waves(n=n, n_timesteps=40, n_features=2, seed=seed)
    rng = np.random.RandomState(seed)
    return [X[i, : rng.randint(8, 41)] for i in range(n)], y


# -- learning -------------------------------------------------------------------------
def test_learns_toy_problem_with_defaults(waves_split):
    X, y, Xt, yt = waves_split
    clf = SequenceClassifier(max_epochs=15, random_state=0).fit(X, y)
    assert clf.score(Xt, yt) >= 0.95
    assert clf.history_[-1, "train_loss"] < clf.history_[0, "train_loss"] / 3
    proba = clf.predict_proba(Xt)
    assert proba.shape == (len(Xt), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], clf.predict(Xt))


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "mean_max", "attention"])
def test_every_pooling_learns(waves_split, pooling):
    X, y, Xt, yt = waves_split
    clf = SequenceClassifier(
        pooling=pooling, max_epochs=15, random_state=0, **FAST
    ).fit(X, y)
    assert clf.score(Xt, yt) >= 0.9


def test_recurrent_only_gru_unidirectional_learns(waves_split):
    X, y, Xt, yt = waves_split
    clf = SequenceClassifier(
        conv_channels=None,
        cell="gru",
        bidirectional=False,
        hidden_size=16,
        max_epochs=20,
        random_state=0,
    ).fit(X, y)
    assert clf.net_.module_.front is None
    assert clf.score(Xt, yt) >= 0.9


def test_string_labels_and_multiclass():
    rng = np.random.RandomState(0)
    t = np.linspace(0, 2 * np.pi, 24)
    freq = rng.randint(0, 3, size=150)
    X = np.sin(t[None, :] * (freq[:, None] + 1) + rng.uniform(0, 6, (150, 1)))
    X += 0.1 * rng.randn(*X.shape)
    names = np.array(["slow", "medium", "fast"])[freq]
    clf = SequenceClassifier(max_epochs=15, random_state=0, **FAST)
    clf.fit(X[:100], names[:100])  # 2-D X: univariate series
    assert list(clf.classes_) == ["fast", "medium", "slow"]
    assert clf.predict(X[100:]).dtype == names.dtype
    assert clf.score(X[100:], names[100:]) >= 0.9
    assert clf.n_features_in_ == 1


def test_ragged_input_through_cross_val_score():
    X, y = _ragged_waves()
    clf = SequenceClassifier(max_epochs=15, random_state=0, **FAST)
    scores = cross_val_score(clf, X, y, cv=3)
    assert scores.mean() >= 0.9


# -- padding never changes a prediction -----------------------------------------------
@pytest.mark.parametrize("pooling", ["last_max", "mean_max", "attention"])
def test_padding_invariance(pooling):
    X, y = _ragged_waves(n=40, seed=1)
    clf = SequenceClassifier(pooling=pooling, max_epochs=2, random_state=0, **FAST)
    clf.fit(X, y)
    one_by_one = np.vstack([clf.predict_proba([s]) for s in X])
    together = clf.predict_proba(X)  # padded to the longest in each batch
    np.testing.assert_allclose(one_by_one, together, atol=1e-5)
    # a longer companion sequence (more padding) changes nothing either
    long = np.zeros((200, 2))
    np.testing.assert_allclose(
        clf.predict_proba([X[0], long])[0], together[0], atol=1e-5
    )


def test_front_end_masking_is_exact():
    torch.manual_seed(0)
    front = ConvFrontEnd(3, (8, 8, 8), (7, 5, 3), (2, 2, 1)).eval()
    x = torch.randn(1, 13, 3)
    padded = torch.cat([x, torch.randn(1, 9, 3)], dim=1)  # garbage after the end
    padded[:, 13:] = 0  # the validation helper pads with zeros
    out, lengths = front(padded, torch.tensor([13]))
    ref, _ = front(x)
    assert int(lengths[0]) == ref.shape[1] == 4
    torch.testing.assert_close(out[:, :4], ref)
    assert torch.all(out[:, 4:] == 0)


def test_pooling_ignores_padding():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    lengths = torch.tensor([2])
    assert SequencePooling("mean", 1)(x, lengths).item() == 2.0
    assert SequencePooling("max", 1)(x, lengths).item() == 3.0
    last = torch.tensor([[7.0]])
    both = SequencePooling("last_max", 1)(x, lengths, last=last)
    assert both.tolist() == [[7.0, 3.0]]


# -- class weights ----------------------------------------------------------------------
@pytest.mark.slow
def test_balanced_class_weight_raises_minority_recall():
    rng = np.random.RandomState(0)
    n = 200
    y = (rng.rand(n) < 0.1).astype(int)  # 10% minority class, weak signal
    X = rng.randn(n, 20, 1) + 0.6 * y[:, None, None]
    kw = dict(max_epochs=10, random_state=0, **FAST)
    plain = SequenceClassifier(**kw).fit(X, y)
    balanced = SequenceClassifier(class_weight="balanced", **kw).fit(X, y)
    np.testing.assert_allclose(
        balanced.class_weight_, n / (2 * np.bincount(y)), rtol=1e-6
    )
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()
    weighted = SequenceClassifier(class_weight={1: 5.0}, **kw).fit(X, y)
    np.testing.assert_allclose(weighted.class_weight_, [1.0, 5.0])
    with pytest.raises(ValueError, match="class 7"):
        SequenceClassifier(class_weight={7: 2.0}, **kw).fit(X, y)


# -- encoder transfer -------------------------------------------------------------------
@pytest.fixture(scope="module")
def autoencoder():
    X, _ = make_waves(n=60, n_timesteps=20, n_features=2, seed=5)
    return LSTMAutoencoderTransformer(hidden_size=16, max_epochs=3, random_state=0).fit(
        X
    )


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_encoder_transfer_initialises_weights_and_leaves_autoencoder(autoencoder):
    X, y = make_waves(n=60, n_timesteps=20, n_features=2, seed=6)
    ae_state = _state(autoencoder.net_.module_)
    ae_out = autoencoder.transform(X)
    kw = dict(hidden_size=16, random_state=0)
    # max_epochs=1 with lr ~ 0: the classifier's encoder is what it started from
    tiny = dict(max_epochs=1, lr=1e-12, lr_schedule="constant")
    scratch = SequenceClassifier(**kw, **tiny).fit(X, y)
    transfer = SequenceClassifier(encoder=autoencoder, **kw, **tiny).fit(X, y)
    src = autoencoder.net_.module_.encoder.state_dict()
    for name, value in transfer.net_.module_.encoder.state_dict().items():
        torch.testing.assert_close(value, src[name])
        assert not torch.equal(scratch.net_.module_.encoder.state_dict()[name], value)
    # the autoencoder is not modified, even after fine-tuning
    tuned = SequenceClassifier(encoder=autoencoder, max_epochs=3, **kw).fit(X, y)
    assert not torch.equal(
        tuned.net_.module_.encoder.rnn.weight_hh_l0, src["rnn.weight_hh_l0"]
    )
    for name, value in autoencoder.net_.module_.state_dict().items():
        assert torch.equal(value, ae_state[name]), name
    np.testing.assert_array_equal(autoencoder.transform(X), ae_out)
    # "auto" front end and scaling are the autoencoder's: its front end's weights
    # and its input statistics are transferred too
    source = autoencoder.net_.module_
    front = dict(transfer.net_.module_.front.named_parameters())
    for name, value in source.front.named_parameters():  # (batch-norm statistics
        torch.testing.assert_close(front[name], value)  # move in training)
    assert transfer.net_.module_.scaling == "standard"
    torch.testing.assert_close(transfer.net_.module_.input_mean, source.input_mean)
    torch.testing.assert_close(transfer.net_.module_.input_scale, source.input_scale)
    assert transfer.conv_strides_ == autoencoder.conv_strides_


def test_frozen_encoder_stays_fixed(autoencoder):
    X, y = make_waves(n=60, n_timesteps=20, n_features=2, seed=6)
    clf = SequenceClassifier(
        encoder=autoencoder,
        freeze_encoder=True,
        hidden_size=16,
        max_epochs=3,
        random_state=0,
    ).fit(X, y)
    src = autoencoder.net_.module_.encoder.state_dict()
    for name, value in clf.net_.module_.encoder.state_dict().items():
        assert torch.equal(value, src[name])
    module = clf.net_.module_
    assert not any(p.requires_grad for p in module.encoder.parameters())
    assert not any(p.requires_grad for p in module.front.parameters())
    assert all(p.requires_grad for p in module.head.parameters())
    assert clf.history_[-1, "train_loss"] < clf.history_[0, "train_loss"]
    with pytest.raises(ValueError, match="freeze_encoder=True needs an encoder"):
        SequenceClassifier(freeze_encoder=True, max_epochs=1).fit(X, y)


def test_encoder_incompatible_sizes_are_clear_errors(autoencoder):
    X, y = make_waves(n=30, n_timesteps=20, n_features=2, seed=6)
    with pytest.raises(ValueError, match=r"hidden_size=16.*hidden_size=64"):
        SequenceClassifier(encoder=autoencoder).fit(X, y)
    with pytest.raises(ValueError, match="set bidirectional=True"):
        SequenceClassifier(
            encoder=autoencoder, hidden_size=16, bidirectional=False
        ).fit(X, y)
    X3 = np.concatenate([X, X[:, :, :1]], axis=2)
    with pytest.raises(ValueError, match="X has 3 features per timestep, but the enc"):
        SequenceClassifier(encoder=autoencoder, hidden_size=16).fit(X3, y)
    with pytest.raises(ValueError, match="transfers the autoencoder's front end"):
        SequenceClassifier(
            encoder=autoencoder,
            hidden_size=16,
            conv_channels=(8,),
            conv_kernel_sizes=(3,),
        ).fit(X, y)
    with pytest.raises(TypeError, match="LSTMAutoencoderTransformer"):
        SequenceClassifier(encoder=object()).fit(X, y)


def test_clone_and_grid_search_keep_the_fitted_encoder(autoencoder):
    X, y = make_waves(n=48, n_timesteps=20, n_features=2, seed=7)
    clf = SequenceClassifier(encoder=autoencoder, hidden_size=16, max_epochs=2)
    assert clone(clf).encoder is autoencoder
    grid = GridSearchCV(clf, {"pooling": ["last", "mean"]}, cv=2).fit(X, y)
    assert grid.best_estimator_.encoder_ is autoencoder
    # candidates given as parameter values are cloned by the search: FrozenEstimator
    # keeps them fitted
    grid = GridSearchCV(
        SequenceClassifier(hidden_size=16, max_epochs=2),
        {"encoder": [None, FrozenEstimator(autoencoder)]},
        cv=2,
    ).fit(X, y)
    assert grid.cv_results_["mean_test_score"].shape == (2,)


def test_encoder_of_a_pooled_autoencoder_reads_the_same_means():
    """An autoencoder whose front end read means of 2 steps hands them on: the
    classifier's encoder, which starts from its weights, reads the input
    exactly as the autoencoder's did."""
    X, y = make_waves(n=20, n_timesteps=20, n_features=2, seed=6)
    ae = LSTMAutoencoderTransformer(hidden_size=4, input_pool=2, max_epochs=1)
    ae.fit(X)
    tiny = dict(max_epochs=1, lr=1e-12, lr_schedule="constant")
    clf = SequenceClassifier(encoder=ae, hidden_size=4, **tiny).fit(X, y)
    module, source = clf.net_.module_, ae.net_.module_
    assert module.input_pool == source.input_pool == ae.input_pool_ == 2
    x = torch.as_tensor(X[:5], dtype=torch.float32)
    source.front.load_state_dict(module.front.state_dict())  # (its batch norm's
    with torch.no_grad():  # running statistics moved in the classifier's epoch)
        mine, theirs = module.hidden_states(x)[0], source.hidden_states(x)[0]
    assert mine.shape[1] == ae.net_.module_.front(x[:, ::2])[0].shape[1]
    torch.testing.assert_close(mine, theirs)


def test_unfitted_encoder_is_pretrained_on_X():
    X, y = make_waves(n=40, n_timesteps=16, n_features=2, seed=8)
    ae = LSTMAutoencoderTransformer(hidden_size=8, max_epochs=2, random_state=0)
    clf = SequenceClassifier(
        encoder=ae, hidden_size=8, max_epochs=2, random_state=0
    ).fit(X, y)
    assert not hasattr(ae, "net_")  # the given object is not modified
    assert clf.encoder_ is not ae and hasattr(clf.encoder_, "net_")


# -- determinism, pickling, errors ------------------------------------------------------
def test_same_random_state_same_model_and_pickle(waves_split):
    X, y, Xt, _ = waves_split
    a = SequenceClassifier(max_epochs=3, random_state=0, **FAST).fit(X, y)
    b = SequenceClassifier(max_epochs=3, random_state=0, **FAST).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(Xt), b.predict_proba(Xt))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(Xt), a.predict_proba(Xt))


def test_auto_strides_shorten_long_series():
    rng = np.random.RandomState(0)
    X, y = rng.randn(8, 300, 1), np.arange(8) % 2
    clf = SequenceClassifier(max_epochs=1, random_state=0).fit(X, y)
    assert clf.conv_strides_ == (2, 2, 2)
    assert clf.hidden_states(X[:2]).shape == (2, 38, 128)
    # equal lengths: the head reads the BiLSTM's max over steps (128) and the skip
    # connection (mean and max of 64 channels)
    assert clf.pooling_ == "max"
    assert clf.net_.module_.head.in_features == 128 + 2 * 64
    # variable lengths: the final states too
    ragged = SequenceClassifier(max_epochs=1, random_state=0).fit(
        [X[0], X[1, :100], X[2, :50], X[3]], [0, 1, 0, 1]
    )
    assert ragged.pooling_ == "last_max"
    assert ragged.net_.module_.head.in_features == 128 + 128 + 2 * 64
    # 1500 steps: stride 2 everywhere leaves 188 (<= 256): no stride 4
    long = SequenceClassifier(max_epochs=1, random_state=0).fit(
        rng.randn(4, 1500, 1), np.arange(4) % 2
    )
    assert long.conv_strides_ == (2, 2, 2)
    # stride 4 only where stride 2 leaves more than 256 steps, and not after a
    # kernel narrower than 4
    assert _auto_strides(5000, (7, 5, 3)) == (4, 4, 2)  # 5000 -> 625 -> 157
    assert _auto_strides(3000, (7, 5, 3)) == (4, 2, 2)  # 3000 -> 375 -> 188
    assert _auto_strides(5000, (3, 3, 3)) == (2, 2, 2)
    short = SequenceClassifier(max_epochs=1, random_state=0).fit(X[:, :40], y)
    assert short.conv_strides_ == (1, 1, 1)


def test_bad_input_errors(waves_split):
    X, y, _, _ = waves_split
    clf = SequenceClassifier(max_epochs=1, random_state=0, **FAST)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="continuous"):
        clf.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.where(np.arange(30)[None, :, None] == 3, np.nan, X), y)
    with pytest.raises(ValueError, match="Reshape your data"):
        clf.fit(X[..., None], y)
    with pytest.raises(ValueError, match="y is None"):
        clf.fit(X, None)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features per timestep, but Seq"):
        clf.predict(np.concatenate([X, X[:, :, :1]], axis=2))
    with pytest.raises(ValueError, match="conv_kernel_sizes needs one odd"):
        SequenceClassifier(conv_kernel_sizes=(4, 3), conv_channels=(8, 8)).fit(X, y)
    with pytest.raises(ValueError, match="conv_strides needs one positive"):
        SequenceClassifier(conv_strides=(1,)).fit(X, y)
    with pytest.raises(ValueError, match="pooling"):
        SequenceClassifier(pooling="sum").fit(X, y)


# -- window slicing (crop) --------------------------------------------------------------
def test_crop_windows_are_slices_of_each_valid_sequence():
    from sksequence.nn.classifier import RecurrentClassifier

    module = RecurrentClassifier(1, 2, hidden_size=4, crop=0.5)
    lengths = torch.tensor([10, 7, 1, 4])
    x = torch.zeros(4, 10, 1)
    for i, n in enumerate(lengths.tolist()):
        x[i, :n, 0] = torch.arange(1, n + 1)  # step t holds t + 1; padding 0
    torch.manual_seed(0)
    for position in (None, 0.0, 0.5, 1.0):
        win, win_lengths = module.crop_windows(x, lengths, position)
        assert win_lengths.tolist() == [5, 4, 1, 2]  # round(0.5 * n), at least 1
        for i, (n, w) in enumerate(zip(lengths.tolist(), win_lengths.tolist())):
            values = win[i, :, 0]
            start = int(values[0]) - 1
            assert 0 <= start <= n - w
            if position is not None:
                assert start == round((n - w) * position)
            np.testing.assert_array_equal(values[:w], np.arange(start, start + w) + 1)
            assert not values[w:].any()  # zero after the window
    # equal-length input without lengths: one window width, lengths stay None
    win, win_lengths = module.crop_windows(x, None, 1.0)
    assert win.shape == (4, 5, 1) and win_lengths is None
    np.testing.assert_array_equal(win[0, :, 0], np.arange(6, 11))
    for steps in (1, 2, 7, 10):  # the traceable twin used at predict time
        for position in (0.0, 0.5, 1.0):
            np.testing.assert_array_equal(
                module._equal_window(x[:, :steps], position),
                module.crop_windows(x[:, :steps], None, position)[0],
            )


def test_crop_trains_on_random_windows_and_predicts_on_four_views():
    X, y = _ragged_waves(n=40)
    clf = SequenceClassifier(crop=0.8, max_epochs=3, random_state=0, **FAST).fit(X, y)
    module = clf.net_.module_
    assert module.crop == 0.8
    expected = []
    with torch.no_grad():
        module.eval()
        for seq in X[:8]:
            n = len(seq)
            w = max(1, int(np.round(0.8 * n)))
            views = [seq] + [seq[int(np.round((n - w) * p)) :][:w] for p in (0, 0.5, 1)]
            logits = [
                module.head(module.features(torch.tensor(v[None], dtype=torch.float32)))
                for v in views
            ]
            expected.append(torch.softmax(torch.stack(logits).mean(0)[0].double(), -1))
    np.testing.assert_allclose(
        clf.predict_proba(X[:8]), torch.stack(expected), atol=1e-5
    )
    # without crop: one pass over the whole sequence
    plain = SequenceClassifier(crop=None, max_epochs=1, random_state=0, **FAST)
    plain.fit(X, y)
    assert plain.net_.module_.crop == 0.0
    with torch.no_grad():
        one = plain.net_.module_.eval()(torch.tensor(X[0][None], dtype=torch.float32))
    np.testing.assert_allclose(
        plain.predict_proba(X[:1])[0], torch.softmax(one[0].double(), -1), atol=1e-5
    )
    # training mode: a new random window each call
    module.train()
    x = torch.tensor(np.stack([s[:8] for s in X[:4]]), dtype=torch.float32)
    with torch.no_grad():
        assert not torch.equal(module(x), module(x))
    module.eval()


def test_crop_auto_is_on_for_variable_lengths_only(waves_split):
    X, y, _, _ = waves_split
    equal = SequenceClassifier(max_epochs=1, random_state=0, **FAST).fit(X, y)
    assert equal.crop_ is None and equal.net_.module_.crop == 0.0
    Xr, yr = _ragged_waves(n=30)
    ragged = SequenceClassifier(max_epochs=1, random_state=0, **FAST).fit(Xr, yr)
    assert ragged.crop_ == 0.8 and ragged.net_.module_.crop == 0.8
    ragged.set_params(warm_start=True, crop=None, max_epochs=1).fit(Xr, yr)
    assert ragged.crop_ == 0.8  # a continued fit keeps the first fit's windows
    off = SequenceClassifier(crop=1.0, max_epochs=1, random_state=0, **FAST)
    assert off.fit(Xr, yr).crop_ is None
    with pytest.raises(ValueError, match="crop"):
        SequenceClassifier(crop=0.0).fit(X, y)


def test_crop_predictions_survive_onnx_export(waves_split, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from sksequence.export import export_onnx

    X, y, Xt, _ = waves_split
    clf = SequenceClassifier(crop=0.8, max_epochs=2, random_state=0, **FAST)
    clf.fit(X, y)
    export_onnx(clf, tmp_path / "clf.onnx")  # traced on 3 steps
    session = ort.InferenceSession(str(tmp_path / "clf.onnx"))
    for batch in (Xt, Xt[:3, :17]):  # other lengths than traced: windows follow
        proba, _ = session.run(None, {"x": batch.astype(np.float32)})
        np.testing.assert_allclose(proba, clf.predict_proba(batch), atol=1e-5)


# -- window warping --------------------------------------------------------------------
def test_window_warp_resamples_one_window_of_each_valid_sequence():
    from sksequence.nn.functional import window_warp

    lengths = torch.tensor([20, 10, 3, 1])
    x = torch.zeros(4, 20, 1)
    for i, n in enumerate(lengths.tolist()):
        x[i, :n, 0] = torch.arange(1, n + 1)  # step t holds t + 1; padding 0
    torch.manual_seed(0)
    seen = set()
    for _ in range(20):
        y, new = window_warp(x, lengths, 0.2)
        widths = [4, 2, 2, 1]  # round(0.2 * n), at least 2, at most n
        ratio = (new[0] - 16).item() / 4
        seen.add(ratio)
        assert ratio in (0.5, 2.0)  # one draw for the batch
        for i, (n, w) in enumerate(zip(lengths.tolist(), widths)):
            m = int(new[i])
            assert m == n - w + max(1, round(w * ratio))
            values = y[i, :m, 0].numpy()
            assert not y[i, m:].any()  # zero after the new end
            assert values[0] == 1  # the first step is kept, and so is the last
            assert values[-1] == n or (w == 2 and ratio == 0.5)  # (unless halved)
            assert np.all(np.diff(values) >= 0)  # time runs forwards
            # outside the window the steps are the original ones, one for one
            whole = np.isclose(values, np.round(values))
            assert whole.sum() >= n - w
    assert seen == {0.5, 2.0}
    # equal-length input without lengths: one new length, lengths stay None
    y, new = window_warp(x[:1].expand(3, -1, -1), None, 0.1)
    assert new is None and y.shape[1] in (19, 22)


def test_window_warp_auto_is_checked_on_the_training_sequences(waves_split):
    X, y, Xt, yt = waves_split
    clf = SequenceClassifier(max_epochs=15, random_state=0, **FAST).fit(X, y)
    assert clf.window_warp_ == 0.1 and clf.net_.module_.warp == 0.1
    assert clf.train_accuracy_warped_ >= 0.98
    assert clf.score(Xt, yt) >= 0.95
    # the module warps in training only (equal lengths: no crop, so the warp is
    # the only randomness): a new warp each call, evaluation is deterministic
    module = clf.net_.module_.train()
    x = torch.tensor(X[:8], dtype=torch.float32)
    with torch.no_grad():
        assert module(x).shape == (8, 2)
        assert not torch.equal(module(x), module(x))
        module.eval()
        assert torch.equal(module(x), module(x))
    # off, a fixed fraction (not checked), variable lengths, partial_fit
    off = SequenceClassifier(window_warp=None, max_epochs=1, random_state=0, **FAST)
    assert off.fit(X, y).window_warp_ is None and off.net_.module_.warp == 0.0
    fixed = SequenceClassifier(window_warp=0.2, max_epochs=1, random_state=0, **FAST)
    fixed.fit(X, y)
    assert fixed.window_warp_ == 0.2 and fixed.train_accuracy_warped_ is None
    Xr, yr = _ragged_waves(n=60)
    ragged = SequenceClassifier(max_epochs=15, random_state=0, **FAST).fit(Xr, yr)
    assert ragged.window_warp_ == 0.1 and ragged.net_.module_.warp == 0.1
    assert ragged.train_accuracy_warped_ >= 0.98
    rng = np.random.RandomState(0)  # more than 1000 sequences: not warped
    Xl, yl = rng.randn(1001, 6, 1), rng.randint(0, 2, 1001)
    large = SequenceClassifier(max_epochs=1, batch_size=256, random_state=0, **FAST)
    large.fit(Xl, yl)
    assert large.window_warp_ is None and large.train_accuracy_warped_ is None
    incremental = SequenceClassifier(random_state=0, **FAST)
    assert incremental.partial_fit(X, y, classes=[0, 1]).window_warp_ is None
    clf.set_params(warm_start=True, window_warp=None, max_epochs=1).fit(X, y)
    assert clf.net_.module_.warp == 0.1  # a continued fit keeps the first fit's
    with pytest.raises(ValueError, match="window_warp"):
        SequenceClassifier(window_warp=1.5).fit(X, y)


def test_window_warp_auto_falls_back_when_the_warped_fit_misses_training_labels():
    # Labels a short fit cannot learn stand for data whose classes warping hides
    # (ACSF1 in benchmarks/RESULTS.md): the warped fit misclassifies training
    # sequences, so it is replaced by a fit without warping.
    rng = np.random.RandomState(0)
    X, y = rng.randn(60, 20, 1), rng.randint(0, 2, 60)
    clf = SequenceClassifier(max_epochs=2, random_state=0, **FAST).fit(X, y)
    assert clf.train_accuracy_warped_ < 0.98
    assert clf.window_warp_ is None and clf.net_.module_.warp == 0.0
    assert clf.n_epochs_ == 2  # the history is the refit's
    # the refit is exactly the fit without warping
    plain = SequenceClassifier(window_warp=None, max_epochs=2, random_state=0, **FAST)
    plain.fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), plain.predict_proba(X))


class _EpochLog(Callback):
    epochs: list = []  # a class attribute: the estimator deep-copies its callbacks

    def on_epoch_end(self, net, **kwargs):
        _EpochLog.epochs.append(len(net.history))


def test_window_warp_auto_stops_a_hopeless_warped_fit_at_60_percent():
    rng = np.random.RandomState(0)
    X, y = rng.randn(60, 20, 1), rng.randint(0, 2, 60)
    _EpochLog.epochs = []
    clf = SequenceClassifier(
        max_epochs=10, callbacks=[_EpochLog()], random_state=0, **FAST
    ).fit(X, y)
    # the warped fit stopped after epoch 6 (below 90% of its training labels
    # there), then the unwarped fit ran its 10 epochs
    assert _EpochLog.epochs == list(range(1, 7)) + list(range(1, 11))
    assert clf.window_warp_ is None and clf.train_accuracy_warped_ < 0.9
    # the refit's net has no probe; a kept warped fit's probe holds no data (it
    # reads the training set it is handed at the probe epoch)
    names = [name for name, _ in clf.net_.callbacks_]
    assert "warp_probe" not in names and "user_0__EpochLog" in names
    kept = SequenceClassifier(max_epochs=15, random_state=0, **FAST)
    X, y = make_waves(n=60, n_timesteps=30, n_features=2, seed=3)
    kept.fit(X, y)
    assert kept.window_warp_ == 0.1 and kept.train_accuracy_warped_ >= 0.98
    probe = dict(kept.net_.callbacks_)["warp_probe"]
    assert vars(probe) == {"epoch": 9, "min_accuracy": 0.9}
    assert X.astype(np.float32).tobytes()[:64] not in pickle.dumps(kept)
