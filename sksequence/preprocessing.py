"""Preprocessing for sequence data: scaling, padding, windows, long-format tables."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import StrOptions
from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config
from sklearn.utils.validation import check_is_fitted

from .utils.validation import check_sequences, check_series_collection

__all__ = [
    "SequenceScaler",
    "SeriesWindows",
    "from_long_dataframe",
    "pad_sequences",
    "sliding_window",
    "unpad_sequences",
]


def sliding_window(series, n_steps_in, n_steps_out=1, *, step=1, targets=None):
    """Cut a time series into (input window, following window) pairs.

    Window ``i`` reads ``series[i * step : i * step + n_steps_in]`` and its target
    is the next ``n_steps_out`` values, the supervised layout that
    :class:`~sksequence.Seq2SeqRegressor` learns from. For forecasting, an input
    window of two to three seasons or horizons (``2 * max(n_steps_out, season)``,
    e.g. 24 months for a 12-month forecast, 12 years for 6 years ahead) is a good
    start; shorten it when the series gives fewer than a few dozen windows. For
    many series at once, see :class:`SeriesWindows`.

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


# -- many series: a global model --------------------------------------------------------


class SeriesWindows(BaseEstimator):
    """Training windows from many series, and forecasts from the end of each.

    The layout of a *global* forecasting model: one model learns from the windows of
    every series of a collection (series of any lengths, e.g. the sales of many
    products), then forecasts each series from its own last values.
    :meth:`fit_windows` standardises every series by its own mean and standard
    deviation (``scale=True``) and cuts it into (input window, following window)
    pairs as :func:`sliding_window` does; :meth:`forecast` asks a fitted regressor
    for the next steps of every series and returns them in each series' own units.

    Parameters
    ----------
    n_steps_in : int
        Length of each input window (a series shorter than that forecasts from all
        its values).
    n_steps_out : int, default=1
        Length of each target window: the horizon the model learns.
    step : int, default=1
        Shift between consecutive windows of a series.
    min_steps_in : int, default=None
        Let series too short for a full window still give windows, with inputs of
        ``min_steps_in`` to ``n_steps_in`` steps (``X`` is then a list of arrays of
        different lengths); None: full windows only.
    scale : bool, default=True
        Standardise each series (each feature) by the mean and standard deviation
        of its values seen in :meth:`fit_windows` (a constant series keeps scale 1).

    Attributes
    ----------
    n_series_ : int
        Series seen in :meth:`fit_windows`.
    ids_ : ndarray of shape (n_series_,)
        The id of each series: the ``id_col`` values of a long DataFrame, else
        ``0 .. n_series_ - 1``; the rows of :meth:`forecast` follow this order.
    groups_ : ndarray of shape (n_windows,)
        The series (its position in ``ids_``) of every window, e.g. for
        ``GroupKFold``.
    mean_, scale_ : ndarray of shape (n_series_, n_features)
        Each series' standardisation (0 and 1 when ``scale=False``).

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence.preprocessing import SeriesWindows
    >>> series = [np.arange(10.0), 100 + 10 * np.arange(7.0)]
    >>> windows = SeriesWindows(n_steps_in=3, n_steps_out=2)
    >>> X, y = windows.fit_windows(series)
    >>> X.shape, y.shape, windows.groups_.tolist()
    ((9, 3), (9, 2), [0, 0, 0, 0, 0, 0, 1, 1, 1])
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit(X, y)  # any regressor of windows works
    >>> windows.forecast(model).round(1)
    array([[ 10.,  11.],
           [170., 180.]])
    """

    def __init__(
        self, n_steps_in, n_steps_out=1, *, step=1, min_steps_in=None, scale=True
    ):
        self.n_steps_in = n_steps_in
        self.n_steps_out = n_steps_out
        self.step = step
        self.min_steps_in = min_steps_in
        self.scale = scale

    def _check_params(self):
        for name in ("n_steps_in", "n_steps_out", "step"):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        shortest = self.min_steps_in
        if shortest is not None and (
            not isinstance(shortest, Integral)
            or isinstance(shortest, bool)
            or not 1 <= shortest <= self.n_steps_in
        ):
            raise ValueError(
                f"min_steps_in must be None or an integer in [1, n_steps_in="
                f"{self.n_steps_in}], got {shortest!r}."
            )

    def _series(self, series, id_col, time_col, value_cols):
        """A list of (T_i, F) float64 arrays, the univariate flag and the ids."""
        if id_col is not None or time_col is not None:
            if id_col is None or time_col is None:
                raise ValueError(
                    "A long DataFrame needs both id_col and time_col (and optionally "
                    "value_cols)."
                )
            series, ids = from_long_dataframe(series, id_col, time_col, value_cols)
            values, _ = check_series_collection(series)
            univariate = values[0].shape[1] == 1
            return values, univariate, ids
        values, univariate = check_series_collection(series)
        return values, univariate, np.arange(len(values))

    def fit_windows(self, series, *, id_col=None, time_col=None, value_cols=None):
        """Learn each series' scaling and return the training windows of all series.

        Parameters
        ----------
        series : list of array-like of shape (n_timesteps_i,) or \
(n_timesteps_i, n_features), or pandas.DataFrame
            The series, oldest value first, of any lengths; or a long DataFrame
            (one row per series and timestep) with ``id_col`` and ``time_col``.
        id_col, time_col, value_cols : str, optional
            For a long DataFrame, as in :func:`from_long_dataframe`.

        Returns
        -------
        X : ndarray of shape (n_windows, n_steps_in) or (n_windows, n_steps_in, \
n_features), or list of arrays
            Input windows, scaled (2-D for univariate series, as
            :func:`sliding_window` returns; a list of arrays of different lengths
            with ``min_steps_in``).
        y : ndarray of shape (n_windows, n_steps_out) or (n_windows, n_steps_out, \
n_features)
            The values that follow each window, scaled like it.
        """
        self._check_params()
        values, univariate, ids = self._series(series, id_col, time_col, value_cols)
        shortest = self.n_steps_in if self.min_steps_in is None else self.min_steps_in
        if self.scale:
            self.mean_ = np.stack([v.mean(axis=0) for v in values])  # (S, F)
            self.scale_ = _nonzero_scale(np.stack([v.std(axis=0) for v in values]))
        else:
            self.mean_ = np.zeros((len(values), values[0].shape[1]))
            self.scale_ = np.ones_like(self.mean_)
        self.n_series_, self.ids_ = len(values), ids
        self.n_features_in_ = values[0].shape[1]
        self._univariate = univariate
        self._last = self._last_windows(values)
        Xs, ys, groups = [], [], []
        h = self.n_steps_out
        for i, v in enumerate(values):
            v = (v - self.mean_[i]) / self.scale_[i]  # (T_i, F)
            ends = np.arange(shortest, len(v) - h + 1)  # window i ends before ends[i]
            # full windows every `step` from the start, shorter ones below them
            starts = ends - self.n_steps_in
            keep = (starts >= 0) & (starts % self.step == 0)
            keep |= (starts < 0) & ((ends - shortest) % self.step == 0)
            for end in ends[keep]:
                Xs.append(v[max(0, end - self.n_steps_in) : end])
                ys.append(v[end : end + h])
                groups.append(i)
        if not Xs:
            longest = max(len(v) for v in values)
            raise ValueError(
                f"No series is long enough for one window: the longest has {longest}"
                f" timesteps, but a window needs {shortest} input and "
                f"{h} output steps (n_steps_in or min_steps_in, and n_steps_out)."
            )
        self.groups_ = np.array(groups)
        y = np.stack(ys)  # (W, h, F)
        if len({len(x) for x in Xs}) > 1:
            X = [x[:, 0] if univariate else x for x in Xs]
        else:
            X = np.stack(Xs)  # (W, n_steps_in, F)
            X = X[:, :, 0] if univariate else X
        return X, (y[:, :, 0] if univariate else y)

    def _last_windows(self, values):
        """The last ``n_steps_in`` scaled values of every series."""
        out = [
            (v[-self.n_steps_in :] - self.mean_[i]) / self.scale_[i]
            for i, v in enumerate(values)
        ]
        if len({len(x) for x in out}) > 1:
            return [x[:, 0] if self._univariate else x for x in out]
        X = np.stack(out)
        return X[:, :, 0] if self._univariate else X

    def last_windows(self, series=None, *, id_col=None, time_col=None, value_cols=None):
        """The scaled input window at the end of every series.

        Parameters
        ----------
        series : as in :meth:`fit_windows`, default=None
            The same series, perhaps with newer values (one per fitted series, in
            the same order); None: the series seen in :meth:`fit_windows`.

        Returns
        -------
        X : ndarray of shape (n_series_, n_steps_in[, n_features]) or list of arrays
            A list when some series are shorter than ``n_steps_in``.
        """
        if not hasattr(self, "groups_"):
            raise NotFittedError(
                "This SeriesWindows has not seen any series yet: call fit_windows "
                "first."
            )
        if series is None:
            return self._last
        values, _, ids = self._series(series, id_col, time_col, value_cols)
        if len(values) != self.n_series_ or values[0].shape[1] != self.n_features_in_:
            raise ValueError(
                f"Expected the {self.n_series_} series seen in fit_windows, with "
                f"{self.n_features_in_} feature(s), got {len(values)} series with "
                f"{values[0].shape[1]}."
            )
        return self._last_windows(values)

    def forecast(
        self,
        estimator,
        n_steps=None,
        series=None,
        *,
        id_col=None,
        time_col=None,
        value_cols=None,
    ):
        """Forecast the steps after the end of every series, in its own units.

        Parameters
        ----------
        estimator : fitted regressor
            Trained on the windows of :meth:`fit_windows`. ``n_steps`` beyond its
            horizon needs a ``forecast(X, n_steps)`` method (as
            :class:`~sksequence.Seq2SeqRegressor` has).
        n_steps : int, default=None
            Steps to forecast; None: ``n_steps_out``.
        series : as in :meth:`fit_windows`, default=None
            Forecast from the end of these (the fitted series with newer values);
            None: from the end of the series seen in :meth:`fit_windows`.

        Returns
        -------
        forecasts : ndarray of shape (n_series_, n_steps) or (n_series_, n_steps, \
n_features)
            Row ``i`` is series ``ids_[i]``.
        """
        X = self.last_windows(
            series, id_col=id_col, time_col=time_col, value_cols=value_cols
        )
        n_steps = self.n_steps_out if n_steps is None else n_steps
        if not isinstance(n_steps, Integral) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")
        if n_steps == self.n_steps_out or not hasattr(estimator, "forecast"):
            pred = np.asarray(estimator.predict(X), dtype=np.float64)
            if pred.shape[1] < n_steps:
                raise ValueError(
                    f"{type(estimator).__name__} predicts {pred.shape[1]} steps and "
                    f"has no forecast method to go on to n_steps={n_steps}."
                )
            pred = pred[:, :n_steps]
        else:
            pred = np.asarray(estimator.forecast(X, n_steps), dtype=np.float64)
        pred = pred.reshape(self.n_series_, n_steps, self.n_features_in_)
        pred = pred * self.scale_[:, None, :] + self.mean_[:, None, :]
        return pred[:, :, 0] if self._univariate else pred


