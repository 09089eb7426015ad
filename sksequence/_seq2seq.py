"""Seq2SeqRegressor and Seq2SeqClassifier: encoder-decoder sequence-to-sequence models."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSequenceEstimator
from ._teacher_forcing import SCHEDULES, TeacherForcingSchedule
from .nn.seq2seq import Seq2Seq
from .utils.validation import (
    check_label_sequences,
    check_partial_fit_classes,
    check_sequences,
    check_target_sequences,
    encode_labels,
)

__all__ = ["Seq2SeqClassifier", "Seq2SeqRegressor"]

_COMMON_DOC = """
    Encoder: an LSTM (or GRU) reads the input sequence. Decoder, by ``decoder``:

    - ``"recursive"`` (autoregressive): starts from the encoder's final states and a
      start input and is fed its previous output, the true one during training
      (teacher forcing, with probability ``teacher_forcing_ratio``, optionally
      decayed over epochs by ``scheduled_sampling``) and its own prediction at
      inference;
    - ``"direct"``: the encoder's final state is repeated as the input of every
      output step (the "RepeatVector" model); nothing is fed back.

    ``attention`` adds Luong et al. (2015) global attention over the encoder outputs
    ("dot", "general", "concat", "location") or Bahdanau et al. (2015) additive
    attention ("bahdanau"); padded input steps get zero weight, and
    :meth:`attention_weights` returns the weights for plotting."""

_COMMON_PARAMS = """
    decoder : {"recursive", "direct"}, default="recursive"
    attention : {None, "dot", "general", "concat", "location", "bahdanau"}, \
default=None
    input_feeding : bool, default=False
        Feed the previous attentional state into each decoder step (Luong et al.,
        section 3.3). Decoding then runs step by step, also in training.
    teacher_forcing_ratio : float in [0, 1], default=1.0
        Probability of feeding the true previous output (rather than the model's
        own prediction) to the recursive decoder in training, drawn per sample and
        step. At 1 with no Bahdanau attention or input feeding the whole target runs
        through the decoder in one call (fastest).
    scheduled_sampling : {None, "linear", "exponential", "inverse_sigmoid"}, \
