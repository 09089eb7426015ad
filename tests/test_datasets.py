"""The teaching-problem generators in sksequence.datasets."""

import numpy as np
import pytest

from sksequence.datasets import (
    load_ecg_anomaly,
    make_echo,
    make_reversal,
    make_sine_waves,
)


def test_reversal_targets_are_the_first_inputs_reversed():
    X, y = make_reversal(50, n_in=6, n_out=3, n_symbols=11, random_state=0)
    assert X.shape == (50, 6, 11) and X.dtype == np.float32 and y.shape == (50, 3)
    ints = X.argmax(axis=2)
    np.testing.assert_array_equal(y, ints[:, 2::-1])
    assert ints.min() >= 1 and ints.max() <= 10  # 0 stays free
    Xi, yo = make_reversal(
        50, n_in=6, n_out=3, n_symbols=11, one_hot=False, one_hot_y=True, random_state=0
    )
    np.testing.assert_array_equal(Xi, ints)
    np.testing.assert_array_equal(yo.argmax(axis=2), y)


def test_echo_keeps_the_first_k_then_zeros():
    X, y = make_echo(40, n_in=5, n_echo=2, one_hot=False, random_state=1)
    assert X.shape == y.shape == (40, 5) and X.max() <= 49
    np.testing.assert_array_equal(y[:, :2], X[:, :2])
    assert (y[:, 2:] == 0).all()
    Xo, _ = make_echo(40, random_state=1)
    assert Xo.shape == (40, 5, 50)
    np.testing.assert_array_equal(Xo.argmax(axis=2), X)


def test_same_random_state_same_data_different_seed_different_data():
    a = make_reversal(20, random_state=3)[0]
    np.testing.assert_array_equal(a, make_reversal(20, random_state=3)[0])
    assert not np.array_equal(a, make_reversal(20, random_state=4)[0])
    s = make_sine_waves(10, random_state=3)[0]
    np.testing.assert_array_equal(s, make_sine_waves(10, random_state=3)[0])


def test_sine_forecast_target_continues_the_series():
    X, y = make_sine_waves(
        30, n_timesteps=40, n_features=2, n_steps_out=5, noise=0.0, random_state=0
    )
    assert X.shape == (30, 40, 2) and y.shape == (30, 5, 2)
    # A noiseless sine obeys s[t+1] = 2 cos(w) s[t] - s[t-1]; estimate 2 cos(w) from
    # the inputs and check the target's first step follows from the last two inputs.
    for i in range(3):
        for j in range(2):
            s = X[i, :, j].astype(np.float64)
            c = np.linalg.lstsq(s[1:-1, None], s[2:] + s[:-2], rcond=None)[0][0]
            assert abs(c * s[-1] - s[-2] - y[i, 0, j]) < 1e-4


def test_sine_classes_differ_in_frequency_and_lengths_vary():
    X, y = make_sine_waves(
        60, n_timesteps=(30, 60), task="classify", n_classes=3, random_state=0
    )
    assert isinstance(X, list) and len(X) == 60 and set(y) == {0, 1, 2}
    lengths = np.array([len(x) for x in X])
    assert lengths.min() >= 30 and lengths.max() <= 60 and len(set(lengths)) > 5
    crossings = np.array([np.mean(np.diff(np.sign(x[:, 0])) != 0) for x in X])
    means = [crossings[y == k].mean() for k in range(3)]
    assert means[0] < means[1] < means[2]


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="n_out=4 cannot exceed n_in=3"):
        make_reversal(n_in=3, n_out=4)
    with pytest.raises(ValueError, match="n_echo=6 cannot exceed n_in=5"):
        make_echo(n_echo=6)
    with pytest.raises(ValueError, match="task must be"):
        make_sine_waves(task="generate")
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
        make_sine_waves(0)


def test_docstring_examples_run():
    import doctest

    import sksequence.datasets as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_the_ecg_excerpt_ships_with_its_labels():
    x, y = load_ecg_anomaly()
    assert x.shape == y.shape == (7500,) and x.dtype == np.float64
    assert set(np.unique(y)) == {0, 1}
    # one labelled stretch, at the end
    assert np.flatnonzero(np.diff(y) != 0).tolist() == [6935, 7287]
    assert np.isfinite(x).all() and -1 < x.min() < x.max() < 2


def test_load_gunpoint_is_the_archive_problem():
    from sksequence.datasets import load_gunpoint

    data = load_gunpoint()
    assert data.X_train.shape == (50, 150) and data.X_test.shape == (150, 150)
    assert data.X_train.dtype == np.float32
    assert set(data.y_train) == set(data.y_test) == {1, 2}
    # z-normalised series
    np.testing.assert_allclose(data.X_train.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(data.X_train.std(axis=1), 1, atol=1e-2)
