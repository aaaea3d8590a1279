"""Local Hugging Face causal LMs: batched generation and scoring with one model in memory.

Generation runs its own KV-cache decoding loop rather than ``model.generate`` so that it can
sample from a per-call ``torch.Generator`` (seeded calls do not touch the global RNG), return
the log-probability of every generated token, and stop rows on stop strings as they appear.
Batches are LEFT padded: every row's next token is then predicted at the same (last) column.
Scoring right-aligns prompt+continuation rows the same way, so the continuation tokens of all
rows sit in the last columns and only those columns' logits are materialised.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from societygym.llm.base import BaseLLM, Generation, Prompt, SamplingParams
from societygym.llm.sampling import stop_at

if TYPE_CHECKING:
    import torch

    from societygym.llm.continuous import ContinuousDecoder, SharedPrefix

# Largest logits tensor (rows x positions x vocab floats) one scoring pass may build: 1 GiB.
LOGITS_BUDGET = 2**28
# Rows of a generation batch sharing at least this many prompt tokens prefill them once.
MIN_SHARED_PREFIX = 16


class TokenLogprobs(NamedTuple):
    """Per-token view of a text, as OpenAI-style ``echo`` + ``logprobs`` responses report it."""

    tokens: list[str]
    offsets: list[int]  # character offset of each token's start in the text
    logprobs: list[float | None]  # None for the first token, which has no context


class TransformersLLM(BaseLLM):
    """A ``transformers`` causal LM behind the ``LLM`` protocol.

    ``model_or_path`` is a local folder or hub id (loaded with ``AutoModelForCausalLM``), or a
    model object, which then needs ``tokenizer`` and is used as it is (device and train/eval
    mode untouched unless ``device``/``dtype`` are given). Defaults: CUDA when available, in
    bf16 where supported; fp32 on CPU, where bf16 is many times slower.
    """

    def __init__(
        self,
        model_or_path: Any,
        tokenizer: Any = None,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        batch_size: int = 8,
        score_batch_size: int = 64,
        name: str | None = None,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        from societygym.llm.torch_runtime import fork_safe_torch

        torch = fork_safe_torch()

        transformers_logging.disable_progress_bar()  # per-load bars drown env progress output

        if isinstance(dtype, str):
            dtype = getattr(torch, dtype)
        if isinstance(model_or_path, (str, os.PathLike)):
            path = os.fspath(model_or_path)
            device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
            model = AutoModelForCausalLM.from_pretrained(
                path, dtype=dtype or _default_dtype(device)
            )
            model.to(device).eval()
            tokenizer = tokenizer or AutoTokenizer.from_pretrained(path)
            name = name or f"hf:{path}"
        else:
            if tokenizer is None:
                raise ValueError("TransformersLLM needs `tokenizer` when given a model object")
            model = model_or_path
            if device is not None or dtype is not None:
                model.to(device=device, dtype=dtype)
            name = name or f"hf:{model.config.name_or_path}"
        super().__init__(name)
        self.model = model
        self.tokenizer = tokenizer
        self.device = model.device
        self.batch_size = batch_size
        self.score_batch_size = score_batch_size
        eos = model.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) | {tokenizer.eos_token_id}
        self.eos_ids = eos_ids - {None}
        pad = tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else min(self.eos_ids, default=0)
        # Conditioning for continuations scored after an empty prompt.
        start = tokenizer.bos_token_id
        self.start_ids = [start if start is not None else self.pad_id]

    # --- prompts -----------------------------------------------------------------------------

    def render(self, prompt: Prompt) -> str:
        """The text the model sees: chat prompts go through the chat template."""
        if isinstance(prompt, str):
            return prompt
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(f"{self.name} has no chat template; pass a text prompt instead")
        return self.tokenizer.apply_chat_template(
            prompt, tokenize=False, add_generation_prompt=True
        )

    def encode(self, prompt: Prompt) -> list[int]:
        # A rendered chat template already holds its special tokens (e.g. BOS); text gets the
        # tokenizer's usual ones.
        text = self.render(prompt)
        return self.tokenizer(text, add_special_tokens=isinstance(prompt, str)).input_ids

    # --- generation --------------------------------------------------------------------------

    def generate(
        self,
        prompts: Sequence[Prompt],
        *,
        n: int = 1,
        max_tokens: int = 64,
        temperature: float = 0.0,
        top_p: float = 1.0,
        stop: Sequence[str] | None = None,
        seed: int | Sequence[int] | None = None,
        ignore_eos: bool = False,
    ) -> list[list[Generation]]:
        """``n`` generations per prompt; ``ignore_eos`` decodes exactly ``max_tokens`` tokens.

        A seeded call is reproducible for the same prompts and arguments. One ``seed`` is one
        generator the rows share, so a prompt's samples depend on the rest of the batch; a
        sequence of seeds, one per prompt, gives each prompt (and each of its ``n`` copies) a
        generator of its own, so its samples depend on its seed alone (up to the
        floating-point differences between batched forward passes).
        """
        import torch

        per_prompt = isinstance(seed, Sequence)
        shared_seed = None if per_prompt else seed
        params = SamplingParams(n, max_tokens, temperature, top_p, tuple(stop or ()), shared_seed)
        greedy = temperature <= 0
        copies = 1 if greedy else n  # greedy samples are identical: decode each prompt once
        encoded = [self.encode(p) for p in prompts]
        # An empty prompt is conditioned on the start token, as scoring does.
        rows = [ids or self.start_ids for ids in encoded for _ in range(copies)]
        generator = None
        if shared_seed is not None and not greedy:
            generator = torch.Generator(self.device).manual_seed(shared_seed)
        own: list[Any] = [None] * len(rows)
        if per_prompt and not greedy:
            seeds = list(seed)  # type: ignore[arg-type]
            if len(seeds) != len(prompts):
                raise ValueError(f"{len(seeds)} seeds for {len(prompts)} prompts")
            own = [self.row_generator(s, copy) for s in seeds for copy in range(copies)]
        done: list[Generation | None] = [None] * len(rows)
        if params.max_tokens > 0:
            decoder = self.decoder(params, generator=generator, ignore_eos=ignore_eos, bill=False)
            # Similar lengths admitted together waste less padding.
            for r in sorted(range(len(rows)), key=lambda r: len(rows[r])):
                decoder.submit(rows[r], r, own[r])
            for r, gen in decoder.run():
                done[r] = gen
        else:
            done = [Generation("", len(ids), 0, "length", [], []) for ids in rows]
        results = []
        for i, ids in enumerate(encoded):
            gens = done[i * copies : (i + 1) * copies]
            if greedy:
                gens = [dataclasses.replace(gens[0]) for _ in range(n)]
            # Counted as an API would bill: the prompt once, every returned completion.
            self.usage.add(len(ids), sum(g.completion_tokens for g in gens))
            results.append(gens)
        return results

    def row_generator(self, seed: int, copy: int = 0) -> torch.Generator:
        """The generator that samples one row alone: copy ``copy`` of a prompt seeded ``seed``."""
        import torch

        return torch.Generator(self.device).manual_seed((seed + copy * 0x9E3779B97F4A7C15) % 2**63)

    def decoder(
        self,
        params: SamplingParams,
        *,
        slots: int | None = None,
        generator: torch.Generator | None = None,
        ignore_eos: bool = False,
        bill: bool = True,
    ) -> ContinuousDecoder:
        """A continuous-batching decoder over this model (``slots`` defaults to batch_size)."""
        from societygym.llm.continuous import ContinuousDecoder

        return ContinuousDecoder(
            self,
            params,
            slots=slots or self.batch_size,
            generator=generator,
            ignore_eos=ignore_eos,
            bill=bill,
        )

    def prefill(
        self, batch: list[list[int]], known: SharedPrefix | None = None
    ) -> tuple[Any, Any, Any, Any]:
        """The first decoding step's input ids, attention mask, position ids and KV cache.

        When the rows share a long prompt prefix (one env's prompt template over many env
        copies, or ``n`` samples of one prompt), the prefix is run once and its cache copied to
        every row; the rows' own tails follow it, left padded: ``[prefix | pad | tail]``. The
        mask hides the gap and positions count only real tokens, so every row sees exactly
        its own prompt. On a CPU, where prefill is compute-bound, this is most of the gain of
        batching rollouts. ``known`` keeps the last shared prefix's cache for rows that come
        later, alone (a continuous batch's refills).
        """
        import torch

        shared = _common_prefix_length(batch) if len(batch) > 1 else 0
        if known is not None and known.fits(batch):
            shared, cache = len(known.ids), known.cache_for(len(batch))
        elif shared >= MIN_SHARED_PREFIX:
            prefix = torch.tensor([batch[0][:shared]], device=self.device)
            cache = self.model(input_ids=prefix, use_cache=True, logits_to_keep=1).past_key_values
            if known is not None:
                known.store(batch[0][:shared], cache)
            cache.batch_repeat_interleave(len(batch))
        else:
            ids, mask = self._left_pad(batch)
            return ids, mask, (mask.cumsum(-1) - 1).clamp(min=0), None
        ids, tail_mask = self._left_pad([row[shared:] for row in batch])
        mask = torch.cat([tail_mask.new_ones(len(batch), shared), tail_mask], dim=-1)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, shared:]
        return ids, mask, positions, cache

    def row_done(self, ids: list[int], stop: Sequence[str], ignore_eos: bool) -> bool:
        """Whether a row just emitted EOS or its text now contains a stop string."""
        if ids[-1] in self.eos_ids and not ignore_eos:
            return True
        return bool(stop) and stop_at(self.text_of(ids), stop) is not None

    def text_of(self, ids: list[int]) -> str:
        """The text of generated token ids, without special tokens."""
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _left_pad(self, batch: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        width = max(len(ids) for ids in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, row in enumerate(batch):
            if row:
                ids[r, width - len(row) :] = torch.tensor(row)
                mask[r, width - len(row) :] = 1
        return ids.to(self.device), mask.to(self.device)

    # --- scoring -----------------------------------------------------------------------------

    def score_batch(
        self, prompts: Sequence[Prompt], continuations_per_prompt: Sequence[Sequence[str]]
    ) -> list[list[float]]:
        # The continuation is tokenized on its own and appended, so its tokens are exactly the
        # ones scored whatever the tokenizer would merge across the boundary.
        contexts = [self.encode(prompt) or self.start_ids for prompt in prompts]
        cont_ids = [
            [self.tokenizer(cont, add_special_tokens=False).input_ids for cont in conts]
            for conts in continuations_per_prompt
        ]
        if len(cont_ids) != len(contexts):
            raise ValueError("score_batch needs one list of continuations per prompt")
        # Prompts whose continuations are all one token (a listener's yes/no) need one forward
        # pass of the prompt alone, not one per continuation.
        single = [i for i, ids in enumerate(cont_ids) if ids and all(len(c) == 1 for c in ids)]
        scores: list[list[float]] = [[] for _ in prompts]
        picks = [[c[0] for c in cont_ids[i]] for i in single]
        next_token = self._next_token_logprobs([contexts[i] for i in single], picks)
        for i, logprobs in zip(single, next_token, strict=True):
            scores[i] = logprobs
            # counted as prompt + continuation per continuation, as the other path and servers do
            self.usage.add(len(cont_ids[i]) * (len(contexts[i]) + 1))
        multi = sorted(set(range(len(prompts))) - set(single))
        seqs, tails, owners = [], [], []
        for i in multi:
            for ids in cont_ids[i]:
                seqs.append(contexts[i] + ids)
                tails.append(len(ids))
                owners.append(i)
        counts = dict.fromkeys(multi, 0)
        for owner, seq, lps in zip(owners, seqs, self._tail_logprobs(seqs, tails), strict=True):
            scores[owner].append(math.fsum(lps))
            counts[owner] += len(seq)
        for count in counts.values():
            self.usage.add(count)
        return scores

    def _next_token_logprobs(
        self, contexts: list[list[int]], token_ids: list[list[int]]
    ) -> list[list[float]]:
        """Log-probabilities of the given next tokens after each context."""
        import torch

        from societygym.llm import torch_runtime

        out: list[list[float]] = []
        for start in range(0, len(contexts), self.score_batch_size):
            end = start + self.score_batch_size
            with torch.inference_mode(), torch_runtime.attention_kernels():
                ids, mask = self._left_pad(contexts[start:end])
                logits = self.model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                    logits_to_keep=1,
                ).logits
                logprobs = logits[:, -1].float().log_softmax(-1)
                for row, wanted in enumerate(token_ids[start:end]):
                    out.append(logprobs[row, wanted].tolist())
        return out

    def token_logprobs(self, texts: Sequence[str]) -> list[TokenLogprobs]:
        """Tokens, start offsets and log-probs of every token of each text (for echo)."""
        encs = [self.tokenizer(t, return_offsets_mapping=True) for t in texts]
        seqs = [e.input_ids for e in encs]
        lps = self._tail_logprobs(seqs, [max(len(s) - 1, 0) for s in seqs])
        result = []
        for text, enc, seq, lp in zip(texts, encs, seqs, lps, strict=True):
            self.usage.add(len(seq))
            starts = [a for a, _ in enc.offset_mapping]
            # Each token's text runs to the next token's start, so the pieces join to the text
            # even where byte-level tokens split one character (and share its offsets).
            ends = [*starts[1:], len(text)]
            tokens = [text[a:b] for a, b in zip(starts, ends, strict=True)]
            result.append(TokenLogprobs(tokens, starts, [None, *lp][: len(seq)]))
        return result

    def _tail_logprobs(self, seqs: list[list[int]], tails: list[int]) -> list[list[float]]:
        """Log-probs of the last ``tails[i]`` tokens of ``seqs[i]`` (each longer than its tail),
        in as few forward passes as ``score_batch_size`` and ``LOGITS_BUDGET`` allow."""
        import torch

        from societygym.llm import torch_runtime

        out: list[list[float]] = [[] for _ in seqs]
        vocab = self.model.get_output_embeddings().weight.shape[0]
        order = sorted((i for i in range(len(seqs)) if tails[i] > 0), key=lambda i: tails[i])
        start = 0
        while start < len(order):
            end = start + 1  # rows are sorted by tail, so the last row sets the window
            while (
                end < len(order)
                and end - start < self.score_batch_size
                and (end + 1 - start) * (tails[order[end]] + 1) * vocab <= LOGITS_BUDGET
            ):
                end += 1
            chunk = order[start:end]
            tail = tails[chunk[-1]]
            with torch.inference_mode(), torch_runtime.attention_kernels():
                ids, mask = self._left_pad([seqs[i] for i in chunk])
                logits = self.model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                    logits_to_keep=tail + 1,
                ).logits
                # Column t predicts token t + 1, so the last ``tail`` tokens are predicted by
                # every kept column but the last.
                lp = logits[:, :-1].float().log_softmax(-1)
                lp = lp.gather(-1, ids[:, -tail:, None])[..., 0].cpu()
            for row, i in enumerate(chunk):
                out[i] = lp[row, tail - tails[i] :].tolist()
            start = end
        return out


def _common_prefix_length(rows: list[list[int]]) -> int:
    """Tokens every row starts with, leaving each row at least one token of its own (the
    first step needs a fresh token per row to predict from)."""
    shortest = min(len(row) for row in rows)
    first = rows[0]
    length = 0
    while length < shortest - 1 and all(row[length] == first[length] for row in rows):
        length += 1
    return length


def _default_dtype(device: torch.device) -> torch.dtype:
    import torch

    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32
