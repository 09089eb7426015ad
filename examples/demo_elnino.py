"""Main demo: which years had unusual Pacific sea temperatures?

Each year of the El Nino data set shipped with statsmodels (monthly sea-surface
temperatures off South America, 1950-2010) is a 12-step sequence. An LSTM autoencoder
learns a 2-number encoding of a year's curve; the years it reconstructs worst have the
most unusual seasonal curves (anomalies). The script prints them with how far each
year's mean temperature was from the 61-year average (El Nino years run warm, La Nina
years cold), and saves a plot of decoded curves, anomaly scores and the 2-D encodings.

Run:  python examples/demo_elnino.py   (saves demo_elnino.png)
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm

from sksequence import LSTMAutoencoderTransformer


def main(out="demo_elnino.png"):
    data = sm.datasets.elnino.load_pandas().data
    years = data["YEAR"].astype(int).to_numpy()
    X = data.drop(columns="YEAR").to_numpy()  # (61 years, 12 months): univariate
    # Raw degC: the autoencoder standardises its input itself and answers in degC.
    ae = LSTMAutoencoderTransformer(n_components=2, random_state=0)
    codes = ae.fit_transform(X)  # (61, 2): each year as two numbers
    recon = ae.inverse_transform(codes)[:, :, 0]  # decoded curves, degC
    scores = ae.score_samples(X)  # higher = more typical
    order = np.argsort(scores)

    print(
        f"Trained {ae.n_epochs_} epochs; final loss {ae.history_[-1, 'train_loss']:.4f}"
    )
    rmse = np.sqrt(((recon - X) ** 2).mean())
    print(f"Reconstruction RMSE: {rmse:.2f} degC (monthly std {X.std():.2f} degC)")
    print("Most unusual years (lowest score):")
    for i in order[:5]:
        dev = X[i].mean() - X.mean()
        print(
            f"  {years[i]}  score {scores[i]:.3f}  mean temp {dev:+.2f} degC vs average"
        )
    print("Most typical years:", ", ".join(str(years[i]) for i in order[-3:]))

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    months = np.arange(1, 13)
    for i, color in [(order[0], "C3"), (order[-1], "C0")]:
        axes[0].plot(months, X[i], color=color, label=f"{years[i]} actual")
        axes[0].plot(months, recon[i], "--", color=color, label=f"{years[i]} decoded")
    axes[0].set(title="Actual vs decoded year", xlabel="month", ylabel="degC")
    axes[0].legend(fontsize=8)
    axes[1].bar(
        years, -scores, color=["C3" if i in order[:5] else "C7" for i in range(61)]
    )
    axes[1].set(title="Anomaly score (reconstruction error)", xlabel="year")
    sc = axes[2].scatter(codes[:, 0], codes[:, 1], c=X.mean(axis=1), cmap="coolwarm")
    for i in order[:5]:
        axes[2].annotate(str(years[i]), codes[i])
    axes[2].set(title="2-D encodings (colour: mean temp)")
    fig.colorbar(sc, ax=axes[2])
    axes[0].figure.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"Saved {out}")
    return ae, scores, years


if __name__ == "__main__":
    main()
