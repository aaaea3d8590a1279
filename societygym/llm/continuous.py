"""Continuous batching for ``TransformersLLM``: a fixed number of batch slots, each refilled
with the next queued prompt as soon as its row finishes.

Decoding a chunk of rows until its longest row finishes wastes every step after a row's end:
with completions of 4 to 48 tokens, most of a chunk's steps run for one or two rows. Here a
finished row leaves the batch at once and a queued prompt takes its slot on the next step, so
the batch stays full. A caller that only learns its next prompt from a finished completion (an
env copy whose next observation depends on its action) submits it while the other rows decode:
``step()`` runs one decoding step and hands back the rows that finished in it.

Rows join a running batch LEFT padded to its width: a new row's keys and values are padded
with zeros in front (masked out), or the running rows are, whichever is narrower. Each row
keeps its own position ids, so it sees exactly its own prompt and completion. Leading columns
that no remaining row attends to are dropped as rows leave. Caches whose layers are not plain
``DynamicLayer`` (sliding windows, quantized or offloaded caches) cannot be re-aligned that way;
for them a new row waits until the batch has drained, i.e. chunked decoding.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from societygym import progress
from societygym.llm.base import Generation, SamplingParams, Usage
from societygym.llm.sampling import pick_token, stop_at

if TYPE_CHECKING:
    import torch


class PrefillModel(Protocol):
    """What the decoder needs of its model (``TransformersLLM`` offers it): the causal LM,
    a batched prefill (optionally over a shared prompt prefix), when a row is done, the
    text of token ids, and the usage it bills."""

    model: Any
    usage: Usage

    def prefill(
        self, batch: list[list[int]], known: SharedPrefix | None = None
    ) -> tuple[Any, Any, Any, Any]: ...

    def row_done(self, ids: list[int], stop: Sequence[str], ignore_eos: bool) -> bool: ...

    def text_of(self, ids: list[int]) -> str: ...


@dataclass
class _Row:
    tag: Any
    prompt_tokens: int
    generator: Any = None  # the row's own torch.Generator, if it has one
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finished: bool = False


class ContinuousDecoder:
    """Decodes submitted prompts through ``slots`` batch rows with one ``SamplingParams``.

    ``submit(ids, tag)`` queues a prompt; each ``step()`` admits queued prompts into free
    slots, runs one decoding step, and returns ``(tag, Generation)`` for every row that
    finished. Sampled rows share ``generator``, so with sampling a row's tokens depend on the
    schedule, unless the row was submitted with a generator of its own; with greedy decoding
    they do not (up to floating-point ties). Finished rows are
    counted in ``llm.usage`` unless ``bill`` is False.
    """

    def __init__(
        self,
        llm: PrefillModel,
        params: SamplingParams,
        *,
        slots: int,
        generator: torch.Generator | None = None,
        ignore_eos: bool = False,
        bill: bool = True,
    ) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.llm = llm
        self.params = params
        self.slots = slots
        self.generator = generator
        self.ignore_eos = ignore_eos
        self.bill = bill  # count finished rows in ``llm.usage`` (generate() bills itself)
        self.pending: deque[tuple[list[int], Any, Any]] = deque()  # ids, tag, generator
        self.rows: list[_Row] = []
        self.cache: Any = None
        self.mask: torch.Tensor | None = None  # [rows, width] 1 where a row has a real token
        self.positions: torch.Tensor | None = None  # [rows] position id of the next input
        self.last: torch.Tensor | None = None  # [rows] token to feed next
        self.steps = 0  # decoding forward passes run, prefills excluded
        self.prefix = SharedPrefix()

    def submit(self, ids: list[int], tag: Any, generator: Any = None) -> None:
        """Queue a prompt; ``generator`` (a ``torch.Generator``) samples this row alone."""
        if not ids:
            raise ValueError("cannot decode from an empty prompt")
        self.pending.append((list(ids), tag, generator))

    @property
    def busy(self) -> bool:
        return bool(self.pending or self.rows)

    def run(self) -> list[tuple[Any, Generation]]:
        """Step until every submitted prompt has finished; results in finishing order."""
        done = []
        while self.busy:
            done.extend(self.step())
        return done

    def step(self) -> list[tuple[Any, Generation]]:
        import torch

        from societygym.llm import torch_runtime

        done = []
        with torch.inference_mode(), torch_runtime.attention_kernels():
            free = self.slots - len(self.rows)
            if free > 0 and self.pending and (not self.rows or self._realignable()):
                self._admit([self.pending.popleft() for _ in range(min(free, len(self.pending)))])
                done.extend(self._pop_finished())  # a first token may already end a row
            if self.rows:
                self._decode_step()
                done.extend(self._pop_finished())
        return done

    def cancel(self, dropped: Callable[[Any], bool]) -> int:
        """Drop every queued and decoding row whose tag ``dropped`` accepts (a client that
        went away); decoding rows leave the batch now, their partial generations discarded
        (still billed: their tokens were computed). Returns how many rows were dropped."""
        queued = len(self.pending)
        self.pending = deque(p for p in self.pending if not dropped(p[1]))
        stopped = [row for row in self.rows if dropped(row.tag)]
        for row in stopped:
            row.finished = True
        if stopped:
            self._pop_finished()
        return queued - len(self.pending) + len(stopped)

    # --- internals ---------------------------------------------------------------------------

    def _admit(self, requests: list[tuple[list[int], Any, Any]]) -> None:
        """Prefill the new prompts, pick their first tokens, and merge them into the batch."""
        llm = self.llm
        prompts = [ids for ids, _, _ in requests]
        step_input, mask, positions, cache = llm.prefill(prompts, self.prefix)
        out = llm.model(
            input_ids=step_input,
            attention_mask=mask,
            position_ids=positions,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
        )
        rows = [_Row(tag, len(ids), generator) for ids, tag, generator in requests]
        picked = self._pick_and_record(out.logits[:, -1, :], rows)
        if not self.rows:
            self.cache, self.mask, self.positions, self.last = (
                out.past_key_values,
                mask,
                positions[:, -1] + 1,
                picked,
            )
            self.rows = rows
            return
        self._merge(out.past_key_values, mask, positions[:, -1] + 1, picked)
        self.rows.extend(rows)

    def _decode_step(self) -> None:
        assert self.mask is not None and self.positions is not None and self.last is not None
        mask = _append_column(self.mask)
        out = self.llm.model(
            input_ids=self.last[:, None],
            attention_mask=mask,
            position_ids=self.positions[:, None],
            past_key_values=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self.steps += 1
        self.cache, self.mask, self.positions = out.past_key_values, mask, self.positions + 1
        self.last = self._pick_and_record(out.logits[:, -1, :], self.rows)

    def _pick_and_record(self, logits: torch.Tensor, rows: list[_Row]) -> torch.Tensor:
        logits = logits.float()
        own = [self.generator if row.generator is None else row.generator for row in rows]
        generator = own if any(row.generator is not None for row in rows) else self.generator
        picked = pick_token(logits, self.params, generator)
        picked_lp = logits.log_softmax(-1).gather(-1, picked[:, None])[:, 0]
        for row, tok, lp in zip(rows, picked.tolist(), picked_lp.tolist(), strict=True):
            row.tokens.append(tok)
            row.logprobs.append(lp)
            row.finished = (
                self.llm.row_done(row.tokens, self.params.stop, self.ignore_eos)
                or len(row.tokens) >= self.params.max_tokens
            )
        return picked

    def _pop_finished(self) -> list[tuple[Any, Generation]]:
        import torch

        if not any(row.finished for row in self.rows):
            return []
        done = [(row.tag, self._generation(row)) for row in self.rows if row.finished]
        progress.generated(len(done))
        keep = [i for i, row in enumerate(self.rows) if not row.finished]
        self.rows = [self.rows[i] for i in keep]
        if not keep:
            self.cache = self.mask = self.positions = self.last = None
            return done
        assert self.mask is not None and self.positions is not None and self.last is not None
        index = torch.tensor(keep, device=self.mask.device)
        self.cache.batch_select_indices(index)
        self.mask, self.positions, self.last = (
            self.mask[index],
            self.positions[index],
            self.last[index],
        )
        self._trim()
        return done

    def _generation(self, row: _Row) -> Generation:
        text = self.llm.text_of(row.tokens)
        cut = stop_at(text, self.params.stop)
        hit_stop = self.llm.row_done(row.tokens, self.params.stop, self.ignore_eos)
        if self.bill:
            self.llm.usage.add(row.prompt_tokens, len(row.tokens))
        return Generation(
            text=text if cut is None else text[:cut],
            prompt_tokens=row.prompt_tokens,
            completion_tokens=len(row.tokens),
            finish_reason="stop" if hit_stop else "length",
            token_ids=row.tokens,
            logprobs=row.logprobs,
        )

    def _realignable(self) -> bool:
        from transformers.cache_utils import DynamicLayer

        layers = getattr(self.cache, "layers", None)
        return bool(layers) and all(type(layer) is DynamicLayer for layer in layers)

    def _merge(
        self, cache: Any, mask: torch.Tensor, positions: torch.Tensor, last: torch.Tensor
    ) -> None:
        """Append new rows (their cache, mask, next positions and tokens) to the batch."""
        import torch

        assert self.mask is not None and self.positions is not None and self.last is not None
        width = max(self.mask.shape[1], mask.shape[1])
        old_pad, new_pad = width - self.mask.shape[1], width - mask.shape[1]
        for old, new in zip(self.cache.layers, cache.layers, strict=True):
            old.keys = torch.cat([_left_pad(old.keys, old_pad), _left_pad(new.keys, new_pad)])
            old.values = torch.cat([_left_pad(old.values, old_pad), _left_pad(new.values, new_pad)])
        self.mask = torch.cat([_left_pad_mask(self.mask, old_pad), _left_pad_mask(mask, new_pad)])
        self.positions = torch.cat([self.positions, positions])
        self.last = torch.cat([self.last, last])

    def _trim(self) -> None:
        """Drop leading columns no remaining row attends to (left by rows that left)."""
        assert self.mask is not None
        used = self.mask.any(0).nonzero()
        first = int(used[0]) if len(used) else 0
        if first == 0 or not self._realignable():
            return
        self.mask = self.mask[:, first:]
        for layer in self.cache.layers:
            layer.keys = layer.keys[..., first:, :]
            layer.values = layer.values[..., first:, :]


class SharedPrefix:
    """The KV cache of the last prompt prefix shared by an admitted group of rows, so that a
    row admitted later on its own (a refilled slot) starts from it instead of prefilling the
    whole prompt again. Only plain ``DynamicLayer`` caches are kept."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.states: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    def store(self, ids: list[int], cache: Any) -> None:
        from transformers.cache_utils import DynamicLayer

        if all(type(layer) is DynamicLayer for layer in cache.layers):
            self.ids = list(ids)
            self.states = [(layer.keys, layer.values) for layer in cache.layers]

    def fits(self, batch: list[list[int]]) -> bool:
        """Whether every row starts with the prefix and has a token of its own after it."""
        n = len(self.ids)
        return self.states is not None and all(len(r) > n and r[:n] == self.ids for r in batch)

    def cache_for(self, rows: int) -> Any:
        """A fresh cache holding the prefix once per row (the stored tensors stay as they are:
        caches grow by concatenation, never in place)."""
        from transformers import DynamicCache

        assert self.states is not None
        return DynamicCache(
            [(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in self.states]
        )


def _append_column(mask: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=-1)


def _left_pad(states: torch.Tensor, pad: int) -> torch.Tensor:
    """``[rows, heads, width, dim]`` keys or values with ``pad`` zero columns in front."""
    import torch.nn.functional as F

    return F.pad(states, (0, 0, pad, 0)) if pad else states


def _left_pad_mask(mask: torch.Tensor, pad: int) -> torch.Tensor:
    import torch.nn.functional as F

    return F.pad(mask, (pad, 0)) if pad else mask
