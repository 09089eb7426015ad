"""Seq2SeqRegressor, Seq2SeqClassifier, their torch modules and sliding_window."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sksequence import Seq2SeqClassifier, Seq2SeqRegressor
from sksequence._teacher_forcing import teacher_forcing_schedule
from sksequence.nn.attention import BahdanauAttention, LuongAttention
from sksequence.nn.seq2seq import Seq2Seq
from sksequence.preprocessing import SeriesWindows, sliding_window

KINDS = ["dot", "general", "concat", "location", "bahdanau"]


# -- data ---------------------------------------------------------------------------


def reversal(n=400, n_in=4, n_out=3, card=5, seed=0):
    """One-hot sequences of ints in 0..card-1; y = the first n_out reversed."""
    rng = np.random.RandomState(seed)
    src = rng.randint(0, card, size=(n, n_in))
    return np.eye(card)[src], src[:, :n_out][:, ::-1].copy()


def first_two(n=600, seed=0):
    """The attention tutorial's problem, small: 5 ints in 0..9, output the first 2
    then zeros."""
    rng = np.random.RandomState(seed)
    src = rng.randint(0, 10, size=(n, 5))
    y = np.zeros_like(src)
    y[:, :2] = src[:, :2]
    return np.eye(10)[src], y


def sines(n=300, n_in=16, n_out=4, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n_in + n_out)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    freq = rng.uniform(0.3, 0.6, size=(n, 1))
    series = np.sin(freq * t + phase)
    return series[:, :n_in], series[:, n_in:]


FAST = dict(hidden_size=32, batch_size=32, lr=1e-2, random_state=0)


# -- torch modules ------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_attention_gives_padding_exactly_zero_weight(kind):
    torch.manual_seed(0)
    query, keys = torch.randn(3, 4, 8), torch.randn(3, 6, 8)
    mask = torch.tensor([[1] * 6, [1] * 2 + [0] * 4, [1] * 5 + [0]], dtype=torch.bool)
    if kind == "bahdanau":
        attn = BahdanauAttention(8, 8)
    else:
        attn = LuongAttention(8, 8, score=kind, max_length=6)
    context, weights = attn(query, keys, mask)
    assert weights.shape == (3, 4, 6) and context.shape == (3, 4, 8)
    assert (weights[1, :, 2:] == 0).all() and (weights[2, :, 5] == 0).all()
    assert (weights[1, :, :2] > 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4))
    # the context only mixes real steps: changing padded keys changes nothing
    keys2 = keys.clone()
    keys2[1, 2:] = 100.0
    torch.testing.assert_close(attn(query, keys2, mask)[0][1], context[1])


def test_location_attention_rejects_longer_inputs():
    attn = LuongAttention(4, score="location", max_length=3)
    with pytest.raises(ValueError, match="at most 3 steps"):
        attn(torch.randn(1, 2, 4), torch.randn(1, 5, 4))


@pytest.mark.parametrize("kind", ["dot", "concat"])
def test_dot_and_concat_scores_ignore_the_scale_of_the_states(kind):
    """Freshly initialised recurrent states are small; the scores of "dot" and
    "concat" must not be flattened by that (it held them at 0.86 and 0.92 on the
    attention benchmark, where "general" reaches 1.00)."""
    torch.manual_seed(0)
    attn = LuongAttention(16, score=kind)
    query, keys = torch.randn(2, 3, 16), torch.randn(2, 5, 16)
    _, weights = attn(query, keys)
    _, small = attn(0.05 * query, 0.05 * keys)
    torch.testing.assert_close(small, weights, rtol=1e-3, atol=1e-4)
    # and the decoder state matters from the start: other queries, other weights
    _, other = attn(0.05 * torch.randn(2, 3, 16), 0.05 * keys)
    assert (other - small).abs().max() > 0.02


@pytest.mark.parametrize("attention", [None, "general", "concat", "location"])
@pytest.mark.parametrize("categorical", [True, False])
def test_one_call_decoder_matches_step_by_step(attention, categorical):
    """The teacher-forced fast path (one RNN call, batched attention) computes what
    the step-by-step loop computes."""
    torch.manual_seed(0)
    model = Seq2Seq(
        3,
        5,
        hidden_size=8,
        num_layers=2,
        attention=attention,
        categorical=categorical,
        max_length=7,
    ).eval()
    x, lengths = torch.randn(4, 7, 3), torch.tensor([7, 2, 5, 1])
    target = torch.randint(0, 5, (4, 3)) if categorical else torch.randn(4, 3, 5)
    fast, w_fast = model(x, lengths, target)
    slow, w_slow = model._loop(
        model.start_inputs(4), model.encode(x, lengths), 3, target, 1.0
    )
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-4)
    if attention:
        torch.testing.assert_close(w_fast, w_slow, atol=1e-5, rtol=1e-4)
        assert (w_fast[1, :, 2:] == 0).all()


def test_zero_teacher_forcing_is_free_running():
    torch.manual_seed(0)
    model = Seq2Seq(3, 4, hidden_size=8, categorical=True, attention="bahdanau")
    x, target = torch.randn(5, 6, 3), torch.randint(0, 4, (5, 3))
    model.teacher_forcing_ratio = 0.0
    trained_free, _ = model(x, None, target)  # training mode, ratio 0
    model.eval()
    free, _ = model(x, None, n_steps=3)
    forced, _ = model(x, None, target)
    torch.testing.assert_close(trained_free, free)
    assert not torch.allclose(forced, free)


# -- classifier ---------------------------------------------------------------------


def test_classifier_learns_reversal_with_any_label_type():
    X, y = reversal()
    names = np.array(["zero", "one", "two", "three", "four"], dtype=object)
    clf = Seq2SeqClassifier(max_epochs=40, **FAST).fit(X, names[y])
    assert list(clf.classes_) == sorted(names)
    X_test, y_test = reversal(n=200, seed=1)
    assert clf.score(X_test, names[y_test]) > 0.9
    pred = clf.predict(X_test)
    assert pred.shape == (200, 3) and pred.dtype == object
    proba = clf.predict_proba(X_test)
    assert proba.shape == (200, 3, 5)
    np.testing.assert_allclose(proba.sum(-1), 1.0, rtol=1e-5)
    # greedy: each step's most probable label is the predicted one
    np.testing.assert_array_equal(clf.classes_[proba.argmax(-1)], pred)
    # beam search never finds a less probable sequence than greedy
    clf.set_params(beam_width=3)
    beam = clf.predict(X_test)
    gain = _sequence_logp(clf, X_test, beam) - _sequence_logp(clf, X_test, pred)
    assert (gain >= -1e-4).all()
    # sampling: reproducible; a cold temperature is greedy
    a = clf.generate(X_test, random_state=0)
    np.testing.assert_array_equal(a, clf.generate(X_test, random_state=0))
    cold = clf.generate(X_test, temperature=1e-3, random_state=1)
    np.testing.assert_array_equal(cold, pred)
    hot = clf.generate(X_test, temperature=5.0, random_state=1)
    assert (hot != pred).any()


def _sequence_logp(clf, X, labels):
    """Total log-probability of the given label sequences, per sample."""
    ids = torch.as_tensor(np.searchsorted(clf.classes_, labels))
    module = clf.net_.module_.eval()
    with torch.no_grad():
        logits = module(torch.as_tensor(X, dtype=torch.float32), None, ids)[0]
        logp = torch.log_softmax(logits, -1).gather(2, ids[..., None])
    return logp.sum(dim=(1, 2)).numpy()


@pytest.mark.slow
def test_attention_solves_first_two_and_weights_point_at_them():
    X, y = first_two()
    clf = Seq2SeqClassifier(attention="general", max_epochs=25, **FAST).fit(X, y)
    X_test, y_test = first_two(n=200, seed=1)
    assert clf.score(X_test, y_test) > 0.9
    weights = clf.attention_weights(X_test)
    assert weights.shape == (200, 5, 5)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-5)
    # output step t copies input step t (t < 2): most weight sits there
    assert weights[:, 0].argmax(-1).mean() == pytest.approx(0, abs=0.2)
    assert (weights[:, 1].argmax(-1) == 1).mean() > 0.8


def test_attention_weights_of_ragged_inputs_are_zero_on_padding():
    X, y = first_two(n=64)
    ragged = [x[: 2 + i % 4] for i, x in enumerate(X)]
    for kind in KINDS:
        clf = Seq2SeqClassifier(attention=kind, max_epochs=1, **FAST).fit(ragged, y)
        w = clf.attention_weights(ragged)
        assert w.shape == (64, 5, 5)
        for i, x in enumerate(ragged):
            assert (w[i, :, len(x) :] == 0).all()
            np.testing.assert_allclose(w[i].sum(-1), 1.0, rtol=1e-5)


def test_attention_weights_need_attention():
    X, y = reversal(n=40)
    clf = Seq2SeqClassifier(max_epochs=1, **FAST).fit(X, y)
    with pytest.raises(ValueError, match="attention=None"):
        clf.attention_weights(X)


def test_location_attention_refuses_longer_inputs():
    X, y = reversal(n=40)
    clf = Seq2SeqClassifier(attention="location", max_epochs=1, **FAST).fit(X, y)
    longer = np.concatenate([X, X], axis=1)
    with pytest.raises(
        ValueError, match="attention='location' was fitted on at most 4"
    ):
        clf.predict(longer)


@pytest.mark.slow
def test_variable_length_targets_with_an_end_symbol():
    # Copy the input symbols, whatever their number (1 to 4).
    rng = np.random.RandomState(0)
    lengths = rng.randint(1, 5, size=500)
    seqs = [rng.randint(0, 4, size=n) for n in lengths]
    X = [np.eye(4)[s] for s in seqs]
    y = [np.array(list("abcd"))[s] for s in seqs]
    clf = Seq2SeqClassifier(attention="general", max_epochs=30, **FAST).fit(X, y)
    assert clf.n_steps_out_ == 4 and list(clf.classes_) == list("abcd")
    pred = clf.predict(X[:100])
    assert isinstance(pred, list) and len(pred) == 100
    assert {len(p) for p in pred} == {1, 2, 3, 4}
    assert clf.score(X[:100], y[:100]) > 0.9
    proba = clf.predict_proba(X[:100])
    assert proba.shape == (100, 4, 4)
    # the labels take the mass before the end, the end symbol takes it at the end
    # step (the rows then miss that mass), rows after the end are 0
    for p, pr in zip(pred, proba):
        assert (pr[: len(p)].sum(-1) > 0.5).all()
        if len(p) < 4:
            assert pr[len(p)].sum() < 0.5
            assert (pr[len(p) + 1 :] == 0).all()
    beam = clf.set_params(beam_width=2).predict(X[:100])
    assert clf.score(X[:100], y[:100]) > 0.9 and isinstance(beam, list)


def test_one_dimensional_y_is_one_step():
    X, y = reversal(n=200, n_out=1)
    clf = Seq2SeqClassifier(max_epochs=20, **FAST).fit(X, y.ravel())
    assert clf.predict(X).shape == (200,)
    assert clf.predict_proba(X).shape == (200, 5)
    assert clf.score(X, y.ravel()) > 0.9


def test_scheduled_sampling_decays_and_is_grid_searchable():
    assert teacher_forcing_schedule("linear", 0, max_epochs=10) == 1.0
    assert teacher_forcing_schedule("linear", 5, max_epochs=10) == pytest.approx(0.5)
    assert teacher_forcing_schedule("exponential", 10, max_epochs=10) == pytest.approx(
        0.05
    )
    assert teacher_forcing_schedule("exponential", 2, decay=0.5) == pytest.approx(0.25)
    sig = [
        teacher_forcing_schedule("inverse_sigmoid", i, max_epochs=20) for i in range(21)
    ]
    assert sig[0] < 1 and np.all(np.diff(sig) < 0)
    assert sig[10] == pytest.approx(0.5, abs=0.05)  # midpoint half way
    assert teacher_forcing_schedule("linear", 2, start=0.8, decay=0.1) == pytest.approx(
        0.6
    )

    X, y = reversal(n=96)
    clf = Seq2SeqClassifier(
        max_epochs=4, scheduled_sampling="linear", n_iter_no_change=100, **FAST
    ).fit(X, y)
    ratios = clf.history_[:, "teacher_forcing_ratio"]
    np.testing.assert_allclose(ratios, [1.0, 0.75, 0.5, 0.25])
    assert clf.net_.module_.teacher_forcing_ratio == 0.25
    grid = GridSearchCV(
        Seq2SeqClassifier(max_epochs=2, **FAST),
        {
            "scheduled_sampling": [None, "exponential", "inverse_sigmoid"],
            "teacher_forcing_ratio": [1.0, 0.5],
        },
        cv=2,
    ).fit(X, y)
    assert set(grid.best_params_) == {"scheduled_sampling", "teacher_forcing_ratio"}


def test_direct_decoder_and_gru_bidirectional_fit():
    X, y = reversal(n=200)
    for params in (
        dict(decoder="direct"),
        dict(cell="gru", bidirectional=True, num_layers=2, attention="dot"),
        dict(attention="concat", input_feeding=True, teacher_forcing_ratio=0.5),
    ):
        clf = Seq2SeqClassifier(max_epochs=3, **params, **FAST).fit(X, y)
        assert clf.predict(X).shape == y.shape
        loss = clf.history_[:, "train_loss"]
        assert loss[-1] < loss[0]


def test_classifier_same_seed_same_model_and_pickles():
    X, y = reversal(n=96)
    a = Seq2SeqClassifier(max_epochs=2, attention="bahdanau", **FAST).fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_proba(X), c.predict_proba(X))


@pytest.mark.parametrize("attention", [None, "general", "bahdanau"])
def test_output_dropout_acts_in_training_only(attention):
    """output_dropout drops decoder states in train mode; eval mode is the module
    without it (the same weights give the same outputs)."""
    torch.manual_seed(0)
    kw = dict(hidden_size=8, pattern="direct", attention=attention, max_length=6)
    plain = Seq2Seq(2, 2, **kw)
    dropped = Seq2Seq(2, 2, output_dropout=0.5, **kw)
    dropped.load_state_dict(plain.state_dict())
    x = torch.randn(5, 6, 2)
    plain.eval(), dropped.eval()
    torch.testing.assert_close(dropped(x, n_steps=3)[0], plain(x, n_steps=3)[0])
    dropped.train()
    a, b = dropped(x, n_steps=3)[0], dropped(x, n_steps=3)[0]
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match=r"output_dropout must be in \[0, 1\)"):
        Seq2Seq(2, 2, output_dropout=1.0)


@pytest.mark.parametrize("make", [Seq2SeqRegressor, Seq2SeqClassifier])
def test_output_dropout_fits_are_reproducible_and_leave_the_global_rng(make):
    X, y = sines(n=64) if make is Seq2SeqRegressor else reversal(n=64)
    est = make(output_dropout=0.5, max_epochs=3, **FAST)
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first = est.fit(X, y).predict(X)
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_array_equal(first, clone(est).fit(X, y).predict(X))
    # (dropout is on in training: another seed's dropout masks give other weights)
    other = clone(est).set_params(output_dropout=0.0).fit(X, y)
    if make is Seq2SeqRegressor:
        assert not np.allclose(first, other.predict(X))


def test_dropout_warning_points_seq2seq_users_at_output_dropout():
    X, y = sines(n=16)
    with pytest.warns(UserWarning, match="output_dropout"):
        Seq2SeqRegressor(dropout=0.3, max_epochs=1, hidden_size=4).fit(X, y)


def test_classifier_input_errors():
    X, y = reversal(n=20)
    clf = Seq2SeqClassifier(max_epochs=1, **FAST)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="continuous"):
        clf.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="NaN or None"):
        clf.fit(X, [[1, None, 2]] * 20)
    with pytest.raises(ValueError, match="Reshape your data"):
        clf.fit(X, y[:, :, None])
    with pytest.raises(ValueError, match="empty"):
        clf.fit(X, [[1, 2]] * 19 + [[]])
    clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features per timestep, but"):
        clf.predict(X[:, :, :3])
    with pytest.raises(ValueError, match="temperature must be positive"):
        clf.generate(X, temperature=0)


# -- regressor ----------------------------------------------------------------------


@pytest.mark.slow
def test_regressor_forecasts_sines_direct_and_recursive():
    X, y = sines()
    reg = Seq2SeqRegressor(decoder="recursive", max_epochs=40, **FAST).fit(X, y)
    X_test, y_test = sines(n=100, seed=1)
    assert reg.predict(X_test).shape == (100, 4)
    assert reg.score(X_test, y_test) > 0.9
    # beyond the horizon: feed predictions back (the recursive strategy)
    X_long, y_long = sines(n=100, n_in=16, n_out=12, seed=2)
    long = reg.forecast(X_long, n_steps=12)
    assert long.shape == (100, 12)
    np.testing.assert_allclose(long[:, :4], reg.predict(X_long), rtol=1e-5)
    err = np.mean((long - y_long) ** 2)
    assert err < 0.25 * np.var(y_long)
    # the direct decoder (the default) learns it too
    direct = Seq2SeqRegressor(max_epochs=40, **FAST).fit(X, y)
    assert direct.score(X_test, y_test) > 0.8


def trending_series(n=160, seed=0):
    """A monthly series in raw units: level 300, a rising trend, a 12-month
    season and noise of standard deviation 0.3."""
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    return 300 + 0.4 * t + 4 * np.sin(2 * np.pi * t / 12) + 0.3 * rng.randn(n)


def test_regressor_defaults_forecast_a_raw_trending_series_in_its_units():
    """The defaults on raw levels (no scaler): the last 12 values, above every
    training value, are forecast within a few noise levels, and better than the
    seasonal naive forecast (last year's values) that misses a year of trend."""
    series = trending_series()
    train, test = series[:-12], series[-12:]
    X, y = sliding_window(train, 24, 12)
    reg = Seq2SeqRegressor(random_state=0).fit(X, y)
    assert reg.scaling_ == "window" and reg.net_.module_.pattern == "direct"
    assert test.min() > train.max() - 10  # levels the training windows barely reach
    forecast = reg.predict(train[-24:][None])[0]
    mae = np.abs(forecast - test).mean()
    assert mae < 1.0
    assert mae < 0.25 * np.abs(train[-12:] - test).mean()
    # beyond the horizon (fed back), and the score, in the same units
    longer = reg.forecast(train[-24:][None], n_steps=24)[0]
    np.testing.assert_allclose(longer[:12], forecast, rtol=1e-5)
    assert np.abs(longer[12:] - (forecast + 12 * 0.4)).mean() < 1.5
    assert reg.score(X, y) > 0.99


def test_regressor_window_scaling_is_in_the_users_units():
    """Multiplying the series by 1000 and shifting it by 5e4 multiplies and shifts
    the model's predictions the same way (same seed): the scaling inside the model
    undoes any units."""
    series = trending_series(n=100)
    X, y = sliding_window(series, 12, 4)
    kw = dict(hidden_size=8, max_epochs=5, random_state=0)
    a = Seq2SeqRegressor(**kw).fit(X, y)
    b = Seq2SeqRegressor(**kw).fit(1e3 * X + 5e4, 1e3 * y + 5e4)
    np.testing.assert_allclose(
        b.predict(1e3 * X[:5] + 5e4), 1e3 * a.predict(X[:5]) + 5e4, rtol=1e-5
    )
    np.testing.assert_allclose(b.y_scale_, 1e3 * a.y_scale_, rtol=1e-5)


def _level_shift(reg, X):
    """How far the level alone moves the forecast of a flat window far above the
    training data, in window scales: the linear path reads only the level (weight
    1), the network is silenced."""
    module = reg.net_.module_
    assert module.level
    with torch.no_grad():
        module.out.weight.zero_()
        module.out.bias.zero_()
        module.skip.weight.zero_()
        module.skip.bias.zero_()
        module.skip.weight[:, -1] = 1.0  # the level's column
    far = np.max(X) + 100 * np.std(X)
    shift = reg.predict(np.full((1, X.shape[1]), far))[0] - far  # (T,)
    return shift / (1e-2 * reg.y_scale_[0])  # window scale: min_scale, standardised


def test_regressor_level_bound_three_for_one_series_one_for_many():
    """The level input is softly bounded to 3 window standard deviations when the
    windows are consecutive windows of one series (sliding_window, any step), and
    to 1 for windows of many series (SeriesWindows: a bound of 3 cost the global
    models on short trending series) or windows with a gap; shuffled windows of
    one series are still one series; training that goes on keeps the fitted
    bound."""
    kw = dict(hidden_size=4, max_epochs=1, random_state=0)
    series = trending_series(n=100)
    for step in (1, 3):
        X, y = sliding_window(series, 12, 4, step=step)
        reg = Seq2SeqRegressor(**kw).fit(X, y)
        np.testing.assert_allclose(_level_shift(reg, X), -3.0, rtol=1e-3)
        order = np.random.RandomState(0).permutation(len(X))
        reg = Seq2SeqRegressor(**kw).fit(X[order], y[order])
        np.testing.assert_allclose(_level_shift(reg, X), -3.0, rtol=1e-3)
    gap = np.r_[0:10, 20 : len(X)]  # a fold of KFold left out: not one chain
    reg = Seq2SeqRegressor(**kw).fit(X[gap], y[gap])
    np.testing.assert_allclose(_level_shift(reg, X), -1.0, rtol=1e-3)
    windows = SeriesWindows(n_steps_in=12, n_steps_out=4)
    Xg, yg = windows.fit_windows([series, trending_series(n=80, seed=1)[::-1]])
    reg = Seq2SeqRegressor(**kw).fit(Xg, yg)
    assert reg.net_.module_.level_bound == 1.0
    reg.partial_fit(Xg[:20], yg[:20])  # one chain of one series: the bound stays
    np.testing.assert_allclose(_level_shift(reg, Xg), -1.0, rtol=1e-3)


def test_one_series_is_recognised_in_any_order_but_not_across_series():
    """The windows of one series link into one chain whatever their order or step;
    windows of two series, with a gap, with repeated windows or random ones do
    not; in order is a separate, stricter answer (linear_start="auto" validates on
    the latest windows)."""
    from sksequence._seq2seq import _one_series
    from sksequence.utils.validation import check_sequences

    def one(X, in_order=True):
        return _one_series(check_sequences(X), in_order)

    series = trending_series(n=100)
    rng = np.random.RandomState(0)
    for step in (1, 5):
        X, _ = sliding_window(series, 12, 4, step=step)
        assert one(X) and one(X, in_order=False)
        shuffled = X[rng.permutation(len(X))]
        assert one(shuffled, in_order=False) and not one(shuffled)
        assert not one(X[np.r_[0:5, 9 : len(X)]], in_order=False)  # a gap
    Xg, _ = SeriesWindows(n_steps_in=12, n_steps_out=4).fit_windows(
        [series, trending_series(n=80, seed=1)]
    )
    assert not one(Xg[rng.permutation(len(Xg))], in_order=False)
    assert not one(np.r_[X, X[:1]], in_order=False)  # a repeated window
    assert not one(rng.normal(size=(30, 12)), in_order=False)


def test_series_of_windows_rebuilds_the_series_in_any_order():
    """The series behind one series' windows is rebuilt from them, in order or
    shuffled, at any step; windows of two series give none."""
    from sksequence._seq2seq import _series_of_windows

    series = trending_series(n=60)
    rng = np.random.RandomState(0)
    for step in (1, 4):
        X, _ = sliding_window(series, 12, 4, step=step)
        X3 = X[:, :, None]
        covered = 12 + step * (len(X) - 1)  # the steps the windows hold
        np.testing.assert_array_equal(_series_of_windows(X3)[:, 0], series[:covered])
        shuffled = X3[rng.permutation(len(X3))]
        assert _series_of_windows(shuffled) is None  # in order only
        np.testing.assert_array_equal(
            _series_of_windows(shuffled, in_order=False)[:, 0], series[:covered]
        )
    Xg, _ = SeriesWindows(n_steps_in=12, n_steps_out=4).fit_windows(
        [series, trending_series(n=50, seed=1)]
    )
    assert _series_of_windows(Xg.reshape(len(Xg), 12, 1), in_order=False) is None


def test_adf_test_matches_statsmodels():
    """The augmented Dickey-Fuller decision (5%, a constant, lags by AIC) is
    statsmodels' adfuller's on stationary, cyclic, random-walk and trending
    series, short and long."""
    adfuller = pytest.importorskip("statsmodels.tsa.stattools").adfuller
    from sksequence._seq2seq import _adf_rejects

    rng = np.random.RandomState(0)
    cases = []
    for n in (30, 80, 300):
        e = rng.normal(size=n)
        ar = np.zeros(n)
        for t in range(1, n):
            ar[t] = 0.6 * ar[t - 1] + e[t]
        cycle = np.sin(np.arange(n) * 2 * np.pi / 11) + 0.3 * e
        cases += [ar, cycle, np.cumsum(e), trending_series(n=n, seed=n)]
    decisions = []
    for x in cases:
        with warnings.catch_warnings():  # (newer statsmodels: the result's type)
            warnings.simplefilter("ignore", FutureWarning)
            res = adfuller(x, autolag="AIC")
        expected = res[0] < res[4]["5%"]
        assert _adf_rejects(x) == expected
        decisions.append(expected)
    assert any(decisions) and not all(decisions)  # both answers were checked


def test_regressor_linear_units_series_for_a_stationary_series():
    """linear_units="auto": the linear path is in the series' units, without the
    level input, for the windows of one series that returns to its mean (in any
    order); in the window's units for a random walk, for windows of many series
    and when set (the default); the forecasts are finite and in the user's units
    either way."""
    kw = dict(hidden_size=4, max_epochs=2, random_state=0, linear_units="auto")
    rng = np.random.RandomState(0)
    n = 200
    cycle = np.zeros(n)  # an AR(1): back towards 50 by 40% a step
    for t in range(1, n):
        cycle[t] = 0.6 * cycle[t - 1] + 10 * rng.normal()
    cycle += 50
    walk = 50 + np.cumsum(rng.normal(size=n))
    X, y = sliding_window(cycle, 24, 6)
    reg = Seq2SeqRegressor(**kw).fit(X, y)
    assert reg.linear_units_ == "series"
    assert reg.net_.module_.skip_units == "raw" and not reg.net_.module_.level
    assert reg.linear_start_ == "naive"
    forecast = reg.predict(X[-1:])
    assert np.all(np.isfinite(forecast)) and np.all(np.abs(forecast - 50) < 40)
    order = rng.permutation(len(X))
    assert Seq2SeqRegressor(**kw).fit(X[order], y[order]).linear_units_ == "series"
    reg = Seq2SeqRegressor(**dict(kw, linear_units="window")).fit(X, y)
    assert reg.linear_units_ == "window" and reg.net_.module_.level
    reg = Seq2SeqRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    assert reg.linear_units_ == "window"  # the default
    Xw, yw = sliding_window(walk, 24, 6)
    assert Seq2SeqRegressor(**kw).fit(Xw, yw).linear_units_ == "window"
    reg = Seq2SeqRegressor(**dict(kw, linear_units="series")).fit(Xw, yw)
    assert reg.linear_units_ == "series" and reg.net_.module_.skip_units == "raw"
    Xg, yg = SeriesWindows(n_steps_in=24, n_steps_out=6).fit_windows([cycle, walk])
    assert Seq2SeqRegressor(**kw).fit(Xg, yg).linear_units_ == "window"
    X1 = rng.normal(size=(40, 10))  # not windows of any series
    assert Seq2SeqRegressor(**kw).fit(X1, X1[:, :3]).linear_units_ == "window"


def test_regressor_weighs_windows_by_their_scale_for_one_series_only():
    """The windows of one series (in any order) are weighed by their scale (power
    1, normalised to a mean weight of 1 over the training windows); windows of
    many series or with a gap train on the absolute error, each window weighing
    (scale / d) ** 2, d its mean absolute step; training that goes on keeps the
    fitted loss."""
    kw = dict(hidden_size=4, max_epochs=1, random_state=0)
    series = trending_series(n=100)
    X, y = sliding_window(series, 12, 4)
    reg = Seq2SeqRegressor(**kw).fit(X, y)
    module = reg.net_.module_
    assert module.window_weight == 1.0
    std = ((X - X.mean()) / X.std()).std(axis=1)  # the windows' scales (N,)
    np.testing.assert_allclose(
        float(module.window_weight_norm), np.maximum(std, 1e-2).mean(), rtol=1e-4
    )
    reg.partial_fit(X[:20], y[:20])
    assert reg.net_.module_.window_weight == 1.0
    assert reg.net_.module_.window_loss == "squared"
    assert reg.net_.module_.step_weight == 0.0
    order = np.random.RandomState(0).permutation(len(X))
    reg = Seq2SeqRegressor(**kw).fit(X[order], y[order])
    assert reg.net_.module_.window_weight == 1.0
    gap = np.r_[0:10, 20 : len(X)]
    reg = Seq2SeqRegressor(**kw).fit(X[gap], y[gap])
    assert reg.net_.module_.window_weight == 0.0
    assert reg.net_.module_.window_loss == "absolute"
    windows = SeriesWindows(n_steps_in=12, n_steps_out=4)
    Xg, yg = windows.fit_windows([series, trending_series(n=80, seed=1)[::-1]])
    reg = Seq2SeqRegressor(**kw).fit(Xg, yg)
    module = reg.net_.module_
    assert (module.window_weight, module.window_loss) == (0.0, "absolute")
    assert module.step_weight == 2.0
    z = (Xg - Xg.mean()) / Xg.std()  # the windows in standardised units
    std = np.maximum(z.std(axis=1), 1e-2)  # (N,)
    d = np.maximum(np.abs(np.diff(z, axis=1)).mean(axis=1), 1e-2)
    np.testing.assert_allclose(
        float(module.window_weight_norm), ((std / d) ** 2).mean(), rtol=1e-4
    )
    reg.partial_fit(X[:20], y[:20])  # windows of one series: the loss stays
    assert reg.net_.module_.window_loss == "absolute"
    assert reg.net_.module_.window_weight == 0.0


def _silenced(reg):
    """The fitted regressor with its network's output layer zeroed: what the
    linear path alone forecasts."""
    with torch.no_grad():
        reg.net_.module_.out.weight.zero_()
        reg.net_.module_.out.bias.zero_()
    return reg


def test_regressor_linear_start_ridge_starts_the_linear_path_at_its_ridge_fit():
    """linear_start="ridge": before any training worth the name (one epoch at a
    negligible rate) the linear path alone already forecasts a noise-free
    seasonal series (an exact linear recurrence), where the zero start forecasts
    nothing but the window's mean."""
    t = np.arange(200)
    series = 50 + 10 * np.sin(2 * np.pi * t / 12) + 3 * np.cos(2 * np.pi * t / 5)
    X, y = sliding_window(series, 24, 6)
    kw = dict(hidden_size=4, max_epochs=1, lr=1e-9, random_state=0)
    ridge = _silenced(Seq2SeqRegressor(linear_start="ridge", **kw).fit(X, y))
    zero = _silenced(Seq2SeqRegressor(linear_start="zero", **kw).fit(X, y))
    assert ridge.linear_start_ == "ridge" and zero.linear_start_ == "zero"
    assert ridge.score(X, y) > 0.999
    assert zero.score(X, y) < 0.1


def test_regressor_linear_start_naive_forecasts_no_change_before_training():
    """linear_start="naive": before any training worth the name the linear path
    alone repeats each feature's last value over the horizon (two features,
    ragged windows too); the default (None) starts the windows of one series
    there, in any order, and the windows of many series at zero."""
    rng = np.random.RandomState(0)
    series = np.cumsum(rng.randn(120, 2), axis=0) + [10.0, -5.0]
    X, y = sliding_window(series, 12, 4)
    kw = dict(hidden_size=4, max_epochs=1, lr=1e-9, random_state=0)
    naive = _silenced(Seq2SeqRegressor(linear_start="naive", **kw).fit(X, y))
    assert naive.linear_start_ == "naive"
    np.testing.assert_allclose(
        naive.predict(X), np.repeat(X[:, -1:], 4, axis=1), rtol=0, atol=1e-4
    )
    ragged = [X[0][3:], X[1]]  # the last values are at each sequence's own end
    np.testing.assert_allclose(
        naive.predict(ragged), np.repeat(X[:2, -1:], 4, axis=1), atol=1e-4
    )
    zero = _silenced(Seq2SeqRegressor(linear_start="zero", **kw).fit(X, y))
    assert not np.allclose(zero.predict(X), naive.predict(X), atol=0.1)
    order = rng.permutation(len(X))
    assert Seq2SeqRegressor(**kw).fit(X[order], y[order]).linear_start_ == "naive"
    windows = SeriesWindows(n_steps_in=12, n_steps_out=4)
    Xg, yg = windows.fit_windows([series[:, 0], series[::-1, 1]])
    assert Seq2SeqRegressor(**kw).fit(Xg, yg).linear_start_ == "zero"


def test_regressor_linear_start_auto_is_chosen_on_the_latest_windows():
    """linear_start="auto" fits both starts on the earlier windows of one series
    and keeps the one that forecasts the latest windows better:
    the ridge start on a noise-free seasonal series after a short training; the
    zero start, without validation fits, for windows that are not consecutive
    windows of one series (shuffled, many series) or too few, and for a
    partial_fit; no linear path (None) without window scaling."""
    t = np.arange(200)
    series = 50 + 10 * np.sin(2 * np.pi * t / 12) + 3 * np.cos(2 * np.pi * t / 5)
    X, y = sliding_window(series, 24, 6)
    assert Seq2SeqRegressor().linear_start is None  # the default (not "auto")
    kw = dict(hidden_size=4, max_epochs=2, random_state=0, linear_start="auto")
    assert Seq2SeqRegressor(**kw).fit(X, y).linear_start_ == "ridge"
    order = np.random.RandomState(0).permutation(len(X))
    assert Seq2SeqRegressor(**kw).fit(X[order], y[order]).linear_start_ == "zero"
    assert Seq2SeqRegressor(**kw).fit(X[:30], y[:30]).linear_start_ == "zero"
    windows = SeriesWindows(n_steps_in=24, n_steps_out=6)
    Xg, yg = windows.fit_windows([series, series[::-1] + 5])
    assert Seq2SeqRegressor(**kw).fit(Xg, yg).linear_start_ == "zero"
    assert Seq2SeqRegressor(**kw).partial_fit(X, y).linear_start_ == "zero"
    reg = Seq2SeqRegressor(scaling="standard", **kw).fit(X, y)
    assert reg.linear_start_ is None


def test_regressor_default_budget_is_500_updates_under_a_cosine_schedule():
    """max_epochs="auto": 100 windows in batches of 32 are 4 updates an epoch, so
    125 epochs; the learning rate decays to zero at the end, with no early stop."""
    X, y = sliding_window(trending_series(n=123), 12, 12)
    assert len(X) == 100
    reg = Seq2SeqRegressor(hidden_size=4, random_state=0).fit(X, y)
    assert reg.n_epochs_ == 125
    assert sum(row["train_batch_count"] for row in reg.history_) == 500
    assert reg.net_.optimizer_.param_groups[0]["lr"] < 1e-8
    assert reg.loss_curve_[-1] < 0.2 * reg.loss_curve_[0]


def test_regressor_scaling_auto_and_its_errors():
    X, y = sines(n=40)
    kw = dict(hidden_size=4, max_epochs=1, random_state=0)
    assert Seq2SeqRegressor(**kw).fit(X, y).scaling_ == "window"  # windows
    assert Seq2SeqRegressor(**kw).fit(X, y[:, 0]).scaling_ == "standard"  # 1-D y
    # with scaling set, a 1-D y and a column are the same fit (scikit-learn's rule)
    for scaling in ("standard", "window"):
        a = Seq2SeqRegressor(scaling=scaling, **kw).fit(X, y[:, 0])
        b = Seq2SeqRegressor(scaling=scaling, **kw).fit(X, y[:, :1])
        np.testing.assert_allclose(a.predict(X), b.predict(X)[:, 0], rtol=1e-6)
    reg = Seq2SeqRegressor(scaling=None, **kw).fit(X, y)
    assert reg.scaling_ is None and not reg.net_.module_.standardize
    X3 = np.stack([X, 2 * X], axis=-1)  # 2 features, 1 target
    assert Seq2SeqRegressor(**kw).fit(X3, y).scaling_ == "standard"
    with pytest.raises(ValueError, match=r"one target per input feature \(2\), got 1"):
        Seq2SeqRegressor(scaling="window", **kw).fit(X3, y)


def test_regressor_three_dimensional_y_and_normalize_y():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 6, 3)
    # two targets of very different scales, from the last steps of two features
    y = np.stack([1000 + 100 * X[:, -3:, 0].cumsum(1), X[:, -3:, 1]], axis=-1)
    # (the default budget: 40 epochs under the cosine schedule reached R^2 0.88)
    reg = Seq2SeqRegressor(attention="general", **FAST).fit(X, y)
    assert reg.scaling_ == "standard"  # the targets are not the input features
    pred = reg.predict(X)
    assert pred.shape == (200, 3, 2)
    assert reg.score(X, y) > 0.9
    assert reg.y_mean_[0] == pytest.approx(y[..., 0].mean())
    with pytest.raises(ValueError, match="the 2 targets must be the 3 input features"):
        reg.forecast(X, n_steps=5)
    assert reg.forecast(X, n_steps=2).shape == (200, 2, 2)
    w = reg.attention_weights(X)
    assert w.shape == (200, 3, 6)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)


