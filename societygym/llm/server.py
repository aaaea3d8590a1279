"""A small OpenAI-compatible HTTP server in front of any of our LLM backends.

    python -m societygym.llm.server --model embedded --host 127.0.0.1 --port 8000

Endpoints: ``GET /v1/models``, ``POST /v1/chat/completions``, ``POST /v1/completions`` (with
``echo`` and ``logprobs`` as in OpenAI's legacy API and vLLM, including ``max_tokens: 0`` to
score a prompt), and ``POST /apply-template`` (llama.cpp's: chat messages in, prompt text out),
which lets remote clients score chat prompts. Requests are served one at a time: the model is
shared and not thread-safe. Bad requests get HTTP 400 with an OpenAI-style JSON error.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from societygym.llm.base import LLM, Generation, Prompt

MAX_BODY = 16 * 2**20


class BadRequest(ValueError):
    """The request is malformed or asks for something this server cannot do (HTTP 400)."""


class LLMServer(ThreadingHTTPServer):
    """Serves ``llm``; ``port=0`` picks a free port (see ``url``)."""

    daemon_threads = True

    def __init__(self, llm: LLM, host: str = "127.0.0.1", port: int = 8000) -> None:
        super().__init__((host, port), _Handler)
        self.llm = llm
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        """The API root for clients, e.g. ``http://127.0.0.1:8000/v1``."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> threading.Thread:
        """Serve from a daemon thread (for tests and notebooks); stop with ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: LLMServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            model = {"id": self.server.llm.name, "object": "model", "owned_by": "societygym"}
            self._send(200, {"object": "list", "data": [model]})
        else:
            self._send(404, _error(f"no route GET {self.path}", "not_found"))

    def do_POST(self) -> None:
        routes = {
            "/v1/chat/completions": self._chat,
            "/v1/completions": self._completions,
            "/apply-template": self._apply_template,
        }
        route = routes.get(self.path.rstrip("/"))
        try:
            body = self._body()  # read it even for a 404, so a kept-alive connection stays in sync
            if route is None:
                self._send(404, _error(f"no route POST {self.path}", "not_found"))
                return
            with self.server.lock:
                reply = route(body)
        except BadRequest as err:
            self._send(400, _error(str(err), "invalid_request_error"))
        except Exception as err:  # report it to the client instead of dropping the connection
            self._send(500, _error(f"{type(err).__name__}: {err}", "server_error"))
        else:
            self._send(200, reply)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request on stderr is noise in tests and notebooks."""

    # --- endpoints ---------------------------------------------------------------------------

    def _chat(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages")
        if not (isinstance(messages, list) and messages and all(map(_is_message, messages))):
            raise BadRequest("'messages' must be a non-empty list of {role, content} strings")
        if body.get("logprobs"):
            raise BadRequest("logprobs are not supported on chat completions here")
        params = _sampling(body, default_max_tokens=256)
        gens = self._generate([messages], params)[0]
        choices = [
            {
                "index": k,
                "message": {"role": "assistant", "content": g.text},
                "finish_reason": g.finish_reason,
                "logprobs": None,
            }
            for k, g in enumerate(gens)
        ]
        return self._reply("chat.completion", choices, gens[0].prompt_tokens, gens)

    def _completions(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = body.get("prompt")
        prompts = [prompt] if isinstance(prompt, str) else prompt
        if not (isinstance(prompts, list) and prompts and all(isinstance(p, str) for p in prompts)):
            raise BadRequest("'prompt' must be a string or a non-empty list of strings")
        params = _sampling(body, default_max_tokens=16)
        echo = _typed(body, "echo", bool, False)
        want_logprobs = _typed(body, "logprobs", int, None) is not None
        scorer = getattr(self.server.llm, "token_logprobs", None)
        if want_logprobs and scorer is None:
            raise BadRequest(f"{self.server.llm.name} cannot return per-token log-probs")
        groups = self._generate(prompts, params)
        texts = [p + g.text for p, gens in zip(prompts, groups, strict=True) for g in gens]
        # The model's log-probs of prompt + completion as one text give both the echoed
        # prompt's and the completion's entries in a single pass per text.
        scored = scorer(texts) if want_logprobs else [None] * len(texts)
        choices, generations = [], []
        for p, gens in zip(prompts, groups, strict=True):
            for g in gens:
                index = len(choices)
                choices.append(
                    {
                        "index": index,
                        "text": p + g.text if echo else g.text,
                        "finish_reason": g.finish_reason,
                        "logprobs": _logprobs(scored[index], 0 if echo else len(p)),
                    }
                )
                generations.append(g)
        prompt_tokens = sum(gens[0].prompt_tokens for gens in groups)
        return self._reply("text_completion", choices, prompt_tokens, generations)

    def _apply_template(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages")
        if not (isinstance(messages, list) and messages and all(map(_is_message, messages))):
            raise BadRequest("'messages' must be a non-empty list of {role, content} strings")
        render = getattr(self.server.llm, "render", None)
        if render is None:
            raise BadRequest(f"{self.server.llm.name} cannot render its chat template")
        return {"prompt": render(messages)}

    # --- plumbing ----------------------------------------------------------------------------

    def _generate(
        self, prompts: Sequence[Prompt], params: dict[str, Any]
    ) -> list[list[Generation]]:
        try:
            return self.server.llm.generate(prompts, **params)
        except ValueError as err:  # e.g. a chat prompt for a model without a chat template
            raise BadRequest(str(err)) from err

    def _reply(
        self, kind: str, choices: list[dict[str, Any]], prompt_tokens: int, gens: list[Generation]
    ) -> dict[str, Any]:
        completion_tokens = sum(g.completion_tokens for g in gens)
        return {
            "id": f"{'chatcmpl' if kind == 'chat.completion' else 'cmpl'}-{uuid.uuid4().hex}",
            "object": kind,
            "created": int(time.time()),
            "model": self.server.llm.name,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise BadRequest(f"request body over {MAX_BODY} bytes")
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError as err:
            raise BadRequest(f"request body is not JSON: {err}") from None
        if not isinstance(body, dict):
            raise BadRequest("request body must be a JSON object")
        if body.get("stream"):
            raise BadRequest("streaming is not supported")
        return body

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _is_message(m: Any) -> bool:
    return (
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
    )


def _typed(body: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any) -> Any:
    """``body[key]`` checked against ``kind`` (``null`` means the default)."""
    value = body.get(key)
    if value is None:
        return default
    # JSON true/false are Python bools, which are also ints: never accept them as numbers.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadRequest(f"'{key}' has the wrong type: {value!r}")
    return value


def _sampling(body: dict[str, Any], default_max_tokens: int) -> dict[str, Any]:
    """The request's sampling fields as ``LLM.generate`` keyword arguments, validated."""
    stop = _typed(body, "stop", (str, list), [])
    stop = [stop] if isinstance(stop, str) else stop
    max_tokens = _typed(body, "max_completion_tokens", int, None)
    params = {
        "n": _typed(body, "n", int, 1),
        "max_tokens": max_tokens
        if max_tokens is not None
        else _typed(body, "max_tokens", int, default_max_tokens),
        # OpenAI's default temperature is 1, not greedy.
        "temperature": float(_typed(body, "temperature", (int, float), 1.0)),
        "top_p": float(_typed(body, "top_p", (int, float), 1.0)),
        "stop": stop,
        "seed": _typed(body, "seed", int, None),
    }
    if not all(isinstance(s, str) for s in stop):
        raise BadRequest("'stop' must be a string or a list of strings")
    if params["n"] < 1 or params["max_tokens"] < 0:
        raise BadRequest("'n' must be >= 1 and 'max_tokens' >= 0")
    if params["temperature"] < 0 or not 0 < params["top_p"] <= 1:
        raise BadRequest("'temperature' must be >= 0 and 'top_p' in (0, 1]")
    return params


def _logprobs(scored: Any, start: int) -> dict[str, Any] | None:
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


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}


def main(argv: Sequence[str] | None = None) -> None:
    from societygym.llm import load_llm

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embedded", help="an LLM spec, as load_llm takes")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    server = LLMServer(load_llm(args.model), args.host, args.port)
    print(f"serving {server.llm.name} at {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
