"""Encoder as feature extractor: autoencoder features next to PCA on a real problem.

GunPoint, from the UCR time-series classification archive (shipped with sksequence:
:func:`sksequence.datasets.load_gunpoint`): 150 frames of a hand's x-coordinate, the
actor drawing a gun from a holster or pointing a finger. The autoencoder never sees
the labels; a logistic regression on its features (its defaults: the pooled encoder
features) classifies the test series, next to the same pipeline on ``PCA(16)`` of the
raw values, and on a 16-value encoding from the same autoencoder
(``n_components=16``: the 16 leading principal components of its default features).

With ``SKSEQUENCE_EXAMPLES_QUICK=1`` (as in the documentation build) the autoencoders
train for 160 optimizer updates instead of their default 1000, which takes a few
seconds (the full fits take about 20 s of CPU each).
Saves autoencoder_features.png (a 2-D PCA of each feature space, coloured by class).
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksequence import LSTMAutoencoderTransformer
from sksequence.datasets import load_gunpoint

QUICK = os.environ.get("SKSEQUENCE_EXAMPLES_QUICK") == "1"
BUDGET = dict(max_epochs=40) if QUICK else {}  # default: 1000 optimizer updates

data = load_gunpoint()
X_train, y_train, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test

firsts = {
    "autoencoder (defaults)": LSTMAutoencoderTransformer(random_state=0, **BUDGET),
    "autoencoder, n_components=16": LSTMAutoencoderTransformer(
        n_components=16, random_state=0, **BUDGET
    ),
    "PCA(16) of the raw values": PCA(16, random_state=0),
}
pipes = {}
for name, first in firsts.items():
    pipe = make_pipeline(first, StandardScaler(), LogisticRegression(max_iter=2000))
    pipes[name] = pipe.fit(X_train, y_train)
    accuracy = pipe.score(X_test, y_test)
    print(f"{name:36s} + logistic regression: {accuracy:.3f} test accuracy")

fig, axes = plt.subplots(1, len(pipes), figsize=(4 * len(pipes), 3.6))
for ax, (name, pipe) in zip(axes, pipes.items()):
    Z = PCA(2).fit_transform(StandardScaler().fit_transform(pipe[0].transform(X_test)))
    for label, kind in ((1, "gun"), (2, "no gun")):
        ax.scatter(*Z[y_test == label].T, s=10, label=kind)
    ax.set(title=f"{name}\n(test series, first 2 PCs)")
    ax.title.set_fontsize(9)
axes[0].legend()
fig.tight_layout()
fig.savefig("autoencoder_features.png", dpi=100)
print("Saved autoencoder_features.png")
