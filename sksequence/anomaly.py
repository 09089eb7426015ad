"""Anomaly scores for every timestep of long series, from an autoencoder's
reconstructions of sliding windows."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._registry import register_estimator
from .utils.validation import check_series_collection

__all__ = ["SlidingWindowAnomalyDetector", "sliding_windows"]

#: windows reconstructed per call of the autoencoder (bounds the memory of a score)
_CHUNK_WINDOWS = 2048
#: error="auto" divides each kind of error by this percentile of its values over
#: the training steps (the largest would hang on one training step)
_SCALE_PERCENTILE = 99.0
#: up to this many training windows, each window's left-out score also leaves
#: out the windows that overlap it (an n x n mask; beyond, so many windows
#: outnumber the autoencoder's features and its novelty is 0 anyway)
_MAX_LEAVE_OUT_WINDOWS = 4096
#: error="auto" on centred windows: a training window's level part is measured
#: against the training windows that start at least this many window lengths
#: away from it (the same series), so that a level the training part drifts
#: through slowly sets the part's scale, not only the window's neighbours
_LEVEL_GAP_WINDOWS = 4
#: the smallest standard deviation of a feature's window means the level part
#: divides by (standardised units: a hundredth of the feature's spread)
_LEVEL_MIN_SCALE = 1e-2
#: error="auto" with contamination="auto": the threshold is the training steps'
#: largest score, but at most this many times the parts' training q99 (one
#: outlying training window would otherwise set it; at most 1% of the training
#: steps lie above it in each part)
_AUTO_THRESHOLD_CAP = 3.0


def sliding_windows(n_timesteps: int, window_size: int, stride: int) -> np.ndarray:
    """Start indices of the windows that cover a series.

    Windows of ``window_size`` steps start every ``stride`` steps from the first
    step; one more window ends at the last step if the others miss it, so every
    step is in at least one window.

    Parameters
    ----------
    n_timesteps : int
        Length of the series, at least ``window_size``.
    window_size : int
    stride : int

    Returns
    -------
    starts : ndarray of shape (n_windows,), int64
        Increasing start indices.

    Examples
    --------
    >>> from sksequence.anomaly import sliding_windows
    >>> sliding_windows(10, 4, 3)
    array([0, 3, 6])
    >>> sliding_windows(11, 4, 3)
    array([0, 3, 6, 7])
    """
    if n_timesteps < window_size:
        raise ValueError(
            f"A series of {n_timesteps} timesteps holds no window of {window_size}."
        )
    last = n_timesteps - window_size
    starts = np.arange(0, last + 1, stride, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts


def _steps(errors: np.ndarray, starts: np.ndarray, n_timesteps: int, how: str):
    """Per-step aggregate of per-window-step values.

    ``errors`` (n_windows, window_size) holds a value for every step of every
    window, whose first steps are ``starts`` (increasing); the result holds, for
    every step of the series, the mean, median or max over the windows that
    contain it.
    """
    n_windows, w = errors.shape
    idx = starts[:, None] + np.arange(w)[None, :]  # (W, w) series step of each value
    if how == "mean":
        total = np.zeros(n_timesteps)
        count = np.zeros(n_timesteps)
        np.add.at(total, idx.ravel(), errors.ravel())
        np.add.at(count, idx.ravel(), 1.0)
        return total / count
    # the windows that contain step t are the consecutive ones from lo(t): window j
    # puts its value for t in column j - lo(t) of a (T, k) table
    lo = np.searchsorted(starts, np.arange(n_timesteps) - w + 1, side="left")  # (T,)
    slot = np.arange(n_windows)[:, None] - lo[idx]  # (W, w)
    table = np.full((n_timesteps, int(slot.max()) + 1), np.nan)  # (T, k)
    table[idx.ravel(), slot.ravel()] = errors.ravel()
    return np.nanmedian(table, axis=1) if how == "median" else np.nanmax(table, axis=1)


class SlidingWindowAnomalyDetector(BaseEstimator):
    """One anomaly score per timestep of long series, from sliding windows.

    The way LSTM autoencoders are used on long series (Malhotra et al. 2016): cut
    normal stretches of series into overlapping windows, fit an autoencoder on
    them, and score a series by how badly the autoencoder reconstructs its windows.
    Every feature is standardised with its mean and standard deviation over the
    training series; a step's error in a window is its squared reconstruction
    error in those units, averaged over features; a step's anomaly score
    aggregates (``aggregate``) its errors over the windows that contain it.

    Each window is encoded and decoded on its own, so a step's score does not
    depend on the other series scored with it, nor on how the windows are batched.

    Parameters
    ----------
    estimator : LSTMAutoencoderTransformer or None, default=None
        The (unfitted) autoencoder, cloned in ``fit``; it needs a reconstruction
        decoder (``objective="reconstruct"`` or ``"composite"``). Any estimator
        with ``fit``, ``transform`` and ``inverse_transform(Z, n_timesteps=...)``
        works. None: ``LSTMAutoencoderTransformer(random_state=random_state)``,
        with its defaults.
    window_size : int, default=64
        Steps per window. A window should hold a whole pattern of normal
        behaviour (a cycle, a beat or two).
    stride : int or None, default=None
        Steps between the starts of consecutive windows, in fit and in scoring;
        None: ``max(1, window_size // 8)``. Smaller strides give more training
        windows and smoother scores, for more computation.
    error : {"auto", "step", "score", "window"}, default="auto"
        A step's error in a window: its own squared reconstruction error
        ("step"); the autoencoder's anomaly score of the whole window (its
        ``score_samples``: the window's reconstruction error weighed by how far
        its encoder features and their shares lie outside the training
        windows' span), given to
        all its steps ("score"; for an estimator without ``score_samples``, the
        window's mean squared error); or the window's mean squared error, given
        to all its steps ("window"). "auto": both "step" and "score", each
        divided by its 99th percentile over the training steps (``error_scales_``),
        and the larger of the two, so that a step is anomalous when its own error
        is (a point anomaly) or when its windows as a whole are (a changed
        pattern, whose every detail may be rebuilt no worse than the normal
        pattern's, such as the beats of an ECG). With ``center_windows=True``
        (the default) "auto" takes a third part too, and the largest of the
        three: the window's level, how far its mean lies from the training
        windows' means (per feature, in units of their standard deviation,
        root mean square over features), over its 99th percentile on the
        training steps, each training window measured against the training
        windows four window lengths or more away from it. A stretch at a wrong
        level longer than a window then shows, while a level the training part
        drifted through does not.
    aggregate : {"mean", "median", "max"}, default="mean"
        How a step's errors in the windows that contain it make its score.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Sets ``offset_``, the threshold of :meth:`predict`: "auto" flags the steps
        whose score is worse than every training step's (with ``error="auto"``,
        or worse than 3, three times the parts' 99th percentile over the
        training steps, whichever is lower: one outlying training window does
        not set it); a float flags that proportion of the training steps.
        (With ``error`` "auto" or "score", a training window's score is taken
        as if it and the windows overlapping it had been left out of the
        training windows' span, as an unseen normal window would score.)
    center_windows : bool, default=True
        Subtract each window's mean (per feature, after the standardisation)
        before the autoencoder reads it, in fit and in scoring: the autoencoder
        then scores shapes, not levels, so a series that drifts away from the
        training part's level is read as the training windows were. A change of
        level inside a window still shows; a stretch at a wrong level longer
        than a window shows through ``error="auto"``'s level part only (set
        False for the autoencoder to read levels too).
    random_state : int, RandomState instance or None, default=None
        Seeds the default autoencoder (used only when ``estimator`` is None).

    Attributes
    ----------
    estimator_ : LSTMAutoencoderTransformer
        The autoencoder fitted on the training windows.
    n_features_in_ : int
        Features per timestep seen in fit.
    mean_, scale_ : ndarray of shape (n_features_in_,)
        Each feature's mean and standard deviation over the training series (a
        scale of 1 for a constant feature).
    n_windows_ : int
        The number of training windows.
    offset_ : float
        :meth:`decision_function` is ``score_samples(X) - offset_``: negative for
        the steps :meth:`predict` flags.
    center_windows_ : bool
        Whether the windows were centred (``center_windows`` at fit).
    error_scales_ : ndarray of shape (2,) or (3,), or None
        With ``error="auto"``: the 99th percentiles of the "step" and "score"
        errors over the training steps, and of the level part with centred
        windows, by which each is divided; None otherwise.
    level_mean_, level_scale_ : ndarray of shape (n_features_in_,) or None
        With ``error="auto"`` and centred windows: the mean and standard
        deviation of the training windows' means (standardised units), which
        the level part measures a window's mean against; None otherwise.

    See Also
    --------
    sksequence.LSTMAutoencoderTransformer.score_samples : one score per sequence.

    Notes
    -----
    Scores follow scikit-learn's outlier detectors: :meth:`score_samples` is the
    negative anomaly score (higher means more normal), so ``-score_samples(X)``
    is each step's error (see ``error``). Input follows the package's rule: a 1-D
    array is one univariate series, a 2-D array is several univariate series (one
    per row), a 3-D array is ``(n_series, n_timesteps, n_features)``, and a list
    holds series of any lengths, each ``(n_timesteps_i,)`` or ``(n_timesteps_i,
    n_features)``. Pass one multivariate series as ``[x]`` or ``x[None]``.

    References
    ----------
    P. Malhotra, A. Ramakrishnan, G. Anand, L. Vig, P. Agarwal, G. Shroff.
    LSTM-based encoder-decoder for multi-sensor anomaly detection. ICML 2016
    Anomaly Detection Workshop.

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence import LSTMAutoencoderTransformer, SlidingWindowAnomalyDetector
    >>> t = np.arange(600)
    >>> series = np.sin(2 * np.pi * t / 25)
    >>> test = series.copy(); test[400:420] = 0.0                 # a flat stretch
    >>> det = SlidingWindowAnomalyDetector(
    ...     LSTMAutoencoderTransformer(max_epochs=30, random_state=0), window_size=50
    ... ).fit(series[:300])
    >>> scores = -det.score_samples(test)             # one score per timestep
    >>> scores.shape
    (600,)
    >>> det.predict(test).shape                       # -1: anomalous step, 1: normal
    (600,)
    """

    _parameter_constraints: dict = {
        "estimator": "no_validation",
        "window_size": [Interval(Integral, 2, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left"), None],
        "error": [StrOptions({"auto", "step", "score", "window"})],
        "aggregate": [StrOptions({"mean", "median", "max"})],
        "contamination": [
            StrOptions({"auto"}),
            Interval(Real, 0.0, 0.5, closed="right"),
        ],
        "center_windows": ["boolean"],
        "random_state": ["random_state"],
    }
    # persistence: no torch module of its own; the fitted autoencoder is stored as
    # a nested estimator (sksequence.persistence)
    _holds_module = False
    _fitted_attributes = (
        "estimator_",
        "n_features_in_",
        "mean_",
        "scale_",
        "n_windows_",
        "offset_",
        "error_scales_",
        "center_windows_",
        "level_mean_",
        "level_scale_",
    )
    # fitted attributes a detector saved by an earlier version may lack (loaded
    # with these values)
    _optional_attributes = {
        "error_scales_": None,
        "center_windows_": False,
        "level_mean_": None,
        "level_scale_": None,
    }

    def __init__(
        self,
        estimator=None,
        *,
        window_size=64,
        stride=None,
        error="auto",
        aggregate="mean",
        contamination="auto",
        center_windows=True,
        random_state=None,
    ):
        self.estimator = estimator
        self.window_size = window_size
        self.stride = stride
        self.error = error
        self.aggregate = aggregate
        self.contamination = contamination
        self.center_windows = center_windows
        self.random_state = random_state

    def _stride(self) -> int:
        return self.stride if self.stride is not None else max(1, self.window_size // 8)

    def _series(self, X, *, fitted: bool):
        return check_series_collection(
            X,
            what="X",
            single=True,
            min_timesteps=self.window_size,
            n_features=self.n_features_in_ if fitted else None,
            estimator=self,
            return_layout=True,
        )

    def _windows(self, series: np.ndarray) -> tuple:
        """(n_windows, window_size, F) float32 windows of one standardised series,
        their starts, and their means (n_windows, F) before any centring."""
        starts = sliding_windows(len(series), self.window_size, self._stride())
        idx = starts[:, None] + np.arange(self.window_size)[None, :]  # (W, w)
        windows = series[idx]  # (W, w, F)
        means = windows.mean(axis=1)  # (W, F)
        # (a detector fitted or saved before the option read windows as they are)
        if getattr(self, "center_windows_", False):
            windows = windows - means[:, None, :]
        return windows.astype(np.float32), starts, means

    def _level(self, means: np.ndarray) -> np.ndarray:
        """The level part of windows with these means (W, F): RMS over features
        of their distance to the training windows' mean, in units of its
        standard deviation."""
        z = (means - self.level_mean_) / self.level_scale_
        return np.sqrt((z**2).mean(axis=1))

    def fit(self, X, y=None):
        """Fit the autoencoder on the sliding windows of normal series.

        Parameters
        ----------
        X : array-like
            Normal behaviour only. One series: a 1-D array (n_timesteps,); several:
            a 2-D array (n_series, n_timesteps) of univariate series, a 3-D array
            (n_series, n_timesteps, n_features), or a list of arrays of shape
            (n_timesteps_i,) or (n_timesteps_i, n_features) of any lengths. Every
            series needs at least ``window_size`` steps.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._validate_params()
        series, _ = self._series(X, fitted=False)
        self.center_windows_ = bool(self.center_windows)
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
        values = np.concatenate(series)  # (sum T_i, F)
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        scale = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        scaled = [(s - mean) / scale for s in series]
        per_series = [self._windows(s) for s in scaled]  # (windows, starts, means)
        windows = np.concatenate([w for w, _, _ in per_series])
        est.fit(windows)
        self.estimator_ = est
        self.n_features_in_ = int(series[0].shape[1])
        self.mean_, self.scale_ = mean, scale
        self.n_windows_ = int(len(windows))
        self.error_scales_ = None
        self.level_mean_ = self.level_scale_ = None
        own = None
        if self.error in ("auto", "score") and hasattr(est, "score_samples"):
            # the training windows' own scores as if each had been left out of
            # what the autoencoder compares a window with (each lies in its
            # training windows' span, where an unseen normal window does not)
            starts = [st for _, st, _ in per_series]
            if not hasattr(est, "_left_out_scores"):
                own = est.score_samples(windows)
            elif len(windows) > _MAX_LEAVE_OUT_WINDOWS:
                own = est._left_out_scores(windows)
            else:  # each also without the windows that overlap it
                owner = np.repeat(np.arange(len(starts)), [len(s) for s in starts])
                at = np.concatenate(starts)
                overlap = (owner[:, None] == owner[None, :]) & (
                    np.abs(at[:, None] - at[None, :]) < self.window_size
                )
                own = est._left_out_scores(windows, leave_out=overlap)
            own = -np.asarray(own, dtype=np.float64)
            own = np.split(own, np.cumsum([len(s) for s in starts])[:-1])
        levels = None
        if self.error == "auto" and self.center_windows_:
            levels = self._fit_level([(st, m) for _, st, m in per_series])
        if self.error == "auto":  # each kind in units of its training steps' q99
            parts = [
                self._errors(s, own[i], None if levels is None else levels[i])
                for i, s in enumerate(scaled)
            ]
            q = [
                np.percentile(np.concatenate(e), _SCALE_PERCENTILE) for e in zip(*parts)
            ]
            self.error_scales_ = np.array([v if v > 0 else 1.0 for v in q])
            train = -np.concatenate([self._combine(e) for e in parts])
        else:
            train = -np.concatenate(
                [
                    self._errors(s, None if own is None else own[i])[0]
                    for i, s in enumerate(scaled)
                ]
            )
        if self.contamination == "auto":
            self.offset_ = float(train.min())
            if self.error == "auto":  # (in units of the parts' q99)
                self.offset_ = max(self.offset_, -_AUTO_THRESHOLD_CAP)
        else:
            self.offset_ = float(np.percentile(train, 100.0 * self.contamination))
        return self

    def _fit_level(self, per_series: list) -> list:
        """Set ``level_mean_`` and ``level_scale_`` from the training windows'
        (starts, means) of each series; return each series' training windows'
        level parts, each measured against the windows of its series that start
        ``_LEVEL_GAP_WINDOWS`` window lengths or more away and those of the
        other series (against all of them where fewer than two are left)."""
        means = np.concatenate([m for _, m in per_series])  # (N, F)
        self.level_mean_ = means.mean(axis=0)
        self.level_scale_ = np.maximum(means.std(axis=0), _LEVEL_MIN_SCALE)
        n, s1, s2 = len(means), means.sum(axis=0), (means**2).sum(axis=0)
        gap = _LEVEL_GAP_WINDOWS * self.window_size
        out = []
        for starts, m in per_series:
            # the windows within the gap of window i are [lo_i, hi_i) (starts rise)
            lo = np.searchsorted(starts, starts - gap, side="right")
            hi = np.searchsorted(starts, starts + gap, side="left")
            c1 = np.concatenate([np.zeros((1, m.shape[1])), np.cumsum(m, axis=0)])
            c2 = np.concatenate([np.zeros((1, m.shape[1])), np.cumsum(m**2, axis=0)])
            k = (n - (hi - lo))[:, None].astype(np.float64)  # (W, 1) windows left
            few = k[:, 0] < 2
            k[few] = n
            r1 = s1 - (c1[hi] - c1[lo])
            r2 = s2 - (c2[hi] - c2[lo])
            r1[few], r2[few] = s1, s2
            mu = r1 / k
            sd = np.sqrt(np.maximum(r2 / k - mu**2, 0.0))
            z = (m - mu) / np.maximum(sd, _LEVEL_MIN_SCALE)
            out.append(np.sqrt((z**2).mean(axis=1)))
        return out

    def _errors(
        self,
        scaled: np.ndarray,
        scores: np.ndarray | None = None,
        levels: np.ndarray | None = None,
    ) -> tuple:
        """The per-step errors (T,) of one standardised series (T, F) that
        ``error`` reads: one array, or for "auto" the "step" and "score" ones
        (and the level part, with centred windows); ``scores`` and ``levels``:
        its windows' anomaly scores and level parts, if already computed."""
        windows, starts, means = self._windows(scaled)
        est = self.estimator_
        kinds = ("step", "score") if self.error == "auto" else (self.error,)
        if self.error == "auto" and getattr(self, "level_mean_", None) is not None:
            kinds = (*kinds, "level")
        own = hasattr(est, "score_samples")
        errors = {k: np.empty(windows.shape[:2]) for k in kinds}  # (W, w) each
        if "level" in kinds:  # the window's level part, given to all its steps
            level = self._level(means) if levels is None else levels
            errors["level"][:] = level[:, None]
        for lo in range(0, len(windows), _CHUNK_WINDOWS):
            chunk = windows[lo : lo + _CHUNK_WINDOWS]
            rows = slice(lo, lo + len(chunk))
            if "step" in kinds or "window" in kinds or not own:
                recon = est.inverse_transform(
                    est.transform(chunk), n_timesteps=self.window_size
                )
                diff = np.asarray(recon, dtype=np.float64) - chunk
                sq = (diff**2).mean(axis=2)  # (w_chunk, w)
                if "step" in errors:
                    errors["step"][rows] = sq
                for k in ("window", "score"):
                    if k in errors:  # (the window's mean; "score" without its own)
                        errors[k][rows] = sq.mean(axis=1, keepdims=True)
            if "score" in kinds and own:  # the window's own anomaly score
                if scores is None:
                    score = -np.asarray(est.score_samples(chunk), dtype=np.float64)
                else:
                    score = scores[rows]
                errors["score"][rows] = score[:, None]
        return tuple(
            _steps(errors[k], starts, len(scaled), self.aggregate) for k in kinds
        )

    def _combine(self, errors: tuple) -> np.ndarray:
        """error="auto": the largest of the errors, each over its scale."""
        return np.max(
            [e / scale for e, scale in zip(errors, self.error_scales_)], axis=0
        )

    def _score_one(self, scaled: np.ndarray) -> np.ndarray:
        """score_samples of one standardised series (T, F) -> (T,)."""
        if self.error == "auto" and getattr(self, "error_scales_", None) is None:
            raise ValueError(
                'error="auto" divides by error_scales_, which fit sets only with '
                'error="auto": fit the detector again with error="auto".'
            )
        errors = self._errors(scaled)
        return -(self._combine(errors) if self.error == "auto" else errors[0])

    def _per_series(self, X, fn):
        check_is_fitted(self)
        series, layout = self._series(X, fitted=True)
        out = [fn(self._score_one((s - self.mean_) / self.scale_)) for s in series]
        if layout == "1d":
            return out[0]
        if layout in ("2d", "3d"):
            return np.stack(out)
        return out

    def score_samples(self, X):
        """Negative anomaly score of every timestep (higher: more normal).

        ``-score_samples(X)`` is each step's error (see ``error``), aggregated
        over the windows that contain it, in standardised units.

        Parameters
        ----------
        X : array-like
            One series or several, as in :meth:`fit`, with ``n_features_in_``
            features per timestep and at least ``window_size`` steps each.

        Returns
        -------
        scores : ndarray of shape (n_timesteps,), ndarray of shape (n_series, \
n_timesteps), or list of ndarray of shape (n_timesteps_i,)
            In X's layout: one 1-D array for a 1-D X, a 2-D array for a 2-D or
            3-D X, a list (one array per series) for a list.
        """
        return self._per_series(X, lambda s: s)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for the steps :meth:`predict`
        flags as anomalous. Same layout as :meth:`score_samples`."""
        return self._per_series(X, lambda s: s - self.offset_)

    def predict(self, X):
        """Flag every timestep: -1 anomalous, 1 normal (as scikit-learn's outlier
        detectors). Same layout as :meth:`score_samples`, of ints."""
        return self._per_series(
            X, lambda s: np.where(s - self.offset_ < 0, -1, 1).astype(np.int64)
        )

    def fit_predict(self, X, y=None):
        """Fit on X, then :meth:`predict` X."""
        return self.fit(X).predict(X)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "estimator_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        tags.estimator_type = "outlier_detector"  # per timestep, not per row
        return tags

    # -- persistence --------------------------------------------------------------
    def save(self, path) -> None:
        """Save the fitted detector to ``path`` without pickle (safetensors + JSON):
        its parameters, ``offset_``, the standardisation and the fitted
        autoencoder. Load it with ``sksequence.load(path)``."""
        from .persistence import save

        save(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Load a detector saved with :meth:`save`."""
        from .persistence import load

        return load(path, device=device, expected_class=cls)

    @classmethod
    def _fitted_attribute_names(cls) -> tuple:
        return cls._fitted_attributes

    def _get_fitted_state(self) -> dict:
        check_is_fitted(self)
        return {"attributes": {k: getattr(self, k) for k in self._fitted_attributes}}

    def _set_fitted_state(self, state: dict) -> None:
        """Restore a fitted state read from a file, after checking it fits
        together (persistence turns a ValueError or TypeError into "not a valid
        model file")."""
        a = {**self._optional_attributes, **state["attributes"]}
        missing = sorted(set(self._fitted_attributes) - set(a))
        if missing:
            raise ValueError(f"fitted attributes {missing} are missing")
        est, n = a["estimator_"], a["n_features_in_"]
        if not (
            hasattr(est, "inverse_transform")
            and hasattr(est, "transform")
            and getattr(est, "__sklearn_is_fitted__", lambda: hasattr(est, "net_"))()
        ):
            raise TypeError("estimator_ is not a fitted autoencoder")
        if type(n) is not int or n < 1 or getattr(est, "n_features_in_", n) != n:
            raise ValueError("n_features_in_ does not match the autoencoder")
        for key in ("mean_", "scale_"):
            v = a[key]
            if not (
                isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.shape == (n,)
            ):
                raise ValueError(f"{key} is not a float array of {n} values")
        if not np.all(a["scale_"] > 0) or not np.all(np.isfinite(a["mean_"])):
            raise ValueError("the standardisation is not finite and positive")
        if type(a["n_windows_"]) is not int or not isinstance(a["offset_"], float):
            raise TypeError("n_windows_ or offset_ has the wrong type")
        if not isinstance(a["center_windows_"], bool):
            raise TypeError("center_windows_ is not a bool")
        levels = [a["level_mean_"], a["level_scale_"]]
        if any(v is not None for v in levels):
            if not all(
                isinstance(v, np.ndarray)
                and v.dtype.kind == "f"
                and v.shape == (n,)
                and np.all(np.isfinite(v))
                for v in levels
            ) or not np.all(levels[1] > 0):
                raise ValueError(
                    f"level_mean_ and level_scale_ are not finite arrays of {n} "
                    "values (a positive scale)"
                )
        n_parts = 2 if levels[0] is None else 3
        scales = a["error_scales_"]
        if scales is not None and not (
            isinstance(scales, np.ndarray)
            and scales.shape == (n_parts,)
            and np.all(np.isfinite(scales))
            and np.all(scales > 0)
        ):
            raise ValueError(f"error_scales_ is not {n_parts} positive numbers")
        for key, value in a.items():
            setattr(self, key, value)


register_estimator(SlidingWindowAnomalyDetector)