def test_regressor_predicts_ragged_inputs_and_errors():
    X, y = sines(n=60)
    ragged = [x[: 8 + i % 8] for i, x in enumerate(X)]
    reg = Seq2SeqRegressor(max_epochs=2, **FAST).fit(ragged, y)
    assert reg.predict(ragged).shape == (60, 4)
    assert reg.forecast(ragged, n_steps=9).shape == (60, 9)
    with pytest.raises(ValueError, match="contains NaN"):
        reg.fit(X, np.where(y > 0.9, np.nan, y))
    with pytest.raises(ValueError, match="n_steps must be a positive integer"):
        reg.forecast(X, n_steps=0)


# -- sliding_window -----------------------------------------------------------------


def test_sliding_window_layouts():
    X, y = sliding_window(np.arange(10), 4, 2, step=2)
    np.testing.assert_array_equal(X, [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7]])
    np.testing.assert_array_equal(y, [[4, 5], [6, 7], [8, 9]])
    series = np.stack([np.arange(10), -np.arange(10)], axis=1)
    X, y = sliding_window(series, 3)
    assert X.shape == (7, 3, 2) and y.shape == (7, 1, 2)
    np.testing.assert_array_equal(y[0, 0], [3, -3])
    X, y = sliding_window(series, 3, 2, targets=1)
    assert y.shape == (6, 2, 1)
    np.testing.assert_array_equal(y[:, 0, 0], -np.arange(3, 9))