# -- padding ----------------------------------------------------------------------------


def pad_sequences(
    sequences,
    *,
    max_length=None,
    padding="post",
    truncating="error",
    value=0.0,
    dtype=np.float32,
):
    """Pad variable-length sequences into one 3-D array, and return their lengths.

    sksequence estimators take the list itself (they pack it, so padding never
    reaches a loss or an encoding); this is for code that needs a rectangular array,
    such as a plain torch model or a file format.

    Parameters
    ----------
    sequences : list of array-like of shape (n_timesteps_i, n_features) or \
(n_timesteps_i,)
        The sequences (a 3-D or 2-D array also works and is returned as it is,
        padded to ``max_length``).
    max_length : int, default=None
        Length to pad to; None pads to the longest sequence.
    padding : {"post", "pre"}, default="post"
        Pad after ("post") or before ("pre") each sequence.
    truncating : {"error", "pre", "post"}, default="error"
        What to do with sequences longer than ``max_length``: raise a ValueError
        (sequences are never silently cut), or drop their first ("pre") or last
        ("post") steps.
    value : float, default=0.0
        The padding value.
    dtype : dtype, default=np.float32

    Returns
    -------
    X : ndarray of shape (n_samples, max_length, n_features)
        The padded sequences.
    lengths : ndarray of shape (n_samples,), int64
        Valid steps of each sequence (after any truncation); pass them to
        :func:`unpad_sequences` to get the list back.

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence.preprocessing import pad_sequences, unpad_sequences
    >>> X, lengths = pad_sequences([np.array([1.0, 2.0, 3.0]), np.array([4.0])])
    >>> X[:, :, 0]
    array([[1., 2., 3.],
           [4., 0., 0.]], dtype=float32)
    >>> lengths
    array([3, 1])
    >>> [s.ravel().tolist() for s in unpad_sequences(X, lengths)]
    [[1.0, 2.0, 3.0], [4.0]]
    """
    _check_option("padding", padding, ("post", "pre"))
    _check_option("truncating", truncating, ("error", "pre", "post"))
    batch = check_sequences(sequences, dtype=dtype)
    lengths = batch.lengths.copy()
    longest = int(lengths.max())
    if max_length is None:
        max_length = longest
    elif not isinstance(max_length, Integral) or max_length < 1:
        raise ValueError(f"max_length must be a positive integer, got {max_length!r}.")
    max_length = int(max_length)
    if longest > max_length and truncating == "error":
        raise ValueError(
            f"The longest sequence has {longest} timesteps, more than max_length="
            f"{max_length}. Pass truncating='pre' or 'post' to cut sequences to "
            "max_length, or a larger max_length."
        )
    n, _, f = batch.X.shape
    out = np.full((n, max_length, f), value, dtype=batch.X.dtype)
    for i, length in enumerate(lengths):
        seq = batch.X[i, :length]  # (T_i, F)
        if length > max_length:
            seq = seq[-max_length:] if truncating == "pre" else seq[:max_length]
            lengths[i] = max_length
        if padding == "post":
            out[i, : len(seq)] = seq
        else:
            out[i, max_length - len(seq) :] = seq
    return out, lengths


