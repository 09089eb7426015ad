"""LSTM autoencoder: encoder, optional bottleneck, reconstruct and/or predict decoders.

After Srivastava et al. 2015, "Unsupervised Learning of Video Representations using
LSTMs": one encoder; a decoder that reconstructs the input (optionally in reverse
order), a decoder that predicts the sequence's continuation, or both ("composite").
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .decoder import ConditionalDecoder, RepeatDecoder
from .encoder import RecurrentEncoder
from .functional import length_mask, masked_mse, reverse_padded, weighted_mean

__all__ = ["SequenceAutoencoder"]

OBJECTIVES = ("reconstruct", "predict", "composite")


def _detach(state):
    return tuple(s.detach() if s is not None else None for s in state)


class SequenceAutoencoder(nn.Module):
    """Recurrent autoencoder with reconstruct / predict / composite decoders.

    Shape symbols: N batch, L input length, M future length, F features, C encoding
    size (``n_components``, or D*H without a bottleneck).

    Forward
    -------
    x : Tensor (N, L, F); lengths : Tensor (N,) or None
    future : Tensor (N, M, F) or None
        The continuation to predict (teacher-forcing input for a conditional decoder
        in training; its length sets M).
    n_future : int, optional
        M when ``future`` is not given (inference).

    Returns a dict: ``encoding`` (N, C), ``reconstruction`` (N, L, F) in the original
    order (None for the "predict" objective) and ``forecast`` (N, M, F) (None for
    "reconstruct").
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        n_components: int | None = None,
        objective: str = "reconstruct",
        conditional: bool = False,
        reverse_target: bool = True,
    ) -> None:
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(
                f"objective must be one of {OBJECTIVES}, got {objective!r}."
            )
        self.objective = objective
        self.conditional = conditional
        self.reverse_target = reverse_target
        self.encoder = RecurrentEncoder(
            input_size, hidden_size, num_layers, cell, bidirectional, dropout
        )
        enc_size = self.encoder.output_size
        if n_components is None:
            self.bottleneck: nn.Module = nn.Identity()
            self.encoding_size = enc_size
        else:
            self.bottleneck = nn.Linear(enc_size, n_components)
            self.encoding_size = n_components
        decoder_cls = ConditionalDecoder if conditional else RepeatDecoder
        kw = dict(num_layers=num_layers, cell=cell, dropout=dropout)
        self.reconstructor = (
            decoder_cls(self.encoding_size, input_size, hidden_size, **kw)
            if objective in ("reconstruct", "composite")
            else None
        )
        self.predictor = (
            decoder_cls(self.encoding_size, input_size, hidden_size, **kw)
            if objective in ("predict", "composite")
            else None
        )

    # -- encoding ---------------------------------------------------------------
    def hidden_states(
        self, x: Tensor, lengths: Tensor | None = None
    ) -> tuple[Tensor, tuple[Tensor, Tensor | None]]:
        """The encoder's per-step outputs (N, L, D*H) and final ``(h_n, c_n)``."""
        return self.encoder(x, lengths)

    def encode(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The fixed-length encoding (N, C) of each sequence."""
        _, (h_n, _) = self.encoder(x, lengths, cell_state=False)
        return self.bottleneck(self.encoder.final_hidden(h_n))  # (N, C)

    # -- decoding ---------------------------------------------------------------
    def reconstruct(
        self,
        z: Tensor,
        n_steps: int,
        lengths: Tensor | None = None,
        target: Tensor | None = None,
    ) -> Tensor:
        """Decode ``z`` (N, C) into (N, L, F), returned in the original time order.

        ``target`` (N, L, F, original order) enables teacher forcing (conditional
        decoder). With ``reverse_target`` the decoder emits the sequence backwards,
        each sequence within its own length.
        """
        if self.reverse_target and target is not None:
            target = reverse_padded(target, lengths)
        out, _ = self.reconstructor(z, n_steps, target=target)  # (N, L, F)
        if self.reverse_target:
            out = reverse_padded(out, lengths)
        return out

    def forecast(self, z: Tensor, n_steps: int, target: Tensor | None = None) -> Tensor:
        """Decode the continuation (N, M, F) from ``z`` (N, C)."""
        out, _ = self.predictor(z, n_steps, target=target)
        return out

    def forward(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        future: Tensor | None = None,
        future_lengths: Tensor | None = None,
        n_future: int | None = None,
        generator: torch.Generator | None = None,
        **_: object,
    ) -> dict[str, Tensor | None]:
        z = self.encode(x, lengths)
        teacher = self.training and self.conditional
        recon = forecast = None
        if self.reconstructor is not None:
            recon = self.reconstruct(z, x.shape[1], lengths, x if teacher else None)
        if self.predictor is not None:
            m = future.shape[1] if future is not None else n_future
            forecast = self.forecast(z, m, future if teacher else None)
        return {"encoding": z, "reconstruction": recon, "forecast": forecast}

    def loss(
        self,
        outputs: dict[str, Tensor | None],
        x: Tensor,
        lengths: Tensor | None = None,
        future: Tensor | None = None,
        future_lengths: Tensor | None = None,
        reduction: str = "mean",
        sample_weight: Tensor | None = None,
        **_: object,
    ) -> Tensor:
        """Mean squared error over valid steps, summed over the active decoders.

        ``reduction="none"`` gives one value per sequence (N,); ``sample_weight``
        (N,) makes the mean a weighted one.
        """
        if sample_weight is not None and reduction != "none":
            per = self.loss(outputs, x, lengths, future, future_lengths, "none")
            return weighted_mean(per, sample_weight)
        loss = 0.0
        if outputs["reconstruction"] is not None:
            loss = loss + masked_mse(outputs["reconstruction"], x, lengths, reduction)
        if outputs["forecast"] is not None:
            loss = loss + masked_mse(
                outputs["forecast"], future, future_lengths, reduction
            )
        return loss

    # -- truncated backpropagation through time ------------------------------------
    def truncated_backward(
        self,
        chunk_size: int,
        x: Tensor,
        lengths: Tensor | None = None,
        future: Tensor | None = None,
        future_lengths: Tensor | None = None,
        **_: object,
    ) -> Tensor:
        """One training step's loss and gradients with truncated BPTT.

        The encoder and the decoders run ``chunk_size`` steps at a time; the recurrent
        state is carried across chunks but gradients stop at chunk borders, so memory
        does not grow with the sequence length. The decoders' gradients with respect
        to the encoding are accumulated over all their chunks and then sent back into
        the encoder's final chunk. Calls ``backward`` itself; returns the (detached)
        loss, equal to :meth:`loss` of the full forward pass.
        """
        if self.encoder.num_directions == 2:
            raise ValueError("Truncated BPTT needs a unidirectional encoder.")
        z = self.bottleneck(
            self.encoder.final_hidden(self._encode_chunked(x, lengths, chunk_size))
        )
        z_leaf = z.detach().requires_grad_()
        total = x.new_zeros(())
        if self.reconstructor is not None:
            target = reverse_padded(x, lengths) if self.reverse_target else x
            total += self._decode_chunked(
                self.reconstructor, z_leaf, target, lengths, chunk_size
            )
        if self.predictor is not None:
            total += self._decode_chunked(
                self.predictor, z_leaf, future, future_lengths, chunk_size
            )
        z.backward(z_leaf.grad)
        return total

    def _encode_chunked(self, x: Tensor, lengths: Tensor | None, chunk: int) -> Tensor:
        """Final hidden states (K*D, N, H), gradients only through each final chunk."""
        n, max_len = x.shape[0], x.shape[1]
        state = None
        if lengths is None:
            for start in range(0, max_len, chunk):
                if state is not None:
                    state = _detach(state)
                _, state = self.encoder(x[:, start : start + chunk], state=state)
            return state[0]
        lengths = lengths.to(x.device)
        k = self.encoder.num_layers * self.encoder.num_directions
        h = x.new_zeros(k, n, self.encoder.hidden_size)
        state = (h, torch.zeros_like(h) if self.encoder.cell == "lstm" else None)
        final = h
        for start in range(0, int(lengths.max()), chunk):
            valid = (lengths - start).clamp(0, chunk)  # (N,)
            rows = valid.nonzero().squeeze(1)
            sub_state = tuple(s[:, rows] if s is not None else None for s in state)
            _, new = self.encoder(
                x[rows, start : start + chunk], valid[rows], sub_state
            )
            ended = lengths[rows] <= start + chunk
            final = final.index_copy(1, rows[ended], new[0][:, ended])
            state = tuple(
                s.index_copy(1, rows, ns.detach()) if s is not None else None
                for s, ns in zip(state, new)
            )
        return final

    def _decode_chunked(self, decoder, z, target, lengths, chunk) -> Tensor:
        n, max_len, n_feat = target.shape
        if lengths is None:
            n_valid = float(n * max_len * n_feat)
            mask = None
        else:
            n_valid = float(lengths.sum()) * n_feat
            mask = length_mask(lengths.to(target.device), max_len)[
                :, :, None
            ]  # (N, L, 1)
        state = prev = None
        total = target.new_zeros(())
        for start in range(0, max_len, chunk):
            tgt = target[:, start : start + chunk]  # (N, k, F)
            out, state = decoder(
                z,
                tgt.shape[1],
                target=tgt if self.conditional else None,
                state=state,
                prev=prev,
            )
            sq = (out - tgt).pow(2)
            if mask is not None:
                sq = sq * mask[:, start : start + chunk]
            loss = sq.sum() / n_valid
            loss.backward()
            total += loss.detach()
            state = _detach(state)
            prev = tgt[:, -1] if self.conditional else None
        return total
