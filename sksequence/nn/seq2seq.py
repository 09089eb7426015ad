"""Encoder-decoder (sequence-to-sequence) model with optional attention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import torch
from torch import nn
from torch.nn import functional as F

from .attention import LUONG_SCORES, BahdanauAttention, LuongAttention
from .decoding import beam_search, greedy_decode, sample_decode
from .encoder import RecurrentEncoder, make_rnn
from .functional import length_mask, take_steps, weighted_mean

ATTENTIONS = (None, *LUONG_SCORES, "bahdanau")
PATTERNS = ("recursive", "direct")
SCALINGS = (None, "last", "mean")


class Seq2Seq(nn.Module):
    """Recurrent encoder-decoder with optional Luong or Bahdanau attention.

    Shape symbols: N batch, L input steps, F input features (``input_size``), T output
    steps, H hidden size per direction (``hidden_size``), D directions (2 if
    ``bidirectional`` else 1), E = D * H (encoder output size, and the decoder's hidden
    size), O outputs (``output_size``: classes when ``categorical``, else targets),
    Y decoder input size.

    Two decoder patterns:

    - ``"recursive"`` (autoregressive): the decoder starts from the encoder's final
      states and a start input, and is fed the previous step's output: the true one
      with probability ``teacher_forcing_ratio`` in training, its own prediction
      otherwise (and always at inference).
    - ``"direct"``: the last layer's final encoder state is repeated as the input of
      every decoder step (the classic "RepeatVector" model); nothing is fed back.

    With ``categorical=True`` the decoder emits logits over O classes and is fed the
    previous class through an embedding with O + 1 rows (row O is the start token);
    otherwise it emits O values and is fed the previous values (a learned vector
    starts the sequence).

    Attention (``attention=``): Luong et al. (2015) global attention ("dot",
    "general", "concat", "location") scores the current decoder state; Bahdanau et al.
    (2015) additive attention ("bahdanau") scores the previous state and feeds the
    context into the decoder's input. Both produce the attentional hidden state
    ``tanh(W [c_t; h_t])`` from which the outputs are read. ``input_feeding`` feeds
    that state into the next step's input (Luong et al., section 3.3).

    Forecasting options (values only, not ``categorical``):

    - ``standardize``: every input feature is first standardised by the buffers
      ``input_mean`` and ``input_scale`` (set by the caller from the training data;
      0 and 1 until then). Outputs and targets are then in the standardised units:
      a caller standardises a target that is an input feature by that feature's
      statistics, and inverts the outputs the same way.
    - ``scaling``: every input window is scaled by its own statistics, per feature:
      ``(x - loc) / scale`` with ``loc`` the window's last valid value (``"last"``)
      or mean (``"mean"``) and ``scale`` its standard deviation over the valid steps
      (at least ``min_scale``). Outputs that are input features (``target_features``)
      are predicted in the same scaled units and returned in the input's units, so
      the model only learns shapes: a level or a trend outside the training range
      costs nothing, and one model serves series of different scales. :meth:`loss`
      compares in the scaled units, so every window weighs the same, or, with
      ``window_weight`` p > 0, its scale to the power p (normalised by the buffer
      ``window_weight_norm``, e.g. the training windows' mean of it): p = 2 is
      the squared error in the input's units. ``window_loss="absolute"`` takes
      the absolute error instead, and ``step_weight`` q > 0 also weighs each
      window by ``(scale / d) ** q``, ``d`` the mean absolute change between its
      consecutive valid input steps: with q = 1 the absolute error is in units of
      the window's own one-step naive error, the scale of MASE.
    - ``skip``: a linear path from the last ``max_length`` input steps to all
      ``horizon`` output steps is added to the decoder's outputs: a linear
      autoregression that the recurrent decoder corrects. ``"scaled"`` (or True)
      reads the scaled window and predicts in scaled units (exactly equivariant;
      it starts at zero, so with ``scaling="last"`` an untrained model forecasts
      the last value); ``"raw"`` reads the window in the input's units and
      predicts in them, as a ridge regression on the windows does, so it keeps
      the level information that scaling removes (mean reversion of stationary
      series). :meth:`fit_linear_path` sets it to its least-squares solution.
    - ``level`` (with ``scaling`` and a scaled ``skip``): the linear path also reads
      the window's level, where the input mean lies in the window's units,
      ``-loc / scale``, softly bounded to ``(-level_bound, level_bound)`` by a
      tanh (0 is the mean of the training inputs under ``standardize``). A
      weight ``w`` on it moves the forecast by about ``w * (mean - loc)`` in the
      input's units: the pull back to the mean of a stationary series that
      per-window scaling hides, bounded for windows far from it (a trend that
      leaves the training range).

    Teacher-forced training without input feeding, Bahdanau attention or sampled
    inputs runs the decoder as one RNN call over all T steps, and Luong attention as
    one batched matmul over all decoder states; anything else runs step by step.

    Parameters
    ----------
    input_size : int
        F.
    output_size : int
        O.
    hidden_size : int
        H.
    num_layers : int
        Layers of the encoder and of the decoder.
    cell : {"lstm", "gru"}
    bidirectional : bool
        Bidirectional encoder; the decoder's initial state concatenates the
        directions.
    dropout : float
        Dropout between stacked layers.
    pattern : {"recursive", "direct"}
    attention : {None, "dot", "general", "concat", "location", "bahdanau"}
    input_feeding : bool
    categorical : bool
    embedding_dim : int, optional
        Size of the previous-class embedding (default ``min(O + 1, E)``).
    max_length : int, optional
        Longest input, needed by ``attention="location"``.
    teacher_forcing_ratio : float
        Probability, in training mode, of feeding the true previous output rather
        than the model's own prediction (drawn per sample and step). A scheduled
        sampling callback may change it between epochs. Evaluation mode always
        teacher-forces when a target is given.
    scaling : {None, "last", "mean"}
        Per-window scaling of inputs and outputs (see above).
    target_features : sequence of int, optional
        The input feature each output is (length O), for ``scaling``: outputs are
        scaled by their feature's window statistics. Default: output ``o`` is input
        feature ``o`` when O == F; otherwise outputs are not scaled (targets that are
        not input features are left to the caller's scaling).
    min_scale : float
        Floor of the window scale, in input units (a constant window gets
        ``min_scale``, so its forecast stays near its last value).
    standardize : bool
        Standardise the inputs by the buffers ``input_mean`` and ``input_scale``
        (F,) before anything else (see above).
    skip : {False, True, "scaled", "raw"}
        Add the linear path, on the scaled window (True, "scaled") or on the
        input's units ("raw"); needs ``max_length``, the steps it reads, and
        ``horizon``.
    horizon : int, optional
        T, the output steps of the linear path; ``forward`` then decodes at most T
        steps.
    level : bool
        The linear path also reads the window's bounded level (see above); needs
        ``scaling`` and ``skip`` True or "scaled".
    level_bound : float
        The level's soft bound, in window units.
    window_weight : float
        With ``scaling``, each window's squared error in scaled units weighs its
        scale (in standardised units) to this power, divided by the buffer
        ``window_weight_norm`` (a scalar, 1 until set); 0: every window weighs 1.
    window_loss : {"squared", "absolute"}
        With ``scaling``, the error :meth:`loss` takes in scaled units.
    step_weight : float
        With ``scaling``, each window's error also weighs ``(scale / d) ** q``
        (``d``: its inputs' mean absolute step-to-step change, at least
        ``min_scale``), divided by the same buffer ``window_weight_norm``.
    output_dropout : float
        In training, dropout on the decoder's states before they are read out
        (attention's query and the output layer); none at inference.

    Forward
    -------
    ``forward(x, lengths=None, target=None, n_steps=None)`` returns ``(outputs,
    weights)``: ``outputs`` (N, T, O) logits or values (in the input's units with
    ``scaling``, standardised ones with ``standardize``), ``weights`` (N, T, L)
    attention weights or None. :meth:`loss` scores them against ``target``;
    :meth:`decode` runs greedy, beam or sampled decoding of class ids.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        *,
        hidden_size: int = 128,
        num_layers: int = 1,
        cell: str = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        pattern: str = "recursive",
        attention: Optional[str] = None,
        input_feeding: bool = False,
        categorical: bool = False,
        embedding_dim: Optional[int] = None,
        max_length: Optional[int] = None,
        teacher_forcing_ratio: float = 1.0,
        scaling: Optional[str] = None,
        target_features: Optional[Sequence[int]] = None,
        min_scale: float = 1e-2,
        skip: bool | str = False,
        horizon: Optional[int] = None,
        standardize: bool = False,
        level: bool = False,
        level_bound: float = 3.0,
        window_weight: float = 0.0,
        window_loss: str = "squared",
        step_weight: float = 0.0,
        output_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}.")
        if categorical and (scaling is not None or skip):
            raise ValueError(
                "scaling and skip are for values; they cannot be used with "
                "categorical=True."
            )
        if skip and not (max_length and horizon):
            raise ValueError(
                "skip=True needs max_length (the input steps the linear path reads) "
                f"and horizon (its output steps), got {max_length!r} and {horizon!r}."
            )
        if target_features is None and output_size == input_size:
            target_features = range(output_size)
        if target_features is not None:
            target_features = [int(i) for i in target_features]
            if len(target_features) != output_size or not all(
                0 <= i < input_size for i in target_features
            ):
                raise ValueError(
                    f"target_features must give one input feature in [0, {input_size})"
                    f" for each of the {output_size} outputs, got {target_features}."
                )
        if pattern not in PATTERNS:
            raise ValueError(f"pattern must be one of {PATTERNS}, got {pattern!r}.")
        if attention not in ATTENTIONS:
            raise ValueError(
                f"attention must be one of {ATTENTIONS}, got {attention!r}."
            )
        self.output_size = output_size
        self.num_layers = num_layers
        self.pattern = pattern
        self.attention = attention
        self.input_feeding = input_feeding
        self.categorical = categorical
        self.teacher_forcing_ratio = teacher_forcing_ratio
        if level and (scaling is None or skip not in (True, "scaled")):
            raise ValueError(
                "level=True is an input of the linear path on the scaled window: it "
                f"needs scaling and skip=True, got scaling={scaling!r} and "
                f"skip={skip!r}."
            )
        self.level = bool(level)
        self.level_bound = level_bound
        if window_loss not in ("squared", "absolute"):
            raise ValueError(
                f"window_loss must be 'squared' or 'absolute', got {window_loss!r}."
            )
        self.window_weight = float(window_weight)
        self.window_loss = window_loss
        self.step_weight = float(step_weight)
        if self.window_weight or self.step_weight:
            self.register_buffer("window_weight_norm", torch.ones(()))
        self.encoder = RecurrentEncoder(
            input_size,
            hidden_size,
            num_layers=num_layers,
            cell=cell,
            bidirectional=bidirectional,
            dropout=dropout,
        )
        size = hidden_size * (2 if bidirectional else 1)  # E
        self.directions = 2 if bidirectional else 1
        if pattern == "direct":
            feed_size = size
        elif categorical:
            feed_size = embedding_dim or min(output_size + 1, size)
            self.embedding = nn.Embedding(output_size + 1, feed_size)
        else:
            feed_size = output_size
            self.start = nn.Parameter(torch.zeros(output_size))
        if attention == "bahdanau":
            feed_size += size  # the context
        if input_feeding:
            feed_size += size  # the previous attentional state
        self.decoder = make_rnn(cell, feed_size, size, num_layers, False, dropout)
        if attention is None:
            self.attn = None
        elif attention == "bahdanau":
            self.attn = BahdanauAttention(size, size)
        else:
            self.attn = LuongAttention(
                size, size, score=attention, max_length=max_length
            )
        self.combine = nn.Linear(2 * size, size) if attention else None
        if not 0.0 <= output_dropout < 1.0:
            raise ValueError(
                f"output_dropout must be in [0, 1), got {output_dropout!r}."
            )
        self.output_dropout = float(output_dropout)
        self.out = nn.Linear(size, output_size)
        self.standardize = bool(standardize)
        if self.standardize:
            self.register_buffer("input_mean", torch.zeros(input_size))
            self.register_buffer("input_scale", torch.ones(input_size))
        self.scaling = scaling
        self.target_features = target_features if scaling else None
        self.min_scale = min_scale
        self.horizon = horizon
        if skip not in (False, True, "scaled", "raw"):
            raise ValueError(
                f"skip must be False, True, 'scaled' or 'raw', got {skip!r}."
            )
        self.skip_units = None if not skip else ("raw" if skip == "raw" else "scaled")
        self.skip_length = max_length if skip else None
        if skip:
            extra = input_size if self.level else 0
            in_features = max_length * input_size + extra  # K * F (+ F)
            self.skip = LinearPath(in_features, horizon * output_size)
        else:
            self.skip = None

    # -- input standardisation, per-window scaling and the linear path -----------------

    def standardized(
        self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """x (N, L, F) standardised by the input statistics (``standardize``), zero
        on padding; x itself without ``standardize``."""
        if not self.standardize:
            return x
        x = (x - self.input_mean) / self.input_scale  # (N, L, F)
        if lengths is not None:
            mask = length_mask(lengths.to(x.device), x.shape[1])  # (N, L)
            x = x * mask[:, :, None]
        return x

    def window_stats(
        self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Location and scale (N, 1, F) of each input window x (N, L, F)."""
        if lengths is None:
            last = x[:, -1:]  # (N, 1, F)
            mean = x.mean(dim=1, keepdim=True)  # (N, 1, F)
            var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        else:
            lengths = lengths.to(x.device)
            mask = length_mask(lengths, x.shape[1])[:, :, None]  # (N, L, 1)
            count = lengths.clamp(min=1).to(x.dtype)[:, None, None]  # (N, 1, 1)
            mean = (x * mask).sum(dim=1, keepdim=True) / count  # (N, 1, F)
            var = ((x - mean).pow(2) * mask).sum(dim=1, keepdim=True) / count
            last = take_steps(x, (lengths - 1).clamp(min=0)[:, None])  # (N, 1, F)
        loc = last if self.scaling == "last" else mean
        scale = var.sqrt().clamp(min=self.min_scale)  # (N, 1, F)
        return loc, scale

    def _target_stats(
        self, x: torch.Tensor, lengths: Optional[torch.Tensor]
    ) -> Optional[tuple[torch.Tensor, torch.Tensor]]:
        """Location and scale (N, 1, O) of the outputs, or None when unscaled."""
        if self.target_features is None:
            return None
        loc, scale = self.window_stats(x, lengths)
        return loc[..., self.target_features], scale[..., self.target_features]

    def _last_steps(
        self, x: torch.Tensor, lengths: Optional[torch.Tensor]
    ) -> torch.Tensor:
        """The last K valid steps of x (N, L, F), flattened: (N, K * F); steps before
        a short sequence's start count as 0."""
        n, length, _ = x.shape
        k = self.skip_length
        ends = (
            torch.full((n,), length, device=x.device)
            if lengths is None
            else lengths.to(x.device)
        )
        index = ends[:, None] - k + torch.arange(k, device=x.device)  # (N, K)
        last = take_steps(x, index.clamp(min=0))  # (N, K, F)
        last = last * (index >= 0)[:, :, None]
        return last.reshape(n, -1)  # (N, K * F)

    def _level(self, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """Where the input mean (0 in standardised units) lies in window units,
        softly bounded: (N, 1, F)."""
        b = self.level_bound
        return b * torch.tanh(-loc / scale / b)

    def _linear_path(
        self,
        x: torch.Tensor,
        lengths: Optional[torch.Tensor],
        steps: int,
        level: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """The skip path (N, steps, O) from the last K valid steps of scaled x."""
        n = x.shape[0]
        if steps > self.horizon:
            raise ValueError(
                f"The linear path (skip=True) predicts {self.horizon} steps, got "
                f"n_steps={steps}."
            )
        inputs = self._last_steps(x, lengths)  # (N, K * F)
        if self.level:
            inputs = torch.cat([inputs, level[:, 0]], dim=-1)  # (N, K * F + F)
        base = self.skip(inputs)  # (N, T * O)
        return base.view(n, self.horizon, -1)[:, :steps]  # (N, steps, O)

    @torch.no_grad()
    def fit_linear_path(
        self,
        x: torch.Tensor,
        target: torch.Tensor,
        lengths: Optional[torch.Tensor] = None,
        *,
        alpha: float = 1.0,
        sample_weight: Optional[torch.Tensor] = None,
    ) -> None:
        """Set the linear path to the ridge regression of the targets on the windows.

        Solves, in closed form, the least-squares problem of the skip path (last K
        input steps -> T outputs, with intercept, L2 penalty ``alpha`` on the
        weights; in the window-scaled units for ``skip="scaled"``, in the input's
        units for ``skip="raw"``), so that training starts from the best linear
        forecast and the recurrent part learns only a correction. Call it once
        before training, on the training windows.

        Parameters
        ----------
        x : Tensor of shape (N, L, F)
        target : Tensor of shape (N, T, O), T == ``horizon``
        lengths : Tensor of shape (N,), optional
        alpha : float
        sample_weight : Tensor of shape (N,), optional
            Each window's weight in the squared error (weighted least squares).
        """
        if self.skip is None:
            raise ValueError("fit_linear_path needs skip=True.")
        if target.shape[1] != self.horizon:
            raise ValueError(
                f"target has {target.shape[1]} steps, but the linear path predicts "
                f"horizon={self.horizon}."
            )
        x = self.standardized(x, lengths)
        stats = self._target_stats(x, lengths)
        level = None
        if self.scaling is not None and self.skip_units == "scaled":
            loc, scale = self.window_stats(x, lengths)
            x = (x - loc) / scale  # (N, L, F)
            if self.level:
                level = self._level(loc, scale)[:, 0]  # (N, F)
            if stats is not None:
                target = (target - stats[0]) / stats[1]  # (N, T, O)
        a = self._last_steps(x, lengths)  # (N, K * F)
        if level is not None:
            a = torch.cat([a, level], dim=-1)  # (N, K * F + F)
        a = a.double()
        b = target.reshape(target.shape[0], -1).double()  # (N, T * O)
        w = torch.ones(a.shape[0], dtype=a.dtype, device=a.device)
        if sample_weight is not None:
            w = sample_weight.to(a.device, a.dtype)
        w = (w / w.mean())[:, None]  # (N, 1): mean 1, so alpha keeps its meaning
        a_mean, b_mean = (w * a).mean(dim=0), (w * b).mean(dim=0)
        a, b = a - a_mean, b - b_mean
        gram = (w * a).T @ a
        gram = gram + alpha * torch.eye(a.shape[1], dtype=a.dtype, device=a.device)
        weight = torch.linalg.solve(gram, (w * a).T @ b)  # (K * F, T * O)
        self.skip.weight.copy_(weight.T.to(self.skip.weight.dtype))
        self.skip.bias.copy_((b_mean - a_mean @ weight).to(self.skip.bias.dtype))

    # -- encoder --------------------------------------------------------------------

    def hidden_states(
        self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, Optional[torch.Tensor]]]:
        """The encoder's per-step outputs (N, L, D*H) and final ``(h_n, c_n)``, for
        the input as the encoder reads it (standardised and window-scaled as
        ``standardize`` and ``scaling`` say)."""
        x = self.standardized(x, lengths)
        if self.scaling is not None:
            loc, scale = self.window_stats(x, lengths)
            x = (x - loc) / scale  # (N, L, F)
        return self.encoder(x, lengths)

    def encode(
        self, x: torch.Tensor, lengths: Optional[torch.Tensor] = None
    ) -> dict[str, Any]:
        """Run the encoder; return the decoder's initial state (batch first).

        State keys: ``h`` and ``c`` (N, num_layers, E) (``c`` None for GRU), ``keys``
        (N, L, E) encoder outputs, ``mask`` (N, L) True on real steps, ``feed``
        (N, E) previous attentional state (input feeding), ``proj`` (N, L, A)
        projected keys (Bahdanau), ``repeat`` (N, E) the direct pattern's input.
        """
        outputs, (h_n, c_n) = self.encoder(x, lengths)  # (N, L, E)
        n, length, size = outputs.shape
        if lengths is None:
            mask = torch.ones((n, length), dtype=torch.bool, device=outputs.device)
        else:
            mask = length_mask(lengths.to(outputs.device), length)  # (N, L)
        state: dict[str, Any] = {
            "h": self._bridge(h_n),
            "c": None if c_n is None else self._bridge(c_n),
            "keys": outputs if self.attn is not None else None,
            "mask": mask if self.attn is not None else None,
            "feed": outputs.new_zeros((n, size)) if self.input_feeding else None,
            "proj": (
                self.attn.project_keys(outputs)
                if self.attention == "bahdanau"
                else None
            ),
        }
        if self.pattern == "direct":
            state["repeat"] = state["h"][:, -1]  # (N, E)
        return state

    def _bridge(self, h_n: torch.Tensor) -> torch.Tensor:
        """Encoder final states (num_layers * D, N, H) -> (N, num_layers, D * H)."""
        _, n, hidden = h_n.shape
        h_n = h_n.view(self.num_layers, self.directions, n, hidden)  # (layers, D, N, H)
        return h_n.permute(2, 0, 1, 3).reshape(n, self.num_layers, -1)  # (N, layers, E)

    # -- decoder --------------------------------------------------------------------

    def start_inputs(
        self, n: int, device: Optional[torch.device] = None
    ) -> torch.Tensor:
        """The first decoder input: start tokens (N,) or start values (N, O)."""
        if self.categorical:
            return torch.full((n,), self.output_size, dtype=torch.long, device=device)
        if self.pattern == "direct":
            return torch.zeros((n, self.output_size), device=device)
        return self.start.expand(n, -1)

    def _embed(self, inputs: torch.Tensor, state: dict[str, Any]) -> torch.Tensor:
        """Previous outputs (N, [T,] ...) -> decoder feed (N, [T,] Y)."""
        if self.pattern == "direct":
            return state["repeat"]  # (N, E), one step
        if self.categorical:
            return self.embedding(inputs)
        return inputs

    def _rnn(self, feed: torch.Tensor, state: dict[str, Any]) -> torch.Tensor:
        """Run the decoder RNN over feed (N, T, Y); update ``state`` h, c."""
        h = state["h"].transpose(0, 1).contiguous()  # (layers, N, E)
        if state["c"] is None:
            out, h = self.decoder(feed, h)
            state["h"] = h.transpose(0, 1)  # (N, layers, E)
        else:
            c = state["c"].transpose(0, 1).contiguous()  # (layers, N, E)
            out, (h, c) = self.decoder(feed, (h, c))
            state["h"], state["c"] = h.transpose(0, 1), c.transpose(0, 1)
        return out  # (N, T, E)

    def _cell(self, feed: torch.Tensor, state: dict[str, Any]) -> torch.Tensor:
        """One step of the decoder RNN on feed (N, Y), from its own weights.

        Same maths as ``self.decoder`` (torch's gate order and formulas), written out
        because a one-step cuDNN / oneDNN call costs several times more than these
        few matmuls on small batches. Updates ``state`` h, c; returns (N, E).
        """
        rnn = self.decoder
        hs, cs = [], []
        x = feed
        for layer in range(self.num_layers):
            h = state["h"][:, layer]  # (N, E)
            gates_x = F.linear(
                x,
                getattr(rnn, f"weight_ih_l{layer}"),
                getattr(rnn, f"bias_ih_l{layer}"),
            )  # (N, G * E)
            gates_h = F.linear(
                h,
                getattr(rnn, f"weight_hh_l{layer}"),
                getattr(rnn, f"bias_hh_l{layer}"),
            )  # (N, G * E)
            if state["c"] is None:  # GRU, gates r, z, n
                xr, xz, xn = gates_x.chunk(3, dim=-1)
                hr, hz, hn = gates_h.chunk(3, dim=-1)
                r = torch.sigmoid(xr + hr)
                z = torch.sigmoid(xz + hz)
                h = (1.0 - z) * torch.tanh(xn + r * hn) + z * h
            else:  # LSTM, gates i, f, g, o
                i, f, g, o = (gates_x + gates_h).chunk(4, dim=-1)
                c = torch.sigmoid(f) * state["c"][:, layer] + torch.sigmoid(
                    i
                ) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                cs.append(c)
            hs.append(h)
            x = h
            if layer < self.num_layers - 1 and rnn.dropout > 0:
                x = F.dropout(x, rnn.dropout, self.training)
        state["h"] = torch.stack(hs, dim=1)  # (N, layers, E)
        if cs:
            state["c"] = torch.stack(cs, dim=1)  # (N, layers, E)
        return h

    def step(
        self, inputs: torch.Tensor, state: dict[str, Any]
    ) -> tuple[torch.Tensor, dict[str, Any], Optional[torch.Tensor]]:
        """One decoder step.

        Parameters
        ----------
        inputs : Tensor of shape (N,) (class ids) or (N, O) (values)
            The previous step's output (or the start input).
        state : dict
            From :meth:`encode` or the previous step; not modified.

        Returns
        -------
        outputs : Tensor of shape (N, O)
            Logits (categorical) or values.
        state : dict
            The next state.
        weights : Tensor of shape (N, L) or None
            Attention weights of this step.
        """
        state = dict(state)
        feed = self._embed(inputs, state)  # (N, Y)
        parts = [feed]
        context = weights = None
        if self.attention == "bahdanau":
            query = state["h"][:, -1:, :]  # (N, 1, E)
            context, weights = self.attn(
                query, state["keys"], state["mask"], state["proj"]
            )
            parts.append(context[:, 0])
        if self.input_feeding:
            parts.append(state["feed"])
        feed = torch.cat(parts, dim=-1) if len(parts) > 1 else feed
        hidden = self._cell(feed, state)[:, None]  # (N, 1, E)
        outputs, attentional, step_weights = self._read_out(hidden, state, context)
        if self.input_feeding:
            state["feed"] = attentional[:, 0]
        if step_weights is not None:
            weights = step_weights[:, 0]  # (N, L)
        elif weights is not None:
            weights = weights[:, 0]
        return outputs[:, 0], state, weights

    def _read_out(
        self,
        hidden: torch.Tensor,
        state: dict[str, Any],
        context: Optional[torch.Tensor] = None,
    ) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """Decoder states (N, T, E) -> outputs (N, T, O), attentional states, weights.

        Luong weights are computed here (N, T, L); Bahdanau passes its context in.
        In training, ``output_dropout`` drops decoder states before the read-out.
        """
        weights = None
        if self.output_dropout and self.training:
            hidden = F.dropout(hidden, self.output_dropout, training=True)
        if self.attention is None:
            return self.out(hidden), hidden, None
        if self.attention != "bahdanau":
            context, weights = self.attn(hidden, state["keys"], state["mask"])
        attentional = torch.tanh(self.combine(torch.cat([context, hidden], dim=-1)))
        return self.out(attentional), attentional, weights  # (N, T, O)

    def _fast_path(self) -> bool:
        return self.attention != "bahdanau" and not self.input_feeding

    def forward(
        self,
        x: torch.Tensor,
        lengths: Optional[torch.Tensor] = None,
        target: Optional[torch.Tensor] = None,
        *,
        teacher_forcing_ratio: Optional[float] = None,
        n_steps: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
        **_: Any,
    ) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Decode T steps.

        Parameters
        ----------
        x : Tensor of shape (N, L, F)
        lengths : Tensor of shape (N,), optional
            True lengths of padded inputs.
        target : Tensor of shape (N, T) (class ids) or (N, T, O), optional
            True outputs for teacher forcing. Class ids outside ``[0, O)`` (padding
            such as -100) are fed as class 0; the loss must ignore them.
        teacher_forcing_ratio : float, optional
            Probability of feeding the true previous output rather than the model's
            own prediction, drawn per sample and step (scheduled sampling). None:
            the module's ``teacher_forcing_ratio`` in training mode, 1 in
            evaluation mode.
        n_steps : int, optional
            T when no target is given; the decoder then feeds back its predictions
            (greedy).
        generator : torch.Generator, optional
            A CPU generator for the teacher-forcing coins (torch's global
            generator if None).

        Returns
        -------
        outputs : Tensor of shape (N, T, O)
            Logits or values.
        weights : Tensor of shape (N, T, L) or None
            Attention weights.
        """
        if teacher_forcing_ratio is None:
            teacher_forcing_ratio = self.teacher_forcing_ratio if self.training else 1.0
        if target is None and n_steps is None:
            raise ValueError("Give a target or n_steps.")
        steps = target.shape[1] if target is not None else n_steps
        x = self.standardized(x, lengths)
        stats = self._target_stats(x, lengths)
        base = None
        if self.skip_units == "raw":  # a linear AR on the input's units
            base = self._linear_path(x, lengths, steps)  # (N, T, O)
            if stats is not None:
                base = (base - stats[0]) / stats[1]  # in the model's units
        level = None
        if self.scaling is not None:
            loc, scale = self.window_stats(x, lengths)
            x = (x - loc) / scale  # (N, L, F)
            if self.level:
                level = self._level(loc, scale)  # (N, 1, F)
            if target is not None and stats is not None:
                target = (target - stats[0]) / stats[1]  # (N, T, O)
        if self.skip_units == "scaled":
            base = self._linear_path(x, lengths, steps, level)
        outputs, weights = self._decode(
            x, lengths, target, steps, base, teacher_forcing_ratio, generator
        )
        if stats is not None:
            outputs = outputs * stats[1] + stats[0]  # (N, T, O), the input's units
        return outputs, weights

    def _decode(
        self,
        x: torch.Tensor,
        lengths: Optional[torch.Tensor],
        target: Optional[torch.Tensor],
        steps: int,
        base: Optional[torch.Tensor],
        teacher_forcing_ratio: float,
        generator: Optional[torch.Generator] = None,
    ) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Outputs (N, T, O) in the model's (scaled) units, and attention weights."""
        state = self.encode(x, lengths)
        n = x.shape[0]
        if self.pattern == "direct" and self._fast_path():
            repeat = state["repeat"][:, None].expand(-1, steps, -1)  # (N, T, E)
            outputs, _, weights = self._read_out(self._rnn(repeat, state), state)
            return _plus(outputs, base), weights
        start = self.start_inputs(n, x.device)
        if (
            target is not None
            and teacher_forcing_ratio >= 1.0
            and self._fast_path()
            and self.pattern == "recursive"
        ):
            previous = self._clean(target[:, :-1])  # (N, T - 1[, O])
            inputs = torch.cat([start[:, None], previous], dim=1)  # (N, T[, O])
            hidden = self._rnn(self._embed(inputs, state), state)  # (N, T, E)
            outputs, _, weights = self._read_out(hidden, state)
            return _plus(outputs, base), weights
        return self._loop(
            start, state, steps, target, teacher_forcing_ratio, base, generator
        )

    def _clean(self, target: torch.Tensor) -> torch.Tensor:
        if self.categorical:
            valid = (target >= 0) & (target < self.output_size)
            return torch.where(valid, target, torch.zeros_like(target))
        return target

    def _loop(
        self,
        inputs: torch.Tensor,
        state: dict[str, Any],
        steps: int,
        target: Optional[torch.Tensor],
        ratio: float,
        base: Optional[torch.Tensor] = None,
        generator: Optional[torch.Generator] = None,
    ) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        outputs, weights = [], []
        clean = None if target is None else self._clean(target)
        for t in range(steps):
            out, state, w = self.step(inputs, state)
            if base is not None:
                out = out + base[:, t]  # (N, O)
            outputs.append(out)
            weights.append(w)
            own = out.argmax(-1) if self.categorical else out.detach()
            if clean is None or ratio <= 0.0:
                inputs = own
            elif ratio >= 1.0:
                inputs = clean[:, t]
            else:
                draw = torch.rand(out.shape[0], generator=generator)  # (N,) on CPU
                coin = draw.to(out.device) < ratio
                if not self.categorical:
                    coin = coin[:, None]
                inputs = torch.where(coin, clean[:, t], own)
        stacked = None if weights[0] is None else torch.stack(weights, dim=1)
        return torch.stack(outputs, dim=1), stacked  # (N, T, O), (N, T, L)

    # -- training loss and decoding ---------------------------------------------------

    def loss(
        self,
        outputs: tuple[torch.Tensor, Optional[torch.Tensor]],
        target: torch.Tensor,
        reduction: str = "mean",
        sample_weight: Optional[torch.Tensor] = None,
        **batch: Any,
    ) -> torch.Tensor:
        """Cross-entropy (class ids, -100 ignored) or squared (or absolute) error.

        ``reduction="none"`` gives one value per sample (N,); ``sample_weight``
        (N,) makes the mean a weighted mean of those. With ``scaling`` the errors
        are taken in each window's scaled units, squared or absolute
        (``window_loss``; ``batch`` must then hold the inputs ``x`` and, if
        padded, ``lengths``), and multiplied by :meth:`window_weights`.
        """
        if sample_weight is not None and reduction != "none":
            per = self.loss(outputs, target, reduction="none", **batch)
            return weighted_mean(per, sample_weight)
        logits = outputs[0]  # (N, T, O)
        if self.categorical:
            if reduction != "none":  # the mean over the labels that are not -100
                return F.cross_entropy(
                    logits.transpose(1, 2), target, ignore_index=-100
                )
            losses = F.cross_entropy(
                logits.transpose(1, 2), target, ignore_index=-100, reduction="none"
            )  # (N, T)
            valid = (target != -100).sum(dim=1).clamp(min=1)  # (N,)
            return losses.sum(dim=1) / valid
        stats = None
        if self.target_features is not None and "x" in batch:
            lengths = batch.get("lengths")
            x = self.standardized(batch["x"], lengths)
            stats = self._target_stats(x, lengths)
        if stats is not None:  # compare in the scaled units: every window weighs 1
            error = (logits - target) / stats[1]  # (N, T, O)
            # (getattr: models saved before these options)
            absolute = getattr(self, "window_loss", "squared") == "absolute"
            errors = error.abs() if absolute else error**2
            weight = self.window_weights(x, lengths, stats[1])
            if weight is not None:  # ... or as its scale and its steps say
                errors = errors * weight
        else:
            errors = (logits - target) ** 2  # (N, T, O)
        if reduction == "none":
            return errors.mean(dim=(1, 2))
        return errors.mean()

    def window_weights(
        self,
        x: torch.Tensor,
        lengths: Optional[torch.Tensor],
        scale: torch.Tensor,
    ) -> Optional[torch.Tensor]:
        """Each window's weight in :meth:`loss`, (N, 1, O): ``scale ** window_weight
        * (scale / d) ** step_weight / window_weight_norm`` for the standardised
        windows x (N, L, F) and their scales (N, 1, O); None when both powers are 0.
        """
        power = getattr(self, "window_weight", 0.0)
        steps = getattr(self, "step_weight", 0.0)
        if not (power or steps):
            return None
        weight = scale**power
        if steps:
            change = (x[:, 1:] - x[:, :-1]).abs()  # (N, L - 1, F)
            if lengths is None:
                d = change.mean(dim=1, keepdim=True)
            else:
                mask = length_mask(
                    (lengths - 1).clamp(min=0).to(x.device), change.shape[1]
                )
                count = (lengths - 1).clamp(min=1).to(x.dtype)[:, None, None]
                d = (change * mask[:, :, None]).sum(dim=1, keepdim=True) / count
            d = d[..., self.target_features].clamp(min=self.min_scale)  # (N, 1, O)
            weight = weight * (scale / d) ** steps
        return weight / self.window_weight_norm

    @torch.no_grad()
    def decode(
        self,
        x: torch.Tensor,
        lengths: Optional[torch.Tensor] = None,
        *,
        n_steps: int,
        beam_width: int = 1,
        end_token: Optional[int] = None,
        temperature: Optional[float] = None,
        generator: Optional[torch.Generator] = None,
    ) -> torch.Tensor:
        """Class ids (N, T) by greedy (``beam_width=1``), beam or sampled decoding.

        ``temperature`` set: sample every step from ``softmax(logits /
        temperature)`` (with ``generator``) and feed the sample back.
        """
        if not self.categorical:
            raise ValueError("decode() is for categorical outputs.")
        state = self.encode(x, lengths)
        start = self.start_inputs(x.shape[0], x.device)

        def step_fn(inputs, state):
            logits, state, _ = self.step(inputs, state)
            return torch.log_softmax(logits.float(), dim=-1), state

        if temperature is not None:
            return sample_decode(
                step_fn,
                start,
                state,
                n_steps,
                temperature=temperature,
                generator=generator,
                end_token=end_token,
            )
        if beam_width > 1:
            tokens, _ = beam_search(
                step_fn,
                start,
                state,
                n_steps,
                beam_width=beam_width,
                end_token=end_token,
            )
            return tokens
        tokens, _ = greedy_decode(step_fn, start, state, n_steps, end_token=end_token)
        return tokens


class LinearPath(nn.Module):
    """A linear map (``F.linear``) whose weights and bias start at zero, and return
    to zero on ``reset_parameters``: a path added to a model's outputs that starts
    by adding nothing.

    Shapes: (*, in_features) -> (*, out_features).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))

    @torch.no_grad()
    def reset_parameters(self, generator: Optional[torch.Generator] = None) -> None:
        self.weight.zero_()
        self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


def _plus(outputs: torch.Tensor, base: Optional[torch.Tensor]) -> torch.Tensor:
    return outputs if base is None else outputs + base
