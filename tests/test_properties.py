"""Property-based tests: messy input either works or raises a clear error.

For random shapes, dtypes, NaN/inf positions, ragged lists (zero-length and one-step
sequences included), one sample, one class, constant series and huge (1e30) or tiny
(1e-30) magnitudes, every call either

- works: finite outputs of the documented shape, inputs left unmodified; or
- raises ``ValueError`` / ``TypeError`` with a message,

and never raises anything else (a torch error, an IndexError) nor returns NaN/inf.
Models are tiny (hidden_size=2, max_epochs=1) and examples few, so the file stays
fast on two cores. The inputs these properties found broken are plain regression
tests in ``test_regressions.py``, which runs without hypothesis too.
"""

import copy
import functools
import warnings

import numpy as np
import pytest
import torch

from sksequence import (
    DivergenceWarning,
    LSTMAutoencoderTransformer,
    Seq2SeqClassifier,
    Seq2SeqRegressor,
    SequenceClassifier,
)
from sksequence.utils.validation import (
    check_labels,
    check_sequences,
    check_target_sequences,
)

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MODELS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TINY = dict(hidden_size=2, max_epochs=1, batch_size=4, random_state=0)
CLF = dict(conv_channels=(2,), conv_kernel_sizes=(3,), **TINY)
F32_MAX = float(np.finfo(np.float32).max)

# -- strategies -----------------------------------------------------------------------
DTYPES = st.sampled_from(
    [np.int64, np.int8, np.float16, np.float32, np.float64, np.bool_]
)
MAGNITUDES = st.sampled_from([1.0, 1e-30, 1e30])


@st.composite
def arrays(draw, ndim=3, max_side=4, allow_nonfinite=True, dtype=None):
    """A numeric array of random shape, dtype and magnitude, maybe constant, maybe
    with NaN/inf at random positions; zero-size axes included."""
    shape = tuple(draw(st.integers(0, max_side)) for _ in range(ndim))
    dtype = np.dtype(dtype or draw(DTYPES))
    if dtype.kind == "b":
        return draw(hnp.arrays(dtype, shape))
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return draw(hnp.arrays(dtype, shape, elements=st.integers(info.min, info.max)))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    scale = draw(MAGNITUDES)
    if dtype == np.float16:
        scale = min(scale, 1e4)
    values = rng.randn(*shape) * scale
    if draw(st.booleans()):
        values[...] = scale  # a constant series
    values = values.astype(dtype)
    if allow_nonfinite and values.size and draw(st.booleans()):
        flat = values.reshape(-1)
        pos = draw(st.integers(0, flat.size - 1))
        flat[pos] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return values


@st.composite
def ragged_lists(draw, max_len=4, allow_empty=True):
    """A list of (T_i, F) arrays; T_i may be 0 or 1, F shared (or not)."""
    n = draw(st.integers(1, 4))
    n_features = draw(st.integers(1, 3))
    lo = 0 if allow_empty else 1
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    scale = draw(MAGNITUDES)
    seqs = [
        rng.randn(draw(st.integers(lo, max_len)), n_features) * scale for _ in range(n)
    ]
    if draw(st.booleans()):
        seqs = [s[:, 0] for s in seqs]  # univariate (T_i,) sequences
    return seqs


# -- helpers --------------------------------------------------------------------------
def _snapshot(obj):
    return copy.deepcopy(obj)


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(x is y or _same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) and a.dtype.kind == "O":
        return a.shape == b.shape and a.tolist() == b.tolist()  # NaN is NaN
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc":
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a.shape == b.shape and bool(np.all(a == b))


def _finite(a) -> bool:
    a = np.asarray(a)
    return a.dtype.kind not in "fc" or bool(np.isfinite(a).all())


def _max_abs(a) -> float:
    return float(np.abs(a.astype(np.float64)).max(initial=0))


def _has_nonfinite(a) -> bool:
    items = a if isinstance(a, list) else [a]
    return any(
        np.asarray(x).dtype.kind == "f" and not np.isfinite(x).all() for x in items
    )


