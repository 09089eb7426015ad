"""The one place where user input becomes arrays the models can use.

Every estimator calls :func:`check_sequences` (and, for targets, :func:`check_labels` or
:func:`check_target_sequences`). Nothing else in the package reshapes user input or
words an input error.
"""

from __future__ import annotations

import numbers
import os
import sys
import types
import warnings
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import DataConversionWarning

try:  # scikit-learn's own column-name bookkeeping (feature_names_in_ and its warnings)
    from sklearn.utils.validation import _check_feature_names, _get_feature_names
except ImportError:  # pragma: no cover - very old or very new scikit-learn
    _check_feature_names = None

    def _get_feature_names(X):
        return None


__all__ = [
    "SequenceBatch",
    "SequenceLayoutWarning",
    "check_sequences",
    "check_labels",
    "check_target_sequences",
    "check_window_targets",
    "check_calibration_targets",
    "conformal_quantile",
    "check_label_sequences",
    "check_consistent_length",
    "check_decode_lengths",
    "check_decode_memory",
    "check_encodings",
    "check_partial_fit_classes",
    "check_positive_int",
    "check_sample_weight",
    "check_savable",
    "encode_labels",
    "split_future",
    "check_series_collection",
]

_EXPECTED = (
    "Expected a 3-D array of shape (n_samples, n_timesteps, n_features), a 2-D array "
    "or DataFrame of shape (n_samples, n_timesteps) of univariate series, or a list "
    "of 2-D arrays of shape (n_timesteps_i, n_features)"
)

#: What a user can pass instead of a stream (generators, DataLoaders).
_NOT_A_STREAM = (
    "pass a 3-D array (n_samples, n_timesteps, n_features), a 2-D array or "
    "DataFrame of univariate series, or a list of 2-D arrays (list(X) turns a "
    "generator of arrays into one). For data that do not fit in memory, pass one "
    "chunk at a time: partial_fit(chunk, y_chunk) to train, and predict or transform "
    "on each chunk"
)


class SequenceLayoutWarning(UserWarning):
    """X can be read, but probably not as meant: every sequence has 1 timestep.

    sksequence reads a 3-D X as ``(n_samples, n_timesteps, n_features)`` and a 2-D X
    as univariate series, one per row. Data in aeon's and sktime's
    ``(n_samples, n_channels, n_timesteps)`` layout, or one series passed as a
    column, would be read as many sequences of a single timestep; ``fit`` warns
    with this category and says how to pass the data instead. Silence it with
    ``warnings.filterwarnings("ignore", category=SequenceLayoutWarning)`` if
    length-1 sequences are what you mean.
    """


