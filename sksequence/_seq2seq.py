"""Seq2SeqRegressor and Seq2SeqClassifier: encoder-decoder sequence-to-sequence models."""

from __future__ import annotations

import math
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSequenceEstimator
from ._net import _GLOBAL_RNG_LOCK
from ._params import Param
from ._teacher_forcing import SCHEDULES, TeacherForcingSchedule
from .nn.seq2seq import Seq2Seq
from .utils.validation import (
    check_calibration_targets,
    check_label_sequences,
    check_partial_fit_classes,
    check_positive_int,
    check_target_sequences,
    check_window_targets,
    conformal_quantile,
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

    _own_params = {
        "decoder": Param(
            "recursive",
            [StrOptions({"recursive", "direct"})],
            '{{"recursive", "direct"}}, default={default}',
        ),
        "attention": Param(
            None,
            [StrOptions({"dot", "general", "concat", "location", "bahdanau"}), None],
            '{{None, "dot", "general", "concat", "location", "bahdanau"}}, '
            "default={default}",
        ),
        "input_feeding": Param(
            False,
            ["boolean"],
            "bool, default={default}",
            "Feed the previous attentional state into each decoder step (Luong et "
            "al., section 3.3). Decoding then runs step by step, also in training.",
        ),
        "teacher_forcing_ratio": Param(
            1.0,
            [Interval(Real, 0, 1, closed="both")],
            "float in [0, 1], default={default}",
            """
            Probability of feeding the true previous output (rather than the
            model's own prediction) to the recursive decoder in training, drawn per
            sample and step. At 1 with no Bahdanau attention or input feeding the
            whole target runs through the decoder in one call (fastest).""",
        ),
        "output_dropout": Param(
            0.0,
            [Interval(Real, 0, 1, closed="left")],
            "float in [0, 1), default={default}",
            """
            Dropout on the decoder's states before they are read out (the
            attention's query and the output layer), in training only: a
            regulariser that acts with one recurrent layer too, where ``dropout``
            has nothing to act on.""",
        ),
        "scheduled_sampling": Param(
            None,
            [StrOptions(set(SCHEDULES)), None],
            '{{None, "linear", "exponential", "inverse_sigmoid"}}, default={default}',
            """
            Decay the ratio over epochs from ``teacher_forcing_ratio`` (Bengio et
            al. 2015); see
            :func:`sksequence._teacher_forcing.teacher_forcing_schedule`. The ratio
            of each epoch is in ``history_`` as ``teacher_forcing_ratio``.""",
        ),
        "sampling_decay": Param(
            None,
            [Interval(Real, 0, None, closed="neither"), None],
            "float or None, default={default}",
            """
            The schedule's rate ``k`` (per-epoch decrease for "linear", factor for
            "exponential", ``k >= 1`` for "inverse_sigmoid"); None spreads the decay
            over ``max_epochs``.""",
        ),
    }
    _shared_docs = {
        "hidden_size": "Units per encoder layer and direction; the decoder has "
        "``hidden_size`` times the number of directions.",
        "num_layers": "Layers of the encoder and of the decoder.",
        "bidirectional": "Bidirectional encoder (the decoder starts from both "
        "directions' states).",
    }

    _module_class = Seq2Seq
    _fitted_attributes = ("n_timesteps_", "n_steps_out_", "_y_ndim")

    def _sampling_schedule(self, n_samples: int) -> tuple:
        """The scheduled-sampling callback, decaying over the fit's budget."""
        if self.scheduled_sampling is None:
            return ()
        schedule = TeacherForcingSchedule(
            self.scheduled_sampling,
            start=self.teacher_forcing_ratio,
            decay=self.sampling_decay,
            max_epochs=self._epochs(n_samples),
        )
        return (("teacher_forcing_schedule", schedule),)

    def _seq2seq_plan(
        self,
        batch,
        target,
        output_size,
        categorical,
        fitted,
        *,
        continuing,
        incremental,
        seed,
        sample_weight,
        valid_inputs=None,
        output_fn=None,
        module_options=None,
        buffers=None,
        transfer=None,
        schedule=None,
    ):
        """The plan shared by both estimators, once X and y are validated
        (``module_options``: the module's arguments beyond the shared ones)."""
        max_length = batch.n_timesteps
        if continuing:  # location attention has one weight per training position
            self._check_inference_batch(batch)
            max_length = self.n_timesteps_
        else:
            fitted.update(batch.input_attributes())
        fitted["n_timesteps_"] = max_length
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
            output_dropout=self.output_dropout,
            **(module_options or {}),
        )
        inputs = {**batch.inputs(), "target": target}
        inputs["sample_weight"] = sample_weight
        return self._make_plan(
            Seq2Seq,
            module_kwargs,
            inputs,
            fitted,
            seed=seed,
            continuing=continuing,
            incremental=incremental,
            valid_inputs=valid_inputs,
            schedule=schedule,
            buffers=buffers or {},
            transfer=transfer or {},
            policies=self._sampling_schedule(batch.n_samples),
            output_fn=output_fn,
        )

    def _check_inference_batch(self, batch) -> None:
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
        batch = self._inputs(X)
        return self._batched(self._weights_fn(), batch.inputs(), batch.n_timesteps)


