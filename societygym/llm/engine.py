"""The serving engine: one thread owns the model and decodes every client's rows together.

HTTP handlers never touch the model. They hand the engine a request (``submit``) or a job
(``call``: scoring, log-probs, template rendering) and await its future. Between decoding steps
the engine thread admits new requests into running continuous-batching decoders
(``TransformersLLM.decoder``), one per distinct ``(max_tokens, temperature, top_p, stop)``, and
steps every busy decoder once, so a row joins a batch of other clients' rows on the next step
instead of waiting for them to finish. A cancelled request's rows leave at once.

Backends without a continuous decoder (an OpenAI-compatible proxy, a scripted LLM in a test)
and seeded sampling (whose samples depend on the batch, so it gets a private one, as a direct
``generate`` call would) run as one ``generate`` call between steps.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from societygym.llm.base import LLM, Generation, Prompt, SamplingParams


class RequestError(ValueError):
    """The request cannot be served as asked (the HTTP layer answers 4xx with ``status``)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(eq=False)  # hashed by identity: the engine keeps sets of tickets
class Ticket:
    """One request: its prompts' generations are filled in by the engine thread."""

    prompts: list[Prompt]
    params: SamplingParams
    future: Future[list[list[Generation]]] = field(default_factory=Future)
    results: list[list[Generation | None]] = field(default_factory=list)
    rows_left: int = 0
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Stop decoding this request's rows (its client went away)."""
        self.cancelled.set()
        self.future.cancel()


_Job = tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]


