"""Handwritten digits read row by row: an image as an 8-step sequence.

scikit-learn's digits are 8 x 8 images. Read top to bottom, each image is a sequence of
8 timesteps with 8 features (the pixel row). ``SequenceClassifier`` with its defaults
(only ``random_state`` set) learns the ten classes from 1,347 training images.
Compared with a plain one-layer LSTM on its last hidden state (the tutorial way) and a
logistic regression on the flattened pixels. Saves digits_classifier.png (test
digits with their predicted labels, misclassified ones in red).

With ``SKSEQUENCE_EXAMPLES_QUICK=1`` (as in the documentation build) both recurrent
models train for 10 epochs instead of the classifier's default and 30.
"""

import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from sksequence import SequenceClassifier

# small settings for the documentation build
QUICK = os.environ.get("SKSEQUENCE_EXAMPLES_QUICK") == "1"
SHORT = {"max_epochs": 10} if QUICK else {}  # else the classifier's defaults

digits = load_digits()
X = digits.images / 16.0  # (n_samples, 8 timesteps = rows, 8 features = pixels)
y = digits.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

start = time.perf_counter()
clf = SequenceClassifier(random_state=0, **SHORT).fit(X_train, y_train)
fit_s = time.perf_counter() - start
print(
    f"SequenceClassifier{' (10 epochs)' if QUICK else ' (defaults)'}: {clf.score(X_test, y_test):.3f} test accuracy "
    f"(fit {fit_s:.0f} s, {clf.n_epochs_} epochs)"
)

plain = SequenceClassifier(
    conv_channels=None,
    pooling="last",
    bidirectional=False,
    scaling="none",
    optimizer="adam",
    lr=1e-3,
    weight_decay=0.0,
    lr_schedule="constant",
    batch_size=32,
    max_epochs=10 if QUICK else 30,
    random_state=0,
).fit(X_train, y_train)
print(f"plain one-layer LSTM, last state: {plain.score(X_test, y_test):.3f}")

logreg = LogisticRegression(max_iter=2000).fit(
    X_train.reshape(len(X_train), -1), y_train
)
print(
    "logistic regression on pixels:   "
    f"{logreg.score(X_test.reshape(len(X_test), -1), y_test):.3f}"
)

pred = clf.predict(X_test)
order = np.r_[np.flatnonzero(pred != y_test), np.flatnonzero(pred == y_test)][:24]
fig, axes = plt.subplots(3, 8, figsize=(8, 3.4))
for ax, i in zip(axes.ravel(), order):
    ax.imshow(X_test[i], cmap="gray_r")
    ax.set_title(f"{pred[i]}", color="red" if pred[i] != y_test[i] else "black")
    ax.axis("off")
fig.suptitle("Digits read row by row: predicted labels (errors in red)")
fig.tight_layout()
fig.savefig("digits_classifier.png", dpi=100)
print("Saved digits_classifier.png")
