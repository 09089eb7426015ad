"""SequenceClassifier: one label per sequence."""

from __future__ import annotations

import math
from numbers import Real
from types import MappingProxyType

import numpy as np
import torch
from sklearn.base import ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback

from ._base import BaseSequenceEstimator, _replace
from ._net import request_stop
from ._params import Param
from .nn.classifier import RecurrentClassifier
from .nn.pooling import POOLINGS
from .utils.validation import (
    check_labels,
    check_partial_fit_classes,
    encode_labels,
)

__all__ = ["SequenceClassifier"]

# The recurrent layer reads at most about this many steps: longer series are
# shortened by the strided convolutional front end ("auto" strides), with stride 2
# per block. Stride 4 (which loses detail: 7 points on ACSF1, see
# benchmarks/RESULTS.md) only shortens series that stride 2 leaves longer than
# _AUTO_MAX_STEPS_STRIDE4.
_AUTO_MAX_STEPS = 64
_AUTO_MAX_STEPS_STRIDE4 = 256
_DEFAULT_CONV = (64, 64, 64)
# crop="auto" on variable-length input (window slicing; see benchmarks/RESULTS.md)
_AUTO_CROP = 0.8
# window_warp="auto" for up to _AUTO_WARP_MAX_SAMPLES training sequences, kept when
# the warped fit still classifies at least _WARP_MIN_TRAIN_ACCURACY of its
# (unwarped) training sequences (see benchmarks/RESULTS.md)
_AUTO_WARP = 0.1
_AUTO_WARP_MAX_SAMPLES = 1000
_WARP_MIN_TRAIN_ACCURACY = 0.98
# ... and stopped at _WARP_PROBE_AT of its epochs if it is then below
# _WARP_PROBE_MIN_ACCURACY (ACSF1: at most 0.77 there; the other archive problems at
# least 0.98)
_WARP_PROBE_AT = 0.6
_WARP_PROBE_MIN_ACCURACY = 0.9
_DEFAULT_KERNELS = (7, 5, 3)
# what a first fit resolves from its data, kept by a fit that goes on
_RESOLVED = ("conv_strides_", "pooling_", "crop_", "window_warp_", "class_weight_")


def _auto_strides(
    n_timesteps: int,
    kernel_sizes,
    max_steps: int = _AUTO_MAX_STEPS,
    max_steps_stride4: int = _AUTO_MAX_STEPS_STRIDE4,
) -> tuple:
    """Strides that shorten ``n_timesteps`` to at most ``max_steps`` (if they can).

    First stride 2 in the blocks from the last one backwards (the first block keeps
    the full resolution as long as possible); if the sequence is then still longer
    than ``max_steps_stride4``, stride 4 from the first block on, where the kernel
    is at least 4 wide (so that no input step is skipped), until it is not.
    """
    strides = [1] * len(kernel_sizes)
    length = n_timesteps
    for i in reversed(range(len(strides))):
        if length <= max_steps:
            return tuple(strides)
        strides[i] = 2
        length = math.ceil(length / 2)
    for i, k in enumerate(kernel_sizes):
        if length <= max_steps_stride4:
            break
        if k >= 4:
            strides[i] = 4
            length = math.ceil(length / 2)
    return tuple(strides)