class Engine:
    """Serves ``llm`` from a background thread; ``max_prompt_tokens`` and ``max_waiting`` (rows
    queued or decoding) bound what one client can make it hold."""

    def __init__(
        self,
        llm: LLM,
        *,
        slots: int = 32,
        max_prompt_tokens: int = 4096,
        max_waiting: int = 1024,
    ) -> None:
        self.llm = llm
        self.slots = slots
        self.max_prompt_tokens = max_prompt_tokens
        self.max_waiting = max_waiting
        self.inbox: queue.SimpleQueue[Ticket | _Job | None] = queue.SimpleQueue()
        self.decoders: dict[tuple[Any, ...], Any] = {}
        self.tickets: set[Ticket] = set()  # admitted, unfinished
        self.waiting_rows = 0  # rows submitted and not yet delivered (guarded by _lock)
        self.peak_batch = 0  # most rows decoded in one step, all decoders together
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False

    # --- called from the HTTP side -----------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="llm-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Finish the work in hand, fail what is still queued, and end the thread."""
        self.inbox.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, prompts: list[Prompt], params: SamplingParams) -> Ticket:
        rows = len(prompts) * (1 if params.temperature <= 0 else params.n)
        with self._lock:
            if self._stopping:
                raise RequestError("the server is shutting down", 503)
            if self.waiting_rows + rows > self.max_waiting:
                raise RequestError(f"server busy: over {self.max_waiting} rows waiting", 503)
            self.waiting_rows += rows
        ticket = Ticket(prompts, params, rows_left=rows)
        self.inbox.put(ticket)
        return ticket

    def call(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``fn(*args)`` on the engine thread between decoding steps."""
        future: Future[Any] = Future()
        self.inbox.put((fn, args, future))
        return future

    # --- the engine thread -------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            # Block for new work only when nothing is decoding.
            for item in self._take(block=not any(d.busy for d in self.decoders.values())):
                if item is None:
                    with self._lock:
                        self._stopping = True
                elif isinstance(item, Ticket):
                    self._run_guarded(self._admit, item)
                elif item[2].set_running_or_notify_cancel():
                    self._settle(item[2], item[0], *item[1])
            self.peak_batch = max(
                self.peak_batch,
                sum(min(d.slots, len(d.rows) + len(d.pending)) for d in self.decoders.values()),
            )
            try:
                self._drop_cancelled()
                for decoder in list(self.decoders.values()):
                    for (ticket, prompt, copy), gen in decoder.step():
                        self._deliver(ticket, prompt, copy, gen)
            except Exception as err:  # a failed step leaves the batches unusable: fail them all
                for ticket in list(self.tickets):
                    self._finish(ticket, error=err)
                self.decoders.clear()
            self.decoders = {k: d for k, d in self.decoders.items() if d.busy}
            if self._stopping and not self.decoders:
                self._fail_queued()
                return

    def _take(self, block: bool) -> list[Ticket | _Job | None]:
        items: list[Ticket | _Job | None] = []
        try:
            items.append(self.inbox.get(block=block))
            while True:
                items.append(self.inbox.get_nowait())
        except queue.Empty:
            return items

    def _admit(self, ticket: Ticket) -> None:
        params = ticket.params
        self.tickets.add(ticket)
        ticket.results = [[None] * params.n for _ in ticket.prompts]
        if ticket.cancelled.is_set():
            self._finish(ticket)
            return
        encoded = [self._encode(prompt) for prompt in ticket.prompts]
        seeded = params.seed is not None and params.temperature > 0
        if not hasattr(self.llm, "decoder") or seeded:
            gens = self.llm.generate(ticket.prompts, **_generate_kwargs(params))
            self._finish(ticket, gens)
            return
        if params.max_tokens == 0:  # nothing to decode: the prompt's token count only
            empty = [[Generation("", len(ids), 0, "length", [], [])] * params.n for ids in encoded]
            self._finish(ticket, empty)
            return
        decoder = self._decoder_for(params)
        copies = 1 if params.temperature <= 0 else params.n
        for i, ids in enumerate(encoded):
            for copy in range(copies):
                decoder.submit(ids, (ticket, i, copy))

    def _encode(self, prompt: Prompt) -> list[int]:
        """The prompt's token ids (empty for a backend that does not tokenize), within limits."""
        encode = getattr(self.llm, "encode", None)
        if encode is None:
            return []
        try:
            # An empty prompt is conditioned on the start token, as TransformersLLM does.
            ids = encode(prompt) or self.llm.start_ids  # type: ignore[attr-defined]
        except ValueError as err:  # e.g. chat messages for a model without a chat template
            raise RequestError(str(err)) from err
        if len(ids) > self.max_prompt_tokens:
            raise RequestError(
                f"prompt of {len(ids)} tokens is over the limit of {self.max_prompt_tokens}"
            )
        return ids

    def _decoder_for(self, params: SamplingParams) -> Any:
        """The running decoder for these sampling settings (greedy rows ignore ``top_p``)."""
        greedy = params.temperature <= 0
        key = (params.max_tokens, params.temperature, None if greedy else params.top_p, params.stop)
        if key not in self.decoders:
            shared = dataclasses.replace(params, n=1, seed=None)
            self.decoders[key] = self.llm.decoder(shared, slots=self.slots)  # type: ignore[attr-defined]
        return self.decoders[key]

    def _deliver(self, ticket: Ticket, prompt: int, copy: int, gen: Generation) -> None:
        ticket.results[prompt][copy] = gen
        ticket.rows_left -= 1
        self._release(1)
        if ticket.rows_left == 0:
            if ticket.params.temperature <= 0:  # greedy copies are identical: decoded once
                ticket.results = [
                    [dataclasses.replace(row[0]) for _ in row] for row in ticket.results
                ]
            self._finish(ticket, ticket.results)  # type: ignore[arg-type]

    def _drop_cancelled(self) -> None:
        """Take cancelled requests' rows out of the queues and batches."""
        gone = {t for t in self.tickets if t.cancelled.is_set()}
        if not gone:
            return
        for decoder in self.decoders.values():
            decoder.cancel(lambda tag: tag[0] in gone)  # tags are (ticket, prompt, copy)
        for ticket in gone:
            self._finish(ticket)

    def _finish(
        self,
        ticket: Ticket,
        gens: list[list[Generation]] | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.tickets.discard(ticket)
        self._release(ticket.rows_left)
        ticket.rows_left = 0
        if not ticket.future.set_running_or_notify_cancel():
            return  # cancelled by its client
        if error is not None:
            ticket.future.set_exception(error)
        else:
            ticket.future.set_result(gens or [])

    def _run_guarded(self, fn: Callable[[Ticket], None], ticket: Ticket) -> None:
        try:
            fn(ticket)
        except Exception as err:
            if ticket in self.tickets:
                self._finish(ticket, error=err)

    def _settle(self, future: Future[Any], fn: Callable[..., Any], *args: Any) -> None:
        try:
            future.set_result(fn(*args))
        except Exception as err:
            future.set_exception(err)

    def _release(self, rows: int) -> None:
        with self._lock:
            self.waiting_rows -= rows

    def _fail_queued(self) -> None:
        stopped = RequestError("the server is shutting down", 503)
        while True:
            try:
                item = self.inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Ticket):
                self.tickets.add(item)
                self._finish(item, error=stopped)
            elif item is not None and item[2].set_running_or_notify_cancel():
                item[2].set_exception(stopped)


def _generate_kwargs(params: SamplingParams) -> dict[str, Any]:
    return {
        "n": params.n,
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "stop": list(params.stop),
        "seed": params.seed,
    }
