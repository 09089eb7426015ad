"""The input helper: every accepted layout and every error message."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from sksequence.utils.validation import (
    SequenceLayoutWarning,
    check_label_sequences,
    check_labels,
    check_sequences,
    check_target_sequences,
    split_future,
)


class Est:
    pass


def test_3d_array_is_copied_to_float32():
    X = np.arange(24, dtype=np.int64).reshape(2, 4, 3)
    b = check_sequences(X)
    assert b.X.dtype == np.float32 and b.X.shape == (2, 4, 3)
    assert not b.ragged and b.lengths.tolist() == [4, 4]
    b.X[0, 0, 0] = 100
    assert X[0, 0, 0] == 0


@pytest.mark.parametrize(
    "X",
    [
        np.ones((3, 5)),
        pd.DataFrame(np.ones((3, 5))),
        [[1.0] * 5] * 3,
        torch.ones(3, 5),
        np.ones((3, 5), dtype=np.float16),
        np.ones((3, 5), dtype=bool),
        np.ones((3, 5)).astype(object),
    ],
)
def test_2d_inputs_are_univariate_series(X):
    est = Est()
    b = check_sequences(X, estimator=est)
    assert b.X.shape == (3, 5, 1)
    assert b.input_attributes()["n_features_in_"] == 1
    assert vars(est) == {}  # validation only reads the estimator


def test_ragged_list_is_padded_with_lengths():
    X = [np.ones((2, 3)), 2 * np.ones((4, 3)), np.ones(1)[:, None] * np.ones(3)]
    b = check_sequences(X)
    assert b.ragged and b.lengths.tolist() == [2, 4, 1]
    assert b.X.shape == (3, 4, 3)
    assert np.all(b.X[0, 2:] == 0) and np.all(b.X[1] == 2)
    sub = b.take(np.array([0, 2]))
    assert sub.X.shape == (2, 2, 3) and sub.lengths.tolist() == [2, 1]


def test_list_of_1d_arrays_are_univariate_sequences():
    b = check_sequences([np.arange(3.0), np.arange(5.0)])
    assert b.X.shape == (2, 5, 1) and b.lengths.tolist() == [3, 5]


def _fitted(X):
    """An estimator with the input attributes a fit on X records."""
    est = Est()
    vars(est).update(check_sequences(X, estimator=est).input_attributes())
    return est


def test_feature_count_is_checked_after_fit():
    est = _fitted(np.ones((2, 3, 4)))
    with pytest.raises(
        ValueError, match="X has 2 features per timestep, but Est was fitted with 4"
    ):
        check_sequences(np.ones((2, 3, 2)), estimator=est, reset=False)
    # another length is fine for 3-D input
    check_sequences(np.ones((2, 7, 4)), estimator=est, reset=False)


def test_2d_width_is_checked_after_fitting_on_2d():
    est = _fitted(np.ones((2, 6)))
    with pytest.raises(ValueError, match="pass a 3-D array"):
        check_sequences(np.ones((2, 5)), estimator=est, reset=False)
    check_sequences(np.ones((2, 5, 1)), estimator=est, reset=False)


@pytest.mark.parametrize(
    "X, exc, match",
    [
        (None, ValueError, "got None"),
        (3.0, ValueError, "scalar"),
        (sp.csr_matrix(np.ones((2, 2))), TypeError, "Sparse data"),
        (np.ones((2, 2)) + 1j, ValueError, "Complex data not supported"),
        (np.ones((2, 0)), ValueError, r"0 feature\(s\)"),
        (np.ones((2, 3, 0)), ValueError, "0 timestep"),
        (np.full((2, 2), 1e39), ValueError, "too large for float32"),
        (np.array([[{"a": 1}, 2.0]], dtype=object), TypeError, "must be numeric"),
        ([np.ones((2, 2, 2))], ValueError, "Sequence 0 of X has 3 dimensions"),
        (np.zeros((2, 3), "datetime64[ns]"), TypeError, "datetime64.*must be numbers"),
        ([np.zeros(3, "timedelta64[s]")], TypeError, "timedelta64.*must be numbers"),
    ],
)
def test_errors(X, exc, match):
    with pytest.raises(exc, match=match):
        check_sequences(X)


def test_min_timesteps():
    with pytest.raises(ValueError, match="at least 3 timesteps"):
        check_sequences([np.ones((2, 1)), np.ones((4, 1))], min_timesteps=3)


def test_labels():
    b = check_sequences(np.ones((3, 2)))
    assert check_labels(["a", "b", "a"], b).tolist() == ["a", "b", "a"]
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        check_labels([1, 2], b)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        check_labels([0.5, 1.0, 2.0], b)
    with pytest.raises(ValueError, match="requires y"):
        check_labels(None, b)
    assert check_labels([1, 2.0, 3], b).tolist() == [1, 2, 3]  # numbers mix fine


@pytest.mark.parametrize(
    "y",
    [
        [1, "a", 2.5],  # numpy alone would silently make these "1", "a", "2.5"
        np.array([1, "a", 2.5], dtype=object),
        pd.Series([1, "a", 2.5]),
        [b"x", 1, 2],
    ],
)
def test_mixed_type_labels_are_refused(y):
    b = check_sequences(np.ones((3, 2)))
    with pytest.raises(ValueError, match="mixes labels of different types"):
        check_labels(y, b)


@pytest.mark.parametrize(
    "y",
    [
        [[1, "a"], [2, 3], [4, 5]],
        [[1, "a"], [2], [4]],
        np.array([[1, "a"]] * 3, dtype=object),
    ],
)
def test_mixed_type_label_sequences_are_refused(y):
    b = check_sequences(np.ones((3, 2)))
    with pytest.raises(ValueError, match="mixes labels of different types"):
        check_label_sequences(y, b)


def test_target_sequences():
    b = check_sequences(np.ones((3, 2)))
    assert check_target_sequences(np.ones((3, 4)), b).shape == (3, 4, 1)
    assert check_target_sequences(np.ones((3, 4, 2)), b).shape == (3, 4, 2)
    with pytest.raises(ValueError, match="contains NaN"):
        check_target_sequences(np.full((3, 4), np.nan), b)


def test_split_future_per_sequence():
    b = check_sequences([np.arange(6.0), np.arange(4.0)])
    parts = split_future(b, 2)
    assert parts["lengths"].tolist() == [4, 2] and parts["future_lengths"] is None
    assert parts["future"][:, :, 0].tolist() == [[4, 5], [2, 3]]
    halves = split_future(b, None)
    assert halves["lengths"].tolist() == [3, 2]
    assert halves["future_lengths"].tolist() == [3, 2]


# -- layouts that would be misread (issue 14, item 1) ---------------------------------
def test_one_sequence_passed_as_2d_is_refused_not_read_as_many():
    # fitted on (n, 15, 1): a 2-D (15, 1) is one sequence, not 15 of length 1
    est = _fitted(np.ones((6, 15, 1)))
    with pytest.raises(
        ValueError,
        match=r"shape \(15, 1\).*15 univariate series of 1 timestep.*fitted on "
        r"sequences of up to 15 timesteps.*X\[None\] \(shape \(1, 15, 1\)\).*"
        r"X\[:, :, None\]",
    ):
        check_sequences(np.ones((15, 1)), estimator=est, reset=False)
    # what the message suggests works, both ways
    assert check_sequences(np.ones((15, 1))[None], estimator=est, reset=False).X.shape[
        :2
    ] == (1, 15)
    assert (
        check_sequences(
            np.ones((15, 1))[:, :, None], estimator=est, reset=False
        ).lengths.tolist()
        == [1] * 15
    )


def test_2d_univariate_input_still_works_after_3d_fit():
    est = _fitted(np.ones((6, 15, 1)))
    b = check_sequences(np.ones((4, 15)), estimator=est, reset=False)
    assert b.X.shape == (4, 15, 1)
    assert check_sequences(np.ones((1, 1)), estimator=est, reset=False).n_samples == 1
    # a model fitted on sequences of 1 timestep takes a 2-D (n, 1) as it is
    with pytest.warns(SequenceLayoutWarning):
        est1 = _fitted(np.ones((6, 1, 1)))
    assert check_sequences(np.ones((5, 1)), estimator=est1, reset=False).n_samples == 5
    # inputs whose length may differ (inverse_transform of 1-step forecasts) too
    b = check_sequences(
        np.ones((5, 1)), estimator=est, reset=False, check_timesteps=False
    )
    assert b.X.shape == (5, 1, 1)


def test_one_multivariate_sequence_passed_as_2d_says_use_x_none():
    est = _fitted(np.ones((6, 15, 2)))
    with pytest.raises(
        ValueError,
        match=r"X has 1 features per timestep, but Est was fitted with 2\. A 2-D X "
        r"is read as univariate series.*pass X\[None\] \(shape \(1, 15, 2\)\)",
    ):
        check_sequences(np.ones((15, 2)), estimator=est, reset=False)


def test_one_series_as_a_column_after_2d_fit_says_reshape():
    est = _fitted(np.ones((6, 15)))
    with pytest.raises(
        ValueError, match=r"stored as a column, pass X.reshape\(1, -1\)"
    ):
        check_sequences(np.ones((15, 1)), estimator=est, reset=False)


def test_channels_first_layout_at_predict_says_swapaxes():
    est = _fitted(np.ones((6, 15, 3)))
    with pytest.raises(
        ValueError,
        match=r"X has 15 features per timestep, but Est was fitted with 3\..*"
        r"\(n_samples, n_channels, n_timesteps\).*np.swapaxes\(X, 1, 2\)",
    ):
        check_sequences(np.ones((4, 3, 15)), estimator=est, reset=False)


@pytest.mark.parametrize(
    "X, match",
    [
        # aeon / sktime (n, channels, T): read as 15 features of 1 timestep
        (np.ones((6, 1, 15)), r"6 sequences of 1 timestep.*np.swapaxes\(X, 1, 2\)"),
        (
            np.ones((6, 1, 1)),
            r"one sequence of 6 timesteps, pass X.reshape\(1, -1, 1\)",
        ),
        # one series passed as a column
        (np.ones((6, 1)), r"6 univariate series of 1 timestep.*X.reshape\(1, -1\)"),
        ([np.ones((1, 3))] * 4, r"Every sequence in X has 1 timestep.*np.stack"),
    ],
)
def test_fit_on_sequences_of_one_timestep_warns(X, match):
    with pytest.warns(SequenceLayoutWarning, match=match):
        batch = check_sequences(X, estimator=Est())
    # the data are still read as given (the warning is the only change)
    assert batch.n_features == np.asarray(X).shape[-1]


def test_no_layout_warning_for_ordinary_input(recwarn):
    for X in (np.ones((6, 15, 1)), np.ones((6, 2, 15)), np.ones((6, 15))):
        check_sequences(X, estimator=Est())
    check_sequences([np.ones((1, 2)), np.ones((3, 2))], estimator=Est())
    check_sequences(np.ones((6, 1, 3)))  # no estimator: a helper, not a fit
    for X in (np.ones((1, 1)), np.ones((1, 1, 1)), [np.ones(1)]):
        check_sequences(X, estimator=Est())  # one value: read the same any way
    assert not [w for w in recwarn if w.category is SequenceLayoutWarning]


def test_classifier_refuses_one_sequence_where_a_batch_is_expected():
    from sksequence import SequenceClassifier

    rng = np.random.RandomState(0)
    X = rng.randn(20, 15, 1)
    y = np.arange(20) % 2
    clf = SequenceClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"X\[None\]"):
        clf.predict(X[0])
    assert clf.predict(X[0][None]).shape == (1,)
    with pytest.warns(SequenceLayoutWarning, match="np.swapaxes"):
        SequenceClassifier(hidden_size=4, max_epochs=1).fit(np.swapaxes(X, 1, 2), y)


# -- what is not accepted (issue 14, item 9; issue 15, masked arrays) ------------------
def _generator(X):
    yield from X


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda X: _generator(X), "X is a generator"),
        (lambda X: iter(list(X)), r"X is an iterator \(list_iterator\)"),
        (
            lambda X: torch.utils.data.DataLoader(torch.tensor(X), batch_size=2),
            "X is a torch DataLoader",
        ),
        (
            lambda X: torch.utils.data.TensorDataset(torch.tensor(X)),
            "X is a torch TensorDataset",
        ),
    ],
)
def test_streams_are_refused_with_what_to_pass(make, kind):
    X = np.ones((4, 5, 2), dtype=np.float32)
    with pytest.raises(
        TypeError,
        match=rf"{kind}.*not a stream: pass a 3-D array.*list\(X\).*partial_fit",
    ):
        check_sequences(make(X), estimator=Est())


def test_masked_arrays_are_refused_when_anything_is_masked():
    X = np.ma.masked_array(np.ones((2, 4, 1)), mask=np.zeros((2, 4, 1), bool))
    X.mask[0, 2:] = True
    X.data[0, 2:] = 1e6  # what numpy would hand over silently
    with pytest.raises(ValueError, match="X is a masked array with 2 masked value"):
        check_sequences(X)
    with pytest.raises(ValueError, match="Sequence 0 of X is a masked array"):
        check_sequences([X[0], np.ones((3, 1))])
    with pytest.raises(ValueError, match="y is a masked array"):
        check_labels(np.ma.masked_array([0, 1], mask=[0, 1]), check_sequences(X.data))
    with pytest.raises(ValueError, match="y is a masked array"):
        check_label_sequences(
            np.ma.masked_array([[0, 1], [1, 0]], mask=[[0, 1], [0, 0]]),
            check_sequences(X.data),
        )
    # nothing masked: the values are the data
    b = check_sequences(np.ma.masked_array(np.ones((2, 4, 1))))
    assert b.X.shape == (2, 4, 1)


def test_saving_a_pipeline_says_what_can_be_saved_and_points_to_joblib(tmp_path):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from sksequence import SequenceClassifier
    from sksequence.persistence import save
    from sksequence.preprocessing import SequenceScaler

    X = np.random.RandomState(0).randn(12, 5, 2)
    y = np.arange(12) % 2
    clf = SequenceClassifier(hidden_size=4, max_epochs=1, random_state=0)
    pipe = make_pipeline(SequenceScaler(), clf).fit(X, y)
    with pytest.raises(
        TypeError,
        match=r"writes one fitted sksequence estimator \(.*SequenceClassifier.*\), not "
        r"a Pipeline\..*joblib.dump\(obj, path\).*"
        r"obj.named_steps\['sequenceclassifier'\].save\(path\)",
    ):
        save(pipe, tmp_path / "pipe.safetensors")
    with pytest.raises(TypeError, match="not a SequenceScaler.*joblib"):
        save(pipe[0], tmp_path / "scaler.safetensors")
    search = GridSearchCV(clf, {"lr": [1e-2]}, cv=2).fit(X, y)
    with pytest.raises(TypeError, match=r"obj.best_estimator_.save\(path\)"):
        save(search, tmp_path / "search.safetensors")
    # what the message suggests works
    save(pipe.named_steps["sequenceclassifier"], tmp_path / "clf.safetensors")
    assert (tmp_path / "clf.safetensors").stat().st_size > 0
    assert not list(tmp_path.glob(".*.tmp"))


def test_feature_statistics_leave_padding_out():
    from sksequence.utils.validation import check_sequences

    batch = check_sequences(
        [np.array([[1.0, 5.0], [3.0, 5.0]]), np.array([[8.0, 5.0]])]
    )
    mean, scale = batch.feature_statistics()
    np.testing.assert_allclose(mean, [4.0, 5.0])  # the zero padding is not counted
    np.testing.assert_allclose(scale, [np.std([1.0, 3.0, 8.0]), 1.0])  # constant -> 1
