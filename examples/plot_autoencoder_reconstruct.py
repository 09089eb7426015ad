"""Reconstruction LSTM autoencoder: the classic tutorial sequence 0.1 ... 0.9.

The encoder reads the 9-step sequence into one vector; the decoder rebuilds the sequence
from it (trained in reverse order, returned in the original one). Saves
autoencoder_reconstruct.png with the input, its reconstruction and the training curve.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sksequence import LSTMAutoencoderTransformer

seq = np.linspace(0.1, 0.9, 9).reshape(1, 9, 1)  # (n_samples, n_timesteps, n_features)
ae = LSTMAutoencoderTransformer(
    hidden_size=100, lr=1e-2, max_epochs=300, n_iter_no_change=300, random_state=0
)
ae.fit(seq)
recon = ae.inverse_transform(ae.transform(seq))
print("input:        ", np.round(seq.ravel(), 3))
print("reconstructed:", np.round(recon.ravel(), 3))
print(f"max abs error: {np.abs(recon - seq).max():.4f} after {ae.n_epochs_} epochs")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(seq.ravel(), "o-", label="input")
ax1.plot(recon.ravel(), "x--", label="reconstruction")
ax1.set(title="Reconstruction", xlabel="timestep")
ax1.legend()
ax2.semilogy(ae.history_[:, "train_loss"])
ax2.set(title="Training loss (history_)", xlabel="epoch", ylabel="MSE")
fig.tight_layout()
fig.savefig("autoencoder_reconstruct.png", dpi=100)
print("Saved autoencoder_reconstruct.png")
