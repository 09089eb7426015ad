"""The skorch side: a fast batch iterator over dict inputs and the training net.

Plain skorch indexes its dataset sample by sample (and every key of a dict input
separately), which costs up to 8.5x a hand-written loop on small models. Here a batch is
one slice (or one ``index_select``) per tensor, and the net adds gradient clipping, a
per-epoch gradient-norm record, a non-finite guard and truncated BPTT through the hooks
skorch documents (``train_step_single``, ``get_loss``, ``get_iterator``,
``on_epoch_*``).
"""

from __future__ import annotations

import math

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch import Tensor, nn

__all__ = [
    "TensorDictDataset",
    "BatchIterator",
    "SequenceNet",
    "Diverged",
    "ModuleLoss",
]


class TensorDictDataset(torch.utils.data.Dataset):
    """A dict of tensors that share their first dimension, indexable by batch.

    ``__getitems__`` returns a whole batch as one dict (torch's ``DataLoader`` uses it
    too); :class:`BatchIterator` slices it directly.
    """

    def __init__(self, tensors: dict[str, Tensor]) -> None:
        self.tensors = {k: v for k, v in tensors.items() if v is not None}
        sizes = {len(v) for v in self.tensors.values()}
        if len(sizes) != 1:
            raise ValueError(f"All tensors must have the same length, got {sizes}.")
        self._len = sizes.pop()

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i):
        return {k: v[i] for k, v in self.tensors.items()}, None

    def __getitems__(self, indices):
        return self.take(torch.as_tensor(indices))

    def take(self, index) -> tuple[dict[str, Tensor], None]:
        """One batch: ``index`` is a slice or a 1-D index tensor."""
        if isinstance(index, slice):
            return {k: v[index] for k, v in self.tensors.items()}, None
        return {
            k: v.index_select(0, index.to(v.device)) for k, v in self.tensors.items()
        }, None

    def subset(self, index: Tensor) -> TensorDictDataset:
        return TensorDictDataset(
            {k: v[index.to(v.device)] for k, v in self.tensors.items()}
        )


class BatchIterator:
    """Yields ``(batch_dict, None)`` mini-batches sliced straight from the tensors.

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


class SequenceNet(NeuralNet):
    """skorch ``NeuralNet`` for sksequence modules.

    Extra parameters
    ----------------
    clip_grad_norm : float or None
        Clip the global gradient norm to this value before every optimizer step.
    truncate_bptt : int or None
        Chunk length for truncated backpropagation through time; the module must then
        implement ``truncated_backward(chunk_size, **batch)``.
    shuffle_seed : int
        Seed of the generator that shuffles the training batches.

    The module's forward takes the batch dict as keyword arguments, and the module
    defines ``loss(outputs, **batch)``. After each epoch the history holds
    ``grad_norm`` (mean pre-clipping global gradient norm) and ``grad_norm_max``.
    """

    def __init__(
        self, *args, clip_grad_norm=1.0, truncate_bptt=None, shuffle_seed=0, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.clip_grad_norm = clip_grad_norm
        self.truncate_bptt = truncate_bptt
        self.shuffle_seed = shuffle_seed

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
        self._set_training(True)
        Xi, _ = unpack_data(batch)
        if self.truncate_bptt:
            Xi = to_tensor(Xi, device=self.device)
            loss = self.module_.truncated_backward(self.truncate_bptt, **Xi)
            y_pred = None
        else:
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, None, X=Xi, training=True)
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

    # -- hooks ----------------------------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._params = [p for p in self.module_.parameters() if p.requires_grad]
        self._shuffle_gen = torch.Generator().manual_seed(
            int(self.shuffle_seed) + len(self.history)
        )
        self._snapshots = [("the weights from before training", self._state_copy())]

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self._grad_norms, self._batch_count = [], 0
        if len(self.history) > 1:
            where = f"the weights from the end of epoch {len(self.history) - 1}"
            # newest first; keep the last two epochs and the weights before training
            self._snapshots = [(where, self._state_copy())] + self._snapshots[-2:]

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
        self.release_training_state()

    # -- divergence recovery --------------------------------------------------------
    @torch.no_grad()
    def restore_last_finite(self, exc: Diverged) -> str:
        """After :class:`Diverged`, load the newest weights that still give a finite
        loss on the batch that failed: the current ones when only the gradient
        overflowed, else the weights saved at the end of an earlier epoch, else the
        weights from before training. Returns which were kept."""
        batch = to_tensor(self._failed_batch, device=self.device)
        candidates = [("the weights from just before the failing step", None)]
        if exc.what == "loss":
            candidates = []
        candidates += self._snapshots
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

    def release_training_state(self) -> None:
        """Drop per-fit scratch state (so pickles stay small and self-contained)."""
        for name in (
            "_params",
            "_shuffle_gen",
            "_snapshots",
            "_grad_norms",
            "_failed_batch",
        ):
            self.__dict__.pop(name, None)
