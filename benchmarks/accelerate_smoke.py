"""Data-parallel training of a sksequence module with skorch's AccelerateMixin.

A smoke run on CPU, 2 processes with torch.distributed's gloo backend, one thread
each (``accelerate launch --cpu`` starts a single process; torchrun starts several)::

    torchrun --standalone --nproc_per_node 2 benchmarks/accelerate_smoke.py

On GPUs the same script runs under ``accelerate launch --multi_gpu --num_processes
4 benchmarks/accelerate_smoke.py``, or on several machines after ``accelerate
config``. Each process reads its own share of every epoch's batches (Accelerate
shards the DataLoader), gradients are averaged across processes
(DistributedDataParallel), and all processes end with the same weights, which the
script checks. The module is the one an ``LSTMAutoencoderTransformer`` builds
for the data, and the trained weights go back into that estimator for the usual
scikit-learn API.
"""

import copy
import os
import sys

import torch
from accelerate import Accelerator
from skorch import NeuralNet
from skorch.hf import AccelerateMixin

from sksequence import LSTMAutoencoderTransformer
from sksequence.datasets import make_sine_waves

ARCH = dict(hidden_size=16, n_components=4)  # the estimator's parameters
CLIP = 1.0


class AcceleratedNet(AccelerateMixin, NeuralNet):
    """skorch net for a sksequence module: the module computes its own loss."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        module = self.accelerator.unwrap_model(self.module_)
        return module.loss(y_pred, **X)

    def train_step_single(self, batch, **fit_params):
        step = super().train_step_single(batch, **fit_params)
        # sksequence clips gradients by default; do the same across processes
        self.accelerator.clip_grad_norm_(self.module_.parameters(), CLIP)
        return step


class _ModuleLoss:
    """Placeholder criterion (get_loss above asks the module); not a torch module,
    so that Accelerate does not wrap it in DistributedDataParallel."""

    def __call__(self, *args):  # pragma: no cover - never called
        raise NotImplementedError


def main() -> int:
    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    X, _ = make_sine_waves(512, n_timesteps=24, random_state=0)  # (512, 24, 1)
    # The estimator builds the module (its architecture for this data, and the
    # input standardisation fitted on X): one epoch in every process, with the
    # same seed, so that every process starts from the same weights.
    est = LSTMAutoencoderTransformer(**ARCH, max_epochs=1, random_state=0).fit(X)
    before = -est.score(X)
    net = AcceleratedNet(
        copy.deepcopy(est.net_.module_),  # an initialised module: skorch takes it as is
        criterion=_ModuleLoss,
        optimizer=torch.optim.Adam,
        lr=5e-3,
        max_epochs=20,
        batch_size=32,
        train_split=None,
        iterator_train__shuffle=True,
        accelerator=accelerator,
    )
    net.fit({"x": X}, None)
    losses = net.history[:, "train_loss"]
    accelerator.print(
        f"{accelerator.num_processes} processes; train loss per epoch: "
        + " ".join(f"{v:.4f}" for v in losses)
    )
    # every process must hold the same weights after training
    trained = accelerator.unwrap_model(net.module_)
    flat = torch.cat([p.detach().flatten() for p in trained.parameters()])
    sums = accelerator.gather(flat.sum().reshape(1).to(accelerator.device))
    same = bool(torch.allclose(sums, sums[0]))
    accelerator.print(f"weights identical across processes: {same}")
    ok = same and losses[-1] < 0.6 * losses[0]
    if accelerator.is_main_process:
        # Hand the trained weights back to the estimator. One partial_fit epoch
        # recomputes what its fit derives from the weights after training (the
        # pooled features' share thresholds, the components that transform
        # returns, and the span that score_samples decodes from).
        est.net_.module_.load_state_dict(trained.state_dict())
        est.partial_fit(X)
        after = -est.score(X)
        print(
            "estimator's reconstruction error (mean absolute, input units): "
            f"{before:.4f} after its one epoch, {after:.4f} with the trained weights"
        )
        ok = ok and after < 0.8 * before
    accelerator.wait_for_everyone()
    print(f"process {accelerator.process_index}: {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
