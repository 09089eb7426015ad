"""SeriesWindows: windows of many series for one global model, and its forecasts."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression

from sksequence.preprocessing import SeriesWindows, sliding_window


class LastValue:
    """A fake regressor: every step repeats the window's last value."""

    def __init__(self, steps):
        self.steps = steps

    def predict(self, X):
        last = [np.asarray(x)[-1] for x in X]
        return np.repeat(np.array(last)[:, None], self.steps, axis=1)


def _series():
    rng = np.random.default_rng(0)
    return [rng.normal(size=30).cumsum(), 1e4 + 50 * rng.normal(size=18).cumsum()]


def test_windows_are_sliding_windows_of_each_scaled_series():
    series = _series()
    windows = SeriesWindows(n_steps_in=5, n_steps_out=3)
    X, y = windows.fit_windows(series)
    parts = [sliding_window((s - s.mean()) / s.std(), 5, 3) for s in series]
    np.testing.assert_allclose(X, np.concatenate([p[0] for p in parts]))
    np.testing.assert_allclose(y, np.concatenate([p[1] for p in parts]))
    assert windows.groups_.tolist() == [0] * 23 + [1] * 11
    np.testing.assert_allclose(windows.scale_[:, 0], [s.std() for s in series])


def test_forecast_is_in_each_series_units():
    series = _series()
    windows = SeriesWindows(n_steps_in=5, n_steps_out=3)
    windows.fit_windows(series)
    out = windows.forecast(LastValue(3))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, [[s[-1]] * 3 for s in series])


def test_a_global_linear_model_forecasts_series_of_any_scale():
    t = np.arange(60.0)
    series = [
        a * np.sin(0.4 * t + p) + b
        for a, p, b in [(1, 0, 0), (100, 1, 5e3), (0.01, 2, -3), (7, 3, 50)]
    ]
    train = [s[:-4] for s in series]
    windows = SeriesWindows(n_steps_in=8, n_steps_out=4)
    X, y = windows.fit_windows(train)
    out = windows.forecast(LinearRegression().fit(X, y))
    for s, f in zip(series, out):
        assert np.abs(f - s[-4:]).max() < 1e-6 * (np.abs(s).max() + 1)


def test_long_dataframe_gives_the_same_windows_and_its_ids():
    series = _series()
    df = pd.DataFrame(
        {
            "id": ["b"] * 30 + ["a"] * 18,
            "t": np.r_[np.arange(30), np.arange(18)],
            "v": np.concatenate(series),
        }
    ).sample(frac=1.0, random_state=0)
    windows = SeriesWindows(n_steps_in=5, n_steps_out=3)
    with pytest.raises(ValueError, match="not increasing"):
        windows.fit_windows(df, id_col="id", time_col="t")
    X, y = windows.fit_windows(df.sort_values(["id", "t"]), id_col="id", time_col="t")
    assert windows.ids_.tolist() == ["a", "b"]  # order of first appearance
    X_list, _ = SeriesWindows(n_steps_in=5, n_steps_out=3).fit_windows(series[::-1])
    np.testing.assert_allclose(X, X_list)


def test_short_series_give_shorter_windows_with_min_steps_in():
    series = [np.arange(20.0), np.arange(6.0) * 3]
    windows = SeriesWindows(n_steps_in=8, n_steps_out=2)
    X, _ = windows.fit_windows(series)
    assert X.shape == (11, 8) and set(windows.groups_) == {0}
    last = windows.last_windows()
    assert [len(x) for x in last] == [8, 6]  # the short series forecasts from all
    X, y = SeriesWindows(n_steps_in=8, n_steps_out=2, min_steps_in=3).fit_windows(
        series
    )
    assert isinstance(X, list) and y.shape == (len(X), 2)
    lengths = sorted({len(x) for x in X})
    assert lengths[0] == 3 and lengths[-1] == 8
    # the short series gives inputs of 3 and 4 steps (6 values, 2 to predict)
    X_short = [x for x in X if len(x) < 8]
    assert len(X_short) == (8 - 3) + 2  # series 0: 3..7 steps; series 1: 3 and 4


def test_step_and_multivariate_layout():
    series = [np.random.default_rng(0).normal(size=(25, 2))]
    X, y = SeriesWindows(n_steps_in=4, n_steps_out=2, step=5).fit_windows(series)
    assert X.shape == (4, 4, 2) and y.shape == (4, 2, 2)


