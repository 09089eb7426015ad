"""Decoding strategies for autoregressive decoders: greedy, beam search, sampling.

Pure functions under ``torch.no_grad()``. The model is reached only through a *step
function*::

    step_fn(inputs, state) -> (outputs, new_state)

that maps the previous step's choice ``inputs`` (token ids of shape (N,), or values of
shape (N, O)) and a decoder state to this step's ``outputs`` ((N, C) log-probabilities
for token decoders, (N, O) values for regression) and the next state. A state is a
tensor or a tuple / list / dict of tensors (None allowed) whose batch dimension is the
first one; beam search reorders it with :func:`select_state`. No hidden state lives
here, so every function can be tested with a fake step function.

Shape symbols: N batch, T steps, C classes (vocabulary), K beam width, O outputs.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch

__all__ = ["beam_search", "greedy_decode", "sample_decode", "select_state"]

State = Any
StepFn = Callable[[torch.Tensor, State], "tuple[torch.Tensor, State]"]


def select_state(state: State, index: torch.Tensor) -> State:
    """Index the batch (first) dimension of every tensor in a (nested) state."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.index_select(0, index)
    if isinstance(state, dict):
        return {key: select_state(value, index) for key, value in state.items()}
    if isinstance(state, (tuple, list)):
        return type(state)(select_state(value, index) for value in state)
    raise TypeError(f"Cannot index a decoder state of type {type(state).__name__}.")


def _argmax(outputs: torch.Tensor) -> torch.Tensor:
    return outputs.argmax(dim=-1)


@torch.no_grad()
def greedy_decode(
    step_fn: StepFn,
    inputs: torch.Tensor,
    state: State,
    n_steps: int,
    *,
    choose: Optional[Callable[[torch.Tensor], torch.Tensor]] = _argmax,
    end_token: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode all N sequences at once, feeding back the best choice of every step.

    Parameters
    ----------
    step_fn : callable
        ``step_fn(inputs, state) -> (outputs, state)``.
    inputs : Tensor of shape (N,) or (N, O)
        The first input (start tokens, or start values).
    state : tensor or nested tuple / dict of tensors
        The decoder's initial state.
    n_steps : int
        T, the number of steps to decode.
    choose : callable or None
        Maps a step's outputs to the next input: argmax over the last dimension by
        default (token decoders); None feeds the outputs back unchanged (regression).
    end_token : int, optional
        Once a sequence emits it, every later choice of that sequence is
        ``end_token`` too.

    Returns
    -------
    choices : Tensor of shape (N, T) or (N, T, O)
        What was fed back at each step.
    outputs : Tensor of shape (N, T, C) or (N, T, O)
        The step function's outputs at each step.
    """
    choices, outputs = [], []
    finished = None
    for _ in range(n_steps):
        out, state = step_fn(inputs, state)
        inputs = out if choose is None else choose(out)
        if end_token is not None:
            if finished is None:
                finished = torch.zeros(
                    inputs.shape[0], dtype=torch.bool, device=inputs.device
                )
            inputs = inputs.masked_fill(finished, end_token)
            finished = finished | (inputs == end_token)
        choices.append(inputs)
        outputs.append(out)
    return torch.stack(choices, dim=1), torch.stack(outputs, dim=1)


@torch.no_grad()
def sample_decode(
    step_fn: StepFn,
    inputs: torch.Tensor,
    state: State,
    n_steps: int,
    *,
    temperature: float = 1.0,
    generator: Optional[torch.Generator] = None,
    end_token: Optional[int] = None,
) -> torch.Tensor:
    """Sample each step's token from ``softmax(log_probs / temperature)``, feed it back.

    ``step_fn`` must return log-probabilities (or logits) of shape (N, C). Low
    temperatures approach greedy decoding, high ones the uniform distribution.
    Returns the sampled tokens, shape (N, T).
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}.")
    tokens = []
    finished = None
    for _ in range(n_steps):
        out, state = step_fn(inputs, state)
        probs = torch.softmax(out.float() / temperature, dim=-1)  # (N, C)
        inputs = torch.multinomial(probs, 1, generator=generator).squeeze(1)  # (N,)
        if end_token is not None:
            if finished is None:
                finished = torch.zeros_like(inputs, dtype=torch.bool)
            inputs = inputs.masked_fill(finished, end_token)
            finished = finished | (inputs == end_token)
        tokens.append(inputs)
    return torch.stack(tokens, dim=1)


@torch.no_grad()
def beam_search(
    step_fn: StepFn,
    inputs: torch.Tensor,
    state: State,
    n_steps: int,
    *,
    beam_width: int = 3,
    end_token: Optional[int] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Most probable token sequences under a beam of ``beam_width`` hypotheses.

    ``step_fn`` must return log-probabilities of shape (N * K, C); it is called with
    the K hypotheses of every sample next to each other (sample-major). A hypothesis
    that emitted ``end_token`` is finished: its score stays fixed and it only extends
    with ``end_token``. ``beam_width=1`` is greedy decoding.

    Returns
    -------
    tokens : Tensor of shape (N, T)
        The best hypothesis of each sample.
    scores : Tensor of shape (N,)
        Its total log-probability.
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, got {beam_width}.")
    n = inputs.shape[0]
    k = beam_width
    device = inputs.device
    expand = torch.arange(n, device=device).repeat_interleave(k)  # (N * K,)
    inputs = inputs.index_select(0, expand)  # (N * K,)
    state = select_state(state, expand)
    # Only the first hypothesis is alive at the start; the others would duplicate it.
    scores = torch.full((n, k), float("-inf"), device=device)  # (N, K)
    scores[:, 0] = 0.0
    history = torch.empty((n, k, 0), dtype=torch.long, device=device)  # (N, K, 0)
    finished = torch.zeros((n, k), dtype=torch.bool, device=device)  # (N, K)
    offsets = (torch.arange(n, device=device) * k)[:, None]  # (N, 1)
    for _ in range(n_steps):
        log_probs, state = step_fn(inputs, state)  # (N * K, C)
        log_probs = log_probs.float()
        n_classes = log_probs.shape[-1]
        log_probs = log_probs.view(n, k, n_classes)  # (N, K, C)
        if end_token is not None and finished.any():
            frozen = torch.full_like(log_probs[0, 0], float("-inf"))  # (C,)
            frozen[end_token] = 0.0
            log_probs = torch.where(finished[..., None], frozen, log_probs)
        candidates = (scores[..., None] + log_probs).view(n, k * n_classes)  # (N, K*C)
        scores, flat = candidates.topk(k, dim=1)  # (N, K)
        beam = torch.div(flat, n_classes, rounding_mode="floor")  # (N, K)
        tokens = flat % n_classes  # (N, K)
        history = torch.cat(
            [
                history.gather(1, beam[..., None].expand(-1, -1, history.shape[2])),
                tokens[..., None],
            ],
            dim=2,
        )  # (N, K, t)
        finished = finished.gather(1, beam)
        if end_token is not None:
            finished = finished | (tokens == end_token)
        index = (offsets + beam).view(-1)  # (N * K,)
        state = select_state(state, index)
        inputs = tokens.view(-1)  # (N * K,)
    return history[:, 0], scores[:, 0]