class Seq2SeqRegressor(RegressorMixin, _Seq2SeqBase):
    __doc__ = (
        """Encoder-decoder regressor: from an input sequence to an output sequence.

    Multi-step forecasting and other sequence-to-sequence regression. ``y`` holds
    ``n_steps_out`` values per sample (2-D) or ``n_steps_out`` steps of
    ``n_targets`` values (3-D); :meth:`predict` answers in the same layout.
    :meth:`forecast` goes further than the trained horizon by feeding predictions
    back as inputs (the recursive strategy), next to the direct multi-step
    prediction the model learns.

    The defaults are a forecasting model: on windows cut from a series (the
    targets are the input features), each window is scaled by its own statistics
    and a linear autoregression, corrected by the network, predicts the whole
    horizon at once (``scaling="window"``, ``decoder="direct"``), trained for a
    fixed budget of optimizer updates with a cosine learning rate
    (``max_epochs="auto"``). Pass raw values in your units: no scaler is needed.
    :meth:`calibrate` and :meth:`predict_interval` add prediction intervals. The
    user guide's forecasting section says why these defaults and how they compare.
"""
        + _COMMON_DOC
        + """

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------"""
        + _COMMON_ATTRS
        + """
    n_targets_ : int
        Values per output step.
    scaling_ : {"window", "standard"} or None
        The scaling used (what ``scaling="auto"`` resolved to).
    linear_start_ : {"zero", "naive", "ridge"} or None
        Where the linear path started (what ``linear_start`` None or "auto"
        chose); None without a linear path (``scaling_`` other than "window").
    linear_units_ : {"window", "series"} or None
        The linear path's units (what ``linear_units="auto"`` chose); None
        without a linear path.
    y_mean_, y_scale_ : ndarray of shape (n_targets_,)
        The target standardisation: the input features' statistics with
        ``scaling_="window"``, else the targets' own (0 and 1 when
        ``normalize_y=False``).
    interval_scores_ : ndarray of shape (n_calibration, n_steps_out_, n_targets_)
        The sorted scores of :meth:`calibrate` (absent before it is called, and
        after training goes on).

    See Also
    --------
    sksequence.preprocessing.sliding_window : cut a series into (X, y) windows.
    sksequence.preprocessing.SeriesWindows : windows of many series for one model.

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

    _own_params = {
        **_Seq2SeqBase._own_params,
        "decoder": Param(
            "direct",
            [StrOptions({"recursive", "direct"})],
            '{{"recursive", "direct"}}, default={default}',
            """
            The decoder pattern (see above). "direct" forecasts every step from the
            encoding at once, so training and prediction behave alike and errors
            do not compound along the horizon; it forecast real series better than
            the recursive decoder, teacher-forced or free-running (see the user
            guide's forecasting section).""",
        ),
        "normalize_y": Param(
            True,
            ["boolean"],
            "bool, default={default}",
            """
            Standardise each target (mean 0, variance 1 over samples and steps)
            for training; predictions are returned in the original units. With
            ``scaling="window"`` the targets are input features and always take
            their feature's statistics instead.""",
        ),
        "scaling": Param(
            "auto",
            [StrOptions({"auto", "window", "standard"}), None],
            '{{"auto", "window", "standard"}} or None, default={default}',
            """
            How the network sees inputs and targets (predictions, forecasts and
            scores are always in your units):

            - "standard": each input feature standardised by its mean and
              standard deviation over the training timesteps (the model's input
              statistics), each target as ``normalize_y`` says.
            - "window", for forecasting: the targets are the input features, in
              their order (``n_targets == n_features``, the layout of
              :func:`~sksequence.preprocessing.sliding_window` and
              :class:`~sksequence.preprocessing.SeriesWindows`). After
              "standard", every input window is scaled by its own mean and
              standard deviation (per feature, at least 0.01 in standardised
              units), the targets by their feature's statistics in the same
              window, and a linear path from the window to the horizon is added
              to the decoder's outputs (a linear autoregression that the network
              corrects). The model learns the shapes of a series, not its
              levels: a level or trend beyond the training range (a rising
              series forecast from its end) costs nothing, and one model serves
              series of different scales. The linear path also reads where the
              training mean lies in the window's units (softly bounded to 3
              window standard deviations when the windows are the windows of
              one series as ``sliding_window`` cuts them, in any order; to 1
              otherwise, e.g. for the windows of many series or with a gap),
              so it can
              pull a stationary series back to its long-run mean, as a linear
              regression on raw windows does, while a level far outside the
              training range stays bounded. The loss compares in window units;
              for the windows of one series each window's squared
              error also weighs its standard deviation (relative to the
              training windows' mean), a middle way between every window
              weighing the same and the error in your units, which measures a
              single series' forecasts. Any other windows (e.g. of many series)
              train on the absolute error in window units, each window weighing
              ``(std / d) ** 2``, ``d`` the mean absolute change between its
              steps: every series' errors count relative to its own step size,
              as MASE counts them, and smooth, trending windows weigh most.
            - "auto": "window" when ``y`` has steps (2-D or 3-D) with as many
              targets as ``X`` has features per timestep, else "standard". Set
              "standard" when such targets are not the input features.
            - None: the inputs as given (targets as ``normalize_y`` says).""",
        ),
        "linear_start": Param(
            None,
            [StrOptions({"zero", "naive", "ridge", "auto"}), None],
            '{{"zero", "naive", "ridge", "auto"}} or None, default={default}',
            """
            Where the linear path of ``scaling="window"`` starts training (other
            scalings have no linear path and ignore it; ``linear_start_`` says
            what a fit used, None without a linear path):

            - None: "naive" for the windows of one series (as
              ``sliding_window`` cuts them, in any order), "zero" for any
              other windows (e.g. of many series, ``SeriesWindows``).
            - "naive": at the naive forecast, every step of the horizon
              repeating its feature's last value, so that the network learns
              a correction to "no change" (a random walk, the forecast that
              is hard to beat on short and persistent series).
            - "zero": it adds nothing at first (the forecast starts at the
              window's mean) and is learnt with the network.
            - "ridge": at its closed-form ridge regression on the training
              windows (penalty 1, in window units, unweighted), so that the
              network learns a
              correction to the best linear forecast. It helps stationary and
              cyclic series, where a linear regression pulls the forecast back to
              the series' mean (sunspots 0.85 against 0.90 MASE, El Nino 0.91
              against 1.02), and hurts short series and runs of near-constant
              windows (shampoo sales 1.60 against 1.19, PBS 0.47 against 0.28).
            - "auto": for the consecutive windows of one series (as
              ``sliding_window`` cuts them, in order), when at least 20 are
              left to fit on, the "zero" and "ridge" starts are fitted on the
              earlier windows, and the one with the lower mean absolute error
              on the latest 40% (the
              ``n_steps_out - 1`` windows between left out, so that no validated
              target lies in a training window) is fitted on all the windows:
              three fits; "zero" otherwise, and for :meth:`partial_fit`.

            Measured over 5 rolling origins, 3 seeds, mean MASE (see the user
            guide's forecasting section): for one series the naive start
            measured better than the zero start on 27 of 42 real series
            (development 0.745 against 0.760, never used for tuning 0.983
            against 1.014 and 1.250 against 1.293; the 7 held-out series
            0.660 against 0.654); for many series it was better on three
            collections of five and much worse on one (11 quarterly economic
            series, 1.611 against 1.372), so many series keep the zero
            start. "auto" and "ridge" were measured against "zero" only:
            "auto" better on the development series (0.756 against 0.775) but
            worse on the held-out ones (0.680 against 0.662), "ridge" worse on
            the development series (0.835), both before the window weighting
            of one series that took "zero" to 0.761 and 0.653.""",
        ),
        "linear_units": Param(
            "window",
            [StrOptions({"auto", "window", "series"})],
            '{{"auto", "window", "series"}}, default={default}',
            """
            The units of the linear path of ``scaling="window"`` (other
            scalings have no linear path and ignore it; ``linear_units_`` says
            what a fit used):

            - "window": the window's own units (each window scaled by its mean
              and standard deviation), plus the window's bounded level: the
              path learns shapes, so a level or trend beyond the training range
              costs nothing.
            - "series": the series' units (each feature standardised over the
              training timesteps), without the level input: a linear
              autoregression that can pull a forecast back to the series' own
              mean, as a ridge regression on the raw windows does. It suits
              series that return to their mean (cycles, rates, growth rates)
              and fails on series that trend away from their training range.
            - "auto": "series" for the windows of one series (as
              ``sliding_window`` cuts them, in any order) when an augmented
              Dickey-Fuller test (a constant, lags by AIC) on that series
              rejects a unit root at 5% in every feature; "window" otherwise,
              e.g. for windows of many series or series shorter than 20
              values.

            Measured over 5 rolling origins, 3 seeds, mean MASE (see the user
            guide's forecasting section), "auto" against "window" on 42 real
            series: better on 10, worse on 8, the same on 24; better on the
            stationary series that a ridge
            regression on the raw windows used to beat (El Nino 0.850 against
            0.945, Nile 0.808 against 0.842, US industrial production growth
            0.308 against 0.345, below Ridge's 0.313); but worse on others that
            the test also finds stationary (lynx trappings 1.419 against 1.311,
            US unemployment changes 0.567 against 0.509, yearly discoveries
            0.879 against 0.741): development mean 0.735 against 0.746, held out
            0.675 against 0.660, 27 series never used for tuning 0.977 against
            0.983 and 1.259 against 1.250. So "window" stays the default; try
            "auto" or "series" on rolling origins of a series that keeps
            returning to its mean.""",
        ),
        "lr_schedule": Param(
            "cosine",
            [StrOptions({"onecycle", "cosine", "constant"})],
            '{{"onecycle", "cosine", "constant"}}, default={default}',
            """
            Learning rate over training: cosine annealing from ``lr`` to zero at
            the end of the budget, one-cycle (warm-up to ``lr``, then annealed), or
            constant. A schedule runs its whole budget unless ``early_stopping``
            (or ``X_val``) watches a validation loss; "constant" stops on a
            training-loss plateau.""",
        ),
    }
    _shared_defaults = {"max_epochs": "auto"}
    _shared_docs = {
        **_Seq2SeqBase._shared_docs,
        "max_epochs": """
            Passes over the training data. "auto": 500 optimizer updates (at least
            one epoch), e.g. 125 epochs of 100 windows in batches of 32, one epoch
            of 16,000: a small data set gets as many updates as a large one
            (forecasting series are often short) and does not over-fit with many
            more (see the user guide's forecasting section).""",
    }
    _fitted_attributes = (
        "y_mean_",
        "y_scale_",
        "n_targets_",
        "scaling_",
        "interval_scores_",
        "linear_start_",
        "linear_units_",
    )
    # the budget of max_epochs="auto" (optimizer updates), and the fewest updates
    # before a plateau rule (lr_schedule="constant", early_stopping) may end a fit
    _auto_updates = 500
    _min_updates = 100
    _target_key = "target"

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : array-like of shape (n_samples, n_steps_out) or (n_samples, \
n_steps_out, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the loss (None: equal weights).
        X_val, y_val : array-like, default=None
            Validation data: its loss is recorded every epoch
            (``validation_loss_curve_``; skorch scoring callbacks such as
            ``EpochScoring("r2", lower_is_better=False)`` score it too), and with
            ``early_stopping=True`` it is monitored instead of a held-out fraction
            of ``X``.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val)

    def partial_fit(self, X, y, sample_weight=None):
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
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _plan(self, data, *, continuing, incremental, seed):
        batch, y = data.batch, data.y
        target = check_target_sequences(y, batch)  # (N, T, O) float32
        y_ndim = np.asarray(y).ndim
        n_steps, n_targets = target.shape[1:]
        if continuing:
            if (n_steps, n_targets) != (self.n_steps_out_, self.n_targets_):
                raise ValueError(
                    f"y has {n_steps} step(s) of {n_targets} target(s), "
                    f"but {type(self).__name__} was fitted on {self.n_steps_out_} "
                    f"step(s) of {self.n_targets_}; training that goes on (warm_start "
                    "or partial_fit) needs targets of the same shape."
                )
        scaling = self.scaling
        if scaling == "auto":  # what the first fit resolved stays
            scaling = (
                self.scaling_ if continuing else _auto_scaling(y_ndim, target, batch)
            )
        check_window_targets(scaling, n_targets, batch.n_features, estimator=self)
        buffers = {}
        if continuing:  # (the input statistics come with the fitted weights)
            mean, scale, fitted = self.y_mean_, self.y_scale_, {}
        else:
            if scaling is not None:
                x_mean, x_scale = batch.feature_statistics()
                buffers = {"input_mean": x_mean, "input_scale": x_scale}
            if scaling == "window":  # the targets are the input features
                mean, scale = x_mean, x_scale
            elif self.normalize_y:
                # float64 statistics: float32 ones overflow for |y| > ~1e19 (y=1e30)
                mean = target.mean(axis=(0, 1), dtype=np.float64)
                scale = target.std(axis=(0, 1), dtype=np.float64)
                scale[~(scale > 1e-12)] = 1.0
            else:
                mean = np.zeros(n_targets)
                scale = np.ones(n_targets)
            fitted = dict(
                y_mean_=mean.astype(np.float64),
                y_scale_=scale.astype(np.float64),
                n_steps_out_=n_steps,
                n_targets_=n_targets,
                scaling_=scaling,
                _y_ndim=y_ndim,  # the layout predict answers in
            )
        valid_inputs = None
        if data.valid is not None:
            valid = data.valid
            valid_target = check_target_sequences(data.y_val, valid)
            if valid_target.shape[1:] != target.shape[1:]:
                raise ValueError(
                    f"y_val has {valid_target.shape[1]} step(s) of "
                    f"{valid_target.shape[2]} target(s), but y has {n_steps} "
                    f"of {n_targets}."
                )
            valid_inputs = {
                **valid.inputs(),
                "target": ((valid_target - mean) / scale).astype(np.float32),
            }
        window = scaling == "window"
        if continuing:  # the fitted module's bound, window loss and path stay
            module = self.net_.module_
            level_bound = getattr(module, "level_bound", _LEVEL_BOUND)
            window_weight = getattr(module, "window_weight", 0.0)
            window_loss = getattr(module, "window_loss", "squared")
            step_weight = getattr(module, "step_weight", 0.0)
            units = getattr(self, "linear_units_", None)
        else:
            # (only window scaling reads it: other fits skip the chain search)
            series = None
            if window and not batch.ragged and batch.n_samples >= 2:
                series = _series_of_windows(batch.X, in_order=False)
                one_series = series is not None
            else:  # (one window is one series)
                one_series = window and not batch.ragged
            units = self.linear_units if window else None
            if units == "auto":
                stationary = series is not None and _stationary(series)
                units = "series" if stationary else "window"
            fitted["linear_units_"] = units
            level_bound = _LEVEL_BOUND_ONE_SERIES if one_series else _LEVEL_BOUND
            window_weight, window_loss, step_weight = 0.0, "squared", 0.0
            if one_series:
                window_weight = _WINDOW_WEIGHT_ONE_SERIES
            elif window:  # windows of many series
                window_loss, step_weight = "absolute", _STEP_WEIGHT_MANY
        module_options = dict(
            standardize=scaling is not None,
            scaling="mean" if window else None,
            min_scale=_MIN_WINDOW_SCALE,
            # the linear path, in the window's units (reading the window's
            # bounded level too) or in the series' standardised units
            skip="raw" if units == "series" else window,
            level=window and units != "series",
            level_bound=level_bound,
            window_weight=window_weight,
            window_loss=window_loss,
            step_weight=step_weight,
            horizon=n_steps if window else None,
        )
        if not continuing and (window_weight or step_weight):
            buffers["window_weight_norm"] = _window_weight_norm(
                batch, n_targets, module_options, buffers
            )
        transfer = {}
        if not continuing:  # (a continued fit starts from the fitted weights)
            start = None
            if window:
                start = self.linear_start
                if start is None:  # one series starts at "no change"
                    start = "naive" if one_series else "zero"
                elif start == "auto" and incremental:  # (no validation fits)
                    start = "zero"
                elif start == "auto":
                    start = self._choose_linear_start(
                        batch, target, data.sample_weight, mean, scale
                    )
            if start == "naive":
                transfer = _naive_linear_path(batch, n_targets, module_options)
            elif start == "ridge":
                transfer = _ridge_linear_path(
                    batch,
                    ((target - mean) / scale).astype(np.float32),
                    module_options,
                    buffers,
                )
            fitted["linear_start_"] = start
        return self._seq2seq_plan(
            batch,
            ((target - mean) / scale).astype(np.float32),
            n_targets,
            False,
            fitted,
            continuing=continuing,
            incremental=incremental,
            seed=seed,
            sample_weight=data.sample_weight,
            valid_inputs=valid_inputs,
            output_fn=_flat_values,
            module_options=module_options,
            buffers=buffers,
            transfer=transfer,
            schedule=None if self.lr_schedule == "constant" else self.lr_schedule,
        )

    def _choose_linear_start(self, batch, target, sample_weight, mean, scale) -> str:
        """linear_start="auto": "ridge" or "zero", whichever start forecasts the
        latest windows of one series better when fitted on the earlier ones (the
        validation fits run without the user's callbacks and verbose output)."""
        n, n_steps = batch.n_samples, target.shape[1]
        n_valid = math.ceil(_LINEAR_START_VALID * n)
        n_fit = n - n_valid - (n_steps - 1)  # no validated target in a fit window
        if n_fit < _LINEAR_START_MIN_FIT or not _one_series(batch):
            return "zero"
        from sklearn.base import clone

        weight = None if sample_weight is None else sample_weight[:n_fit]
        errors = {}
        for start in ("zero", "ridge"):
            est = clone(self).set_params(
                linear_start=start, warm_start=False, verbose=0, callbacks=None
            )
            est.fit(batch.X[:n_fit], target[:n_fit], sample_weight=weight)
            pred = est.predict(batch.X[-n_valid:]).reshape(target[-n_valid:].shape)
            errors[start] = float(np.mean(np.abs(pred - target[-n_valid:]) / scale))
        return "ridge" if errors["ridge"] < errors["zero"] else "zero"

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
        batch = self._inputs(X)
        return self._layout(self._predict_scaled(batch.inputs(), batch.n_timesteps))

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
        n_steps = check_positive_int(n_steps, "n_steps")
        batch = self._inputs(X)
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
            shifted = replace(batch, X=x)
            pred = self._predict_scaled(
                shifted.inputs(), batch.n_timesteps
            )  # (N, T, O)
            parts.append(pred)
            done += pred.shape[1]
            if done < n_steps:
                x = _shift_in(x, lengths, pred.astype(np.float32))
        out = np.concatenate(parts, axis=1)[:, :n_steps]
        return out[:, :, 0] if self._y_ndim in (1, 2) else out

    def calibrate(self, X, y):
        """Learn prediction intervals from windows the model was not fitted on.

        Split conformal prediction (Vovk et al. 2005; Lei et al. 2018), one
        interval per output step and target: the absolute errors of
        :meth:`predict` on these held-out windows, each divided by its window's
        standard deviation of the target's input feature (with
        ``scaling_="window"``; so that a calm window gets a narrow interval and a
        volatile one a wide one), are kept in ``interval_scores_``;
        :meth:`predict_interval` turns their quantiles into intervals. If future
        windows are exchangeable with these, an interval of ``coverage`` c holds
        the truth with probability at least c, per step.

        For windows cut from series, fit on the earlier windows and calibrate on
        the latest ones, leaving out the ``n_steps_out_ - 1`` windows between whose
        targets overlap the training targets (``fit(X[:-(k + h - 1)], ...)``,
        ``calibrate(X[-k:], y[-k:])`` for ``k`` calibration windows and horizon
        ``h``). Training on more data later (``warm_start``, ``partial_fit``)
        discards the calibration.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
        y : array-like of shape (n_samples, n_steps_out) or (n_samples, \
n_steps_out, n_targets)

        Returns
        -------
        self
        """
        batch = self._inputs(X)
        target = check_target_sequences(y, batch).astype(np.float64)  # (N, T, O)
        check_calibration_targets(target.shape, self.n_steps_out_, self.n_targets_)
        pred = self._predict_scaled(batch.inputs(), batch.n_timesteps)  # (N, T, O)
        scores = np.abs(target - pred) / self._interval_scale(batch)  # (N, T, O)
        self.interval_scores_ = np.sort(scores, axis=0)
        return self

    def predict_interval(self, X, coverage=0.9):
        """Prediction intervals of every output step (after :meth:`calibrate`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
        coverage : float in (0, 1), default=0.9
            The probability that each interval holds the truth (see
            :meth:`calibrate`). It needs at least ``coverage / (1 - coverage)``
            calibration windows (9 for 0.9, 19 for 0.95).

        Returns
        -------
        lower, upper : ndarray of shape (n_samples, n_steps_out_) or (n_samples, \
n_steps_out_, n_targets_)
            The layout of :meth:`predict`, whose answer lies between them.
        """
        check_is_fitted(self, "net_")
        scores = getattr(self, "interval_scores_", None)
        q = conformal_quantile(scores, coverage, estimator=self)  # (T, O)
        batch = self._inputs(X)
        pred = self._predict_scaled(batch.inputs(), batch.n_timesteps)  # (N, T, O)
        width = q * self._interval_scale(batch)  # (N, T, O)
        return self._layout(pred - width), self._layout(pred + width)

    def _interval_scale(self, batch) -> np.ndarray:
        """The unit of each window's errors (N, 1, O): the standard deviation of the
        target's input feature over the window's valid steps (scaling_="window",
        at least the model's floor), else the target scale."""
        if self.scaling_ != "window":
            return np.broadcast_to(self.y_scale_, (batch.n_samples, 1, self.n_targets_))
        mask = (np.arange(batch.n_timesteps)[None, :] < batch.lengths[:, None])[
            :, :, None
        ]  # (N, L, 1)
        x = batch.X.astype(np.float64)
        count = batch.lengths[:, None, None]
        mean = (x * mask).sum(axis=1, keepdims=True) / count  # (N, 1, F)
        var = (((x - mean) * mask) ** 2).sum(axis=1, keepdims=True) / count
        return np.maximum(np.sqrt(var), _MIN_WINDOW_SCALE * self.y_scale_)

    def _commit(self, plan, net, outcome) -> None:
        super()._commit(plan, net, outcome)
        # the calibration belongs to the weights it measured
        self.__dict__.pop("interval_scores_", None)

    def score(self, X, y, sample_weight=None):
        """R^2 over all output values (every step and target an output).

        Returns
        -------
        score : float
            The mean over outputs of the coefficient of determination, as
            :func:`sklearn.metrics.r2_score` computes it.
        """
        batch = self._inputs(X)
        target = check_target_sequences(y, batch)
        n = target.shape[0]
        pred = self._predict_scaled(batch.inputs(), batch.n_timesteps).reshape(n, -1)
        return float(r2_score(target.reshape(n, -1), pred, sample_weight=sample_weight))

    def _weights_fn(self):
        steps = self.n_steps_out_

        def run(module, x, lengths=None):
            return module(x, lengths, n_steps=steps)[1]  # (N, T, L)

        return run


