"""Encoder as feature extractor: autoencoder encodings feeding a scikit-learn classifier.

Sequences of three kinds of motion-like signals (sine, square, saw-tooth at random
phase and frequency, with noise). The autoencoder never sees the labels; an SVC on its
8-number encodings classifies them, next to the SVC on the raw values.
Saves autoencoder_features.png (a 2-D PCA of the encodings, coloured by class).
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy import signal
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sksequence import LSTMAutoencoderTransformer

rng = np.random.RandomState(0)
n, T = 300, 40
y = rng.randint(0, 3, n)
t = np.linspace(0, 1, T)
freq = rng.uniform(1.5, 3.0, size=(n, 1))
phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
arg = 2 * np.pi * freq * t + phase
waves = [np.sin(arg), signal.square(arg), signal.sawtooth(arg)]
X = np.choose(y[:, None], waves) + 0.1 * rng.randn(n, T)

ae_clf = make_pipeline(
    LSTMAutoencoderTransformer(n_components=8, random_state=0),  # defaults
    StandardScaler(),
    SVC(),
)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=100, random_state=0)
acc_ae = ae_clf.fit(X_train, y_train).score(X_test, y_test)
acc_raw = SVC().fit(X_train, y_train).score(X_test, y_test)
print(f"SVC on autoencoder encodings: {acc_ae:.3f} test accuracy")
print(f"SVC on raw values:            {acc_raw:.3f} test accuracy")

Z = ae_clf[0].transform(X)
Z2 = PCA(2).fit_transform(Z)
fig, ax = plt.subplots(figsize=(5, 4))
for k, name in enumerate(["sine", "square", "saw-tooth"]):
    ax.scatter(*Z2[y == k].T, s=10, label=name)
ax.set(title="Autoencoder encodings (PCA)")
ax.legend()
fig.tight_layout()
fig.savefig("autoencoder_features.png", dpi=100)
print("Saved autoencoder_features.png")