def test_forecast_beyond_the_horizon_uses_the_estimators_forecast():
    class Recursive(LastValue):
        def forecast(self, X, n_steps):
            return LastValue(n_steps).predict(X)

    series = _series()
    windows = SeriesWindows(n_steps_in=5, n_steps_out=3)
    windows.fit_windows(series)
    out = windows.forecast(Recursive(3), n_steps=7)
    np.testing.assert_allclose(out, [[s[-1]] * 7 for s in series])
    with pytest.raises(ValueError, match="no forecast method"):
        windows.forecast(LastValue(3), n_steps=7)
    newer = [np.r_[s, 123.0] for s in series]
    np.testing.assert_allclose(windows.forecast(LastValue(3), series=newer), 123.0)


def test_errors():
    with pytest.raises(NotFittedError, match="fit_windows first"):
        SeriesWindows(n_steps_in=3).last_windows()
    with pytest.raises(ValueError, match="n_steps_in must be a positive integer"):
        SeriesWindows(n_steps_in=0).fit_windows(_series())
    with pytest.raises(ValueError, match="min_steps_in must be None or an integer"):
        SeriesWindows(n_steps_in=3, min_steps_in=4).fit_windows(_series())
    with pytest.raises(ValueError, match="No series is long enough"):
        SeriesWindows(n_steps_in=30, n_steps_out=5).fit_windows(_series())
    with pytest.raises(ValueError, match="same number of features"):
        SeriesWindows(n_steps_in=3).fit_windows([np.zeros((9, 2)), np.zeros((9, 1))])
    with pytest.raises(ValueError, match="contains NaN"):
        SeriesWindows(n_steps_in=3).fit_windows([np.r_[1.0, np.nan, 3, 4, 5]])
    windows = SeriesWindows(n_steps_in=3)
    windows.fit_windows(_series())
    with pytest.raises(ValueError, match="Expected the 2 series"):
        windows.last_windows(_series()[:1])


def test_with_seq2seq_regressor_forecasts_come_back_in_each_series_units():
    """Series of different lengths and levels (one too short for a full window):
    one Seq2SeqRegressor, forecasts of the learnt horizon and beyond it (fed back),
    each in its own series' range."""
    from sksequence import Seq2SeqRegressor

    t = np.arange(80.0)
    series = [np.sin(0.5 * t), 1e4 + 50 * np.sin(0.5 * t[:40] + 1), -3 + np.sin(t[:9])]
    windows = SeriesWindows(n_steps_in=12, n_steps_out=3, min_steps_in=4)
    X, y = windows.fit_windows(series)
    reg = Seq2SeqRegressor(hidden_size=8, max_epochs=3, random_state=0).fit(X, y)
    for n_steps in (3, 7):
        out = windows.forecast(reg, n_steps=n_steps)
        assert out.shape == (3, n_steps)
        for s, f in zip(series, out):
            spread = s.max() - s.min()
            assert (np.abs(f - s.mean()) < 3 * spread).all()


def test_global_defaults_learn_many_series_and_answer_in_each_ones_units():
    """One Seq2SeqRegressor with its defaults on the windows of 12 seasonal series
    with trends, of lengths 40 to 62 and levels from 1e-2 to 1e4: the next 6 values
    of every series, in its units, beat the seasonal naive forecast by far, and a
    series multiplied by 1000 gets its forecast multiplied by 1000."""
    from sksequence import Seq2SeqRegressor

    rng = np.random.default_rng(0)
    series = []
    for i in range(12):
        t = np.arange(40 + 2 * i)
        shape = (
            np.sin(2 * np.pi * t / 6 + i) + 0.05 * t + 0.05 * rng.normal(size=len(t))
        )
        series.append(10.0 ** (i % 7 - 2) * shape + 10.0 ** (i % 5))
    train, test = [s[:-6] for s in series], [s[-6:] for s in series]
    windows = SeriesWindows(n_steps_in=12, n_steps_out=6)
    X, y = windows.fit_windows(train)
    reg = Seq2SeqRegressor(random_state=0).fit(X, y)
    out = windows.forecast(reg)
    for s, truth, f in zip(train, test, out):
        naive = np.abs(s[-6:] - truth).mean()  # seasonal naive: a season of trend
        assert np.abs(f - truth).mean() < 0.35 * naive
    scaled = [1e3 * s if i == 3 else s for i, s in enumerate(train)]
    windows.fit_windows(scaled)
    np.testing.assert_allclose(windows.forecast(reg)[3], 1e3 * out[3], rtol=1e-5)