# The floor of a window's scale, in standardised units (scaling="window"): a flat
# window is scaled by this, so its forecast stays near its level.
_MIN_WINDOW_SCALE = 1e-2
# The soft bound of the level input (scaling="window"), in window standard
# deviations: 3 when the windows are those of one series (it measured better than 1
# there, airline passengers most), 1 otherwise: windows of many series (a global
# model), where each series' own mean, seen from the end of a short trending
# series, is several window scales away and a bound of 3 cost the fit
# (benchmarks/RESULTS.md, issue 12).
_LEVEL_BOUND_ONE_SERIES = 3.0
_LEVEL_BOUND = 1.0
# The power of its scale that each window's squared error (in window units) is
# weighed by in the training loss (scaling="window"), for the windows of one
# series: 1 sits between every window weighing the same (0: what a global model
# over many series keeps, where each series' MASE counts alike) and the squared
# error in the series' units (2), closer to what one series' MASE measures
# (benchmarks/RESULTS.md, issue 12).
_WINDOW_WEIGHT_ONE_SERIES = 1.0
# Any other windows (e.g. of many series, SeriesWindows) train on the absolute
# error in window units, each window weighing (scale / d) ** 2, d the mean
# absolute change between its steps: the error measured against the window's
# own one-step naive error, as MASE measures every series alike, with the
# smooth, trending windows weighing more (benchmarks/RESULTS.md, issue 12).
_STEP_WEIGHT_MANY = 2.0