@dataclass
class SequenceBatch:
    """Validated sequences, padded to a common length.

    Attributes
    ----------
    X : ndarray of shape (n_samples, max_timesteps, n_features), float32
        The sequences, zero-padded after each sequence's end.
    lengths : ndarray of shape (n_samples,), int64
        The number of valid timesteps of each sequence.
    ragged : bool
        Whether the sequences have different lengths.
    layout : {"3d", "2d", "list"}
        How the user passed them: a 3-D array, a 2-D array or DataFrame of
        univariate series, or a list of per-sequence arrays (transformers return
        the same layout).
    feature_names : ndarray of str or None
        Column names of a 2-D DataFrame (they name the timesteps of univariate
        series).
    width_2d : int or None
        Columns of a 2-D X (the timesteps of its univariate series), else None.
    """

    X: np.ndarray
    lengths: np.ndarray
    ragged: bool
    layout: str = "3d"
    feature_names: np.ndarray | None = None
    width_2d: int | None = None

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_timesteps(self) -> int:
        return self.X.shape[1]

    @property
    def n_features(self) -> int:
        return self.X.shape[2]

    def inputs(self) -> dict:
        """The module inputs: ``x`` and, for sequences of different lengths,
        ``lengths`` (None when all have the same length)."""
        return {"x": self.X, "lengths": self.lengths if self.ragged else None}

    def input_attributes(self) -> dict:
        """The fitted attributes that describe the training input:
        ``n_features_in_``, ``feature_names_in_`` (2-D DataFrames), the width of a
        2-D X and the longest sequence (the checks of later inputs read them)."""
        out = {
            "n_features_in_": self.n_features,
            "_n_columns_2d": self.width_2d,
            "_max_timesteps_fit": int(self.lengths.max()),
        }
        if self.feature_names is not None:
            out["feature_names_in_"] = self.feature_names
        return out

    def feature_statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Each feature's mean and standard deviation (F,), float64, over the valid
        timesteps (padding left out); a constant feature gets a scale of 1."""
        mask = np.arange(self.n_timesteps)[None, :] < self.lengths[:, None]
        valid = self.X[mask]  # (total valid steps, F)
        # float64 statistics: float32 ones overflow for |X| > ~1e19
        mean = valid.mean(axis=0, dtype=np.float64)
        std = valid.std(axis=0, dtype=np.float64)
        return mean, np.where(std > 1e-8 * (1 + abs(mean)), std, 1.0)

    def take(self, indices) -> SequenceBatch:
        """The sub-batch of the given sample indices (padding trimmed)."""
        lengths = self.lengths[indices]
        max_len = int(lengths.max()) if len(lengths) else 0
        X = self.X[indices, :max_len]
        return SequenceBatch(X, lengths, bool(len(lengths) and lengths.min() < max_len))


def _name(estimator) -> str:
    return type(estimator).__name__ if estimator is not None else "This estimator"


def _to_numeric(a, what: str) -> np.ndarray:
    """Convert ``a`` to a float64 ndarray with clear errors for bad dtypes."""
    _refuse_masked(a, what)
    if hasattr(a, "dtypes") and hasattr(a, "to_numpy"):  # pandas DataFrame / Series
        a = a.to_numpy()
    if hasattr(a, "__array__") and not isinstance(a, np.ndarray):
        if type(a).__module__.startswith("torch"):
            a = a.detach().cpu().numpy()
        elif hasattr(a, "toarray") or type(a).__module__.startswith("scipy.sparse"):
            raise TypeError(
                f"{what} is a sparse matrix, but sequences must be dense. "
                "Convert it with X.toarray() first."
            )
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{what} could not be read as a numeric array: {exc}"
        ) from None
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {what} has complex values.")
    if arr.dtype.kind in "Mm":
        # numpy would turn these into counts of nanoseconds (or days) without a word
        raise TypeError(
            f"{what} has dtype {arr.dtype}, but sequence values must be numbers. "
            "Timestamps are the time axis, not a feature: order the rows by time "
            "(sksequence.preprocessing.from_long_dataframe does this for long data), "
            "or encode them as numbers yourself first (e.g. seconds since the start)."
        )
    if arr.dtype.kind in "OUSV" or arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError) as exc:
            # TypeError for non-numbers such as dicts, ValueError for strings like "a".
            raise type(exc)(
                f"{what} must be numeric, but it has dtype {arr.dtype} with values "
                f"that cannot be converted to float ({exc}). Encode them as numbers "
                "first."
            ) from None
    return arr


def _refuse_masked(a, what: str) -> None:
    """Refuse a masked array with masked entries: numpy would hand over the values
    under the mask as if they were data."""
    if isinstance(a, np.ma.MaskedArray):
        n_masked = int(np.ma.getmaskarray(a).sum())
        if n_masked:
            raise ValueError(
                f"{what} is a masked array with {n_masked} masked value(s), but "
                "sksequence does not read masks: the values under the mask would be "
                "used as data. For variable-length sequences pass a list of arrays "
                "of different lengths (sksequence.preprocessing.unpad_sequences "
                "turns a padded array and its lengths into one); impute missing "
                "values first (e.g. X.filled(value))."
            )


def _refuse_stream(X, name: str) -> None:
    """Refuse generators, iterators and torch DataLoaders / Datasets, which numpy
    would turn into a 0-d object array ("X must be numeric, dtype object")."""
    if isinstance(X, (np.ndarray, list, tuple)) or hasattr(X, "__array__"):
        return
    torch_data = any(
        (getattr(c, "__module__", "") or "").startswith("torch.utils.data")
        for c in type(X).__mro__
    )
    if (
        torch_data
        or isinstance(X, Iterator)
        or (isinstance(X, Iterable) and not isinstance(X, Sized))
    ):
        if torch_data:
            kind = f"a torch {type(X).__name__} (DataLoader or Dataset)"
        elif isinstance(X, types.GeneratorType):
            kind = "a generator"
        else:
            kind = f"an iterator ({type(X).__name__})"
        raise TypeError(
            f"X is {kind}, but {name} takes all the sequences of a call at once, "
            f"not a stream: {_NOT_A_STREAM}."
        )


def _check_finite(arr: np.ndarray, what: str, allow_nan: bool = False) -> None:
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        if allow_nan and not np.isinf(arr).any():
            return
        kind = "NaN" if np.isnan(arr).any() else "infinity"
        raise ValueError(
            f"Input {what} contains {kind}. sksequence models need finite values; "
            "impute or drop the missing values first (for variable-length sequences, "
            "pass a list of arrays of different lengths instead of NaN padding)."
        )


def _as_float32(arr: np.ndarray, what: str) -> np.ndarray:
    """A float32 copy of a finite array, refusing values that overflow float32."""
    with np.errstate(over="ignore"):  # overflow is reported just below
        out = np.array(arr, dtype=np.float32, copy=True)
    if not np.isfinite(out).all():
        raise ValueError(
            f"Input {what} has values too large for float32 (largest magnitude "
            f"{float(np.max(np.abs(arr))):.3g}, but float32 holds at most "
            f"{float(np.finfo(np.float32).max):.3g}; they overflow to infinity). "
            "Scale your data first."
        )
    return out


def _is_ragged_list(X) -> bool:
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    first = X[0]
    return (
        isinstance(first, np.ndarray)
        or hasattr(first, "to_numpy")
        or (isinstance(first, (list, tuple)) and len({_safe_len(s) for s in X}) > 1)
    )


def _safe_len(s) -> int:
    try:
        return len(s)
    except TypeError:
        return -1


def _out_dtype(arr: np.ndarray, dtype) -> np.dtype:
    """``dtype``, or the input's own dtype when ``dtype`` is a tuple that holds it."""
    if isinstance(dtype, (tuple, list)):
        return arr.dtype if arr.dtype in [np.dtype(d) for d in dtype] else dtype[0]
    return np.dtype(dtype)


