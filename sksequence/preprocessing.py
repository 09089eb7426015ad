"""Preprocessing helpers for sequence data."""

from __future__ import annotations

from numbers import Integral

import numpy as np

__all__ = ["sliding_window"]


def sliding_window(series, n_steps_in, n_steps_out=1, *, step=1, targets=None):
    """Cut a time series into (input window, following window) pairs.

    Window ``i`` reads ``series[i * step : i * step + n_steps_in]`` and its target
    is the next ``n_steps_out`` values, the supervised layout that
    :class:`~sksequence.Seq2SeqRegressor` learns from.

    Parameters
    ----------
    series : array-like of shape (n_timesteps,) or (n_timesteps, n_features)
        One series, oldest value first (a pandas Series or DataFrame works too).
    n_steps_in : int
        Length of each input window.
    n_steps_out : int, default=1
        Length of each target window (the forecast horizon).
    step : int, default=1
        Shift between consecutive windows.
    targets : int or list of int, default=None
        Columns of a 2-D series to forecast; None forecasts every column.

    Returns
    -------
    X : ndarray of shape (n_windows, n_steps_in) or (n_windows, n_steps_in, \
n_features)
        2-D (univariate series, the sksequence convention) for a 1-D series, 3-D
        otherwise.
    y : ndarray of shape (n_windows, n_steps_out) or (n_windows, n_steps_out, \
n_targets)
        2-D for a 1-D series; 3-D for a 2-D series.

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence.preprocessing import sliding_window
    >>> X, y = sliding_window(np.arange(7), n_steps_in=3, n_steps_out=2)
    >>> X
    array([[0, 1, 2],
           [1, 2, 3],
           [2, 3, 4]])
    >>> y
    array([[3, 4],
           [4, 5],
           [5, 6]])
    """
    for name, value in (
        ("n_steps_in", n_steps_in),
        ("n_steps_out", n_steps_out),
        ("step", step),
    ):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    arr = np.asarray(series.to_numpy() if hasattr(series, "to_numpy") else series)
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"series must be 1-D (n_timesteps,) or 2-D (n_timesteps, n_features), got "
            f"shape {arr.shape}. Reshape your data."
        )
    span = n_steps_in + n_steps_out
    if arr.shape[0] < span:
        raise ValueError(
            f"series has {arr.shape[0]} timesteps, but one window needs n_steps_in + "
            f"n_steps_out = {span}."
        )
    if targets is not None and arr.ndim == 1:
        raise ValueError("targets selects columns, so it needs a 2-D series.")
    n_windows = (arr.shape[0] - span) // step + 1
    starts = np.arange(n_windows) * step  # (n_windows,)
    X = arr[starts[:, None] + np.arange(n_steps_in)]  # (n_windows, n_in[, F])
    y = arr[
        starts[:, None] + n_steps_in + np.arange(n_steps_out)
    ]  # (n_windows, n_out[, F])
    if targets is not None:
        y = y[:, :, np.atleast_1d(targets)]
    return X, y
