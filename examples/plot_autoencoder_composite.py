"""Composite LSTM autoencoder (Srivastava et al. 2015): one encoder, two decoders.

One decoder reconstructs the observed part (in reverse), the other predicts what comes
next; both train the same encoder. On the tutorial sequence 0.1 ... 0.9, the encoder
reads 0.1 ... 0.5. Saves autoencoder_composite.png.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sksequence import LSTMAutoencoderTransformer

seq = np.linspace(0.1, 0.9, 9).reshape(1, 9, 1)
ae = LSTMAutoencoderTransformer(
    objective="composite",
    n_future=4,
    hidden_size=100,
    lr=1e-2,
    max_epochs=300,
    n_iter_no_change=300,
    random_state=0,
)
ae.fit(seq)
observed = seq[:, :5]
recon = ae.inverse_transform(ae.transform(observed))
future = ae.forecast(observed)
print("reconstructed:", np.round(recon.ravel(), 3))
print("predicted:    ", np.round(future.ravel(), 3))

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(range(9), seq.ravel(), "ko-", label="sequence")
ax.plot(range(5), recon.ravel(), "bx--", label="reconstruction decoder")
ax.plot(range(5, 9), future.ravel(), "r^--", label="prediction decoder")
ax.axvline(4.5, color="gray", lw=0.5)
ax.set(title="Composite autoencoder", xlabel="timestep")
ax.legend()
fig.tight_layout()
fig.savefig("autoencoder_composite.png", dpi=100)
print("Saved autoencoder_composite.png")