# linear_start="auto": the share of the windows validated (the latest), and the
# fewest windows left to fit on (else the linear path starts at zero)
_LINEAR_START_VALID = 0.4
_LINEAR_START_MIN_FIT = 20


def _probe(batch, n_outputs, module_options, buffers) -> Seq2Seq:
    """A one-unit module with the fit's options and buffers, for closed-form work
    on the training windows before the fit (the linear path's ridge start, the
    loss' window weights); building it leaves torch's global generator as it was."""
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        module = Seq2Seq(
            batch.n_features,
            n_outputs,
            hidden_size=1,
            pattern="direct",
            max_length=batch.n_timesteps,
            **module_options,
        )
    with torch.no_grad():
        for name, value in buffers.items():
            module.get_buffer(name).copy_(torch.as_tensor(value))
    return module


def _naive_linear_path(batch, n_targets, module_options) -> dict:
    """The linear path's weights at the naive forecast: every output step repeats
    its feature's last input value (in window units), as a ``transfer`` state
    dict of the module."""
    n_features, k = batch.n_features, batch.n_timesteps
    steps = module_options["horizon"]
    extra = n_features if module_options.get("level") else 0
    weight = torch.zeros(steps * n_targets, k * n_features + extra)
    for t in range(steps):
        for o in range(n_targets):  # (the targets are the input features)
            weight[t * n_targets + o, (k - 1) * n_features + o] = 1.0
    return {"skip.weight": weight, "skip.bias": torch.zeros(steps * n_targets)}