def _from_list(X, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Pad a list of per-sequence arrays ``(T_i, n_features)`` or ``(T_i,)``."""
    seqs = []
    for i, s in enumerate(X):
        a = _to_numeric(s, f"Sequence {i} of X")
        if a.ndim == 0:
            raise ValueError(
                f"Sequence {i} of X is a scalar. {_EXPECTED}; each sequence must be "
                "an array of shape (n_timesteps_i, n_features) or (n_timesteps_i,). "
                "Reshape your data."
            )
        if a.ndim == 1:
            a = a.reshape(-1, 1)  # a univariate sequence (T_i,) -> (T_i, 1)
        if a.ndim != 2:
            raise ValueError(
                f"Sequence {i} of X has {a.ndim} dimensions (shape {a.shape}), but each "
                "sequence in a list must be 2-D of shape (n_timesteps_i, n_features). "
                "Reshape your data."
            )
        if a.shape[0] == 0:
            raise ValueError(
                f"Sequence {i} of X is empty (0 timesteps); every sequence needs at "
                "least 1 timestep."
            )
        _check_finite(a, f"X (sequence {i})")
        seqs.append(a)
    n_feats = {a.shape[1] for a in seqs}
    if len(n_feats) > 1:
        raise ValueError(
            "All sequences in X must have the same number of features per timestep, "
            f"but got {sorted(n_feats)}."
        )
    lengths = np.array([a.shape[0] for a in seqs], dtype=np.int64)
    out_dtype = np.result_type(*[_out_dtype(a, dtype) for a in seqs])
    out = np.zeros((len(seqs), int(lengths.max()), seqs[0].shape[1]), dtype=out_dtype)
    for i, a in enumerate(seqs):
        out[i, : a.shape[0]] = a
    return out, lengths


def check_sequences(
    X: Any,
    *,
    estimator=None,
    reset: bool = True,
    min_timesteps: int = 1,
    dtype=np.float32,
    check_timesteps: bool = True,
) -> SequenceBatch:
    """Validate and convert user sequences to a padded float32 batch.

    Parameters
    ----------
    X : array-like
        3-D array of shape (n_samples, n_timesteps, n_features); 2-D array or DataFrame
        of shape (n_samples, n_timesteps) (univariate series); or a list of arrays of
        shape (n_timesteps_i, n_features) with different lengths.
    estimator : estimator instance, optional
        Whose name appears in error messages, and (``reset=False``) whose fitted
        ``n_features_in_``, 2-D width and column names X is checked against. The
        estimator is only read: a fit records what describes its input from
        :meth:`SequenceBatch.input_attributes` when it commits.
    reset : bool, default=True
        True in ``fit`` (nothing to check against); False in
        ``transform``/``predict``.
    min_timesteps : int, default=1
        The fewest valid timesteps a sequence may have.
    dtype : dtype or tuple of dtypes, default=np.float32
        The dtype of the returned array. A tuple keeps the input's floating dtype if
        it is in the tuple and converts to the first entry otherwise (as
        scikit-learn's ``check_array`` does).
    check_timesteps : bool, default=True
        With ``reset=False``, check that a 2-D X has as many columns (timesteps) as
        the 2-D X seen in fit. False for inputs whose length may differ, such as
        forecasts passed to an ``inverse_transform``; the number of features per
        timestep is always checked, and column names are then not checked.

    Returns
    -------
    SequenceBatch
        Padded array (float32 unless ``dtype`` says otherwise), lengths, and whether
        the input was ragged. The input is never modified (a copy is made where
        needed).
    """
    if isinstance(X, SequenceBatch):  # validated already (a model fitted in a fit)
        return X
    name = _name(estimator)
    if X is None:
        raise ValueError(f"{name} needs input sequences X, but got None. {_EXPECTED}.")
    if isinstance(X, (str, bytes)) or np.isscalar(X):
        raise ValueError(f"Expected sequences, but got a scalar {X!r}. {_EXPECTED}.")
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise TypeError(
            "Sparse data was passed, but sksequence needs dense sequences. Convert it "
            "with X.toarray() first."
        )
    _refuse_stream(X, name)
    feature_names = _get_feature_names(X) if reset else None
    if (
        estimator is not None
        and _check_feature_names is not None
        and not reset
        and check_timesteps
    ):
        # A 2-D DataFrame's columns name the timesteps of univariate series; check
        # them as scikit-learn does for column names (fit records them).
        _check_feature_names(estimator, X, reset=False)
    width_2d = None
    if _is_ragged_list(X):
        Xp, lengths = _from_list(X, dtype)
        ragged = bool(lengths.min() < lengths.max())
        layout = "list"
    else:
        arr = _to_numeric(X, "X")
        layout = "3d"
        if arr.ndim == 2:
            if arr.shape[1] == 0:
                raise ValueError(
                    f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum "
                    "of 1 is required. A 2-D X holds univariate series (columns are "
                    "timesteps), so it needs at least 1 column."
                )
            width_2d = arr.shape[1]
            arr = arr[:, :, None]  # univariate series: (N, T) -> (N, T, 1)
            layout = "2d"
        elif arr.ndim != 3:
            raise ValueError(
                f"Expected 2-D or 3-D input, but got {arr.ndim}-D array with shape "
                f"{arr.shape}. {_EXPECTED}. Reshape your data, e.g. with "
                "X.reshape(1, -1) for a single univariate series or X[:, :, None] for "
                "a 2-D set of univariate series."
            )
        if arr.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of "
                "1 is required."
            )
        if arr.shape[1] == 0 or arr.shape[2] == 0:
            raise ValueError(
                f"Found array with 0 timestep(s) or 0 feature(s) (shape={arr.shape}) "
                "while a minimum of 1 is required."
            )
        _check_finite(arr, "X")
        with np.errstate(over="ignore"):  # overflow is reported just below
            Xp = np.array(arr, dtype=_out_dtype(arr, dtype), copy=True, order="C")
        lengths = np.full(Xp.shape[0], Xp.shape[1], dtype=np.int64)
        ragged = False
    if lengths.min() < min_timesteps:
        raise ValueError(
            f"{name} needs sequences of at least {min_timesteps} timesteps, but the "
            f"shortest has {int(lengths.min())}."
        )
    if not np.isfinite(Xp).all():
        raise ValueError(
            f"Input X has values too large for {Xp.dtype} (they overflow to infinity). "
            "Scale your data first."
        )
    if estimator is not None and not reset:
        _check_fitted_layout(
            estimator, Xp, width_2d, layout, check_timesteps=check_timesteps
        )
    if (
        estimator is not None
        and reset
        and int(lengths.max()) == 1
        and Xp.shape[0] * Xp.shape[2] > 1  # (1, 1, 1) reads the same any way
    ):
        warnings.warn(
            _length_one_message(Xp, layout),
            SequenceLayoutWarning,
            stacklevel=_outside_package(),
        )
    return SequenceBatch(Xp, lengths, ragged, layout, feature_names, width_2d)


def _outside_package() -> int:
    """The ``stacklevel`` of the first caller outside sksequence, so that a warning
    points at the user's ``fit`` call however deep the package called from."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame, level = sys._getframe(1), 1  # the function that warns
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _length_one_message(Xp: np.ndarray, layout: str) -> str:
    """Why a fit on sequences of 1 timestep is probably a misread, and what to pass."""
    n, _, f = Xp.shape
    if layout == "2d":
        return (
            f"X is a 2-D array of shape ({n}, 1), read as {n} univariate series of 1 "
            "timestep each: sksequence reads a 2-D X as one series per row "
            "(n_samples, n_timesteps). If it is one series of "
            f"{n} timesteps stored as a column, pass X.reshape(1, -1)."
        )
    if layout == "list":
        return (
            "Every sequence in X has 1 timestep: sksequence reads a list as one "
            "array of shape (n_timesteps_i, n_features) per sequence. If the list "
            "holds one timestep per entry, stack it into one sequence with "
            "np.stack(X)[None]."
        )
    hint = (
        "If X is in the (n_samples, n_channels, n_timesteps) layout of aeon and "
        "sktime, pass np.swapaxes(X, 1, 2)."
        if f > 1
        else f"If it is one sequence of {n} timesteps, pass X.reshape(1, -1, 1)."
    )
    return (
        f"X has shape {Xp.shape}, which sksequence reads as (n_samples, n_timesteps, "
        f"n_features): {n} sequences of 1 timestep with {f} feature(s) each. {hint}"
    )


def _check_fitted_layout(
    estimator, Xp: np.ndarray, width_2d, layout: str, *, check_timesteps: bool
) -> None:
    """After fit: the number of features per timestep must match, and a 2-D X that
    is more likely one sequence than many univariate series is refused."""
    name = _name(estimator)
    n_cols_fit = getattr(estimator, "_n_columns_2d", None)
    max_len_fit = getattr(estimator, "_max_timesteps_fit", None)
    n_fit = getattr(estimator, "n_features_in_", None)
    one_sequence = (
        f"If X is one sequence of shape (n_timesteps, n_features), pass X[None] "
        f"(shape (1, {Xp.shape[0]}, {width_2d}))"
    )
    if check_timesteps and width_2d is not None and n_cols_fit not in (None, width_2d):
        column = (
            " If X is one series stored as a column, pass X.reshape(1, -1)."
            if width_2d == 1 and Xp.shape[0] == n_cols_fit
            else ""
        )
        raise ValueError(
            f"X has {width_2d} features, but {name} is expecting {n_cols_fit} "
            f"features as input: it was fitted on a 2-D X read as univariate series "
            f"of {n_cols_fit} timesteps, and this 2-D X has {width_2d} columns. To use "
            "series of another length, pass a 3-D array (X[:, :, None]) or a list of "
            f"arrays.{column}"
        )
    if n_fit is not None and Xp.shape[2] != n_fit:
        hint = ""
        if layout == "2d":
            hint = (
                " A 2-D X is read as univariate series, one per row (n_samples, "
                "n_timesteps), so it has 1 feature per timestep."
            )
            if width_2d == n_fit:
                hint += f" {one_sequence}."
        elif layout == "3d" and Xp.shape[1] == n_fit:
            hint = (
                " sksequence reads a 3-D X as (n_samples, n_timesteps, n_features); if "
                "X is in the (n_samples, n_channels, n_timesteps) layout of aeon and "
                "sktime, pass np.swapaxes(X, 1, 2)."
            )
        raise ValueError(
            f"X has {Xp.shape[2]} features per timestep, but {name} was fitted "
            f"with {n_fit}.{hint}"
        )
    if (
        check_timesteps
        and width_2d == 1
        and Xp.shape[0] > 1
        and n_cols_fit is None
        and max_len_fit is not None
        and max_len_fit > 1
    ):
        raise ValueError(
            f"X is a 2-D array of shape ({Xp.shape[0]}, 1), which sksequence reads as "
            f"{Xp.shape[0]} univariate series of 1 timestep each (a 2-D X holds one "
            f"series per row), but {name} was fitted on sequences of up to "
            f"{max_len_fit} timesteps. {one_sequence}; if it really holds "
            f"{Xp.shape[0]} sequences of 1 timestep, pass X[:, :, None]."
        )


def check_consistent_length(X_batch: SequenceBatch, y, *, what: str = "y") -> None:
    """Raise if ``len(y)`` differs from the number of sequences."""
    n_y = _safe_len(y)
    if n_y != X_batch.n_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"X has {X_batch.n_samples} sequences but {what} has {n_y} entries."
        )


def _label_kind(v) -> str:
    if isinstance(v, (str, np.str_, bytes)):
        return "str"
    if isinstance(v, (numbers.Number, np.number, np.bool_)):
        return "number"
    return type(v).__name__


def _check_label_types(values, what: str = "y") -> None:
    """Refuse labels that mix strings, numbers and other types (e.g. [1, "a", 2.5]).

    numpy would silently turn a list of them into strings ("1", "2.5") and predict
    would answer in those; scikit-learn refuses such a target ("unknown" type).
    """
    kinds: dict = {}
    for v in values:
        if v is None:  # reported as a missing label, more clearly, by the caller
            continue
        kinds.setdefault(_label_kind(v), v)
        if len(kinds) > 1:
            examples = ", ".join(f"{v!r} ({k})" for k, v in kinds.items())
            raise ValueError(
                f"{what} mixes labels of different types: {examples}. Labels must "
                "all be of one type (all strings, or all numbers); convert them "
                "first, e.g. with np.asarray(y, dtype=str)."
            )


def check_labels(y, X_batch: SequenceBatch, *, estimator=None) -> np.ndarray:
    """Validate one label per sequence; returns a 1-D array (labels of any type)."""
    if y is None:
        raise ValueError(
            f"{_name(estimator)} requires y to be passed, but the target y is None."
        )
    _refuse_masked(y, "y")
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    if isinstance(y, (list, tuple)):
        _check_label_types(y)
    y_arr = np.asarray(y)
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
        y_arr = y_arr.ravel()
    if y_arr.ndim != 1:
        raise ValueError(
            f"y should be a 1d array of one label per sequence, got an array of shape "
            f"{y_arr.shape} instead."
        )
    check_consistent_length(X_batch, y_arr)
    if y_arr.dtype.kind == "f":
        _check_finite(y_arr, "y")
        if not np.all(np.mod(y_arr, 1) == 0):
            raise ValueError(
                "Unknown label type: continuous. y must hold class labels (integers, "
                "strings or other hashable values), not continuous values."
            )
    if y_arr.dtype.kind == "O":
        if any(
            v is None or (isinstance(v, float) and not np.isfinite(v)) for v in y_arr
        ):
            raise ValueError("Input y contains NaN or None; every label must be set.")
        _check_label_types(y_arr)
    return y_arr


def check_partial_fit_classes(classes, fitted_classes=None, *, estimator=None):
    """The classes of a classifier's ``partial_fit``: given on the first call (as in
    scikit-learn), the same or omitted on later ones. Returns them sorted."""
    name = _name(estimator)
    if fitted_classes is None:
        if classes is None:
            raise ValueError(
                f"classes must be passed on the first call to {name}.partial_fit: "
                "the model needs every class up front, e.g. classes=np.unique(y_all)."
            )
        values = classes.to_numpy() if hasattr(classes, "to_numpy") else classes
        _check_label_types(np.asarray(values, dtype=object).ravel(), "classes")
        return np.unique(np.asarray(values).ravel())
    if classes is not None:
        given = np.unique(np.asarray(classes).ravel())
        if not (
            given.shape == fitted_classes.shape
            and all(a == b for a, b in zip(given.tolist(), fitted_classes.tolist()))
        ):
            raise ValueError(
                f"classes={given.tolist()!r} is not the same as on the first call to "
                f"{name}.partial_fit (classes_={fitted_classes.tolist()!r})."
            )
    return fitted_classes


def encode_labels(labels, classes, *, estimator=None) -> np.ndarray:
    """Positions of ``labels`` among the fitted ``classes`` (int64), with a clear
    error for a label the model has no output for."""
    uniq, inverse = np.unique(labels, return_inverse=True)
    index = {c: i for i, c in enumerate(np.asarray(classes).tolist())}
    unseen = [u for u in uniq.tolist() if u not in index]
    if unseen:
        raise ValueError(
            f"y has labels {unseen[:5]!r} that are not among the classes "
            f"{_name(estimator)} was fitted with ({np.asarray(classes).tolist()[:10]!r}"
            f"{', ...' if len(classes) > 10 else ''}). Training that goes on "
            "(warm_start=True or partial_fit) keeps the classes of the first fit; to "
            "use partial_fit, pass every class as classes= on the first call."
        )
    return np.array([index[u] for u in uniq.tolist()], dtype=np.int64)[inverse.ravel()]


def check_target_sequences(y, X_batch: SequenceBatch, *, numeric: bool = True):
    """Validate per-sequence targets ``(n_samples, n_steps[, n_targets])``.

    Returns a float32 array of shape (n_samples, n_steps, n_targets) when ``numeric``
    (2-D input gets a trailing axis of size 1), or the raw 2-D array otherwise.
    """
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None."
        )
    if numeric:
        arr = _to_numeric(y, "y")
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim not in (2, 3):
            raise ValueError(
                f"y should be of shape (n_samples, n_steps_out) or (n_samples, "
                f"n_steps_out, n_targets), got shape {arr.shape}. Reshape your data."
            )
        check_consistent_length(X_batch, arr)
        if arr.shape[1] == 0 or (arr.ndim == 3 and arr.shape[2] == 0):
            raise ValueError(
                f"y has 0 steps or 0 targets (shape={arr.shape}); every target "
                "sequence needs at least 1 step of at least 1 value."
            )
        _check_finite(arr, "y")
        if arr.ndim == 2:
            arr = arr[:, :, None]
        return _as_float32(arr, "y")
    check_consistent_length(X_batch, y)
    return y