def unpad_sequences(X, lengths=None, *, padding="post"):
    """Split a padded 3-D array back into a list of sequences of their own lengths.

    Parameters
    ----------
    X : array-like of shape (n_samples, max_length, n_features) or \
(n_samples, max_length)
        Padded sequences (2-D: univariate).
    lengths : array-like of int of shape (n_samples,), default=None
        Valid steps of each sequence, as returned by :func:`pad_sequences`; None
        keeps every step (a plain conversion of an array to a list).
    padding : {"post", "pre"}, default="post"
        Where the padding is.

    Returns
    -------
    sequences : list of ndarray of shape (n_timesteps_i, n_features)
        Views of ``X`` (``(n_timesteps_i,)`` for a 2-D ``X``).
    """
    _check_option("padding", padding, ("post", "pre"))
    X = np.asarray(X)
    if X.ndim not in (2, 3):
        raise ValueError(
            f"X must be a padded 3-D array (n_samples, max_length, n_features) or a "
            f"2-D array of univariate series, got shape {X.shape}. Reshape your data."
        )
    if lengths is None:
        return list(X)
    lengths = np.asarray(lengths)
    if lengths.shape != (X.shape[0],):
        raise ValueError(
            f"lengths must have one entry per sequence ({X.shape[0]}), got shape "
            f"{lengths.shape}."
        )
    if lengths.dtype.kind not in "iu" or (lengths < 0).any():
        raise ValueError("lengths must hold non-negative integers.")
    if (lengths > X.shape[1]).any():
        raise ValueError(
            f"lengths go up to {int(lengths.max())}, but X has only {X.shape[1]} "
            "timesteps."
        )
    if padding == "post":
        return [X[i, :n] for i, n in enumerate(lengths)]
    return [X[i, X.shape[1] - n :] for i, n in enumerate(lengths)]


