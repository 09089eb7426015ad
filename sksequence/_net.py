"""The skorch side: a fast batch iterator over dict inputs and the training net.

Plain skorch indexes its dataset sample by sample (and every key of a dict input
separately), which costs up to 8.5x a hand-written loop on small models. Here a batch is
one slice (or one ``index_select``) per tensor, and the net adds gradient clipping, a
per-epoch gradient-norm record, a non-finite guard, truncated BPTT and seeded
initialisation through the hooks skorch documents (``initialize_module``,
``train_step_single``, ``get_loss``, ``get_iterator``, ``on_*``).
"""

from __future__ import annotations

import math
import threading

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import Tensor, nn

from .nn.init import reset_parameters

__all__ = [
    "TensorDictDataset",
    "BatchIterator",
    "SequenceNet",
    "Diverged",
    "ModuleLoss",
    "request_stop",
]

# Building a module draws from torch's global generator (the layers initialise
# themselves); the net re-initialises every parameter from the fit's own generator and
# gives the global generator back as it was. The lock keeps two fits in threads from
# saving and restoring the global state across each other.
_GLOBAL_RNG_LOCK = threading.Lock()


class TensorDictDataset(torch.utils.data.Dataset):
    """A dict of tensors that share their first dimension, indexable by batch.

    ``y_key`` names the tensor that holds the targets, if any: batches are then
    ``(inputs, targets)`` pairs, which skorch's scoring callbacks read.
    ``__getitems__`` returns a whole batch (torch's ``DataLoader`` uses it too);
    :class:`BatchIterator` slices it directly.
    """

    def __init__(self, tensors: dict[str, Tensor], y_key: str | None = None) -> None:
        self.tensors = {k: v for k, v in tensors.items() if v is not None}
        sizes = {len(v) for v in self.tensors.values()}
        if len(sizes) != 1:
            raise ValueError(f"All tensors must have the same length, got {sizes}.")
        self._len = sizes.pop()
        self.y_key = y_key if y_key in self.tensors else None

    def __len__(self) -> int:
        return self._len

    @property
    def X(self) -> dict[str, Tensor]:  # skorch's data_from_dataset reads X and y
        return self.tensors

    @property
    def y(self):
        return None if self.y_key is None else _flat_targets(self.tensors[self.y_key])

    def __getitem__(self, i):
        return self.take(torch.as_tensor([i]))

    def __getitems__(self, indices):
        return self.take(torch.as_tensor(indices))

    def take(self, index) -> tuple[dict[str, Tensor], Tensor | None]:
        """One batch: ``index`` is a slice or a 1-D index tensor."""
        if isinstance(index, slice):
            batch = {k: v[index] for k, v in self.tensors.items()}
        else:
            batch = {
                k: v.index_select(0, index.to(v.device))
                for k, v in self.tensors.items()
            }
        y = None if self.y_key is None else _flat_targets(batch[self.y_key])
        return batch, y

    def subset(self, index: Tensor) -> TensorDictDataset:
        return TensorDictDataset(
            {k: v[index.to(v.device)] for k, v in self.tensors.items()}, self.y_key
        )


def _flat_targets(y: Tensor) -> Tensor:
    """Targets as scikit-learn's metrics take them: (N,) or (N, outputs)."""
    return y.flatten(1) if y.ndim > 2 else y


