"""Any OpenAI-compatible HTTP server (vLLM, llama.cpp, Ollama, hosted APIs, our own server.py).

Standard library only. A batch of prompts becomes one request per prompt, sent concurrently.
Chat prompts use ``/chat/completions``, text prompts ``/completions``. Scoring needs the
legacy completions endpoint to echo the prompt with per-token log-probs (``echo=true,
logprobs=1, max_tokens=0``, as vLLM and societygym's server do); hosted chat-only APIs cannot
score. The server tokenizes prompt + continuation as one text, so a continuation's tokens are
those that reach past the prompt's end.
"""

from __future__ import annotations

import json
import math
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from societygym.llm.base import BaseLLM, Generation, Prompt

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
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
    ``http://host:8000`` gets ``/v1`` added. Failed requests are retried ``max_retries`` times
    on connection errors, timeouts, 429 and 5xx, waiting ``backoff * 2**attempt`` seconds (or
    the server's ``Retry-After``)."""

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 60,
        max_concurrency: int = 8,
        max_retries: int = 4,
        backoff: float = 0.5,
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
        self.backoff = backoff

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
        seed: int | None = None,
    ) -> list[list[Generation]]:
        params: dict[str, Any] = {
            "model": self.model,
            "n": n,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
        }
        if stop:
            params["stop"] = list(stop)
        if seed is not None:
            params["seed"] = seed

        def one(prompt: Prompt) -> list[Generation]:
            chat = not isinstance(prompt, str)
            body = {**params, ("messages" if chat else "prompt"): prompt}
            reply = self._post("/chat/completions" if chat else "/completions", body)
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

        return self._map(one, prompts)

    def score_batch(
        self, prompts: Sequence[Prompt], continuations_per_prompt: Sequence[Sequence[str]]
    ) -> list[list[float]]:
        def one(job: tuple[Prompt, Sequence[str]]) -> list[float]:
            prompt, conts = job
            if not conts:
                return []
            text = prompt if isinstance(prompt, str) else self._apply_template(prompt)
            body = {
                "model": self.model,
                "prompt": [text + c for c in conts],
                "echo": True,
                "logprobs": 1,
                "max_tokens": 0,
                "temperature": 0,
            }
            try:
                reply = self._post("/completions", body)
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
            reply = self._post_url(url, {"messages": messages})
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

    def _map(self, fn: Callable[[Any], _T], items: Sequence[Any]) -> list[_T]:
        if len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(min(self.max_concurrency, len(items))) as pool:
            return list(pool.map(fn, items))

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._post_url(self.base_url + path, body)

    def _post_url(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        attempt = 0
        while True:
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return _json(response.read(), url)
            except urllib.error.HTTPError as err:
                message = f"{url} answered HTTP {err.code}: {_server_message(err.read())}"
                if err.code not in RETRY_STATUS or attempt >= self.max_retries:
                    raise OpenAIError(message, err.code) from None
                delay = _retry_after(err.headers.get("Retry-After"))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                if attempt >= self.max_retries:
                    reason = getattr(err, "reason", err)
                    raise OpenAIError(
                        f"could not reach {url} after {attempt + 1} attempts: {reason}"
                    ) from err
                delay = None
            if delay is None:  # exponential backoff with jitter, so clients do not sync up
                delay = self.backoff * 2**attempt * (0.5 + random.random() / 2)
            time.sleep(delay)
            attempt += 1


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


def _json(raw: bytes, url: str) -> dict[str, Any]:
    try:
        reply = json.loads(raw)
    except ValueError:
        raise OpenAIError(f"{url} returned non-JSON: {raw[:200]!r}") from None
    if not isinstance(reply, dict):
        raise OpenAIError(f"{url} returned {type(reply).__name__}, expected a JSON object")
    return reply


def _server_message(raw: bytes) -> str:
    """The human part of an error body: OpenAI's ``error.message``, vLLM's ``message``, ..."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:500]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        for key in ("error", "message", "detail"):
            if isinstance(body.get(key), str):
                return body[key]
    return json.dumps(body)[:500]


def _retry_after(value: str | None) -> float | None:
    try:
        return min(float(value), 60.0) if value else None
    except ValueError:  # an HTTP date; fall back to our own backoff
        return None