def _clear_error(call):
    """Run ``call``; return its result, or None if it raised ValueError/TypeError
    with a message. Any other exception fails the test."""
    try:
        return call()
    except (ValueError, TypeError) as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        return None


# -- the validation helper ------------------------------------------------------------
@FAST
@given(X=st.one_of(arrays(ndim=3), arrays(ndim=2), arrays(ndim=1), arrays(ndim=4)))
def test_check_sequences_on_random_arrays(X):
    before = _snapshot(X)
    batch = _clear_error(lambda: check_sequences(X))
    assert _same(X, before), "the input was modified"
    representable = X.dtype.kind != "f" or _max_abs(X) <= F32_MAX
    valid = X.ndim in (2, 3) and X.size > 0 and not _has_nonfinite(X) and representable
    assert (batch is not None) == valid, (X.shape, X.dtype)
    if batch is not None:
        shape = X.shape if X.ndim == 3 else X.shape + (1,)
        assert batch.X.shape == shape and batch.X.dtype == np.float32
        assert np.isfinite(batch.X).all()
        assert batch.lengths.tolist() == [shape[1]] * shape[0] and not batch.ragged


@FAST
@given(X=ragged_lists())
def test_check_sequences_on_ragged_lists(X):
    before = _snapshot(X)
    batch = _clear_error(lambda: check_sequences(X))
    assert _same(X, before)
    lengths = [len(s) for s in X]
    assert (batch is not None) == (min(lengths) > 0)
    if batch is not None:
        assert batch.lengths.tolist() == lengths
        assert batch.X.shape[:2] == (len(X), max(lengths))
        assert np.isfinite(batch.X).all()
        for i, s in enumerate(X):  # values kept, padding zero
            s2 = np.asarray(s, dtype=np.float32).reshape(len(s), -1)
            np.testing.assert_array_equal(batch.X[i, : len(s)], s2)
            assert not batch.X[i, len(s) :].any()


ODD_VALUES = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.booleans(),
    st.none(),
    st.sampled_from(["1.5", "a", "", "nan", "1e40", b"2"]),
    st.builds(dict),
    st.builds(complex, st.floats(-1, 1), st.floats(-1, 1)),
)


@FAST
@given(
    values=st.lists(ODD_VALUES, min_size=1, max_size=6),
    as_object=st.booleans(),
    ndim=st.sampled_from([2, 3]),
)
def test_check_sequences_on_objects_and_strings(values, as_object, ndim):
    """Object arrays and lists of numbers, strings, None, dicts, complex values."""
    X = [values] if ndim == 2 else [[[v] for v in values]]
    if as_object:
        X = np.empty(len(values), dtype=object)
        X[:] = values
        X = X.reshape((1, -1) if ndim == 2 else (1, -1, 1))
    before = _snapshot(X)
    batch = _clear_error(lambda: check_sequences(X))
    assert _same(X, before)
    if batch is not None:
        assert batch.X.shape == (1, len(values), 1) and np.isfinite(batch.X).all()


LABELS = st.one_of(
    st.lists(st.integers(-3, 3), min_size=1, max_size=6),
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=6),
    st.lists(
        st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=6
    ),
    st.lists(st.sampled_from([0, 1, None, "a", 2.5]), min_size=1, max_size=6),
    st.lists(st.booleans(), min_size=1, max_size=6),
)


