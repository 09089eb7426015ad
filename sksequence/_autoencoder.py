"""LSTMAutoencoderTransformer: fixed-length encodings of sequences."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import BaseSequenceEstimator
from .nn.autoencoder import SequenceAutoencoder
from .utils.validation import (
    check_decode_lengths,
    check_decode_memory,
    check_encodings,
    check_positive_int,
    check_sequences,
    split_future,
)

__all__ = ["LSTMAutoencoderTransformer"]


class LSTMAutoencoderTransformer(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseSequenceEstimator
):
    """Recurrent autoencoder that encodes each sequence as a fixed-length vector.

    An encoder LSTM (or GRU) reads each sequence; its final hidden state, optionally
    projected to ``n_components``, is the encoding. During ``fit`` one or two decoders
    learn to unroll the encoding (Srivastava et al. 2015):

    - ``objective="reconstruct"``: rebuild the input sequence (by default in reverse
      order, which makes the first decoded step depend on the last encoded one);
    - ``objective="predict"``: the encoder reads the first part of each training
      sequence and a decoder forecasts its last ``n_future`` steps;
    - ``objective="composite"``: both decoders on one encoder.

    ``transform`` gives the encodings for any downstream scikit-learn model,
    ``inverse_transform`` decodes encodings back into sequences, and
    ``score_samples`` (negative reconstruction or forecast error) is an anomaly score.

    Parameters
    ----------
    n_components : int, default=None
        Size of the encoding. None: the encoder's final hidden size
        (``hidden_size``, twice that if ``bidirectional``); an int adds a linear
        bottleneck.
    objective : {"reconstruct", "predict", "composite"}, default="reconstruct"
    reverse_target : bool, default=True
        Reconstruct in reverse order during training (outputs are always returned in
        the original order).
    conditional : bool, default=False
        False: unconditioned decoders that receive the encoding at every step.
        True: decoders fed their previous output (the true previous value in
        training, i.e. teacher forcing; their own prediction at inference).
    n_future : int, default=None
        Steps of each training sequence that the "predict"/"composite" objectives
        forecast. None: the second half of each sequence.
    hidden_size : int, default=64
        Units per recurrent layer (and direction).
    num_layers : int, default=1
    cell : {"lstm", "gru"}, default="lstm"
    bidirectional : bool, default=False
    dropout : float, default=0.0
        Dropout between stacked recurrent layers.
    max_epochs : int, default=200
        Upper bound on training epochs; training stops earlier when the monitored
        loss has not improved by ``tol`` (relative) for ``n_iter_no_change`` epochs.
    batch_size : int, default=32
    lr : float, default=5e-3
        Adam's learning rate; with gradient clipping on, this is stable for the
        small-to-medium recurrent models autoencoders use and trains them in far
        fewer epochs than 1e-3.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
    weight_decay : float, default=0.0
    clip_grad_norm : float or None, default=1.0
        Clip the global gradient norm before each step (exploding-gradient defence);
        None turns clipping off. The per-epoch norm is in ``history_`` as
        ``grad_norm`` and ``grad_norm_max``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the sequences, monitor the validation
        loss, and restore the best weights at the end. False monitors the training
        loss instead (like scikit-learn's MLP).
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=20
    tol : float, default=1e-4
    truncate_bptt : int, default=None
        Truncated backpropagation through time: run the recurrences this many steps
        at a time, carrying the state across chunks but cutting gradients at chunk
        borders, so training memory does not grow with sequence length.
    device : str, default="cpu"
        Torch device, e.g. "cuda".
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation split; the
        same value and data give the same model on CPU. The global torch seed is left
        untouched.
    verbose : int, default=0
        0 silent; 1 a progress bar and a per-epoch log.
    callbacks : list of skorch callbacks, default=None
        Extra callbacks (copied at each fit).
    warm_start : bool, default=False
        When fitted already, ``fit`` continues from the fitted weights (another
        ``max_epochs``; ``history_`` runs on) instead of starting afresh: the way to
        go on after a ``DivergenceWarning``, e.g. with a smaller ``lr``. See also
        :meth:`partial_fit`.

    Attributes
    ----------
    n_features_in_ : int
        Features per timestep seen in fit.
    n_components_ : int
        Size of the encodings.
    n_timesteps_ : int
        Length of the longest (observed part of a) training sequence; the length
        ``inverse_transform`` decodes to.
    n_future_ : int or None
        Longest forecast horizon seen in fit ("predict"/"composite").
    net_ : SequenceNet
        The trained skorch net (``net_.module_`` is the torch module).
    history_ : skorch History
        Per-epoch ``train_loss`` (``valid_loss`` with early stopping), ``grad_norm``,
        ``dur``.
    n_epochs_ : int
    diverged_ : bool
        True if training stopped on a non-finite loss or gradient; a
        ``DivergenceWarning`` then said so and the last finite weights were kept.

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence import LSTMAutoencoderTransformer
    >>> X = np.sin(np.linspace(0, 6, 20))[None, :, None] * np.arange(1, 9)[:, None, None]
    >>> ae = LSTMAutoencoderTransformer(n_components=4, max_epochs=5, random_state=0)
    >>> ae.fit_transform(X).shape
    (8, 4)
    >>> ae.inverse_transform(ae.transform(X)).shape
    (8, 20, 1)
    """

    _parameter_constraints: dict = {
        **BaseSequenceEstimator._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "objective": [StrOptions({"reconstruct", "predict", "composite"})],
        "reverse_target": ["boolean"],
        "conditional": ["boolean"],
        "n_future": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_components=None,
        *,
        objective="reconstruct",
        reverse_target=True,
        conditional=False,
        n_future=None,
        hidden_size=64,
        num_layers=1,
        cell="lstm",
        bidirectional=False,
        dropout=0.0,
        max_epochs=200,
        batch_size=32,
        lr=5e-3,
        optimizer="adam",
        weight_decay=0.0,
        clip_grad_norm=1.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=20,
        tol=1e-4,
        truncate_bptt=None,
        device="cpu",
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
    ):
        self.n_components = n_components
        self.objective = objective
        self.reverse_target = reverse_target
        self.conditional = conditional
        self.n_future = n_future
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
        self.truncate_bptt = truncate_bptt
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start

    # -- data preparation -----------------------------------------------------------
    def _arrays(self, batch) -> dict:
        """Module inputs: the whole sequence, or observed part + future to forecast."""
        if self.objective == "reconstruct":
            return {"x": batch.X, "lengths": batch.lengths if batch.ragged else None}
        return split_future(batch, self.n_future, estimator=self)

    def fit(self, X, y=None):
        """Fit the autoencoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        return self._fit(X, incremental=False)

    def partial_fit(self, X, y=None):
        """Train one epoch on ``X``, starting from the current weights.

        The first call creates the model (from ``X``'s number of features); later
        calls need the same number of features. Each call is one pass over ``X`` in
        shuffled mini-batches at the constant learning rate ``lr``, with no
        validation split or early stopping; the optimizer's state carries over from
        call to call. Use it to train on data that does not fit in memory at once,
        or to go on training after ``fit`` (e.g. after a ``DivergenceWarning``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features)
            Or (n_samples, n_timesteps) for univariate series, or a list of arrays of
            shape (n_timesteps_i, n_features) of different lengths.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        return self._fit(X, incremental=True)

    def _fit(self, X, *, incremental: bool):
        self._validate_params()
        continuing = self._continuing(incremental)
        batch = check_sequences(X, estimator=self, reset=not continuing)
        arrays = self._arrays(batch)
        module_kwargs = dict(
            input_size=batch.n_features,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            cell=self.cell,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            n_components=self.n_components,
            objective=self.objective,
            conditional=self.conditional,
            reverse_target=self.reverse_target,
        )
        self._fit_module(
            SequenceAutoencoder,
            module_kwargs,
            arrays,
            continuing=continuing,
            incremental=incremental,
        )
        self.n_components_ = self.net_.module_.encoding_size
        self.n_timesteps_ = arrays["x"].shape[1]
        self.n_future_ = arrays["future"].shape[1] if "future" in arrays else None
        return self

    @property
    def _n_features_out(self):
        return self.n_components_

    def transform(self, X):
        """Encode each sequence as a fixed-length vector.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
            Sequences of any length (not necessarily the training length).

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components_), float32
        """
        check_is_fitted(self, "net_")
        batch = check_sequences(X, estimator=self, reset=False)
        arrays = {"x": batch.X, "lengths": batch.lengths if batch.ragged else None}
        return self._batched(lambda m, **b: m.encode(**b), arrays, batch.n_timesteps)

    def inverse_transform(self, Z, n_timesteps=None):
        """Decode encodings back into sequences.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components_)
        n_timesteps : int or array-like of shape (n_samples,), default=None
            Length of the decoded sequences; None uses ``n_timesteps_``. One length
            per row of ``Z`` (e.g. ``[len(s) for s in X]`` for the ragged ``X``
            that was encoded) decodes each sequence at its own length and returns
            a list. A decode that would need more than 4 GiB of memory is refused
            with a ValueError.

        Returns
        -------
        X : ndarray of shape (n_samples, n_timesteps, n_features_in_), float32, or \