def _ridge_linear_path(batch, target, module_options, buffers) -> dict:
    """The linear path's weights at its closed-form ridge solution (penalty 1) on
    the training windows, as a ``transfer`` state dict of the module."""
    module = _probe(batch, target.shape[2], module_options, buffers)
    inputs = batch.inputs()
    lengths = inputs["lengths"]
    with torch.no_grad():
        module.fit_linear_path(
            torch.as_tensor(inputs["x"], dtype=torch.float32),
            torch.as_tensor(target),
            None if lengths is None else torch.as_tensor(lengths),
            alpha=1.0,
        )
    return {
        f"skip.{k}": v.detach().clone() for k, v in module.skip.state_dict().items()
    }


def _window_weight_norm(batch, n_outputs, module_options, buffers) -> np.ndarray:
    """The mean over the training windows of the loss' window weights before
    normalising (``Seq2Seq.window_weights`` of a module with these options and
    input statistics, whose norm is still 1, in float64): the weights then
    average 1."""
    module = _probe(batch, n_outputs, module_options, buffers).double()
    inputs = batch.inputs()
    x = torch.as_tensor(inputs["x"], dtype=torch.float64)
    lengths = None if inputs["lengths"] is None else torch.as_tensor(inputs["lengths"])
    with torch.no_grad():
        x = module.standardized(x, lengths)
        _, scale = module._target_stats(x, lengths)
        weights = module.window_weights(x, lengths, scale)  # (N, 1, O)
    return np.asarray(weights.mean().item(), dtype=np.float32)


