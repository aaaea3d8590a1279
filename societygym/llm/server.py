"""An OpenAI-compatible HTTP server in front of any of our LLM backends (Starlette on uvicorn).

    python -m societygym.llm.server --model embedded --port 8000 [--api-key KEY] [--host 0.0.0.0]

Endpoints: ``GET /health`` (no key needed), ``GET /v1/models``, ``POST /v1/chat/completions``,
``POST /v1/completions`` (with ``echo`` and ``logprobs`` as in OpenAI's legacy API and vLLM,
including ``max_tokens: 0`` to score a prompt), and ``POST /apply-template`` (llama.cpp's: chat
messages in, prompt text out), which lets remote clients score chat prompts.

Requests from all clients decode together in one continuous batch (``societygym.llm.engine``).
Every limit (``Limits``) is answered with a 4xx at once and an OpenAI-style JSON error; a client
that disconnects has its rows dropped from the batch. It listens on 127.0.0.1 unless told
otherwise; ``--api-key`` (or ``$SOCIETYGYM_API_KEY``) requires ``Authorization: Bearer KEY``.
SIGINT/SIGTERM stop accepting, finish the requests in hand, then exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import Future
from typing import Any

from societygym.llm import server_schema as schema
from societygym.llm.base import LLM, Generation, SamplingParams
from societygym.llm.engine import Engine, RequestError, Ticket
from societygym.llm.server_schema import Limits

API_KEY_ENV = "SOCIETYGYM_API_KEY"

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


class LLMServer:
    """Serves ``llm``; ``port=0`` picks a free port (see ``url``).

    ``serve_forever()`` runs in the calling thread (signals stop it gracefully); ``start()``
    serves from a daemon thread for tests and notebooks, stopped by ``shutdown()``.
    """

    def __init__(
        self,
        llm: LLM,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        api_key: str | None = None,
        limits: Limits = Limits(),  # noqa: B008 (frozen, so one shared default is safe)
        slots: int = 32,
    ) -> None:
        import uvicorn

        self.llm = llm
        self.limits = limits
        self.engine = Engine(
            llm,
            slots=slots,
            max_prompt_tokens=limits.max_prompt_tokens,
            max_waiting=limits.max_waiting_rows,
        )
        # Bound here, not by uvicorn, so that the port is known (and printable) before serving.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=2048)
        host, port = self.socket.getsockname()[:2]  # uvicorn closes the socket on shutdown
        self.address = (host, port)
        self._url = f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"
        config = uvicorn.Config(
            build_app(self.engine, limits, api_key),
            http="h11",
            lifespan="on",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=30,
            # Connections past this get 503 from uvicorn before any of our code runs.
            limit_concurrency=4 * limits.max_waiting_rows,
        )
        self.uvicorn = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The API root for clients, e.g. ``http://127.0.0.1:8000/v1``."""
        return self._url

    def serve_forever(self) -> None:
        self.uvicorn.run(sockets=[self.socket])

    def start(self, timeout: float = 30) -> threading.Thread:
        """Serve from a daemon thread; returns once the server accepts requests."""
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.uvicorn.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the LLM server did not start")
            time.sleep(0.01)
        return self._thread

    def shutdown(self, timeout: float = 60) -> None:
        """Stop accepting, let the requests in hand finish, and stop the engine."""
        self.uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)

    def server_close(self) -> None:
        self.socket.close()


