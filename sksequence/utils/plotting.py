"""Training curves in one line: ``plot_history(est)``."""

from __future__ import annotations

__all__ = ["plot_history"]


def plot_history(estimator, keys=("train_loss", "valid_loss"), *, ax=None, log=None):
    """Plot a fitted estimator's per-epoch training record.

    Parameters
    ----------
    estimator : fitted sksequence estimator, or a skorch ``History``
        Anything with ``history_`` (or a history itself).
    keys : sequence of str, default=("train_loss", "valid_loss")
        The history entries to draw, one line each; entries missing from every
        epoch are skipped (e.g. ``valid_loss`` without validation data). Other
        per-epoch entries work too, such as ``"grad_norm"`` or a scoring
        callback's name.
    ax : matplotlib Axes, default=None
        Where to draw (a new figure if None).
    log : bool, default=None
        Logarithmic y axis; None: when every drawn value is positive.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from sksequence import LSTMAutoencoderTransformer
    >>> from sksequence.utils.plotting import plot_history
    >>> X = np.random.RandomState(0).randn(16, 10, 1)
    >>> ae = LSTMAutoencoderTransformer(hidden_size=4, max_epochs=3).fit(X)
    >>> ax = plot_history(ae)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    history = getattr(estimator, "history_", estimator)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    drawn = []
    for key in keys:
        points = [(row["epoch"], row[key]) for row in history if key in row]
        if not points:
            continue
        epochs, values = zip(*points)
        ax.plot(epochs, values, label=key)
        drawn += values
    if not drawn:
        raise ValueError(
            f"None of {list(keys)} is in the history; it records "
            f"{sorted(set().union(*(row.keys() for row in history)))}."
        )
    if log is None:
        log = min(drawn) > 0
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.legend()
    return ax