def _front_end(est, n_timesteps: int, max_steps_stride4: int) -> tuple:
    """``(conv_channels, conv_kernel_sizes, conv_strides)`` of ``est``'s convolutional
    front end, checked, with "auto" resolved for sequences of ``n_timesteps`` steps
    (three empty tuples without a front end)."""
    channels = est.conv_channels
    if isinstance(channels, str):  # "auto"
        channels = _DEFAULT_CONV
    channels = tuple(int(c) for c in channels or ())
    if any(c < 1 for c in channels):
        raise ValueError(
            f"conv_channels must hold positive integers, got {est.conv_channels!r}."
        )
    if not channels:
        return (), (), ()
    kernels = tuple(int(k) for k in est.conv_kernel_sizes)
    if len(kernels) != len(channels) or any(k < 1 or k % 2 == 0 for k in kernels):
        raise ValueError(
            "conv_kernel_sizes needs one odd positive width per convolution block: "
            f"conv_channels={channels} has {len(channels)} blocks, but got "
            f"conv_kernel_sizes={est.conv_kernel_sizes!r}."
        )
    if isinstance(est.conv_strides, str):  # "auto"
        strides = _auto_strides(
            n_timesteps, kernels, _AUTO_MAX_STEPS, max_steps_stride4
        )
    else:
        strides = tuple(int(s) for s in est.conv_strides)
        if len(strides) != len(channels) or min(strides) < 1:
            raise ValueError(
                "conv_strides needs one positive stride per convolution block: "
                f"conv_channels={channels} has {len(channels)} blocks, but got "
                f"conv_strides={est.conv_strides!r}."
            )
    return channels, kernels, strides


def _unwrap(encoder):
    return encoder.estimator if isinstance(encoder, FrozenEstimator) else encoder


