"""Anomaly scores for every timestep of long series, from an autoencoder's
reconstructions of sliding windows."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .utils.validation import check_long_series

__all__ = ["SlidingWindowAnomalyDetector", "sliding_windows"]


def sliding_windows(n_timesteps: int, window_size: int, stride: int) -> np.ndarray:
    """Start indices of windows of ``window_size`` steps every ``stride`` steps that
    cover all ``n_timesteps`` (the last window ends at the last step)."""
    last = n_timesteps - window_size
    starts = np.arange(0, last + 1, stride)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts


class SlidingWindowAnomalyDetector(BaseEstimator):
    """One anomaly score per timestep of long series, from sliding windows.

    The way LSTM autoencoders are used on long series (Malhotra et al. 2016): cut
    the normal part of a series into overlapping windows, fit an autoencoder on them,
    and score a series by how badly the autoencoder reconstructs its windows. Every
    timestep's score is the mean, over the windows that contain it, of that step's
    squared reconstruction error (averaged over features, each feature's error
    divided by its variance in the training series, so features in large units do not
    dominate). Each window is encoded and decoded on its own, so a score does not
    depend on the other series or windows scored with it.

    Parameters
    ----------
    estimator : LSTMAutoencoderTransformer or None, default=None
        The (unfitted) autoencoder, cloned in ``fit``; it needs a reconstruction
        decoder (``objective="reconstruct"`` or ``"composite"``). None:
        ``LSTMAutoencoderTransformer(random_state=random_state)``.
    window_size : int, default=64
        Steps per window. A window should hold a pattern of normal behaviour (a
        cycle, a beat) and be shorter than the anomalies are long only if they are
        long.
    stride : int or None, default=None
        Steps between the starts of consecutive windows, in fit and in scoring;
        None: ``max(1, window_size // 8)``. Smaller strides give more training
        windows and smoother scores, at the cost of more computation.
    random_state : int, RandomState instance or None, default=None
        Used only when ``estimator`` is None.

    Attributes
    ----------
    estimator_ : LSTMAutoencoderTransformer
        The autoencoder fitted on the training windows.
    n_features_in_ : int
    n_windows_ : int
        The number of training windows.
    error_scale_ : ndarray of shape (n_features_in_,)
        Each feature's variance over the training series (1 where it is constant):
        squared errors are divided by it.
    train_scores_ : list of ndarray
        The per-step scores of the training series (e.g. to pick a threshold from).

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence import LSTMAutoencoderTransformer
    >>> from sksequence.anomaly import SlidingWindowAnomalyDetector
    >>> t = np.arange(600)
    >>> series = np.sin(2 * np.pi * t / 25)
    >>> test = series.copy(); test[400:420] = 0.0                 # a flat stretch
    >>> det = SlidingWindowAnomalyDetector(
    ...     LSTMAutoencoderTransformer(max_epochs=30, random_state=0), window_size=50
    ... ).fit(series[:300])
    >>> scores = det.score_steps(test)                # one score per timestep
    >>> scores.shape
    (600,)
    """

    _parameter_constraints: dict = {
        "estimator": "no_validation",
        "window_size": [Interval(Integral, 2, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self, estimator=None, *, window_size=64, stride=None, random_state=None
    ):
        self.estimator = estimator
        self.window_size = window_size
        self.stride = stride
        self.random_state = random_state

    def _stride(self) -> int:
        return self.stride if self.stride is not None else max(1, self.window_size // 8)

    def _windows(self, series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n_windows, window_size, F) windows of one series and their starts."""
        starts = sliding_windows(len(series), self.window_size, self._stride())
        idx = starts[:, None] + np.arange(self.window_size)[None, :]  # (W, w)
        return series[idx], starts

    def fit(self, X, y=None):
        """Fit the autoencoder on the sliding windows of normal series.

        Parameters
        ----------
        X : array-like
            One series, a 1-D array (n_timesteps,) or a 2-D array (n_timesteps,
            n_features), or several: a list of such arrays (any lengths) or a 3-D
            array (n_series, n_timesteps, n_features). Every series needs at least
            ``window_size`` steps. They should be normal behaviour only.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._validate_params()
        series, _ = check_long_series(X, min_timesteps=self.window_size, estimator=self)
        if self.estimator is None:
            from ._autoencoder import LSTMAutoencoderTransformer

            est = LSTMAutoencoderTransformer(random_state=self.random_state)
        else:
            est = clone(self.estimator)
        if getattr(est, "objective", "reconstruct") == "predict":
            raise ValueError(
                "SlidingWindowAnomalyDetector scores reconstruction errors, so the "
                "autoencoder needs a reconstruction decoder, but it has "
                "objective='predict'. Use objective='reconstruct' or 'composite'."
            )
        windows = np.concatenate([self._windows(s)[0] for s in series])
        values = np.concatenate(series).astype(np.float64)
        var = values.var(axis=0)
        self.error_scale_ = np.where(var > 1e-12, var, 1.0)
        self.n_features_in_ = series[0].shape[1]
        self.n_windows_ = len(windows)
        self.estimator_ = est.fit(windows)
        self.train_scores_ = [self._score_one(s) for s in series]
        return self

    def _score_one(self, series: np.ndarray) -> np.ndarray:
        windows, starts = self._windows(series)
        est = self.estimator_
        recon = est.inverse_transform(
            est.transform(windows), n_timesteps=self.window_size
        )
        err = ((recon - windows) ** 2 / self.error_scale_).mean(axis=2)  # (W, w)
        total = np.zeros(len(series))
        count = np.zeros(len(series))
        idx = starts[:, None] + np.arange(self.window_size)[None, :]
        np.add.at(total, idx.ravel(), err.ravel())
        np.add.at(count, idx.ravel(), 1.0)
        return total / count

    def score_steps(self, X):
        """Anomaly score of every timestep (higher: more anomalous).

        Parameters
        ----------
        X : array-like
            One series or several, as in :meth:`fit`, with ``n_features_in_``
            features.

        Returns
        -------
        scores : ndarray of shape (n_timesteps,), or a list of them (one per series)
            when ``X`` holds several series.
        """
        check_is_fitted(self, "estimator_")
        series, single = check_long_series(
            X,
            min_timesteps=self.window_size,
            n_features=self.n_features_in_,
            estimator=self,
        )
        scores = [self._score_one(s) for s in series]
        return scores[0] if single else scores