def _check_option(name, value, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")


def _as_layout(Xt, batch, X, dtype=None):
    """Return transformed ``Xt`` (N, T, F) in the layout the user passed ``X`` in."""
    if batch.layout == "2d":
        return Xt[:, :, 0]
    if batch.layout == "list":
        seqs = unpad_sequences(Xt, batch.lengths)
        return [
            s[:, 0] if np.ndim(x) == 1 else s for s, x in zip(seqs, X, strict=False)
        ]
    return Xt


# -- scaling --------------------------------------------------------------------------


class SequenceScaler(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Standardise sequences: per feature over all timesteps, or each series alone.

    - ``per="feature"`` learns one mean and one standard deviation per feature from
      every valid timestep of every training sequence (padding never counts), like
      scikit-learn's ``StandardScaler`` applied to all timesteps stacked.
    - ``per="series"`` standardises each sequence (each of its features) by its own
      mean and standard deviation at transform time; nothing is learned but the
      number of features. It removes level and scale, leaving shape, as
      ``tslearn``'s ``TimeSeriesScalerMeanVariance`` does.

    Input and output have the same layout: a 3-D array gives a 3-D array, a 2-D
    array of univariate series a 2-D array, and a list of variable-length sequences
    a list of the same lengths. Constant features keep scale 1. Use it in a
    ``Pipeline`` in front of any sksequence estimator.

    Parameters
    ----------
    per : {"feature", "series"}, default="feature"
        What the statistics are computed over (see above).
    with_mean : bool, default=True
        Subtract the mean.
    with_std : bool, default=True
        Divide by the standard deviation.

    Attributes
    ----------
    n_features_in_ : int
        Features per timestep seen in fit.
    mean_ : ndarray of shape (n_features,) or None
        Per-feature mean (``per="feature"`` and ``with_mean`` only).
    var_ : ndarray of shape (n_features,) or None
        Per-feature variance (``per="feature"`` and ``with_std`` only).
    scale_ : ndarray of shape (n_features,) or None
        Per-feature scale, the standard deviation with zeros replaced by 1
        (``per="feature"`` and ``with_std`` only).
    n_timesteps_seen_ : int
        Valid timesteps (over all sequences) the statistics were computed from.
    feature_names_in_ : ndarray of shape (n_timesteps,)
        Column names of a 2-D DataFrame X (univariate series), if it had string
        column names.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The same for tabular data.

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence.preprocessing import SequenceScaler
    >>> X = np.array([[[1.0, 10.0], [3.0, 30.0]], [[5.0, 50.0], [7.0, 70.0]]])
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_
    array([ 4., 40.])
    >>> scaler.transform(X)[:, :, 0].round(2)
    array([[-1.34, -0.45],
           [ 0.45,  1.34]])
    >>> ragged = [np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0])]
    >>> [s.round(2).tolist() for s in SequenceScaler(per="series").fit_transform(ragged)]
    [[-1.22, 0.0, 1.22], [-1.0, 1.0]]
    """

    _parameter_constraints: dict = {
        "per": [StrOptions({"feature", "series"})],
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
    }

    def __init__(self, *, per="feature", with_mean=True, with_std=True):
        self.per = per
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X, y=None):
        """Learn the per-feature statistics (``per="feature"``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features), or \