default=None
        Decay the ratio over epochs from ``teacher_forcing_ratio`` (Bengio et al.
        2015); see
        :func:`sksequence._teacher_forcing.teacher_forcing_schedule`. The ratio of
        each epoch is in ``history_`` as ``teacher_forcing_ratio``.
    sampling_decay : float, default=None
        The schedule's rate ``k`` (per-epoch decrease for "linear", factor for
        "exponential", ``k >= 1`` for "inverse_sigmoid"); None spreads the decay
        over ``max_epochs``.
    hidden_size : int, default=64
        Units per encoder layer and direction; the decoder has ``hidden_size`` times
        the number of directions.
    num_layers : int, default=1
        Layers of the encoder and of the decoder.
    cell : {"lstm", "gru"}, default="lstm"
    bidirectional : bool, default=False
        Bidirectional encoder (the decoder starts from both directions' states).
    dropout : float, default=0.0
        Dropout between stacked recurrent layers.
    max_epochs : int, default=100
        Upper bound on training epochs; training stops earlier when the monitored
        loss has not improved by ``tol`` (relative) for ``n_iter_no_change`` epochs.
    batch_size : int, default=32
    lr : float, default=1e-3
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
    weight_decay : float, default=0.0
    clip_grad_norm : float or None, default=1.0
        Clip the global gradient norm before each step; None turns clipping off.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the sequences, monitor their
        (teacher-forced) loss and restore the best weights at the end. False
        monitors the training loss.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    device : str, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout, teacher forcing draws and the
        validation split; the global torch seed is left untouched.
    verbose : int, default=0
    callbacks : list of skorch callbacks, default=None
    warm_start : bool, default=False
        When fitted already, ``fit`` continues from the fitted weights (another
        ``max_epochs``; ``history_`` runs on), keeping what the first fit learnt
        from its data (classes, target scaling, output steps): the way to go on
        after a ``DivergenceWarning``, e.g. with a smaller ``lr``. See also
        ``partial_fit``."""

_COMMON_ATTRS = """
    n_features_in_ : int
        Features per input timestep.
    n_timesteps_ : int
        Longest training input.
    n_steps_out_ : int
        Output steps predicted.
    net_ : SequenceNet
        The trained skorch net (``net_.module_`` is a :class:`sksequence.nn.Seq2Seq`).
    history_ : skorch History
    n_epochs_ : int
    diverged_ : bool"""


class _Seq2SeqBase(BaseSequenceEstimator):
    """What both seq2seq estimators share."""

    _parameter_constraints: dict = {
        **{
            k: v
            for k, v in BaseSequenceEstimator._parameter_constraints.items()
            if k != "truncate_bptt"
        },
        "decoder": [StrOptions({"recursive", "direct"})],
        "attention": [
            StrOptions({"dot", "general", "concat", "location", "bahdanau"}),
            None,
        ],
        "input_feeding": ["boolean"],
        "teacher_forcing_ratio": [Interval(Real, 0, 1, closed="both")],
        "scheduled_sampling": [StrOptions(set(SCHEDULES)), None],
        "sampling_decay": [Interval(Real, 0, None, closed="neither"), None],
    }

    # Truncated BPTT is not offered: the decoder reads the whole encoding.
    truncate_bptt = None

    _module_class = Seq2Seq
    _fitted_attributes = ("n_timesteps_", "n_steps_out_", "_y_ndim")

    def _callbacks(self, has_valid: bool) -> list:
        return self._sampling_schedule() + super()._callbacks(has_valid)

    def _incremental_callbacks(self) -> list:
        # epoch-based: across partial_fit calls it follows len(history_)
        return self._sampling_schedule() + super()._incremental_callbacks()

    def _sampling_schedule(self) -> list:
        if self.scheduled_sampling is None:
            return []
        schedule = TeacherForcingSchedule(
            self.scheduled_sampling,
            start=self.teacher_forcing_ratio,
            decay=self.sampling_decay,
            max_epochs=self.max_epochs,
        )
        return [("teacher_forcing_schedule", schedule)]

    def _fit_seq2seq(
        self, batch, target, output_size, categorical, *, continuing, incremental
    ):
        max_length = batch.n_timesteps
        if continuing:  # location attention has one weight per training position
            self._check_location_length(batch)
            max_length = self.n_timesteps_
        module_kwargs = dict(
            input_size=batch.n_features,
            output_size=output_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            pattern=self.decoder,
            attention=self.attention,
            input_feeding=self.input_feeding,
            categorical=categorical,
            max_length=max_length,
            teacher_forcing_ratio=self.teacher_forcing_ratio,
        )
        arrays = {
            "x": batch.X,
            "lengths": batch.lengths if batch.ragged else None,
            "target": target,
        }
        self._fit_module(
            Seq2Seq,
            module_kwargs,
            arrays,
            continuing=continuing,
            incremental=incremental,
        )
        self.n_timesteps_ = max_length
        return self

    def _inputs(self, X):
        check_is_fitted(self, "net_")
        batch = check_sequences(X, estimator=self, reset=False)
        self._check_location_length(batch)
        arrays = {"x": batch.X, "lengths": batch.lengths if batch.ragged else None}
        return batch, arrays

    def _check_location_length(self, batch) -> None:
        """Location attention has one weight per training position: refuse longer X
        (at predict time, and when training goes on with warm_start/partial_fit)."""
        if self.attention == "location" and batch.n_timesteps > self.n_timesteps_:
            raise ValueError(
                f"X has sequences of {batch.n_timesteps} timesteps, but "
                f"{type(self).__name__} with attention='location' was fitted on at most "
                f"{self.n_timesteps_}: location attention has one weight per training "
                "position."
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # y may hold several outputs per sample (steps, targets), or one (1-D y).
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def attention_weights(self, X):
        """Attention weights of every predicted step over the input timesteps.

        The weights the decoder used while producing :meth:`predict`'s output.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays

        Returns
        -------
        weights : ndarray of shape (n_samples, n_steps_out, n_timesteps)
            Each row sums to 1; padded timesteps of shorter sequences get 0.
        """
        check_is_fitted(self, "net_")
        if self.attention is None:
            raise ValueError(
                f"{type(self).__name__} was fitted with attention=None, so it has no "
                "attention weights. Set attention to one of 'dot', 'general', "
                "'concat', 'location', 'bahdanau'."
            )
        batch, arrays = self._inputs(X)
        return self._batched(self._weights_fn(), arrays, batch.n_timesteps)


class Seq2SeqRegressor(RegressorMixin, _Seq2SeqBase):
    __doc__ = (
        """Encoder-decoder regressor: from an input sequence to an output sequence.

    Multi-step forecasting and other sequence-to-sequence regression. ``y`` holds
    ``n_steps_out`` values per sample (2-D) or ``n_steps_out`` steps of
    ``n_targets`` values (3-D); :meth:`predict` answers in the same layout.
    :meth:`forecast` goes further than the trained horizon by feeding predictions
    back as inputs (the recursive strategy), next to the direct multi-step
    prediction the model learns.
"""
        + _COMMON_DOC
        + """

    Parameters
    ----------
    normalize_y : bool, default=True
        Standardise each target (mean 0, variance 1 over samples and steps) for
        training; predictions are returned in the original units."""
        + _COMMON_PARAMS
        + """

    Attributes
    ----------"""
        + _COMMON_ATTRS
        + """
    n_targets_ : int
        Values per output step.
    y_mean_, y_scale_ : ndarray of shape (n_targets_,)
        The target standardisation (0 and 1 when ``normalize_y=False``).

    See Also
    --------
    sksequence.preprocessing.sliding_window : cut a series into (X, y) windows.

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence import Seq2SeqRegressor
    >>> from sksequence.preprocessing import sliding_window
    >>> series = np.sin(np.arange(200) * 0.3)
    >>> X, y = sliding_window(series, n_steps_in=12, n_steps_out=3)
    >>> reg = Seq2SeqRegressor(hidden_size=16, max_epochs=20, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2, 3)
    >>> reg.forecast(X[:2], n_steps=7).shape
    (2, 7)
    """
    )

    _parameter_constraints: dict = {
        **_Seq2SeqBase._parameter_constraints,
        "normalize_y": ["boolean"],
    }

    _fitted_attributes = ("y_mean_", "y_scale_", "n_targets_")

    def __init__(
        self,
        *,
        decoder="recursive",
        attention=None,
        input_feeding=False,
        teacher_forcing_ratio=1.0,
        scheduled_sampling=None,
        sampling_decay=None,
        normalize_y=True,
        hidden_size=64,
        num_layers=1,
        cell="lstm",
        bidirectional=False,
        dropout=0.0,
        max_epochs=100,
        batch_size=32,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        clip_grad_norm=1.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
    ):
        self.decoder = decoder
        self.attention = attention
        self.input_feeding = input_feeding
        self.teacher_forcing_ratio = teacher_forcing_ratio
        self.scheduled_sampling = scheduled_sampling
        self.sampling_decay = sampling_decay
        self.normalize_y = normalize_y
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.clip_grad_norm = clip_grad_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : array-like of shape (n_samples, n_steps_out) or (n_samples, \
n_steps_out, n_targets)

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y):
        """Train one epoch on ``(X, y)``, starting from the current weights.

        The first call creates the model; its ``y`` sets the output steps, targets
        and (with ``normalize_y``) the target scaling, which later calls keep. Each
        call is one pass over the data in shuffled mini-batches at the constant
        learning rate ``lr``, with no validation split or early stopping; the
        optimizer's state carries over from call to call. Use it for data that
        arrives in chunks, or to go on training after ``fit`` (e.g. after a
        ``DivergenceWarning``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
        y : array-like of shape (n_samples, n_steps_out) or (n_samples, \
n_steps_out, n_targets)

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=True)

    def _fit(self, X, y, *, incremental: bool):
        self._validate_params()
        continuing = self._continuing(incremental)
        batch = check_sequences(X, estimator=self, reset=not continuing)
        target = check_target_sequences(y, batch)  # (N, T, O) float32
        if continuing:
            if target.shape[1:] != (self.n_steps_out_, self.n_targets_):
                raise ValueError(
                    f"y has {target.shape[1]} step(s) of {target.shape[2]} target(s), "
                    f"but {type(self).__name__} was fitted on {self.n_steps_out_} "
                    f"step(s) of {self.n_targets_}; training that goes on (warm_start "
                    "or partial_fit) needs targets of the same shape."
                )
            scaled = ((target - self.y_mean_) / self.y_scale_).astype(np.float32)
            return self._fit_seq2seq(
                batch,
                scaled,
                self.n_targets_,
                categorical=False,
                continuing=True,
                incremental=incremental,
            )
        self._y_ndim = np.asarray(y).ndim  # the layout predict answers in
        if self.normalize_y:
            # float64 statistics: float32 ones overflow for |y| > ~1e19 (y=1e30)
            mean = target.mean(axis=(0, 1), dtype=np.float64)
            scale = target.std(axis=(0, 1), dtype=np.float64)
            scale[~(scale > 1e-12)] = 1.0
        else:
            mean = np.zeros(target.shape[2], np.float32)
            scale = np.ones(target.shape[2], np.float32)
        self.y_mean_, self.y_scale_ = mean.astype(np.float64), scale.astype(np.float64)
        scaled = ((target - mean) / scale).astype(np.float32)
        self.n_steps_out_, self.n_targets_ = target.shape[1], target.shape[2]
        return self._fit_seq2seq(
            batch,
            scaled,
            self.n_targets_,
            categorical=False,
            continuing=False,
            incremental=incremental,
        )

    def _predict_scaled(self, arrays, n_timesteps):
        steps = self.n_steps_out_

        def run(module, x, lengths=None):
            return module(x, lengths, n_steps=steps)[0]  # (N, T, O)

        out = self._batched(run, arrays, n_timesteps).astype(np.float64)
        return out * self.y_scale_ + self.y_mean_

    def _layout(self, values):
        """(N, T, O) -> the layout of the y seen in fit."""
        if self._y_ndim == 1:
            return values[:, 0, 0]
        if self._y_ndim == 2:
            return values[:, :, 0]
        return values

    def predict(self, X):
        """Predict the output sequence of each input sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays

        Returns
        -------
        y : ndarray of shape (n_samples, n_steps_out_) or (n_samples, n_steps_out_, \
n_targets_)
            The layout of the ``y`` seen in fit.
        """
        batch, arrays = self._inputs(X)
        return self._layout(self._predict_scaled(arrays, batch.n_timesteps))

    def forecast(self, X, n_steps):
        """Forecast ``n_steps`` ahead, beyond the trained horizon if need be.

        The recursive strategy: predict ``n_steps_out_`` steps, append them to each
        input window (dropping its oldest steps so that the window keeps its length),
        predict again from the shifted window, and so on. This needs the targets to
        be the input features, in the same units and order (``n_targets_ ==
        n_features_in_``), as with windows from
        :func:`sksequence.preprocessing.sliding_window`. Errors compound with each
        round, so prefer training on the horizon you need when you can.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
            The most recent window of each series.
        n_steps : int
            Steps to forecast.

        Returns
        -------
        y : ndarray of shape (n_samples, n_steps) or (n_samples, n_steps, n_targets_)
            The layout of the ``y`` seen in fit (a 1-D ``y`` gives 2-D output).
        """
        check_is_fitted(self, "net_")
        if not isinstance(n_steps, Integral) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")
        batch, arrays = self._inputs(X)
        if n_steps > self.n_steps_out_ and self.n_targets_ != self.n_features_in_:
            raise ValueError(
                f"forecast beyond the trained horizon ({self.n_steps_out_} steps) feeds "
                f"predictions back as inputs, so the {self.n_targets_} targets must be "
                f"the {self.n_features_in_} input features; they differ. Fit on a "
                f"horizon of {n_steps} steps instead."
            )
        x, lengths = batch.X.copy(), batch.lengths
        parts, done = [], 0
        while done < n_steps:
            arrays = {"x": x, "lengths": lengths if batch.ragged else None}
            pred = self._predict_scaled(arrays, batch.n_timesteps)  # (N, T, O)
            parts.append(pred)
            done += pred.shape[1]
            if done < n_steps:
                x = _shift_in(x, lengths, pred.astype(np.float32))
        out = np.concatenate(parts, axis=1)[:, :n_steps]
        return out[:, :, 0] if self._y_ndim in (1, 2) else out

    def score(self, X, y, sample_weight=None):
        """R^2 over all output values (every step and target an output).

        Returns
        -------
        score : float
            The mean over outputs of the coefficient of determination, as
            :func:`sklearn.metrics.r2_score` computes it.
        """
        batch, arrays = self._inputs(X)
        target = check_target_sequences(y, batch)
        n = target.shape[0]
        pred = self._predict_scaled(arrays, batch.n_timesteps).reshape(n, -1)
        return float(r2_score(target.reshape(n, -1), pred, sample_weight=sample_weight))

    def _weights_fn(self):
        steps = self.n_steps_out_

        def run(module, x, lengths=None):
            return module(x, lengths, n_steps=steps)[1]  # (N, T, L)

        return run


def _shift_in(x, lengths, new):
    """Append ``new`` (N, S, F) to each sequence of ``x`` (N, L, F), drop its oldest S
    valid steps so that every sequence keeps its length (padding stays at the end)."""
    n, max_len, _ = x.shape
    s = new.shape[1]
    if (lengths == max_len).all():
        return np.concatenate([x, new], axis=1)[:, s:]  # (N, L, F)
    out = np.zeros_like(x)
    for i in range(n):
        valid = np.concatenate([x[i, : lengths[i]], new[i]], axis=0)[s:]
        out[i, : lengths[i]] = valid
    return out


class Seq2SeqClassifier(ClassifierMixin, _Seq2SeqBase):
    __doc__ = (
        """Encoder-decoder classifier: from an input sequence to a sequence of labels.

    ``y`` holds ``n_steps_out`` labels per sample (labels of any hashable type), or
    is a list of label sequences of different lengths: an end-of-sequence symbol is
    then learnt after each one, decoding stops at it, and :meth:`predict` returns a
    list. Decoding is greedy (``beam_width=1``) or a beam search, for all samples at
    once; :meth:`generate` samples new sequences instead.
"""
        + _COMMON_DOC
        + """

    Parameters
    ----------
    beam_width : int, default=1
        Hypotheses kept by the beam search of :meth:`predict`; 1 is greedy
        decoding."""
        + _COMMON_PARAMS
        + """

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted."""
        + _COMMON_ATTRS
        + """
        The longest label sequence for variable-length ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence import Seq2SeqClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = rng.randint(0, 4, size=(300, 4))
    >>> y = np.array(list("abcd"))[X[:, ::-1]]  # the sequence reversed, as letters
    >>> clf = Seq2SeqClassifier(hidden_size=32, max_epochs=30, lr=1e-2, random_state=0)
    >>> clf.fit(np.eye(4)[X], y).predict(np.eye(4)[[[0, 1, 2, 3]]])
    array([['d', 'c', 'b', 'a']], dtype='<U1')
    >>> clf.predict_proba(np.eye(4)[X[:2]]).shape
    (2, 4, 4)
    """
    )

    _parameter_constraints: dict = {
        **_Seq2SeqBase._parameter_constraints,
        "beam_width": [Interval(Integral, 1, None, closed="left")],
    }

    _fitted_attributes = ("classes_", "_end")

    def __init__(
        self,
        *,
        decoder="recursive",
        attention=None,
        input_feeding=False,
        teacher_forcing_ratio=1.0,
        scheduled_sampling=None,
        sampling_decay=None,
        beam_width=1,
        hidden_size=64,
        num_layers=1,
        cell="lstm",
        bidirectional=False,
        dropout=0.0,
        max_epochs=100,
        batch_size=32,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        clip_grad_norm=1.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
    ):
        self.decoder = decoder
        self.attention = attention
        self.input_feeding = input_feeding
        self.teacher_forcing_ratio = teacher_forcing_ratio
        self.scheduled_sampling = scheduled_sampling
        self.sampling_decay = sampling_decay
        self.beam_width = beam_width
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.clip_grad_norm = clip_grad_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : array-like of shape (n_samples, n_steps_out), or list of label sequences
            Labels of any hashable type. A list of sequences of different lengths
            trains an end-of-sequence symbol; a 1-D ``y`` is one step per sample.

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """Train one epoch on ``(X, y)``, starting from the current weights.

        As in scikit-learn, the first call must list every class in ``classes``
        (later calls may omit it). Label sequences keep the layout of the first
        call (a list of variable-length sequences, or fixed-length rows). Each call
        is one pass over the data in shuffled mini-batches at the constant learning
        rate ``lr``, with no validation split or early stopping; the optimizer's
        state carries over from call to call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
        y : array-like of shape (n_samples, n_steps_out), or list of label sequences
        classes : array-like of shape (n_classes,), default=None
            Every label that can occur; required on the first call.

        Returns
        -------
        self
        """
        fitted = self.classes_ if hasattr(self, "net_") else None
        self.classes_ = check_partial_fit_classes(classes, fitted, estimator=self)
        return self._fit(X, y, incremental=True)

    def _fit(self, X, y, *, incremental: bool):
        self._validate_params()
        continuing = self._continuing(incremental)
        batch = check_sequences(X, estimator=self, reset=not continuing)
        labels, lengths, ndim = check_label_sequences(y, batch, estimator=self)
        variable = ndim == 0
        if continuing:
            if variable != (self._end is not None):
                raise ValueError(
                    f"y is {'a list of variable-length' if variable else 'an array of'}"
                    f" label sequences, but {type(self).__name__} was fitted on "
                    f"{'variable-length ones' if not variable else 'an array'}; "
                    "training that goes on (warm_start or partial_fit) keeps the "
                    "layout of the first fit."
                )
            if not variable and lengths.max() != self.n_steps_out_:
                raise ValueError(
                    f"y has {int(lengths.max())} step(s) per sequence, but "
                    f"{type(self).__name__} was fitted on {self.n_steps_out_}; "
                    "training that goes on (warm_start or partial_fit) needs the "
                    "same number of steps."
                )
        if continuing or incremental:  # classes_ from the first fit or `classes`
            ids = encode_labels(labels, self.classes_, estimator=self)
        else:
            self.classes_, ids = np.unique(labels, return_inverse=True)
        if not continuing:
            self._y_ndim = ndim
            self._end = len(self.classes_) if variable else None
        n_classes = len(self.classes_)
        steps = int(lengths.max()) + (1 if variable else 0)
        target = np.full((batch.n_samples, steps), -100, dtype=np.int64)
        target[np.arange(steps)[None, :] < lengths[:, None]] = ids  # row by row
        if variable:
            target[np.arange(batch.n_samples), lengths] = self._end
        if not continuing:
            self.n_steps_out_ = int(lengths.max())
        elif variable:  # decode as far as the longest sequence seen so far
            self.n_steps_out_ = max(self.n_steps_out_, int(lengths.max()))
        return self._fit_seq2seq(
            batch,
            target,
            n_classes + (1 if variable else 0),
            categorical=True,
            continuing=continuing,
            incremental=incremental,
        )

    # -- decoding -------------------------------------------------------------------

    def _decode_fn(self, *, temperature=None, generator=None, then=None):
        end, beam = self._end, self.beam_width
        steps = self.n_steps_out_ + (end is not None)  # room for the end symbol

        def run(module, x, lengths=None):
            ids = module.decode(
                x,
                lengths,
                n_steps=steps,
                beam_width=beam,
                end_token=end,
                temperature=temperature,
                generator=generator,
            )  # (N, T)
            if then is None:
                return ids
            return then(module, x, lengths, ids)

        return run

    def _labels(self, ids):
        """Class ids (N, T) -> the layout of the y seen in fit."""
        if self._end is None:
            labels = self.classes_[ids]
            return labels[:, 0] if self._y_ndim == 1 else labels
        out = []
        for row in ids:
            stop = np.flatnonzero(row == self._end)
            # no end symbol in the budget: at most the longest training sequence
            out.append(
                self.classes_[row[: stop[0] if len(stop) else self.n_steps_out_]]
            )
        return out

    def predict(self, X):
        """Decode the label sequence of each input sequence.

        Greedy decoding when ``beam_width=1``, else beam search.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays

        Returns
        -------
        y : ndarray of shape (n_samples, n_steps_out_), or list of arrays
            The layout of the ``y`` seen in fit: a list of 1-D label arrays (without
            the end symbol) when it was a list of variable-length sequences.
        """
        batch, arrays = self._inputs(X)
        ids = self._batched(self._decode_fn(), arrays, batch.n_timesteps)
        return self._labels(ids)

    def predict_proba(self, X):
        """Class probabilities of every step, along the decoded sequence.

        Step ``t`` is the model's distribution given the input and the labels that
        :meth:`predict` decoded before ``t``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays

        Returns
        -------
        proba : ndarray of shape (n_samples, n_steps_out_, n_classes)
            (n_samples, n_classes) when fitted on a 1-D ``y``. For variable-length
            targets, the steps after the decoded end are 0 and each step's missing
            mass ``1 - sum`` is the probability that the sequence ends there.
        """
        batch, arrays = self._inputs(X)
        end = self._end

        def then(module, x, lengths, ids):
            logits = module(x, lengths, target=ids)[0]  # (N, T, C)
            proba = torch.softmax(logits.float(), dim=-1)
            if end is None:
                return proba
            ended = torch.cumsum(ids == end, dim=1) - (ids == end).long()  # (N, T)
            proba = proba.masked_fill((ended > 0)[:, :, None], 0.0)
            return proba[:, :, :end]

        proba = self._batched(
            self._decode_fn(then=then), arrays, batch.n_timesteps
        ).astype(np.float64)
        if end is not None:
            proba = proba[:, : self.n_steps_out_]
        return proba[:, 0] if self._y_ndim == 1 else proba

    def generate(self, X, *, temperature=1.0, random_state=None):
        """Sample a label sequence for each input, feeding each sample back.

        Every step draws a label from ``softmax(logits / temperature)``: low
        temperatures approach :meth:`predict`, high ones the uniform distribution.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
        temperature : float, default=1.0
        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        y : ndarray of shape (n_samples, n_steps_out_), or list of arrays
            The layout of :meth:`predict`.
        """
        if not isinstance(temperature, Real) or not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}.")
        batch, arrays = self._inputs(X)
        seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
        generator = torch.Generator(device=self._torch_device()).manual_seed(int(seed))
        fn = self._decode_fn(temperature=float(temperature), generator=generator)
        return self._labels(self._batched(fn, arrays, batch.n_timesteps))

    def score(self, X, y, sample_weight=None):
        """Exact-sequence accuracy: a sequence counts only if every step is right.

        Returns
        -------
        score : float
        """
        batch, arrays = self._inputs(X)
        labels, lengths, ndim = check_label_sequences(y, batch, estimator=self)
        pred = self._labels(self._batched(self._decode_fn(), arrays, batch.n_timesteps))
        if ndim == 0 or self._end is not None:
            ends = np.cumsum(lengths)
            if self._end is None:
                pred = list(pred.reshape(len(pred), -1))
            correct = np.array(
                [
                    len(p) == n and np.array_equal(p, labels[stop - n : stop])
                    for p, stop, n in zip(pred, ends, lengths)
                ]
            )
        else:
            true = labels.reshape(len(lengths), -1)
            pred = np.asarray(pred).reshape(len(lengths), -1)
            if true.shape != pred.shape:
                return 0.0
            correct = (true == pred).all(axis=1)
        return float(np.average(correct, weights=sample_weight))

    def _weights_fn(self):
        def then(module, x, lengths, ids):
            return module(x, lengths, target=ids)[1]  # (N, T, L)

        return self._decode_fn(then=then)
