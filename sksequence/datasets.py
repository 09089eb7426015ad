"""Generators for the classic sequence teaching problems, and two small real data sets.

Each generator takes ``random_state`` (the same value gives the same data) and
returns ``(X, y)`` in the layouts sksequence estimators take. :func:`load_gunpoint`
returns a small real time-series classification problem and :func:`load_ecg_anomaly` a
real ECG excerpt with a labelled anomaly; both ship with the package.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "load_ecg_anomaly",
    "load_gunpoint",
    "make_echo",
    "make_reversal",
    "make_sine_waves",
]


def load_gunpoint():
    """The GunPoint problem of the UCR time-series classification archive.

    One actor's hand movement, tracked as the x-coordinate of the hand's centroid
    over 150 video frames: drawing a gun from a holster and pointing it (class 1)
    or pointing a finger without a gun (class 2). 50 training and 150 test series,
    each z-normalised (the archive's copy, as shipped with aeon; Ratanamahatana and
    Keogh 2005; Dau et al. 2019, "The UCR time series archive").

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` (50, 150) and ``X_test`` (150, 150), float32 (univariate
        series: one row per series); ``y_train`` (50,) and ``y_test`` (150,), int
        labels 1 and 2.

    Examples
    --------
    >>> from sksequence.datasets import load_gunpoint
    >>> data = load_gunpoint()
    >>> data.X_train.shape, data.X_test.shape
    ((50, 150), (150, 150))
    """
    from importlib import resources

    from sklearn.utils import Bunch

    with resources.files("sksequence").joinpath("data/gunpoint.npz").open("rb") as f:
        arrays = dict(np.load(f))
    return Bunch(**arrays)


def _check_int(name, value, low=1):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _one_hot(ints, n_symbols):
    return np.eye(n_symbols, dtype=np.float32)[ints]  # (..., n_symbols)


def make_reversal(
    n_samples=1000,
    *,
    n_in=6,
    n_out=3,
    n_symbols=51,
    one_hot=True,
    one_hot_y=False,
    random_state=None,
):
    """Integer reversal: read ``n_in`` integers, output the first ``n_out`` reversed.

    The sequence-to-sequence warm-up problem (e.g. ``[12, 7, 33, 4, 9, 20]`` ->
    ``[33, 7, 12]``): inputs are integers in ``1 .. n_symbols - 1`` (0 is left free
    for padding or a start symbol).

    Parameters
    ----------
    n_samples : int, default=1000
    n_in : int, default=6
        Input length.
    n_out : int, default=3
        Output length, at most ``n_in``.
    n_symbols : int, default=51
        Size of the vocabulary including the unused 0 (the one-hot width).
    one_hot : bool, default=True
        Return X one-hot encoded (float32); False returns the integers.
    one_hot_y : bool, default=False
        Return y one-hot encoded too; False returns integer labels (what
        :class:`~sksequence.Seq2SeqClassifier` takes).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_in, n_symbols) or (n_samples, n_in)
    y : ndarray of shape (n_samples, n_out) or (n_samples, n_out, n_symbols)

    Examples
    --------
    >>> from sksequence.datasets import make_reversal
    >>> X, y = make_reversal(2, n_in=4, n_out=2, n_symbols=10, one_hot=False,
    ...                      random_state=0)
    >>> X
    array([[6, 1, 4, 4],
           [8, 4, 6, 3]])
    >>> y
    array([[1, 6],
           [4, 8]])
    """
    n_samples = _check_int("n_samples", n_samples)
    n_in = _check_int("n_in", n_in)
    n_out = _check_int("n_out", n_out)
    n_symbols = _check_int("n_symbols", n_symbols, low=2)
    if n_out > n_in:
        raise ValueError(f"n_out={n_out} cannot exceed n_in={n_in}.")
    rng = check_random_state(random_state)
    src = rng.randint(1, n_symbols, size=(n_samples, n_in))  # (N, n_in)
    y = np.ascontiguousarray(src[:, :n_out][:, ::-1])  # (N, n_out)
    return (
        _one_hot(src, n_symbols) if one_hot else src,
        _one_hot(y, n_symbols) if one_hot_y else y,
    )


def make_echo(
    n_samples=1000,
    *,
    n_in=5,
    n_echo=2,
    n_symbols=50,
    one_hot=True,
    one_hot_y=False,
    random_state=None,
):
    """Echo the first ``n_echo`` integers of a sequence, then zeros.

    The attention tutorial's problem: ``[22, 17, 23, 5, 29]`` -> ``[22, 17, 0, 0,
    0]``. The answer sits at the start of the input, so a decoder must carry it
    across the whole sequence, which attention makes easy.

    Parameters
    ----------
    n_samples : int, default=1000
    n_in : int, default=5
        Input and output length.
    n_echo : int, default=2
        How many leading integers to echo, at most ``n_in``.
    n_symbols : int, default=50
        Integers are drawn from ``0 .. n_symbols - 1``.
    one_hot : bool, default=True
        Return X one-hot encoded (float32); False returns the integers.
    one_hot_y : bool, default=False
        Return y one-hot encoded too; False returns integer labels.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_in, n_symbols) or (n_samples, n_in)
    y : ndarray of shape (n_samples, n_in) or (n_samples, n_in, n_symbols)

    Examples
    --------
    >>> from sksequence.datasets import make_echo
    >>> X, y = make_echo(1, one_hot=False, random_state=0)
    >>> X, y
    (array([[44, 47,  0,  3,  3]]), array([[44, 47,  0,  0,  0]]))
    """
    n_samples = _check_int("n_samples", n_samples)
    n_in = _check_int("n_in", n_in)
    n_echo = _check_int("n_echo", n_echo)
    n_symbols = _check_int("n_symbols", n_symbols, low=2)
    if n_echo > n_in:
        raise ValueError(f"n_echo={n_echo} cannot exceed n_in={n_in}.")
    rng = check_random_state(random_state)
    src = rng.randint(0, n_symbols, size=(n_samples, n_in))  # (N, n_in)
    y = np.zeros_like(src)
    y[:, :n_echo] = src[:, :n_echo]
    return (
        _one_hot(src, n_symbols) if one_hot else src,
        _one_hot(y, n_symbols) if one_hot_y else y,
    )


def make_sine_waves(
    n_samples=200,
    *,
    n_timesteps=50,
    n_features=1,
    task="forecast",
    n_steps_out=10,
    n_classes=2,
    noise=0.1,
    random_state=None,
):
    """Noisy sine waves with random phase and frequency, for forecasting or
    classification.

    Feature ``j`` of sequence ``i`` is ``a_i sin(2 pi f_ij t / 20 + phi_ij) +
    noise``, with amplitude ``a_i`` in [0.5, 1.5] and a phase drawn uniformly.

    - ``task="forecast"``: frequencies ``f`` in [0.5, 1.5]; y is each series'
      next ``n_steps_out`` steps (noisy too), for
      :class:`~sksequence.Seq2SeqRegressor`.
    - ``task="classify"``: class ``k`` has frequencies around ``1 + k`` (so the
      classes differ in how fast they oscillate, not in level); y is the class,
      for :class:`~sksequence.SequenceClassifier`.

    Parameters
    ----------
    n_samples : int, default=200
    n_timesteps : int or (int, int), default=50
        Length of every sequence, or a ``(min, max)`` range: lengths are then drawn
        from it and X is a list of variable-length sequences.
    n_features : int, default=1
    task : {"forecast", "classify"}, default="forecast"
    n_steps_out : int, default=10
        Forecast horizon (``task="forecast"``).
    n_classes : int, default=2
        Number of classes (``task="classify"``).
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to every value.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features), or list of \
ndarrays of shape (n_timesteps_i, n_features)
        The input series (float32).
    y : ndarray of shape (n_samples, n_steps_out, n_features) or (n_samples,)
        The continuation (forecast) or the class label (classify).

    Examples
    --------
    >>> from sksequence.datasets import make_sine_waves
    >>> X, y = make_sine_waves(8, n_timesteps=30, n_steps_out=5, random_state=0)
    >>> X.shape, y.shape
    ((8, 30, 1), (8, 5, 1))
    >>> X, y = make_sine_waves(8, n_timesteps=(10, 20), task="classify",
    ...                        random_state=0)
    >>> len(X), sorted(set(y.tolist()))
    (8, [0, 1])
    """
    n_samples = _check_int("n_samples", n_samples)
    n_features = _check_int("n_features", n_features)
    if task not in ("forecast", "classify"):
        raise ValueError(f"task must be 'forecast' or 'classify', got {task!r}.")
    if not isinstance(noise, Real) or noise < 0:
        raise ValueError(f"noise must be a non-negative number, got {noise!r}.")
    ragged = isinstance(n_timesteps, (tuple, list))
    if ragged:
        if len(n_timesteps) != 2:
            raise ValueError(
                f"n_timesteps must be an int or a (min, max) pair, got {n_timesteps!r}."
            )
        low = _check_int("n_timesteps[0]", n_timesteps[0])
        high = _check_int("n_timesteps[1]", n_timesteps[1], low=low)
    else:
        low = high = _check_int("n_timesteps", n_timesteps)
    rng = check_random_state(random_state)
    lengths = rng.randint(low, high + 1, size=n_samples)  # (N,)
    n_out = _check_int("n_steps_out", n_steps_out) if task == "forecast" else 0
    if task == "classify":
        n_classes = _check_int("n_classes", n_classes, low=2)
        y = rng.randint(0, n_classes, size=n_samples)  # (N,)
        freq = 1.0 + y[:, None] + rng.uniform(-0.25, 0.25, size=(n_samples, n_features))
    else:
        freq = rng.uniform(0.5, 1.5, size=(n_samples, n_features))
    phase = rng.uniform(0, 2 * np.pi, size=(n_samples, n_features))
    amplitude = rng.uniform(0.5, 1.5, size=(n_samples, 1))
    t = np.arange(high + n_out)[None, :, None]  # (1, T, 1)
    waves = amplitude[:, None] * np.sin(
        2 * np.pi * freq[:, None] * t / 20 + phase[:, None]
    )  # (N, T + n_out, F)
    waves = (waves + noise * rng.standard_normal(waves.shape)).astype(np.float32)
    if task == "forecast":
        idx = lengths[:, None] + np.arange(n_out)  # (N, n_out)
        y = np.take_along_axis(waves, idx[:, :, None], axis=1)  # (N, n_out, F)
    if ragged:
        return [waves[i, :n] for i, n in enumerate(lengths)], y
    return waves[:, :high], y


def load_ecg_anomaly():
    """An ECG excerpt of 7,500 steps with a labelled anomalous stretch.

    One lead of an electrocardiogram from the MIT-BIH Arrhythmia Database, 360
    samples per second (beats about 300 steps apart), in millivolts; steps 6936 to
    7287 are labelled anomalous. It is the copy that ships with sktime
    (``sktime/datasets/data/mitdb/mitdb.csv``), stored here as
    ``sksequence/data/ecg_mitdb.csv`` (62 KB); which record and which beats the
    excerpt holds is not documented there.

    Licence: the MIT-BIH Arrhythmia Database is available from PhysioNet under the
    Open Data Commons Attribution License v1.0; cite Moody GB, Mark RG. "The
    impact of the MIT-BIH Arrhythmia Database". IEEE Eng in Med and Biol
    20(3):45-50 (2001), and Goldberger AL et al. "PhysioBank, PhysioToolkit, and
    PhysioNet". Circulation 101(23):e215-e220 (2000).

    Returns
    -------
    x : ndarray of shape (7500,), float64
        The series.
    y : ndarray of shape (7500,), int64
        1 for the labelled anomalous steps, 0 elsewhere.

    Examples
    --------
    >>> from sksequence.datasets import load_ecg_anomaly
    >>> x, y = load_ecg_anomaly()
    >>> x.shape, int(y.sum()), int(y.argmax())
    ((7500,), 352, 6936)
    """
    from importlib import resources

    with resources.files("sksequence").joinpath("data/ecg_mitdb.csv").open("rb") as f:
        table = np.loadtxt(f, delimiter=",", skiprows=1)  # (7500, 2)
    return table[:, 0].astype(np.float64), table[:, 1].astype(np.int64)
