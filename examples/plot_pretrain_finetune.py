"""Autoencoder pre-training, then fine-tuning a classifier (Srivastava et al. 2015).

Many unlabelled sequences, few labelled ones. An ``LSTMAutoencoderTransformer`` learns
to reconstruct all 1,500 sequences without their labels; its encoder weights then
initialise a ``SequenceClassifier`` trained on only 40 labelled sequences, either
fine-tuned end to end or with the encoder frozen. Compared with the same classifier
trained from random weights. Saves pretrain_finetune.png (test accuracy after each
number of training epochs, for the three).

The transferred classifier takes the autoencoder's convolutional front end,
recurrent encoder and input scaling (both estimators' defaults, with 32 units per
direction here to keep the example quick); window warping is off so that each
classifier is fitted once.

With ``SKSEQUENCE_EXAMPLES_QUICK=1`` (as in the documentation build) the autoencoder
pre-trains on 300 unlabelled sequences for 190 optimizer updates (instead of 1,500
sequences for its default 1000 updates), and the classifiers train for 5 and 20
epochs only.
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy import signal

from sksequence import LSTMAutoencoderTransformer, SequenceClassifier

# small settings for the documentation build
QUICK = os.environ.get("SKSEQUENCE_EXAMPLES_QUICK") == "1"
N_UNLABELLED = 300 if QUICK else 1500
AE_BUDGET = dict(max_epochs=10) if QUICK else {}  # default: 1000 optimizer updates

rng = np.random.RandomState(0)
n, T = 2000, 40
y = rng.randint(0, 3, n)
t = np.linspace(0, 1, T)
freq = rng.uniform(1.0, 3.0, size=(n, 1))
phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
arg = 2 * np.pi * freq * t + phase
waves = [np.sin(arg), signal.square(arg), signal.sawtooth(arg)]
X = (np.choose(y[:, None], waves) + 0.3 * rng.randn(n, T))[:, :, None]

X_unlabelled = X[:N_UNLABELLED]  # labels unused
X_few, y_few = X[1500:1540], y[1500:1540]  # 40 labelled sequences
X_test, y_test = X[1600:], y[1600:]

arch = dict(hidden_size=32, window_warp=None)
ae = LSTMAutoencoderTransformer(hidden_size=32, random_state=0, **AE_BUDGET)
ae.fit(X_unlabelled)
print(
    f"autoencoder: {len(X_unlabelled)} unlabelled sequences, {ae.n_iter_} epochs, "
    f"final loss {ae.loss_curve_[-1]:.4f}"
)

epochs = [5, 20] if QUICK else [5, 10, 20, 40, 80]
curves = {"from scratch": [], "pre-trained, fine-tuned": [], "pre-trained, frozen": []}
for max_epochs in epochs:
    common = dict(max_epochs=max_epochs, n_iter_no_change=max_epochs, random_state=0)
    models = {
        "from scratch": SequenceClassifier(**arch, **common),
        "pre-trained, fine-tuned": SequenceClassifier(encoder=ae, **arch, **common),
        "pre-trained, frozen": SequenceClassifier(
            encoder=ae, freeze_encoder=True, **arch, **common
        ),
    }
    for name, clf in models.items():
        acc = clf.fit(X_few, y_few).score(X_test, y_test)
        curves[name].append(acc)
        print(f"{max_epochs:3d} epochs  {name:24s} test accuracy {acc:.3f}")

fig, ax = plt.subplots(figsize=(5.5, 3.8))
for name, accs in curves.items():
    ax.plot(epochs, accs, marker="o", label=name)
ax.set(
    xscale="log",
    xlabel="training epochs on 40 labelled sequences",
    ylabel="test accuracy",
    title="Autoencoder pre-training, then fine-tuning",
)
ax.set_xticks(epochs, [str(e) for e in epochs])
ax.minorticks_off()
ax.legend()
fig.tight_layout()
fig.savefig("pretrain_finetune.png", dpi=100)
print("Saved pretrain_finetune.png")
