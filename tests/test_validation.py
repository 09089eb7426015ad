"""The input helper: every accepted layout and every error message."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from sksequence.utils.validation import (
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