def _one_series(batch, in_order: bool = True) -> bool:
    """Whether the windows are consecutive windows of one series, in order (as
    ``sliding_window`` cuts them): every window is the one before it shifted by the
    same number of steps (fewer than its length), with equal values where they
    overlap. With ``in_order=False`` also in any order (e.g. shuffled by
    ``train_test_split``): the windows then link into one chain. Windows of many
    series (``SeriesWindows``) or of different lengths are not."""
    if batch.ragged or batch.n_samples < 2:
        return not batch.ragged
    return _series_of_windows(batch.X, in_order) is not None


def _series_of_windows(x: np.ndarray, in_order: bool = True) -> np.ndarray | None:
    """The series (M, F) whose consecutive windows are x (N >= 2, L, F), cut every
    ``shift`` steps, in order or (``in_order=False``) in any order; None if they
    are not one series' windows (see :func:`_one_series`)."""
    length = x.shape[1]
    for shift in range(1, length):
        if np.array_equal(x[1, :-shift], x[0, shift:]):
            if np.array_equal(x[1:, :-shift], x[:-1, shift:]):
                return _joined(x, shift, np.arange(len(x)))
            break
    return None if in_order else _one_chain(x)


def _joined(x: np.ndarray, shift: int, order: np.ndarray) -> np.ndarray:
    """The series of the windows x taken in ``order``, each ``shift`` steps after
    the one before it: the first window, then each next window's last steps."""
    x = x[order]
    return np.concatenate([x[0], x[1:, -shift:].reshape(-1, x.shape[2])], axis=0)


