"""Any OpenAI-compatible HTTP server (vLLM, llama.cpp, Ollama, hosted APIs, our own server.py),
through the official ``openai`` SDK: its retries (connection errors, timeouts, 408, 409, 429
and 5xx, exponential backoff from 0.5 s to 8 s, honouring ``Retry-After``) and a timeout set
per client.

A batch of prompts becomes one request per prompt, sent concurrently; each finished request
reports its ``n`` generations to ``progress.count_generations`` (from the calling thread, where
the callback lives), so a bar moves inside a batch as it does with the local model. Chat prompts use
``/chat/completions``, text prompts ``/completions``. Scoring needs the legacy completions
endpoint to echo the prompt with per-token log-probs (``echo=true, logprobs=1,
max_tokens=0``, as vLLM and societygym's server do); hosted chat-only APIs cannot score. The
server tokenizes prompt + continuation as one text, so a continuation's tokens are those that
reach past the prompt's end.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, TypeVar

from societygym import progress
from societygym.llm.base import BaseLLM, Generation, Prompt

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.openai.com/v1"
_T = TypeVar("_T")


class OpenAIError(RuntimeError):
    """A request failed; ``status`` is the HTTP status when the server answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ScoringNotSupportedError(OpenAIError, NotImplementedError):
    """The server cannot return prompt log-probs, so ``score`` cannot work against it."""