def check_window_targets(
    scaling, n_targets: int, n_features: int, *, estimator=None
) -> None:
    """``scaling="window"`` forecasts the input features: one target per feature."""
    if scaling == "window" and n_targets != n_features:
        raise ValueError(
            f"{_name(estimator)} with scaling='window' forecasts the input features, "
            f"so y needs one target per input feature ({n_features}), got "
            f"{n_targets}. Use scaling='standard' for targets that are not the "
            "input features."
        )


def check_calibration_targets(shape, n_steps_out: int, n_targets: int) -> None:
    """Calibration targets (N, T, O) of the fitted shape."""
    if tuple(shape[1:]) != (n_steps_out, n_targets):
        raise ValueError(
            f"y has {shape[1]} step(s) of {shape[2]} target(s), but the model was "
            f"fitted on {n_steps_out} step(s) of {n_targets}; calibrate needs "
            "targets of the fitted shape."
        )


def conformal_quantile(scores, coverage, *, estimator=None) -> np.ndarray:
    """The split-conformal quantile of sorted calibration ``scores`` (N, ...):
    the ceil((N + 1) * coverage)-th smallest, per column."""
    if scores is None:
        raise ValueError(
            f"{_name(estimator)} has no calibration: call calibrate(X, y) with "
            "windows it was not fitted on before predict_interval."
        )
    if (
        not isinstance(coverage, numbers.Real)
        or isinstance(coverage, bool)
        or not 0 < coverage < 1
    ):
        raise ValueError(f"coverage must be a number in (0, 1), got {coverage!r}.")
    n = len(scores)
    k = int(np.ceil((n + 1) * coverage - 1e-9))  # (tolerant of 0.9 * 10 > 9)
    if k > n:
        need = int(np.ceil(coverage / (1 - coverage) - 1e-9))
        raise ValueError(
            f"coverage={coverage} needs at least {need} calibration windows, but "
            f"{_name(estimator)} was calibrated on {n}. Calibrate on more windows "
            "or ask for a lower coverage."
        )
    return scores[k - 1]


