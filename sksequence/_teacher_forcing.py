"""Scheduled sampling: teacher forcing decayed over epochs (Bengio et al. 2015)."""

from __future__ import annotations

import math

from skorch.callbacks import Callback

__all__ = ["SCHEDULES", "TeacherForcingSchedule", "teacher_forcing_schedule"]

SCHEDULES = ("linear", "exponential", "inverse_sigmoid")


def teacher_forcing_schedule(schedule, epoch, *, start=1.0, decay=None, max_epochs=100):
    """Teacher forcing ratio of an epoch under scheduled sampling (Bengio et al. 2015).

    With ``i`` the epoch (from 0) and ``k`` the ``decay``:

    - ``"linear"``: ``max(0, start - k * i)``; default ``k = start / max_epochs``
      (reaches 0 at the end of training);
    - ``"exponential"``: ``start * k ** i`` with ``0 < k < 1``; default
      ``k = 0.05 ** (1 / max_epochs)`` (5% of ``start`` at the end);
    - ``"inverse_sigmoid"``: ``start * k / (k + exp(i / k))`` with ``k >= 1``; default
      ``k`` puts the midpoint (``i = k log k``) half way through training.

    Parameters
    ----------
    schedule : {"linear", "exponential", "inverse_sigmoid"}
    epoch : int
    start : float, default=1.0
        The ratio before decay.
    decay : float, default=None
        ``k`` above; None for the defaults above.
    max_epochs : int, default=100
        Sets the defaults.

    Returns
    -------
    float in [0, start]

    Examples
    --------
    >>> from sksequence._teacher_forcing import teacher_forcing_schedule
    >>> [round(teacher_forcing_schedule("linear", i, max_epochs=4), 2) for i in range(5)]
    [1.0, 0.75, 0.5, 0.25, 0.0]
    """
    if schedule == "linear":
        k = start / max_epochs if decay is None else decay
        return max(0.0, start - k * epoch)
    if schedule == "exponential":
        k = 0.05 ** (1.0 / max_epochs) if decay is None else decay
        return start * k**epoch
    if schedule == "inverse_sigmoid":
        k = _midpoint_k(max_epochs / 2.0) if decay is None else max(1.0, decay)
        return start * k / (k + math.exp(min(epoch / k, 700.0)))
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}.")


def _midpoint_k(midpoint: float) -> float:
    """The k >= 1 with k * log(k) = midpoint (Newton's method)."""
    k = max(2.0, midpoint)
    for _ in range(50):
        k = max(1.0, k - (k * math.log(k) - midpoint) / (math.log(k) + 1.0))
    return k


class TeacherForcingSchedule(Callback):
    """skorch callback: set the module's teacher forcing ratio at each epoch start.

    Records the ratio in the history as ``teacher_forcing_ratio``.
    """

    def __init__(self, schedule, start=1.0, decay=None, max_epochs=100):
        self.schedule = schedule
        self.start = start
        self.decay = decay
        self.max_epochs = max_epochs

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        epoch = len(net.history) - 1
        ratio = teacher_forcing_schedule(
            self.schedule,
            epoch,
            start=self.start,
            decay=self.decay,
            max_epochs=self.max_epochs,
        )
        net.module_.teacher_forcing_ratio = ratio
        net.history.record("teacher_forcing_ratio", ratio)