(n_samples, n_timesteps), or list of arrays of shape (n_timesteps_i, n_features)
            Training sequences.
        y : None
            Ignored.

        Returns
        -------
        self : SequenceScaler
        """
        self._validate_params()
        batch = check_sequences(X, estimator=self, dtype=(np.float64, np.float32))
        self.__dict__.pop("feature_names_in_", None)  # (from an earlier fit)
        for name, value in batch.input_attributes().items():
            setattr(self, name, value)
        self.n_timesteps_seen_ = int(batch.lengths.sum())
        self.mean_ = self.var_ = self.scale_ = None
        if self.per == "feature":
            mean, var = _masked_stats(batch.X, batch.lengths, axis=(0, 1))  # (F,)
            if self.with_mean:
                self.mean_ = mean
            if self.with_std:
                self.var_ = var
                self.scale_ = _nonzero_scale(np.sqrt(var))
        return self

    def _stats(self, batch):
        """Mean and scale broadcastable to ``batch.X`` (N, T, F); None when unused."""
        if self.per == "feature":
            return self.mean_, self.scale_
        mean, var = _masked_stats(batch.X, batch.lengths, axis=1)  # (N, F)
        return (
            mean[:, None, :] if self.with_mean else None,
            _nonzero_scale(np.sqrt(var))[:, None, :] if self.with_std else None,
        )

    def transform(self, X):
        """Scale sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features), or \