def test_sliding_window_errors():
    with pytest.raises(ValueError, match="needs n_steps_in \\+ n_steps_out = 7"):
        sliding_window(np.arange(5), 4, 3)
    with pytest.raises(ValueError, match="n_steps_in must be a positive integer"):
        sliding_window(np.arange(5), 0)
    with pytest.raises(ValueError, match="Reshape your data"):
        sliding_window(np.zeros((4, 4, 4)), 1)
    with pytest.raises(ValueError, match="needs a 2-D series"):
        sliding_window(np.arange(5), 2, targets=0)


def test_prediction_intervals_cover_at_their_level():
    """Split conformal intervals from held-out windows hold the truth of new
    windows of the same series about as often as asked (per step)."""
    rng = np.random.RandomState(0)
    t = np.arange(1400)
    series = 10 + 3 * np.sin(2 * np.pi * t / 12) + rng.randn(1400).cumsum() * 0.3
    X, y = sliding_window(series, 24, 6)
    fit, cal, test = slice(0, 600), slice(605, 905), slice(910, None)
    reg = Seq2SeqRegressor(hidden_size=16, random_state=0).fit(X[fit], y[fit])
    reg.calibrate(X[cal], y[cal])
    assert reg.interval_scores_.shape == (300, 6, 1)
    for coverage in (0.8, 0.95):
        lower, upper = reg.predict_interval(X[test], coverage=coverage)
        assert lower.shape == upper.shape == y[test].shape
        pred = reg.predict(X[test])
        assert (lower <= pred).all() and (pred <= upper).all()
        held = ((lower <= y[test]) & (y[test] <= upper)).mean()
        assert abs(held - coverage) < 0.06, (coverage, held)
    narrow = reg.predict_interval(X[test], coverage=0.5)
    assert (narrow[1] - narrow[0]).mean() < (upper - lower).mean()


def test_prediction_interval_errors_and_refits():
    X, y = sines(n=60)
    reg = Seq2SeqRegressor(hidden_size=4, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="call calibrate"):
        reg.predict_interval(X)
    reg.calibrate(X[:5], y[:5])
    with pytest.raises(ValueError, match="at least 9 calibration windows"):
        reg.predict_interval(X, coverage=0.9)
    with pytest.raises(ValueError, match="coverage must be a number in"):
        reg.predict_interval(X, coverage=1.0)
    with pytest.raises(ValueError, match="calibrate needs targets of the fitted"):
        reg.calibrate(X, y[:, :2])
    reg.calibrate(X[:9], y[:9])
    assert reg.predict_interval(X, coverage=0.9)[0].shape == (60, 4)
    reg.set_params(warm_start=True).fit(X, y)  # new weights: the calibration goes
    assert not hasattr(reg, "interval_scores_")