# _one_chain: the most window values it reads (beyond, the windows count as not
# one series: the chain's index would cost memory the size of the data), the most
# values it compares while looking for the windows' shift (beyond, only a shift of
# one step is tried), and the most shifts it follows through
_CHAIN_VALUES_MAX = 20_000_000
_CHAIN_SEARCH_MAX = 50_000_000
_CHAIN_TRIES = 3


def _one_chain(x: np.ndarray) -> np.ndarray | None:
    """The series whose windows x (N, L, F) are, in any order, cut every ``shift``
    steps: for some shift, each window's last L - shift steps are another window's
    first, and following these links from the one window that no other leads to
    visits every window. None if there is no such series."""
    n, length = x.shape[:2]
    if x.size > _CHAIN_VALUES_MAX:
        return None
    shifts = range(1, length)
    if n * x[0].size * len(shifts) > _CHAIN_SEARCH_MAX:
        shifts = range(1, 2)
    tries = 0
    for shift in shifts:
        after = np.all(x[:, :-shift] == x[0, shift:], axis=(1, 2))
        before = np.all(x[:, shift:] == x[0, :-shift], axis=(1, 2))
        if not (after.any() or before.any()):
            continue  # window 0 has no neighbour at this shift
        order = _chain_order(x, shift)
        if order is not None:
            return _joined(x, shift, order)
        tries += 1
        if tries == _CHAIN_TRIES:
            break
    return None


def _chain_order(x: np.ndarray, shift: int) -> np.ndarray | None:
    """The order in which the windows x (N, L, F) link into one chain at this
    shift, or None if they do not."""
    n = len(x)
    x = np.ascontiguousarray(x)
    starts = {x[j, :-shift].tobytes(): j for j in range(n)}
    if len(starts) < n:  # equal windows: no single chain to follow
        return None
    following = np.array([starts.get(x[i, shift:].tobytes(), -1) for i in range(n)])
    ends = following < 0
    led_to = following[~ends]
    if ends.sum() != 1 or len(np.unique(led_to)) != n - 1:
        return None
    first = np.ones(n, dtype=bool)
    first[led_to] = False
    order = [int(np.flatnonzero(first)[0])]
    while following[order[-1]] >= 0 and len(order) <= n:
        order.append(int(following[order[-1]]))
    return np.asarray(order) if len(order) == n else None


# linear_units="auto": the augmented Dickey-Fuller test's shortest series, the
# most values it reads (the latest: its cost stays small), and MacKinnon's (2010)
# 5% critical value for a regression with a constant, -2.86154 - 2.8903 / n -
# 4.234 / n ** 2 - 40.040 / n ** 3 (n observations)
_ADF_MIN_VALUES = 20
_ADF_MAX_VALUES = 100_000
_ADF_CRIT_5 = (-2.86154, -2.8903, -4.234, -40.040)


def _stationary(series: np.ndarray) -> bool:
    """Whether an augmented Dickey-Fuller test (a constant, lags chosen by AIC up
    to ``12 (n / 100) ** 0.25``) rejects a unit root at 5% in every column of
    ``series`` (M, F): each feature returns to a mean of its own rather than
    wandering as a random walk does."""
    if len(series) < _ADF_MIN_VALUES:
        return False
    series = series[-_ADF_MAX_VALUES:]
    return all(_adf_rejects(np.asarray(col, dtype=np.float64)) for col in series.T)