def check_label_sequences(y, X_batch: SequenceBatch, *, estimator=None):
    """Validate one sequence of class labels per input sequence.

    Parameters
    ----------
    y : array-like
        1-D ``(n_samples,)`` (one label each: sequences of one step), 2-D
        ``(n_samples, n_steps_out)``, or a list of 1-D label sequences of different
        lengths. Labels of any hashable type.

    Returns
    -------
    labels : ndarray of shape (sum of lengths,)
        All labels, sequence after sequence.
    lengths : ndarray of shape (n_samples,), int64
        Steps of each label sequence.
    ndim : int
        1 or 2 for arrays (the layout to predict in), 0 for a ragged list.
    """
    name = _name(estimator)
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    _refuse_masked(y, "y")
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    ragged = isinstance(y, (list, tuple)) and len({_safe_len(s) for s in y}) > 1
    if not ragged:
        try:
            arr = np.asarray(y)
        except ValueError:  # numpy refuses some nested ragged inputs outright
            ragged = True
        else:
            if arr.dtype.kind == "O" and arr.ndim == 1 and len(arr):
                ragged = all(_safe_len(s) >= 0 and not isinstance(s, str) for s in arr)
    if ragged:
        check_consistent_length(X_batch, y)
        seqs = []
        for i, s in enumerate(y):
            a = np.asarray(s.to_numpy() if hasattr(s, "to_numpy") else s)
            if a.ndim != 1:
                raise ValueError(
                    f"Label sequence {i} of y has shape {a.shape}, but each label "
                    "sequence in a list must be 1-D. Reshape your data."
                )
            if a.shape[0] == 0:
                raise ValueError(
                    f"Label sequence {i} of y is empty; every target sequence needs "
                    "at least 1 label."
                )
            seqs.append(a)
        lengths = np.array([len(a) for a in seqs], dtype=np.int64)
        for s in y:
            if isinstance(s, (list, tuple)):
                _check_label_types(s)
        if len({a.dtype.kind for a in seqs}) == 1:
            labels = np.concatenate(seqs)
        else:  # e.g. int and float sequences: keep every label as it is
            labels = np.array([v for a in seqs for v in a.tolist()], dtype=object)
        ndim = 0
    else:
        if isinstance(y, (list, tuple)):
            _check_label_types(np.asarray(y, dtype=object).reshape(-1))
        if arr.ndim not in (1, 2):
            raise ValueError(
                f"y should be of shape (n_samples, n_steps_out) of labels, or a list "
                f"of label sequences, got an array of shape {arr.shape}. Reshape your "
                "data."
            )
        check_consistent_length(X_batch, arr)
        if arr.ndim == 2 and arr.shape[1] == 0:
            raise ValueError(
                f"y has 0 steps (shape={arr.shape}); every target sequence needs at "
                "least 1 label."
            )
        ndim = arr.ndim
        lengths = np.full(arr.shape[0], 1 if ndim == 1 else arr.shape[1], np.int64)
        labels = arr.reshape(-1)
    if labels.dtype.kind == "f":
        _check_finite(labels, "y")
        if not np.all(np.mod(labels, 1) == 0):
            raise ValueError(
                "Unknown label type: continuous. y must hold class labels (integers, "
                "strings or other hashable values), not continuous values."
            )
    if labels.dtype.kind == "O" and any(
        v is None or (isinstance(v, float) and not np.isfinite(v)) for v in labels
    ):
        raise ValueError("Input y contains NaN or None; every label must be set.")
    if labels.dtype.kind == "O":
        _check_label_types(labels)
    return labels, lengths, ndim


