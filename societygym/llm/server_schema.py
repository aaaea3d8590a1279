"""What the server accepts and answers: OpenAI request fields validated against ``Limits``, and
OpenAI-shaped replies. Pure functions of JSON values, so every rule is testable without HTTP."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from societygym.llm.base import Generation, Message, SamplingParams
from societygym.llm.engine import RequestError


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; past a limit the server answers 4xx at once, so one
    client cannot hold the model (or the server's memory) for everyone else."""

    max_tokens: int = 2048
    max_n: int = 16
    max_prompts: int = 64  # prompts in one /v1/completions request
    max_prompt_tokens: int = 4096
    max_body_bytes: int = 2**20
    body_timeout_s: float = 10.0  # a client that stops sending mid-body is answered 408
    max_waiting_rows: int = 1024  # rows queued or decoding, all clients together (then 503)


def messages(body: dict[str, Any]) -> list[Message]:
    value = body.get("messages")
    if not (isinstance(value, list) and value and all(map(_is_message, value))):
        raise RequestError("'messages' must be a non-empty list of {role, content} strings")
    return value


def prompts(body: dict[str, Any], limits: Limits) -> list[str]:
    prompt = body.get("prompt")
    values = [prompt] if isinstance(prompt, str) else prompt
    if not (isinstance(values, list) and values and all(isinstance(p, str) for p in values)):
        raise RequestError("'prompt' must be a string or a non-empty list of strings")
    if len(values) > limits.max_prompts:
        raise RequestError(f"{len(values)} prompts is over the limit of {limits.max_prompts}")
    return values


def typed(body: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    """``body[key]`` checked against ``kind`` (``null`` means the default)."""
    value = body.get(key)
    if value is None:
        return default
    # JSON true/false are Python bools, which are also ints: never accept them as numbers.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise RequestError(f"'{key}' has the wrong type: {value!r}")
    return value


def sampling(body: dict[str, Any], default_max_tokens: int, limits: Limits) -> SamplingParams:
    """The request's sampling fields, validated and within ``limits``."""
    if body.get("stream"):
        raise RequestError("streaming is not supported")
    stop = typed(body, "stop", (str, list), [])
    stop = [stop] if isinstance(stop, str) else stop
    if not all(isinstance(s, str) for s in stop):
        raise RequestError("'stop' must be a string or a list of strings")
    max_tokens = typed(body, "max_completion_tokens", int, None)
    if max_tokens is None:
        max_tokens = typed(body, "max_tokens", int, default_max_tokens)
    params = SamplingParams(
        n=typed(body, "n", int, 1),
        max_tokens=max_tokens,
        # OpenAI's default temperature is 1, not greedy.
        temperature=float(typed(body, "temperature", (int, float), 1.0)),
        top_p=float(typed(body, "top_p", (int, float), 1.0)),
        stop=tuple(stop),
        seed=typed(body, "seed", int, None),
    )
    if not 1 <= params.n <= limits.max_n:
        raise RequestError(f"'n' must be between 1 and {limits.max_n}")
    if not 0 <= params.max_tokens <= limits.max_tokens:
        raise RequestError(f"'max_tokens' must be between 0 and {limits.max_tokens}")
    if params.temperature < 0 or not 0 < params.top_p <= 1:
        raise RequestError("'temperature' must be >= 0 and 'top_p' in (0, 1]")
    return params


def reply(
    kind: str, model: str, choices: list[dict[str, Any]], prompt_tokens: int, gens: list[Generation]
) -> dict[str, Any]:
    completion_tokens = sum(g.completion_tokens for g in gens)
    return {
        "id": f"{'chatcmpl' if kind == 'chat.completion' else 'cmpl'}-{uuid.uuid4().hex}",
        "object": kind,
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def logprobs(scored: Any, start: int) -> dict[str, Any] | None:
    """OpenAI legacy ``logprobs`` for the tokens starting at character ``start`` or later."""
    if scored is None:
        return None
    keep = [i for i, offset in enumerate(scored.offsets) if offset >= start]
    return {
        "tokens": [scored.tokens[i] for i in keep],
        "token_logprobs": [scored.logprobs[i] for i in keep],
        "text_offset": [scored.offsets[i] for i in keep],
        "top_logprobs": [
            None if scored.logprobs[i] is None else {scored.tokens[i]: scored.logprobs[i]}
            for i in keep
        ],
    }


def error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}


def _is_message(m: Any) -> bool:
    return (
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
    )
