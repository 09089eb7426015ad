"""Prediction LSTM autoencoder: read the start of a sequence, decode its continuation.

With ``objective="predict"`` each training sequence is split: the encoder reads all but
the last ``n_future`` steps and the decoder learns to forecast those. Here: windows of a
noisy sine wave; after training, ``forecast`` continues unseen windows. Saves
autoencoder_predict.png.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sksequence import LSTMAutoencoderTransformer

rng = np.random.RandomState(0)
t0 = rng.uniform(0, 2 * np.pi, size=500)
steps = np.arange(30) * 0.25
X = np.sin(t0[:, None] + steps) + 0.05 * rng.randn(500, 30)
X = X[:, :, None]  # 3-D (n_samples, n_timesteps, 1): windows of any length welcome

ae = LSTMAutoencoderTransformer(
    objective="predict",
    n_future=10,
    hidden_size=32,
    lr=5e-3,
    max_epochs=60,
    random_state=0,
)
ae.fit(X[:400])
observed, future = X[400:, :20], X[400:, 20:, 0]
pred = ae.forecast(observed)[:, :, 0]  # (100, 10)
rmse = np.sqrt(((pred - future) ** 2).mean())
naive = np.sqrt(((observed[:, -1:, 0] - future) ** 2).mean())
print(f"forecast RMSE over 10 steps: {rmse:.3f} (repeat-last-value: {naive:.3f})")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
for ax, i in zip(axes, range(3)):
    ax.plot(range(20), observed[i, :, 0], "k.-", label="observed")
    ax.plot(range(20, 30), future[i], "g.-", label="held-out truth")
    ax.plot(range(20, 30), pred[i], "r--", label="forecast")
    ax.set(title=f"test window {i}", xlabel="timestep")
axes[0].legend(fontsize=8)
fig.tight_layout()
fig.savefig("autoencoder_predict.png", dpi=100)
print("Saved autoencoder_predict.png")