def check_sample_weight(sample_weight, X_batch: SequenceBatch):
    """One non-negative finite weight per sequence, as float32 (None stays None)."""
    if sample_weight is None:
        return None
    sw = _to_numeric(sample_weight, "sample_weight")
    if sw.ndim == 0:
        sw = np.full(X_batch.n_samples, float(sw))
    if sw.ndim != 1:
        raise ValueError(
            f"sample_weight should be 1-D of shape (n_samples,), got shape {sw.shape}."
        )
    check_consistent_length(X_batch, sw, what="sample_weight")
    _check_finite(sw, "sample_weight")
    if (sw < 0).any():
        raise ValueError("sample_weight has negative values; weights must be >= 0.")
    if not (sw > 0).any():
        raise ValueError("sample_weight is zero everywhere; at least one must be > 0.")
    return _as_float32(sw, "sample_weight")


def check_positive_int(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def check_savable(estimator) -> None:
    """Refuse, with what to do instead, an object that the pickle-free
    ``sksequence.persistence.save`` cannot write: anything but one sksequence
    estimator (a Pipeline, a search, a SequenceScaler...). Whether the estimator is
    fitted is checked by the caller."""
    import sksequence
    from sksequence._base import BaseSequenceEstimator
    from sksequence._registry import ESTIMATORS

    if isinstance(estimator, BaseSequenceEstimator) or (
        type(estimator) in ESTIMATORS.values()
    ):
        return
    savable = [
        name
        for name in sksequence.__all__
        if isinstance(cls := getattr(sksequence, name), type)
        and (
            issubclass(cls, BaseSequenceEstimator)
            or not getattr(cls, "_holds_module", True)
        )
    ]
    inner = []
    steps = getattr(estimator, "named_steps", None)
    if hasattr(steps, "items"):
        inner = [
            f"obj.named_steps[{key!r}].save(path)"
            for key, step in steps.items()
            if isinstance(step, BaseSequenceEstimator)
        ]
    if isinstance(getattr(estimator, "best_estimator_", None), BaseSequenceEstimator):
        inner = ["obj.best_estimator_.save(path)"]
    step_hint = (
        f" To save its sksequence estimator alone, pickle-free: {inner[0]}."
        if inner
        else ""
    )
    raise TypeError(
        "The pickle-free sksequence.persistence.save writes one fitted sksequence "
        f"estimator ({', '.join(savable)}), not a {type(estimator).__name__}. Save "
        "a Pipeline, a search or any other scikit-learn object with joblib: "
        "joblib.dump(obj, path), then joblib.load(path) (only load files you "
        f"trust: loading a pickle runs code).{step_hint}"
    )


#: The most memory a decode (``inverse_transform``) may ask for: its output plus the
#: decoder's activations for one batch, estimated before anything is allocated.
MAX_DECODE_BYTES = 4 * 2**30


def check_decode_lengths(
    n_timesteps, n_samples: int, *, default: int, name: str = "n_timesteps"
) -> tuple[int, np.ndarray | None]:
    """Steps to decode for each of ``n_samples`` encodings.

    ``n_timesteps`` is None (``default`` steps each), a positive int (that many
    each), or one positive int per encoding (variable lengths, e.g. the lengths of
    the sequences that were encoded). Returns the number of steps to decode and
    the per-encoding lengths (None for one common length).
    """
    if n_timesteps is None:
        return int(default), None
    if isinstance(n_timesteps, numbers.Integral) and not isinstance(
        n_timesteps, (bool, np.bool_)
    ):
        return check_positive_int(n_timesteps, name), None
    if isinstance(n_timesteps, (str, bytes)) or np.ndim(n_timesteps) != 1:
        raise ValueError(
            f"{name} must be a positive integer or one positive integer per row of "
            f"Z (the length of each decoded sequence), got {n_timesteps!r}."
        )
    lengths = np.asarray(n_timesteps)
    if len(lengths) != n_samples:
        raise ValueError(
            f"{name} has {len(lengths)} lengths, but Z has {n_samples} rows; pass one "
            "length per encoding (or one int for all)."
        )
    if (
        lengths.dtype.kind not in "iu"
        and not (lengths.dtype.kind == "f" and np.all(np.mod(lengths, 1) == 0))
    ) or (lengths.size and lengths.min() < 1):
        raise ValueError(
            f"{name} must hold positive integers (one length per encoding), got "
            f"{lengths.tolist()[:10]!r}{' ...' if len(lengths) > 10 else ''}."
        )
    lengths = lengths.astype(np.int64)
    return int(lengths.max()), lengths


def check_decode_memory(
    n_samples: int,
    n_steps: int,
    *,
    n_features: int,
    batch_rows: int,
    step_width: int,
    estimator=None,
    name: str = "n_timesteps",
) -> None:
    """Refuse a decode whose estimated memory exceeds :data:`MAX_DECODE_BYTES`.

    The estimate is the float32 output (``n_samples * n_steps * n_features``) plus
    the decoder's activations for one batch (``batch_rows * n_steps *
    step_width``).
    """
    need = 4 * n_steps * (n_samples * n_features + batch_rows * step_width)
    if need > MAX_DECODE_BYTES:
        raise ValueError(
            f"{name}={n_steps} would need about {need / 2**30:.3g} GiB to decode "
            f"{n_samples} sequence(s) of {n_steps} steps with {_name(estimator)}, "
            f"more than the {MAX_DECODE_BYTES / 2**30:.3g} GiB sksequence allows for "
            "one decode. Decode fewer steps, or fewer rows of Z at a time."
        )


def check_encodings(Z, n_components: int, *, estimator=None) -> np.ndarray:
    """Validate encodings ``(n_samples, n_components)`` for ``inverse_transform``."""
    arr = _to_numeric(Z, "Z")
    if arr.ndim != 2:
        raise ValueError(
            f"Expected encodings of shape (n_samples, {n_components}), got an array of "
            f"shape {arr.shape}. Reshape your data."
        )
    if arr.shape[1] != n_components:
        raise ValueError(
            f"Z has {arr.shape[1]} components, but {_name(estimator)} encodes to "
            f"{n_components}."
        )
    if arr.shape[0] == 0:
        raise ValueError(
            "Found array with 0 sample(s) while a minimum of 1 is required."
        )
    _check_finite(arr, "Z")
    return _as_float32(arr, "Z")


def split_future(batch: SequenceBatch, n_future, *, estimator=None) -> dict:
    """Split each sequence into the observed part and its last ``n_future`` steps.

    ``n_future=None`` takes the second half of each sequence (``T_i // 2`` steps).
    Returns arrays ``x``/``lengths`` (observed part) and ``future``/``future_lengths``;
    the lengths entries are None when all sequences share one length.
    """
    L = batch.lengths
    h = L // 2 if n_future is None else np.full_like(L, int(n_future))
    if (h < 1).any() or (L - h < 1).any():
        need = 2 if n_future is None else int(n_future) + 1
        raise ValueError(
            f"{_name(estimator)} with a 'predict' or 'composite' objective splits each "
            f"sequence into an observed part and a future of n_future={n_future} "
            f"steps, so every sequence needs at least {need} timesteps; the shortest "
            f"has {int(L.min())}."
        )
    n_in = L - h
    n, _, f = batch.X.shape
    x = np.zeros((n, int(n_in.max()), f), dtype=np.float32)
    fut = np.zeros((n, int(h.max()), f), dtype=np.float32)
    for i in range(n):
        x[i, : n_in[i]] = batch.X[i, : n_in[i]]
        fut[i, : h[i]] = batch.X[i, n_in[i] : L[i]]
    ragged_in = n_in.min() < n_in.max()
    ragged_fut = h.min() < h.max()
    return {
        "x": x,
        "lengths": n_in if ragged_in else None,
        "future": fut,
        "future_lengths": h if ragged_fut else None,
    }


def check_series_collection(
    series: Any,
    *,
    what: str = "series",
    single: bool = False,
    min_timesteps: int = 1,
    n_features: int | None = None,
    estimator=None,
    return_layout: bool = False,
) -> tuple[list, Any]:
    """Validate a collection of whole time series of any lengths.

    The rule is the package's one rule for arrays (docs/user_guide/input.rst): a
    2-D array is a set of univariate series, one per row, and a 3-D array is
    (n_series, n_timesteps, n_features). With ``single=True`` a 1-D array (or a
    flat list of numbers) is one univariate series.

    Parameters
    ----------
    series : list of array-like, or array-like
        A list (or tuple) of series, each of shape (n_timesteps_i,) or
        (n_timesteps_i, n_features); a 2-D array of shape (n_series, n_timesteps)
        (univariate series of one length); or a 3-D array (n_series, n_timesteps,
        n_features); with ``single=True`` also a 1-D array (one univariate series).
    what : str, default="series"
        The argument's name in error messages.
    single : bool, default=False
        Accept a 1-D array or a flat list of numbers as one univariate series.
    min_timesteps : int, default=1
        The fewest timesteps a series may have.
    n_features : int, optional
        The number of features per timestep every series must have (as in fit).
    estimator : estimator instance, optional
        Whose name appears in error messages.
    return_layout : bool, default=False
        Return the layout instead of the ``univariate`` flag.

    Returns
    -------
    series : list of ndarray of shape (n_timesteps_i, n_features), float64
        New arrays (the input is never modified).
    univariate : bool, or layout : {"1d", "2d", "3d", "list"}
        Whether the series were given without a feature axis (1-D series or a 2-D
        array), so that results can be returned in the same layout; with
        ``return_layout=True``, how they were given: one 1-D series, a 2-D or 3-D
        array, or a list.
    """
    name = _name(estimator)
    if hasattr(series, "tocsr") or type(series).__module__.startswith("scipy.sparse"):
        raise TypeError(
            f"Sparse data was passed as {what}, but sksequence needs dense series. "
            f"Convert it with {what}.toarray() first."
        )
    _refuse_stream(series, name)
    if isinstance(series, (list, tuple)) and not (
        single and len(series) and all(isinstance(v, numbers.Number) for v in series)
    ):
        if len(series) == 0:
            raise ValueError(f"{what} is empty; give at least one series.")
        arrays = [_to_numeric(s, f"Series {i} of {what}") for i, s in enumerate(series)]
        univariate, layout = all(a.ndim == 1 for a in arrays), "list"
    else:
        arr = _to_numeric(series, what)
        if arr.ndim == 2 and arr.shape[1] == 0:
            raise ValueError(
                f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum "
                f"of 1 is required. A 2-D {what} holds univariate series (columns are "
                "timesteps), so it needs at least 1 column."
            )
        if arr.ndim == 1 and single:
            arrays, univariate, layout = [arr], True, "1d"
        elif arr.ndim in (2, 3):
            arrays, univariate, layout = list(arr), arr.ndim == 2, f"{arr.ndim}d"
        else:
            one = "a 1-D array (one univariate series), " if single else ""
            raise ValueError(
                f"{what} must be {one}a list of series, a 2-D array (n_series, "
                "n_timesteps) of univariate series or a 3-D array (n_series, "
                f"n_timesteps, n_features), got an array of shape {arr.shape}."
            )
        if len(arrays) == 0:
            raise ValueError(f"{what} is empty; give at least one series.")
    out = []
    for i, a in enumerate(arrays):
        where = what if layout == "1d" else f"Series {i} of {what}"
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2:
            raise ValueError(
                f"{where} has shape {a.shape}, but each series must be of shape "
                "(n_timesteps_i,) or (n_timesteps_i, n_features)."
            )
        if a.shape[0] == 0:
            raise ValueError(f"{where} is empty (0 timesteps).")
        if a.shape[0] < min_timesteps:
            hint = ""
            if layout == "2d":
                hint = (
                    f" {what} is a 2-D array, which sksequence reads as (n_series, "
                    "n_timesteps) univariate series, one per row; to pass one "
                    "multivariate series of shape (n_timesteps, n_features), pass "
                    f"{what}[None] (a 3-D array) or [{what}] (a list)."
                )
            raise ValueError(
                f"{where} has {a.shape[0]} timesteps, but {name} needs at least "
                f"{min_timesteps}.{hint}"
            )
        _check_finite(a, where)
        out.append(np.array(a, dtype=np.float64))
    found = sorted({a.shape[1] for a in out})
    if len(found) > 1:
        raise ValueError(
            f"All series in {what} must have the same number of features, got {found}."
        )
    if n_features is not None and found[0] != n_features:
        raise ValueError(
            f"{what} has {found[0]} features per timestep, but {name} was fitted "
            f"with {n_features}."
        )
    return out, (layout if return_layout else univariate)
