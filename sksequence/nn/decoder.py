"""Sequence decoders that unroll a fixed-length encoding back into a sequence."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .encoder import make_rnn

__all__ = ["RepeatDecoder", "ConditionalDecoder"]

State = tuple[Tensor, Tensor | None]


class _DecoderBase(nn.Module):
    """Shared parts: initial state from the encoding, output projection.

    Shape symbols: N batch, L output length, C encoding size, H hidden size,
    K layers, F output features.
    """

    def __init__(
        self,
        encoding_size: int,
        output_size: int,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        cell: str = "lstm",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.rnn = make_rnn(cell, input_size, hidden_size, num_layers, False, dropout)
        self.init_state = nn.Linear(encoding_size, num_layers * hidden_size)
        self.head = nn.Linear(hidden_size, output_size)

    def initial_state(self, z: Tensor) -> State:
        """(h_0, c_0) of shape (K, N, H) from the encoding ``z`` (N, C)."""
        h0 = torch.tanh(self.init_state(z))  # (N, K*H)
        h0 = h0.view(z.shape[0], self.num_layers, self.hidden_size).transpose(0, 1)
        h0 = h0.contiguous()  # (K, N, H)
        if self.cell == "gru":
            return h0, None
        return h0, torch.zeros_like(h0)

    def _run(
        self, inputs: Tensor, state: State, steps: Tensor | None = None
    ) -> tuple[Tensor, State]:
        hx = state[0] if self.cell == "gru" else state
        out, hidden = self.rnn(inputs, hx)  # (N, L, H)
        if self.cell == "gru":
            hidden = (hidden, None)
        if steps is not None and steps.dim() == 1:  # only these steps' outputs
            out = out.index_select(1, steps)  # (N, S, H)
        elif steps is not None:  # (N, S): each sequence's own steps
            out = out.gather(1, steps[:, :, None].expand(-1, -1, out.shape[-1]))
        return self.head(out), hidden  # (N, L, F), or (N, S, F) with steps


class RepeatDecoder(_DecoderBase):
    """Unconditioned decoder: the encoding is the input at every step.

    The classic "RepeatVector" model (Srivastava et al. 2015's unconditioned decoder):
    the decoder never sees its own outputs, so the encoding must carry everything.

    Forward: ``z`` (N, C), ``n_steps`` L, optional ``state`` to continue from,
    optional ``steps`` (S,), or (N, S) for each sequence its own: only these
    steps' outputs are computed (the recurrence still runs over all L). Returns
    ``(y, state)``: ``y`` (N, L, F) (or (N, S, F)).
    """

    def __init__(
        self, encoding_size: int, output_size: int, hidden_size: int, **kw
    ) -> None:
        super().__init__(encoding_size, output_size, encoding_size, hidden_size, **kw)

    def forward(
        self,
        z: Tensor,
        n_steps: int,
        state: State | None = None,
        steps: Tensor | None = None,
        **_: object,
    ) -> tuple[Tensor, State]:
        if state is None:
            state = self.initial_state(z)
        inputs = z[:, None, :].expand(z.shape[0], n_steps, z.shape[1])  # (N, L, C)
        return self._run(inputs, state, steps)


class ConditionalDecoder(_DecoderBase):
    """Conditional decoder: each step is fed the previous output (and the encoding).

    In training the previous *target* is fed instead (teacher forcing), which runs as
    one recurrent call over all steps; at inference the decoder feeds back its own
    predictions one step at a time.

    Forward: ``z`` (N, C), ``n_steps`` L, ``target`` (N, L, F) for teacher forcing or
    None to feed back predictions, ``state`` and ``prev`` (N, F) to continue a decode.
    Returns ``(y, state)``: ``y`` (N, L, F).
    """

    def __init__(
        self, encoding_size: int, output_size: int, hidden_size: int, **kw
    ) -> None:
        super().__init__(
            encoding_size, output_size, encoding_size + output_size, hidden_size, **kw
        )

    def forward(
        self,
        z: Tensor,
        n_steps: int,
        target: Tensor | None = None,
        state: State | None = None,
        prev: Tensor | None = None,
    ) -> tuple[Tensor, State]:
        n = z.shape[0]
        if state is None:
            state = self.initial_state(z)
        if prev is None:
            prev = z.new_zeros(n, self.output_size)  # start symbol: all zeros
        if target is not None:
            shifted = torch.cat([prev[:, None, :], target[:, : n_steps - 1]], dim=1)
            zs = z[:, None, :].expand(n, n_steps, z.shape[1])  # (N, L, C)
            return self._run(torch.cat([shifted, zs], dim=2), state)  # (N, L, F)
        outputs = []
        for _ in range(n_steps):
            y, state = self._run(torch.cat([prev, z], dim=1)[:, None, :], state)
            prev = y[:, 0]  # (N, F)
            outputs.append(y)
        return torch.cat(outputs, dim=1), state  # (N, L, F)
