"""Recurrent sequence encoder."""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["RecurrentEncoder", "make_rnn"]


def make_rnn(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
) -> nn.RNNBase:
    """An ``nn.LSTM`` or ``nn.GRU`` with ``batch_first=True``."""
    cls = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
    return cls(
        input_size=input_size,
        hidden_size=hidden_size,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout if num_layers > 1 else 0.0,
        batch_first=True,
    )


class RecurrentEncoder(nn.Module):
    """LSTM or GRU encoder over padded, possibly variable-length sequences.

    Shape symbols: N batch, L length (padded), F input features, H hidden size,
    D directions (2 if bidirectional else 1), K layers.

    Parameters
    ----------
    input_size : int
        F, features per timestep.
    hidden_size : int
        H, units per direction.
    num_layers : int
        K, stacked recurrent layers.
    cell : {"lstm", "gru"}
    bidirectional : bool
    dropout : float
        Dropout between stacked layers (ignored when ``num_layers == 1``).

    Forward
    -------
    x : Tensor (N, L, F)
    lengths : Tensor (N,) or None
        Valid steps per sequence. When given, the batch is packed so that padding
        never reaches the recurrent state.

    Returns ``(outputs, (h_n, c_n))``: ``outputs`` (N, L, D*H), every timestep's
    last-layer hidden state (zero on padding); ``h_n`` and ``c_n`` (K*D, N, H), the
    final states as ``nn.LSTM`` returns them (``c_n`` is None for a GRU).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.num_directions = 2 if bidirectional else 1
        self.rnn = make_rnn(
            cell, input_size, hidden_size, num_layers, bidirectional, dropout
        )

    @property
    def output_size(self) -> int:
        """D*H, the size of each timestep's output and of :meth:`final_hidden`."""
        return self.num_directions * self.hidden_size

    def forward(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        state: tuple[Tensor, Tensor | None] | None = None,
    ) -> tuple[Tensor, tuple[Tensor, Tensor | None]]:
        hx = None
        if state is not None:
            hx = state[0] if self.cell == "gru" else state
        if lengths is None:
            outputs, hidden = self.rnn(x, hx)  # (N, L, D*H)
        else:
            packed = pack_padded_sequence(
                x, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            packed_out, hidden = self.rnn(packed, hx)
            outputs, _ = pad_packed_sequence(
                packed_out, batch_first=True, total_length=x.shape[1]
            )  # (N, L, D*H)
        if self.cell == "gru":
            return outputs, (hidden, None)
        return outputs, hidden

    def final_hidden(self, h_n: Tensor) -> Tensor:
        """The last layer's final hidden state, directions concatenated: (N, D*H)."""
        last = h_n.view(self.num_layers, self.num_directions, *h_n.shape[1:])[-1]
        return last.transpose(0, 1).reshape(h_n.shape[1], -1)  # (N, D*H)