class BatchIterator:
    """Yields ``(batch_dict, targets)`` mini-batches sliced straight from the tensors.

    Parameters
    ----------
    dataset : TensorDictDataset
    batch_size : int
    shuffle : bool
        Draw a new permutation every epoch (from ``generator``).
    generator : torch.Generator, optional
    """

    def __init__(self, dataset, batch_size: int, shuffle: bool = False, generator=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        n, bs = len(self.dataset), self.batch_size
        if self.shuffle:
            perm = torch.randperm(n, generator=self.generator)
            for start in range(0, n, bs):
                yield self.dataset.take(perm[start : start + bs])
        else:
            for start in range(0, n, bs):
                yield self.dataset.take(slice(start, start + bs))


class ModuleLoss(nn.Module):
    """Criterion that defers to the module's own ``loss(outputs, **batch)`` method."""

    def forward(self, module: nn.Module, outputs, batch: dict) -> Tensor:
        return module.loss(outputs, **batch)


class Diverged(RuntimeError):
    """Raised inside a training step when the loss or the gradients are not finite."""

    def __init__(self, what: str, epoch: int, batch: int) -> None:
        super().__init__(
            f"the {what} became non-finite at epoch {epoch}, batch {batch}"
        )
        self.what, self.epoch, self.batch = what, epoch, batch


def request_stop(net: NeuralNet, reason: str) -> None:
    """End training after the current epoch, the way skorch's own callbacks do
    (``EarlyStopping`` raises ``KeyboardInterrupt``, which skorch's fit catches);
    the epoch's history row records ``stopped=reason``, which tells a planned stop
    from a user's Ctrl+C."""
    net.history.record("stopped", reason)
    raise KeyboardInterrupt


class SequenceNet(NeuralNet):
    """skorch ``NeuralNet`` for sksequence modules.

    Extra parameters
    ----------------
    clip_grad_norm : float or None
        Clip the global gradient norm to this value before every optimizer step.
    truncate_bptt : int or None
        Chunk length for truncated backpropagation through time; the module must then
        implement ``truncated_backward(chunk_size, **batch)``.
    seed : int
        Seeds the generators of the fit: parameter initialisation, the shuffling of
        the training batches and the module's training-time randomness (passed to
        its forward as ``generator``).
    output_fn : callable, optional
        Module output -> predictions (numpy), for :meth:`predict`, which skorch's
        scoring callbacks call.

    The module's forward takes the batch dict as keyword arguments (and
    ``generator`` in training), and the module defines ``loss(outputs, **batch)``.
    After each epoch the history holds ``grad_norm`` (mean pre-clipping global
    gradient norm) and ``grad_norm_max``.
    """

    def __init__(
        self,
        *args,
        clip_grad_norm=1.0,
        truncate_bptt=None,
        seed=0,
        output_fn=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.clip_grad_norm = clip_grad_norm
        self.truncate_bptt = truncate_bptt
        self.seed = seed
        self.output_fn = output_fn

    # -- module -----------------------------------------------------------------
    def initialize_module(self):
        """Build the module (in float32) without a trace on torch's global
        generator, then draw every parameter from a generator seeded with
        ``seed``."""
        kwargs = self.get_params_for("module")
        with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
            module = self.module(**kwargs)
        # float32 whatever torch's default dtype (the data are float32)
        module = module.float()
        reset_parameters(module, torch.Generator().manual_seed(int(self.seed)))
        self.module_ = module
        return self

    # -- data -------------------------------------------------------------------
    def get_iterator(self, dataset, training=False):
        batch_size = self.batch_size if self.batch_size != -1 else len(dataset)
        if training:
            return BatchIterator(
                dataset, batch_size, shuffle=True, generator=self._shuffle_gen
            )
        return BatchIterator(dataset, batch_size)

    # -- training step ------------------------------------------------------------
    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(self.module_, y_pred, X)

    def train_step_single(self, batch, **fit_params):
        if not self.module_.training:  # (once an epoch, not every batch)
            self._set_training(True)
        Xi, _ = unpack_data(batch)
        if self.truncate_bptt:
            Xi = to_tensor(Xi, device=self.device)
            loss = self.module_.truncated_backward(self.truncate_bptt, **Xi)
            y_pred = None
        else:
            y_pred = self.module_(**Xi, generator=self._module_gen)
            loss = self.criterion_(self.module_, y_pred, Xi)
            loss.backward()
        if self.clip_grad_norm is not None:
            norm = nn.utils.clip_grad_norm_(self._params, self.clip_grad_norm)
        else:
            grads = [p.grad for p in self._params if p.grad is not None]
            norm = nn.utils.get_total_norm(grads)
        loss_value, norm_value = float(loss.detach()), float(norm)
        if not math.isfinite(loss_value) or not math.isfinite(norm_value):
            what = "loss" if not math.isfinite(loss_value) else "gradient norm"
            self._failed_batch = Xi
            raise Diverged(what, len(self.history), self._batch_count + 1)
        self._grad_norms.append(norm_value)
        self._batch_count += 1
        return {"loss": loss, "y_pred": y_pred}

    # -- predictions for scoring callbacks --------------------------------------------
    def predict(self, X):
        """Predictions for ``X`` (a dataset of module inputs), through
        ``output_fn``: what skorch's scoring callbacks (``EpochScoring``) call."""
        if self.output_fn is None:
            raise TypeError(
                "This model has no predictions to score (an autoencoder has no "
                "target); scoring callbacks apply to SequenceClassifier and "
                "Seq2SeqRegressor."
            )
        parts = [self.output_fn(out) for out in self.forward_iter(X)]
        return np.concatenate([np.asarray(p) for p in parts], axis=0)

    # -- hooks ----------------------------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._params = [p for p in self.module_.parameters() if p.requires_grad]
        base = int(self.seed) + len(self.history)
        self._shuffle_gen = torch.Generator().manual_seed(base)
        self._module_gen = torch.Generator().manual_seed(base + 1)  # (draws on CPU)
        self._run_start = len(self.history)
        self._initial = ("the weights from before training", self._state_copy())
        self._recent = []  # the ends of the last two epochs of this run, newest first

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self._grad_norms, self._batch_count = [], 0
        self._set_training(True)
        finished = len(self.history) - 1  # epochs finished before this one
        if finished > self._run_start:
            where = f"the weights from the end of epoch {finished}"
            self._recent = [(where, self._state_copy()), *self._recent[:1]]

    @property
    def snapshots(self) -> list:
        """Fallback weights, newest first: the ends of the last two epochs of this
        run, then the weights from before it."""
        return [*self._recent, self._initial]

    def _state_copy(self) -> dict:
        return {k: v.detach().clone() for k, v in self.module_.state_dict().items()}

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        if self._grad_norms:
            self.history.record(
                "grad_norm", sum(self._grad_norms) / len(self._grad_norms)
            )
            self.history.record("grad_norm_max", max(self._grad_norms))

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.module_.eval()
        self.release_training_state()

    # -- divergence recovery --------------------------------------------------------
    @torch.no_grad()
    def restore_last_finite(self, exc: Diverged) -> str:
        """After :class:`Diverged`, load the newest weights that still give a finite
        loss on the batch that failed: the current ones when only the gradient
        overflowed, else the weights saved at the end of one of the last two
        epochs, else the weights from before training. Returns which were kept."""
        batch = to_tensor(self._failed_batch, device=self.device)
        candidates = [("the weights from just before the failing step", None)]
        if exc.what == "loss":
            candidates = []
        candidates += self.snapshots
        self.module_.eval()
        chosen = candidates[-1][0]
        for where, state in candidates:
            if state is not None:
                self.module_.load_state_dict(state)
            loss = self.criterion_(self.module_, self.module_(**batch), batch)
            if torch.isfinite(loss):
                chosen = where
                break
        # The optimizer's running statistics may hold inf/nan: start them afresh.
        self.optimizer_.state.clear()
        self.release_training_state()
        return chosen

    def restore_initial(self) -> None:
        """Load the weights from before this training run (a run that failed)."""
        initial = getattr(self, "_initial", None)
        if initial is not None:
            self.module_.load_state_dict(initial[1])
        self.release_training_state()

    def release_training_state(self) -> None:
        """Drop per-fit scratch state (so pickles stay small and self-contained)."""
        for name in (
            "_params",
            "_shuffle_gen",
            "_module_gen",
            "_run_start",
            "_initial",
            "_recent",
            "_grad_norms",
            "_failed_batch",
        ):
            self.__dict__.pop(name, None)


class PlateauStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    Improvement means falling below the best value so far by more than ``tol``
    relative to it. The rule never stops a run before its ``min_epochs``-th epoch:
    recurrent models first sit on a plateau (an autoencoder outputs the mean), and a
    short patience would end the fit there before it has learnt anything. With
    ``restore_best`` the weights of the best epoch are loaded when training ends.
    """

    def __init__(
        self,
        monitor: str = "train_loss",
        patience: int = 10,
        tol: float = 1e-4,
        min_epochs: int = 1,
        restore_best: bool = False,
    ) -> None:
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.min_epochs = min_epochs
        self.restore_best = restore_best

    def on_train_begin(self, net, **kwargs) -> None:
        self.first_epoch_ = len(net.history)
        self.best_, self.misses_, self.best_state_ = math.inf, 0, None

    def on_epoch_end(self, net, **kwargs) -> None:
        value = net.history[-1].get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        if value < self.best_ - self.tol * abs(self.best_) or self.best_ == math.inf:
            self.best_, self.misses_ = value, 0
            if self.restore_best:
                self.best_state_ = {
                    k: v.detach().clone() for k, v in net.module_.state_dict().items()
                }
        else:
            self.misses_ += 1
        run_epochs = len(net.history) - self.first_epoch_
        if self.misses_ >= self.patience and run_epochs >= self.min_epochs:
            request_stop(net, f"{self.monitor} plateau")

    def on_train_end(self, net, **kwargs) -> None:
        if self.restore_best and self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
        self.best_state_ = None  # (not pickled with the fitted net)
