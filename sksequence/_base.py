"""What every sksequence estimator shares: parameters, net building, fitting, inference.

Estimators inherit :class:`BaseSequenceEstimator` next to their sklearn mixin and spell
out their full ``__init__`` signature (scikit-learn reads parameters from it). In ``fit``
they validate input with :mod:`sksequence.utils.validation`, prepare a dict of arrays,
and call :meth:`_fit_module`; prediction methods call :meth:`_batched`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EarlyStopping, ProgressBar
from skorch.helper import predefined_split

from ._net import Diverged, ModuleLoss, SequenceNet, TensorDictDataset
from ._registry import register_estimator
from .utils.validation import check_sequences

__all__ = ["BaseSequenceEstimator", "DivergenceWarning", "TrainingInterrupted"]

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


class DivergenceWarning(UserWarning):
    """Training stopped because the loss or the gradients became non-finite."""


class TrainingInterrupted(UserWarning):
    """Training was stopped by KeyboardInterrupt (Ctrl+C); the model is usable."""


@contextlib.contextmanager
def _worker_threads():
    """Inside a parallel worker, cap torch's intra-op threads at the worker's share.

    joblib's loky backend, Dask's nanny and Ray give each worker process its share of
    the CPUs in ``OMP_NUM_THREADS`` (cpu_count // n_jobs, or 1), which torch reads
    when it is imported; joblib's "threading" and "multiprocessing" backends give no
    share, so each worker there would use every core. In a joblib worker (the active
    backend's ``nesting_level`` >= 1) torch therefore gets at most that share, or 1
    thread where none is given, for the duration of the fit; outside one nothing
    changes. ``torch.set_num_threads`` acts on the calling thread, so this is safe
    in thread workers too.
    """
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    before = torch.get_num_threads()
    share = before
    if getattr(backend, "nesting_level", 0) >= 1:
        declared = os.environ.get("OMP_NUM_THREADS", "")
        share = int(declared) if declared.isdigit() and int(declared) > 0 else 1
    if share >= before:
        yield
        return
    torch.set_num_threads(share)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# Inference batches get at least this many rows. CPU float32 kernels take other
# paths for 1-3 row matrices (matrix-vector products) than for larger ones and round
# differently (1e-5 apart after a trained decoder); padding tiny batches by repeating
# their last row makes each answer independent of the batch it is computed in, so
# predict(X[i:i + 1]) == predict(X)[i] (scikit-learn's subset-invariance check).
_MIN_ROWS = 8


def _is_optimizer_class(value) -> bool:
    return isinstance(value, type) and issubclass(value, torch.optim.Optimizer)


class BaseSequenceEstimator(BaseEstimator):
    """Shared machinery; not an estimator by itself.

    Common parameters (see ``API.md``): ``hidden_size``, ``num_layers``, ``cell``,
    ``bidirectional``, ``dropout``, ``max_epochs``, ``batch_size``, ``lr``,
    ``optimizer``, ``weight_decay``, ``clip_grad_norm``, ``early_stopping``,
    ``validation_fraction``, ``n_iter_no_change``, ``tol``, ``truncate_bptt``,
    ``device``, ``random_state``, ``verbose``, ``callbacks``, and ``warm_start``.

    Continuing training: with ``warm_start=True`` a second ``fit`` starts from the
    fitted weights (and keeps what the first fit learnt from its data: input
    features, classes, target scaling); ``partial_fit`` trains one epoch on the data
    it is given, creating the model on the first call. Both are how training goes on
    after a :class:`DivergenceWarning` (e.g. with a smaller ``lr``).
    """

    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "cell": [StrOptions({"lstm", "gru"})],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "truncate_bptt": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
    }

    # -- fitting ------------------------------------------------------------------
    def _torch_device(self) -> torch.device:
        return torch.device(self.device)

    def _tensors(self, arrays: dict) -> dict:
        """numpy arrays -> tensors on the estimator's device (None entries dropped)."""
        device = self._torch_device()
        return {
            k: torch.as_tensor(v).to(device) for k, v in arrays.items() if v is not None
        }

    def _callbacks(self, has_valid: bool) -> list:
        """The callbacks of a net trained by ``fit``."""
        return self._with_user_callbacks(self._stopping_callbacks(has_valid))

    def _incremental_callbacks(self) -> list:
        """The callbacks of a ``partial_fit`` net: no early stopping and no schedule
        that ends at ``max_epochs`` (each call is one epoch)."""
        return self._with_user_callbacks([])

    def _with_user_callbacks(self, callbacks: list) -> list:
        """The progress bar (when verbose), ``callbacks``, then the user's own."""
        cbs = [("progress_bar", ProgressBar())] if self.verbose else []
        cbs += callbacks
        for i, cb in enumerate(copy.deepcopy(self.callbacks or [])):
            cbs.append(
                cb if isinstance(cb, tuple) else (f"user_{i}_{type(cb).__name__}", cb)
            )
        return cbs

    def _stopping_callbacks(self, has_valid: bool) -> list:
        monitor = "valid_loss" if has_valid else "train_loss"
        return [
            (
                "early_stopping",
                EarlyStopping(
                    monitor=monitor,
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="rel",
                    load_best=has_valid,
                ),
            )
        ]

    def _optimizer(self):
        if _is_optimizer_class(self.optimizer):
            return self.optimizer
        if isinstance(self.optimizer, str):
            return OPTIMIZERS[self.optimizer]
        return self.optimizer  # any callable(params, lr=..., weight_decay=...)

    def _build_net(
        self, module_cls, module_kwargs: dict, valid=None, seed: int = 0, training=True
    ):
        """The (uninitialised) skorch net for ``module_cls(**module_kwargs)``.

        ``training=False`` (loading a saved model) leaves out the training callbacks;
        ``training="incremental"`` (``partial_fit``) keeps only the progress bar and
        the user's callbacks.
        """
        if training == "incremental":
            callbacks = self._incremental_callbacks()
        elif training:
            callbacks = self._callbacks(valid is not None)
        else:
            callbacks = []
        return SequenceNet(
            module=module_cls,
            criterion=ModuleLoss,
            optimizer=self._optimizer(),
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=predefined_split(valid) if valid is not None else None,
            callbacks=callbacks,
            device=self.device,
            verbose=int(self.verbose),
            clip_grad_norm=self.clip_grad_norm,
            truncate_bptt=self.truncate_bptt,
            shuffle_seed=seed,
            # PrintLog tabulates every epoch even when silent: only keep it if shown.
            **({} if self.verbose else {"callbacks__print_log": None}),
            **{f"module__{k}": v for k, v in module_kwargs.items()},
        )

    def _continuing(self, incremental: bool = False) -> bool:
        """Whether this fit goes on from the fitted weights (``warm_start=True`` or
        ``partial_fit``) instead of starting afresh."""
        return (incremental or self.warm_start) and hasattr(self, "net_")

    def _fit_module(
        self,
        module_cls,
        module_kwargs: dict,
        arrays: dict,
        *,
        continuing: bool = False,
        incremental: bool = False,
    ):
        """Train ``module_cls(**module_kwargs)`` on the dict of arrays; sets ``net_``,
        ``history_``, ``n_epochs_`` and ``diverged_``.

        ``arrays`` holds numpy arrays with one row per sample (None entries are
        dropped); they become the keyword arguments of the module's forward and loss.
        ``module_cls`` must live in :mod:`sksequence.nn` (``save``/``load`` rebuild
        it from its name and ``module_kwargs``).

        ``continuing``: start from the fitted module's weights (which must fit the
        new module) and append to its history. ``incremental`` (``partial_fit``):
        one epoch on all of ``arrays``, no validation split, no early stopping or
        learning-rate schedule; consecutive calls keep the optimizer's state.
        """
        self._validate_params()
        previous = self.net_ if continuing else None
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        if previous is not None:  # fresh shuffles and splits for each continuation
            seed = (seed + 7919 * len(previous.history)) % np.iinfo(np.int32).max
            rng = np.random.RandomState(seed)
        data = TensorDictDataset(self._tensors(arrays))
        n = len(data)
        valid = None
        if self.early_stopping and not incremental:
            n_valid = int(math.ceil(self.validation_fraction * n))
            if n_valid < 1 or n - n_valid < 1:
                raise ValueError(
                    f"early_stopping needs at least 2 samples to hold out a validation "
                    f"set of validation_fraction={self.validation_fraction}, got {n}."
                )
            perm = torch.as_tensor(rng.permutation(n))
            valid, data = data.subset(perm[:n_valid]), data.subset(perm[n_valid:])
        spec = (module_cls.__name__, dict(module_kwargs))
        params = self.get_params(deep=False)
        last_incremental = getattr(self, "_incremental_params", None)
        # partial_fit after partial_fit with the same parameters: train the same net
        reuse = (
            incremental
            and previous is not None
            and last_incremental is not None
            and spec == self._module_spec
            and _same_params(params, last_incremental)
        )
        device = self._torch_device()
        fork_devices = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=fork_devices), _worker_threads():
            torch.manual_seed(seed)
            if reuse:  # keep the optimizer's running statistics between calls
                net = previous
                net.shuffle_seed = seed
            else:
                net = self._build_net(
                    module_cls,
                    module_kwargs,
                    valid,
                    seed,
                    training="incremental" if incremental else True,
                )
                net.initialize()
                self._before_training(net.module_)
                if previous is not None:
                    self._load_previous_weights(net.module_, previous.module_)
                if incremental and last_incremental is not None:
                    _carry_optimizer_state(previous.optimizer_, net.optimizer_)
            self.net_ = net
            self.diverged_ = False
            self._module_spec = spec
            self._incremental_params = params if incremental else None
            self._train(net, data, epochs=1 if incremental else None)
        if previous is not None and net is not previous:
            net.history = _joined_history(previous.history, net.history)
        self.history_ = net.history
        self.n_epochs_ = len(net.history)
        return self

    def _load_previous_weights(self, module, previous) -> None:
        """Copy the fitted module's weights into the freshly built one (warm start)."""
        try:
            module.load_state_dict(previous.state_dict())
        except RuntimeError as exc:
            detail = str(exc).strip().splitlines()
            raise ValueError(
                f"{type(self).__name__} cannot continue training from its fitted "
                "weights (warm_start=True or partial_fit): they do not fit the model "
                "the current parameters build "
                f"({detail[-1].strip() if detail else exc}). Keep the architecture "
                "parameters (hidden_size, num_layers, cell, bidirectional, ...) as "
                "they were, or set warm_start=False to train from scratch."
            ) from None

    def _before_training(self, module) -> None:
        """Hook: change the freshly initialised module before training (e.g. load
        transferred weights). Default: nothing."""

    def _train(self, net: SequenceNet, data, epochs=None) -> None:
        try:
            net.partial_fit(data, None, epochs=epochs)
            # skorch swallows KeyboardInterrupt and returns: an epoch without a
            # train_loss is the one that was cut short.
            if len(net.history) and "train_loss" not in net.history[-1]:
                del net.history[-1]
                warnings.warn(
                    f"{type(self).__name__} training was interrupted "
                    f"(KeyboardInterrupt) during epoch {len(net.history) + 1}. The "
                    "model is usable: it keeps the weights reached so far, and "
                    f"history_ holds the {len(net.history)} finished epoch(s).",
                    TrainingInterrupted,
                    stacklevel=3,
                )
        except Diverged as exc:
            where = net.restore_last_finite(exc)
            net.history.record("diverged", True)
            self.diverged_ = True
            warnings.warn(
                f"{type(self).__name__} stopped training: {exc}. Restored {where}, so "
                "the model stays usable but may be under-trained. Try a smaller lr, "
                "keep clip_grad_norm on, scale your data, or use truncate_bptt for "
                "long sequences; to go on from the restored weights, call "
                "partial_fit or set warm_start=True and fit again.",
                DivergenceWarning,
                stacklevel=3,
            )

    # -- persistence ----------------------------------------------------------------
    def save(self, path) -> None:
        """Save the fitted estimator to ``path`` without pickle (safetensors + JSON).

        The write is atomic: a crash mid-save leaves a previous file intact. Load it
        with ``type(est).load(path)`` or ``sksequence.load(path)``; loading never
        executes code from the file. See :mod:`sksequence.persistence` for when to
        prefer pickle/joblib.
        """
        from .persistence import save

        save(self, path)

    @classmethod
    def load(cls, path, *, device=None):
        """Load an estimator saved with :meth:`save`.

        Parameters
        ----------
        path : str or Path
        device : str, optional
            Where to put the model (default: the saved device, or "cpu" when the
            model was trained on CUDA and no GPU is available).
        """
        from .persistence import load

        return load(path, device=device, expected_class=cls)

    # -- inference ------------------------------------------------------------------
    def _inference_batch_size(self, n_timesteps: int) -> int:
        return max(self.batch_size, min(1024, 2**20 // max(1, n_timesteps)))

    @torch.no_grad()
    def _batched(self, fn, arrays: dict, n_timesteps: int):
        """Apply ``fn(module, **batch)`` to batches of ``arrays`` in eval mode and
        concatenate the numpy results along the first axis (one array or a tuple)."""
        check_is_fitted(self, "net_")
        module = self.net_.module_
        was_training = module.training
        module.eval()
        data = TensorDictDataset(self._tensors(arrays))
        bs = self._inference_batch_size(n_timesteps)
        outs = []
        try:
            for start in range(0, len(data), bs):
                rows = min(bs, len(data) - start)
                if rows < _MIN_ROWS:  # see _MIN_ROWS: repeat the last row
                    index = torch.arange(start, start + _MIN_ROWS).clamp(
                        max=len(data) - 1
                    )
                    batch, _ = data.take(index)
                else:
                    batch, _ = data.take(slice(start, start + bs))
                out = fn(module, **batch)
                if isinstance(out, tuple):
                    outs.append(tuple(o[:rows].detach().cpu().numpy() for o in out))
                else:
                    outs.append(out[:rows].detach().cpu().numpy())
        finally:
            module.train(was_training)
        if isinstance(outs[0], tuple):
            return tuple(_concat([o[i] for o in outs]) for i in range(len(outs[0])))
        return _concat(outs)

    def hidden_states(self, X, *, return_state: bool = False):
        """Every timestep's encoder hidden state, and optionally the final states.

        The equivalent of Keras' ``return_sequences=True`` / ``return_state=True`` for
        the fitted encoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features), or a list of
            arrays of shape (n_timesteps_i, n_features)
        return_state : bool, default=False
            Also return the final hidden and cell states.

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_timesteps, D * hidden_size)
            The last layer's hidden state at each timestep (D = 2 if bidirectional);
            zero after the end of a shorter sequence.
        h_n : ndarray of shape (n_samples, num_layers * D, hidden_size)
            Final hidden state of every layer and direction (if ``return_state``).
        c_n : ndarray of shape (n_samples, num_layers * D, hidden_size) or None
            Final cell state (LSTM only; None for a GRU) (if ``return_state``).
        """
        check_is_fitted(self, "net_")
        batch = check_sequences(X, estimator=self, reset=False)
        arrays = {"x": batch.X, "lengths": batch.lengths if batch.ragged else None}

        def run(module, x, lengths=None):
            out, (h_n, c_n) = module.encoder(x, lengths)
            if c_n is None:
                c_n = torch.full_like(h_n, float("nan"))
            return out, h_n.transpose(0, 1), c_n.transpose(0, 1)  # (N, K*D, H)

        outputs, h_n, c_n = self._batched(run, arrays, batch.n_timesteps)
        if not return_state:
            return outputs
        return outputs, h_n, (None if self.cell == "gru" else c_n)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags

    # -- fitted state: what save() stores and load() restores --------------------------
    # sksequence.persistence reads and writes a fitted estimator only through
    # _get_fitted_state / _set_fitted_state and the two declarations below. Each
    # class lists the fitted attributes it adds in ``_fitted_attributes`` (the stored
    # set is the union over the class and its bases; anything else on the instance
    # is not stored); ``_module_class`` is the sksequence.nn module ``fit`` trains.
    _fitted_attributes: tuple = (
        "n_features_in_",
        "_n_columns_2d",
        "n_epochs_",
        "diverged_",
    )
    _module_class: type | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register_estimator(cls)  # model files name estimator classes

    @classmethod
    def _fitted_attribute_names(cls) -> tuple:
        names: dict = {}
        for klass in reversed(cls.__mro__):
            names.update(dict.fromkeys(vars(klass).get("_fitted_attributes", ())))
        return tuple(names)

    def _get_fitted_state(self) -> dict:
        """The fitted state: the declared attributes that are set, the module's
        class name and keyword arguments, its weights (CPU tensors) and the history
        (without per-batch rows)."""
        check_is_fitted(self, "net_")
        module_name, module_kwargs = self._module_spec
        return {
            "attributes": {
                name: getattr(self, name)
                for name in self._fitted_attribute_names()
                if hasattr(self, name)
            },
            "module": module_name,
            "module_kwargs": dict(module_kwargs),
            "weights": {
                k: v.detach().cpu().contiguous().clone()
                for k, v in self.net_.module_.state_dict().items()
            },
            "history": [
                {k: v for k, v in row.items() if k != "batches"}
                for row in self.history_
            ],
        }

    def _set_fitted_state(self, state: dict) -> None:
        """Make this unfitted estimator the fitted one ``state`` describes (as given
        by :meth:`_get_fitted_state`; persistence checks a file's state against
        ``_fitted_attributes`` and the weights' shapes before it gets here)."""
        from skorch.history import History

        for name, value in state["attributes"].items():
            setattr(self, name, value)
        kwargs = dict(state["module_kwargs"])
        net = self._build_net(self._module_class, kwargs, training=False)
        with torch.random.fork_rng(devices=[]):
            net.initialize()
        net.module_.load_state_dict(state["weights"])
        net.module_.to(self._torch_device())
        net.history = History(state["history"])
        self.net_, self.history_ = net, net.history
        self._module_spec = (state["module"], kwargs)


def _same_params(a: dict, b: dict) -> bool:
    """Whether two ``get_params(deep=False)`` dicts hold the same values."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if x is y:
            continue
        try:
            if type(x) is not type(y) or not bool(x == y):
                return False
        except Exception:  # e.g. arrays, objects without a plain ==
            return False
    return True


def _carry_optimizer_state(source, target) -> None:
    """Give a rebuilt ``partial_fit`` optimizer the running statistics of the last
    one (same parameters in the same order) while keeping its own settings (a
    changed lr or weight_decay). Nothing is carried if the two do not match."""
    if type(source) is not type(target):
        return
    groups = [dict(g) for g in target.param_groups]
    try:
        target.load_state_dict(source.state_dict())
    except (ValueError, KeyError, RuntimeError):
        return
    for group, settings in zip(target.param_groups, groups):
        group.update({k: v for k, v in settings.items() if k != "params"})


def _joined_history(before, after):
    """``before``'s epochs followed by ``after``'s, renumbered to run on."""
    from skorch.history import History

    joined = History()
    for row in list(before) + list(after):
        row = dict(row)
        row["epoch"] = len(joined) + 1
        joined.append(row)
    return joined


def _concat(parts: list) -> np.ndarray:
    """Concatenate batches along axis 0, padding axis 1 where batch lengths differ."""
    if parts[0].ndim >= 2 and len({p.shape[1] for p in parts}) > 1:
        width = max(p.shape[1] for p in parts)
        parts = [
            np.pad(p, [(0, 0), (0, width - p.shape[1])] + [(0, 0)] * (p.ndim - 2))
            for p in parts
        ]
    return np.concatenate(parts, axis=0)