class SequenceClassifier(ClassifierMixin, BaseSequenceEstimator):
    """Sequence classifier: a convolutional front end, a recurrent encoder and
    pooling over the valid timesteps, trained with a one-cycle learning rate.

    Each sequence (fixed or variable length, univariate or multivariate) gets one
    label. The defaults are a recipe that is strong out of the box on time-series
    classification archives (see ``benchmarks/RESULTS.md``): features are
    standardised, three length-aware convolution blocks (64 channels, kernels 7, 5,
    3, with stride 2 where the recurrent layer would otherwise read more than 64
    steps) feed a bidirectional LSTM; its outputs max-pooled over the valid steps (and its final
    states, for variable-length input), next to the mean and max of the
    convolutional features (a skip connection), are classified by a linear layer;
    AdamW with a one-cycle learning-rate schedule.
    For variable-length input, training sees random windows of 80% of each
    sequence (window slicing) and a prediction averages the whole sequence and
    three such windows (``crop``). Training sets of up to 1000 sequences are
    also augmented by window warping, unless the warped fit fails to fit its
    training sequences (``window_warp``).
    Variable-length input is packed (on CPU: run padded, with the backward direction
    reversed within each sequence's length) and masked, so padding never changes a
    prediction.

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels (any hashable type).
    n_features_in_ : int
        Features per timestep seen in fit.
    n_timesteps_ : int
        Length of the longest training sequence.
    conv_strides_ : tuple of int
        The strides used (resolved from "auto").
    pooling_ : str
        The pooling used (resolved from "auto").
    crop_ : float or None
        The window fraction used (resolved from "auto"; None: off).
    window_warp_ : float or None
        The window-warping fraction of the kept fit (None: off).
    train_accuracy_warped_ : float or None
        With ``window_warp="auto"``: the warped fit's accuracy on its own training
        sequences, which decided whether it was kept (at 60% of the epochs if it
        was stopped there; None when not checked).
    class_weight_ : ndarray of shape (n_classes,) or None
    encoder_ : LSTMAutoencoderTransformer or None
        The fitted autoencoder whose weights were transferred.
    net_ : SequenceNet
        The trained skorch net (``net_.module_`` is the torch module).
    history_ : skorch History
        Per-epoch ``train_loss`` (``valid_loss`` with validation data),
        ``grad_norm``, ``grad_norm_max``, ``dur``, scoring callbacks' entries, and
        ``stopped`` on the epoch a stopping rule ended the fit.
    loss_curve_ : list of float
        The training loss of every epoch.
    best_loss_ : float
        The lowest training loss.
    validation_loss_curve_ : list of float or None
        The validation loss of every epoch (None without validation data).
    n_iter_ : int
        The epochs trained (the same as ``n_epochs_``).
    n_epochs_ : int
    diverged_ : bool
        True if training stopped on a non-finite loss or gradient; a
        ``DivergenceWarning`` then said so and the last finite weights were kept.

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence import SequenceClassifier
    >>> rng = np.random.RandomState(0)
    >>> t = np.linspace(0, 4 * np.pi, 30)
    >>> y = rng.randint(0, 2, size=40)
    >>> X = np.where(y[:, None], np.sign(np.sin(t)), np.sin(t)) + 0.1 * rng.randn(40, 30)
    >>> clf = SequenceClassifier(max_epochs=20, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    >>> clf.score(X, y) > 0.9
    True
    """

    _own_params = {
        "pooling": Param(
            "auto",
            [StrOptions({"auto", *POOLINGS})],
            '{{"auto", "max", "last_max", "mean", "mean_max", "last", "attention"}}, '
            "default={default}",
            """
            How the per-step encoder outputs become one vector: the final recurrent
            state ("last"; both directions when bidirectional), the mean and/or
            maximum over each sequence's valid steps, a concatenation of two of them
            ("last_max", "mean_max"), or attention pooling (a learned weighted mean).
            The maximum finds a pattern wherever it occurs; the final state also
            keeps the order and length of the sequence. "auto": "max" when the
            training sequences share one length, "last_max" when their lengths
            differ.""",
        ),
        "conv_channels": Param(
            "auto",
            [StrOptions({"auto"}), tuple, list, None],
            '"auto", tuple of int or None, default={default}',
            """
            Channels of each convolution block before the recurrent encoder; None
            (or ``()``) reads the input directly. "auto": ``(64, 64, 64)``, or the
            front end of the autoencoder given as ``encoder`` (its weights are
            transferred with the recurrent encoder's).""",
        ),
        "conv_kernel_sizes": Param(
            _DEFAULT_KERNELS,
            [tuple, list],
            "tuple of int, default={default}",
            "Odd kernel width of each block (one entry per entry of "
            "``conv_channels``).",
        ),
        "conv_strides": Param(
            "auto",
            [StrOptions({"auto"}), tuple, list],
            '"auto" or tuple of int, default={default}',
            """
            Stride of each block. "auto": shorten the longest training sequence
            towards 64 steps with stride 2 in the blocks from the last one
            backwards; only if that leaves more than 256 steps, stride 4 from the
            first block on (where the kernel is at least 4 wide) until at most 256
            remain.""",
        ),
        "conv_skip": Param(
            True,
            ["boolean"],
            "bool, default={default}",
            """
            Also feed the mean and maximum of the front end's features over the
            valid steps to the final layer, next to the pooled recurrent encoding:
            a skip connection around the recurrent encoder (as in LSTM-FCN, Karim
            et al. 2017). Ignored without a front end.""",
        ),
        "scaling": Param(
            "auto",
            [StrOptions({"auto", "standard", "series", "none"})],
            '{{"auto", "standard", "series", "none"}}, default={default}',
            """
            Input scaling inside the model (applied at predict time too).
            "standard": per feature, with the mean and standard deviation of the
            training timesteps; "series": z-normalise each sequence and feature over
            its own valid steps (amplitude and offset then carry no information);
            "auto": "standard", or with ``encoder`` the autoencoder's own scaling
            (and its fitted statistics), so that the transferred layers read the
            input in the units they learnt in.""",
        ),
        "crop": Param(
            "auto",
            [StrOptions({"auto"}), Interval(Real, 0, 1, closed="right"), None],
            '"auto", float or None, default={default}',
            """
            Window slicing (Le Guennec et al. 2016): in training, each sequence is
            replaced by a window of this fraction of its valid length at a random
            offset (a new one each batch); predictions average the logits of the
            whole sequence and of three such windows, at its start, middle and end
            (prediction then costs 4 passes instead of 1; ``transform_features``
            and ``hidden_states`` read the whole sequence). None or 1.0: off.
            "auto": 0.8 when the training sequences differ in length, else off. See
            the user guide for the measurements behind "auto".""",
        ),
        "window_warp": Param(
            "auto",
            [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both"), None],
            '"auto", float or None, default={default}',
            """
            Window warping (Le Guennec et al. 2016) in training: in each batch, a
            window of this fraction of every sequence (at a random offset) is played
            at half or double speed; prediction is unaffected. None or 0: off.
            "auto": 0.1 for training sets of at most 1000 sequences, kept only if
            the warped fit still classifies at least 98% of its training sequences
            (read unwarped) correctly; otherwise the fit is repeated without
            warping, because the warping has hidden what tells the classes apart
            (such as how long a pattern lasts). A warped fit that gets fewer than
            90% right at 60% of its epochs is stopped there. Off for larger
            training sets and for :meth:`partial_fit`. Set None when you know the
            timing matters, to save the second fit.""",
        ),
        "class_weight": Param(
            None,
            [dict, StrOptions({"balanced"}), None],
            'dict, "balanced" or None, default={default}',
            """
            Weights of the classes in the loss, as in scikit-learn's linear models.
            "balanced" uses ``n_samples / (n_classes * np.bincount(y))``.""",
        ),
        "encoder": Param(
            None,
            "no_validation",
            "LSTMAutoencoderTransformer or None, default={default}",
            """
            A fitted autoencoder whose encoder weights (its convolutional front end
            and recurrent encoder, with its input scaling and, for series longer
            than 4,096 steps, its reading of means of steps: ``input_pool_``)
            initialise this classifier's (Srivastava et al. 2015); it is read,
            never modified.
            ``hidden_size``, ``num_layers``, ``cell`` and ``bidirectional`` must
            match it (the defaults of both do), and the input must have its
            ``n_features_in_``. An unfitted
            autoencoder is cloned and fitted on ``X`` first (unsupervised
            pre-training on the training sequences; this is what grid search passes
            on, since it clones parameter values). Wrap autoencoders in
            :class:`sklearn.frozen.FrozenEstimator` to grid-search over several
            pre-trained ones.""",
        ),
        "freeze_encoder": Param(
            False,
            ["boolean"],
            "bool, default={default}",
            "Keep the transferred encoder weights fixed and train only the layers "
            "after it (requires ``encoder``).",
        ),
        "lr_schedule": Param(
            "onecycle",
            [StrOptions({"onecycle", "cosine", "constant"})],
            '{{"onecycle", "cosine", "constant"}}, default={default}',
            """
            Learning rate over training: one-cycle (warm-up to ``lr``, then annealed
            towards zero at ``max_epochs``), cosine annealing from ``lr``, or
            constant.""",
        ),
    }
    _shared_defaults = {
        "bidirectional": True,
        "max_epochs": 100,
        "batch_size": 16,
        "lr": 3e-3,
        "optimizer": "adamw",
        "weight_decay": 1e-2,
        "n_iter_no_change": 20,
    }
    _shared_docs = {
        "max_epochs": """
            Training epochs; the learning-rate schedule ends here. With
            ``early_stopping=True`` (or ``X_val``) training stops earlier when the
            validation loss has not improved by ``tol`` (relative) for
            ``n_iter_no_change`` epochs; without it, only
            ``lr_schedule="constant"`` stops on a training-loss plateau (a schedule
            needs all its epochs).""",
        "lr": "Peak learning rate (of the one-cycle schedule by default).",
    }
    _target_key = "y"
    _module_class = RecurrentClassifier
    _fitted_attributes = (
        "classes_",
        "n_timesteps_",
        "class_weight_",
        "encoder_",
        "conv_strides_",
        "pooling_",
        "crop_",
        "window_warp_",
        "train_accuracy_warped_",
    )

    # -- cloning --------------------------------------------------------------------
    def __sklearn_clone__(self):
        # clone() would replace a fitted `encoder` by an unfitted copy; the encoder
        # is only read, so a clone shares the fitted one.
        new = super().__sklearn_clone__()
        if self.encoder is not None and _is_fitted(_unwrap(self.encoder)):
            new.encoder = self.encoder
        return new

    # -- fitting --------------------------------------------------------------------
    def _resolve_architecture(self, n_timesteps: int, encoder=None) -> dict:
        """Module keyword arguments for the front end and scaling ("auto" resolved);
        with a fitted autoencoder ``encoder`` to transfer from, its front end and
        scaling."""
        if encoder is not None:
            return self._encoder_architecture(encoder)
        channels, kernels, strides = _front_end(
            self, n_timesteps, _AUTO_MAX_STEPS_STRIDE4
        )
        scaling = self.scaling
        if scaling == "auto":
            scaling = "standard"
        return dict(
            conv_channels=channels,
            conv_kernel_sizes=kernels,
            conv_strides=strides,
            conv_skip=self.conv_skip,
            scaling=scaling,
        )

    def _encoder_architecture(self, encoder) -> dict:
        """The front end and scaling of the fitted autoencoder ``encoder``: the
        classifier reads the input as the transferred encoder learnt to."""
        module = encoder.net_.module_
        front = module.front
        if front is None:
            channels, kernels, strides = (), (), ()
        else:
            channels = tuple(int(c.out_channels) for c in front.convs)
            kernels = tuple(int(k) for k in front.kernel_sizes)
            strides = tuple(int(s) for s in front.strides)
        if not isinstance(self.conv_channels, str):  # explicit: must match
            mine = tuple(int(c) for c in self.conv_channels or ())
            if mine != channels:
                raise ValueError(
                    "encoder= transfers the autoencoder's front end and recurrent "
                    f"encoder, whose conv_channels are {channels or None}, but "
                    f"conv_channels={self.conv_channels!r}. Use conv_channels='auto' "
                    "with an encoder (it takes the encoder's)."
                )
        theirs = getattr(module, "scaling", "none")
        if self.scaling not in ("auto", theirs):
            raise ValueError(
                f"The encoder's autoencoder was fitted with scaling={theirs!r}, but "
                f"scaling={self.scaling!r}; the transferred encoder must read its "
                "input in the same units. Use scaling='auto'."
            )
        return dict(
            conv_channels=channels,
            conv_kernel_sizes=kernels,
            conv_strides=strides,
            conv_skip=self.conv_skip,
            scaling=theirs,
            # (a long series' autoencoder reads means of steps: input_pool_)
            input_pool=getattr(module, "input_pool", 1),
        )

    def _class_weights(self, ids: np.ndarray, classes: np.ndarray):
        if self.class_weight is None:
            return None
        n_classes = len(classes)
        if self.class_weight == "balanced":
            return compute_class_weight("balanced", classes=np.arange(n_classes), y=ids)
        weights = np.ones(n_classes)
        for label, w in self.class_weight.items():
            pos = np.flatnonzero(classes == label)
            if not len(pos):
                raise ValueError(
                    f"class_weight has a weight for class {label!r}, which is not in "
                    f"y (classes: {list(classes)})."
                )
            weights[pos[0]] = w
        return weights

    def _pretrained_encoder(self, batch):
        """The fitted autoencoder to transfer from (fitting a clone if needed)."""
        if self.encoder is None:
            if self.freeze_encoder:
                raise ValueError(
                    "freeze_encoder=True needs an encoder to transfer; pass a fitted "
                    "LSTMAutoencoderTransformer as encoder=."
                )
            return None
        encoder = _unwrap(self.encoder)
        source = getattr(getattr(encoder, "net_", None), "module_", None)
        if not hasattr(encoder, "get_params") or (
            _is_fitted(encoder) and not hasattr(source, "encoder")
        ):
            raise TypeError(
                "encoder must be an LSTMAutoencoderTransformer (fitted, or unfitted to "
                f"be fitted on X first), got {type(encoder).__name__}."
            )
        if not _is_fitted(encoder):
            from sklearn.base import clone

            encoder = clone(encoder).fit(batch)  # (batch: validated already)
        src = encoder.net_.module_.encoder
        mine = dict(
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
        )
        theirs = dict(
            hidden_size=src.hidden_size,
            num_layers=src.num_layers,
            cell=src.cell,
            bidirectional=src.num_directions == 2,
        )
        n_in = getattr(encoder.net_.module_, "input_size", src.input_size)
        if n_in != batch.n_features:
            raise ValueError(
                f"X has {batch.n_features} features per timestep, but the encoder was "
                f"fitted with {n_in}."
            )
        diff = [k for k in mine if mine[k] != theirs[k]]
        if diff:
            got = ", ".join(f"{k}={theirs[k]!r}" for k in diff)
            have = ", ".join(f"{k}={mine[k]!r}" for k in diff)
            raise ValueError(
                f"The encoder has {got}, but {type(self).__name__} has {have}. The "
                "recurrent layers must have the same sizes to take the encoder's "
                f"weights: set {got} on the classifier."
            )
        return encoder

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Fit the classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : array-like of shape (n_samples,)
            Class labels of any hashable type.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sequence in the loss (None: equal weights).
        X_val, y_val : array-like, default=None
            Validation data (same conventions as ``X`` and ``y``): its loss is
            recorded every epoch (``history_[:, "valid_loss"]``,
            ``validation_loss_curve_``; skorch scoring callbacks such as
            ``EpochScoring("accuracy", lower_is_better=False)`` score it too) and
            monitored: training stops when it has not improved by ``tol`` for
            ``n_iter_no_change`` epochs, and the best epoch's weights are restored
            (with ``early_stopping=True`` it replaces the held-out fraction of
            ``X``).

        Returns
        -------
        self
        """
        return self._fit(X, y, sample_weight=sample_weight, X_val=X_val, y_val=y_val)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``(X, y)``, starting from the current weights.

        As in scikit-learn, the first call must list every class in ``classes``
        (later calls may omit it); it also fixes the input scaling, strides and
        pooling from its ``X``. Each call is one pass over the data in shuffled
        mini-batches at the constant learning rate ``lr`` (no one-cycle schedule),
        with no validation split or early stopping; the optimizer's state carries
        over from call to call. Use it for data that arrives in chunks, or to go on
        training after ``fit`` (e.g. after a ``DivergenceWarning``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every label that can occur; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self
        """
        if self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one chunk's "
                "class counts are not the data's. Compute the weights on all labels "
                "(sklearn.utils.class_weight.compute_class_weight) and pass them as a "
                "dict."
            )
        return self._fit(
            X, y, incremental=True, classes=classes, sample_weight=sample_weight
        )

    def _plan(self, data, *, continuing, incremental, seed, classes=None):
        batch = data.batch
        labels = check_labels(data.y, batch, estimator=self)
        fitted = {} if continuing else batch.input_attributes()
        if incremental:
            fitted_classes = self.classes_ if continuing else None
            classes = check_partial_fit_classes(classes, fitted_classes, estimator=self)
            ids = encode_labels(labels, classes, estimator=self)
        elif continuing:  # warm start: the classes of the first fit
            classes = self.classes_
            ids = encode_labels(labels, classes, estimator=self)
        else:
            classes, ids = np.unique(labels, return_inverse=True)
        fitted["classes_"] = classes
        inputs = {**batch.inputs(), "y": ids.astype(np.int64)}
        inputs["sample_weight"] = data.sample_weight
        valid_inputs = None
        if data.valid is not None:
            valid_labels = check_labels(data.y_val, data.valid, estimator=self)
            valid_ids = encode_labels(valid_labels, classes, estimator=self)
            valid_inputs = {**data.valid.inputs(), "y": valid_ids.astype(np.int64)}
        if continuing:  # what the first fit resolved from its data stays
            resolved = {k: getattr(self, k) for k in _RESOLVED}
            buffers, transfer, check_warp = {}, {}, False
            fitted["n_timesteps_"] = max(batch.n_timesteps, self.n_timesteps_)
        else:
            resolved, buffers, transfer, check_warp = self._first_fit_choices(
                batch, ids, classes, incremental
            )
            fitted.update(resolved, n_timesteps_=batch.n_timesteps)
        module_kwargs = self._module_kwargs(batch.n_features, len(classes), resolved)
        plan = self._make_plan(
            RecurrentClassifier,
            module_kwargs,
            inputs,
            fitted,
            seed=seed,
            continuing=continuing,
            incremental=incremental,
            valid_inputs=valid_inputs,
            schedule=None if self.lr_schedule == "constant" else self.lr_schedule,
            buffers=buffers,
            transfer=transfer,
            frozen=("encoder.", "front.") if self.freeze_encoder else (),
            output_fn=_predicted_ids,
        )
        if not check_warp:
            return plan
        return self._warp_checked(plan)

    def _first_fit_choices(self, batch, ids, classes, incremental):
        """A first fit's data-dependent choices ("auto" resolved; the fitted
        attributes named in ``_RESOLVED``), its input statistics, transferred
        weights, and whether window warping is to be checked."""
        encoder = self._pretrained_encoder(batch)
        pooling = self.pooling
        if pooling == "auto":
            pooling = "last_max" if batch.ragged else "max"
        crop = self.crop
        if crop == "auto":
            crop = _AUTO_CROP if batch.ragged else None
        warp, check_warp = self.window_warp, False
        if warp == "auto":  # (partial_fit cannot check it: off)
            small = batch.n_samples <= _AUTO_WARP_MAX_SAMPLES
            warp = _AUTO_WARP if small and not incremental else None
            check_warp = warp is not None
        resolved = dict(
            conv_strides_=self._resolve_architecture(batch.n_timesteps, encoder)[
                "conv_strides"
            ],
            pooling_=pooling,
            crop_=None if crop is None or crop >= 1.0 else float(crop),
            window_warp_=float(warp) if warp else None,
            train_accuracy_warped_=None,
            class_weight_=self._class_weights(ids, classes),
            encoder_=encoder,
        )
        mean, scale = batch.feature_statistics()
        buffers = {"input_mean": mean, "input_scale": scale}
        transfer = {}
        if encoder is not None:
            module = encoder.net_.module_
            parts = {"encoder": module.encoder, "front": module.front}
            transfer = {
                f"{name}.{k}": v.detach().clone()
                for name, part in parts.items()
                if part is not None
                for k, v in part.state_dict().items()
            }
            if getattr(module, "scaling", "none") == "standard":
                # the units the transferred layers learnt in
                buffers = {
                    k: getattr(module, k).detach().double().cpu().numpy()
                    for k in ("input_mean", "input_scale")
                }
        return resolved, buffers, transfer, check_warp

    def _module_kwargs(self, n_features: int, n_classes: int, resolved: dict) -> dict:
        """The module's arguments: the parameters, with what a first fit resolved
        from its data (``resolved``: the fitted attributes of ``_RESOLVED``)."""
        encoder = resolved.get("encoder_", getattr(self, "encoder_", None))
        arch = self._resolve_architecture(0, encoder)
        if arch["conv_channels"]:
            arch["conv_strides"] = tuple(resolved["conv_strides_"])
        class_weight = resolved["class_weight_"]
        augment = (("crop", resolved["crop_"]), ("warp", resolved["window_warp_"]))
        return dict(
            input_size=n_features,
            n_classes=n_classes,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            pooling=resolved["pooling_"],
            class_weight=None if class_weight is None else class_weight.tolist(),
            **arch,
            **{k: v for k, v in augment if v},
        )

    def _warp_checked(self, plan):
        """``window_warp="auto"`` as a model-selection step: the warped plan, with
        the unwarped one as its fallback. The warped fit is kept only if it still
        classifies at least ``_WARP_MIN_TRAIN_ACCURACY`` of its training sequences
        (read unwarped) correctly; a probe stops it at ``_WARP_PROBE_AT`` of its
        epochs if it is far below that. Otherwise the warping has hidden what tells
        the classes apart (e.g. how long a pattern lasts), and the unwarped plan is
        trained instead. A fit cut short by Ctrl+C is kept as it is."""
        unwarped = _replace(
            plan,
            module_kwargs=MappingProxyType(
                {k: v for k, v in plan.module_kwargs.items() if k != "warp"}
            ),
            fitted=MappingProxyType({**plan.fitted, "window_warp_": None}),
        )
        probe_epoch = max(1, math.ceil(_WARP_PROBE_AT * plan.epochs))
        probe = ("warp_probe", _WarpProbe(probe_epoch, _WARP_PROBE_MIN_ACCURACY))
        return _replace(
            plan,
            policies=(*plan.policies, probe),
            fallback=unwarped,
            accept=self._accept_warped,
        )

    def _accept_warped(self, plan, net, outcome) -> bool:
        if outcome.interrupted:
            return True
        if outcome.stopped == _WARP_PROBE_REASON:
            accuracy = net.history[-1, "train_accuracy"]
        else:
            logits = self._apply(
                net.module_, lambda m, **b: m(**b), _without(plan.inputs, "y"), 0
            )
            accuracy = float(np.mean(np.argmax(logits, axis=1) == plan.inputs["y"]))
        outcome.fitted["train_accuracy_warped_"] = accuracy
        return accuracy >= _WARP_MIN_TRAIN_ACCURACY

    # -- prediction -----------------------------------------------------------------
    def _scores(self, X) -> np.ndarray:
        """Logits (n_samples, n_classes), float64."""
        batch = self._inputs(X)
        scores = self._batched(lambda m, **b: m(**b), batch.inputs(), batch.n_timesteps)
        return scores.astype(np.float64)

    def decision_function(self, X):
        """Class scores (logits) of each sequence.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) for two
            classes (the score of ``classes_[1]`` relative to ``classes_[0]``, as in
            scikit-learn's linear models)
        """
        scores = self._scores(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict_proba(self, X):
        """Class probabilities of each sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        batch = self._inputs(X)
        return self._batched(
            lambda m, **b: torch.softmax(m(**b).double(), dim=-1),
            batch.inputs(),
            batch.n_timesteps,
        )

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`."""
        batch = self._inputs(X)
        return self._batched(
            lambda m, **b: torch.log_softmax(m(**b).double(), dim=-1),
            batch.inputs(),
            batch.n_timesteps,
        )

    def predict(self, X):
        """The most probable class of each sequence.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)  # checks that the model is fitted
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def transform_features(self, X):
        """The pooled encoding the final linear layer reads, one row per sequence.

        Returns
        -------
        ndarray of shape (n_samples, n_pooled)
        """
        batch = self._inputs(X)
        return self._batched(
            lambda m, **b: m.features(**b), batch.inputs(), batch.n_timesteps
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


_WARP_PROBE_REASON = "window warping hides what tells the classes apart"


class _WarpProbe(Callback):
    """At the end of epoch ``epoch``, record the accuracy of the module on its
    (unwarped) training sequences as ``train_accuracy``, and stop training if it is
    below ``min_accuracy``."""

    def __init__(self, epoch: int, min_accuracy: float) -> None:
        self.epoch = epoch
        self.min_accuracy = min_accuracy

    def on_epoch_end(self, net, dataset_train=None, **kwargs) -> None:
        if len(net.history) != self.epoch or dataset_train is None:
            return
        net.module_.eval()  # (the next epoch sets training mode again)
        hits = 0
        with torch.no_grad():
            for batch, y in net.get_iterator(dataset_train):
                hits += int((net.module_(**batch).argmax(-1) == y).sum())
        accuracy = hits / len(dataset_train)
        net.history.record("train_accuracy", accuracy)
        if accuracy < self.min_accuracy:
            request_stop(net, _WARP_PROBE_REASON)


def _predicted_ids(logits) -> np.ndarray:
    """Logits -> predicted class ids (for skorch's scoring callbacks)."""
    return logits.argmax(-1).cpu().numpy()


def _without(mapping, key) -> dict:
    return {k: v for k, v in mapping.items() if k != key}


def _is_fitted(estimator) -> bool:
    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):
        return False
    return True