class OpenAICompatibleLLM(BaseLLM):
    """``base_url`` is the API root as the OpenAI SDK takes it (``http://host:8000/v1``); a bare
    ``http://host:8000`` gets ``/v1`` added. ``timeout`` (seconds) bounds each attempt; a
    failed request is retried ``max_retries`` times by the SDK (see the module docstring).
    Without ``api_key`` the placeholder ``EMPTY`` is sent (a keyless local server)."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 60,
        max_concurrency: int = 8,
        max_retries: int = 4,
        name: str | None = None,
    ) -> None:
        super().__init__(name or f"openai:{model}")
        self.model = model
        url = base_url.rstrip("/")
        if urllib.parse.urlsplit(url).path == "":
            url += "/v1"
        self.base_url = url
        self.api_key = api_key
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        import openai  # here, not at the top: importing the SDK takes about a second

        self.client = openai.OpenAI(
            base_url=url,
            # the SDK insists on a key; "EMPTY" is what keyless servers (vLLM, ours) ignore
            api_key=api_key or "EMPTY",
            timeout=timeout,
            max_retries=max_retries,
        )

    # --- LLM protocol ------------------------------------------------------------------------

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
    ) -> list[list[Generation]]:
        # one request per prompt, so a prompt's own seed goes with its request
        seeds = list(seed) if isinstance(seed, Sequence) else [seed] * len(prompts)
        if len(seeds) != len(prompts):
            raise ValueError(f"{len(seeds)} seeds for {len(prompts)} prompts")
        params: dict[str, Any] = {
            "model": self.model,
            "n": n,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
        }
        if stop:
            params["stop"] = list(stop)

        def one(job: tuple[Prompt, int | None]) -> list[Generation]:
            prompt, row_seed = job
            sent = params if row_seed is None else {**params, "seed": row_seed}
            chat = not isinstance(prompt, str)
            if chat:
                reply = self._call(self.client.chat.completions.create, messages=prompt, **sent)
            else:
                reply = self._call(self.client.completions.create, prompt=prompt, **sent)
            choices = sorted(reply.get("choices") or [], key=lambda c: c.get("index", 0))
            if len(choices) != n:
                raise OpenAIError(f"asked {self.base_url} for n={n} choices, got {len(choices)}")
            prompt_tokens, completion_tokens = self._count(reply)
            gens = []
            for k, choice in enumerate(choices):
                text = (choice.get("message") or {}).get("content") if chat else choice.get("text")
                # Servers report one total for all n choices; spread it so the sum is exact.
                share = completion_tokens // n + (k < completion_tokens % n)
                reason = choice.get("finish_reason") or "stop"
                gens.append(Generation(text or "", prompt_tokens, share, reason))
            return gens

        return self._map(one, list(zip(prompts, seeds, strict=True)), rows_each=n)

    def score_batch(
        self, prompts: Sequence[Prompt], continuations_per_prompt: Sequence[Sequence[str]]
    ) -> list[list[float]]:
        def one(job: tuple[Prompt, Sequence[str]]) -> list[float]:
            prompt, conts = job
            if not conts:
                return []
            text = prompt if isinstance(prompt, str) else self._apply_template(prompt)
            try:
                reply = self._call(
                    self.client.completions.create,
                    model=self.model,
                    prompt=[text + c for c in conts],
                    echo=True,
                    logprobs=1,
                    max_tokens=0,
                    temperature=0,
                )
            except OpenAIError as err:
                if err.status in {400, 404, 405, 422, 501}:
                    raise ScoringNotSupportedError(_NO_ECHO + f" The server said: {err}") from err
                raise
            self._count(reply)
            choices = sorted(reply.get("choices") or [], key=lambda c: c.get("index", 0))
            if len(choices) != len(conts):
                raise ScoringNotSupportedError(_NO_ECHO + " (wrong number of choices returned)")
            return [_continuation_logprob(c.get("logprobs"), len(text)) for c in choices]

        return self._map(one, list(zip(prompts, continuations_per_prompt, strict=True)))

    # --- HTTP --------------------------------------------------------------------------------

    def _apply_template(self, messages: list[dict[str, str]]) -> str:
        """Render chat messages to the model's prompt text (llama.cpp's ``/apply-template``)."""
        parts = urllib.parse.urlsplit(self.base_url)
        url = f"{parts.scheme}://{parts.netloc}/apply-template"
        try:
            reply = self._call(self._post_json, url, body={"messages": messages})
        except OpenAIError as err:
            if err.status in {400, 404, 405, 501}:
                raise ScoringNotSupportedError(
                    "scoring a chat prompt needs the server to render its chat template "
                    "(POST /apply-template, as llama.cpp's and societygym's servers offer); "
                    f"pass the rendered text prompt instead. The server said: {err}"
                ) from err
            raise
        if not isinstance(reply.get("prompt"), str):
            raise OpenAIError(f"{url} returned no 'prompt' string")
        return reply["prompt"]

    def _count(self, reply: dict[str, Any]) -> tuple[int, int]:
        usage = reply.get("usage") or {}
        counts = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        self.usage.add(*counts)
        return counts

    def _map(self, fn: Callable[[Any], _T], items: Sequence[Any], rows_each: int = 0) -> list[_T]:
        """``fn`` over ``items``, concurrently; each finished item reports ``rows_each``
        generations to the progress callback of this (the calling) thread."""
        if len(items) <= 1:
            results = [fn(item) for item in items]
            progress.generated(rows_each * len(items))
            return results
        with ThreadPoolExecutor(min(self.max_concurrency, len(items))) as pool:
            futures = [pool.submit(fn, item) for item in items]
            for future in as_completed(futures):
                future.result()  # a failed request raises here, as soon as it fails
                progress.generated(rows_each)
            return [future.result() for future in futures]

    def _post_json(self, url: str, body: dict[str, Any]) -> Any:
        """POST to a URL outside the OpenAI API (with the SDK's retries and timeout)."""
        import httpx

        return self.client.post(url, body=body, cast_to=httpx.Response).json()

    def _call(self, request: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """One SDK request, its reply as a plain dict; failures as :class:`OpenAIError`."""
        import openai

        try:
            reply = request(*args, **kwargs)
        except openai.APIStatusError as err:
            url = str(err.request.url)
            message = f"{url} answered HTTP {err.status_code}: {_server_message(err.response)}"
            raise OpenAIError(message, err.status_code) from None
        except openai.APIConnectionError as err:  # timeouts included
            raise OpenAIError(
                f"could not reach {err.request.url} after {self.max_retries + 1} attempts: "
                f"{err.__cause__ or err}"
            ) from err
        except ValueError as err:  # a 200 whose body is not JSON
            raise OpenAIError(f"{self.base_url} returned non-JSON: {err}") from None
        reply = reply.model_dump() if hasattr(reply, "model_dump") else reply
        if not isinstance(reply, dict):
            raise OpenAIError(
                f"{self.base_url} returned {type(reply).__name__}, expected an object"
            )
        return reply


_NO_ECHO = (
    "score() needs the server's /v1/completions to echo the prompt with per-token log-probs "
    "(echo=true, logprobs=1, max_tokens=0), as vLLM and societygym's server do; "
    "chat-only APIs such as OpenAI's or Ollama's cannot score."
)


def _continuation_logprob(logprobs: dict[str, Any] | None, boundary: int) -> float:
    """Sum the log-probs of the tokens that reach past character ``boundary``."""
    lp = logprobs or {}
    tokens, offsets, values = lp.get("tokens"), lp.get("text_offset"), lp.get("token_logprobs")
    if not (tokens and offsets and values) or not len(tokens) == len(offsets) == len(values):
        raise ScoringNotSupportedError(_NO_ECHO + " (no tokens/text_offset/token_logprobs)")
    ends = [*offsets[1:], offsets[-1] + len(tokens[-1])]
    # The very first token of a text has no log-prob (None): it is only unscored when the
    # prompt is empty.
    return math.fsum(
        v for end, v in zip(ends, values, strict=True) if end > boundary and v is not None
    )


def _server_message(response: httpx.Response) -> str:
    """The human part of an error body: OpenAI's ``error.message``, vLLM's ``message``, ..."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        for key in ("error", "message", "detail"):
            if isinstance(body.get(key), str):
                return body[key]
    return json.dumps(body)[:500]