@FAST
@given(y=LABELS, n=st.integers(1, 6), column=st.booleans(), as_list=st.booleans())
def test_check_labels(y, n, column, as_list):
    kinds = {isinstance(v, str) for v in y if v is not None}
    if as_list and not column:
        # a plain list: numpy alone would turn [1, "a", 2.5] into strings
        out = _clear_error(
            lambda: check_labels(list(y), check_sequences(np.zeros((n, 2, 1))))
        )
        assert out is None or len(kinds) == 1
        return
    y = np.asarray(y, dtype=object) if None in y else np.asarray(y)
    if column:
        y = y.reshape(-1, 1)
    before = _snapshot(y)
    batch = check_sequences(np.zeros((n, 2, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. a column-vector y
        out = _clear_error(lambda: check_labels(y, batch))
    assert _same(y, before)
    if len(y) != n:
        assert out is None
    if out is not None:
        assert out.shape == (n,)
        assert all(v is not None for v in out.tolist())
        # one kind of label: never a silent mix such as [1, "a", 2.5] -> strings
        assert len({isinstance(v, str) for v in out.tolist()}) == 1
        if out.dtype.kind == "f":
            assert np.isfinite(out).all() and np.all(out == np.round(out))


@FAST
@given(y=st.one_of(arrays(ndim=1), arrays(ndim=2), arrays(ndim=3), arrays(ndim=4)))
def test_check_target_sequences(y):
    n = max(len(y), 1) if y.ndim else 1
    batch = check_sequences(np.zeros((n, 2, 1)))
    before = _snapshot(y)
    out = _clear_error(lambda: check_target_sequences(y, batch))
    assert _same(y, before)
    representable = y.dtype.kind != "f" or _max_abs(y) <= F32_MAX
    valid = (
        y.ndim in (1, 2, 3)
        and len(y) == n
        and 0 not in y.shape
        and not _has_nonfinite(y)
        and representable
    )
    assert (out is not None) == valid, (y.shape, y.dtype)
    if out is not None:
        assert out.dtype == np.float32 and np.isfinite(out).all()
        assert out.shape == ((y.shape + (1, 1))[:3] if y.ndim < 3 else y.shape)


# -- estimators on tiny models ----------------------------------------------------------
@st.composite
def training_sets(draw):
    """Small X (3-D, 2-D or a ragged list with one-step sequences), one sample or
    several, constant or not, of magnitude 1e-30, 1 or 1e30."""
    n = draw(st.integers(1, 4))
    T = draw(st.integers(1, 4))
    F = draw(st.integers(1, 2))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    scale = draw(MAGNITUDES)
    dtype = draw(st.sampled_from([np.float32, np.float64, np.float16, np.int64]))
    if dtype == np.float16:
        scale = min(scale, 1e4)
    elif dtype == np.int64:
        scale = min(scale, 1e6)
    X = rng.randn(n, T, F) * scale
    if draw(st.booleans()):
        X[...] = scale  # constant series
    X = X.astype(dtype)
    layout = draw(st.sampled_from(["3d", "2d", "list"]))
    if layout == "2d":
        X = X[:, :, 0]
    elif layout == "list":
        X = [x[: draw(st.integers(1, T))] for x in X]
    return X, n, rng


def _fit_quietly(est, *args):
    with warnings.catch_warnings():
        # Huge magnitudes may diverge at once: that is reported, not silent.
        warnings.simplefilter("ignore", DivergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        return est.fit(*args)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@MODELS
@given(data=training_sets(), objective=st.sampled_from(["reconstruct", "composite"]))
def test_autoencoder_fit_transform(data, objective):
    X, n, _ = data
    before = _snapshot(X)
    ae = LSTMAutoencoderTransformer(objective=objective, **TINY)
    fitted = _clear_error(lambda: _fit_quietly(ae, X))
    assert _same(X, before)
    if fitted is None:  # composite needs 2+ steps per sequence
        return
    Z = ae.transform(X)
    assert Z.shape == (n, ae.n_components_) and _finite(Z)
    scores = ae.score_samples(X)
    assert scores.shape == (n,) and _finite(scores)
    X_rec = ae.inverse_transform(Z)
    assert X_rec.shape == (n, ae.n_timesteps_, ae.n_features_in_) and _finite(X_rec)
    assert _same(X, before)


@MODELS
@given(data=training_sets(), n_classes=st.integers(1, 3), strings=st.booleans())
def test_sequence_classifier_fit_predict(data, n_classes, strings):
    X, n, rng = data
    y = rng.randint(0, n_classes, size=n)  # one class happens often
    if strings:
        y = np.array(["cat", "dog", "emu"])[y]
    before, y_before = _snapshot(X), y.copy()
    clf = _fit_quietly(SequenceClassifier(**CLF), X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (n, len(np.unique(y))) and _finite(proba)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert set(clf.predict(X)) <= set(y)
    assert _same(X, before) and _same(y, y_before)


@MODELS
@given(
    data=training_sets(),
    steps=st.integers(1, 3),
    y_scale=MAGNITUDES,
    three_d=st.booleans(),
)
def test_seq2seq_regressor_fit_predict(data, steps, y_scale, three_d):
    X, n, rng = data
    y = rng.randn(n, steps, 2) * y_scale if three_d else rng.randn(n, steps) * y_scale
    before = _snapshot(X)
    reg = _fit_quietly(Seq2SeqRegressor(**TINY), X, y)
    pred = reg.predict(X)
    assert pred.shape == y.shape and _finite(pred)
    assert _same(X, before)


@MODELS
@given(data=training_sets(), n_classes=st.integers(1, 3), ragged_y=st.booleans())
def test_seq2seq_classifier_fit_predict(data, n_classes, ragged_y):
    X, n, rng = data
    if ragged_y:
        y = [list(rng.randint(0, n_classes, size=rng.randint(1, 4))) for _ in range(n)]
    else:
        y = rng.randint(0, n_classes, size=(n, 2))
    clf = _fit_quietly(Seq2SeqClassifier(**TINY), X, y)
    proba = clf.predict_proba(X)
    assert len(proba) == n and _finite(proba)
    pred = clf.predict(X)
    assert len(pred) == n


# -- bad input to a fitted model ----------------------------------------------------------
@functools.cache
def _fitted():
    rng = np.random.RandomState(0)
    X = rng.randn(6, 4, 2)
    y = np.array([0, 1] * 3)
    return [
        _fit_quietly(LSTMAutoencoderTransformer(**TINY), X),
        _fit_quietly(SequenceClassifier(**CLF), X, y),
        _fit_quietly(Seq2SeqRegressor(**TINY), X, rng.randn(6, 2)),
        _fit_quietly(Seq2SeqClassifier(**TINY), X, rng.randint(0, 3, (6, 2))),
    ]


@settings(FAST, max_examples=40)
@given(
    X=st.one_of(arrays(ndim=3), arrays(ndim=2), ragged_lists()),
    which=st.integers(0, 3),
)
def test_fitted_models_on_random_input(X, which):
    """transform/predict: a finite answer of the right length, or a clear error
    (wrong number of features, NaN, empty sequences, ...)."""
    est = _fitted()[which]
    before = _snapshot(X)
    method = est.transform if hasattr(est, "transform") else est.predict
    out = _clear_error(lambda: method(X))
    assert _same(X, before)
    if out is not None:
        assert len(out) == len(X) and _finite(out)


@settings(FAST, max_examples=30)
@given(
    X=st.one_of(arrays(ndim=3), arrays(ndim=2), ragged_lists()),
    which=st.integers(0, 3),
)
def test_partial_fit_on_random_input(X, which):
    """partial_fit after fit: one more epoch and finite answers, or a clear error
    that leaves the fitted model exactly as it was."""
    est = copy.deepcopy(_fitted()[which])
    n = len(X)
    rng = np.random.RandomState(n)
    y = [None, rng.randint(0, 2, n), rng.randn(n, 2), rng.randint(0, 3, (n, 2))][which]
    before, weights = _snapshot(X), _snapshot(est.net_.module_.state_dict())
    epochs = est.n_epochs_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        done = _clear_error(lambda: est.partial_fit(X, y))
    assert _same(X, before)
    if done is None:
        hypothesis.event("refused")
        assert est.n_epochs_ == epochs
        state = est.net_.module_.state_dict()
        assert all(torch.equal(state[k], weights[k]) for k in weights)
        return
    hypothesis.event("trained")
    assert est.n_epochs_ == epochs + 1
    method = est.transform if hasattr(est, "transform") else est.predict
    assert len(method(X)) == n and _finite(method(X))