def _adf_rejects(x: np.ndarray) -> bool:
    """The augmented Dickey-Fuller test of one series x (M,): whether its
    statistic lies below the 5% critical value (statsmodels' ``adfuller`` with
    ``autolag="AIC"`` decides the same; tests/test_seq2seq.py)."""
    n = len(x)
    dx = np.diff(x)
    if np.ptp(dx) == 0:  # a constant or a straight line: no test to run
        return False
    max_lag = min(math.ceil(12 * (n / 100) ** 0.25), n // 2 - 2)

    def regression(lags: int, rows: int):
        """dx_t on a constant, x_{t-1} and dx_{t-1..t-lags}, over the last
        ``rows`` observations: (coefficients, residual sum, design)."""
        cols = [np.ones(rows), x[n - 1 - rows : n - 1]]
        cols += [dx[n - 1 - rows - k : n - 1 - k] for k in range(1, lags + 1)]
        design = np.stack(cols, axis=1)
        target = dx[n - 1 - rows :]
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        resid = target - design @ coef
        return coef, float(resid @ resid), design

    rows = n - 1 - max_lag  # the same observations for every lag's AIC
    aic = []
    for lags in range(max_lag + 1):
        _, ssr, _ = regression(lags, rows)
        aic.append(rows * np.log(max(ssr, 1e-300) / rows) + 2 * (lags + 2))
    lags = int(np.argmin(aic))
    rows = n - 1 - lags
    coef, ssr, design = regression(lags, rows)
    dof = rows - design.shape[1]
    if dof <= 0 or ssr <= 0:
        return False
    cov = np.linalg.pinv(design.T @ design) * (ssr / dof)
    t = coef[1] / math.sqrt(max(cov[1, 1], 1e-300))
    c = _ADF_CRIT_5
    return t < c[0] + c[1] / rows + c[2] / rows**2 + c[3] / rows**3


def _auto_scaling(y_ndim: int, target: np.ndarray, batch) -> str:
    """scaling="auto": "window" when y has steps of as many targets as X has
    features (the forecasting layout), else "standard"."""
    if y_ndim >= 2 and target.shape[2] == batch.n_features:
        return "window"
    return "standard"


def _flat_values(outputs) -> np.ndarray:
    """Module outputs -> (N, T * O) values (for skorch's scoring callbacks)."""
    return outputs[0].flatten(1).cpu().numpy()


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
    %(parameters)s

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

    _own_params = {
        **_Seq2SeqBase._own_params,
        "beam_width": Param(
            1,
            [Interval(Integral, 1, None, closed="left")],
            "int, default={default}",
            "Hypotheses kept by the beam search of :meth:`predict`; 1 is greedy "
            "decoding.",
        ),
    }
    _fitted_attributes = ("classes_", "_end")

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : array-like of shape (n_samples, n_steps_out), or list of label sequences
            Labels of any hashable type. A list of sequences of different lengths
            trains an end-of-sequence symbol; a 1-D ``y`` is one step per sample.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the loss (None: equal weights).
        X_val, y_val : array-like, default=None
            Validation data: its (teacher-forced) loss is recorded every epoch
            (``validation_loss_curve_``), and with ``early_stopping=True`` it is
            monitored instead of a held-out fraction of ``X``.

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
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
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        return self._fit(
            X, y, incremental=True, classes=classes, sample_weight=sample_weight
        )

    def _targets(self, labels, lengths, variable, classes, end):
        """Class ids (N, T) with -100 after each sequence (and the end symbol)."""
        ids = encode_labels(labels, classes, estimator=self)
        n = len(lengths)
        steps = int(lengths.max()) + (1 if variable else 0)
        target = np.full((n, steps), -100, dtype=np.int64)
        target[np.arange(steps)[None, :] < lengths[:, None]] = ids  # row by row
        if variable:
            target[np.arange(n), lengths] = end
        return target

    def _plan(self, data, *, continuing, incremental, seed, classes=None):
        batch = data.batch
        labels, lengths, ndim = check_label_sequences(data.y, batch, estimator=self)
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
        if incremental:
            fitted_classes = self.classes_ if continuing else None
            classes = check_partial_fit_classes(classes, fitted_classes, estimator=self)
        elif continuing:
            classes = self.classes_
        else:
            classes = np.unique(labels)
        end = self._end if continuing else (len(classes) if variable else None)
        fitted = {"classes_": classes, "n_steps_out_": int(lengths.max())}
        if continuing:
            # decode as far as the longest sequence seen so far
            fitted["n_steps_out_"] = max(self.n_steps_out_, int(lengths.max()))
        else:
            fitted.update(_y_ndim=ndim, _end=end)
        target = self._targets(labels, lengths, variable, classes, end)
        valid_inputs = None
        if data.valid is not None:
            v_labels, v_lengths, v_ndim = check_label_sequences(
                data.y_val, data.valid, estimator=self
            )
            v_target = self._targets(v_labels, v_lengths, v_ndim == 0, classes, end)
            valid_inputs = {**data.valid.inputs(), "target": v_target}
        return self._seq2seq_plan(
            batch,
            target,
            len(classes) + (1 if variable else 0),
            True,
            fitted,
            continuing=continuing,
            incremental=incremental,
            seed=seed,
            sample_weight=data.sample_weight,
            valid_inputs=valid_inputs,
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
        batch = self._inputs(X)
        ids = self._batched(self._decode_fn(), batch.inputs(), batch.n_timesteps)
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
        batch = self._inputs(X)
        arrays = batch.inputs()
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
        batch = self._inputs(X)
        arrays = batch.inputs()
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
        batch = self._inputs(X)
        arrays = batch.inputs()
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
