"""Where does the decoder look? An attention heatmap.

A ``Seq2SeqClassifier`` with Luong "general" attention learns to spell words
backwards: the input is a word of 4 to 8 random letters (one-hot, a list of arrays of
different lengths), the target the same letters reversed (a list of label sequences of
different lengths, so the model also learns where to stop). ``attention_weights``
returns, for every output letter, the weights over the input letters: reversing shows
up as an anti-diagonal, and the padding after a short word gets exactly zero weight.

Run:  python examples/plot_attention_heatmap.py   (saves attention_heatmap.png).
With ``SKSEQUENCE_EXAMPLES_QUICK=1`` (as in the documentation build) it trains on
1,000 words instead of 4,000.
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sksequence import Seq2SeqClassifier

LETTERS = np.array(list("abcdefghij"))
# small settings for the documentation build
QUICK = os.environ.get("SKSEQUENCE_EXAMPLES_QUICK") == "1"
N_TRAIN = 1000 if QUICK else 4000


def make_words(n, seed):
    rng = np.random.RandomState(seed)
    words = [LETTERS[rng.randint(0, 10, size=rng.randint(4, 9))] for _ in range(n)]
    X = [np.eye(10)[np.searchsorted(LETTERS, w)] for w in words]  # one-hot letters
    y = [w[::-1] for w in words]
    return words, X, y


def main(out="attention_heatmap.png"):
    _, X, y = make_words(N_TRAIN, seed=0)
    clf = Seq2SeqClassifier(
        attention="general", hidden_size=64, lr=3e-3, max_epochs=15, random_state=0
    )
    clf.fit(X, y)
    words, X_test, y_test = make_words(500, seed=1)
    print(
        f"Trained on {N_TRAIN} words for {clf.n_iter_} epochs. Exact-word accuracy "
        f"on 500 new words: {clf.score(X_test, y_test):.3f}"
    )

    pred = clf.predict(X_test[:2])
    weights = clf.attention_weights(X_test[:2])  # (2, 9, 8): steps x input letters
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
    for ax, word, p, w in zip(axes, words, pred, weights):
        shown = w[: len(p) + 1]  # the predicted letters and the end symbol
        im = ax.imshow(shown, cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(w.shape[1]))
        ax.set_xticklabels(list(word) + ["(pad)"] * (w.shape[1] - len(word)))
        ax.set_yticks(range(len(shown)))
        ax.set_yticklabels(list(p) + ["<end>"])
        ax.set(
            xlabel="input letter",
            ylabel="output letter",
            title=f"{''.join(word)} -> {''.join(p)}",
        )
    fig.colorbar(im, ax=axes, shrink=0.8, label="attention weight")
    fig.savefig(out, dpi=100)
    print(f"Saved {out}")
    return clf


if __name__ == "__main__":
    main()