def build_app(engine: Engine, limits: Limits, api_key: str | None = None) -> Any:
    """The ASGI app: routes, key check, limits; the engine starts and stops with it."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    llm = engine.llm

    async def chat(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        messages = schema.messages(body)
        if body.get("logprobs"):
            raise RequestError("logprobs are not supported on chat completions here")
        params = schema.sampling(body, 256, limits)
        [gens] = await _generate(request, engine, [messages], params)
        choices = [
            {
                "index": k,
                "message": {"role": "assistant", "content": g.text},
                "finish_reason": g.finish_reason,
                "logprobs": None,
            }
            for k, g in enumerate(gens)
        ]
        return schema.reply("chat.completion", llm.name, choices, gens[0].prompt_tokens, gens)

    async def completions(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        prompts = schema.prompts(body, limits)
        params = schema.sampling(body, 16, limits)
        echo = schema.typed(body, "echo", bool, False)
        want_logprobs = schema.typed(body, "logprobs", int, None) is not None
        scorer = getattr(llm, "token_logprobs", None)
        if want_logprobs and scorer is None:
            raise RequestError(f"{llm.name} cannot return per-token log-probs")
        groups = await _generate(request, engine, prompts, params)
        texts = [p + g.text for p, gens in zip(prompts, groups, strict=True) for g in gens]
        # The model's log-probs of prompt + completion as one text give both the echoed
        # prompt's and the completion's entries in a single pass per text.
        scored = (
            await _wait(request, engine.call(scorer, texts))
            if want_logprobs
            else [None] * len(texts)
        )
        choices, generations = [], []
        for p, gens in zip(prompts, groups, strict=True):
            for g in gens:
                index = len(choices)
                choices.append(
                    {
                        "index": index,
                        "text": p + g.text if echo else g.text,
                        "finish_reason": g.finish_reason,
                        "logprobs": schema.logprobs(scored[index], 0 if echo else len(p)),
                    }
                )
                generations.append(g)
        prompt_tokens = sum(gens[0].prompt_tokens for gens in groups)
        return schema.reply("text_completion", llm.name, choices, prompt_tokens, generations)

    async def apply_template(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        messages = schema.messages(body)
        render = getattr(llm, "render", None)
        if render is None:
            raise RequestError(f"{llm.name} cannot render its chat template")
        return {"prompt": await _wait(request, engine.call(render, messages))}

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def serve(request: Request) -> JSONResponse:
            try:
                _check_key(request, api_key)
                body = await _read_json(request, limits)
                return JSONResponse(await handler(request, body))
            except RequestError as err:
                kind = "server_busy" if err.status == 503 else "invalid_request_error"
                return JSONResponse(schema.error(str(err), kind), err.status)
            except ClientGone:
                return JSONResponse(schema.error("client closed the request", "cancelled"), 499)
            except ValueError as err:  # e.g. a backend refusing a prompt it cannot take
                return JSONResponse(schema.error(str(err), "invalid_request_error"), 400)
            except Exception as err:  # report it to the client instead of dropping the connection
                message = f"{type(err).__name__}: {err}"
                return JSONResponse(schema.error(message, "server_error"), 500)

        return serve

    async def models(request: Request) -> JSONResponse:
        try:
            _check_key(request, api_key)
        except RequestError as err:
            return JSONResponse(schema.error(str(err), "invalid_request_error"), err.status)
        model = {"id": llm.name, "object": "model", "owned_by": "societygym"}
        return JSONResponse({"object": "list", "data": [model]})

    async def health(request: Request) -> JSONResponse:
        stats = {"waiting_rows": engine.waiting_rows, "peak_batch": engine.peak_batch}
        return JSONResponse({"status": "ok", "model": llm.name, **stats})

    async def no_route(request: Request, exc: HTTPException) -> JSONResponse:
        message = f"no route {request.method} {request.url.path}"
        return JSONResponse(schema.error(message, "not_found"), exc.status_code)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        engine.start()
        try:
            yield
        finally:  # uvicorn has finished the requests in hand (or given up on them) by now
            await asyncio.to_thread(engine.stop)

    routes = [
        Route("/health", health, methods=["GET"]),
        *(Route(p, models, methods=["GET"]) for p in ("/v1/models", "/models")),
        Route("/v1/chat/completions", endpoint(chat), methods=["POST"]),
        Route("/v1/completions", endpoint(completions), methods=["POST"]),
        Route("/apply-template", endpoint(apply_template), methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: no_route, 405: no_route},  # type: ignore[dict-item]
    )


def _check_key(request: Any, api_key: str | None) -> None:
    if api_key is None:
        return
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), api_key.encode()):  # constant time
        raise RequestError("missing or wrong API key (Authorization: Bearer KEY)", 401)


async def _read_json(request: Any, limits: Limits) -> dict[str, Any]:
    """The body as a JSON object, read within ``max_body_bytes`` and ``body_timeout_s``
    (uvicorn has already answered 400 to a malformed ``Content-Length``)."""
    import json

    declared = request.headers.get("content-length")
    if declared is not None and int(declared) > limits.max_body_bytes:
        raise RequestError(f"request body over {limits.max_body_bytes} bytes", 413)
    try:
        data = await asyncio.wait_for(_read_body(request, limits), limits.body_timeout_s)
    except asyncio.TimeoutError:
        raise RequestError(f"request body not received in {limits.body_timeout_s} s", 408) from None
    try:
        body = json.loads(data or b"null")
    except ValueError as err:
        raise RequestError(f"request body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise RequestError("request body must be a JSON object")
    return body


async def _read_body(request: Any, limits: Limits) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limits.max_body_bytes:  # a chunked body declares no length
            raise RequestError(f"request body over {limits.max_body_bytes} bytes", 413)
    return bytes(data)


async def _generate(
    request: Any, engine: Engine, prompts: list[Any], params: SamplingParams
) -> list[list[Generation]]:
    ticket = engine.submit(prompts, params)
    return await _wait(request, ticket.future, ticket)


async def _wait(request: Any, future: Future[Any], ticket: Ticket | None = None) -> Any:
    """The engine's answer, or ``ClientGone`` (and the ticket cancelled) if the client leaves
    first: its rows then stop decoding instead of running to ``max_tokens`` for nobody."""
    answer = asyncio.wrap_future(future)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if not answer.done():
        if ticket is not None:
            ticket.cancel()
        answer.cancel()
        raise ClientGone
    return answer.result()


async def _disconnected(request: Any) -> None:
    # Once the body is read, the next ASGI message on this connection is its disconnect.
    while (await request.receive())["type"] != "http.disconnect":
        pass


def main(argv: Sequence[str] | None = None) -> None:
    from societygym.llm import load_llm

    defaults = Limits()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="embedded", help="an LLM spec, as load_llm takes")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to serve other machines")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", default=os.environ.get(API_KEY_ENV), help=f"or ${API_KEY_ENV}")
    parser.add_argument("--slots", type=int, default=32, help="rows decoded together")
    for field in ("max_tokens", "max_n", "max_prompt_tokens", "max_body_bytes"):
        flag = "--" + field.replace("_", "-")
        parser.add_argument(flag, type=int, default=getattr(defaults, field))
    args = parser.parse_args(argv)
    limits = Limits(
        max_tokens=args.max_tokens,
        max_n=args.max_n,
        max_prompt_tokens=args.max_prompt_tokens,
        max_body_bytes=args.max_body_bytes,
    )
    server = LLMServer(
        load_llm(args.model), args.host, args.port, api_key=args.api_key, limits=limits
    )
    if args.api_key is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving {args.host} without an API key", file=sys.stderr)
    print(f"serving {server.llm.name} at {server.url}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