list of ndarray of shape (n_timesteps_i, n_features_in_)
            A list when ``n_timesteps`` gives one length per row.
        """
        check_is_fitted(self, "net_")
        if self.objective == "predict":
            raise ValueError(
                "inverse_transform needs a reconstruction decoder, which "
                "objective='predict' does not train. Use objective='reconstruct' or "
                "'composite', or forecast() to decode the continuation."
            )
        Zc = check_encodings(Z, self.n_components_, estimator=self)
        steps, lengths = check_decode_lengths(
            n_timesteps, len(Zc), default=self.n_timesteps_
        )
        check_decode_memory(
            len(Zc),
            steps,
            n_features=self.n_features_in_,
            batch_rows=min(len(Zc), self._inference_batch_size(steps)),
            step_width=self.n_components_ + 2 * self.hidden_size * self.num_layers,
            estimator=self,
        )
        if lengths is None:
            return self._batched(lambda m, z: m.reconstruct(z, steps), {"z": Zc}, steps)
        # decoding is causal: the first T_i of ``steps`` decoded steps are the
        # sequence decoded at length T_i (reversed within T_i with reverse_target)
        out = self._batched(
            lambda m, z, lengths: m.reconstruct(z, steps, lengths=lengths),
            {"z": Zc, "lengths": lengths},
            steps,
        )
        return [out[i, :n] for i, n in enumerate(lengths)]

    def forecast(self, X, n_steps=None):
        """Forecast the continuation of each sequence ("predict"/"composite" only).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or list of arrays
            The observed sequences.
        n_steps : int, default=None
            Steps to forecast; None uses ``n_future_``.

        Returns
        -------
        ndarray of shape (n_samples, n_steps, n_features_in_)
        """
        check_is_fitted(self, "net_")
        if self.objective == "reconstruct":
            raise ValueError(
                "forecast needs a prediction decoder: fit with objective='predict' or "
                "'composite'."
            )
        batch = check_sequences(X, estimator=self, reset=False)
        steps = (
            self.n_future_
            if n_steps is None
            else check_positive_int(n_steps, "n_steps")
        )
        arrays = {"x": batch.X, "lengths": batch.lengths if batch.ragged else None}
        return self._batched(
            lambda m, **b: m.forecast(m.encode(**b), steps), arrays, batch.n_timesteps
        )

    def score_samples(self, X):
        """Negative reconstruction (or forecast) error of each sequence.

        The mean squared error over each sequence's valid steps and features, of the
        objective the model was trained on (sum of both for "composite"), with the
        decoders feeding back their own outputs. Higher means more normal: use it as
        an anomaly score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "net_")
        batch = check_sequences(X, estimator=self, reset=False)
        arrays = self._arrays(batch)

        def err(module, **b):
            # in float64: float32 squared errors overflow for |X| > ~1e19 (X=1e30)
            out = {k: None if v is None else v.double() for k, v in module(**b).items()}
            b = {k: v.double() if v.is_floating_point() else v for k, v in b.items()}
            return module.loss(out, **b, reduction="none")

        return -self._batched(err, arrays, batch.n_timesteps).astype(np.float64)

    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (higher is better)."""
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