(n_samples, n_timesteps), or list of arrays of shape (n_timesteps_i, n_features)
            Sequences with the number of features seen in fit (for ``per="series"``
            any number of timesteps; for a 2-D X the fitted number of columns).

        Returns
        -------
        X_scaled : ndarray or list of ndarray
            Same layout and lengths as ``X`` (a DataFrame for a 2-D X after
            ``set_output(transform="pandas")``, which 3-D or list input refuses).
        """
        check_is_fitted(self, "n_timesteps_seen_")
        batch = check_sequences(
            X, estimator=self, reset=False, dtype=(np.float64, np.float32)
        )
        mean, scale = self._stats(batch)
        Xt = batch.X  # a fresh copy: safe to change in place
        if mean is not None:
            Xt -= mean.astype(Xt.dtype, copy=False)
        if scale is not None:
            Xt /= scale.astype(Xt.dtype, copy=False)
        return self._wrap(_as_layout(Xt, batch, X), X)

    def inverse_transform(self, X, *, reference=None):
        """Undo the scaling.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features), or \
(n_samples, n_timesteps), or list of arrays of shape (n_timesteps_i, n_features)
            Scaled sequences, e.g. a model's outputs; they may have any number of
            timesteps (a forecast horizon, say).
        reference : array-like of sequences, default=None
            For ``per="series"`` only (ignored otherwise): the unscaled sequences
            whose statistics to restore, one per row of ``X``; typically the inputs
            whose scaled forecasts ``X`` holds. Each row of ``X`` gets the mean and
            standard deviation of its reference sequence.

        Returns
        -------
        X_original : ndarray or list of ndarray
            Same layout and lengths as ``X``.
        """
        check_is_fitted(self, "n_timesteps_seen_")
        batch = check_sequences(
            X,
            estimator=self,
            reset=False,
            check_timesteps=False,
            dtype=(np.float64, np.float32),
        )
        if self.per == "series":
            if reference is None:
                raise ValueError(
                    "SequenceScaler(per='series') scales each sequence by its own "
                    "statistics, so inverse_transform needs the unscaled sequences "
                    "they came from: pass them as reference=... (one per row of X)."
                )
            ref = check_sequences(
                reference,
                estimator=self,
                reset=False,
                check_timesteps=False,
                dtype=(np.float64, np.float32),
            )
            if ref.n_samples != batch.n_samples:
                raise ValueError(
                    f"reference has {ref.n_samples} sequences, but X has "
                    f"{batch.n_samples}; they must correspond one to one."
                )
            mean, scale = self._stats(ref)
        else:
            mean, scale = self._stats(batch)
        Xt = batch.X
        if scale is not None:
            Xt *= scale.astype(Xt.dtype, copy=False)
        if mean is not None:
            Xt += mean.astype(Xt.dtype, copy=False)
        return _as_layout(Xt, batch, X)

    # -- output containers (only a 2-D output can be a table) ----------------------
    def set_output(self, *, transform=None):
        """Set the container of 2-D outputs ("default", "pandas" or "polars").

        Only outputs of a 2-D X (univariate series, one per row) can be tables: with
        "pandas" or "polars" (set here, by a ``Pipeline``, or globally with
        ``sklearn.set_config``), transforming a 3-D array or a list of sequences
        raises a ValueError instead of returning NumPy unasked.

        Parameters
        ----------
        transform : {"default", "pandas", "polars"}, default=None
            Configure output of ``transform`` and ``fit_transform``; None leaves it
            unchanged.

        Returns
        -------
        self : SequenceScaler
        """
        if transform is not None:
            self._sklearn_output_config = {"transform": transform}
        return self

    def _wrap(self, out, X):
        dense = _get_output_config("transform", self)["dense"]
        if dense == "default":
            return out
        if not (isinstance(out, np.ndarray) and out.ndim == 2):
            got = (
                f"a 3-D array of shape {out.shape}"
                if isinstance(out, np.ndarray)
                else f"a list of {len(out)} sequences"
            )
            raise ValueError(
                f"SequenceScaler cannot return {dense} output here: the scaled X is "
                f"{got}, and a table has two axes. Only a 2-D X (univariate series, "
                "one per row) scales to a DataFrame. Call "
                "set_output(transform='default') on the SequenceScaler (this also "
                "overrides sklearn.set_config(transform_output=...)) to get NumPy."
            )
        return ADAPTERS_MANAGER.adapters[dense].create_container(
            out, X, columns=self.get_feature_names_out
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: for a 2-D X, its columns (the timesteps).

        Parameters
        ----------
        input_features : array-like of str, default=None
            Column names of the 2-D X; None uses ``feature_names_in_`` if fit saw a
            DataFrame, else ``x0``, ``x1``, .... For a 3-D X the names are those
            of the features per timestep.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "n_timesteps_seen_")
        width = getattr(self, "_n_columns_2d", None) or self.n_features_in_
        names = getattr(self, "feature_names_in_", None)
        if input_features is not None:
            input_features = np.asarray(input_features, dtype=object)
            if len(input_features) != width:
                raise ValueError(
                    f"input_features should have length equal to the number of "
                    f"columns of X ({width}), got {len(input_features)}."
                )
            if names is not None and not np.array_equal(input_features, names):
                raise ValueError("input_features is not equal to feature_names_in_")
            return input_features
        if names is not None:
            return np.asarray(names, dtype=object)
        return np.asarray([f"x{i}" for i in range(width)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _masked_stats(X, lengths, axis):
    """Mean and variance over the valid timesteps of padded ``X`` (N, T, F), in
    float64; ``axis=(0, 1)`` pools all sequences, ``axis=1`` one per sequence."""
    mask = (np.arange(X.shape[1]) < lengths[:, None])[:, :, None]  # (N, T, 1)
    count = mask.sum(axis=axis)
    mean = np.where(mask, X, 0.0).sum(axis=axis, dtype=np.float64) / count
    centred = np.where(mask, X - np.expand_dims(mean, axis), 0.0)
    var = (centred.astype(np.float64) ** 2).sum(axis=axis) / count
    return mean, var


def _nonzero_scale(scale):
    """Standard deviations with (near-)zeros replaced by 1, as scikit-learn does."""
    scale = np.array(scale, dtype=np.float64)
    scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
    return scale


# -- long-format tables ----------------------------------------------------------------


def from_long_dataframe(df, id_col, time_col, value_cols=None, *, sort=False):
    """Turn a long table (one row per series and timestep) into a list of sequences.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per (series, timestep).
    id_col : str
        Column naming the series each row belongs to.
    time_col : str
        Column ordering the rows of a series (numbers or datetimes); each series'
        times must be unique and, unless ``sort=True``, increasing down the table.
    value_cols : str or list of str, default=None
        The feature columns; None takes every column but ``id_col`` and
        ``time_col``.
    sort : bool, default=False
        Sort each series by time instead of raising for unsorted times.

    Returns
    -------
    sequences : list of ndarray of shape (n_timesteps_i, n_features), float64
        One sequence per series, in order of first appearance in ``df``; pass it
        straight to any sksequence estimator.
    ids : ndarray of shape (n_series,)
        The ``id_col`` value of each sequence.

    Raises
    ------
    ValueError
        If a column is missing, a series has a time twice, a series' times are not
        increasing (and ``sort=False``), times are missing, or values are not
        numeric.

    Examples
    --------
    >>> import pandas as pd
    >>> from sksequence.preprocessing import from_long_dataframe
    >>> df = pd.DataFrame({"id": ["a", "a", "b", "a"], "t": [0, 1, 0, 2],
    ...                    "v": [1.0, 2.0, 5.0, 3.0]})
    >>> seqs, ids = from_long_dataframe(df, "id", "t", "v")
    >>> [s.ravel().tolist() for s in seqs], ids.tolist()
    ([[1.0, 2.0, 3.0], [5.0]], ['a', 'b'])
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"df must be a pandas DataFrame in long format, got {type(df).__name__}."
        )
    if value_cols is None:
        value_cols = [c for c in df.columns if c not in (id_col, time_col)]
    elif isinstance(value_cols, str) or not np.iterable(value_cols):
        value_cols = [value_cols]
    value_cols = list(value_cols)
    missing = [c for c in [id_col, time_col, *value_cols] if c not in df.columns]
    if missing:
        raise ValueError(
            f"Columns {missing} are not in the DataFrame; it has {list(df.columns)}."
        )
    if not value_cols:
        raise ValueError("No value columns: the DataFrame has only id and time.")
    if len(df) == 0:
        raise ValueError("The DataFrame is empty; there are no sequences to make.")
    if df[id_col].isna().any() or df[time_col].isna().any():
        col = id_col if df[id_col].isna().any() else time_col
        raise ValueError(f"Column {col!r} has missing values; every row needs one.")
    bad = [c for c in value_cols if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise ValueError(
            f"Value columns {bad} are not numeric; encode them as numbers first."
        )
    dup = df.duplicated([id_col, time_col], keep=False).to_numpy()
    if dup.any():
        first = int(np.argmax(dup))
        row = {c: df[c].to_numpy()[first] for c in (id_col, time_col)}
        raise ValueError(
            f"Series {_show(row[id_col])} has {int(dup.sum())} rows that share a time "
            f"with another row of the same series, e.g. {time_col}="
            f"{_show(row[time_col])}. Each "
            "(id, time) pair must be unique: aggregate or drop duplicates first."
        )
    codes, ids = pd.factorize(df[id_col], sort=False)
    times = df[time_col].to_numpy()
    if sort:
        order = np.lexsort((times, codes))
    else:
        order = np.argsort(codes, kind="stable")  # group rows, keep their order
        t, c = times[order], codes[order]
        backwards = (c[1:] == c[:-1]) & (t[1:] < t[:-1])
        if backwards.any():
            i = int(np.argmax(backwards))
            raise ValueError(
                f"The times of series {_show(ids[c[i]])} are not increasing: "
                f"{time_col}={_show(t[i])} comes before {_show(t[i + 1])}. Sort the "
                "DataFrame "
                f"by [{id_col!r}, {time_col!r}] or pass sort=True."
            )
    values = df[value_cols].to_numpy(dtype=np.float64)[order]  # (n_rows, F)
    bounds = np.cumsum(np.bincount(codes, minlength=len(ids)))[:-1]
    return np.split(values, bounds), np.asarray(ids)


def _show(value) -> str:
    """A table value as a user reads it (no ``np.int64(...)`` wrappers)."""
    import pandas as pd

    if isinstance(value, (np.datetime64, pd.Timestamp)):
        return str(pd.Timestamp(value))
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)
